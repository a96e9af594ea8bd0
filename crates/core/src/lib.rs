//! The pure heart of gerbang: money, instants, ledger rules and masking.
//!
//! This crate must never do I/O: no tokio, no SQL, no HTTP. Everything here is
//! deterministic and cheap to test.

pub mod clock;
pub mod error_text;
pub mod ledger;
pub mod mask;
pub mod money;
pub mod timestamp;

pub use clock::{Clock, SandboxClock, SystemClock};
pub use money::{Currency, Money, MoneyError};
pub use timestamp::Timestamp;
