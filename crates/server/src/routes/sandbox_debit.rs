//! Sandbox: pay a Debit bill as its channel would — a customer paying the VA, the
//! code at the counter, the QR — so the whole path runs on a laptop.

use crate::error::ApiError;
use crate::error::ErrorBody;
use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use gerbang_app::payin::{self, ChangeError};
use gerbang_app::App;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/sandbox/debit/bills/:trx_id/pay", post(pay))
        .with_state(app)
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[schema(as = BillPayment)]
#[serde(deny_unknown_fields)]
struct PayRequest {
    /// The channel's reference of the payment (default: made up).
    reference: Option<String>,
}

/// Pays a pending bill as its channel would.
#[utoipa::path(post, path = "/sandbox/debit/bills/{trx_id}/pay", tag = "sandbox: debit", params(("trx_id" = String, Path, description = "The bill's `trx_id`")), request_body(content = Option<PayRequest>, description = "Optional: the channel's reference of the payment"), responses((status = 200, description = "`trx_id`, `bill_no`, `status`, `payment_reff`; the merchant is notified", body = Object), (status = 404, description = "No such bill", body = ErrorBody), (status = 409, description = "The bill is not pending, or the reference was used", body = ErrorBody)))]
async fn pay(
    State(app): State<Arc<App>>,
    Path(trx_id): Path<String>,
    body: Option<Json<PayRequest>>,
) -> Result<Json<Value>, ApiError> {
    let req = body.map(|Json(r)| r).unwrap_or_default();
    let Some((bill, _)) = payin::load(&app.store, &trx_id).await? else {
        return Err(ApiError::not_found("no such bill"));
    };
    let reference = req
        .reference
        .filter(|r| !r.is_empty() && r.len() <= 32)
        .unwrap_or_else(payin::simulated_payment_reference);
    match payin::pay(&app, &trx_id, &reference, bill.amount_minor).await {
        Ok(b) => Ok(Json(json!({
            "trx_id": b.id,
            "bill_no": b.reference,
            "status": b.status.as_str(),
            "payment_reff": reference,
        }))),
        Err(ChangeError::NotFound) => Err(ApiError::not_found("no such bill")),
        Err(
            e @ (ChangeError::AlreadyPaid
            | ChangeError::NotPending(_)
            | ChangeError::WrongAmount
            | ChangeError::ReferenceTaken),
        ) => Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            e.to_string(),
        )),
        Err(e @ ChangeError::Changed) => Err(ApiError::internal(e.to_string())),
        Err(ChangeError::Store(e)) => Err(ApiError::internal(e)),
    }
}

/// The Debit sandbox's operations, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(pay), components(schemas(PayRequest, ErrorBody)))]
pub struct Api;
