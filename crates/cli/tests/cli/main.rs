//! Black-box tests of the `gerbang` binary: provisioning, the ledger check, the
//! cash-out code key, serving and stopping, notifications across a crash, a SendMe
//! transfer burst cut by a crash, payouts approved or rejected on a stopped gateway's database,
//! several processes on one PostgreSQL database, nodes of each role and a worker node killed mid-dispatch.

#[macro_use]
#[path = "../../../server/tests/common/mod.rs"]
mod common;
mod support;

// The SendMe suite's client, written from the wire spec alone.
#[allow(dead_code)]
#[path = "../../../server/tests/sendme/client.rs"]
mod client;
// Its fixture: the partners' credentials and provisioning entries, beneficiaries,
// balances, statuses and callbacks.
#[allow(dead_code)]
#[path = "../../../server/tests/sendme/fixture.rs"]
mod fixture;

mod backup;
mod burst;
mod crash;
mod keys;
mod ledger_check;
mod logs;
mod migrate;
mod notifications;
mod payout;
mod postgres_faults;
mod provision;
mod restore_drill;
mod roles;
mod sendme_crash;
mod serve;
mod shared_postgres;
mod sim;
mod users;
mod worker_kill;
