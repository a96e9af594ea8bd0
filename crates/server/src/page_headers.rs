//! Headers every HTML page carries — the dashboard's and the hosted checkout's:
//! nothing from elsewhere runs in or frames a page, pages are not cached, and no
//! address leaks in a referrer.

use axum::http::{header, HeaderValue};
use axum::response::Response;

/// Sets the guarding headers on `response`, with `content_security_policy`.
pub fn guard(response: &mut Response, content_security_policy: &'static str) {
    let headers = response.headers_mut();
    let set = [
        (header::CONTENT_SECURITY_POLICY, content_security_policy),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
}
