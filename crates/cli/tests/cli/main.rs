//! Black-box tests of the `gerbang` binary: provisioning, the ledger check,
//! serving and stopping, notifications across a crash, and several processes on
//! one PostgreSQL database.

#[macro_use]
#[path = "../../../server/tests/common/mod.rs"]
mod common;
mod support;

mod crash;
mod ledger_check;
mod notifications;
mod provision;
mod serve;
mod shared_postgres;
