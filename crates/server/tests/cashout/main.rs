//! Black-box tests of cash-out (Alfamart, Indomaret, Permata ATM) through the real
//! HTTP server, on SQLite and (when configured) PostgreSQL: codes issued by SendMe
//! transfers (or their approval), claimed, reversed and settled over the
//! host-to-host API as docs/cashout-networks.md describes it, and expired by the
//! sandbox clock. The SendMe side reuses the SendMe suite's client and fixture;
//! the host-to-host side has its own signer here, written from the document.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

#[allow(dead_code)]
#[path = "../sendme/client.rs"]
mod client;
#[allow(dead_code)]
#[path = "../sendme/fixture.rs"]
mod fixture;

mod h2h;
mod support;

mod approval;
mod claim;
mod expiry;
mod indomaret;
mod issue;
mod permata;
mod refusals;
mod reversal;
mod sessions;
