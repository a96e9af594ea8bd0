//! Upstream channels: the banks, store networks, wallets and providers money goes
//! out and comes in through. Each sits behind a connector trait that a real
//! adapter could implement; the built-in simulators behave like the real
//! counterparties and can be scripted. This crate must never touch the ledger or
//! decide what a protocol answers.

pub mod bank;
pub mod cashout_sim;
pub mod collect;
pub mod ewallet;
pub mod pending;
pub mod qris;
