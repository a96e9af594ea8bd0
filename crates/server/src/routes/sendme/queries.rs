//! The query services: `balance_inquiry`, `inquiry_name`, `mutasi`, `inquiry_status`.
//! Each answers GET or POST, with its values appended to the path or in a JSON body
//! (the body wins: Python may reorder the path's values).

use super::{call, error, Answer, Call, Shared};
use crate::routes::rupiah;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::Json;
use gerbang_app::beneficiary;
use gerbang_app::disbursement::{self, Disbursement, Status};
use gerbang_core::ledger::codes;
use gerbang_core::timestamp::JAKARTA;
use gerbang_core::Timestamp;
use gerbang_protocol::sendme::auth::Endpoint;
use gerbang_protocol::sendme::envelope::{self, status, SendmeError};
use gerbang_store::StatementQuery;
use serde_json::{json, Map, Value};
use time::macros::format_description;
use time::{Date, Duration, PrimitiveDateTime, Time};

/// Mutasi: longest span and oldest history, in days, and most lines answered.
const MUTASI_MAX_SPAN_DAYS: i64 = 31;
const MUTASI_MAX_AGE_DAYS: i64 = 92;
const MUTASI_MAX_LINES: usize = 10_000;

const BALANCE: Endpoint = Endpoint::Service {
    path: "/account/api/balance_inquiry",
    method: "GET",
};
const INQUIRY_NAME: Endpoint = Endpoint::Service {
    path: "/account/api/inquiry_name",
    method: "GET",
};
const MUTASI: Endpoint = Endpoint::Service {
    path: "/account/api/mutasi",
    method: "GET",
};
const INQUIRY_STATUS: Endpoint = Endpoint::Service {
    path: "/account/api/inquiry_status",
    method: "GET",
};

/// `Y-m-d H:i:s` in Jakarta time.
pub fn wib(at: Timestamp) -> String {
    let f = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    at.jakarta().format(&f).unwrap_or_default()
}

async fn serve<F, Fut>(
    sendme: &Shared,
    endpoint: Endpoint,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    service: F,
) -> Answer
where
    F: FnOnce(Call) -> Fut,
    Fut: std::future::Future<Output = Result<Value, SendmeError>>,
{
    let c = match call(sendme, endpoint, method, uri, headers, body).await {
        Ok(c) => c,
        Err(e) => return error(e),
    };
    match service(c).await {
        Ok(v) => Json(v),
        Err(e) => error(e),
    }
}

pub async fn balance(
    State(sendme): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let s = sendme.clone();
    serve(
        &sendme,
        BALANCE,
        method,
        uri,
        headers,
        body,
        |c| async move {
            let va = c.own_virtual_account(0)?;
            let account = s
                .app
                .store
                .account(&codes::partner_balance(&va))
                .await
                .map_err(super::internal)?
                .ok_or(SendmeError::INVALID_VA)?;
            let mut m = Map::new();
            m.insert("virtual_account".into(), va.into());
            m.insert("balance".into(), rupiah(account.balance).into());
            m.insert(
                "available_balance".into(),
                rupiah(account.available()).into(),
            );
            Ok(envelope::success(m, status::SUCCESS, "Success"))
        },
    )
    .await
}

pub async fn inquiry_name(
    State(sendme): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let s = sendme.clone();
    serve(
        &sendme,
        INQUIRY_NAME,
        method,
        uri,
        headers,
        body,
        |c| async move {
            let va = c.own_virtual_account(0)?;
            if let Some(wallet) = c
                .fields
                .get("beneficiary_bank_code")
                .and_then(|code| gerbang_channels::ewallet::by_code(&code))
            {
                return wallet_inquiry(&s, &c, va, wallet).await;
            }
            let beneficiary_va = c
                .value("beneficiary_virtual_account", 1)
                .ok_or(SendmeError::INVALID_BENEFICIARY_VA)?;
            let r = beneficiary::beneficiary(&s.app, &va, &beneficiary_va)
                .await
                .map_err(super::internal)?
                .ok_or(SendmeError::INVALID_BENEFICIARY_VA)?;
            let mut m = Map::new();
            m.insert("virtual_account".into(), va.into());
            m.insert("beneficiary_virtual_account".into(), beneficiary_va.into());
            m.insert(
                "beneficiary_account_number".into(),
                r.bank_account_number.into(),
            );
            m.insert(
                "beneficiary_account_name".into(),
                r.bank_account_name.into(),
            );
            Ok(envelope::success(m, status::SUCCESS, "Success"))
        },
    )
    .await
}

/// Inquiry name of an e-wallet: the wallet's holder for a phone number or wallet id
/// (in `beneficiary_account`, or the path's second value).
async fn wallet_inquiry(
    s: &Shared,
    c: &Call,
    va: String,
    wallet: &'static gerbang_channels::ewallet::Wallet,
) -> Result<Value, SendmeError> {
    let account = c
        .value("beneficiary_account", 1)
        .ok_or(SendmeError::ACCOUNT_NOT_MATCH)?;
    let claimed = c.fields.get("beneficiary_name").unwrap_or_default();
    let holder = s
        .app
        .banks
        .inquiry(wallet.code, &account, &claimed)
        .await
        .map_err(|_| SendmeError::ACCOUNT_NOT_MATCH)?;
    let mut m = Map::new();
    m.insert("virtual_account".into(), va.into());
    m.insert("beneficiary_virtual_account".into(), "".into());
    m.insert("beneficiary_bank_code".into(), wallet.code.into());
    m.insert("beneficiary_account_number".into(), account.into());
    m.insert("beneficiary_account_name".into(), holder.name.into());
    Ok(envelope::success(m, status::SUCCESS, "Success"))
}

fn parse_date(text: &str, field: &str) -> Result<Date, SendmeError> {
    let f = format_description!("[year]-[month]-[day]");
    Date::parse(text, &f)
        .map_err(|_| SendmeError::INVALID_BODY.with_detail(format!("{field}: YYYY-MM-DD")))
}

fn start_of_day(date: Date) -> Timestamp {
    Timestamp::from_offset_date_time(
        PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_offset(JAKARTA),
    )
}

pub async fn mutasi(
    State(sendme): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let s = sendme.clone();
    serve(
        &sendme,
        MUTASI,
        method,
        uri,
        headers,
        body,
        |c| async move {
            let va = c.own_virtual_account(0)?;
            let start_text = c.value("start_date", 1).ok_or_else(|| {
                SendmeError::INVALID_BODY.with_detail("Parameter 'start_date' is mandatory")
            })?;
            let end_text = c.value("end_date", 2).ok_or_else(|| {
                SendmeError::INVALID_BODY.with_detail("Parameter 'end_date' is mandatory")
            })?;
            let (start, end) = (
                parse_date(&start_text, "start_date")?,
                parse_date(&end_text, "end_date")?,
            );
            let today = s.app.now().jakarta().date();
            if end < start {
                return Err(SendmeError::INVALID_BODY.with_detail("end_date is before start_date"));
            }
            if (end - start).whole_days() > MUTASI_MAX_SPAN_DAYS {
                return Err(
                    SendmeError::INVALID_BODY.with_detail("the period may span one month at most")
                );
            }
            if (today - start).whole_days() > MUTASI_MAX_AGE_DAYS {
                return Err(
                    SendmeError::INVALID_BODY.with_detail("history goes back three months at most")
                );
            }
            let account = codes::partner_balance(&va);
            let (from, to) = (start_of_day(start), start_of_day(end + Duration::days(1)));
            let line_format = format_description!("[day]/[month]/[year] [hour]:[minute]:[second]");
            let mut data = Vec::new();
            let mut after = 0;
            loop {
                let page = s
                    .app
                    .store
                    .statement(StatementQuery {
                        account: account.clone(),
                        from,
                        to,
                        after_posting_id: after,
                        limit: gerbang_store::MAX_PAGE,
                    })
                    .await
                    .map_err(super::internal)?;
                for line in &page {
                    data.push(json!({
                    "transaction_date": line.at.jakarta().format(&line_format).unwrap_or_default(),
                    "transaction_type": if line.amount >= 0 { "K" } else { "D" },
                    "transaction_amount": rupiah(line.amount.abs()),
                    "transaction_name": line.kind,
                    "transaction_desc": line.description,
                }));
                }
                match page.last() {
                    Some(last)
                        if page.len() as u32 == gerbang_store::MAX_PAGE
                            && data.len() < MUTASI_MAX_LINES =>
                    {
                        after = last.posting_id
                    }
                    _ => break,
                }
            }
            data.truncate(MUTASI_MAX_LINES);
            let mut m = Map::new();
            m.insert("virtual_account".into(), va.into());
            m.insert("start_date".into(), start_text.into());
            m.insert("end_date".into(), end_text.into());
            m.insert("data".into(), Value::Array(data));
            Ok(envelope::success(m, status::SUCCESS, "Success"))
        },
    )
    .await
}

/// SendMe's transaction status and its word for a disbursement status.
pub fn status_of(s: Status) -> (&'static str, &'static str) {
    match s {
        Status::WaitingApproval | Status::Processing => (status::ON_PROCESS, "On Process"),
        Status::Succeeded => (status::SUCCESS, "Success"),
        Status::Failed => (status::FAILED, "Failed"),
        Status::Reversed => (status::REVERSED, "Reverse"),
    }
}

/// `trx_id` as the answers carry it: a number (the ids are all digits).
pub fn trx_id(d: &Disbursement) -> Value {
    d.id.parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| d.id.clone().into())
}

/// The request fields other answers repeat (read without decoding the rest).
#[derive(Default, serde::Deserialize)]
struct Repeated {
    beneficiary_name: Option<Value>,
    trx_date: Option<Value>,
}

/// A text field of the request, if given and not blank.
fn given(field: Option<Value>) -> Option<Value> {
    field.filter(|v| v.as_str().is_some_and(|s| !s.trim().is_empty()))
}

/// What status answers and callbacks repeat of the request.
pub struct AsSent {
    /// The beneficiary's name as the partner gave it (cash-out requests may carry
    /// only `beneficiary_account_name`: then the holder's).
    pub beneficiary_name: Value,
    /// The request's `trx_date`, else when the transfer was accepted.
    pub trx_date: Value,
}

pub fn as_sent(d: &Disbursement) -> AsSent {
    let r: Repeated = d.request.decode().unwrap_or_default();
    AsSent {
        beneficiary_name: given(r.beneficiary_name)
            .unwrap_or_else(|| d.account_name.clone().into()),
        trx_date: given(r.trx_date).unwrap_or_else(|| wib(d.created_at).into()),
    }
}

fn status_fields(d: &Disbursement) -> Map<String, Value> {
    let sent = as_sent(d);
    let mut m = Map::new();
    m.insert("virtual_account".into(), d.partner_va.clone().into());
    m.insert(
        "beneficiary_virtual_account".into(),
        d.beneficiary_va.clone().unwrap_or_default().into(),
    );
    m.insert("beneficiary_account".into(), d.account.clone().into());
    m.insert("beneficiary_name".into(), sent.beneficiary_name);
    m.insert("beneficiary_bank_code".into(), d.bank_code.clone().into());
    m.insert("beneficiary_bank_name".into(), d.bank_name.clone().into());
    m.insert("trx_id".into(), trx_id(d));
    m.insert("trx_no".into(), d.reference.clone().into());
    m.insert("trx_date".into(), sent.trx_date);
    m.insert("trx_amount".into(), d.amount_minor.into());
    m.insert("trx_desc".into(), d.description.clone().into());
    m.insert("trx_reff".into(), d.gateway_reference.clone().into());
    m.insert(
        "callback_url".into(),
        d.callback_url.clone().unwrap_or_default().into(),
    );
    m.insert(
        "trx_status_date".into(),
        if d.status.is_final() {
            wib(d.status_at)
        } else {
            String::new()
        }
        .into(),
    );
    m.insert(
        "bank_response_code".into(),
        d.bank_response_code
            .as_deref()
            .and_then(|c| c.parse::<i64>().ok())
            .map(Value::from)
            .unwrap_or(Value::Null),
    );
    m.insert(
        "bank_response_msg".into(),
        d.bank_response_message.clone().unwrap_or_default().into(),
    );
    m
}

pub async fn inquiry_status(
    State(sendme): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let s = sendme.clone();
    serve(
        &sendme,
        INQUIRY_STATUS,
        method,
        uri,
        headers,
        body,
        |c| async move {
            let va = c.own_virtual_account(0)?;
            let reference = c.value("trx_no", 1).ok_or(SendmeError::NOT_FOUND)?;
            let d = disbursement::by_reference(&s.app.store, &va, &reference)
                .await
                .map_err(super::internal)?
                .ok_or(SendmeError::NOT_FOUND)?;
            if let Some(id) = c.value("trx_id", 2) {
                if id != d.id {
                    return Err(SendmeError::NOT_FOUND);
                }
            }
            let (code, word) = status_of(d.status);
            let mut m = status_fields(&d);
            super::cashout::add_fields(&super::cashout::PartnerCodes::new(&s), &d, &mut m).await?;
            Ok(envelope::success(m, code, word))
        },
    )
    .await
}
