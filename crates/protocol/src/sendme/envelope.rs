//! The envelope every SendMe answer carries, and the documented errors.
//!
//! Every answer is HTTP 200 with string-typed `status`, `message`, `response_code`
//! and `response_desc` (the Python SDK drops non-200 bodies; Python and Java compare
//! the strings). Errors have `status` "9" and the text in `message`.

use serde_json::{Map, Value};

/// `status` values.
pub mod status {
    pub const ON_PROCESS: &str = "1";
    pub const SUCCESS: &str = "2";
    pub const UNCONFIRMED: &str = "3";
    pub const FAILED: &str = "4";
    pub const REVERSED: &str = "5";
    pub const ALREADY_REGISTERED: &str = "6";
    pub const ERROR: &str = "9";
}

/// A documented error: the text for `message` and the `response_code`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendmeError {
    pub message: &'static str,
    pub response_code: &'static str,
    /// Shown in `response_desc` (defaults to the message).
    pub detail: Option<String>,
}

impl SendmeError {
    const fn new(message: &'static str, response_code: &'static str) -> Self {
        SendmeError {
            message,
            response_code,
            detail: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub const UNAUTHORIZED: SendmeError = SendmeError::new("Unauthorized", "00");
    pub const INVALID_VA: SendmeError = SendmeError::new("Invalid Virtual Account", "00");
    pub const INVALID_BENEFICIARY_VA: SendmeError =
        SendmeError::new("Beneficiary Virtual Account Invalid", "00");
    pub const ACCOUNT_NOT_MATCH: SendmeError =
        SendmeError::new("Beneficiary Account Not Match", "00");
    pub const NAME_NOT_MATCH: SendmeError = SendmeError::new("Beneficiary Name Not Match", "00");
    pub const DUPLICATE_TRX_NO: SendmeError =
        SendmeError::new("Your Transaction Number already exists", "00");
    pub const INVALID_BODY: SendmeError = SendmeError::new("Invalid Request body", "00");
    pub const AMOUNT_MANDATORY: SendmeError =
        SendmeError::new("Parameter 'trx_amount' is mandatory", "01");
    pub const FEE_DESCRIPTION: SendmeError =
        SendmeError::new("Invalid Transaction Description Value", "02");
    pub const NOT_FOUND: SendmeError = SendmeError::new("Transaction not found", "00");
    pub const INSUFFICIENT_BALANCE: SendmeError = SendmeError::new("Insufficient Balance", "00");
    pub const INTERNAL: SendmeError = SendmeError::new("Please contact Faspay", "99");

    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("status".into(), status::ERROR.into());
        body.insert("message".into(), self.message.into());
        body.insert("response_code".into(), self.response_code.into());
        body.insert(
            "response_desc".into(),
            self.detail
                .clone()
                .unwrap_or_else(|| self.message.to_string())
                .into(),
        );
        Value::Object(body)
    }
}

/// Adds the success envelope to an answer's fields.
pub fn success(mut fields: Map<String, Value>, status: &str, message: &str) -> Value {
    fields.insert("status".into(), status.into());
    fields.insert("message".into(), message.into());
    fields.insert("response_code".into(), "00".into());
    fields.insert("response_desc".into(), "success".into());
    Value::Object(fields)
}
