//! The sandbox API (`/sandbox/…`): what an integration test needs to make things
//! happen on demand. On by default for the embedded setup; refused in production.

use super::rupiah;
use crate::error::ErrorBody;
use crate::error::{ApiError, JsonBody, JsonPath, JsonQuery};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use gerbang_app::funding::{self, TopupError};
use gerbang_app::principals::{self, SendmePartner};
use gerbang_app::App;
use gerbang_core::ledger::codes;
use gerbang_core::{Currency, Money, Timestamp};
use gerbang_store::{NewNotification, NotificationQuery, NotificationStatus, StatementQuery, Step};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

const DEFAULT_PAGE: u32 = 50;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/sandbox/topup", post(topup))
        .route("/sandbox/partners/:virtual_account/balance", get(balance))
        .route("/sandbox/accounts/:code/statement", get(statement))
        .route("/sandbox/clock", get(clock))
        .route("/sandbox/clock/advance", post(advance_clock))
        .route("/sandbox/notifications", get(list_notifications))
        .route("/sandbox/notifications/test", post(test_notification))
        .route("/sandbox/notifications/:id", get(show_notification))
        .route(
            "/sandbox/notifications/:id/resend",
            post(resend_notification),
        )
        .route("/sandbox/ledger/check", get(check_ledger))
        .route("/sandbox/banks/accounts", post(add_bank_account))
        .route("/sandbox/banks/next-outcome", post(force_bank_outcome))
}

/// What production mode answers on every sandbox path.
pub fn disabled() -> Router<Arc<App>> {
    Router::new().route(
        "/sandbox/*rest",
        axum::routing::any(|| async {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "the sandbox API is disabled in production mode",
            )
        }),
    )
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TopupRequest {
    virtual_account: String,
    /// Rupiah with up to two decimals: `"100000.00"`.
    amount: String,
    /// Makes the call idempotent; one is made up when missing.
    reference: Option<String>,
}

/// Credits a SendMe partner's balance from the operator's funding account.
#[utoipa::path(post, path = "/sandbox/topup", tag = "sandbox", request_body = TopupRequest, responses((status = 200, description = "Credited: `virtual_account`, `amount`, `reference`, `balance`, `available_balance` (rupiah strings)", body = Object), (status = 400, description = "A bad value: `{\"error\": …}` says which", body = ErrorBody), (status = 404, description = "No partner has that virtual account", body = ErrorBody), (status = 409, description = "The reference was used for another top-up", body = ErrorBody)))]
async fn topup(
    State(app): State<Arc<App>>,
    JsonBody(req): JsonBody<TopupRequest>,
) -> Result<Json<Value>, ApiError> {
    let amount = Money::parse_major(&req.amount, Currency::Idr)
        .map_err(|e| ApiError::bad_request(format!("amount: {e}")))?;
    let reference = match req.reference {
        Some(r) if r.is_empty() || r.len() > 64 => {
            return Err(ApiError::bad_request("reference: 1 to 64 characters"))
        }
        Some(r) => r,
        None => format!("SBX{}", app.now().as_micros()),
    };
    let done = funding::topup(
        &app.store,
        app.now(),
        &req.virtual_account,
        amount.minor,
        &reference,
    )
    .await
    .map_err(|e| match e {
        TopupError::UnknownPartner(_) => ApiError::not_found(e.to_string()),
        TopupError::NonPositive => ApiError::bad_request(e.to_string()),
        TopupError::ReferenceReused(_) => ApiError::new(StatusCode::CONFLICT, e.to_string()),
        TopupError::Store(m) => ApiError::internal(m),
    })?;
    let account = app
        .store
        .account(&codes::partner_balance(&req.virtual_account))
        .await?
        .ok_or_else(|| ApiError::internal("partner account missing"))?;
    Ok(Json(json!({
        "virtual_account": done.virtual_account,
        "amount": rupiah(done.amount),
        "reference": done.reference,
        "balance": rupiah(account.balance),
        "available_balance": rupiah(account.available()),
    })))
}

/// A partner's balance, what is held of it, and what is available.
#[utoipa::path(get, path = "/sandbox/partners/{virtual_account}/balance", tag = "sandbox", params(("virtual_account" = String, Path, description = "The partner's virtual account")), responses((status = 200, description = "`virtual_account`, `balance`, `pending`, `available_balance` (rupiah strings)", body = Object), (status = 404, description = "No partner has that virtual account", body = ErrorBody)))]
async fn balance(
    State(app): State<Arc<App>>,
    JsonPath(virtual_account): JsonPath<String>,
) -> Result<Json<Value>, ApiError> {
    principals::load::<SendmePartner>(&*app.store, &virtual_account)
        .await?
        .ok_or_else(|| ApiError::not_found("no partner has that virtual account"))?;
    let account = app
        .store
        .account(&codes::partner_balance(&virtual_account))
        .await?
        .ok_or_else(|| ApiError::internal("partner account missing"))?;
    Ok(Json(json!({
        "virtual_account": virtual_account,
        "balance": rupiah(account.balance),
        "pending": rupiah(account.pending),
        "available_balance": rupiah(account.available()),
    })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct StatementParams {
    /// RFC 3339; default: the beginning.
    from: Option<String>,
    /// RFC 3339, exclusive; default: far future.
    to: Option<String>,
    /// Continue after this posting id (the `next_after` of the previous page).
    after: Option<i64>,
    limit: Option<u32>,
}

fn instant(text: Option<&str>, default: Timestamp, field: &str) -> Result<Timestamp, ApiError> {
    match text {
        None => Ok(default),
        Some(t) => Timestamp::parse_rfc3339(t)
            .ok_or_else(|| ApiError::bad_request(format!("{field}: expected an RFC 3339 instant"))),
    }
}

/// A ledger account's postings over a time range.
#[utoipa::path(get, path = "/sandbox/accounts/{code}/statement", tag = "sandbox", params(("code" = String, Path, description = "A ledger account code, like `partner:9920015307`"), StatementParams), responses((status = 200, description = "`account`, `balance`, and `lines` (each posting with the balance after it), a page at a time", body = Object), (status = 400, description = "A bad value: `{\"error\": …}` says which", body = ErrorBody), (status = 404, description = "No such account", body = ErrorBody)))]
async fn statement(
    State(app): State<Arc<App>>,
    JsonPath(code): JsonPath<String>,
    JsonQuery(p): JsonQuery<StatementParams>,
) -> Result<Json<Value>, ApiError> {
    let account = app
        .store
        .account(&code)
        .await?
        .ok_or_else(|| ApiError::not_found("no such account"))?;
    let limit = p
        .limit
        .unwrap_or(DEFAULT_PAGE)
        .clamp(1, gerbang_store::MAX_PAGE);
    let lines = app
        .store
        .statement(StatementQuery {
            account: code,
            from: instant(p.from.as_deref(), Timestamp::from_micros(i64::MIN), "from")?,
            to: instant(p.to.as_deref(), Timestamp::from_micros(i64::MAX), "to")?,
            after_posting_id: p.after.unwrap_or(0),
            limit,
        })
        .await?;
    let next_after = (lines.len() as u32 == limit).then(|| lines.last().map(|l| l.posting_id));
    Ok(Json(json!({
        "account": account.code,
        "currency": account.currency,
        "balance": rupiah(account.balance),
        "available_balance": rupiah(account.available()),
        "lines": lines.iter().map(|l| json!({
            "posting_id": l.posting_id,
            "entry_id": l.entry_id,
            "at": l.at.rfc3339(),
            "amount": rupiah(l.amount),
            "balance_after": rupiah(l.balance_after),
            "kind": l.kind,
            "reference": l.reference,
            "description": l.description,
        })).collect::<Vec<_>>(),
        "next_after": next_after.flatten(),
    })))
}

/// The sandbox clock.
#[utoipa::path(get, path = "/sandbox/clock", tag = "sandbox", responses((status = 200, description = "`now` (RFC 3339) and `offset_seconds` from the real clock", body = Object)))]
async fn clock(State(app): State<Arc<App>>) -> Json<Value> {
    app.clock.refresh().await;
    Json(json!({
        "now": app.now().rfc3339(),
        "offset_seconds": app.clock.offset_seconds(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AdvanceRequest {
    seconds: i64,
}

/// Moves the sandbox clock forward.
#[utoipa::path(post, path = "/sandbox/clock/advance", tag = "sandbox", request_body = AdvanceRequest, responses((status = 200, description = "`now` and `offset_seconds` after the move; timers now due fire", body = Object), (status = 400, description = "A bad value: `{\"error\": …}` says which", body = ErrorBody)))]
async fn advance_clock(
    State(app): State<Arc<App>>,
    JsonBody(req): JsonBody<AdvanceRequest>,
) -> Result<Json<Value>, ApiError> {
    let now = app
        .advance_clock(req.seconds)
        .await
        .map_err(ApiError::bad_request)?;
    Ok(Json(json!({
        "now": now.rfc3339(),
        "offset_seconds": app.clock.offset_seconds(),
    })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct NotificationParams {
    owner: Option<String>,
    source: Option<String>,
    status: Option<String>,
    before_id: Option<i64>,
    limit: Option<u32>,
}

fn notification_json(n: &gerbang_store::Notification) -> Value {
    json!({
        "id": n.id,
        "protocol": n.protocol,
        "owner": n.owner,
        "source": n.source,
        "url": n.url,
        "body": n.body,
        "status": n.status,
        "attempts": n.attempts,
        "next_attempt_at": n.next_attempt_at.rfc3339(),
        "created_at": n.created_at.rfc3339(),
        "delivered_at": n.delivered_at.map(|t| t.rfc3339()),
    })
}

/// The outbox: notifications sent or to send.
#[utoipa::path(get, path = "/sandbox/notifications", tag = "sandbox", params(NotificationParams), responses((status = 200, description = "`notifications`, newest first", body = Object), (status = 400, description = "A bad value: `{\"error\": …}` says which", body = ErrorBody)))]
async fn list_notifications(
    State(app): State<Arc<App>>,
    JsonQuery(p): JsonQuery<NotificationParams>,
) -> Result<Json<Value>, ApiError> {
    let status =
        match p.status.as_deref() {
            None => None,
            Some(s) => Some(NotificationStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request("status: one of pending, delivered, failed")
            })?),
        };
    let list = app
        .store
        .notifications(NotificationQuery {
            owner: p.owner,
            source: p.source,
            status,
            before_id: p.before_id,
            limit: p.limit.unwrap_or(DEFAULT_PAGE),
        })
        .await?;
    Ok(Json(json!({
        "notifications": list.iter().map(notification_json).collect::<Vec<_>>(),
    })))
}

/// One notification and every attempt to deliver it.
#[utoipa::path(get, path = "/sandbox/notifications/{id}", tag = "sandbox", params(("id" = i64, Path, description = "The notification's id")), responses((status = 200, description = "The notification, with `attempt_log`: each attempt's HTTP status, latency and the start of the answer", body = Object), (status = 404, description = "No such notification", body = ErrorBody)))]
async fn show_notification(
    State(app): State<Arc<App>>,
    JsonPath(id): JsonPath<i64>,
) -> Result<Json<Value>, ApiError> {
    let n = app
        .store
        .notification(id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such notification"))?;
    let attempts = app.store.attempts(id).await?;
    let mut body = notification_json(&n);
    body["attempt_log"] = json!(attempts
        .iter()
        .map(|a| json!({
            "attempt": a.attempt_no,
            "at": a.at.rfc3339(),
            "http_status": a.http_status,
            "latency_ms": a.latency_ms,
            "response_excerpt": a.excerpt,
        }))
        .collect::<Vec<_>>());
    Ok(Json(body))
}

/// Sends a notification again.
#[utoipa::path(post, path = "/sandbox/notifications/{id}/resend", tag = "sandbox", params(("id" = i64, Path, description = "The notification's id")), responses((status = 200, description = "`id`, `status` `pending`: due now", body = Object), (status = 404, description = "No such notification", body = ErrorBody)))]
async fn resend_notification(
    State(app): State<Arc<App>>,
    JsonPath(id): JsonPath<i64>,
) -> Result<Json<Value>, ApiError> {
    if !app.store.resend_notification(id, app.now()).await? {
        return Err(ApiError::not_found("no such notification"));
    }
    app.wake_notifier.notify_one();
    Ok(Json(json!({ "id": id, "status": "pending" })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TestNotificationRequest {
    url: String,
    /// Any JSON; default `{"request":"Test Notification"}`.
    body: Option<Value>,
    owner: Option<String>,
}

/// Sends a notification through the real outbox, to check a receiver end to end.
#[utoipa::path(post, path = "/sandbox/notifications/test", tag = "sandbox", request_body = TestNotificationRequest, responses((status = 202, description = "`id`, `status` `pending`: queued like any notification", body = Object), (status = 400, description = "A bad value: `{\"error\": …}` says which", body = ErrorBody)))]
async fn test_notification(
    State(app): State<Arc<App>>,
    JsonBody(req): JsonBody<TestNotificationRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if !(req.url.starts_with("http://") || req.url.starts_with("https://")) || req.url.len() > 2048
    {
        return Err(ApiError::bad_request("url: an http:// or https:// URL"));
    }
    let body = req
        .body
        .unwrap_or_else(|| json!({ "request": "Test Notification" }))
        .to_string();
    let outcome = app
        .commit(Step {
            notifications: vec![NewNotification {
                protocol: "test".into(),
                owner: req.owner.unwrap_or_else(|| "sandbox".into()),
                // Each its own source: test notifications do not wait for each other.
                source: format!("sandbox:test:{:016x}", rand::random::<u64>()),
                url: req.url,
                body,
                request_id: None,
            }],
            ..Step::default()
        })
        .await
        .map_err(ApiError::internal)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "id": outcome.notification_ids[0], "status": "pending" })),
    ))
}

/// Checks the ledger's invariants over everything stored.
#[utoipa::path(get, path = "/sandbox/ledger/check", tag = "sandbox", responses((status = 200, description = "`ok`, counts of accounts, entries, postings and holds, and `problems`", body = Object)))]
async fn check_ledger(State(app): State<Arc<App>>) -> Result<Json<Value>, ApiError> {
    let report = app.store.check_ledger().await?;
    Ok(Json(json!({
        "clean": report.is_clean(),
        "accounts": report.accounts,
        "entries": report.entries,
        "postings": report.postings,
        "holds_pending": report.holds_pending,
        "problems": report.problems,
    })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct BankAccountRequest {
    bank_code: String,
    account: String,
    name: String,
    #[serde(default)]
    closed: bool,
}

/// Adds (or replaces) an account at a simulated bank.
#[utoipa::path(post, path = "/sandbox/banks/accounts", tag = "sandbox", request_body = BankAccountRequest, responses((status = 200, description = "The account as the bank now has it", body = Object), (status = 400, description = "A bad value: `{\"error\": …}` says which", body = ErrorBody)))]
async fn add_bank_account(
    State(app): State<Arc<App>>,
    JsonBody(req): JsonBody<BankAccountRequest>,
) -> Result<Json<Value>, ApiError> {
    if req.name.trim().is_empty() || req.name.len() > 255 {
        return Err(ApiError::bad_request("name: 1 to 255 characters"));
    }
    app.simulated_banks
        .add_account(
            app.now(),
            &req.bank_code,
            &req.account,
            gerbang_channels::bank::simulator::SimAccount {
                name: req.name.clone(),
                closed: req.closed,
            },
        )
        .await
        .map_err(ApiError::bad_request)?;
    Ok(Json(json!({
        "bank_code": req.bank_code,
        "account": req.account,
        "name": req.name.to_uppercase(),
        "closed": req.closed,
    })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ForceOutcomeRequest {
    bank_code: String,
    account: String,
    /// success, reject, pending or fail_later.
    outcome: String,
}

/// Makes the next transfer to an account end as asked.
#[utoipa::path(post, path = "/sandbox/banks/next-outcome", tag = "sandbox", request_body = ForceOutcomeRequest, responses((status = 200, description = "What was armed", body = Object), (status = 400, description = "A bad value: `{\"error\": …}` says which", body = ErrorBody)))]
async fn force_bank_outcome(
    State(app): State<Arc<App>>,
    JsonBody(req): JsonBody<ForceOutcomeRequest>,
) -> Result<Json<Value>, ApiError> {
    // An unknown outcome is a bad value, like an unknown bank code: 400.
    let outcome: gerbang_channels::bank::simulator::ForcedOutcome =
        serde_json::from_value(Value::String(req.outcome.clone())).map_err(|_| {
            ApiError::bad_request("outcome: one of success, reject, pending, fail_later")
        })?;
    app.simulated_banks
        .force_next(app.now(), &req.bank_code, &req.account, outcome)
        .await
        .map_err(ApiError::bad_request)?;
    Ok(Json(json!({
        "bank_code": req.bank_code,
        "account": req.account,
        "outcome": outcome,
    })))
}

/// The sandbox API's operations, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        topup,
        balance,
        statement,
        clock,
        advance_clock,
        list_notifications,
        show_notification,
        resend_notification,
        test_notification,
        check_ledger,
        add_bank_account,
        force_bank_outcome
    ),
    components(schemas(
        TopupRequest,
        AdvanceRequest,
        TestNotificationRequest,
        BankAccountRequest,
        ForceOutcomeRequest,
        ErrorBody
    ))
)]
pub struct Api;
