//! Applying one step inside the transaction of its batch (see [`super::committer`]).
//!
//! The ledger rules hold under concurrency because each balance change is one
//! conditional `UPDATE … WHERE … RETURNING`: PostgreSQL re-checks the condition on
//! the newest row version after waiting for a row lock, so two transactions can
//! never both spend the same money. Holds are locked (`FOR UPDATE`) before they
//! end, so a hold ends exactly once.

use super::{Fail, VISIBILITY_TRIES};
use crate::{
    hold_expiry_timer_key, Expect, IdempotencyRecord, NewIdempotency, NewNotification, NewTimer,
    RecordWrite, Step, StepError, StepOutcome, TimerOp, HOLD_EXPIRY_TIMER,
};
use deadpool_postgres::Transaction;
use gerbang_core::ledger::{
    HoldState, LedgerError, LedgerOp, NewAccount, NewEntry, NewHold, PostHold,
};
use gerbang_core::{Currency, Timestamp};
use std::collections::HashMap;
use std::time::Duration;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Statement};

#[derive(Clone)]
struct AccountRef {
    id: i64,
    code: String,
    currency: Currency,
}

fn account_ref_row(row: &Row) -> Result<AccountRef, tokio_postgres::Error> {
    Ok(AccountRef {
        id: row.try_get(0)?,
        code: row.try_get(1)?,
        currency: Currency::parse(row.try_get::<_, &str>(2)?).unwrap_or(Currency::Idr),
    })
}

/// The accounts a batch locked before its first step, by code.
///
/// A batch takes the locks of every account its steps' ledger ops name (directly
/// or through a hold) at once and in id order, so batches that move money between
/// the same accounts wait for each other rather than deadlocking, whatever order
/// their steps name the accounts in. The locks last until the batch ends, whatever
/// becomes of its steps.
pub(super) struct BatchAccounts(HashMap<String, AccountRef>);

impl BatchAccounts {
    pub(super) async fn lock(
        tx: &Transaction<'_>,
        steps: impl Iterator<Item = &Step>,
    ) -> Result<BatchAccounts, Fail> {
        let mut codes: Vec<&str> = Vec::new();
        let mut holds: Vec<&str> = Vec::new();
        for op in steps.flat_map(|step| &step.ledger) {
            match op {
                LedgerOp::Transfer(entry) => {
                    codes.extend(entry.postings.iter().map(|p| p.account.as_str()))
                }
                LedgerOp::Hold(hold) => codes.push(&hold.account),
                LedgerOp::Post(post) => {
                    holds.push(&post.key);
                    codes.extend(post.credits.iter().map(|p| p.account.as_str()));
                }
                LedgerOp::Void { key } | LedgerOp::Expire { key } => holds.push(key),
            }
        }
        if codes.is_empty() && holds.is_empty() {
            return Ok(BatchAccounts(HashMap::new()));
        }
        codes.sort_unstable();
        codes.dedup();
        holds.sort_unstable();
        holds.dedup();
        let s = prepare(
            tx,
            "SELECT id, code, currency FROM accounts
             WHERE code = ANY($1::text[])
                OR id = ANY(ARRAY(SELECT account_id FROM holds WHERE key = ANY($2::text[])))
             ORDER BY id FOR UPDATE",
        )
        .await?;
        let rows = tx.query(&s, &[&codes, &holds]).await?;
        let mut locked = HashMap::with_capacity(rows.len());
        for row in &rows {
            let a = account_ref_row(row)?;
            locked.insert(a.code.clone(), a);
        }
        Ok(BatchAccounts(locked))
    }
}

/// The accounts one step's ledger ops use: those its batch locked, and those the
/// step had to look up and lock itself (an account opened or a hold placed after
/// the batch started). The latter locks go away with the step if it fails.
struct Accounts<'b> {
    batch: &'b BatchAccounts,
    own: Vec<AccountRef>,
}

impl Accounts<'_> {
    /// The account `code`, locked.
    async fn get(&mut self, tx: &Transaction<'_>, code: &str) -> Result<AccountRef, Fail> {
        if let Some(a) = self.batch.0.get(code) {
            return Ok(a.clone());
        }
        if let Some(a) = self.own.iter().find(|a| a.code == code) {
            return Ok(a.clone());
        }
        let s = prepare(
            tx,
            "SELECT id, code, currency FROM accounts WHERE code = $1 FOR UPDATE",
        )
        .await?;
        match tx.query_opt(&s, &[&code]).await? {
            Some(row) => {
                let a = account_ref_row(&row)?;
                self.own.push(a.clone());
                Ok(a)
            }
            None => Err(LedgerError::UnknownAccount(code.to_string()).into()),
        }
    }
}

pub(super) async fn prepare(tx: &Transaction<'_>, sql: &str) -> Result<Statement, Fail> {
    Ok(tx.prepare_cached(sql).await?)
}

/// The row `statement` finds, waiting briefly for it to become visible: after
/// `INSERT … ON CONFLICT DO NOTHING` met a row that a concurrent transaction had
/// just committed, a fresh snapshot may for a moment not show it yet.
async fn committed_row(
    tx: &Transaction<'_>,
    statement: &Statement,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Row, Fail> {
    for attempt in 0..VISIBILITY_TRIES {
        if let Some(row) = tx.query_opt(statement, params).await? {
            return Ok(row);
        }
        tokio::time::sleep(Duration::from_millis(1 + attempt)).await;
    }
    Err(Fail::NotVisible)
}

async fn open_account(tx: &Transaction<'_>, now: Timestamp, a: &NewAccount) -> Result<(), Fail> {
    let s = prepare(
        tx,
        "INSERT INTO accounts (code, kind, currency, may_go_negative, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (code) DO NOTHING",
    )
    .await?;
    tx.execute(
        &s,
        &[
            &a.code,
            &a.kind.as_str(),
            &a.currency.code(),
            &a.kind.may_go_negative(),
            &now.as_micros(),
        ],
    )
    .await?;
    let s = prepare(tx, "SELECT kind, currency FROM accounts WHERE code = $1").await?;
    let row = committed_row(tx, &s, &[&a.code]).await?;
    let (kind, currency): (&str, &str) = (row.try_get(0)?, row.try_get(1)?);
    if kind != a.kind.as_str() || currency != a.currency.code() {
        return Err(LedgerError::AccountMismatch(a.code.clone()).into());
    }
    Ok(())
}

async fn post_entry(
    tx: &Transaction<'_>,
    now: Timestamp,
    locked: &mut Accounts<'_>,
    entry: &NewEntry,
) -> Result<i64, Fail> {
    entry.check_shape()?;
    let mut accounts = Vec::with_capacity(entry.postings.len());
    for p in &entry.postings {
        let a = locked.get(tx, &p.account).await?;
        if a.currency != entry.currency {
            return Err(LedgerError::CurrencyMismatch(a.code).into());
        }
        accounts.push(a);
    }
    let s = prepare(
        tx,
        "INSERT INTO entries (kind, reference, description, currency, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .await?;
    let entry_id: i64 = tx
        .query_one(
            &s,
            &[
                &entry.kind,
                &entry.reference,
                &entry.description,
                &entry.currency.code(),
                &now.as_micros(),
            ],
        )
        .await?
        .try_get(0)?;
    let update = prepare(
        tx,
        "UPDATE accounts SET balance = balance + $2::bigint
         WHERE id = $1
           AND ($2::bigint >= 0 OR may_go_negative OR balance - pending + $2::bigint >= 0)
         RETURNING balance",
    )
    .await?;
    let insert = prepare(
        tx,
        "INSERT INTO postings (entry_id, account_id, amount, balance_after, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .await?;
    for (p, a) in entry.postings.iter().zip(&accounts) {
        let balance_after: i64 = match tx.query_opt(&update, &[&a.id, &p.amount]).await? {
            Some(row) => row.try_get(0)?,
            None => return Err(LedgerError::InsufficientFunds(a.code.clone()).into()),
        };
        tx.execute(
            &insert,
            &[
                &entry_id,
                &a.id,
                &p.amount,
                &balance_after,
                &now.as_micros(),
            ],
        )
        .await?;
    }
    Ok(entry_id)
}

async fn place_hold(
    tx: &Transaction<'_>,
    now: Timestamp,
    locked: &mut Accounts<'_>,
    hold: &NewHold,
) -> Result<(), Fail> {
    if hold.amount <= 0 {
        return Err(LedgerError::NonPositiveAmount.into());
    }
    let a = locked.get(tx, &hold.account).await?;
    if a.currency != hold.currency {
        return Err(LedgerError::CurrencyMismatch(a.code).into());
    }
    let s = prepare(
        tx,
        "INSERT INTO holds (key, account_id, amount, currency, state, expires_at, created_at)
         VALUES ($1, $2, $3, $4, 'pending', $5, $6) ON CONFLICT (key) DO NOTHING",
    )
    .await?;
    let inserted = tx
        .execute(
            &s,
            &[
                &hold.key,
                &a.id,
                &hold.amount,
                &hold.currency.code(),
                &hold.expires_at.map(Timestamp::as_micros),
                &now.as_micros(),
            ],
        )
        .await?;
    if inserted == 0 {
        return Err(LedgerError::DuplicateHold(hold.key.clone()).into());
    }
    let s = prepare(
        tx,
        "UPDATE accounts SET pending = pending + $2::bigint
         WHERE id = $1 AND (may_go_negative OR balance - pending >= $2::bigint)",
    )
    .await?;
    if tx.execute(&s, &[&a.id, &hold.amount]).await? == 0 {
        return Err(LedgerError::InsufficientFunds(a.code).into());
    }
    if let Some(expires_at) = hold.expires_at {
        schedule_timer(
            tx,
            now,
            &NewTimer {
                key: hold_expiry_timer_key(&hold.key),
                kind: HOLD_EXPIRY_TIMER.to_string(),
                due_at: expires_at,
                payload: serde_json::json!({ "hold": hold.key }),
            },
        )
        .await?;
    }
    Ok(())
}

/// The pending hold `key`, locked until the transaction ends: (account id, account
/// code, amount, currency).
async fn pending_hold(
    tx: &Transaction<'_>,
    key: &str,
) -> Result<(i64, String, i64, Currency), Fail> {
    let s = prepare(
        tx,
        "SELECT h.account_id, a.code, h.amount, h.currency, h.state
         FROM holds h JOIN accounts a ON a.id = h.account_id WHERE h.key = $1
         FOR UPDATE OF h",
    )
    .await?;
    let row = tx
        .query_opt(&s, &[&key])
        .await?
        .ok_or_else(|| LedgerError::UnknownHold(key.to_string()))?;
    let state = HoldState::parse(row.try_get(4)?).unwrap_or(HoldState::Pending);
    if state != HoldState::Pending {
        return Err(LedgerError::HoldNotPending {
            key: key.to_string(),
            state,
        }
        .into());
    }
    Ok((
        row.try_get(0)?,
        row.try_get(1)?,
        row.try_get(2)?,
        Currency::parse(row.try_get::<_, &str>(3)?).unwrap_or(Currency::Idr),
    ))
}

async fn end_hold(
    tx: &Transaction<'_>,
    now: Timestamp,
    key: &str,
    account_id: i64,
    amount: i64,
    state: HoldState,
) -> Result<(), Fail> {
    let s = prepare(
        tx,
        "UPDATE accounts SET pending = pending - $2::bigint WHERE id = $1",
    )
    .await?;
    tx.execute(&s, &[&account_id, &amount]).await?;
    let s = prepare(
        tx,
        "UPDATE holds SET state = $2, ended_at = $3, entry_id = NULL WHERE key = $1",
    )
    .await?;
    tx.execute(&s, &[&key, &state.as_str(), &now.as_micros()])
        .await?;
    remove_timer(tx, &hold_expiry_timer_key(key)).await
}

async fn settle_hold(
    tx: &Transaction<'_>,
    now: Timestamp,
    locked: &mut Accounts<'_>,
    post: &PostHold,
) -> Result<i64, Fail> {
    let (account_id, code, amount, currency) = pending_hold(tx, &post.key).await?;
    let entry = post.to_entry(&code, amount, currency)?;
    // Release the reservation first: the entry's debit then spends exactly it.
    end_hold(tx, now, &post.key, account_id, amount, HoldState::Posted).await?;
    let entry_id = post_entry(tx, now, locked, &entry).await?;
    let s = prepare(tx, "UPDATE holds SET entry_id = $2 WHERE key = $1").await?;
    tx.execute(&s, &[&post.key, &entry_id]).await?;
    Ok(entry_id)
}

async fn release_hold(
    tx: &Transaction<'_>,
    now: Timestamp,
    key: &str,
    state: HoldState,
) -> Result<(), Fail> {
    let (account_id, _, amount, _) = pending_hold(tx, key).await?;
    end_hold(tx, now, key, account_id, amount, state).await
}

pub(super) const IDEMPOTENCY_SELECT: &str = "SELECT scope, key, fingerprint, response, created_at
     FROM idempotency WHERE scope = $1 AND key = $2";

pub(super) fn idempotency_row(row: &Row) -> Result<IdempotencyRecord, tokio_postgres::Error> {
    Ok(IdempotencyRecord {
        scope: row.try_get(0)?,
        key: row.try_get(1)?,
        fingerprint: row.try_get(2)?,
        response: row.try_get(3)?,
        created_at: Timestamp::from_micros(row.try_get(4)?),
    })
}

/// Claims the step's idempotency key. A concurrent step with the same key makes
/// the insert wait until that step ends; if it committed, this one is a duplicate.
async fn claim_key(
    tx: &Transaction<'_>,
    now: Timestamp,
    idem: &NewIdempotency,
) -> Result<(), Fail> {
    let s = prepare(
        tx,
        "INSERT INTO idempotency (scope, key, fingerprint, response, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, key) DO NOTHING",
    )
    .await?;
    let inserted = tx
        .execute(
            &s,
            &[
                &idem.scope,
                &idem.key,
                &idem.fingerprint,
                &idem.response,
                &now.as_micros(),
            ],
        )
        .await?;
    if inserted == 1 {
        return Ok(());
    }
    let s = prepare(tx, IDEMPOTENCY_SELECT).await?;
    let row = committed_row(tx, &s, &[&idem.scope, &idem.key]).await?;
    Err(StepError::Duplicate(idempotency_row(&row)?).into())
}

async fn write_record(tx: &Transaction<'_>, now: Timestamp, w: &RecordWrite) -> Result<i64, Fail> {
    let data = w.data.to_string();
    let at = now.as_micros();
    let row = match w.expect {
        Expect::Absent => {
            let s = prepare(
                tx,
                "INSERT INTO records (kind, key, owner, state, version, data, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, 1, $5, $6, $6) ON CONFLICT (kind, key) DO NOTHING
                 RETURNING version",
            )
            .await?;
            tx.query_opt(&s, &[&w.kind, &w.key, &w.owner, &w.state, &data, &at])
                .await?
        }
        Expect::Version(v) => {
            let s = prepare(
                tx,
                "UPDATE records SET owner = $3, state = $4, data = $5, version = version + 1,
                   updated_at = $6
                 WHERE kind = $1 AND key = $2 AND version = $7 RETURNING version",
            )
            .await?;
            tx.query_opt(&s, &[&w.kind, &w.key, &w.owner, &w.state, &data, &at, &v])
                .await?
        }
        Expect::Any => {
            let s = prepare(
                tx,
                "INSERT INTO records (kind, key, owner, state, version, data, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, 1, $5, $6, $6)
                 ON CONFLICT (kind, key) DO UPDATE SET owner = excluded.owner,
                   state = excluded.state, data = excluded.data, version = records.version + 1,
                   updated_at = excluded.updated_at
                 RETURNING version",
            )
            .await?;
            tx.query_opt(&s, &[&w.kind, &w.key, &w.owner, &w.state, &data, &at])
                .await?
        }
    };
    match row {
        Some(row) => Ok(row.try_get(0)?),
        None => Err(StepError::RecordConflict {
            kind: w.kind.clone(),
            key: w.key.clone(),
        }
        .into()),
    }
}

async fn enqueue(tx: &Transaction<'_>, now: Timestamp, n: &NewNotification) -> Result<i64, Fail> {
    let s = prepare(
        tx,
        "INSERT INTO notifications
           (protocol, owner, source, url, body, status, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6) RETURNING id",
    )
    .await?;
    let row = tx
        .query_one(
            &s,
            &[
                &n.protocol,
                &n.owner,
                &n.source,
                &n.url,
                &n.body,
                &now.as_micros(),
            ],
        )
        .await?;
    Ok(row.try_get(0)?)
}

async fn schedule_timer(tx: &Transaction<'_>, now: Timestamp, t: &NewTimer) -> Result<(), Fail> {
    let s = prepare(
        tx,
        "INSERT INTO timers (key, kind, due_at, payload, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at,
           payload = excluded.payload, attempts = 0, lease_until = NULL",
    )
    .await?;
    tx.execute(
        &s,
        &[
            &t.key,
            &t.kind,
            &t.due_at.as_micros(),
            &t.payload.to_string(),
            &now.as_micros(),
        ],
    )
    .await?;
    Ok(())
}

async fn remove_timer(tx: &Transaction<'_>, key: &str) -> Result<(), Fail> {
    let s = prepare(tx, "DELETE FROM timers WHERE key = $1").await?;
    tx.execute(&s, &[&key]).await?;
    Ok(())
}

/// Applies `step`; on failure its changes are still there, for the caller to roll
/// back (to the step's savepoint).
pub(super) async fn apply_step(
    tx: &Transaction<'_>,
    now: Timestamp,
    step: &Step,
    batch: &BatchAccounts,
) -> Result<StepOutcome, Fail> {
    let mut outcome = StepOutcome::default();
    if let Some(idem) = &step.idempotency {
        claim_key(tx, now, idem).await?;
    }
    for account in &step.accounts {
        open_account(tx, now, account).await?;
    }
    if !step.ledger.is_empty() {
        let mut locked = Accounts {
            batch,
            own: Vec::new(),
        };
        for op in &step.ledger {
            match op {
                LedgerOp::Transfer(entry) => outcome
                    .entry_ids
                    .push(post_entry(tx, now, &mut locked, entry).await?),
                LedgerOp::Hold(hold) => place_hold(tx, now, &mut locked, hold).await?,
                LedgerOp::Post(post) => outcome
                    .entry_ids
                    .push(settle_hold(tx, now, &mut locked, post).await?),
                LedgerOp::Void { key } => release_hold(tx, now, key, HoldState::Voided).await?,
                LedgerOp::Expire { key } => release_hold(tx, now, key, HoldState::Expired).await?,
            }
        }
    }
    for record in &step.records {
        outcome
            .record_versions
            .push(write_record(tx, now, record).await?);
    }
    for n in &step.notifications {
        outcome.notification_ids.push(enqueue(tx, now, n).await?);
    }
    for op in &step.timers {
        match op {
            TimerOp::Schedule(t) => schedule_timer(tx, now, t).await?,
            TimerOp::Remove(key) => remove_timer(tx, key).await?,
        }
    }
    Ok(outcome)
}
