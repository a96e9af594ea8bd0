//! `/healthz` (the process answers), `/readyz` (and its database does), `/metrics`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use gerbang_app::App;
use std::sync::Arc;

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "The process is up", content_type = "text/plain", body = String)))]
pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok\n")
}

#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, description = "The database answers", content_type = "text/plain", body = String), (status = 503, description = "The database does not answer", content_type = "text/plain", body = String)))]
pub async fn readyz(State(app): State<Arc<App>>) -> impl IntoResponse {
    match app.store.record("setting", "readiness-probe").await {
        Ok(_) => (StatusCode::OK, "ready\n".to_string()),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "database unavailable\n".to_string(),
            )
        }
    }
}

/// Renders every metric, after reading the workers' backlog from the database
/// (a failed read leaves the last figures and is logged).
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain", body = String)))]
pub async fn metrics(State(app): State<Arc<App>>) -> impl IntoResponse {
    let now = app.now();
    match app.store.backlog(now).await {
        Ok(b) => {
            let age = |since: Option<gerbang_core::Timestamp>| {
                since.map_or(0.0, |at| {
                    (now.as_micros() - at.as_micros()).max(0) as f64 / 1_000_000.0
                })
            };
            metrics::gauge!("gerbang_notifications_pending").set(b.notifications_pending as f64);
            metrics::gauge!("gerbang_notifications_due").set(b.notifications_due as f64);
            metrics::gauge!("gerbang_notification_oldest_due_age_seconds")
                .set(age(b.oldest_due_notification));
            metrics::gauge!("gerbang_timers_due").set(b.timers_due as f64);
            metrics::gauge!("gerbang_timer_oldest_due_age_seconds").set(age(b.oldest_due_timer));
        }
        Err(e) => tracing::warn!(error = %e, "could not read the workers' backlog"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::metrics::handle().render(),
    )
}

/// The operations endpoints, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(healthz, readyz, metrics))]
pub struct Api;
