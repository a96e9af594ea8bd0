//! Prometheus metrics: request counts and latencies per route, rendered at `/metrics`.

use axum::http::Method;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

const LATENCY_BUCKETS_SECONDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process-wide recorder (installed on first use).
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("http_request_duration_seconds".into()),
                LATENCY_BUCKETS_SECONDS,
            )
            .expect("valid buckets")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (several servers in one test
        // process share this one); then this handle still renders what it records.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// The counter and latency histogram of one (route, method, status).
type Handles = (metrics::Counter, metrics::Histogram);

/// Handles registered for one route, by (method, status).
type RouteHandles = HashMap<(Method, u16), Handles>;

/// Handles already registered, by route: registering builds and hashes the labels,
/// which every request would otherwise pay for.
static HANDLES: OnceLock<Mutex<HashMap<String, RouteHandles>>> = OnceLock::new();

fn handles(method: &Method, route: &str, status: u16) -> Handles {
    let mut known = HANDLES
        .get_or_init(Default::default)
        .lock()
        .expect("metric handles");
    if let Some(h) = known
        .get(route)
        .and_then(|r| r.get(&(method.clone(), status)))
    {
        return h.clone();
    }
    // Registered through the recorder, never a no-op handle kept for good.
    let _ = handle();
    let labels = |with_status: bool| {
        let mut l = vec![
            ("method", method.as_str().to_owned()),
            ("route", route.to_owned()),
        ];
        if with_status {
            l.push(("status", status.to_string()));
        }
        l
    };
    let h = (
        metrics::counter!("http_requests_total", &labels(true)),
        metrics::histogram!("http_request_duration_seconds", &labels(false)),
    );
    known
        .entry(route.to_owned())
        .or_default()
        .insert((method.clone(), status), h.clone());
    h
}

/// Counts and times a request answered `status` on `route`.
pub(crate) fn record(method: &Method, route: &str, status: u16, started: Instant) {
    let (requests, latency) = handles(method, route, status);
    requests.increment(1);
    latency.record(started.elapsed().as_secs_f64());
}
