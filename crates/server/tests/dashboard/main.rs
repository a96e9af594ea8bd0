//! Black-box tests of the dashboard through the real HTTP server, on SQLite and
//! (when configured) PostgreSQL: signing in with a password and a TOTP code (the
//! codes computed here from RFC 6238, not by gerbang), sessions and their
//! cookies, CSRF, lockout and throttling, scopes, the audit log; and the pages in
//! headless Chromium.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

#[path = "../common/browser.rs"]
mod chromium;

mod support;

mod approvals;
mod browser;
mod mass_transfers;
mod reports;
mod sandbox;
mod settings;
mod signin;
mod statements;
mod transactions;
