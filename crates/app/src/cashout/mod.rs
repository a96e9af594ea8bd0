//! Cash-out: a disbursement paid in cash at a store (Alfamart, Indomaret) or a
//! Permata ATM. Accepting one holds the amount and issues a single-use 10-digit
//! code (after approval, for partners that require it). The network claims the
//! code over the host-to-host API ([`h2h`]): the hold is posted to the network's
//! clearing account; a reversal gives the money back; an unclaimed code expires
//! ([`expiry`]) and releases the hold. Every change is one step: state, postings,
//! the code's index record and the partner's notification together.

pub mod expiry;
pub mod faults;
pub mod h2h;
pub mod keys;
pub mod network;

use gerbang_core::mask::{Masked, Secret};
use gerbang_core::Timestamp;
use gerbang_store::{Document, Expect, NewTimer, RecordWrite, TimerOp};
pub use network::Network;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Index records of issued codes: key = the code, owner = partner VA, state
/// `live` | `paid` | `reversed` | `expired` | `cancelled`, data `{"id", "network"}`.
pub const CODE_RECORD: &str = "cashout.code";
/// The timer that ends an unclaimed code.
pub const EXPIRY_TIMER: &str = "cashout.expire";
/// Digits in a code.
pub const CODE_DIGITS: usize = 10;

/// What a disbursement that is a cash-out carries besides the usual.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CashoutState {
    pub network: Network,
    /// The phone number the code was issued for, as the partner gave it.
    pub phone: Masked,
    /// The plain code; absent until issued.
    pub code: Option<Secret>,
    pub expires_at: Timestamp,
    /// When the request named no expiry: the code's life, counted from its issue
    /// (which approval may delay).
    #[serde(default)]
    pub lifetime_seconds: Option<i64>,
    pub payment: Option<Payment>,
    pub advised_at: Option<Timestamp>,
    pub reversed_at: Option<Timestamp>,
}

/// The claim of a code by its network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    /// The network's own reference of the payment.
    pub reference: String,
    pub terminal: String,
    pub paid_at: Timestamp,
}

/// What a protocol adapter asks for when a transfer is a cash-out.
#[derive(Clone, Debug)]
pub struct NewCashout {
    pub network: Network,
    pub phone: String,
    pub expires_at: Timestamp,
    /// Set when `expires_at` is the default life rather than the request's instant.
    pub lifetime_seconds: Option<i64>,
}

/// Draws a code: 10 decimal digits from the thread's CSPRNG (ChaCha, seeded from
/// the operating system), so knowing earlier codes says nothing about the next.
pub fn draw_code() -> String {
    let mut rng = rand::thread_rng();
    (0..CODE_DIGITS)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

/// Phone numbers compare by their digits, `+62…`/`62…` the same as `0…`.
pub fn same_phone(a: &str, b: &str) -> bool {
    fn canonical(p: &str) -> String {
        let digits: String = p.chars().filter(char::is_ascii_digit).collect();
        match digits.strip_prefix("62") {
            Some(rest) => format!("0{rest}"),
            None => digits,
        }
    }
    let (a, b) = (canonical(a), canonical(b));
    !a.is_empty() && a == b
}

/// The write that issues `code` for disbursement `id`: fails if the code exists.
pub(crate) fn issue_code(code: &str, id: &str, partner_va: &str, network: Network) -> RecordWrite {
    RecordWrite {
        kind: CODE_RECORD.into(),
        key: code.into(),
        owner: partner_va.into(),
        state: "live".into(),
        data: Document::of(&CodeRecord {
            id: id.into(),
            network,
        }),
        expect: Expect::Absent,
    }
}

impl CashoutState {
    /// The write that ends this cash-out's code (of disbursement `id`) in `state`,
    /// if a code was issued.
    pub(crate) fn end_code(&self, id: &str, partner_va: &str, state: &str) -> Option<RecordWrite> {
        self.code
            .as_ref()
            .map(|code| end_code(code.expose(), id, partner_va, self.network, state))
    }
}

/// What a code's record holds: the disbursement it pays out and its network.
#[derive(Serialize, Deserialize)]
pub(crate) struct CodeRecord {
    pub id: String,
    pub network: Network,
}

/// The write that ends a code's life in `state`.
pub(crate) fn end_code(
    code: &str,
    id: &str,
    partner_va: &str,
    network: Network,
    state: &str,
) -> RecordWrite {
    RecordWrite {
        state: state.into(),
        expect: Expect::Any,
        ..issue_code(code, id, partner_va, network)
    }
}

pub(crate) fn expiry_timer_key(id: &str) -> String {
    format!("{EXPIRY_TIMER}:{id}")
}

pub(crate) fn expiry_timer(id: &str, at: Timestamp) -> TimerOp {
    TimerOp::Schedule(NewTimer {
        key: expiry_timer_key(id),
        kind: EXPIRY_TIMER.into(),
        due_at: at,
        payload: serde_json::json!({ "id": id }).into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_ten_digits_and_differ() {
        let a = draw_code();
        let b = draw_code();
        assert_eq!(a.len(), CODE_DIGITS);
        assert!(a.bytes().all(|c| c.is_ascii_digit()));
        assert_ne!(a, b);
    }

    #[test]
    fn phones_compare_by_digits() {
        assert!(same_phone("081234567890", "+62 812-3456-7890"));
        assert!(same_phone("6281234567890", "081234567890"));
        assert!(!same_phone("081234567890", "081234567891"));
        assert!(!same_phone("", ""));
    }
}
