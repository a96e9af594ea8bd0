//! Black-box tests of Faspay's Debit API through the real HTTP server, on SQLite
//! and (when configured) PostgreSQL, in both syntaxes: JSON on `/cvr/…`, XML on
//! `/pws/…`. The suite signs with its own implementation of the formula and reads
//! XML with its own reader; the sandbox merchant is Faspay's published one
//! (99999 / bot99999 / p@ssw0rd), so the documentation's vectors apply.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod support;

#[path = "../common/browser.rs"]
mod chromium;

/// The host-to-host client of the cash-out suite: networks pay bills with it too.
#[allow(dead_code)]
#[path = "../cashout/h2h.rs"]
mod h2h;

mod bills;
mod browser;
mod counters;
mod pages;
mod refusals;
