//! Cash codes: single-use 10-digit codes that a store network (Alfamart,
//! Indomaret) or an ATM network (Permata) claims over the host-to-host API
//! ([`crate::h2h`]). A code points at what it settles — today a payout whose payee is a
//! cash code: accepting one holds the amount and issues the code (after approval,
//! for requesters that approve); the network's claim posts the hold to the
//! network's clearing account; a reversal gives the money back; an unclaimed code
//! expires ([`expiry`]) and releases the hold. Every change is one step: state,
//! postings, the code's index record and the requester's notice together.

pub mod expiry;
pub mod faults;

pub mod network;

use gerbang_core::Timestamp;
use gerbang_store::{Document, Expect, NewTimer, RecordWrite, TimerOp};
pub use network::{Network, NetworkRules};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Index records of issued codes: key = the code, owner = the requester's
/// principal, state `live` | `paid` | `reversed` | `expired` | `cancelled`, data a
/// [`CodeRecord`].
pub const CODE_RECORD: &str = "cashout.code";
/// The timer that ends an unclaimed code.
pub const EXPIRY_TIMER: &str = "cashout.expire";
/// Digits in a code.
pub const CODE_DIGITS: usize = 10;

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

/// What a code settles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeSubject {
    /// A payout (its disbursement id): the network hands out cash.
    Payout(String),
}

/// What a code's record holds: what it settles and its network.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CodeRecord {
    pub subject: CodeSubject,
    pub network: Network,
}

/// The write that issues `code` for payout `id`: fails if the code exists.
pub(crate) fn issue_code(code: &str, id: &str, owner: &str, network: Network) -> RecordWrite {
    RecordWrite {
        kind: CODE_RECORD.into(),
        key: code.into(),
        owner: owner.into(),
        state: "live".into(),
        data: Document::of(&CodeRecord {
            subject: CodeSubject::Payout(id.into()),
            network,
        }),
        expect: Expect::Absent,
    }
}

/// The write that ends the code of payout `d` in `state`, if one was issued.
pub(crate) fn end_code_of(
    d: &gerbang_core::payout::Disbursement,
    state: &str,
) -> Option<RecordWrite> {
    let c = d.cash_code()?;
    let code = c.code.as_ref()?;
    Some(end_code(
        code.expose(),
        &d.id,
        &d.requester.principal,
        c.network,
        state,
    ))
}

/// The write that ends a code's life in `state`.
pub(crate) fn end_code(
    code: &str,
    id: &str,
    owner: &str,
    network: Network,
    state: &str,
) -> RecordWrite {
    RecordWrite {
        state: state.into(),
        expect: Expect::Any,
        ..issue_code(code, id, owner, network)
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
