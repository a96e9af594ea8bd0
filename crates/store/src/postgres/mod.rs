//! The PostgreSQL store: several gerbang processes may share one database.
//!
//! Steps are committed in groups (see `committer.rs`): a few committer tasks, each on
//! a connection of its own, run every step waiting in one READ COMMITTED
//! transaction, each step inside a savepoint, and commit once. How a step keeps the
//! ledger rules under concurrency is told in `step.rs`.
//!
//! Reads, and the writes that are not steps (claims, attempts, timer retries), run
//! on a pool of connections, each write in a transaction of its own; one that loses
//! a serialization conflict or a deadlock is run again from the start, a few times,
//! after a short random pause. Notification and timer claims skip rows another
//! process is claiming at the same moment (`FOR UPDATE SKIP LOCKED`). Leases are
//! never released on connect: other processes may hold them.

mod bulk;
mod committer;
mod pipeline;
mod step;

pub use committer::{COMMITTERS_VAR, DEFAULT_COMMITTERS, MAX_BATCH};

use crate::{
    clamp_limit, ledger_problem, migrations, redact_url, Account, Attempt, AttemptVerdict, Backlog,
    Document, EntryPosting, Hold, IdempotencyRecord, IndexedState, JournalEntry, LedgerReport,
    Notification, NotificationQuery, NotificationStatus, Record, RecordTotals, RecordsByTime,
    StatementLine, StatementQuery, Step, StepError, StepOutcome, Store, StoreError, Timer,
    TotalsRow,
};
use async_trait::async_trait;
use committer::Committers;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Transaction};
use gerbang_core::ledger::{AccountKind, HoldState, LedgerError};
use gerbang_core::{Currency, Timestamp};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use step::{idempotency_row, prepare, IDEMPOTENCY_SELECT};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, NoTls, Row};

/// Connections kept by default; `GERBANG_PG_POOL_SIZE` overrides it.
pub const DEFAULT_POOL_SIZE: usize = 16;
/// The environment variable that sets the pool size.
pub const POOL_SIZE_VAR: &str = "GERBANG_PG_POOL_SIZE";
/// How often a transaction (or a batch of steps) runs before a serialization
/// failure or deadlock is reported to the caller.
const MAX_TRIES: u32 = 8;
/// How often a row that a concurrent transaction just committed is looked for
/// before the whole transaction starts again.
const VISIBILITY_TRIES: u64 = 20;
/// The advisory lock every process takes while it migrates ("gerbang" in ASCII).
const MIGRATION_LOCK: i64 = 0x0067_6572_6261_6e67;
/// How long opening a new connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// For reads and for the writes that are not steps.
    pool: Pool,
    committers: Committers,
    /// The password of the URL, hidden from every message that leaves the store.
    password: Option<String>,
}

/// Why a transaction (or a step of a batch) did not commit.
enum Fail {
    /// The step breaks a rule: report it, change nothing.
    Step(StepError),
    Db(tokio_postgres::Error),
    /// A row a concurrent transaction committed is not visible yet: start over.
    NotVisible,
    /// The connection broke before the transaction's COMMIT went out: nothing of
    /// it is stored, so it runs again on another connection.
    Cut,
    /// A batch written as rows of each kind together met a row another
    /// transaction wrote since the batch read it: it runs again step by step.
    Rewrite,
    /// Already described (a pool failure).
    Other(String),
}

impl Fail {
    fn retryable(&self) -> bool {
        match self {
            Fail::Db(e) => e.code().is_some_and(|code| {
                *code == SqlState::T_R_SERIALIZATION_FAILURE
                    || *code == SqlState::T_R_DEADLOCK_DETECTED
            }),
            Fail::NotVisible | Fail::Cut => true,
            Fail::Step(_) | Fail::Rewrite | Fail::Other(_) => false,
        }
    }
}

impl From<tokio_postgres::Error> for Fail {
    fn from(e: tokio_postgres::Error) -> Self {
        Fail::Db(e)
    }
}

impl From<StepError> for Fail {
    fn from(e: StepError) -> Self {
        Fail::Step(e)
    }
}

impl From<LedgerError> for Fail {
    fn from(e: LedgerError) -> Self {
        Fail::Step(StepError::Ledger(e))
    }
}

type TxFuture<'t, T> = Pin<Box<dyn Future<Output = Result<T, Fail>> + Send + 't>>;

/// The text of a database error: its SQLSTATE, message and detail when the server
/// sent one.
fn pg_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = format!(
                "PostgreSQL {} {}: {}",
                db.severity(),
                db.code().code(),
                db.message()
            );
            if let Some(detail) = db.detail() {
                text.push_str(&format!(" ({detail})"));
            }
            text
        }
        None => {
            let mut text = format!("PostgreSQL: {e}");
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                let more = c.to_string();
                if !text.ends_with(&more) {
                    text.push_str(": ");
                    text.push_str(&more);
                }
                cause = c.source();
            }
            text
        }
    }
}

fn hide(password: Option<&str>, text: String) -> String {
    match password {
        Some(p) if !p.is_empty() && text.contains(p) => text.replace(p, "***"),
        _ => text,
    }
}

/// The positive number the environment variable `var` sets, or `default` when it
/// is not set; `what` names what the number counts, for the error.
fn positive_env(var: &str, default: usize, what: &str) -> Result<usize, StoreError> {
    match std::env::var(var) {
        Err(_) => Ok(default),
        Ok(text) => match text.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(StoreError(format!(
                "{var} must be a positive number of {what}, not {text:?}"
            ))),
        },
    }
}

/// What went wrong, with the password hidden.
fn describe(password: Option<&str>, fail: Fail) -> String {
    match fail {
        Fail::Step(e) => hide(password, e.to_string()),
        Fail::Db(e) => hide(password, pg_text(&e)),
        Fail::NotVisible => {
            "a row committed by a concurrent transaction did not become visible".into()
        }
        Fail::Cut => "the connection to PostgreSQL broke before the commit".into(),
        Fail::Rewrite => "a row changed under a batch written as a whole".into(),
        Fail::Other(text) => hide(password, text),
    }
}

/// What the caller of a step that failed learns, with the password hidden.
fn step_error(password: Option<&str>, fail: Fail) -> StepError {
    match fail {
        Fail::Step(StepError::Backend(text)) => StepError::Backend(hide(password, text)),
        Fail::Step(e) => e,
        other => StepError::Backend(describe(password, other)),
    }
}

async fn pool_client(pool: &Pool) -> Result<deadpool_postgres::Client, Fail> {
    pool.get().await.map_err(|e| match e {
        deadpool_postgres::PoolError::Backend(e) => Fail::Db(e),
        other => Fail::Other(format!("cannot get a PostgreSQL connection: {other}")),
    })
}

/// A short random pause before try number `tries + 1`, growing with `tries`.
async fn backoff(tries: u32) {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(tries);
    let ceiling_ms = 2u64 << tries.min(6);
    let pause = 1 + hasher.finish() % ceiling_ms;
    tokio::time::sleep(Duration::from_millis(pause)).await;
}

/// Runs `attempt` until it commits or fails for good: after a serialization failure
/// or a deadlock it runs again, after a [`backoff`], up to [`MAX_TRIES`] times in all.
/// `conflicted` logs each conflict, given the tries so far.
async fn retrying<T, Run>(
    mut attempt: impl FnMut() -> Run,
    conflicted: impl Fn(u32),
) -> Result<T, Fail>
where
    Run: Future<Output = Result<T, Fail>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt().await {
            Err(fail) if fail.retryable() && tries < MAX_TRIES => {
                conflicted(tries);
                backoff(tries).await;
            }
            done => return done,
        }
    }
}

/// Applies the migrations that `schema_migrations` does not list yet, on a
/// connection of its own that holds an advisory lock meanwhile, so processes that
/// start together migrate one after the other. Closing the connection frees the
/// lock whatever happens.
async fn migrate(config: &tokio_postgres::Config, shown: &str) -> Result<(), String> {
    let (mut client, connection) = config.connect(NoTls).await.map_err(|e| {
        format!(
            "cannot connect to PostgreSQL database {shown}: {}",
            pg_text(&e)
        )
    })?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let migrated = async {
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                     version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
            )
            .await?;
        let applied: Vec<i64> = client
            .query(
                "SELECT version FROM schema_migrations ORDER BY version",
                &[],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let pending = match migrations::pending(migrations::POSTGRES, &applied) {
            Ok(pending) => pending,
            Err(newer) => {
                client
                    .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
                    .await?;
                return Ok(Err(newer));
            }
        };
        for m in pending {
            let tx = client.transaction().await?;
            tx.batch_execute(m.sql).await?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at)
                 VALUES ($1, $2, EXTRACT(EPOCH FROM now())::bigint)",
                &[&m.version, &m.name],
            )
            .await?;
            tx.commit().await?;
            tracing::info!(version = m.version, name = m.name, "applied migration");
        }
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await?;
        Ok(Ok(()))
    }
    .await;
    drop(client);
    let _ = driver.await;
    migrated
        .map_err(|e: tokio_postgres::Error| {
            format!(
                "cannot migrate PostgreSQL database {shown}: {}",
                pg_text(&e)
            )
        })
        .and_then(|newer| newer)
}

/// The migrations the PostgreSQL database `url` names would run on connecting,
/// without running them.
pub async fn pending_migrations(
    url: &str,
) -> Result<Vec<&'static migrations::Migration>, StoreError> {
    let shown = redact_url(url);
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| StoreError(format!("invalid PostgreSQL URL {shown}: {e}")))?;
    let failed = |e: tokio_postgres::Error| {
        StoreError(format!(
            "cannot read the schema of PostgreSQL database {shown}: {}",
            pg_text(&e)
        ))
    };
    let (client, connection) = config.connect(NoTls).await.map_err(failed)?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let applied = async {
        let listed: bool = client
            .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
            .await?
            .get(0);
        if !listed {
            return Ok(Vec::new());
        }
        Ok(client
            .query(
                "SELECT version FROM schema_migrations ORDER BY version",
                &[],
            )
            .await?
            .iter()
            .map(|r| r.get::<_, i64>(0))
            .collect::<Vec<i64>>())
    }
    .await
    .map_err(failed);
    drop(client);
    let _ = driver.await;
    migrations::pending(migrations::POSTGRES, &applied?).map_err(StoreError)
}

impl PostgresStore {
    /// Connects to the database `url` names, migrates it, keeps a pool of up to
    /// `GERBANG_PG_POOL_SIZE` (default 16) connections for reads and starts
    /// `GERBANG_PG_COMMITTERS` (default 2) committers, each with a connection of its
    /// own.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let shown = redact_url(url);
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError(format!("invalid PostgreSQL URL {shown}: {e}")))?;
        if config.get_application_name().is_none() {
            config.application_name("gerbang");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let password = config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned());
        let hidden = |text: String| hide(password.as_deref(), text);
        let size = positive_env(POOL_SIZE_VAR, DEFAULT_POOL_SIZE, "connections")?;
        let committers = positive_env(COMMITTERS_VAR, DEFAULT_COMMITTERS, "committers")?;

        migrate(&config, &shown)
            .await
            .map_err(|e| StoreError(hidden(e)))?;

        let build = |size: usize| {
            let manager = Manager::from_config(
                config.clone(),
                NoTls,
                ManagerConfig {
                    recycling_method: RecyclingMethod::Fast,
                },
            );
            Pool::builder(manager)
                .max_size(size)
                .runtime(Runtime::Tokio1)
                .create_timeout(Some(CONNECT_TIMEOUT))
                .build()
                .map_err(|e| {
                    StoreError(hidden(format!(
                        "cannot build a PostgreSQL pool for {shown}: {e}"
                    )))
                })
        };
        let pool = build(size)?;
        let committers = Committers::start(build(committers)?, committers, password.clone());
        Ok(PostgresStore {
            inner: Arc::new(Inner {
                pool,
                committers,
                password,
            }),
        })
    }

    fn store_error(&self, fail: Fail) -> StoreError {
        StoreError(describe(self.inner.password.as_deref(), fail))
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, Fail> {
        pool_client(&self.inner.pool).await
    }

    /// Runs `work` in one transaction and commits it, starting over after a
    /// serialization failure or a deadlock.
    async fn transact<T, F>(&self, work: F) -> Result<T, Fail>
    where
        T: Send,
        F: for<'t> Fn(&'t Transaction<'t>) -> TxFuture<'t, T> + Send + Sync,
    {
        retrying(
            || self.transact_once(&work),
            |tries| tracing::debug!(tries, "PostgreSQL transaction conflicted; trying again"),
        )
        .await
    }

    async fn transact_once<T, F>(&self, work: &F) -> Result<T, Fail>
    where
        T: Send,
        F: for<'t> Fn(&'t Transaction<'t>) -> TxFuture<'t, T> + Send + Sync,
    {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        match work(&tx).await {
            Ok(value) => {
                tx.commit().await?;
                Ok(value)
            }
            Err(fail) => {
                let _ = tx.rollback().await;
                Err(fail)
            }
        }
    }

    /// Runs one read on a pooled connection.
    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let run = async {
            let client = self.client().await?;
            let statement = client.prepare_cached(sql).await?;
            Ok::<_, Fail>(client.query(&statement, params).await?)
        };
        run.await.map_err(|f| self.store_error(f))
    }

    async fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }
}

/// Adds to `problems` what `describe` says of each row `sql` returns.
async fn push_problems(
    tx: &Transaction<'_>,
    problems: &mut Vec<String>,
    sql: &str,
    describe: impl Fn(&Row) -> Result<String, tokio_postgres::Error>,
) -> Result<(), tokio_postgres::Error> {
    for row in tx.query(sql, &[]).await? {
        problems.push(describe(&row)?);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Row mapping.

const RECORD_COLUMNS: &str = "kind, key, owner, state, version, data, created_at, updated_at";

const NOTIFICATION_COLUMNS: &str = "id, protocol, owner, source, url, body, status, attempts, \
     next_attempt_at, created_at, delivered_at, request_id";

const TIMER_COLUMNS: &str = "key, kind, due_at, payload, attempts";

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}

fn record_row(r: &Row) -> Result<Record, tokio_postgres::Error> {
    Ok(Record {
        kind: r.try_get(0)?,
        key: r.try_get(1)?,
        owner: r.try_get(2)?,
        state: r.try_get(3)?,
        version: r.try_get(4)?,
        data: Document::from_stored(r.try_get(5)?),
        created_at: Timestamp::from_micros(r.try_get(6)?),
        updated_at: Timestamp::from_micros(r.try_get(7)?),
    })
}

fn notification_row(r: &Row) -> Result<Notification, tokio_postgres::Error> {
    Ok(Notification {
        id: r.try_get(0)?,
        protocol: r.try_get(1)?,
        owner: r.try_get(2)?,
        source: r.try_get(3)?,
        url: r.try_get(4)?,
        body: r.try_get(5)?,
        status: NotificationStatus::parse(r.try_get(6)?).unwrap_or(NotificationStatus::Pending),
        attempts: r.try_get(7)?,
        next_attempt_at: Timestamp::from_micros(r.try_get(8)?),
        created_at: Timestamp::from_micros(r.try_get(9)?),
        delivered_at: r.try_get::<_, Option<i64>>(10)?.map(Timestamp::from_micros),
        request_id: r.try_get(11)?,
    })
}

fn timer_row(r: &Row) -> Result<Timer, tokio_postgres::Error> {
    Ok(Timer {
        key: r.try_get(0)?,
        kind: r.try_get(1)?,
        due_at: Timestamp::from_micros(r.try_get(2)?),
        payload: json(r.try_get(3)?),
        attempts: r.try_get(4)?,
    })
}

fn account_row(r: &Row) -> Result<Account, tokio_postgres::Error> {
    Ok(Account {
        id: r.try_get(0)?,
        code: r.try_get(1)?,
        kind: AccountKind::parse(r.try_get(2)?).unwrap_or(AccountKind::ChannelClearing),
        currency: Currency::parse(r.try_get::<_, &str>(3)?).unwrap_or(Currency::Idr),
        balance: r.try_get(4)?,
        pending: r.try_get(5)?,
    })
}

fn hold_row(r: &Row) -> Result<Hold, tokio_postgres::Error> {
    Ok(Hold {
        key: r.try_get(0)?,
        account: r.try_get(1)?,
        amount: r.try_get(2)?,
        currency: Currency::parse(r.try_get::<_, &str>(3)?).unwrap_or(Currency::Idr),
        state: HoldState::parse(r.try_get(4)?).unwrap_or(HoldState::Pending),
        expires_at: r.try_get::<_, Option<i64>>(5)?.map(Timestamp::from_micros),
        created_at: Timestamp::from_micros(r.try_get(6)?),
        ended_at: r.try_get::<_, Option<i64>>(7)?.map(Timestamp::from_micros),
    })
}

fn statement_row(r: &Row) -> Result<StatementLine, tokio_postgres::Error> {
    Ok(StatementLine {
        posting_id: r.try_get(0)?,
        entry_id: r.try_get(1)?,
        at: Timestamp::from_micros(r.try_get(2)?),
        amount: r.try_get(3)?,
        balance_after: r.try_get(4)?,
        kind: r.try_get(5)?,
        reference: r.try_get(6)?,
        description: r.try_get(7)?,
    })
}

fn attempt_row(r: &Row) -> Result<Attempt, tokio_postgres::Error> {
    Ok(Attempt {
        notification_id: r.try_get(0)?,
        attempt_no: r.try_get(1)?,
        at: Timestamp::from_micros(r.try_get(2)?),
        http_status: r.try_get(3)?,
        latency_ms: r.try_get(4)?,
        excerpt: r.try_get(5)?,
    })
}

impl PostgresStore {
    fn map_rows<T>(
        &self,
        rows: Vec<Row>,
        map: fn(&Row) -> Result<T, tokio_postgres::Error>,
    ) -> Result<Vec<T>, StoreError> {
        rows.iter()
            .map(map)
            .collect::<Result<Vec<T>, _>>()
            .map_err(|e| self.store_error(Fail::Db(e)))
    }

    fn map_row<T>(
        &self,
        row: Option<Row>,
        map: fn(&Row) -> Result<T, tokio_postgres::Error>,
    ) -> Result<Option<T>, StoreError> {
        row.as_ref()
            .map(map)
            .transpose()
            .map_err(|e| self.store_error(Fail::Db(e)))
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn commit(&self, now: Timestamp, step: Step) -> Result<StepOutcome, StepError> {
        self.inner.committers.commit(now, step).await
    }

    async fn idempotency(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let row = self.query_opt(IDEMPOTENCY_SELECT, &[&scope, &key]).await?;
        self.map_row(row, idempotency_row)
    }

    async fn record(&self, kind: &str, key: &str) -> Result<Option<Record>, StoreError> {
        let row = self
            .query_opt(
                &format!("SELECT {RECORD_COLUMNS} FROM records WHERE kind = $1 AND key = $2"),
                &[&kind, &key],
            )
            .await?;
        self.map_row(row, record_row)
    }

    async fn records(
        &self,
        kind: &str,
        owner: Option<&str>,
        after_key: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Record>, StoreError> {
        let limit = i64::from(clamp_limit(limit));
        // Keys compare byte by byte, as SQLite compares them, whatever the
        // database's collation.
        let rows = self
            .query(
                &format!(
                    "SELECT {RECORD_COLUMNS} FROM records
                     WHERE kind = $1 AND ($2::text IS NULL OR owner = $2)
                       AND ($3::text IS NULL OR key COLLATE \"C\" > $3)
                     ORDER BY key COLLATE \"C\" LIMIT $4"
                ),
                &[&kind, &owner, &after_key, &limit],
            )
            .await?;
        self.map_rows(rows, record_row)
    }

    async fn account(&self, code: &str) -> Result<Option<Account>, StoreError> {
        let row = self
            .query_opt(
                "SELECT id, code, kind, currency, balance, pending FROM accounts WHERE code = $1",
                &[&code],
            )
            .await?;
        self.map_row(row, account_row)
    }

    async fn records_in_state(
        &self,
        kind: &str,
        state: IndexedState,
        owner: Option<&str>,
        after_key: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Record>, StoreError> {
        let limit = i64::from(clamp_limit(limit));
        let state = state.sql_literal();
        let rows = self
            .query(
                &format!(
                    "SELECT {RECORD_COLUMNS} FROM records
                     WHERE kind = $1 AND state = {state} AND ($2::text IS NULL OR owner = $2)
                       AND ($3::text IS NULL OR key COLLATE \"C\" > $3)
                     ORDER BY key COLLATE \"C\" LIMIT $4"
                ),
                &[&kind, &owner, &after_key, &limit],
            )
            .await?;
        self.map_rows(rows, record_row)
    }

    async fn records_by_time(&self, q: RecordsByTime) -> Result<Vec<Record>, StoreError> {
        let limit = i64::from(clamp_limit(q.limit));
        let (before_at, before_key) = q
            .before
            .map_or((q.until, String::new()), |(at, key)| (at.min(q.until), key));
        // One statement per shape: (kind, owner, created_at, key) or (kind,
        // created_at, key), the position a row comparison the index seeks to.
        let owner_clause = owner_clause(&q.owner);
        let rows = self
            .query(
                &format!(
                    "SELECT {RECORD_COLUMNS} FROM records
                     WHERE kind = $1 AND {owner_clause} AND created_at >= $3
                       AND (created_at, key COLLATE \"C\") < ($4, $5) AND created_at < $7
                     ORDER BY created_at DESC, key COLLATE \"C\" DESC LIMIT $6"
                ),
                &[
                    &q.kind,
                    &q.owner,
                    &q.from.as_micros(),
                    &before_at.as_micros(),
                    &before_key,
                    &limit,
                    &q.until.as_micros(),
                ],
            )
            .await?;
        self.map_rows(rows, record_row)
    }

    async fn record_totals(&self, q: RecordTotals) -> Result<Vec<TotalsRow>, StoreError> {
        // `$.a.b` as PostgreSQL's path array `{a,b}`.
        let pg_path = |p: &str| -> Vec<String> {
            p.trim_start_matches("$.")
                .split('.')
                .map(str::to_string)
                .collect()
        };
        let [p1, p2, p3] = crate::three_paths(&q.group_paths).map(|p| pg_path(&p));
        let amount = pg_path(&q.amount_path);
        let matching_path = q.matching.as_ref().map(|(path, _)| pg_path(path));
        let matching_value = q.matching.as_ref().map(|(_, value)| value.clone());
        let owner_clause = owner_clause(&q.owner);
        let rows = self
            .query(
                &format!(
                    "SELECT (created_at / 1000000 + $5) / 86400 AS day,
                            coalesce(d #>> $6::text[], d #>> $7::text[], d #>> $8::text[], '') AS grp,
                            state, count(*), coalesce(sum((d #>> $9::text[])::bigint), 0)::bigint
                     FROM (SELECT created_at, state, data::jsonb AS d FROM records
                           WHERE kind = $1 AND {owner_clause}
                             AND created_at >= $3 AND created_at < $4) r
                     WHERE ($10::text[] IS NULL OR d #>> $10::text[] = $11)
                     GROUP BY day, grp, state ORDER BY day, grp, state"
                ),
                &[
                    &q.kind,
                    &q.owner,
                    &q.from.as_micros(),
                    &q.until.as_micros(),
                    &q.day_offset_seconds,
                    &p1,
                    &p2,
                    &p3,
                    &amount,
                    &matching_path,
                    &matching_value,
                ],
            )
            .await?;
        fn totals_row(r: &Row) -> Result<TotalsRow, tokio_postgres::Error> {
            Ok(TotalsRow {
                day: r.try_get(0)?,
                group: r.try_get(1)?,
                state: r.try_get(2)?,
                count: r.try_get(3)?,
                amount: r.try_get(4)?,
            })
        }
        self.map_rows(rows, totals_row)
    }

    async fn entries(&self, reference: &str, limit: u32) -> Result<Vec<JournalEntry>, StoreError> {
        let limit = i64::from(clamp_limit(limit));
        let rows = self
            .query(
                "SELECT e.id, e.kind, e.reference, e.description, e.currency, e.created_at,
                        a.code, p.amount
                 FROM (SELECT * FROM entries WHERE reference = $1 ORDER BY id LIMIT $2) e
                 JOIN postings p ON p.entry_id = e.id
                 JOIN accounts a ON a.id = p.account_id
                 ORDER BY e.id, p.id",
                &[&reference, &limit],
            )
            .await?;
        // One row per posting, its entry's columns repeated: an entry with its first leg.
        fn leg_row(r: &Row) -> Result<JournalEntry, tokio_postgres::Error> {
            Ok(JournalEntry {
                id: r.try_get(0)?,
                kind: r.try_get(1)?,
                reference: r.try_get(2)?,
                description: r.try_get(3)?,
                currency: Currency::parse(r.try_get::<_, &str>(4)?).unwrap_or(Currency::Idr),
                created_at: Timestamp::from_micros(r.try_get(5)?),
                postings: vec![EntryPosting {
                    account: r.try_get(6)?,
                    amount: r.try_get(7)?,
                }],
            })
        }
        let mut entries: Vec<JournalEntry> = Vec::new();
        for leg in self.map_rows(rows, leg_row)? {
            match entries.last_mut() {
                Some(e) if e.id == leg.id => e.postings.extend(leg.postings),
                _ => entries.push(leg),
            }
        }
        Ok(entries)
    }

    async fn accounts(
        &self,
        after_code: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Account>, StoreError> {
        let limit = i64::from(clamp_limit(limit));
        let rows = self
            .query(
                "SELECT id, code, kind, currency, balance, pending FROM accounts
                 WHERE ($1::text IS NULL OR code COLLATE \"C\" > $1)
                 ORDER BY code COLLATE \"C\" LIMIT $2",
                &[&after_code, &limit],
            )
            .await?;
        self.map_rows(rows, account_row)
    }

    async fn hold(&self, key: &str) -> Result<Option<Hold>, StoreError> {
        let row = self
            .query_opt(
                "SELECT h.key, a.code, h.amount, h.currency, h.state, h.expires_at, h.created_at,
                        h.ended_at
                 FROM holds h JOIN accounts a ON a.id = h.account_id WHERE h.key = $1",
                &[&key],
            )
            .await?;
        self.map_row(row, hold_row)
    }

    async fn statement(&self, q: StatementQuery) -> Result<Vec<StatementLine>, StoreError> {
        let limit = i64::from(clamp_limit(q.limit));
        let rows = self
            .query(
                "SELECT p.id, p.entry_id, p.created_at, p.amount, p.balance_after,
                        e.kind, e.reference, e.description
                 FROM postings p
                 JOIN accounts a ON a.id = p.account_id
                 JOIN entries e ON e.id = p.entry_id
                 WHERE a.code = $1 AND p.created_at >= $2 AND p.created_at < $3 AND p.id > $4
                 ORDER BY p.id LIMIT $5",
                &[
                    &q.account,
                    &q.from.as_micros(),
                    &q.to.as_micros(),
                    &q.after_posting_id,
                    &limit,
                ],
            )
            .await?;
        self.map_rows(rows, statement_row)
    }

    async fn claim_notifications(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Notification>, StoreError> {
        let limit = i64::from(clamp_limit(limit));
        let (now, lease_until) = (now.as_micros(), lease_until.as_micros());
        let mut claimed = self
            .transact(move |tx| {
                Box::pin(async move {
                    let s = prepare(
                        tx,
                        &format!(
                            "UPDATE notifications SET lease_until = $2 WHERE id IN (
                                 SELECT id FROM notifications n
                                 WHERE status = 'pending' AND next_attempt_at <= $1
                                   AND (lease_until IS NULL OR lease_until <= $1)
                                   AND NOT EXISTS (
                                       SELECT 1 FROM notifications e
                                       WHERE e.source = n.source AND e.id < n.id
                                         AND e.status = 'pending')
                                 ORDER BY next_attempt_at, id LIMIT $3
                                 FOR UPDATE SKIP LOCKED)
                             RETURNING {NOTIFICATION_COLUMNS}"
                        ),
                    )
                    .await?;
                    let rows = tx.query(&s, &[&now, &lease_until, &limit]).await?;
                    Ok(rows
                        .iter()
                        .map(notification_row)
                        .collect::<Result<Vec<_>, _>>()?)
                })
            })
            .await
            .map_err(|f| self.store_error(f))?;
        claimed.sort_by_key(|n| (n.next_attempt_at, n.id));
        Ok(claimed)
    }

    async fn record_attempt(
        &self,
        attempt: Attempt,
        verdict: AttemptVerdict,
    ) -> Result<(), StoreError> {
        let (status, next, delivered) = match verdict {
            AttemptVerdict::Delivered => ("delivered", None, Some(attempt.at.as_micros())),
            AttemptVerdict::RetryAt(at) => ("pending", Some(at.as_micros()), None),
            AttemptVerdict::GiveUp => ("failed", None, None),
        };
        let attempt = Arc::new(attempt);
        self.transact(move |tx| {
            let attempt = attempt.clone();
            Box::pin(async move {
                let s = prepare(
                    tx,
                    "INSERT INTO notification_attempts
                       (notification_id, attempt_no, at, http_status, latency_ms, excerpt)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (notification_id, attempt_no) DO NOTHING",
                )
                .await?;
                tx.execute(
                    &s,
                    &[
                        &attempt.notification_id,
                        &attempt.attempt_no,
                        &attempt.at.as_micros(),
                        &attempt.http_status,
                        &attempt.latency_ms,
                        &attempt.excerpt,
                    ],
                )
                .await?;
                let s = prepare(
                    tx,
                    "UPDATE notifications SET status = $2, attempts = GREATEST(attempts, $3),
                       next_attempt_at = COALESCE($4, next_attempt_at),
                       delivered_at = COALESCE($5, delivered_at), lease_until = NULL
                     WHERE id = $1",
                )
                .await?;
                tx.execute(
                    &s,
                    &[
                        &attempt.notification_id,
                        &status,
                        &attempt.attempt_no,
                        &next,
                        &delivered,
                    ],
                )
                .await?;
                Ok(())
            })
        })
        .await
        .map_err(|f| self.store_error(f))
    }

    async fn notification(&self, id: i64) -> Result<Option<Notification>, StoreError> {
        let row = self
            .query_opt(
                &format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1"),
                &[&id],
            )
            .await?;
        self.map_row(row, notification_row)
    }

    async fn notifications(&self, q: NotificationQuery) -> Result<Vec<Notification>, StoreError> {
        let limit = i64::from(clamp_limit(q.limit));
        let status = q.status.map(NotificationStatus::as_str);
        let rows = self
            .query(
                &format!(
                    "SELECT {NOTIFICATION_COLUMNS} FROM notifications
                     WHERE ($1::text IS NULL OR owner = $1::text)
                       AND ($2::text IS NULL OR source = $2::text)
                       AND ($3::text IS NULL OR status = $3::text)
                       AND ($4::bigint IS NULL OR id < $4::bigint)
                     ORDER BY id DESC LIMIT $5"
                ),
                &[&q.owner, &q.source, &status, &q.before_id, &limit],
            )
            .await?;
        self.map_rows(rows, notification_row)
    }

    async fn attempts(&self, notification_id: i64) -> Result<Vec<Attempt>, StoreError> {
        let rows = self
            .query(
                "SELECT notification_id, attempt_no, at, http_status, latency_ms, excerpt
                 FROM notification_attempts WHERE notification_id = $1 ORDER BY attempt_no",
                &[&notification_id],
            )
            .await?;
        self.map_rows(rows, attempt_row)
    }

    async fn resend_notification(&self, id: i64, now: Timestamp) -> Result<bool, StoreError> {
        let now = now.as_micros();
        self.transact(move |tx| {
            Box::pin(async move {
                let s = prepare(
                    tx,
                    "UPDATE notifications
                     SET status = 'pending', next_attempt_at = $2, lease_until = NULL
                     WHERE id = $1",
                )
                .await?;
                Ok(tx.execute(&s, &[&id, &now]).await? == 1)
            })
        })
        .await
        .map_err(|f| self.store_error(f))
    }

    async fn claim_timers(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Timer>, StoreError> {
        let limit = i64::from(clamp_limit(limit));
        let (now, lease_until) = (now.as_micros(), lease_until.as_micros());
        let mut timers = self
            .transact(move |tx| {
                Box::pin(async move {
                    let s = prepare(
                        tx,
                        &format!(
                            "UPDATE timers SET lease_until = $2 WHERE key IN (
                                 SELECT key FROM timers WHERE due_at <= $1
                                   AND (lease_until IS NULL OR lease_until <= $1)
                                 ORDER BY due_at, key COLLATE \"C\" LIMIT $3
                                 FOR UPDATE SKIP LOCKED)
                             RETURNING {TIMER_COLUMNS}"
                        ),
                    )
                    .await?;
                    let rows = tx.query(&s, &[&now, &lease_until, &limit]).await?;
                    Ok(rows.iter().map(timer_row).collect::<Result<Vec<_>, _>>()?)
                })
            })
            .await
            .map_err(|f| self.store_error(f))?;
        timers.sort_by(|a, b| a.due_at.cmp(&b.due_at).then(a.key.cmp(&b.key)));
        Ok(timers)
    }

    async fn retry_timer(
        &self,
        key: &str,
        retry_at: Timestamp,
        leased_until: Timestamp,
    ) -> Result<(), StoreError> {
        let key: Arc<str> = Arc::from(key);
        let retry_at = retry_at.as_micros();
        let leased_until = leased_until.as_micros();
        self.transact(move |tx| {
            let key = key.clone();
            Box::pin(async move {
                let s = prepare(
                    tx,
                    "UPDATE timers SET due_at = $2, attempts = attempts + 1, lease_until = NULL
                     WHERE key = $1 AND lease_until = $3",
                )
                .await?;
                tx.execute(&s, &[&&*key, &retry_at, &leased_until]).await?;
                Ok(())
            })
        })
        .await
        .map_err(|f| self.store_error(f))
    }

    async fn release_leases(&self) -> Result<(), StoreError> {
        // Other processes may be working on this database: their leases stand, and
        // those of a process that died run out.
        Ok(())
    }

    async fn backlog(&self, now: Timestamp) -> Result<Backlog, StoreError> {
        let now = now.as_micros();
        let row = self
            .query_opt(
                "SELECT
                   (SELECT COUNT(*) FROM notifications WHERE status = 'pending'),
                   (SELECT COUNT(*) FROM notifications
                     WHERE status = 'pending' AND next_attempt_at <= $1),
                   (SELECT MIN(next_attempt_at) FROM notifications
                     WHERE status = 'pending' AND next_attempt_at <= $1),
                   (SELECT COUNT(*) FROM timers WHERE due_at <= $1),
                   (SELECT MIN(due_at) FROM timers WHERE due_at <= $1)",
                &[&now],
            )
            .await?;
        self.map_row(row, |r| {
            Ok(Backlog {
                notifications_pending: r.try_get(0)?,
                notifications_due: r.try_get(1)?,
                oldest_due_notification: r
                    .try_get::<_, Option<i64>>(2)?
                    .map(Timestamp::from_micros),
                timers_due: r.try_get(3)?,
                oldest_due_timer: r.try_get::<_, Option<i64>>(4)?.map(Timestamp::from_micros),
            })
        })
        .map(Option::unwrap_or_default)
    }

    async fn check_ledger(&self) -> Result<LedgerReport, StoreError> {
        let checked = async {
            let mut client = self.client().await?;
            // One snapshot for every query, so concurrent steps cannot make the
            // figures disagree with one another.
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let count = |sql: &'static str| {
                let tx = &tx;
                async move { tx.query_one(sql, &[]).await?.try_get::<_, i64>(0) }
            };
            let mut report = LedgerReport {
                accounts: count("SELECT COUNT(*) FROM accounts").await?,
                entries: count("SELECT COUNT(*) FROM entries").await?,
                postings: count("SELECT COUNT(*) FROM postings").await?,
                holds_pending: count("SELECT COUNT(*) FROM holds WHERE state = 'pending'").await?,
                problems: Vec::new(),
            };
            let total = count("SELECT COALESCE(SUM(amount), 0)::bigint FROM postings").await?;
            if total != 0 {
                report.problems.push(ledger_problem::postings_total(total));
            }
            let problems = &mut report.problems;
            push_problems(
                &tx,
                problems,
                "SELECT e.id, COALESCE(SUM(p.amount), 0)::bigint, COUNT(p.id) FROM entries e
                 LEFT JOIN postings p ON p.entry_id = e.id GROUP BY e.id
                 HAVING COALESCE(SUM(p.amount), 0) <> 0 OR COUNT(p.id) < 2
                 ORDER BY e.id",
                |r| {
                    Ok(ledger_problem::unbalanced_entry(
                        r.try_get(0)?,
                        r.try_get(2)?,
                        r.try_get(1)?,
                    ))
                },
            )
            .await?;
            push_problems(
                &tx,
                problems,
                "SELECT a.code, a.balance, s.total FROM accounts a
                 CROSS JOIN LATERAL (
                     SELECT COALESCE(SUM(p.amount), 0)::bigint AS total
                     FROM postings p WHERE p.account_id = a.id) s
                 WHERE a.balance <> s.total ORDER BY a.id",
                |r| {
                    Ok(ledger_problem::balance_mismatch(
                        r.try_get(0)?,
                        r.try_get(1)?,
                        r.try_get(2)?,
                    ))
                },
            )
            .await?;
            push_problems(
                &tx,
                problems,
                "SELECT a.code, a.pending, COALESCE(s.total, 0)::bigint FROM accounts a
                 LEFT JOIN (
                     SELECT account_id, SUM(amount) AS total FROM holds
                     WHERE state = 'pending' GROUP BY account_id) s ON s.account_id = a.id
                 WHERE a.pending <> COALESCE(s.total, 0) ORDER BY a.id",
                |r| {
                    Ok(ledger_problem::pending_mismatch(
                        r.try_get(0)?,
                        r.try_get(1)?,
                        r.try_get(2)?,
                    ))
                },
            )
            .await?;
            push_problems(
                &tx,
                problems,
                "SELECT code, balance, pending FROM accounts
                 WHERE NOT may_go_negative AND balance - pending < 0 ORDER BY id",
                |r| {
                    Ok(ledger_problem::overdrawn(
                        r.try_get(0)?,
                        r.try_get(1)?,
                        r.try_get(2)?,
                    ))
                },
            )
            .await?;
            tx.commit().await?;
            Ok::<_, Fail>(report)
        };
        checked.await.map_err(|f| self.store_error(f))
    }
}

/// The condition on the owner parameter ($2): equal to it when one is given,
/// otherwise none — a statement of its own each, so that the planner sees which
/// index serves it.
fn owner_clause(owner: &Option<String>) -> &'static str {
    if owner.is_some() {
        "owner = $2"
    } else {
        "$2::text IS NULL"
    }
}
