//! The query services: `balance_inquiry`, `inquiry_name`, `mutasi`, `inquiry_status`.
//! Each answers GET or POST, with its values appended to the path or in a JSON body
//! (the body wins: Python may reorder the path's values).

use super::codes::{add_fields, PartnerCodes};
use super::{call, error, Answer, Call, Shared};
use crate::routes::rupiah;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::Json;
use gerbang_app::beneficiary;
use gerbang_app::payout::{self, Disbursement};
use gerbang_core::ledger::codes;
use gerbang_core::timestamp::JAKARTA;
use gerbang_core::Timestamp;
use gerbang_protocol::sendme::auth::Endpoint;
use gerbang_protocol::sendme::envelope::{self, status, SendmeError};
use gerbang_protocol::sendme::render::{
    as_sent, bank_response, beneficiary as payee, status_of, trx_id, wib,
};
use gerbang_protocol::sendme::request::{MutasiQuery, NameQuery, StatusQuery};
use gerbang_store::StatementQuery;
use serde_json::{json, Map, Value};
use time::macros::format_description;
use time::{Date, PrimitiveDateTime, Time};

/// Mutasi: oldest history, in days, and most lines answered.
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
            let query = NameQuery::parse(&c.input);
            if let Some(wallet) = query
                .bank_code
                .as_deref()
                .and_then(gerbang_channels::ewallet::by_code)
            {
                return wallet_inquiry(&s, query, va, wallet).await;
            }
            let beneficiary_va = query
                .beneficiary_virtual_account
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
    query: NameQuery,
    va: String,
    wallet: &'static gerbang_channels::ewallet::Wallet,
) -> Result<Value, SendmeError> {
    let account = query.account.ok_or(SendmeError::ACCOUNT_NOT_MATCH)?;
    let holder = s
        .app
        .banks
        .inquiry(wallet.code, &account, &query.claimed_name)
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

fn start_of_day(date: Date) -> Timestamp {
    Timestamp::from_offset_date_time(
        PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_offset(JAKARTA),
    )
}

/// A statement line's description as SendMe words it: a top-up reads
/// `Topup Saldo #{virtual account} {reference}`; other movements keep the ledger's.
/// (Top-ups of earlier builds stored that wording themselves: kept as it is.)
fn statement_description(va: &str, kind: &str, description: &str) -> String {
    const TOPUP: &str = "Topup Saldo #";
    match kind {
        "topup" if !description.starts_with(TOPUP) => format!("{TOPUP}{va} {description}"),
        _ => description.to_string(),
    }
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
            let MutasiQuery {
                start_text,
                end_text,
                start,
                end,
            } = MutasiQuery::parse(&c.input)?;
            let today = s.app.now().jakarta().date();
            if (today - start).whole_days() > MUTASI_MAX_AGE_DAYS {
                return Err(
                    SendmeError::INVALID_BODY.with_detail("history goes back three months at most")
                );
            }
            let account = codes::partner_balance(&va);
            // The end day's last instant, whatever the date (no calendar arithmetic
            // that a date at the end of the calendar could overflow).
            let (from, to) = (start_of_day(start), start_of_day(end).plus_seconds(86_400));
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
                    "transaction_desc": statement_description(&va, &line.kind, &line.description),
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

fn status_fields(d: &Disbursement) -> Map<String, Value> {
    let sent = as_sent(d);
    let to = payee(d);
    let mut m = Map::new();
    m.insert(
        "virtual_account".into(),
        d.requester.principal.clone().into(),
    );
    m.insert(
        "beneficiary_virtual_account".into(),
        to.virtual_account.into(),
    );
    m.insert("beneficiary_account".into(), to.account.into());
    m.insert("beneficiary_name".into(), sent.beneficiary_name);
    m.insert("beneficiary_bank_code".into(), to.bank_code.into());
    m.insert("beneficiary_bank_name".into(), to.bank_name.into());
    m.insert("trx_id".into(), trx_id(d));
    m.insert("trx_no".into(), d.reference.clone().into());
    m.insert("trx_date".into(), sent.trx_date);
    m.insert("trx_amount".into(), d.amount_minor.into());
    m.insert("trx_desc".into(), d.description.clone().into());
    m.insert("trx_reff".into(), d.gateway_reference.clone().into());
    m.insert(
        "callback_url".into(),
        d.notice_url.clone().unwrap_or_default().into(),
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
    let (response_code, response_message) = bank_response(d);
    m.insert(
        "bank_response_code".into(),
        response_code
            .and_then(|c| c.parse::<i64>().ok())
            .map(Value::from)
            .unwrap_or(Value::Null),
    );
    m.insert("bank_response_msg".into(), response_message.into());
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
            c.own_virtual_account(0)?;
            let query = StatusQuery::parse(&c.input)?;
            let reference = query.reference;
            let d = payout::by_reference(&s.app.store, &c.partner.requester(), &reference)
                .await
                .map_err(super::internal)?
                .ok_or(SendmeError::NOT_FOUND)?;
            if let Some(id) = query.id {
                if id != d.id {
                    return Err(SendmeError::NOT_FOUND);
                }
            }
            let (code, word) = status_of(d.status);
            let mut m = status_fields(&d);
            add_fields(&PartnerCodes::new(&s), &d, &mut m).await?;
            Ok(envelope::success(m, code, word))
        },
    )
    .await
}
