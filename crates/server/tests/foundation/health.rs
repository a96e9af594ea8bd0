//! `/healthz`, `/readyz` and `/metrics`.

use crate::common::*;
use std::collections::HashMap;
use std::time::Duration;

/// Held by every test of this binary that calls `/healthz` or `/readyz`, so that
/// counts of those routes stay exact when tests share one process (`cargo test`).
pub static PROBES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Parses one Prometheus text sample line into (name, labels, value).
fn sample(line: &str) -> Option<(String, HashMap<String, String>, f64)> {
    if line.starts_with('#') || line.trim().is_empty() {
        return None;
    }
    let (series, value) = line.rsplit_once(' ')?;
    let value: f64 = value.parse().ok()?;
    let (name, labels) = match series.split_once('{') {
        None => (series.to_string(), HashMap::new()),
        Some((name, rest)) => {
            let body = rest.strip_suffix('}')?;
            let mut labels = HashMap::new();
            for pair in body.split("\",") {
                let (k, v) = pair.split_once("=\"")?;
                labels.insert(k.to_string(), v.trim_end_matches('"').to_string());
            }
            (name.to_string(), labels)
        }
    };
    Some((name, labels, value))
}

/// The value of the series `name` with (at least) these labels, if rendered.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter_map(sample).find_map(|(n, l, v)| {
        (n == name
            && labels
                .iter()
                .all(|(k, want)| l.get(*k).map(String::as_str) == Some(*want)))
        .then_some(v)
    })
}

fn requests(text: &str, method: &str, route: &str, status: &str) -> f64 {
    value(
        text,
        "http_requests_total",
        &[("method", method), ("route", route), ("status", status)],
    )
    .unwrap_or(0.0)
}

fn timed(text: &str, method: &str, route: &str) -> f64 {
    value(
        text,
        "http_request_duration_seconds_count",
        &[("method", method), ("route", route)],
    )
    .unwrap_or(0.0)
}

async fn health_readiness_and_metrics_answer(db: TestDatabase) {
    let _probes = PROBES.lock().await;
    let gw = Gateway::start(test_config(&db)).await;

    let healthz = gw.get("/healthz").await;
    assert_eq!((healthz.status, healthz.text.as_str()), (200, "ok\n"));
    let readyz = gw.get("/readyz").await;
    assert_eq!((readyz.status, readyz.text.as_str()), (200, "ready\n"));

    // The recorder is process-wide, so count what these calls add.
    let before = gw.get("/metrics").await.text;
    for _ in 0..3 {
        assert_eq!(gw.get("/healthz").await.status, 200);
    }
    assert_eq!(gw.get("/readyz").await.status, 200);
    gw.balance(DEMO_VA).await;
    assert_eq!(gw.get("/sandbox/partners/1/balance").await.status, 404);

    let metrics = gw.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.content_type.starts_with("text/plain"),
        "{}",
        metrics.content_type
    );
    let after = metrics.text;
    let balance_route = "/sandbox/partners/:virtual_account/balance";
    assert_eq!(
        requests(&after, "GET", "/healthz", "200") - requests(&before, "GET", "/healthz", "200"),
        3.0,
        "{after}"
    );
    assert_eq!(
        requests(&after, "GET", "/readyz", "200") - requests(&before, "GET", "/readyz", "200"),
        1.0
    );
    // Other tests may call the sandbox routes meanwhile: at least these calls.
    assert!(
        requests(&after, "GET", balance_route, "200")
            - requests(&before, "GET", balance_route, "200")
            >= 1.0
    );
    assert!(
        requests(&after, "GET", balance_route, "404")
            - requests(&before, "GET", balance_route, "404")
            >= 1.0
    );
    // The first /metrics call was recorded once it had answered.
    assert!(requests(&after, "GET", "/metrics", "200") >= 1.0, "{after}");

    // Latency histograms per route, with buckets.
    assert_eq!(
        timed(&after, "GET", "/healthz") - timed(&before, "GET", "/healthz"),
        3.0
    );
    assert!(timed(&after, "GET", balance_route) - timed(&before, "GET", balance_route) >= 2.0);
    let inf_bucket = value(
        &after,
        "http_request_duration_seconds_bucket",
        &[("method", "GET"), ("route", "/healthz"), ("le", "+Inf")],
    )
    .expect("+Inf bucket for /healthz");
    assert_eq!(inf_bucket, timed(&after, "GET", "/healthz"));
    assert!(
        value(
            &after,
            "http_request_duration_seconds_bucket",
            &[("method", "GET"), ("route", "/healthz"), ("le", "0.005")],
        )
        .is_some(),
        "configured buckets missing: {after}"
    );
    assert!(
        after.contains("# TYPE http_requests_total counter"),
        "{after}"
    );
    assert!(
        after.contains("# TYPE http_request_duration_seconds histogram"),
        "{after}"
    );
    gw.stop().await;
}

on_both_backends!(health_readiness_and_metrics_answer);

/// Runs `sql` on the PostgreSQL server the tests use, outside any test database.
async fn admin(sql: &str) {
    let admin_url = std::env::var(gerbang_store::testing::POSTGRES_URL_VAR).unwrap();
    gerbang_store::testing::execute_on_server(&admin_url, sql)
        .await
        .expect("admin statement");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readyz_follows_the_postgres_database_and_healthz_does_not() {
    let Some(db) = gerbang_store::testing::postgres_database().await else {
        return;
    };
    let _probes = PROBES.lock().await;
    let gw = Gateway::start(test_config(&db)).await;
    assert_eq!(gw.get("/readyz").await.status, 200);

    // The database refuses connections and drops the ones it has.
    let name = db.url.rsplit('/').next().unwrap().to_string();
    admin(&format!(
        "ALTER DATABASE {name} ALLOW_CONNECTIONS false;
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';"
    ))
    .await;
    let readyz = eventually("/readyz to fail", Duration::from_secs(10), || async {
        let r = gw.get("/readyz").await;
        (r.status != 200).then_some(r)
    })
    .await;
    assert_eq!(
        (readyz.status, readyz.text.as_str()),
        (503, "database unavailable\n")
    );
    let healthz = gw.get("/healthz").await;
    assert_eq!((healthz.status, healthz.text.as_str()), (200, "ok\n"));

    // Back again: ready again, without a restart.
    admin(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true;")).await;
    eventually("/readyz to recover", Duration::from_secs(10), || async {
        (gw.get("/readyz").await.status == 200).then_some(())
    })
    .await;
    gw.balance(DEMO_VA).await;
    gw.stop().await;
}
