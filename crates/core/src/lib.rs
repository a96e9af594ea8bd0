//! The pure heart of gerbang: money, instants, ledger rules, masking, and the
//! domain's records (what a payout is, whoever asked for it).
//!
//! This crate must never do I/O: no tokio, no SQL, no HTTP. Everything here is
//! deterministic and cheap to test.

pub mod cashin;
pub mod clock;
pub mod counter;
pub mod destination;
pub mod document;
pub mod error_text;
pub mod ledger;
pub mod mask;
pub mod money;
pub mod payin;
pub mod payout;
pub mod timestamp;
pub mod user;
pub mod values;

pub use clock::{Clock, SandboxClock, SystemClock};
pub use document::Document;
pub use money::{Currency, Money, MoneyError};
pub use timestamp::Timestamp;
