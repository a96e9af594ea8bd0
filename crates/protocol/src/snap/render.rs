//! SNAP answers and notices rendered from the payout domain's records: amounts as
//! `{"value": "10000.00", "currency": "IDR"}`, a disbursement's state as
//! `latestTransactionStatus` (spec §6.6), the envelope's `responseCode` and
//! `responseMessage`.

use super::code::Outcome;
use gerbang_core::payout::{Disbursement, Failure, Status};
use gerbang_core::{Money, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// What a SNAP request carried that its answers echo and the domain does not keep:
/// stored as the disbursement's `request`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Echo {
    /// The service that asked for it: `"18"`, `"38"` or `"33"`.
    pub service_code: String,
    pub external_id: String,
    pub source_account: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beneficiary_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beneficiary_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instruct_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub originator_infos: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_service_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_account_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trx_date_time: Option<String>,
}

/// `{"value": "10000.00", "currency": "IDR"}`.
pub fn amount(minor: i64) -> Value {
    json!({ "value": Money::idr(minor).to_major_string(), "currency": "IDR" })
}

/// An instant as SNAP writes it: Jakarta time, `2020-12-17T10:55:00+07:00`.
pub fn instant(at: Timestamp) -> String {
    let t = at.jakarta();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+07:00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `latestTransactionStatus` and `transactionStatusDesc` of a disbursement.
pub fn transaction_status(d: &Disbursement) -> (&'static str, &'static str) {
    match (d.status, d.failure) {
        (Status::WaitingApproval, _) => ("01", "Initiated"),
        (Status::Processing, _) => ("03", "Pending"),
        (Status::Succeeded, _) => ("00", "Success"),
        (Status::Reversed, _) => ("04", "Refunded"),
        (Status::Failed, Some(Failure::Cancelled | Failure::Rejected)) => ("05", "Canceled"),
        (Status::Failed, _) => ("06", "Failed"),
    }
}

/// The envelope: `responseCode` and `responseMessage` first, then `fields`.
pub fn envelope(outcome: &Outcome, fields: Map<String, Value>) -> Value {
    let mut m = Map::with_capacity(fields.len() + 2);
    m.insert("responseCode".into(), outcome.response_code().into());
    m.insert("responseMessage".into(), outcome.response_message().into());
    m.extend(fields);
    Value::Object(m)
}

fn echo(d: &Disbursement) -> Echo {
    d.request.decode().unwrap_or_default()
}

fn payee_parts(d: &Disbursement) -> (String, String, String, String) {
    match d.account_payee() {
        Some(a) => (
            a.channel.clone(),
            a.channel_name.clone(),
            a.account.expose().to_string(),
            a.holder.clone(),
        ),
        None => Default::default(),
    }
}

fn text(value: &Option<String>) -> Value {
    value.clone().unwrap_or_default().into()
}

/// The answer to transfer interbank (18).
pub fn transfer(d: &Disbursement) -> Map<String, Value> {
    let e = echo(d);
    let (bank_code, bank_name, account, holder) = payee_parts(d);
    let (status, desc) = transaction_status(d);
    let mut m = Map::new();
    m.insert("referenceNo".into(), d.id.clone().into());
    m.insert("partnerReferenceNo".into(), d.reference.clone().into());
    m.insert("amount".into(), amount(d.amount_minor));
    m.insert("beneficiaryAccountNo".into(), account.into());
    m.insert("beneficiaryBankCode".into(), bank_code.into());
    m.insert("sourceAccountNo".into(), e.source_account.clone().into());
    m.insert(
        "additionalInfo".into(),
        json!({
            "beneficiaryAccountName": e.beneficiary_name.clone().unwrap_or(holder),
            "beneficiaryBankName": bank_name,
            "instructDate": text(&e.instruct_date),
            "transactionDescription": d.description,
            "callbackUrl": text(&d.notice_url),
            "latestTransactionStatus": status,
            "transactionStatusDesc": desc,
        }),
    );
    m
}

/// The answer to an e-money top-up (38).
pub fn topup(d: &Disbursement) -> Map<String, Value> {
    let e = echo(d);
    let (wallet_code, _, account, _) = payee_parts(d);
    let (status, desc) = transaction_status(d);
    let mut m = Map::new();
    m.insert("referenceNo".into(), d.id.clone().into());
    m.insert("partnerReferenceNo".into(), d.reference.clone().into());
    m.insert("customerNumber".into(), account.into());
    m.insert("amount".into(), amount(d.amount_minor));
    m.insert(
        "additionalInfo".into(),
        json!({
            "sourceAccount": e.source_account,
            "platformCode": wallet_code,
            "beneficiaryEmail": text(&e.beneficiary_email),
            "transactionDate": text(&e.transaction_date),
            "instructDate": text(&e.instruct_date),
            "transactionDescription": d.description,
            "callbackUrl": text(&d.notice_url),
            "transactionReference": d.gateway_reference,
            "latestTransactionStatus": status,
            "transactionStatusDesc": desc,
        }),
    );
    m
}

/// The answer to a transfer-to-VA payment (33).
pub fn va_payment(d: &Disbursement) -> Map<String, Value> {
    let e = echo(d);
    let (bank_code, _, account, holder) = payee_parts(d);
    let (status, desc) = transaction_status(d);
    let mut m = Map::new();
    m.insert(
        "virtualAccountData".into(),
        json!({
            "partnerReferenceNo": d.reference,
            "referenceNo": d.id,
            "partnerServiceId": text(&e.partner_service_id),
            "customerNo": text(&e.customer_no),
            "virtualAccountNo": e.virtual_account_no.clone().unwrap_or(account),
            "virtualAccountName": holder,
            "sourceAccount": e.source_account,
            "paidAmount": amount(d.amount_minor),
            "trxDateTime": text(&e.trx_date_time),
        }),
    );
    m.insert(
        "additionalInfo".into(),
        json!({
            "billerCode": bank_code,
            "instructDate": text(&e.instruct_date),
            "callbackUrl": text(&d.notice_url),
            "status": status,
            "message": desc,
        }),
    );
    m
}

/// The fields of the answer to transfer status (§7.1.3)'s `additionalInfo`.
const TRANSFER_STATUS_INFO: [&str; 5] = [
    "beneficiaryAccountName",
    "beneficiaryBankName",
    "transactionDescription",
    "callbackUrl",
    "transactionStatusDate",
];

/// The answer to transfer status (36): the notice's fields but
/// `originalExternalId` and the bank's own answer, which clients' models of the
/// answer (§7.1.3) do not have — and some refuse an answer with a field they do
/// not know.
pub fn transfer_status(d: &Disbursement) -> Map<String, Value> {
    let mut m = status(d);
    m.remove("originalExternalId");
    if let Some(Value::Object(info)) = m.get_mut("additionalInfo") {
        info.retain(|k, _| TRANSFER_STATUS_INFO.contains(&k.as_str()));
    }
    m
}

/// The fields of the answer to top-up status (§7.1.7), and of its `additionalInfo`.
const TOPUP_STATUS_FIELDS: [&str; 7] = [
    "originalReferenceNo",
    "originalPartnerReferenceNo",
    "serviceCode",
    "amount",
    "latestTransactionStatus",
    "transactionStatusDesc",
    "additionalInfo",
];
const TOPUP_STATUS_INFO: [&str; 9] = [
    "sourceAccount",
    "transactionDate",
    "platformCode",
    "platformName",
    "customerNumber",
    "customerName",
    "transactionDescription",
    "callbackUrl",
    "transactionStatusDate",
];

/// The answer to top-up status (39): exactly the fields of §7.1.7, the
/// transaction date inside `additionalInfo`.
pub fn topup_status(d: &Disbursement) -> Map<String, Value> {
    let mut m = status(d);
    let date = m.get("transactionDate").cloned().unwrap_or_default();
    m.retain(|k, _| TOPUP_STATUS_FIELDS.contains(&k.as_str()));
    if let Some(Value::Object(info)) = m.get_mut("additionalInfo") {
        info.insert("transactionDate".into(), date);
        info.retain(|k, _| TOPUP_STATUS_INFO.contains(&k.as_str()));
    }
    m
}

/// The body of the notice a disbursement's final state sends, and the fields
/// the status answers are made of.
pub fn status(d: &Disbursement) -> Map<String, Value> {
    let e = echo(d);
    let (bank_code, bank_name, account, holder) = payee_parts(d);
    let (status, desc) = transaction_status(d);
    let status_date = if d.status.is_final() {
        instant(d.status_at)
    } else {
        String::new()
    };
    let mut m = Map::new();
    m.insert("originalReferenceNo".into(), d.id.clone().into());
    m.insert(
        "originalPartnerReferenceNo".into(),
        d.reference.clone().into(),
    );
    m.insert("originalExternalId".into(), e.external_id.clone().into());
    m.insert("serviceCode".into(), e.service_code.clone().into());
    m.insert(
        "transactionDate".into(),
        e.transaction_date
            .clone()
            .unwrap_or_else(|| instant(d.created_at))
            .into(),
    );
    m.insert("amount".into(), amount(d.amount_minor));
    m.insert("beneficiaryAccountNo".into(), account.clone().into());
    m.insert("beneficiaryBankCode".into(), bank_code.clone().into());
    m.insert("referenceNumber".into(), d.gateway_reference.clone().into());
    m.insert("sourceAccountNo".into(), e.source_account.clone().into());
    m.insert("latestTransactionStatus".into(), status.into());
    m.insert("transactionStatusDesc".into(), desc.into());
    let mut info = json!({
        "beneficiaryAccountName": e.beneficiary_name.clone().unwrap_or(holder.clone()),
        "beneficiaryBankName": bank_name,
        "transactionDescription": d.description,
        "callbackUrl": text(&d.notice_url),
        "transactionStatusDate": status_date,
    });
    if e.service_code == "38" {
        info["platformCode"] = bank_code.into();
        info["platformName"] = bank_name.into();
        info["customerNumber"] = account.into();
        info["customerName"] = e.customer_name.unwrap_or(holder).into();
        info["sourceAccount"] = e.source_account.into();
    }
    if let Some(answer) = &d.channel_answer {
        info["bankResponseCode"] = answer.code.clone().into();
        info["bankResponseMessage"] = answer.message.clone().into();
    }
    m.insert("additionalInfo".into(), info);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_jakarta_time_without_a_fraction() {
        let at = Timestamp::from_unix_seconds(1_608_177_300);
        assert_eq!(instant(at), "2020-12-17T10:55:00+07:00");
        assert_eq!(
            super::super::timestamp::parse(&instant(at.plus_millis(999))),
            Some(at)
        );
    }

    #[test]
    fn amounts_have_two_decimals() {
        assert_eq!(
            amount(1_000_000),
            json!({"value": "10000.00", "currency": "IDR"})
        );
        assert_eq!(amount(5), json!({"value": "0.05", "currency": "IDR"}));
    }
}
