//! The embedded SQLite store: a writer thread with group commit (see [`writer`]),
//! ledger state checked in memory on that thread (see [`ledger`]), and a small pool
//! of read-only connections that read concurrently with the writer (WAL).

use crate::{
    clamp_limit, ledger_problem, migrations, Account, Attempt, AttemptVerdict, Backlog, Document,
    Expect, Hold, IdempotencyRecord, IndexedState, JournalEntry, LedgerReport, NewIdempotency,
    NewNotification, NewTimer, Notification, NotificationQuery, NotificationStatus, Record,
    RecordTotals, RecordWrite, RecordsByTime, StatementLine, StatementQuery, Step, StepError,
    StepOutcome, Store, StoreError, Timer, TimerOp, TotalsRow,
};
use async_trait::async_trait;
use gerbang_core::ledger::{AccountKind, HoldState, LedgerOp};
use gerbang_core::{Currency, Timestamp};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

pub mod backup;
mod checkpoint;
mod ledger;
mod writer;

use ledger::sql_err;
use writer::Job;
pub use writer::MAX_BATCH;

/// Jobs that may wait for the writer before callers are made to wait.
const QUEUE_DEPTH: usize = 16 * 1024;
/// Reads running at once; each has its own connection, kept open for the next read
/// (opening a connection reads the schema, which costs more than most reads).
const MAX_READERS: usize = 16;

struct Inner {
    path: PathBuf,
    jobs: mpsc::Sender<Job>,
    readers: Mutex<Vec<Connection>>,
    /// Connections the pool keeps: one per read that may run at once, and one per
    /// thread a lookup may run on besides, so that lookups during a burst of reads
    /// do not open and close a connection each time.
    readers_kept: usize,
    reading: tokio::sync::Semaphore,
}

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

fn backend_err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

/// The writer's page cache, in KiB. Small on purpose: a commit after a page split
/// scans the whole cache (SQLite parks a page at a far page number while it
/// reorders siblings), and the operating system caches the file anyway.
const WRITER_CACHE_KIB: u32 = 8000;

fn configure_writer(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA busy_timeout = 5000;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -{WRITER_CACHE_KIB};"
    ))?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(())
}

fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.execute_batch("PRAGMA busy_timeout = 5000; PRAGMA cache_size = -4000;")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// The schema versions a database lists as applied (none for a fresh one).
fn applied_versions(conn: &Connection) -> rusqlite::Result<Vec<i64>> {
    let listed: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')",
        [],
        |r| r.get(0),
    )?;
    if !listed {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare("SELECT version FROM schema_migrations ORDER BY version")?;
    let versions = stmt.query_map([], |r| r.get(0))?;
    versions.collect()
}

fn migrate(conn: &Connection) -> Result<(), String> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )
    .map_err(|e| e.to_string())?;
    let applied = applied_versions(conn).map_err(|e| e.to_string())?;
    for m in migrations::pending(migrations::SQLITE, &applied)? {
        let run = || -> rusqlite::Result<()> {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            let applied = conn.execute_batch(m.sql).and_then(|_| {
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, strftime('%s','now'))",
                    params![m.version, m.name],
                )
            });
            match applied {
                Ok(_) => conn.execute_batch("COMMIT"),
                Err(e) => {
                    conn.execute_batch("ROLLBACK")?;
                    Err(e)
                }
            }
        };
        run().map_err(|e| format!("migration {} ({}): {e}", m.version, m.name))?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
    }
    Ok(())
}

/// The migrations the SQLite database at `path` would run on opening, without
/// running them (all of them when it does not exist yet).
pub fn pending_migrations(path: &Path) -> Result<Vec<&'static migrations::Migration>, StoreError> {
    if !path.exists() {
        return migrations::pending(migrations::SQLITE, &[]).map_err(StoreError);
    }
    let conn = open_reader(path).map_err(|e| {
        backend_err(format!(
            "cannot open SQLite database {}: {e}",
            path.display()
        ))
    })?;
    let applied = applied_versions(&conn).map_err(backend_err)?;
    migrations::pending(migrations::SQLITE, &applied).map_err(StoreError)
}

impl SqliteStore {
    /// Opens (creating if missing) and migrates the database at `path`, and starts
    /// its writer thread.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let (tx, rx) = mpsc::channel::<Job>(QUEUE_DEPTH);
        let writer_path = path.clone();
        let (ready_tx, ready_rx) = oneshot::channel::<Result<(), StoreError>>();
        std::thread::Builder::new()
            .name("gerbang-sqlite-writer".into())
            .spawn(move || {
                let opened = (|| -> Result<Connection, String> {
                    let text = |e: rusqlite::Error| e.to_string();
                    let conn = Connection::open(&writer_path).map_err(text)?;
                    configure_writer(&conn).map_err(text)?;
                    migrate(&conn)?;
                    Ok(conn)
                })();
                match opened {
                    Ok(conn) => {
                        // Checkpoints run beside the writer, not inside its commits.
                        // `signal` outlives `conn`, which `writer_loop` drops.
                        let signal = Arc::new(checkpoint::Signal::default());
                        let checkpointer = checkpoint::start(&conn, &writer_path, &signal);
                        let _ = ready_tx.send(Ok(()));
                        writer::writer_loop(conn, rx, checkpointer.as_ref().map(|_| &*signal));
                        signal.stop();
                        if let Some(checkpointer) = checkpointer {
                            let _ = checkpointer.join();
                        }
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(backend_err(format!(
                            "cannot open SQLite database {}: {e}",
                            writer_path.display()
                        ))));
                    }
                }
            })
            .map_err(backend_err)?;
        ready_rx
            .await
            .map_err(|_| StoreError("SQLite writer did not start".into()))??;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                jobs: tx,
                readers: Mutex::new(Vec::new()),
                readers_kept: MAX_READERS
                    + std::thread::available_parallelism().map_or(4, |n| n.get()),
                reading: tokio::sync::Semaphore::new(MAX_READERS),
            }),
        })
    }

    /// Runs `f` on the writer thread inside the current batch's transaction; an
    /// `Err` undoes what `f` wrote. Answers only once the batch has committed. `f`
    /// may run more than once (after a rollback caused by another job) and must
    /// then do the same.
    async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnMut(&Connection) -> Result<T, E> + Send + 'static,
    {
        let (job, rx) = writer::job(f);
        self.inner
            .jobs
            .send(job)
            .await
            .map_err(|_| E::from(StoreError("SQLite writer stopped".into())))?;
        rx.await
            .map_err(|_| E::from(StoreError("SQLite writer dropped the job".into())))?
    }

    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let _permit = self
            .inner
            .reading
            .acquire()
            .await
            .map_err(|_| StoreError("the reader pool is closed".into()))?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || on_pooled_reader(&inner, f))
            .await
            .map_err(backend_err)?
    }

    /// A lookup by key, run right here on the caller's thread: it reads a handful
    /// of cached pages in microseconds, less than handing it to another thread and
    /// waking the caller again would cost. Longer reads go through [`Self::read`].
    fn lookup<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        on_pooled_reader(&self.inner, f)
    }
}

/// Runs `f` on a read-only connection from the pool (a new one if none is free),
/// then gives the connection back.
fn on_pooled_reader<T>(
    inner: &Inner,
    f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> Result<T, StoreError> {
    let popped = inner.readers.lock().expect("reader pool").pop();
    let conn = match popped {
        Some(conn) => conn,
        None => open_reader(&inner.path).map_err(backend_err)?,
    };
    let result = f(&conn).map_err(backend_err);
    let mut pool = inner.readers.lock().expect("reader pool");
    if pool.len() < inner.readers_kept {
        pool.push(conn);
    }
    result
}

// ---------------------------------------------------------------------------------
// Applying a step inside the writer's transaction.

fn claim_key(conn: &Connection, now: Timestamp, idem: &NewIdempotency) -> Result<(), StepError> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO idempotency (scope, key, fingerprint, response, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (scope, key) DO NOTHING",
        )
        .map_err(sql_err)?
        .execute(params![
            idem.scope,
            idem.key,
            idem.fingerprint,
            idem.response,
            now.as_micros()
        ])
        .map_err(sql_err)?;
    if inserted == 1 {
        return Ok(());
    }
    let existing = idempotency_row(conn, &idem.scope, &idem.key)
        .map_err(sql_err)?
        .ok_or_else(|| StepError::Backend("idempotency row vanished".into()))?;
    Err(StepError::Duplicate(existing))
}

fn idempotency_row(
    conn: &Connection,
    scope: &str,
    key: &str,
) -> rusqlite::Result<Option<IdempotencyRecord>> {
    conn.prepare_cached(
        "SELECT scope, key, fingerprint, response, created_at FROM idempotency
         WHERE scope = ?1 AND key = ?2",
    )?
    .query_row([scope, key], |r| {
        Ok(IdempotencyRecord {
            scope: r.get(0)?,
            key: r.get(1)?,
            fingerprint: r.get(2)?,
            response: r.get(3)?,
            created_at: Timestamp::from_micros(r.get(4)?),
        })
    })
    .optional()
}

/// Writes a record as `w.expect` allows; answers its new version. Plain statements
/// with `changes()` rather than `RETURNING`: SQLite runs a RETURNING statement
/// with a statement journal and a temporary table, several times the work of the
/// write itself.
fn write_record(conn: &Connection, now: Timestamp, w: &RecordWrite) -> Result<i64, StepError> {
    let data = w.data.as_str();
    let conflict = || StepError::RecordConflict {
        kind: w.kind.clone(),
        key: w.key.clone(),
    };
    match w.expect {
        Expect::Absent => {
            let inserted = conn
                .prepare_cached(
                    "INSERT INTO records (kind, key, owner, state, version, data, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?6) ON CONFLICT (kind, key) DO NOTHING",
                )
                .and_then(|mut s| {
                    s.execute(params![w.kind, w.key, w.owner, w.state, data, now.as_micros()])
                })
                .map_err(sql_err)?;
            if inserted == 1 {
                Ok(1)
            } else {
                Err(conflict())
            }
        }
        Expect::Version(v) => {
            // The owner is set only when it changes: naming it in SET at all would
            // rewrite the record's entry in the by-owner index. Most writes keep it,
            // so the first statement also asks for it unchanged.
            let kept = conn
                .prepare_cached(
                    "UPDATE records SET state = ?3, data = ?4, version = version + 1, updated_at = ?5
                     WHERE kind = ?1 AND key = ?2 AND version = ?6 AND owner = ?7",
                )
                .and_then(|mut s| {
                    s.execute(params![w.kind, w.key, w.state, data, now.as_micros(), v, w.owner])
                })
                .map_err(sql_err)?;
            if kept == 1 {
                return Ok(v + 1);
            }
            let moved = conn
                .prepare_cached(
                    "UPDATE records SET owner = ?7, state = ?3, data = ?4, version = version + 1,
                       updated_at = ?5
                     WHERE kind = ?1 AND key = ?2 AND version = ?6",
                )
                .and_then(|mut s| {
                    s.execute(params![w.kind, w.key, w.state, data, now.as_micros(), v, w.owner])
                })
                .map_err(sql_err)?;
            if moved != 1 {
                return Err(conflict());
            }
            Ok(v + 1)
        }
        Expect::Any => conn
            .prepare_cached(
                "INSERT INTO records (kind, key, owner, state, version, data, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?6)
                 ON CONFLICT (kind, key) DO UPDATE SET owner = excluded.owner,
                   state = excluded.state, data = excluded.data, version = records.version + 1,
                   updated_at = excluded.updated_at
                 RETURNING version",
            )
            .and_then(|mut s| {
                s.query_row(
                    params![w.kind, w.key, w.owner, w.state, data, now.as_micros()],
                    |r| r.get(0),
                )
            })
            .map_err(sql_err),
    }
}

fn enqueue(conn: &Connection, now: Timestamp, n: &NewNotification) -> Result<i64, StepError> {
    conn.prepare_cached(
        "INSERT INTO notifications (protocol, owner, source, url, body, status, next_attempt_at, created_at, request_id)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6, ?7)",
    )
    .and_then(|mut s| s.execute(params![n.protocol, n.owner, n.source, n.url, n.body, now.as_micros(), n.request_id]))
    .map_err(sql_err)?;
    Ok(conn.last_insert_rowid())
}

/// Schedules (or reschedules) the timer `t.key`.
fn schedule_timer(conn: &Connection, now: Timestamp, t: &NewTimer) -> Result<(), StepError> {
    conn.prepare_cached(
        "INSERT INTO timers (key, kind, due_at, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at,
           payload = excluded.payload, attempts = 0, lease_until = NULL",
    )
    .map_err(sql_err)?
    .execute(params![
        t.key,
        t.kind,
        t.due_at.as_micros(),
        t.payload.as_str(),
        now.as_micros()
    ])
    .map_err(sql_err)?;
    Ok(())
}

fn apply_step(conn: &Connection, now: Timestamp, step: &Step) -> Result<StepOutcome, StepError> {
    let mut outcome = StepOutcome::default();
    if let Some(idem) = &step.idempotency {
        claim_key(conn, now, idem)?;
    }
    for account in &step.accounts {
        ledger::open_account(conn, now, account)?;
    }
    for op in &step.ledger {
        match op {
            LedgerOp::Transfer(entry) => outcome
                .entry_ids
                .push(ledger::post_entry(conn, now, entry)?),
            LedgerOp::Hold(hold) => ledger::place_hold(conn, now, hold)?,
            LedgerOp::Post(post) => outcome
                .entry_ids
                .push(ledger::settle_hold(conn, now, post)?),
            LedgerOp::Void { key } => ledger::release_hold(conn, now, key, HoldState::Voided)?,
            LedgerOp::Expire { key } => ledger::release_hold(conn, now, key, HoldState::Expired)?,
        }
    }
    for record in &step.records {
        outcome
            .record_versions
            .push(write_record(conn, now, record)?);
    }
    for n in &step.notifications {
        outcome.notification_ids.push(enqueue(conn, now, n)?);
    }
    for op in &step.timers {
        match op {
            TimerOp::Schedule(t) => schedule_timer(conn, now, t)?,
            TimerOp::Remove(key) => {
                conn.prepare_cached("DELETE FROM timers WHERE key = ?1")
                    .map_err(sql_err)?
                    .execute([key])
                    .map_err(sql_err)?;
            }
        }
    }
    Ok(outcome)
}

// ---------------------------------------------------------------------------------
// Row mapping.

fn record_row(r: &Row<'_>) -> rusqlite::Result<Record> {
    let data: String = r.get(5)?;
    Ok(Record {
        kind: r.get(0)?,
        key: r.get(1)?,
        owner: r.get(2)?,
        state: r.get(3)?,
        version: r.get(4)?,
        data: Document::from_stored(data),
        created_at: Timestamp::from_micros(r.get(6)?),
        updated_at: Timestamp::from_micros(r.get(7)?),
    })
}

/// The columns `record_row` reads, in its order.
macro_rules! record_columns {
    () => {
        "kind, key, owner, state, version, data, created_at, updated_at"
    };
}
const RECORD_COLUMNS: &str = record_columns!();
const RECORD_BY_KEY: &str = concat!(
    "SELECT ",
    record_columns!(),
    " FROM records WHERE kind = ?1 AND key = ?2"
);

const NOTIFICATION_COLUMNS: &str = "id, protocol, owner, source, url, body, status, attempts, \
     next_attempt_at, created_at, delivered_at, request_id";

fn notification_row(r: &Row<'_>) -> rusqlite::Result<Notification> {
    let status: String = r.get(6)?;
    Ok(Notification {
        id: r.get(0)?,
        protocol: r.get(1)?,
        owner: r.get(2)?,
        source: r.get(3)?,
        url: r.get(4)?,
        body: r.get(5)?,
        status: NotificationStatus::parse(&status).unwrap_or(NotificationStatus::Pending),
        attempts: r.get(7)?,
        next_attempt_at: Timestamp::from_micros(r.get(8)?),
        created_at: Timestamp::from_micros(r.get(9)?),
        delivered_at: r.get::<_, Option<i64>>(10)?.map(Timestamp::from_micros),
        request_id: r.get(11)?,
    })
}

fn timer_row(r: &Row<'_>) -> rusqlite::Result<Timer> {
    let payload: String = r.get(3)?;
    Ok(Timer {
        key: r.get(0)?,
        kind: r.get(1)?,
        due_at: Timestamp::from_micros(r.get(2)?),
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        attempts: r.get(4)?,
    })
}

fn account_row(r: &Row<'_>) -> rusqlite::Result<Account> {
    let kind: String = r.get(2)?;
    let currency: String = r.get(3)?;
    Ok(Account {
        id: r.get(0)?,
        code: r.get(1)?,
        kind: AccountKind::parse(&kind).unwrap_or(AccountKind::ChannelClearing),
        currency: Currency::parse(&currency).unwrap_or(Currency::Idr),
        balance: r.get(4)?,
        pending: r.get(5)?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn commit(&self, now: Timestamp, step: Step) -> Result<StepOutcome, StepError> {
        self.write(move |conn| apply_step(conn, now, &step)).await
    }

    async fn idempotency(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.lookup(|conn| idempotency_row(conn, scope, key))
    }

    async fn record(&self, kind: &str, key: &str) -> Result<Option<Record>, StoreError> {
        self.lookup(|conn| {
            conn.prepare_cached(RECORD_BY_KEY)?
                .query_row([kind, key], record_row)
                .optional()
        })
    }

    async fn records(
        &self,
        kind: &str,
        owner: Option<&str>,
        after_key: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Record>, StoreError> {
        let (kind, owner) = (kind.to_string(), owner.map(str::to_string));
        let after = after_key.map(str::to_string);
        let limit = clamp_limit(limit);
        self.read(move |conn| {
            // The unique (kind, key) index serves the order and the seek.
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {RECORD_COLUMNS} FROM records
                 WHERE kind = ?1 AND (?2 IS NULL OR owner = ?2) AND (?3 IS NULL OR key > ?3)
                 ORDER BY key LIMIT ?4"
            ))?;
            let rows = stmt.query_map(params![kind, owner, after, limit], record_row)?;
            rows.collect()
        })
        .await
    }

    async fn account(&self, code: &str) -> Result<Option<Account>, StoreError> {
        self.lookup(|conn| {
            conn.prepare_cached(
                "SELECT id, code, kind, currency, balance, pending FROM accounts WHERE code = ?1",
            )?
            .query_row([code], account_row)
            .optional()
        })
    }

    async fn records_in_state(
        &self,
        kind: &str,
        state: IndexedState,
        owner: Option<&str>,
        after_key: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Record>, StoreError> {
        let (kind, owner) = (kind.to_string(), owner.map(str::to_string));
        let after = after_key.map(str::to_string);
        let limit = clamp_limit(limit);
        let state = state.sql_literal();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {RECORD_COLUMNS} FROM records
                 WHERE kind = ?1 AND state = {state} AND (?2 IS NULL OR owner = ?2)
                   AND (?3 IS NULL OR key > ?3)
                 ORDER BY key LIMIT ?4"
            ))?;
            let rows = stmt.query_map(params![kind, owner, after, limit], record_row)?;
            rows.collect()
        })
        .await
    }

    async fn records_by_time(&self, q: RecordsByTime) -> Result<Vec<Record>, StoreError> {
        let limit = clamp_limit(q.limit);
        // No position yet: everything before `until`, whatever its key.
        let (before_at, before_key) = q
            .before
            .map_or((q.until, String::new()), |(at, key)| (at.min(q.until), key));
        self.read(move |conn| {
            // One statement per shape, so that each names its index's columns
            // literally: (kind, owner, created_at) or (kind, created_at).
            let owner_clause = owner_clause(&q.owner);
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {RECORD_COLUMNS} FROM records
                 WHERE kind = ?1 AND {owner_clause} AND created_at >= ?3
                   AND created_at <= ?4 AND (created_at < ?4 OR key < ?5) AND created_at < ?7
                 ORDER BY created_at DESC, key DESC LIMIT ?6"
            ))?;
            let rows = stmt.query_map(
                params![
                    q.kind,
                    q.owner,
                    q.from.as_micros(),
                    before_at.as_micros(),
                    before_key,
                    limit,
                    q.until.as_micros()
                ],
                record_row,
            )?;
            rows.collect()
        })
        .await
    }

    async fn record_totals(&self, q: RecordTotals) -> Result<Vec<TotalsRow>, StoreError> {
        let [p1, p2, p3] = crate::three_paths(&q.group_paths);
        self.read(move |conn| {
            let owner_clause = owner_clause(&q.owner);
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT (created_at / 1000000 + ?5) / 86400 AS day,
                        coalesce(json_extract(data, ?6), json_extract(data, ?7),
                                 json_extract(data, ?8), '') AS grp,
                        state, count(*), coalesce(sum(json_extract(data, ?9)), 0)
                 FROM records
                 WHERE kind = ?1 AND {owner_clause} AND created_at >= ?3 AND created_at < ?4
                   AND (?10 IS NULL OR json_extract(data, ?10) = ?11)
                 GROUP BY day, grp, state ORDER BY day, grp, state"
            ))?;
            let rows = stmt.query_map(
                params![
                    q.kind,
                    q.owner,
                    q.from.as_micros(),
                    q.until.as_micros(),
                    q.day_offset_seconds,
                    p1,
                    p2,
                    p3,
                    q.amount_path,
                    q.matching.as_ref().map(|(path, _)| path.clone()),
                    q.matching.as_ref().map(|(_, value)| value.clone())
                ],
                |r| {
                    Ok(TotalsRow {
                        day: r.get(0)?,
                        group: r.get(1)?,
                        state: r.get(2)?,
                        count: r.get(3)?,
                        amount: r.get(4)?,
                    })
                },
            )?;
            rows.collect()
        })
        .await
    }

    async fn entries(&self, reference: &str, limit: u32) -> Result<Vec<JournalEntry>, StoreError> {
        let reference = reference.to_string();
        let limit = clamp_limit(limit);
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, kind, reference, description, currency, created_at FROM entries
                 WHERE reference = ?1 ORDER BY id LIMIT ?2",
            )?;
            let mut entries = stmt
                .query_map(params![reference, limit], |r| {
                    let currency: String = r.get(4)?;
                    Ok(JournalEntry {
                        id: r.get(0)?,
                        kind: r.get(1)?,
                        reference: r.get(2)?,
                        description: r.get(3)?,
                        currency: Currency::parse(&currency).unwrap_or(Currency::Idr),
                        created_at: Timestamp::from_micros(r.get(5)?),
                        postings: Vec::new(),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut legs = conn.prepare_cached(
                "SELECT a.code, p.amount FROM postings p JOIN accounts a ON a.id = p.account_id
                 WHERE p.entry_id = ?1 ORDER BY p.id",
            )?;
            for e in &mut entries {
                e.postings = legs
                    .query_map([e.id], |r| {
                        Ok(crate::EntryPosting {
                            account: r.get(0)?,
                            amount: r.get(1)?,
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
            }
            Ok(entries)
        })
        .await
    }

    async fn accounts(
        &self,
        after_code: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Account>, StoreError> {
        let after = after_code.map(str::to_string);
        let limit = clamp_limit(limit);
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, code, kind, currency, balance, pending FROM accounts
                 WHERE (?1 IS NULL OR code > ?1) ORDER BY code LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![after, limit], account_row)?;
            rows.collect()
        })
        .await
    }

    async fn hold(&self, key: &str) -> Result<Option<Hold>, StoreError> {
        self.lookup(|conn| {
            conn.prepare_cached(
                "SELECT h.key, a.code, h.amount, h.currency, h.state, h.expires_at, h.created_at, h.ended_at
                 FROM holds h JOIN accounts a ON a.id = h.account_id WHERE h.key = ?1",
            )?
            .query_row([key], |r| {
                let currency: String = r.get(3)?;
                let state: String = r.get(4)?;
                Ok(Hold {
                    key: r.get(0)?,
                    account: r.get(1)?,
                    amount: r.get(2)?,
                    currency: Currency::parse(&currency).unwrap_or(Currency::Idr),
                    state: HoldState::parse(&state).unwrap_or(HoldState::Pending),
                    expires_at: r.get::<_, Option<i64>>(5)?.map(Timestamp::from_micros),
                    created_at: Timestamp::from_micros(r.get(6)?),
                    ended_at: r.get::<_, Option<i64>>(7)?.map(Timestamp::from_micros),
                })
            })
            .optional()
        })
    }

    async fn statement(&self, q: StatementQuery) -> Result<Vec<StatementLine>, StoreError> {
        let limit = clamp_limit(q.limit);
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT p.id, p.entry_id, p.created_at, p.amount, p.balance_after,
                        e.kind, e.reference, e.description
                 FROM postings p
                 JOIN accounts a ON a.id = p.account_id
                 JOIN entries e ON e.id = p.entry_id
                 WHERE a.code = ?1 AND p.created_at >= ?2 AND p.created_at < ?3 AND p.id > ?4
                 ORDER BY p.id LIMIT ?5",
            )?;
            let rows = stmt.query_map(
                params![
                    q.account,
                    q.from.as_micros(),
                    q.to.as_micros(),
                    q.after_posting_id,
                    limit
                ],
                |r| {
                    Ok(StatementLine {
                        posting_id: r.get(0)?,
                        entry_id: r.get(1)?,
                        at: Timestamp::from_micros(r.get(2)?),
                        amount: r.get(3)?,
                        balance_after: r.get(4)?,
                        kind: r.get(5)?,
                        reference: r.get(6)?,
                        description: r.get(7)?,
                    })
                },
            )?;
            rows.collect()
        })
        .await
    }

    async fn claim_notifications(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Notification>, StoreError> {
        let limit = clamp_limit(limit);
        self.write(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "UPDATE notifications SET lease_until = ?2 WHERE id IN (
                         SELECT id FROM notifications n
                         WHERE status = 'pending' AND next_attempt_at <= ?1
                           AND (lease_until IS NULL OR lease_until <= ?1)
                           AND NOT EXISTS (
                               SELECT 1 FROM notifications e
                               WHERE e.source = n.source AND e.id < n.id
                                 AND e.status = 'pending')
                         ORDER BY next_attempt_at, id LIMIT ?3)
                     RETURNING {NOTIFICATION_COLUMNS}"
                ))
                .map_err(backend_err)?;
            let rows = stmt
                .query_map(
                    params![now.as_micros(), lease_until.as_micros(), limit],
                    notification_row,
                )
                .map_err(backend_err)?;
            let mut claimed = rows
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(backend_err)?;
            claimed.sort_by_key(|n| (n.next_attempt_at, n.id));
            Ok(claimed)
        })
        .await
    }

    async fn record_attempt(
        &self,
        attempt: Attempt,
        verdict: AttemptVerdict,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO notification_attempts
                   (notification_id, attempt_no, at, http_status, latency_ms, excerpt)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (notification_id, attempt_no) DO NOTHING",
            )
            .and_then(|mut s| {
                s.execute(params![
                    attempt.notification_id,
                    attempt.attempt_no,
                    attempt.at.as_micros(),
                    attempt.http_status,
                    attempt.latency_ms,
                    attempt.excerpt
                ])
            })
            .map_err(backend_err)?;
            let (status, next, delivered) = match verdict {
                AttemptVerdict::Delivered => ("delivered", None, Some(attempt.at.as_micros())),
                AttemptVerdict::RetryAt(at) => ("pending", Some(at.as_micros()), None),
                AttemptVerdict::GiveUp => ("failed", None, None),
            };
            conn.prepare_cached(
                "UPDATE notifications SET status = ?2, attempts = MAX(attempts, ?3),
                   next_attempt_at = COALESCE(?4, next_attempt_at),
                   delivered_at = COALESCE(?5, delivered_at), lease_until = NULL
                 WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.execute(params![
                    attempt.notification_id,
                    status,
                    attempt.attempt_no,
                    next,
                    delivered
                ])
            })
            .map_err(backend_err)?;
            Ok(())
        })
        .await
    }

    async fn notification(&self, id: i64) -> Result<Option<Notification>, StoreError> {
        self.lookup(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = ?1"
            ))?
            .query_row([id], notification_row)
            .optional()
        })
    }

    async fn notifications(&self, q: NotificationQuery) -> Result<Vec<Notification>, StoreError> {
        let limit = clamp_limit(q.limit);
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications
                 WHERE (?1 IS NULL OR owner = ?1) AND (?2 IS NULL OR source = ?2)
                   AND (?3 IS NULL OR status = ?3) AND (?4 IS NULL OR id < ?4)
                 ORDER BY id DESC LIMIT ?5"
            ))?;
            let rows = stmt.query_map(
                params![
                    q.owner,
                    q.source,
                    q.status.map(NotificationStatus::as_str),
                    q.before_id,
                    limit
                ],
                notification_row,
            )?;
            rows.collect()
        })
        .await
    }

    async fn attempts(&self, notification_id: i64) -> Result<Vec<Attempt>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT notification_id, attempt_no, at, http_status, latency_ms, excerpt
                 FROM notification_attempts WHERE notification_id = ?1 ORDER BY attempt_no",
            )?;
            let rows = stmt.query_map([notification_id], |r| {
                Ok(Attempt {
                    notification_id: r.get(0)?,
                    attempt_no: r.get(1)?,
                    at: Timestamp::from_micros(r.get(2)?),
                    http_status: r.get(3)?,
                    latency_ms: r.get(4)?,
                    excerpt: r.get(5)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    async fn resend_notification(&self, id: i64, now: Timestamp) -> Result<bool, StoreError> {
        self.write(move |conn| {
            conn.prepare_cached(
                "UPDATE notifications SET status = 'pending', next_attempt_at = ?2, lease_until = NULL
                 WHERE id = ?1",
            )
            .and_then(|mut s| s.execute(params![id, now.as_micros()]))
            .map(|n| n == 1)
            .map_err(backend_err)
        })
        .await
    }

    async fn claim_timers(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Timer>, StoreError> {
        let limit = clamp_limit(limit);
        self.write(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "UPDATE timers SET lease_until = ?2 WHERE key IN (
                         SELECT key FROM timers WHERE due_at <= ?1
                           AND (lease_until IS NULL OR lease_until <= ?1)
                         ORDER BY due_at LIMIT ?3)
                     RETURNING key, kind, due_at, payload, attempts",
                )
                .map_err(backend_err)?;
            let rows = stmt
                .query_map(
                    params![now.as_micros(), lease_until.as_micros(), limit],
                    timer_row,
                )
                .map_err(backend_err)?;
            let mut timers = rows
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(backend_err)?;
            timers.sort_by(|a, b| a.due_at.cmp(&b.due_at).then(a.key.cmp(&b.key)));
            Ok(timers)
        })
        .await
    }

    async fn retry_timer(
        &self,
        key: &str,
        retry_at: Timestamp,
        leased_until: Timestamp,
    ) -> Result<(), StoreError> {
        let key = key.to_string();
        self.write(move |conn| {
            conn.prepare_cached(
                "UPDATE timers SET due_at = ?2, attempts = attempts + 1, lease_until = NULL
                 WHERE key = ?1 AND lease_until = ?3",
            )
            .and_then(|mut s| {
                s.execute(params![key, retry_at.as_micros(), leased_until.as_micros()])
            })
            .map(|_| ())
            .map_err(backend_err)
        })
        .await
    }

    async fn check_ledger(&self) -> Result<LedgerReport, StoreError> {
        self.read(ledger_report).await
    }

    async fn release_leases(&self) -> Result<(), StoreError> {
        self.write(|conn| {
            conn.execute_batch(
                "UPDATE notifications SET lease_until = NULL WHERE lease_until IS NOT NULL;
                 UPDATE timers SET lease_until = NULL WHERE lease_until IS NOT NULL;",
            )
            .map_err(backend_err)
        })
        .await
    }

    async fn backlog(&self, now: Timestamp) -> Result<Backlog, StoreError> {
        self.read(move |conn| {
            let now = now.as_micros();
            let pending: i64 = conn.query_row(
                "SELECT COUNT(*) FROM notifications WHERE status = 'pending'",
                [],
                |r| r.get(0),
            )?;
            let (due, oldest): (i64, Option<i64>) = conn.query_row(
                "SELECT COUNT(*), MIN(next_attempt_at) FROM notifications
                 WHERE status = 'pending' AND next_attempt_at <= ?1",
                [now],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let (timers, oldest_timer): (i64, Option<i64>) = conn.query_row(
                "SELECT COUNT(*), MIN(due_at) FROM timers WHERE due_at <= ?1",
                [now],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok(Backlog {
                notifications_pending: pending,
                notifications_due: due,
                oldest_due_notification: oldest.map(Timestamp::from_micros),
                timers_due: timers,
                oldest_due_timer: oldest_timer.map(Timestamp::from_micros),
            })
        })
        .await
    }
}

/// The ledger invariants over everything `conn` sees.
fn ledger_report(conn: &Connection) -> rusqlite::Result<LedgerReport> {
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
    let mut report = LedgerReport {
        accounts: count("SELECT COUNT(*) FROM accounts")?,
        entries: count("SELECT COUNT(*) FROM entries")?,
        postings: count("SELECT COUNT(*) FROM postings")?,
        holds_pending: count("SELECT COUNT(*) FROM holds WHERE state = 'pending'")?,
        problems: Vec::new(),
    };
    let total: i64 = count("SELECT COALESCE(SUM(amount), 0) FROM postings")?;
    if total != 0 {
        report.problems.push(ledger_problem::postings_total(total));
    }
    let mut push_rows = |sql: &str,
                         describe: &dyn Fn(&Row<'_>) -> rusqlite::Result<String>|
     -> rusqlite::Result<()> {
        let mut stmt = conn.prepare(sql)?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            report.problems.push(describe(row)?);
        }
        Ok(())
    };
    push_rows(
        "SELECT e.id, COALESCE(SUM(p.amount), 0), COUNT(p.id) FROM entries e
         LEFT JOIN postings p ON p.entry_id = e.id GROUP BY e.id
         HAVING COALESCE(SUM(p.amount), 0) != 0 OR COUNT(p.id) < 2",
        &|r| {
            Ok(ledger_problem::unbalanced_entry(
                r.get(0)?,
                r.get(2)?,
                r.get(1)?,
            ))
        },
    )?;
    push_rows(
        "SELECT a.code, a.balance, COALESCE((SELECT SUM(amount) FROM postings p WHERE p.account_id = a.id), 0) AS s
         FROM accounts a WHERE a.balance != COALESCE((SELECT SUM(amount) FROM postings p WHERE p.account_id = a.id), 0)",
        &|r| Ok(ledger_problem::balance_mismatch(&r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)),
    )?;
    push_rows(
        "SELECT a.code, a.pending, COALESCE((SELECT SUM(amount) FROM holds h WHERE h.account_id = a.id AND h.state = 'pending'), 0)
         FROM accounts a WHERE a.pending != COALESCE((SELECT SUM(amount) FROM holds h WHERE h.account_id = a.id AND h.state = 'pending'), 0)",
        &|r| Ok(ledger_problem::pending_mismatch(&r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)),
    )?;
    push_rows(
        "SELECT code, balance, pending FROM accounts
         WHERE NOT may_go_negative AND balance - pending < 0",
        &|r| {
            Ok(ledger_problem::overdrawn(
                &r.get::<_, String>(0)?,
                r.get(1)?,
                r.get(2)?,
            ))
        },
    )?;
    Ok(report)
}

/// The condition on the owner parameter (?2): equal to it when one is given,
/// otherwise none — a statement of its own each, so that the planner sees which
/// index serves it.
fn owner_clause(owner: &Option<String>) -> &'static str {
    if owner.is_some() {
        "owner = ?2"
    } else {
        "?2 IS NULL"
    }
}
