//! What goes into and comes out of a [`crate::Store`]: storage rows, kept apart from
//! wire types and converted explicitly by the layers above.

use crate::Document;
use gerbang_core::ledger::{AccountKind, HoldState, LedgerError, LedgerOp, NewAccount};
use gerbang_core::{Currency, Timestamp};
use serde::{Deserialize, Serialize};

/// Everything one workflow step changes, committed in one transaction: all or nothing.
#[derive(Clone, Debug, Default)]
pub struct Step {
    /// Remembered answer for an externally supplied reference; a second step with the
    /// same scope and key fails with [`StepError::Duplicate`].
    pub idempotency: Option<NewIdempotency>,
    /// Accounts to open if they do not exist yet.
    pub accounts: Vec<NewAccount>,
    pub ledger: Vec<LedgerOp>,
    pub records: Vec<RecordWrite>,
    pub notifications: Vec<NewNotification>,
    pub timers: Vec<TimerOp>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepOutcome {
    /// Journal entry ids written by the step's ledger ops, in order.
    pub entry_ids: Vec<i64>,
    pub notification_ids: Vec<i64>,
    /// The version each record write produced, in order.
    pub record_versions: Vec<i64>,
}

#[derive(Clone, Debug, thiserror::Error, PartialEq)]
pub enum StepError {
    /// The idempotency key was used before; here is what was stored for it.
    #[error("idempotency key already used")]
    Duplicate(IdempotencyRecord),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A record was not in the state the step expected (someone else moved it).
    #[error("record {kind}/{key} changed concurrently")]
    RecordConflict { kind: String, key: String },
    #[error("storage failure: {0}")]
    Backend(String),
}

#[derive(Clone, Debug, thiserror::Error)]
#[error("storage failure: {0}")]
pub struct StoreError(pub String);

impl From<StoreError> for StepError {
    fn from(e: StoreError) -> Self {
        StepError::Backend(e.0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewIdempotency {
    pub scope: String,
    pub key: String,
    /// A digest of the request's content: the same key with another fingerprint is an
    /// inconsistent request.
    pub fingerprint: String,
    /// The answer to give again on a retry.
    pub response: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub scope: String,
    pub key: String,
    pub fingerprint: String,
    pub response: String,
    pub created_at: Timestamp,
}

/// What a record write expects to find.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The record must not exist yet.
    Absent,
    /// The record must be at exactly this version.
    Version(i64),
    /// Create or overwrite.
    Any,
}

/// A business record: a workflow instance (a transfer, a cash-out), a principal (a
/// merchant, a partner) or a setting. `data` is JSON owned by the layer above.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordWrite {
    pub kind: String,
    pub key: String,
    /// Who the record belongs to (a partner's virtual account, a merchant id), for listing.
    pub owner: String,
    pub state: String,
    pub data: Document,
    pub expect: Expect,
}

/// A record state with an index of its own ([`crate::Store::records_in_state`]):
/// few records are in it at any time, so they are listed without reading the
/// others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexedState {
    /// A payout held until its requester or a checker decides.
    WaitingApproval,
}

impl IndexedState {
    /// The state as an SQL literal: a partial index is used only for a query that
    /// names its condition literally, never through a bound parameter.
    pub(crate) fn sql_literal(self) -> &'static str {
        match self {
            IndexedState::WaitingApproval => "'waiting_approval'",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Record {
    pub kind: String,
    pub key: String,
    pub owner: String,
    pub state: String,
    pub version: i64,
    pub data: Document,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Records of one kind newest first: created in `from <= created_at < until`,
/// strictly before the position `before` (`created_at`, then key, both
/// descending), of `owner` when given. Every record in the range is read (none
/// is skipped by its state), so that a page costs what its limit says.
#[derive(Clone, Debug)]
pub struct RecordsByTime {
    pub kind: String,
    pub owner: Option<String>,
    pub from: Timestamp,
    pub until: Timestamp,
    /// Where the previous page stopped: its last record's `created_at` and key.
    pub before: Option<(Timestamp, String)>,
    pub limit: u32,
}

/// Records of one kind counted per day, per state and per a field of their
/// documents, with a sum of another: what the dashboard's reports draw.
#[derive(Clone, Debug)]
pub struct RecordTotals {
    pub kind: String,
    pub owner: Option<String>,
    pub from: Timestamp,
    pub until: Timestamp,
    /// The days' offset from UTC, in seconds (Jakarta: 25,200).
    pub day_offset_seconds: i64,
    /// JSON paths (`$.a.b`) to the grouping field, the first present one taken.
    pub group_paths: Vec<String>,
    /// JSON path to the integer summed.
    pub amount_path: String,
    /// Only records whose text at this JSON path is this value, when given.
    pub matching: Option<(String, String)>,
}

/// One group of [`RecordTotals`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotalsRow {
    /// Days since 1970-01-01 in the query's offset.
    pub day: i64,
    pub group: String,
    pub state: String,
    pub count: i64,
    pub amount: i64,
}

/// A journal entry with its postings, as read back for one reference.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JournalEntry {
    pub id: i64,
    pub kind: String,
    pub reference: String,
    pub description: String,
    pub currency: Currency,
    pub created_at: Timestamp,
    pub postings: Vec<EntryPosting>,
}

/// One leg of a journal entry: positive credits the account, negative debits it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EntryPosting {
    pub account: String,
    pub amount: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Account {
    pub id: i64,
    pub code: String,
    pub kind: AccountKind,
    pub currency: Currency,
    pub balance: i64,
    pub pending: i64,
}

impl Account {
    pub fn available(&self) -> i64 {
        self.balance - self.pending
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hold {
    pub key: String,
    pub account: String,
    pub amount: i64,
    pub currency: Currency,
    pub state: HoldState,
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub ended_at: Option<Timestamp>,
}

/// One posting on a statement, with the account's balance right after it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StatementLine {
    pub posting_id: i64,
    pub entry_id: i64,
    pub at: Timestamp,
    pub amount: i64,
    pub balance_after: i64,
    pub kind: String,
    pub reference: String,
    pub description: String,
}

/// Which postings of an account to list: `from <= at < to`, after `after_posting_id`.
#[derive(Clone, Debug)]
pub struct StatementQuery {
    pub account: String,
    pub from: Timestamp,
    pub to: Timestamp,
    pub after_posting_id: i64,
    pub limit: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewNotification {
    /// Decides signing and what counts as an acknowledgement (`sendme`, `debit`, `snap`, `test`).
    pub protocol: String,
    /// Who it is for (a partner's virtual account, a merchant id).
    pub owner: String,
    /// What caused it (`sendme:transfer:…`), for search.
    pub source: String,
    pub url: String,
    pub body: String,
    /// The HTTP request that caused it, for logs.
    #[serde(default)]
    pub request_id: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationStatus {
    Pending,
    Delivered,
    /// Retries exhausted; a manual resend starts it again.
    Failed,
}

impl NotificationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationStatus::Pending => "pending",
            NotificationStatus::Delivered => "delivered",
            NotificationStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pending" => NotificationStatus::Pending,
            "delivered" => NotificationStatus::Delivered,
            "failed" => NotificationStatus::Failed,
            _ => return None,
        })
    }
}

/// Work waiting for the workers, for monitoring.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Backlog {
    /// Notifications not delivered yet (due now or waiting for a retry).
    pub notifications_pending: i64,
    /// Of those, the ones due now.
    pub notifications_due: i64,
    /// When the longest-waiting due notification fell due.
    pub oldest_due_notification: Option<Timestamp>,
    pub timers_due: i64,
    pub oldest_due_timer: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Notification {
    pub id: i64,
    pub protocol: String,
    pub owner: String,
    pub source: String,
    pub url: String,
    pub body: String,
    pub status: NotificationStatus,
    pub attempts: i32,
    pub next_attempt_at: Timestamp,
    pub created_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    pub request_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Attempt {
    pub notification_id: i64,
    pub attempt_no: i32,
    pub at: Timestamp,
    pub http_status: Option<i32>,
    pub latency_ms: i64,
    /// The start of the receiver's answer, or why there was none.
    pub excerpt: String,
}

/// What to do with a notification after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptVerdict {
    Delivered,
    RetryAt(Timestamp),
    GiveUp,
}

#[derive(Clone, Debug, Default)]
pub struct NotificationQuery {
    pub owner: Option<String>,
    pub source: Option<String>,
    pub status: Option<NotificationStatus>,
    /// Newest first, ids below this one.
    pub before_id: Option<i64>,
    pub limit: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewTimer {
    /// Unique: scheduling the same key again moves the timer.
    pub key: String,
    /// Which handler runs it.
    pub kind: String,
    pub due_at: Timestamp,
    pub payload: Document,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TimerOp {
    Schedule(NewTimer),
    /// Remove the timer if it exists (it fired, or it is no longer wanted).
    Remove(String),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Timer {
    pub key: String,
    pub kind: String,
    pub due_at: Timestamp,
    pub payload: serde_json::Value,
    pub attempts: i32,
}

/// What `gerbang ledger check` found; empty `problems` means the ledger is sound.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LedgerReport {
    pub accounts: i64,
    pub entries: i64,
    pub postings: i64,
    pub holds_pending: i64,
    pub problems: Vec<String>,
}

impl LedgerReport {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}
