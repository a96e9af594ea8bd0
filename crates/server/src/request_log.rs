//! One log line per request — its id, method, matched route (never the raw path,
//! which may carry account numbers), status and latency — and the request id:
//! the client's `X-Request-Id` when it is a sane one, otherwise a new one;
//! returned in the answer's `X-Request-Id`, attached to every log line written
//! while the request is served, and kept with what it starts (see
//! `gerbang_app::request_id`).

use axum::extract::MatchedPath;
use axum::http::{HeaderValue, Method};
use axum::response::Response;
use std::time::Instant;
use tracing::Span;

pub const HEADER: &str = "x-request-id";

/// Writes the request's log line and returns `response` carrying its id. The
/// route is the one [`crate::edge::Matched`] left in the response.
pub(crate) fn finish(
    mut response: Response,
    id: &str,
    method: &Method,
    started: Instant,
    span: &Span,
) -> Response {
    let route = response
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        tracing::info!(
            target: "gerbang::http",
            request_id = %id,
            method = %method,
            route,
            status,
            latency_ms = (latency_ms * 1000.0).round() / 1000.0,
            "request"
        )
    });
    if let Ok(value) = HeaderValue::from_str(id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}
