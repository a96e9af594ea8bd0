//! Black-box tests of the SendMe v1 adapter through the real HTTP server, on
//! SQLite and (when configured) PostgreSQL, driven by a client written from the
//! wire spec that imitates the PHP, Python and Java SDKs.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod client;
mod fixture;

mod approval;
mod auth;
mod ewallet;
mod processing;
mod queries;
mod register;
mod sandbox_bank;
mod transfer;
mod vectors;
