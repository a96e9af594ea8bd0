//! How SendMe shows a payout: its status codes and words, its ids and dates, the
//! codes it gives the networks, and the `bank_response_*` fields. Shared by the
//! answers of the routes and the transfer notification.

use super::envelope::status;
use gerbang_core::payout::{CashNetwork, Disbursement, Failure, Payee, Status};
use gerbang_core::Timestamp;
use serde_json::Value;
use time::macros::format_description;

/// `Y-m-d H:i:s` in Jakarta time.
pub fn wib(at: Timestamp) -> String {
    let f = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    at.jakarta().format(&f).unwrap_or_default()
}

/// SendMe's transaction status and its word for a payout status.
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

/// The `beneficiary_bank_code` of a cash-out network.
pub fn cash_network_code(n: CashNetwork) -> &'static str {
    match n {
        CashNetwork::Alfamart => "alf",
        CashNetwork::Indomaret => "imr",
        CashNetwork::Permata => "C013",
    }
}

/// Whether SendMe hands a network's code out encrypted with the gateway's key
/// (Permata's) or in plain digits (the stores').
pub fn code_is_encrypted(n: CashNetwork) -> bool {
    n == CashNetwork::Permata
}

/// The cash-out network a `beneficiary_bank_code` names (any case).
pub fn cash_network_by_code(code: &str) -> Option<CashNetwork> {
    CashNetwork::ALL
        .into_iter()
        .find(|n| cash_network_code(*n).eq_ignore_ascii_case(code.trim()))
}

/// What SendMe shows of the payee: bank code, bank name, account, holder's name.
pub struct Beneficiary<'a> {
    pub bank_code: &'a str,
    pub bank_name: &'a str,
    pub account: &'a str,
    pub holder: &'a str,
    pub virtual_account: &'a str,
}

pub fn beneficiary(d: &Disbursement) -> Beneficiary<'_> {
    match &d.payee {
        Payee::BankAccount(a) | Payee::EWallet(a) => Beneficiary {
            bank_code: &a.channel,
            bank_name: &a.channel_name,
            account: a.account.expose(),
            holder: &a.holder,
            virtual_account: a.beneficiary.as_deref().unwrap_or(""),
        },
        Payee::CashCode(c) => Beneficiary {
            bank_code: cash_network_code(c.network),
            bank_name: c.network.display_name(),
            account: c.phone.expose(),
            holder: &c.holder,
            virtual_account: "",
        },
    }
}

/// `bank_response_code` (absent: none yet) and `bank_response_msg`.
pub fn bank_response(d: &Disbursement) -> (Option<String>, String) {
    let cash = d.cash_code();
    match (d.failure, d.status) {
        (Some(Failure::Rejected), _) => (None, "Rejected by the approver".into()),
        (Some(Failure::Cancelled), _) => (None, "Cancelled before it was sent".into()),
        (Some(Failure::CodeExpired), _) => (Some("54".into()), "Cash-out code expired".into()),
        (_, Status::Reversed) => (
            Some("00".into()),
            format!(
                "Reversed by {}",
                cash.map(|c| c.network.display_name()).unwrap_or("")
            ),
        ),
        (_, Status::Succeeded) if cash.is_some() => (
            Some("00".into()),
            format!(
                "Paid out at {}",
                cash.map(|c| c.network.display_name()).unwrap_or("")
            ),
        ),
        _ => match &d.channel_answer {
            Some(a) => (Some(a.code.clone()), a.message.clone()),
            None if d.status == Status::Processing && d.channel_attempts > 0 => {
                (None, "Pending at the bank".into())
            }
            None => (None, String::new()),
        },
    }
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
            .unwrap_or_else(|| beneficiary(d).holder.to_string().into()),
        trx_date: given(r.trx_date).unwrap_or_else(|| wib(d.created_at).into()),
    }
}
