//! Applying one step inside the transaction of its batch (see [`super::committer`]).
//!
//! The ledger rules hold under concurrency because no two transactions can change
//! an account at once. The accounts and holds a batch names are locked at its start
//! ([`BatchLocks`]): nobody else changes them until the batch ends, so their
//! figures are kept and checked in memory and written once, at the end. Any other
//! account (opened after the batch started, say) changes by one conditional
//! `UPDATE … WHERE … RETURNING`: PostgreSQL re-checks the condition on the newest
//! row version after waiting for a row lock, so two transactions can never both
//! spend the same money. Any other hold is locked (`FOR UPDATE`) before it ends, so
//! a hold ends exactly once.
//!
//! Statements whose answers the statements after them do not need go out together,
//! in a [`Pipeline`]: a hold or a post of a hold the batch locked costs one round
//! trip to the server, rather than one per statement.

use super::pipeline::{params, Answers, Pipeline, Reply};
use super::{Fail, VISIBILITY_TRIES};
use crate::{
    hold_expiry_timer_key, Document, Expect, IdempotencyRecord, NewIdempotency, NewNotification,
    NewTimer, RecordWrite, Step, StepError, StepOutcome, TimerOp, HOLD_EXPIRY_TIMER,
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

// ---------------------------------------------------------------------------------
// Accounts.

#[derive(Clone)]
pub(super) struct AccountRef {
    pub(super) id: i64,
    pub(super) code: String,
    pub(super) currency: Currency,
}

pub(super) fn account_ref_row(row: &Row) -> Result<AccountRef, tokio_postgres::Error> {
    Ok(AccountRef {
        id: row.try_get(0)?,
        code: row.try_get(1)?,
        currency: Currency::parse(row.try_get::<_, &str>(2)?).unwrap_or(Currency::Idr),
    })
}

/// An account its batch locked at its start: nobody else can change it until the
/// batch ends, so its balance and reservations are kept here as the batch's steps
/// change them, and written once, before the batch commits.
pub(super) struct Held {
    pub(super) account: AccountRef,
    may_go_negative: bool,
    pub(super) balance: i64,
    pub(super) pending: i64,
    /// As stored when the batch locked it; none for an account the batch opens
    /// (see [`super::bulk`]), whose row the batch inserts.
    stored: Option<(i64, i64)>,
}

/// What PostgreSQL says when a `bigint` would overflow, as the same change made in
/// SQL would have failed.
fn out_of_range() -> Fail {
    Fail::Step(StepError::Backend(
        "PostgreSQL ERROR 22003: bigint out of range".into(),
    ))
}

/// A hold its batch locked at its start: nobody else can end it until the batch
/// ends, so how the batch's steps end it is kept here, and written once, before
/// the batch commits.
pub(super) struct HeldHold {
    pub(super) account_id: i64,
    pub(super) code: String,
    pub(super) amount: i64,
    pub(super) currency: Currency,
    pub(super) state: HoldState,
    /// As stored when the batch read it.
    pub(super) stored: HoldState,
    ended_at: Option<i64>,
    entry_id: Option<i64>,
}

/// How the running step found what it changed, to undo it if it fails.
enum Undo {
    Account {
        i: usize,
        balance: i64,
        pending: i64,
    },
    Hold {
        key: String,
        state: HoldState,
        ended_at: Option<i64>,
        entry_id: Option<i64>,
    },
    /// An account the running step opened, the last of `held`.
    Opened,
}

/// The rows a batch locked before its first step.
///
/// A batch takes the locks of every account its steps' ledger ops name (directly
/// or through a hold) at once and in id order, then those of the holds they name,
/// so batches that move money between the same accounts wait for each other
/// rather than deadlocking, whatever order their steps name them in. The locks last
/// until the batch ends, whatever becomes of its steps.
///
/// The ledger rules are checked here for these accounts, on the figures the batch
/// has left so far, exactly as the conditional updates check them for the other
/// accounts; a row that every step of a batch changes (a clearing account) is thus
/// written once per batch instead of once per step. Likewise a step learns the
/// state of a locked hold from here rather than from a query, and the end of the
/// hold is written with the batch's other changes. The batch writes them after its
/// last step, outside any step's savepoint: rows locked by the transaction itself
/// and changed inside a savepoint would each need a multixact.
pub(super) struct BatchLocks {
    pub(super) held: Vec<Held>,
    pub(super) by_code: HashMap<String, usize>,
    pub(super) by_id: HashMap<i64, usize>,
    pub(super) holds: HashMap<String, HeldHold>,
    /// Oldest first.
    undo: Vec<Undo>,
}

impl BatchLocks {
    /// Locks the accounts the steps name, then reads the holds they end: locked
    /// too if `lock_holds`, otherwise only read, and then the batch's writes end
    /// a hold only if it is still as read (see [`BatchLocks::write_back`]).
    pub(super) async fn lock(
        tx: &Transaction<'_>,
        steps: impl Iterator<Item = &Step>,
        lock_holds: bool,
    ) -> Result<BatchLocks, Fail> {
        let mut batch = BatchLocks {
            held: Vec::new(),
            by_code: HashMap::new(),
            by_id: HashMap::new(),
            holds: HashMap::new(),
            undo: Vec::new(),
        };
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
            return Ok(batch);
        }
        codes.sort_unstable();
        codes.dedup();
        holds.sort_unstable();
        holds.dedup();
        let owned = |keys: &[&str]| keys.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        let (account_rows, hold_rows) = if lock_holds {
            // A hold never moves to another account: its account found before the
            // hold is locked stays its account.
            let accounts = prepare(
                tx,
                "SELECT id, code, currency, may_go_negative, balance, pending FROM accounts
                 WHERE code = ANY($1::text[])
                    OR id = ANY(ARRAY(
                         SELECT h.account_id FROM unnest($2::text[]) AS k (key)
                         JOIN holds h ON h.key = k.key))
                 ORDER BY id FOR UPDATE",
            )
            .await?;
            let pending_holds = prepare(
                tx,
                "SELECT h.key, h.account_id, h.amount, h.currency, h.state, a.code
                 FROM unnest($1::text[]) AS k (key)
                 JOIN holds h ON h.key = k.key JOIN accounts a ON a.id = h.account_id
                 ORDER BY h.key FOR UPDATE OF h",
            )
            .await?;
            let mut p = Pipeline::new(tx);
            p.query(&accounts, params![owned(&codes), owned(&holds)]);
            if !holds.is_empty() {
                p.query(&pending_holds, params![owned(&holds)]);
            }
            let mut answers = p.answers().await;
            let account_rows = answers.rows()?;
            let hold_rows = if holds.is_empty() {
                Vec::new()
            } else {
                answers.rows()?
            };
            (account_rows, hold_rows)
        } else {
            // The holds first, each looked up once; then their accounts with the
            // others, locked.
            let hold_rows = if holds.is_empty() {
                Vec::new()
            } else {
                let s = prepare(
                    tx,
                    "SELECT h.key, h.account_id, h.amount, h.currency, h.state
                     FROM unnest($1::text[]) AS k (key) JOIN holds h ON h.key = k.key",
                )
                .await?;
                tx.query(&s, &[&owned(&holds)]).await?
            };
            let mut ids = Vec::with_capacity(hold_rows.len());
            for row in &hold_rows {
                ids.push(row.try_get::<_, i64>(1)?);
            }
            ids.sort_unstable();
            ids.dedup();
            let s = prepare(
                tx,
                "SELECT id, code, currency, may_go_negative, balance, pending FROM accounts
                 WHERE code = ANY($1::text[]) OR id = ANY($2::bigint[])
                 ORDER BY id FOR UPDATE",
            )
            .await?;
            (tx.query(&s, &[&owned(&codes), &ids]).await?, hold_rows)
        };
        for row in account_rows {
            let (balance, pending) = (row.try_get(4)?, row.try_get(5)?);
            let held = Held {
                account: account_ref_row(&row)?,
                may_go_negative: row.try_get(3)?,
                balance,
                pending,
                stored: Some((balance, pending)),
            };
            batch
                .by_code
                .insert(held.account.code.clone(), batch.held.len());
            batch.by_id.insert(held.account.id, batch.held.len());
            batch.held.push(held);
        }
        for row in hold_rows {
            let state = HoldState::parse(row.try_get(4)?).unwrap_or(HoldState::Pending);
            let account_id: i64 = row.try_get(1)?;
            // Read first, a hold's account is among those locked then.
            let code = match batch.by_id.get(&account_id) {
                Some(&i) => batch.held[i].account.code.clone(),
                None if lock_holds => row.try_get(5)?,
                None => continue,
            };
            batch.holds.insert(
                row.try_get(0)?,
                HeldHold {
                    account_id,
                    code,
                    amount: row.try_get(2)?,
                    currency: Currency::parse(row.try_get::<_, &str>(3)?).unwrap_or(Currency::Idr),
                    state,
                    stored: state,
                    ended_at: None,
                    entry_id: None,
                },
            );
        }
        Ok(batch)
    }

    /// A step starts: what it changes can be undone from now on.
    pub(super) fn step_starts(&mut self) {
        self.undo.clear();
    }

    /// The running step failed: its changes are undone.
    pub(super) fn step_failed(&mut self) {
        while let Some(undo) = self.undo.pop() {
            match undo {
                Undo::Account {
                    i,
                    balance,
                    pending,
                } => {
                    self.held[i].balance = balance;
                    self.held[i].pending = pending;
                }
                Undo::Hold {
                    key,
                    state,
                    ended_at,
                    entry_id,
                } => {
                    if let Some(hold) = self.holds.get_mut(&key) {
                        hold.state = state;
                        hold.ended_at = ended_at;
                        hold.entry_id = entry_id;
                    }
                }
                Undo::Opened => {
                    if let Some(held) = self.held.pop() {
                        self.by_code.remove(&held.account.code);
                        self.by_id.remove(&held.account.id);
                    }
                }
            }
        }
    }

    /// An account the running step opens: nobody else sees it before the batch
    /// commits, so the batch keeps its figures from zero and inserts its row.
    pub(super) fn open(&mut self, account: AccountRef, may_go_negative: bool) {
        self.undo.push(Undo::Opened);
        self.by_code.insert(account.code.clone(), self.held.len());
        self.by_id.insert(account.id, self.held.len());
        self.held.push(Held {
            account,
            may_go_negative,
            balance: 0,
            pending: 0,
            stored: None,
        });
    }

    fn set(&mut self, i: usize, balance: i64, pending: i64) {
        let held = &mut self.held[i];
        self.undo.push(Undo::Account {
            i,
            balance: held.balance,
            pending: held.pending,
        });
        held.balance = balance;
        held.pending = pending;
    }

    /// Ends the locked hold `key` at `now`, if the batch holds it: false if not.
    pub(super) fn end_hold(&mut self, key: &str, state: HoldState, now: Timestamp) -> bool {
        let Some(hold) = self.holds.get_mut(key) else {
            return false;
        };
        self.undo.push(Undo::Hold {
            key: key.to_string(),
            state: hold.state,
            ended_at: hold.ended_at,
            entry_id: hold.entry_id,
        });
        hold.state = state;
        hold.ended_at = Some(now.as_micros());
        hold.entry_id = None;
        true
    }

    /// Links the locked hold `key`, which the running step posted, to its entry.
    pub(super) fn link_hold(&mut self, key: &str, entry_id: i64) {
        if let Some(hold) = self.holds.get_mut(key) {
            hold.entry_id = Some(entry_id);
        }
    }

    /// Moves `amount` on held account `i` unless it would overdraw it (as the
    /// conditional update of [`push_entry`] decides): the balance after it, or none.
    pub(super) fn post(&mut self, i: usize, amount: i64) -> Result<Option<i64>, Fail> {
        let h = &self.held[i];
        let allowed = amount >= 0
            || h.may_go_negative
            || h.balance
                .checked_sub(h.pending)
                .and_then(|available| available.checked_add(amount))
                .ok_or_else(out_of_range)?
                >= 0;
        if !allowed {
            return Ok(None);
        }
        let balance = h.balance.checked_add(amount).ok_or_else(out_of_range)?;
        self.set(i, balance, h.pending);
        Ok(Some(balance))
    }

    /// Reserves `amount` on held account `i` unless its available money does not
    /// cover it (as the conditional update of [`place_hold`] decides).
    pub(super) fn reserve(&mut self, i: usize, amount: i64) -> Result<bool, Fail> {
        let h = &self.held[i];
        let allowed = h.may_go_negative
            || h.balance.checked_sub(h.pending).ok_or_else(out_of_range)? >= amount;
        if !allowed {
            return Ok(false);
        }
        let pending = h.pending.checked_add(amount).ok_or_else(out_of_range)?;
        self.set(i, h.balance, pending);
        Ok(true)
    }

    /// Releases a reservation of `amount` on held account `i`.
    pub(super) fn release(&mut self, i: usize, amount: i64) -> Result<(), Fail> {
        let h = &self.held[i];
        let pending = h.pending.checked_sub(amount).ok_or_else(out_of_range)?;
        self.set(i, h.balance, pending);
        Ok(())
    }

    /// Writes what the batch changed on the rows it holds; the batch then commits.
    pub(super) async fn write_back(&self, tx: &Transaction<'_>) -> Result<(), Fail> {
        let mut p = Pipeline::new(tx);
        let accounts: Vec<&Held> = self
            .held
            .iter()
            .filter(|h| {
                h.stored
                    .is_some_and(|stored| (h.balance, h.pending) != stored)
            })
            .collect();
        if !accounts.is_empty() {
            let s = prepare(
                p.tx,
                "UPDATE accounts SET balance = u.balance, pending = u.pending
                 FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u (id, balance, pending)
                 WHERE accounts.id = u.id",
            )
            .await?;
            p.execute(
                &s,
                params![
                    accounts.iter().map(|h| h.account.id).collect::<Vec<_>>(),
                    accounts.iter().map(|h| h.balance).collect::<Vec<_>>(),
                    accounts.iter().map(|h| h.pending).collect::<Vec<_>>(),
                ],
            );
        }
        let holds: Vec<(&String, &HeldHold)> = self
            .holds
            .iter()
            .filter(|(_, h)| h.state != h.stored)
            .collect();
        if !holds.is_empty() {
            let s = prepare(
                p.tx,
                "UPDATE holds SET state = u.state, ended_at = u.ended_at, entry_id = u.entry_id
                 FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[])
                   AS u (key, state, ended_at, entry_id, stored)
                 WHERE holds.key = u.key AND holds.state = u.stored",
            )
            .await?;
            p.execute(
                &s,
                params![
                    holds.iter().map(|(k, _)| k.to_string()).collect::<Vec<_>>(),
                    holds
                        .iter()
                        .map(|(_, h)| h.state.as_str().to_string())
                        .collect::<Vec<_>>(),
                    holds.iter().map(|(_, h)| h.ended_at).collect::<Vec<_>>(),
                    holds.iter().map(|(_, h)| h.entry_id).collect::<Vec<_>>(),
                    holds
                        .iter()
                        .map(|(_, h)| h.stored.as_str().to_string())
                        .collect::<Vec<_>>(),
                ],
            );
        }
        let mut answers = p.answers().await;
        if !accounts.is_empty() {
            answers.count()?;
        }
        // A hold the batch only read (see `lock`) that another transaction ended
        // meanwhile is not updated: the batch runs again, step by step.
        if !holds.is_empty() && answers.count()? != holds.len() as u64 {
            return Err(Fail::Rewrite);
        }
        Ok(())
    }
}

/// What one step's ledger ops use: the rows its batch locked, and the accounts the
/// step had to look up and lock itself (one opened after the batch started, or the
/// account of a hold placed since), whose figures only the database keeps. The
/// latter locks go away with the step if it fails.
struct Locks<'b> {
    batch: &'b mut BatchLocks,
    own: Vec<AccountRef>,
}

impl Locks<'_> {
    /// The account `code`, locked.
    async fn get(&mut self, tx: &Transaction<'_>, code: &str) -> Result<AccountRef, Fail> {
        if let Some(&i) = self.batch.by_code.get(code) {
            return Ok(self.batch.held[i].account.clone());
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

    /// The index of account `id` among those the batch holds.
    fn held(&self, id: i64) -> Option<usize> {
        self.batch.by_id.get(&id).copied()
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

// ---------------------------------------------------------------------------------
// Ledger ops.

/// Checks an entry before it is written: its shape, then each posting's account
/// (locked) and currency, in order.
async fn check_entry(
    tx: &Transaction<'_>,
    locked: &mut Locks<'_>,
    entry: &NewEntry,
) -> Result<Vec<AccountRef>, Fail> {
    entry.check_shape()?;
    let mut accounts = Vec::with_capacity(entry.postings.len());
    for p in &entry.postings {
        let a = locked.get(tx, &p.account).await?;
        if a.currency != entry.currency {
            return Err(LedgerError::CurrencyMismatch(a.code).into());
        }
        accounts.push(a);
    }
    Ok(accounts)
}

/// Adds the statements that write a checked entry: the entry, then for each posting
/// the balance change (refused if it would overdraw) with the posting it leaves.
/// [`read_entry`] reads their answers.
async fn push_entry(
    p: &mut Pipeline<'_>,
    locked: &mut Locks<'_>,
    now: Timestamp,
    entry: &NewEntry,
    accounts: &[AccountRef],
) -> Result<(), Fail> {
    let insert = prepare(
        p.tx,
        "INSERT INTO entries (kind, reference, description, currency, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .await?;
    // The entry's id is the value its insert just drew from the sequence of
    // `entries.id` (sequences are per session, and the statements run in order).
    let post = prepare(
        p.tx,
        "WITH moved AS (
             UPDATE accounts SET balance = balance + $2::bigint
             WHERE id = $1::bigint
               AND ($2::bigint >= 0 OR may_go_negative OR balance - pending + $2::bigint >= 0)
             RETURNING balance)
         INSERT INTO postings (entry_id, account_id, amount, balance_after, created_at)
         SELECT currval('entries_id_seq'), $1::bigint, $2::bigint, balance, $3::bigint
         FROM moved
         RETURNING id",
    )
    .await?;
    let post_held = prepare(
        p.tx,
        "INSERT INTO postings (entry_id, account_id, amount, balance_after, created_at)
         VALUES (currval('entries_id_seq'), $1, $2, $3, $4)
         RETURNING id",
    )
    .await?;
    p.query(
        &insert,
        params![
            entry.kind.clone(),
            entry.reference.clone(),
            entry.description.clone(),
            entry.currency.code(),
            now.as_micros(),
        ],
    );
    for (posting, a) in entry.postings.iter().zip(accounts) {
        let amount = posting.amount;
        match locked.held(a.id) {
            None => p.query(&post, params![a.id, amount, now.as_micros()]),
            Some(i) => match locked.batch.post(i, amount) {
                Ok(Some(balance_after)) => p.query(
                    &post_held,
                    params![a.id, amount, balance_after, now.as_micros()],
                ),
                // Refused: no posting, as from the conditional update.
                Ok(None) => p.known(Ok(Reply::Rows(Vec::new()))),
                Err(fail) => p.known(Err(fail)),
            },
        }
    }
    Ok(())
}

/// The entry id, or the first posting that would have overdrawn its account.
fn read_entry(answers: &mut Answers, accounts: &[AccountRef]) -> Result<i64, Fail> {
    let entry_id: i64 = answers.one()?.try_get(0)?;
    for a in accounts {
        if answers.row()?.is_none() {
            return Err(LedgerError::InsufficientFunds(a.code.clone()).into());
        }
    }
    Ok(entry_id)
}

async fn post_entry(
    tx: &Transaction<'_>,
    now: Timestamp,
    locked: &mut Locks<'_>,
    entry: &NewEntry,
) -> Result<i64, Fail> {
    let accounts = check_entry(tx, locked, entry).await?;
    let mut p = Pipeline::new(tx);
    push_entry(&mut p, locked, now, entry, &accounts).await?;
    read_entry(&mut p.answers().await, &accounts)
}

async fn place_hold(
    tx: &Transaction<'_>,
    now: Timestamp,
    locked: &mut Locks<'_>,
    hold: &NewHold,
) -> Result<(), Fail> {
    if hold.amount <= 0 {
        return Err(LedgerError::NonPositiveAmount.into());
    }
    let a = locked.get(tx, &hold.account).await?;
    if a.currency != hold.currency {
        return Err(LedgerError::CurrencyMismatch(a.code).into());
    }
    let insert = prepare(
        tx,
        "INSERT INTO holds (key, account_id, amount, currency, state, expires_at, created_at)
         VALUES ($1, $2, $3, $4, 'pending', $5, $6) ON CONFLICT (key) DO NOTHING",
    )
    .await?;
    let reserve = prepare(
        tx,
        "UPDATE accounts SET pending = pending + $2::bigint
         WHERE id = $1 AND (may_go_negative OR balance - pending >= $2::bigint)",
    )
    .await?;
    let mut p = Pipeline::new(tx);
    p.execute(
        &insert,
        params![
            hold.key.clone(),
            a.id,
            hold.amount,
            hold.currency.code(),
            hold.expires_at.map(Timestamp::as_micros),
            now.as_micros(),
        ],
    );
    match locked.held(a.id) {
        None => p.execute(&reserve, params![a.id, hold.amount]),
        Some(i) => p.known(
            locked
                .batch
                .reserve(i, hold.amount)
                .map(|reserved| Reply::Count(u64::from(reserved))),
        ),
    }
    if let Some(expires_at) = hold.expires_at {
        push_schedule_timer(
            &mut p,
            now,
            &NewTimer {
                key: hold_expiry_timer_key(&hold.key),
                kind: HOLD_EXPIRY_TIMER.to_string(),
                due_at: expires_at,
                payload: Document::of(&serde_json::json!({ "hold": hold.key })),
            },
        )
        .await?;
    }
    let mut answers = p.answers().await;
    if answers.count()? == 0 {
        return Err(LedgerError::DuplicateHold(hold.key.clone()).into());
    }
    if answers.count()? == 0 {
        return Err(LedgerError::InsufficientFunds(a.code).into());
    }
    if hold.expires_at.is_some() {
        answers.count()?;
    }
    Ok(())
}

/// The pending hold `key`, locked until the transaction ends: (account id, account
/// code, amount, currency).
async fn pending_hold(
    tx: &Transaction<'_>,
    locked: &Locks<'_>,
    key: &str,
) -> Result<(i64, String, i64, Currency), Fail> {
    let (found, state) = match locked.batch.holds.get(key) {
        Some(h) => (
            (h.account_id, h.code.clone(), h.amount, h.currency),
            h.state,
        ),
        None => {
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
            (
                (
                    row.try_get(0)?,
                    row.try_get(1)?,
                    row.try_get(2)?,
                    Currency::parse(row.try_get::<_, &str>(3)?).unwrap_or(Currency::Idr),
                ),
                HoldState::parse(row.try_get(4)?).unwrap_or(HoldState::Pending),
            )
        }
    };
    if state != HoldState::Pending {
        return Err(LedgerError::HoldNotPending {
            key: key.to_string(),
            state,
        }
        .into());
    }
    Ok(found)
}

/// Adds the statement that releases a pending hold's reservation.
async fn push_release(
    p: &mut Pipeline<'_>,
    locked: &mut Locks<'_>,
    account_id: i64,
    amount: i64,
) -> Result<(), Fail> {
    match locked.held(account_id) {
        Some(i) => p.known(locked.batch.release(i, amount).map(|()| Reply::Count(1))),
        None => {
            let release = prepare(
                p.tx,
                "UPDATE accounts SET pending = pending - $2::bigint WHERE id = $1",
            )
            .await?;
            p.execute(&release, params![account_id, amount]);
        }
    }
    Ok(())
}

/// Adds the statements that end a hold: its state set (a posted hold's entry is
/// the one the pipeline wrote last; a hold the batch holds is only marked here, see
/// [`BatchLocks`]) and its expiry timer removed.
async fn push_close(
    p: &mut Pipeline<'_>,
    locked: &mut Locks<'_>,
    now: Timestamp,
    key: &str,
    state: HoldState,
) -> Result<(), Fail> {
    if locked.batch.end_hold(key, state, now) {
        p.known(Ok(Reply::Count(1)));
    } else {
        let close = prepare(
            p.tx,
            if state == HoldState::Posted {
                "UPDATE holds SET state = $2, ended_at = $3, entry_id = currval('entries_id_seq')
                 WHERE key = $1"
            } else {
                "UPDATE holds SET state = $2, ended_at = $3, entry_id = NULL WHERE key = $1"
            },
        )
        .await?;
        p.execute(
            &close,
            params![key.to_string(), state.as_str(), now.as_micros()],
        );
    }
    push_remove_timer(p, &hold_expiry_timer_key(key)).await
}

async fn settle_hold(
    tx: &Transaction<'_>,
    now: Timestamp,
    locked: &mut Locks<'_>,
    post: &PostHold,
) -> Result<i64, Fail> {
    let (account_id, code, amount, currency) = pending_hold(tx, locked, &post.key).await?;
    let entry = post.to_entry(&code, amount, currency)?;
    let accounts = check_entry(tx, locked, &entry).await?;
    let mut p = Pipeline::new(tx);
    // Release the reservation first: the entry's debit then spends exactly it.
    push_release(&mut p, locked, account_id, amount).await?;
    push_entry(&mut p, locked, now, &entry, &accounts).await?;
    push_close(&mut p, locked, now, &post.key, HoldState::Posted).await?;
    let mut answers = p.answers().await;
    answers.count()?;
    let entry_id = read_entry(&mut answers, &accounts)?;
    answers.count()?;
    answers.count()?;
    locked.batch.link_hold(&post.key, entry_id);
    Ok(entry_id)
}

async fn release_hold(
    tx: &Transaction<'_>,
    now: Timestamp,
    locked: &mut Locks<'_>,
    key: &str,
    state: HoldState,
) -> Result<(), Fail> {
    let (account_id, _, amount, _) = pending_hold(tx, locked, key).await?;
    let mut p = Pipeline::new(tx);
    push_release(&mut p, locked, account_id, amount).await?;
    push_close(&mut p, locked, now, key, state).await?;
    let mut answers = p.answers().await;
    for _ in 0..3 {
        answers.count()?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Idempotency keys, records, notifications, timers.

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
/// the insert wait until that step's transaction ends; if it committed, this one is
/// a duplicate. So is a step after one of the same batch that claimed the key.
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

/// Adds the statement of a record write; its answer is the new version, or no row
/// if the record was not as the write expects.
async fn push_record(p: &mut Pipeline<'_>, now: Timestamp, w: &RecordWrite) -> Result<(), Fail> {
    let data = w.data.as_str().to_string();
    let at = now.as_micros();
    let (kind, key, owner, state) = (
        w.kind.clone(),
        w.key.clone(),
        w.owner.clone(),
        w.state.clone(),
    );
    match w.expect {
        Expect::Absent => {
            let s = prepare(
                p.tx,
                "INSERT INTO records (kind, key, owner, state, version, data, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, 1, $5, $6, $6) ON CONFLICT (kind, key) DO NOTHING
                 RETURNING version",
            )
            .await?;
            p.query(&s, params![kind, key, owner, state, data, at]);
        }
        Expect::Version(v) => {
            let s = prepare(
                p.tx,
                "UPDATE records SET owner = $3, state = $4, data = $5, version = version + 1,
                   updated_at = $6
                 WHERE kind = $1 AND key = $2 AND version = $7 RETURNING version",
            )
            .await?;
            p.query(&s, params![kind, key, owner, state, data, at, v]);
        }
        Expect::Any => {
            let s = prepare(
                p.tx,
                "INSERT INTO records (kind, key, owner, state, version, data, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, 1, $5, $6, $6)
                 ON CONFLICT (kind, key) DO UPDATE SET owner = excluded.owner,
                   state = excluded.state, data = excluded.data, version = records.version + 1,
                   updated_at = excluded.updated_at
                 RETURNING version",
            )
            .await?;
            p.query(&s, params![kind, key, owner, state, data, at]);
        }
    }
    Ok(())
}

async fn push_enqueue(
    p: &mut Pipeline<'_>,
    now: Timestamp,
    n: &NewNotification,
) -> Result<(), Fail> {
    let s = prepare(
        p.tx,
        "INSERT INTO notifications
           (protocol, owner, source, url, body, status, next_attempt_at, created_at, request_id)
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6, $7) RETURNING id",
    )
    .await?;
    p.query(
        &s,
        params![
            n.protocol.clone(),
            n.owner.clone(),
            n.source.clone(),
            n.url.clone(),
            n.body.clone(),
            now.as_micros(),
            n.request_id.clone(),
        ],
    );
    Ok(())
}

async fn push_schedule_timer(
    p: &mut Pipeline<'_>,
    now: Timestamp,
    t: &NewTimer,
) -> Result<(), Fail> {
    let s = prepare(
        p.tx,
        "INSERT INTO timers (key, kind, due_at, payload, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at,
           payload = excluded.payload, attempts = 0, lease_until = NULL",
    )
    .await?;
    p.execute(
        &s,
        params![
            t.key.clone(),
            t.kind.clone(),
            t.due_at.as_micros(),
            t.payload.as_str().to_owned(),
            now.as_micros(),
        ],
    );
    Ok(())
}

async fn push_remove_timer(p: &mut Pipeline<'_>, key: &str) -> Result<(), Fail> {
    let s = prepare(p.tx, "DELETE FROM timers WHERE key = $1").await?;
    p.execute(&s, params![key.to_string()]);
    Ok(())
}

/// Applies `step`; on failure its changes are still there, for the caller to roll
/// back (to the step's savepoint, and [`BatchLocks::step_failed`]).
pub(super) async fn apply_step(
    tx: &Transaction<'_>,
    now: Timestamp,
    step: &Step,
    batch: &mut BatchLocks,
) -> Result<StepOutcome, Fail> {
    batch.step_starts();
    let mut outcome = StepOutcome::default();
    if let Some(idem) = &step.idempotency {
        claim_key(tx, now, idem).await?;
    }
    for account in &step.accounts {
        open_account(tx, now, account).await?;
    }
    let mut locked = Locks {
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
            LedgerOp::Void { key } => {
                release_hold(tx, now, &mut locked, key, HoldState::Voided).await?
            }
            LedgerOp::Expire { key } => {
                release_hold(tx, now, &mut locked, key, HoldState::Expired).await?
            }
        }
    }
    if step.records.is_empty() && step.notifications.is_empty() && step.timers.is_empty() {
        return Ok(outcome);
    }
    // No record, notification or timer statement needs another's answer.
    let mut p = Pipeline::new(tx);
    for record in &step.records {
        push_record(&mut p, now, record).await?;
    }
    for n in &step.notifications {
        push_enqueue(&mut p, now, n).await?;
    }
    for op in &step.timers {
        match op {
            TimerOp::Schedule(t) => push_schedule_timer(&mut p, now, t).await?,
            TimerOp::Remove(key) => push_remove_timer(&mut p, key).await?,
        }
    }
    let mut answers = p.answers().await;
    for w in &step.records {
        match answers.row()? {
            Some(row) => outcome.record_versions.push(row.try_get(0)?),
            None => {
                return Err(StepError::RecordConflict {
                    kind: w.kind.clone(),
                    key: w.key.clone(),
                }
                .into())
            }
        }
    }
    for _ in &step.notifications {
        outcome.notification_ids.push(answers.one()?.try_get(0)?);
    }
    for _ in &step.timers {
        answers.count()?;
    }
    Ok(outcome)
}
