//! The SNAP services that read: account inquiry external (16) and transfer-to-VA
//! inquiry (32) ask the bank who holds an account; balance inquiry (11) and
//! transaction history list (12) read the partner's source account in the
//! ledger — the same balance and statement SendMe v1 shows.

use super::{field, internal, source, Answer, Caller, Shared};
use gerbang_channels::bank::{directory, InquiryError};
use gerbang_core::ledger::codes;
use gerbang_protocol::snap::code::{Case, Outcome, Service};
use gerbang_protocol::snap::render;
use gerbang_protocol::snap::request::{AccountInquiry, BalanceInquiry, HistoryList, VaInquiry};
use gerbang_store::StatementQuery;
use serde_json::{json, Map, Value};

/// Longest history asked for at once, in days, and most lines answered.
const HISTORY_MAX_DAYS: i64 = 92;
const HISTORY_MAX_LINES: usize = 10_000;

/// The holder of `account` at bank `bank_code`, as the bank answers.
async fn holder(
    snap: &Shared,
    service: Service,
    bank_code: &str,
    account: &str,
    account_path: &str,
) -> Result<String, Outcome> {
    match snap.app.banks.inquiry(bank_code, account, "").await {
        Ok(holder) => Ok(holder.name),
        Err(InquiryError::UnknownBank(_)) => Err(Outcome::new(service, Case::BANK_NOT_SUPPORTED)),
        Err(InquiryError::UnknownAccount) => {
            Err(Outcome::new(service, Case::INVALID_ACCOUNT).about(account_path))
        }
        Err(InquiryError::ClosedAccount) => Err(Outcome::new(service, Case::INACTIVE_ACCOUNT)),
        Err(InquiryError::Timeout) => Err(Outcome::new(service, Case::TIMEOUT)),
    }
}

/// A reference for an answer that records nothing: the time and a random tail.
fn inquiry_reference(snap: &Shared) -> String {
    format!(
        "{}{:04}",
        snap.app.now().unix_seconds(),
        rand::random::<u16>() % 10_000
    )
}

/// The partner's own source account, as these reads name it in
/// `additionalInfo.sourceAccount`.
async fn named_source(
    snap: &Shared,
    service: Service,
    c: &Caller,
    given: &str,
) -> Result<(), Outcome> {
    source(snap, service, c, given, "additionalInfo.sourceAccount")
        .await
        .map(|_| ())
}

pub async fn inquiry(snap: Shared, c: Caller) -> Result<Answer, Outcome> {
    let service = Service::ACCOUNT_INQUIRY_EXTERNAL;
    let q = AccountInquiry::read(&c.body).map_err(|e| field(service, e))?;
    named_source(&snap, service, &c, &q.source_account).await?;
    let bank = directory::by_code(&q.bank_code)
        .ok_or_else(|| Outcome::new(service, Case::BANK_NOT_SUPPORTED))?;
    let name = holder(
        &snap,
        service,
        bank.code,
        &q.account,
        "beneficiaryAccountNo",
    )
    .await?;
    let mut m = Map::new();
    m.insert("referenceNo".into(), inquiry_reference(&snap).into());
    m.insert(
        "partnerReferenceNo".into(),
        q.partner_reference.unwrap_or_default().into(),
    );
    m.insert("beneficiaryAccountName".into(), name.into());
    m.insert("beneficiaryAccountNo".into(), q.account.into());
    m.insert("beneficiaryBankCode".into(), bank.code.into());
    m.insert("beneficiaryBankName".into(), bank.name.into());
    m.insert("currency".into(), "IDR".into());
    m.insert(
        "additionalInfo".into(),
        json!({ "status": "00", "message": "Success" }),
    );
    Ok(Answer::new(Case::SUCCESSFUL, m))
}

pub async fn va_inquiry(snap: Shared, c: Caller) -> Result<Answer, Outcome> {
    let service = Service::TRANSFER_VA_INQUIRY_INTRABANK;
    let q = VaInquiry::read(&c.body).map_err(|e| field(service, e))?;
    named_source(&snap, service, &c, &q.source_account).await?;
    let bank = directory::by_code(&q.biller_code)
        .ok_or_else(|| Outcome::new(service, Case::BANK_NOT_SUPPORTED))?;
    let va = &q.virtual_account;
    let name = holder(&snap, service, bank.code, &va.number, "virtualAccountNo").await?;
    let mut m = Map::new();
    m.insert(
        "virtualAccountData".into(),
        json!({
            "partnerServiceId": va.partner_service_id,
            "customerNo": va.customer_no,
            "virtualAccountNo": va.sent,
            "virtualAccountName": name,
            "totalAmount": render::amount(0),
            // Open: the payer names the amount.
            "virtualAccountTrxType": "O",
            "partnerReferenceNo": q.partner_reference,
        }),
    );
    m.insert(
        "additionalInfo".into(),
        json!({
            "billerCode": bank.code,
            "sourceAccount": q.source_account,
            "status": "00",
            "message": "Success",
        }),
    );
    Ok(Answer::new(Case::SUCCESSFUL, m))
}

pub async fn balance(snap: Shared, c: Caller) -> Result<Answer, Outcome> {
    let service = Service::BALANCE_INQUIRY;
    let q = BalanceInquiry::read(&c.body).map_err(|e| field(service, e))?;
    source(&snap, service, &c, &q.account, "accountNo").await?;
    let account = snap
        .app
        .store
        .account(&codes::partner_balance(&q.account))
        .await
        .map_err(|e| internal(service, e))?
        .ok_or_else(|| Outcome::new(service, Case::INVALID_ACCOUNT).about("accountNo"))?;
    let mut m = Map::new();
    m.insert("accountNo".into(), q.account.into());
    // The fields of §7.1.4 and no others: clients' models of the answer refuse
    // one they do not know. What is held is the balance less the available.
    m.insert(
        "accountInfos".into(),
        json!([{
            "balanceType": "Cash",
            "amount": render::amount(account.balance),
            "availableBalance": render::amount(account.available()),
            "status": "0001",
        }]),
    );
    Ok(Answer::new(Case::SUCCESSFUL, m))
}

pub async fn history(snap: Shared, c: Caller) -> Result<Answer, Outcome> {
    let service = Service::HISTORY_LIST;
    let q = HistoryList::read(&c.body).map_err(|e| field(service, e))?;
    source(&snap, service, &c, &q.account, "additionalInfo.accountNo").await?;
    let (from, to) = (q.from.1, q.to.1);
    if to.unix_seconds() - from.unix_seconds() > HISTORY_MAX_DAYS * 86_400 {
        return Err(Outcome::new(service, Case::INVALID_FIELD_FORMAT).about("fromDateTime"));
    }
    let account = codes::partner_balance(&q.account);
    let mut lines: Vec<Value> = Vec::new();
    // Lines read at most: one past the cap (so that a cut list says so), or
    // one past the asked page's end.
    let wanted = match q.page {
        Some(page) => {
            (page.number as usize)
                .saturating_mul(page.size as usize)
                .min(HISTORY_MAX_LINES)
                + 1
        }
        None => HISTORY_MAX_LINES + 1,
    };
    let mut after = 0;
    // `toDateTime` is included: the statement's end is exclusive.
    let end = to.plus_seconds(1);
    loop {
        let page = snap
            .app
            .store
            .statement(StatementQuery {
                account: account.clone(),
                from,
                to: end,
                after_posting_id: after,
                limit: gerbang_store::MAX_PAGE,
            })
            .await
            .map_err(|e| internal(service, e))?;
        for line in &page {
            let credit = line.amount >= 0;
            lines.push(json!({
                "dateTime": render::instant(line.at),
                "amount": render::amount(line.amount.abs()),
                "remark": line.description,
                "sourceOfFunds": [{ "source": line.kind }],
                "status": "SUCCESS",
                "type": if credit { "CREDIT" } else { "DEBIT" },
                // Only what §7.1.5 has: clients' models refuse other fields.
                "additionalInfo": {
                    "debitCredit": if credit { "K" } else { "D" },
                },
            }));
        }
        match page.last() {
            Some(last) if page.len() as u32 == gerbang_store::MAX_PAGE && lines.len() < wanted => {
                after = last.posting_id
            }
            _ => break,
        }
    }
    // One line past the cap is asked for, so that a cut list says so.
    let truncated = lines.len() > HISTORY_MAX_LINES;
    lines.truncate(HISTORY_MAX_LINES);
    // A page: its lines of the (capped) list; past the end, none.
    if let Some(page) = q.page {
        let size = page.size as usize;
        let start = (page.number as usize - 1)
            .saturating_mul(size)
            .min(lines.len());
        let end = start.saturating_add(size).min(lines.len());
        lines = lines.drain(start..end).collect();
    }
    let mut m = Map::new();
    m.insert("detailData".into(), Value::Array(lines));
    m.insert(
        "additionalInfo".into(),
        json!({
            "accountNo": q.account,
            "fromDateTime": q.from.0,
            "toDateTime": q.to.0,
            "message": if truncated {
                "the first 10000 lines; ask for a shorter period for the rest"
            } else {
                "Success"
            },
        }),
    );
    Ok(Answer::new(Case::SUCCESSFUL, m))
}
