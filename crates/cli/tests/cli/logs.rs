//! Logs a shipper can read: with `GERBANG_LOG_FORMAT=json` every line on stderr
//! is one JSON object; each request is logged once with its id, route, status
//! and latency; the id a client sends in `X-Request-Id` (or one the gateway
//! makes) comes back in the answer and names the notification attempts the
//! request led to; no secret or account number is written. The delivery is
//! counted in `/metrics`, beside the workers' backlog.

use crate::burst::{transfers, GOOD_ACCOUNT};
use crate::client::{Client, Style, TRANSFER};
use crate::common::*;
use crate::fixture::{dev_credentials, partner_toml, rupiah};
use crate::support::*;
use serde_json::Value;
use std::time::Duration;

const CONFIG: &str = "[notifier]\npoll_millis = 50\n\n[scheduler]\npoll_millis = 50\n\n\
                      [simulator]\nbank_latency_seconds = 0\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn json_logs_name_each_request_and_what_it_led_to() {
    let db = gerbang_store::testing::sqlite_database();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gerbang.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let provision = dir.path().join("provision.toml");
    let credentials = dev_credentials();
    std::fs::write(
        &provision,
        partner_toml(
            &credentials,
            "Log Partner",
            Some(&rupiah(10_000_000_000)),
            false,
        ),
    )
    .unwrap();
    let mut command = serve_command(
        dir.path(),
        &db.url,
        Some(config.to_str().unwrap()),
        Some(provision.to_str().unwrap()),
    );
    command
        .env("GERBANG_LOG_FORMAT", "json")
        .env("GERBANG_LOG", "info");
    let serving = Serving::start(command).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let client = Client::new(serving.api.clone(), credentials.clone());
    let transfer = transfers(&client, "LOG", 1, &receiver.url())
        .await
        .remove(0);
    let timestamp = client.timestamp().await;
    let json = transfer.body.to_json();
    let token = client
        .token(Style::Python, &timestamp, TRANSFER, Some(&json))
        .await;
    let mut request = client.service_request(
        reqwest::Method::POST,
        TRANSFER,
        "POST",
        TRANSFER,
        &timestamp,
        &token,
        Some(json),
    );
    request
        .headers
        .push(("X-Request-Id".into(), "partner-req-0001".into()));
    let answer = client.exchange(&request).await;
    assert_eq!(answer["status"], "1", "{answer}");
    eventually("the callback", Duration::from_secs(15), || async {
        (!receiver.received().is_empty()).then_some(())
    })
    .await;

    // The id comes back; an odd one is replaced by one the gateway makes.
    let http = reqwest::Client::new();
    let health = |id: &'static str| {
        let http = http.clone();
        let url = serving.api.url("/healthz");
        async move {
            let r = http
                .get(url)
                .header("X-Request-Id", id)
                .send()
                .await
                .unwrap();
            r.headers()["x-request-id"].to_str().unwrap().to_string()
        }
    };
    assert_eq!(health("ops-42").await, "ops-42");
    let made = health("no spaces allowed").await;
    assert_eq!(made.len(), 32, "{made}");
    assert!(made.chars().all(|c| c.is_ascii_hexdigit()), "{made}");

    let lines = eventually("the attempt logged", Duration::from_secs(10), || async {
        let text = serving.stderr();
        text.contains("notification attempt").then_some(text)
    })
    .await;
    // The same delivery seen by monitoring: counted, and nothing left waiting.
    let metrics = serving.api.get("/metrics").await.text;
    for line in [
        "gerbang_notification_attempts_total{result=\"delivered\"} 1",
        "gerbang_notifications_pending 0",
        "gerbang_notifications_due 0",
        "gerbang_notification_oldest_due_age_seconds 0",
        "gerbang_timers_due 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    serving.stop().await;
    let mut entries = Vec::new();
    for line in lines.lines().filter(|l| !l.trim().is_empty()) {
        let entry: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
        for field in ["timestamp", "level", "target", "message"] {
            assert!(entry.get(field).is_some(), "{field} missing: {line}");
        }
        entries.push(entry);
    }
    let served = entries
        .iter()
        .find(|e| e["message"] == "request" && e["request_id"] == "partner-req-0001")
        .unwrap_or_else(|| panic!("the transfer's request line:\n{lines}"));
    assert_eq!(served["route"], TRANSFER, "{served}");
    assert_eq!(served["method"], "POST", "{served}");
    assert_eq!(served["status"], 200, "{served}");
    assert!(served["latency_ms"].is_number(), "{served}");
    let attempt = entries
        .iter()
        .find(|e| e["message"] == "notification attempt")
        .expect("an attempt line");
    assert_eq!(attempt["request_id"], "partner-req-0001", "{attempt}");
    for secret in [
        credentials.faspay_secret.as_str(),
        credentials.app_secret.as_str(),
        credentials.client_secret.as_str(),
        GOOD_ACCOUNT,
    ] {
        assert!(!lines.contains(secret), "{secret} written to the logs");
    }
}
