//! Black-box tests of the SNAP face through the real HTTP server, on SQLite and
//! (when configured) PostgreSQL, driven by a partner that signs with its own code
//! (`client.rs`), checked first against the spec's vectors.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod client;
mod fixture;
/// The SendMe v1 client of the SendMe suite: the same balance, seen through SendMe.
#[allow(dead_code)]
#[path = "../sendme/client.rs"]
mod sendme_client;

mod bulk;
mod money;
mod queries;
mod refusals;
mod token;
mod vectors;
