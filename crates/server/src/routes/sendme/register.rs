//! `register` (the bank confirms the account holder) and `register/confirm` (the
//! beneficiary and its virtual account are created).

use super::{call, error, Answer, Shared};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::Json;
use gerbang_app::beneficiary::{
    self, AccountDetails, ConfirmError, ConfirmOutcome, RegisterError, RegisterOutcome,
    Registration,
};
use gerbang_channels::bank::InquiryError;
use gerbang_protocol::sendme::auth::Endpoint;
use gerbang_protocol::sendme::envelope::{self, status, SendmeError};
use gerbang_protocol::sendme::request;
use serde_json::{Map, Value};

const REGISTER: Endpoint = Endpoint::Service {
    path: "/account/api/register",
    method: "POST",
};
const CONFIRM: Endpoint = Endpoint::Service {
    path: "/account/api/register/confirm",
    method: "POST",
};

/// The account a request names, decoded by the protocol, as the application
/// registers it.
fn account_details(d: request::AccountDetails) -> AccountDetails {
    AccountDetails {
        account: d.account,
        account_name: d.account_name,
        va_name: d.va_name,
        bank_code: d.bank_code,
        branch: d.branch,
        region_code: d.region_code,
        country_code: d.country_code,
        purpose_code: d.purpose_code,
    }
}

/// The register/confirm answer fields for a registration.
fn answer_fields(r: &Registration) -> Map<String, Value> {
    let d = &r.details;
    let mut m = Map::new();
    m.insert("virtual_account".into(), r.partner_va.clone().into());
    m.insert("beneficiary_account".into(), d.account.clone().into());
    m.insert(
        "beneficiary_account_name".into(),
        d.account_name.clone().into(),
    );
    m.insert("beneficiary_va_name".into(), d.va_name.clone().into());
    m.insert("beneficiary_bank_code".into(), d.bank_code.clone().into());
    m.insert("beneficiary_bank_name".into(), r.bank_name.clone().into());
    m.insert("beneficiary_bank_branch".into(), d.branch.clone().into());
    m.insert(
        "beneficiary_region_code".into(),
        d.region_code.clone().into(),
    );
    m.insert(
        "beneficiary_country_code".into(),
        d.country_code.clone().into(),
    );
    m.insert(
        "beneficiary_purpose_code".into(),
        d.purpose_code.clone().into(),
    );
    m.insert(
        "bank_account_number".into(),
        r.bank_account_number.clone().into(),
    );
    m.insert(
        "bank_account_name".into(),
        r.bank_account_name.clone().into(),
    );
    if let Some(va) = &r.beneficiary_va {
        m.insert("beneficiary_virtual_account".into(), va.clone().into());
    }
    m
}

fn failed(message: &str) -> Answer {
    let mut m = Map::new();
    m.insert("status".into(), status::FAILED.into());
    m.insert("message".into(), message.into());
    m.insert("response_code".into(), "00".into());
    m.insert("response_desc".into(), message.into());
    Json(Value::Object(m))
}

pub async fn register(
    State(sendme): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let c = match call(&sendme, REGISTER, method, uri, headers, body).await {
        Ok(c) => c,
        Err(e) => return error(e),
    };
    let va = match c.own_virtual_account(0) {
        Ok(va) => va,
        Err(e) => return error(e),
    };
    let details = match request::AccountDetails::parse(&c.input.fields) {
        Ok(d) => account_details(d),
        Err(e) => return error(e),
    };
    match beneficiary::register(&sendme.app, &va, details).await {
        Ok(RegisterOutcome::Inquired(r)) => Json(envelope::success(
            answer_fields(&r),
            status::ON_PROCESS,
            "On Process",
        )),
        Ok(RegisterOutcome::AlreadyRegistered(r)) => Json(envelope::success(
            answer_fields(&r),
            status::ALREADY_REGISTERED,
            "Already Registered",
        )),
        Err(RegisterError::UnknownBank) => {
            error(SendmeError::INVALID_BODY.with_detail("unknown beneficiary_bank_code"))
        }
        Err(RegisterError::Bank(InquiryError::UnknownAccount)) => failed("Account Not Found"),
        Err(RegisterError::Bank(InquiryError::ClosedAccount)) => failed("Account Closed"),
        Err(RegisterError::Bank(InquiryError::Timeout)) => failed("Bank Inquiry Timeout"),
        Err(RegisterError::Bank(InquiryError::UnknownBank(_))) => failed("Invalid Bank Code"),
        Err(RegisterError::Store(e)) => error(super::internal(e)),
    }
}

pub async fn confirm(
    State(sendme): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let c = match call(&sendme, CONFIRM, method, uri.clone(), headers, body).await {
        Ok(c) => c,
        Err(e) => return error(e),
    };
    let va = match c.own_virtual_account(0) {
        Ok(va) => va,
        Err(e) => return error(e),
    };
    let (details, number, name) = match request::Confirmation::parse(&c.input.fields) {
        Ok(c) => (
            account_details(c.details),
            c.bank_account_number,
            c.bank_account_name,
        ),
        Err(e) => return error(e),
    };
    match beneficiary::confirm(
        &sendme.app,
        &va,
        &details.bank_code,
        &details.account,
        &number,
        &name,
    )
    .await
    {
        Ok(ConfirmOutcome::Confirmed(r)) => Json(envelope::success(
            answer_fields(&r),
            status::SUCCESS,
            "Success",
        )),
        Ok(ConfirmOutcome::AlreadyRegistered(r)) => Json(envelope::success(
            answer_fields(&r),
            status::ALREADY_REGISTERED,
            "Already Registered",
        )),
        Err(ConfirmError::NotRegistered) => error(
            SendmeError::INVALID_BODY
                .with_detail("the account must be registered before it is confirmed"),
        ),
        Err(ConfirmError::Mismatch) => error(SendmeError::ACCOUNT_NOT_MATCH),
        Err(ConfirmError::Store(e)) => error(super::internal(e)),
    }
}
