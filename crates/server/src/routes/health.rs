//! `/healthz` (the process answers), `/readyz` (and its database does), `/metrics`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use gerbang_app::App;
use std::sync::Arc;

pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok\n")
}

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

pub async fn metrics() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::metrics::handle().render(),
    )
}
