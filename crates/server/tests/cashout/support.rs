//! What the cash-out scenarios share: the transfer bodies the Faspay documents
//! give for each network (spec §10), issuing a code, the partner's balances, the
//! callbacks, notifications and statements, and the closing ledger check.

use crate::client::*;
use crate::common::*;
use crate::fixture::{callbacks_for, Sandbox, VA};
use serde_json::Value;
use std::time::Duration;

/// The phone number codes are issued for.
pub const PHONE: &str = "081234567890";
/// Another phone number.
pub const OTHER_PHONE: &str = "081298765432";
pub const NAME: &str = "Budi Santoso";

/// Rp 100.000 in SendMe's two implied decimals.
pub const RP_100K: i64 = 10_000_000;

/// An Alfamart (`alf`) or Indomaret (`imr`) transfer as spec §10.2/§10.3 list
/// its fields, dated now, without `trx_expired` (empty, as the Python SDK sends).
pub async fn store_body(
    s: &Sandbox,
    bank_code: &str,
    trx_no: &str,
    amount_minor: i64,
    callback_url: &str,
) -> Body {
    Body::new()
        .with("virtual_account", VA)
        .with("beneficiary_bank_code", bank_code)
        .with("beneficiary_region_code", "0391")
        .with("beneficiary_country_code", "ID")
        .with("beneficiary_purpose_code", "1")
        .with("beneficiary_phone", PHONE)
        .with("beneficiary_email", "budi@example.com")
        .with("trx_no", trx_no)
        .with("trx_date", s.jakarta_in(0).await)
        .with("instruct_date", "")
        .with("trx_amount", amount_minor.to_string())
        .with("trx_desc", "Cash out")
        .with("callback_url", callback_url)
        .with("trx_expired", "")
        .with("beneficiary_account_name", NAME)
}

/// A Permata ATM (`C013`) transfer with the fields of spec §10.1.
pub fn permata_body(trx_no: &str, amount_minor: i64, callback_url: &str) -> Body {
    Body::new()
        .with("virtual_account", VA)
        .with("beneficiary_bank_code", "C013")
        .with("beneficiary_name", NAME)
        .with("trx_no", trx_no)
        .with("beneficiary_phone", PHONE)
        .with("trx_amount", amount_minor.to_string())
        .with("callback_url", callback_url)
        .with("trx_desc", "Cash out at a Permata ATM")
}

/// An accepted cash-out transfer.
#[derive(Clone, Debug)]
pub struct Issued {
    pub trx_no: String,
    pub trx_id: String,
    pub code: String,
    pub amount_minor: i64,
    pub answer: Value,
}

impl Issued {
    /// The amount in whole rupiah, as the host-to-host API carries it.
    pub fn rupiah(&self) -> i64 {
        self.amount_minor / 100
    }
}

#[track_caller]
pub fn assert_code_digits(code: &Value) -> String {
    let code = code
        .as_str()
        .unwrap_or_else(|| panic!("cashout_code is not a string: {code}"));
    assert_eq!(code.len(), 10, "cashout_code {code:?}");
    assert!(
        code.bytes().all(|b| b.is_ascii_digit()),
        "cashout_code {code:?}"
    );
    code.to_string()
}

/// The transfer's `trx_id` as text (the answer gives a number).
#[track_caller]
pub fn trx_id_of(answer: &Value) -> String {
    match &answer["trx_id"] {
        Value::Number(n) => n.to_string(),
        Value::String(s) if !s.is_empty() => s.clone(),
        other => panic!("trx_id is {other}: {answer}"),
    }
}

/// Sends a cash-out transfer; asserts it is on process with its code.
pub async fn issue(s: &Sandbox, body: &Body) -> Issued {
    let answer = s.client.post(TRANSFER, body).await;
    assert_on_process(&answer);
    let code = assert_code_digits(&answer["cashout_code"]);
    Issued {
        trx_no: body.text("trx_no"),
        trx_id: trx_id_of(&answer),
        code,
        amount_minor: body.text("trx_amount").parse().expect("trx_amount"),
        answer,
    }
}

/// Sends an Alfamart cash-out of `amount_minor` to `PHONE`.
pub async fn issue_alfamart(s: &Sandbox, trx_no: &str, amount_minor: i64, url: &str) -> Issued {
    issue(s, &store_body(s, "alf", trx_no, amount_minor, url).await).await
}

#[track_caller]
pub fn assert_on_process(answer: &Value) {
    assert_eq!(answer["status"], "1", "{answer}");
    assert_eq!(answer["message"], "On Process", "{answer}");
    assert_eq!(answer["response_code"], "00", "{answer}");
}

/// Waits for a callback of `trx_no` with this `trx_status` (each callback's
/// signature checked with the partner's credentials).
pub async fn wait_callback(
    s: &Sandbox,
    receiver: &Receiver,
    trx_no: &str,
    trx_status: &str,
) -> Value {
    eventually(
        &format!("a callback of {trx_no} with trx_status {trx_status}"),
        Duration::from_secs(10),
        || async {
            callbacks_for(&s.client, receiver, trx_no)
                .into_iter()
                .find(|c| c["trx_status"] == trx_status)
        },
    )
    .await
}

/// Checks a cash-out callback against its transfer.
#[track_caller]
pub fn assert_callback(callback: &Value, issued: &Issued, trx_status: &str, bank_code: &str) {
    assert_eq!(callback["trx_status"], trx_status, "{callback}");
    assert_eq!(callback["virtual_account"], VA, "{callback}");
    assert_eq!(callback["trx_no"], issued.trx_no.as_str(), "{callback}");
    assert_eq!(
        callback["trx_id"].to_string().trim_matches('"'),
        issued.trx_id,
        "{callback}"
    );
    assert_eq!(
        callback["trx_amount"].to_string().trim_matches('"'),
        issued.amount_minor.to_string(),
        "{callback}"
    );
    assert_eq!(callback["bank_code"], bank_code, "{callback}");
    assert_eq!(
        callback["trx_reff"], issued.answer["trx_reff"],
        "{callback}"
    );
}

/// The notifications the gateway wrote for a transfer.
pub async fn notifications_of(api: &Api, trx_id: &str) -> Vec<Value> {
    let answer = api
        .get(&format!(
            "/sandbox/notifications?source=disbursement:{trx_id}&limit=100"
        ))
        .await
        .expect(200);
    answer["notifications"]
        .as_array()
        .expect("notifications")
        .clone()
}

/// A notification's body as JSON (the sandbox shows it as the text sent).
fn body_of(n: &Value) -> Value {
    match &n["body"] {
        Value::String(text) => serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("notification body is not JSON ({e}): {n}")),
        other => other.clone(),
    }
}

/// The `trx_status` of each notification of a transfer, oldest first.
pub async fn notified_statuses(api: &Api, trx_id: &str) -> Vec<String> {
    let mut list: Vec<(i64, String)> = notifications_of(api, trx_id)
        .await
        .iter()
        .map(|n| {
            (
                n["id"].as_i64().expect("id"),
                body_of(n)["trx_status"]
                    .as_str()
                    .unwrap_or_else(|| panic!("no trx_status: {n}"))
                    .to_string(),
            )
        })
        .collect();
    list.sort();
    list.into_iter().map(|(_, s)| s).collect()
}

/// A ledger account's statement lines (up to 1000) and its balance.
pub async fn statement(api: &Api, account: &str) -> (Vec<Value>, String) {
    let answer = api
        .get(&format!("/sandbox/accounts/{account}/statement?limit=1000"))
        .await
        .expect(200);
    (
        answer["lines"].as_array().expect("lines").clone(),
        answer["balance"].as_str().expect("balance").to_string(),
    )
}

/// The clearing account of the claimed cash-outs of the network a SendMe
/// `beneficiary_bank_code` names (ledger accounts are named by the network).
pub fn clearing(bank_code: &str) -> String {
    let network = match bank_code {
        "alf" => "alfamart",
        "imr" => "indomaret",
        "C013" => "permata",
        other => panic!("no cash-out network has the code {other}"),
    };
    format!("channel:cashout:{network}")
}
