//! Black-box tests of the gateway's foundation through its real HTTP server and a
//! real database, each on SQLite and (when configured) PostgreSQL.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod bytes;
mod health;
mod notifier;
mod openapi;
mod production;
mod sandbox;
mod scheduler;
mod slow_clients;
