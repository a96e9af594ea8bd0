//! The host-to-host API networks call (`POST /h2h/v1/{network}/{operation}`): a
//! store's point of sale, an ATM switch or a bank validating, paying, reversing
//! and settling codes — cash-out codes handed out as cash, bills' ids paid in
//! cash or into virtual accounts. Documented in docs/cashout-networks.md.
//!
//! Business answers are HTTP 200 with a `response_code`; malformed requests 400
//! (`30`), bad credentials 401 (`63`), storage failures 500 (`96`).

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use gerbang_app::cashout::faults::{Fault, Operation};
use gerbang_app::h2h::{self, CounterNetwork as Network, H2hError, PaymentRequest, Reversal};
use gerbang_app::App;
use gerbang_core::Timestamp;
use gerbang_protocol::h2h::request::{ByReference, Inquiry, Payment};
use gerbang_protocol::h2h::{
    codes, KEY_HEADER, MAX_SKEW_SECONDS, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use serde_json::{json, Value};
use std::sync::Arc;
use subtle::ConstantTimeEq;

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/h2h/v1/:network/:operation", post(handle))
        .with_state(app)
}

fn answer(status: StatusCode, code: &str, message: &str, mut fields: Value) -> Response {
    fields["response_code"] = code.into();
    fields["message"] = message.into();
    (status, Json(fields)).into_response()
}

fn format_error(why: impl Into<String>) -> Response {
    answer(
        StatusCode::BAD_REQUEST,
        codes::FORMAT_ERROR,
        "Format error",
        json!({ "detail": why.into() }),
    )
}

fn security_violation() -> Response {
    answer(
        StatusCode::UNAUTHORIZED,
        codes::SECURITY_VIOLATION,
        "Security violation",
        json!({}),
    )
}

/// Whole rupiah on this wire; minor units inside.
fn rupiah(minor: i64) -> i64 {
    minor / 100
}

fn rfc3339(at: Timestamp) -> String {
    let jakarta = at.jakarta();
    jakarta
        .replace_nanosecond(0)
        .unwrap_or(jakarta)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Checks the network's key, timestamp and signature.
fn authenticate(app: &App, network: Network, headers: &HeaderMap, path: &str, body: &[u8]) -> bool {
    let rules = h2h::access(&app.config, network);
    let Some(secret) = rules.secret else {
        return false;
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(key), Some(timestamp), Some(signature)) = (
        header(KEY_HEADER),
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
    ) else {
        return false;
    };
    let Ok(at) =
        time::OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339)
    else {
        return false;
    };
    let skew = (time::OffsetDateTime::now_utc() - at).whole_seconds().abs();
    skew <= MAX_SKEW_SECONDS
        && bool::from(key.as_bytes().ct_eq(rules.key.as_bytes()))
        && gerbang_protocol::h2h::verify(&secret, "POST", path, timestamp, body, signature)
}

async fn handle(
    State(app): State<Arc<App>>,
    Path((network, operation)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (Some(network), Some(operation)) =
        (Network::by_slug(&network), Operation::by_name(&operation))
    else {
        return answer(
            StatusCode::NOT_FOUND,
            codes::FORMAT_ERROR,
            "No such network or operation",
            json!({}),
        );
    };
    if !authenticate(&app, network, &headers, uri.path(), &body) {
        tracing::info!(
            network = network.slug(),
            "host-to-host request refused: bad credentials"
        );
        return security_violation();
    }
    let response = match operation {
        Operation::Inquiry => inquiry(&app, network, &body).await,
        Operation::Payment => payment(&app, network, &body).await,
        Operation::Reversal => reversal(&app, network, &body).await,
        Operation::Advice => advice(&app, network, &body).await,
    };
    match app
        .is_sandbox()
        .then_some(network.cash())
        .flatten()
        .and_then(|cash| app.cashout_faults.take(cash, operation))
    {
        None => response,
        Some(Fault::Lost) => {
            tracing::info!(
                network = network.slug(),
                ?operation,
                "sandbox fault: answer lost"
            );
            lost()
        }
        Some(Fault::Slow { delay_seconds }) => {
            tracing::info!(
                network = network.slug(),
                ?operation,
                delay_seconds,
                "sandbox fault: answer held"
            );
            // Never longer than that in real time, whatever the clock does.
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(delay_seconds.max(1)),
                app.clock.sleep(delay_seconds),
            )
            .await;
            response
        }
    }
}

/// An answer that never comes: the body fails before anything is written, so the
/// connection is closed without a response.
fn lost() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("answer lost (sandbox fault)"))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn refused(e: H2hError, network: Network) -> Response {
    match e {
        H2hError::Refused(r) => {
            let (code, message) = gerbang_protocol::h2h::refusal(r);
            answer(StatusCode::OK, code, message, json!({}))
        }
        H2hError::Store(e) => {
            tracing::error!(network = network.slug(), error = %e, "host-to-host request failed");
            answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                codes::SYSTEM_MALFUNCTION,
                "System malfunction",
                json!({}),
            )
        }
    }
}

async fn inquiry(app: &App, network: Network, body: &[u8]) -> Response {
    let req = match Inquiry::parse(body) {
        Ok(r) => r,
        Err(e) => return format_error(e.0),
    };
    match h2h::inquire(app, network, &req.code, &req.phone).await {
        Ok(c) => answer(
            StatusCode::OK,
            codes::APPROVED,
            "Approved",
            json!({
                "reference": req.reference.as_ref().map(|r| r.as_str()),
                "trx_id": c.id,
                "amount": rupiah(c.amount_minor),
                "currency": "IDR",
                "beneficiary_name": c.holder,
                "expires_at": rfc3339(c.expires_at),
            }),
        ),
        Err(e) => {
            tracing::info!(network = network.slug(), ?e, "inquiry refused");
            refused(e, network)
        }
    }
}

async fn payment(app: &App, network: Network, body: &[u8]) -> Response {
    let req = match Payment::parse(body) {
        Ok(r) => r,
        Err(e) => return format_error(e.0),
    };
    let reference = req.reference.as_str().to_string();
    let request = PaymentRequest {
        reference: req.reference.into_string(),
        code: req.code,
        phone: req.phone,
        amount_minor: req.amount.minor(),
        terminal: req.terminal,
    };
    match h2h::pay(app, network, request).await {
        Ok(p) => answer(
            StatusCode::OK,
            codes::APPROVED,
            "Approved",
            json!({
                "reference": p.reference,
                "trx_id": p.id,
                "amount": rupiah(p.amount_minor),
                "paid_at": rfc3339(p.paid_at),
                "repeated": p.repeated,
            }),
        ),
        Err(e) => {
            tracing::info!(network = network.slug(), %reference, ?e, "payment refused");
            refused(e, network)
        }
    }
}

async fn reversal(app: &App, network: Network, body: &[u8]) -> Response {
    let req = match ByReference::parse(body) {
        Ok(r) => r,
        Err(e) => return format_error(e.0),
    };
    match h2h::reverse(app, network, req.reference.as_str()).await {
        Ok(r) => {
            let (paid, repeated) = match r {
                Reversal::Reversed { repeated } => (true, repeated),
                Reversal::Voided { repeated } => (false, repeated),
            };
            answer(
                StatusCode::OK,
                codes::APPROVED,
                "Reversed",
                json!({ "reference": req.reference.as_str(), "was_paid": paid, "repeated": repeated }),
            )
        }
        Err(e) => refused(e, network),
    }
}

async fn advice(app: &App, network: Network, body: &[u8]) -> Response {
    let req = match ByReference::parse(body) {
        Ok(r) => r,
        Err(e) => return format_error(e.0),
    };
    match h2h::advise(app, network, req.reference.as_str()).await {
        Ok(repeated) => answer(
            StatusCode::OK,
            codes::APPROVED,
            "Settled",
            json!({ "reference": req.reference.as_str(), "repeated": repeated }),
        ),
        Err(e) => refused(e, network),
    }
}
