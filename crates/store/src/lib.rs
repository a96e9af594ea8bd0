//! Durable state of gerbang behind one interface, [`Store`], with two
//! implementations: [`sqlite::SqliteStore`] (embedded default, one writer thread that
//! groups many steps into one transaction and one fsync) and
//! [`postgres::PostgresStore`] (several processes may share one database).
//!
//! A store enforces the ledger rules of `gerbang_core::ledger` inside its
//! transactions: a step that would overdraw an account, unbalance an entry or end a
//! hold twice fails whole and changes nothing. This crate must never decide business
//! outcomes (which status a transfer gets, what a protocol answers): it stores what
//! the layers above decided, atomically.

pub mod migrations;
pub mod postgres;
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;
mod types;

pub use gerbang_core::Document;
pub use types::*;

use async_trait::async_trait;
use gerbang_core::Timestamp;
use std::sync::Arc;

/// Largest page any listing returns, whatever the caller asks for.
pub const MAX_PAGE: u32 = 1000;

/// The key of the timer that expires a hold with an expiry; the store schedules it
/// with the hold and removes it when the hold ends.
pub fn hold_expiry_timer_key(hold_key: &str) -> String {
    format!("ledger.hold.expire:{hold_key}")
}

/// The timer kind of hold expiries; its payload is `{"hold": key}`.
pub const HOLD_EXPIRY_TIMER: &str = "ledger.hold.expire";

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Commits a step: all of it or nothing.
    async fn commit(&self, now: Timestamp, step: Step) -> Result<StepOutcome, StepError>;

    async fn idempotency(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;

    async fn record(&self, kind: &str, key: &str) -> Result<Option<Record>, StoreError>;

    /// Records of one kind (and owner) in the order of their keys (compared byte
    /// by byte on every backend), those after `after_key`, at most `limit`: the next
    /// page starts after the last key of this one.
    async fn records(
        &self,
        kind: &str,
        owner: Option<&str>,
        after_key: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Record>, StoreError>;

    /// Records of `kind` in `state` (of `owner` when given), by key, a page after
    /// `after_key`.
    async fn records_in_state(
        &self,
        kind: &str,
        state: IndexedState,
        owner: Option<&str>,
        after_key: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Record>, StoreError>;

    /// Records of one kind newest first, a page at a time (see [`RecordsByTime`]).
    async fn records_by_time(&self, query: RecordsByTime) -> Result<Vec<Record>, StoreError>;

    /// Records counted and summed per day, state and group (see [`RecordTotals`]);
    /// at most three group paths.
    async fn record_totals(&self, query: RecordTotals) -> Result<Vec<TotalsRow>, StoreError>;

    /// The journal entries filed under `reference`, oldest first, at most `limit`,
    /// each with its postings.
    async fn entries(&self, reference: &str, limit: u32) -> Result<Vec<JournalEntry>, StoreError>;

    async fn account(&self, code: &str) -> Result<Option<Account>, StoreError>;

    /// Accounts in order of their codes, a page after `after_code`.
    async fn accounts(
        &self,
        after_code: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Account>, StoreError>;

    async fn hold(&self, key: &str) -> Result<Option<Hold>, StoreError>;

    async fn statement(&self, query: StatementQuery) -> Result<Vec<StatementLine>, StoreError>;

    /// Takes up to `limit` pending notifications due at `now` that nobody holds, and
    /// holds them until `lease_until`. Notifications of one source go out in order:
    /// one is not taken while an earlier one of its source is still pending.
    async fn claim_notifications(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Notification>, StoreError>;

    /// Records one delivery attempt and what follows from it, and releases the lease.
    async fn record_attempt(
        &self,
        attempt: Attempt,
        verdict: AttemptVerdict,
    ) -> Result<(), StoreError>;

    async fn notification(&self, id: i64) -> Result<Option<Notification>, StoreError>;

    async fn notifications(
        &self,
        query: NotificationQuery,
    ) -> Result<Vec<Notification>, StoreError>;

    async fn attempts(&self, notification_id: i64) -> Result<Vec<Attempt>, StoreError>;

    /// Makes a notification pending again, due at `now`. False if there is no such id.
    async fn resend_notification(&self, id: i64, now: Timestamp) -> Result<bool, StoreError>;

    /// Takes up to `limit` timers due at `now` that nobody holds, until `lease_until`.
    async fn claim_timers(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Timer>, StoreError>;

    /// A timer's handler failed: try again at `retry_at`. Only while the caller
    /// still holds the lease it claimed the timer with (`leased_until`): once the
    /// lease ran out, the timer is another node's to fire, and this does nothing.
    async fn retry_timer(
        &self,
        key: &str,
        retry_at: Timestamp,
        leased_until: Timestamp,
    ) -> Result<(), StoreError>;

    /// Verifies the ledger's invariants over everything stored.
    async fn check_ledger(&self) -> Result<LedgerReport, StoreError>;

    /// Frees the leases on notifications and timers that a previous process left
    /// when it stopped, on a database only one process works on (SQLite); called as
    /// a gateway starts its workers, never by a command run beside one. On
    /// PostgreSQL, where other nodes may hold leases, nothing.
    async fn release_leases(&self) -> Result<(), StoreError>;

    /// How much work the workers have in front of them at `now`.
    async fn backlog(&self, now: Timestamp) -> Result<Backlog, StoreError>;
}

pub type SharedStore = Arc<dyn Store>;

/// Opens the store a URL names, migrating it first: `sqlite://PATH` (created if
/// missing) or `postgres://…`.
pub async fn connect(url: &str) -> Result<SharedStore, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(sqlite::SqliteStore::open(path).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PostgresStore::connect(url).await?))
    } else {
        Err(StoreError(format!(
            "unsupported database URL (expected sqlite://PATH or postgres://…): {}",
            redact_url(url)
        )))
    }
}

/// The migrations opening the database `url` names would run, without running
/// them or creating anything.
pub async fn pending_migrations(
    url: &str,
) -> Result<Vec<&'static migrations::Migration>, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        sqlite::pending_migrations(std::path::Path::new(path))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        postgres::pending_migrations(url).await
    } else {
        Err(StoreError(format!(
            "unsupported database URL (expected sqlite://PATH or postgres://…): {}",
            redact_url(url)
        )))
    }
}

/// A database URL with its password hidden, for logs and errors.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// The group paths of a [`RecordTotals`], always three (the last repeated).
pub(crate) fn three_paths(paths: &[String]) -> [String; 3] {
    let at = |i: usize| {
        paths
            .get(i)
            .or(paths.last())
            .cloned()
            .unwrap_or_else(|| "$.none".into())
    };
    [at(0), at(1), at(2)]
}

pub(crate) fn clamp_limit(limit: u32) -> u32 {
    limit.clamp(1, MAX_PAGE)
}

/// The problems [`Store::check_ledger`] reports, worded alike on every backend.
pub(crate) mod ledger_problem {
    pub(crate) fn postings_total(total: i64) -> String {
        format!("all postings sum to {total}, not 0")
    }

    pub(crate) fn unbalanced_entry(entry: i64, postings: i64, sum: i64) -> String {
        format!("entry {entry} does not balance: its {postings} postings sum to {sum}")
    }

    pub(crate) fn balance_mismatch(account: &str, balance: i64, postings_sum: i64) -> String {
        format!("account {account} stores balance {balance} but its postings sum to {postings_sum}")
    }

    pub(crate) fn pending_mismatch(account: &str, pending: i64, holds_sum: i64) -> String {
        format!(
            "account {account} stores pending {pending} but its pending holds sum to {holds_sum}"
        )
    }

    pub(crate) fn overdrawn(account: &str, balance: i64, pending: i64) -> String {
        format!(
            "account {account} may not go negative but has balance {balance} and pending {pending}"
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact_url("postgres://gerbang:s3cret@127.0.0.1:5432/db"),
            "postgres://gerbang:***@127.0.0.1:5432/db"
        );
        assert_eq!(
            super::redact_url("sqlite://gerbang.db"),
            "sqlite://gerbang.db"
        );
    }
}
