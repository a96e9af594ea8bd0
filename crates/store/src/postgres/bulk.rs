//! A batch written as rows of each kind together, rather than step by step.
//!
//! Once its rows are locked ([`BatchLocks`]), a batch reads in one round trip
//! whatever its steps' outcomes depend on that the locks do not give: the
//! idempotency keys, records, holds and accounts its steps name, and ids drawn
//! from the sequences of the rows it will insert. Every step is then run in memory,
//! in order, against those figures and against the steps before it, exactly as the
//! statements of [`super::step`] would run it: a step that breaks a rule is
//! answered with that rule and leaves nothing behind. What the steps that succeed
//! wrote goes out in one round trip: one multi-row statement per kind of row (the
//! keys, the accounts opened, the entries, the postings, the holds, the records,
//! the notifications, the timers), and each account and hold the batch locked
//! written once with what it ends with.
//!
//! The accounts are locked; the holds the batch ends are only read, and the writes
//! end each of them only if it is still pending.
//!
//! A batch goes this way when everything its ledger ops name is known at its start:
//! every account locked or opened by a step of the batch, every hold it ends read
//! or placed by a step of the batch. What another transaction commits after the
//! batch read its figures (a record written, a key claimed by a node beside this
//! one, a hold ended) makes one of the writes fail or miss a row. Either way the
//! batch is rolled back whole and runs again step by step, in savepoints
//! ([`Fail::Rewrite`]), where the statements of each step see the newest rows.

use super::pipeline::{params, Pipeline};
use super::step::{idempotency_row, prepare, AccountRef, BatchLocks};
use super::Fail;
use crate::{
    hold_expiry_timer_key, Expect, IdempotencyRecord, NewNotification, NewTimer, RecordWrite, Step,
    StepError, StepOutcome, TimerOp, HOLD_EXPIRY_TIMER,
};
use deadpool_postgres::Transaction;
use gerbang_core::ledger::{
    HoldState, LedgerError, LedgerOp, NewAccount, NewEntry, NewHold, PostHold,
};
use gerbang_core::{Currency, Document, Timestamp};
use std::collections::{HashMap, HashSet};

/// A kind and a key, or a scope and a key.
type Pair = (String, String);

/// Whether the batch can run in memory: every account its ledger ops name is
/// locked or opened by a step at or before the op, and every hold it ends is
/// locked (with its account) or placed by a step at or before it.
fn runs_in_memory(steps: &[(Timestamp, &Step)], locks: &BatchLocks) -> bool {
    let mut opened: HashSet<&str> = HashSet::new();
    let mut placed: HashSet<&str> = HashSet::new();
    let known = |code: &str, opened: &HashSet<&str>| {
        locks.by_code.contains_key(code) || opened.contains(code)
    };
    for (_, step) in steps {
        opened.extend(step.accounts.iter().map(|a| a.code.as_str()));
        for op in &step.ledger {
            let fits = match op {
                LedgerOp::Transfer(entry) => {
                    entry.postings.iter().all(|p| known(&p.account, &opened))
                }
                LedgerOp::Hold(hold) => {
                    placed.insert(&hold.key);
                    known(&hold.account, &opened)
                }
                LedgerOp::Post(post) => {
                    post.credits.iter().all(|p| known(&p.account, &opened))
                        && known_hold(&post.key, &placed, locks)
                }
                LedgerOp::Void { key } | LedgerOp::Expire { key } => {
                    known_hold(key, &placed, locks)
                }
            };
            if !fits {
                return false;
            }
        }
    }
    true
}

fn known_hold(key: &str, placed: &HashSet<&str>, locks: &BatchLocks) -> bool {
    match locks.holds.get(key) {
        Some(hold) => locks.by_id.contains_key(&hold.account_id),
        None => placed.contains(key),
    }
}

/// Runs the batch in memory and writes what its steps leave in one round trip:
/// each step's answer, or [`Fail::Rewrite`] if the batch must run step by step.
pub(super) async fn apply(
    tx: &Transaction<'_>,
    steps: &[(Timestamp, &Step)],
    locks: &mut BatchLocks,
) -> Result<Vec<Result<StepOutcome, Fail>>, Fail> {
    if !runs_in_memory(steps, locks) {
        return Err(Fail::Rewrite);
    }
    let started = std::time::Instant::now();
    let (stored, ids) = read_figures(tx, steps).await?;
    let read = started.elapsed();
    // A hold the steps end that was not there when the batch read the holds it
    // ends, but is now: another transaction placed it in between.
    let ended_elsewhere = steps.iter().flat_map(|(_, step)| &step.ledger).any(|op| {
        let (LedgerOp::Post(PostHold { key, .. })
        | LedgerOp::Void { key }
        | LedgerOp::Expire { key }) = op
        else {
            return false;
        };
        !locks.holds.contains_key(key) && stored.holds.contains(key)
    });
    if ended_elsewhere {
        return Err(Fail::Rewrite);
    }
    let mut plan = Plan {
        stored,
        ids,
        rows: Rows::default(),
        undo: Vec::new(),
    };
    let mut answers = Vec::with_capacity(steps.len());
    for (now, step) in steps {
        match plan.step(*now, step, locks) {
            // Not a rule the step breaks: the batch cannot go on.
            Err(fail) if !matches!(fail, Fail::Step(_)) => return Err(fail),
            answer => answers.push(answer),
        }
    }
    let planned = started.elapsed();
    plan.rows.write(tx, &*locks).await?;
    tracing::trace!(
        steps = steps.len(),
        read_us = read.as_micros() as u64,
        plan_us = (planned - read).as_micros() as u64,
        write_us = (started.elapsed() - planned).as_micros() as u64,
        "PostgreSQL batch written whole"
    );
    Ok(answers)
}

// ---------------------------------------------------------------------------------
// What the steps depend on.

/// The rows the batch's steps name, as stored when the batch read them.
#[derive(Default)]
struct Stored {
    keys: HashMap<Pair, IdempotencyRecord>,
    /// The version of each record.
    versions: HashMap<Pair, i64>,
    /// Holds that exist, among those the steps place.
    holds: HashSet<String>,
    /// Kind and currency of each account the steps open that exists.
    accounts: HashMap<String, (String, String)>,
}

/// Ids drawn from the sequences, for the rows the steps may insert.
struct Ids {
    accounts: std::vec::IntoIter<i64>,
    entries: std::vec::IntoIter<i64>,
    postings: std::vec::IntoIter<i64>,
    notifications: std::vec::IntoIter<i64>,
}

fn next_id(ids: &mut std::vec::IntoIter<i64>) -> Result<i64, Fail> {
    ids.next()
        .ok_or_else(|| Fail::Other("a batch drew too few ids from a sequence".into()))
}

async fn read_figures(
    tx: &Transaction<'_>,
    steps: &[(Timestamp, &Step)],
) -> Result<(Stored, Ids), Fail> {
    let (mut scopes, mut keys) = (Vec::new(), Vec::new());
    let (mut kinds, mut record_keys) = (Vec::new(), Vec::new());
    let mut placed = Vec::new();
    let mut opened = Vec::new();
    let (mut entries, mut postings, mut notifications) = (0i64, 0i64, 0i64);
    for (_, step) in steps {
        if let Some(idem) = &step.idempotency {
            scopes.push(idem.scope.clone());
            keys.push(idem.key.clone());
        }
        opened.extend(step.accounts.iter().map(|a| a.code.clone()));
        for op in &step.ledger {
            match op {
                LedgerOp::Transfer(entry) => {
                    entries += 1;
                    postings += entry.postings.len() as i64;
                }
                LedgerOp::Hold(hold) => placed.push(hold.key.clone()),
                LedgerOp::Post(post) => {
                    entries += 1;
                    postings += post.credits.len() as i64 + 1;
                }
                LedgerOp::Void { .. } | LedgerOp::Expire { .. } => {}
            }
        }
        for w in &step.records {
            kinds.push(w.kind.clone());
            record_keys.push(w.key.clone());
        }
        notifications += step.notifications.len() as i64;
    }
    // An account opened by a step that fails may be opened again by a later one,
    // with another id.
    let opening = opened.len() as i64;
    opened.sort_unstable();
    opened.dedup();

    let (reads_keys, reads_records, reads_holds) =
        (!keys.is_empty(), !kinds.is_empty(), !placed.is_empty());
    let mut p = Pipeline::new(tx);
    if reads_keys {
        let s = prepare(
            tx,
            "SELECT i.scope, i.key, i.fingerprint, i.response, i.created_at
             FROM unnest($1::text[], $2::text[]) AS k (scope, key)
             JOIN idempotency i ON i.scope = k.scope AND i.key = k.key",
        )
        .await?;
        p.query(&s, params![scopes, keys]);
    }
    if reads_records {
        let s = prepare(
            tx,
            "SELECT r.kind, r.key, r.version
             FROM unnest($1::text[], $2::text[]) AS k (kind, key)
             JOIN records r ON r.kind = k.kind AND r.key = k.key",
        )
        .await?;
        p.query(&s, params![kinds, record_keys]);
    }
    if reads_holds {
        let s = prepare(tx, "SELECT key FROM holds WHERE key = ANY($1::text[])").await?;
        p.query(&s, params![placed]);
    }
    if !opened.is_empty() {
        let s = prepare(
            tx,
            "SELECT code, kind, currency FROM accounts WHERE code = ANY($1::text[])",
        )
        .await?;
        p.query(&s, params![opened]);
    }
    let draw = prepare(
        tx,
        "SELECT
           ARRAY(SELECT nextval('accounts_id_seq') FROM generate_series(1, $1::bigint)),
           ARRAY(SELECT nextval('entries_id_seq') FROM generate_series(1, $2::bigint)),
           ARRAY(SELECT nextval('postings_id_seq') FROM generate_series(1, $3::bigint)),
           ARRAY(SELECT nextval('notifications_id_seq') FROM generate_series(1, $4::bigint))",
    )
    .await?;
    p.query(&draw, params![opening, entries, postings, notifications]);

    let mut answers = p.answers().await;
    let mut stored = Stored::default();
    if reads_keys {
        for row in answers.rows()? {
            let record = idempotency_row(&row)?;
            stored
                .keys
                .insert((record.scope.clone(), record.key.clone()), record);
        }
    }
    if reads_records {
        for row in answers.rows()? {
            stored
                .versions
                .insert((row.try_get(0)?, row.try_get(1)?), row.try_get(2)?);
        }
    }
    if reads_holds {
        for row in answers.rows()? {
            stored.holds.insert(row.try_get(0)?);
        }
    }
    if opening > 0 {
        for row in answers.rows()? {
            stored
                .accounts
                .insert(row.try_get(0)?, (row.try_get(1)?, row.try_get(2)?));
        }
    }
    let row = answers.one()?;
    // Drawn in order; sorted all the same, so that rows inserted later get larger
    // ids, as they would one by one.
    let drawn = |i: usize| -> Result<std::vec::IntoIter<i64>, Fail> {
        let mut ids: Vec<i64> = row.try_get(i)?;
        ids.sort_unstable();
        Ok(ids.into_iter())
    };
    let ids = Ids {
        accounts: drawn(0)?,
        entries: drawn(1)?,
        postings: drawn(2)?,
        notifications: drawn(3)?,
    };
    Ok((stored, ids))
}

// ---------------------------------------------------------------------------------
// The rows the batch writes.

struct AccountRow {
    id: i64,
    code: String,
    kind: &'static str,
    currency: Currency,
    may_go_negative: bool,
    created_at: i64,
}

struct EntryRow {
    id: i64,
    kind: String,
    reference: String,
    description: String,
    currency: Currency,
    created_at: i64,
}

struct PostingRow {
    id: i64,
    entry_id: i64,
    account_id: i64,
    amount: i64,
    balance_after: i64,
    created_at: i64,
}

/// A hold placed by the batch, as it ends the batch.
#[derive(Clone)]
struct HoldRow {
    account_id: i64,
    amount: i64,
    currency: Currency,
    state: HoldState,
    expires_at: Option<i64>,
    created_at: i64,
    ended_at: Option<i64>,
    entry_id: Option<i64>,
}

/// A record as the batch leaves it.
#[derive(Clone)]
struct RecordRow {
    owner: String,
    state: String,
    version: i64,
    data: Document,
    created_at: i64,
    updated_at: i64,
    /// The version stored when the batch read it, if the record existed then.
    stored: Option<i64>,
}

#[derive(Clone)]
struct TimerRow {
    kind: String,
    due_at: i64,
    payload: Document,
    created_at: i64,
    /// Removed earlier in the batch: the stored row goes, and this one is new.
    replaces: bool,
}

struct NotificationRow {
    id: i64,
    n: NewNotification,
    at: i64,
}

#[derive(Default)]
struct Rows {
    keys: Vec<IdempotencyRecord>,
    claimed: HashMap<Pair, usize>,
    accounts: Vec<AccountRow>,
    entries: Vec<EntryRow>,
    postings: Vec<PostingRow>,
    holds: HashMap<String, HoldRow>,
    records: HashMap<Pair, RecordRow>,
    notifications: Vec<NotificationRow>,
    /// What each timer the steps touch ends as: scheduled so, or removed.
    timers: HashMap<String, Option<TimerRow>>,
    /// Holds the batch read without a lock whose state a step relied on, whether
    /// that step succeeded or not: each must still be as read when the batch
    /// writes.
    relied_on: HashSet<String>,
}

/// How the running step found what it changed in the maps of [`Rows`].
enum Undo {
    Claimed(Pair),
    Hold(String, Option<HoldRow>),
    Record(Pair, Option<RecordRow>),
    Timer(String, Option<Option<TimerRow>>),
}

/// How many rows of each list there were when the running step started.
struct Marks {
    keys: usize,
    accounts: usize,
    entries: usize,
    postings: usize,
    notifications: usize,
}

struct Plan {
    stored: Stored,
    ids: Ids,
    rows: Rows,
    undo: Vec<Undo>,
}

impl Plan {
    /// Runs one step: its outcome, or the rule it breaks (and then nothing of it
    /// stays, here or in `locks`).
    fn step(
        &mut self,
        now: Timestamp,
        step: &Step,
        locks: &mut BatchLocks,
    ) -> Result<StepOutcome, Fail> {
        let marks = Marks {
            keys: self.rows.keys.len(),
            accounts: self.rows.accounts.len(),
            entries: self.rows.entries.len(),
            postings: self.rows.postings.len(),
            notifications: self.rows.notifications.len(),
        };
        self.undo.clear();
        locks.step_starts();
        let ran = self.run(now, step, locks);
        if ran.is_err() {
            locks.step_failed();
            self.undo_step(marks);
        }
        ran
    }

    fn undo_step(&mut self, marks: Marks) {
        let rows = &mut self.rows;
        rows.keys.truncate(marks.keys);
        rows.accounts.truncate(marks.accounts);
        rows.entries.truncate(marks.entries);
        rows.postings.truncate(marks.postings);
        rows.notifications.truncate(marks.notifications);
        while let Some(undo) = self.undo.pop() {
            match undo {
                Undo::Claimed(pair) => {
                    rows.claimed.remove(&pair);
                }
                Undo::Hold(key, before) => restore(&mut rows.holds, key, before),
                Undo::Record(pair, before) => restore(&mut rows.records, pair, before),
                Undo::Timer(key, before) => restore(&mut rows.timers, key, before),
            }
        }
    }

    fn run(
        &mut self,
        now: Timestamp,
        step: &Step,
        locks: &mut BatchLocks,
    ) -> Result<StepOutcome, Fail> {
        let at = now.as_micros();
        let mut outcome = StepOutcome::default();
        if let Some(idem) = &step.idempotency {
            let pair = (idem.scope.clone(), idem.key.clone());
            if let Some(&i) = self.rows.claimed.get(&pair) {
                return Err(StepError::Duplicate(self.rows.keys[i].clone()).into());
            }
            if let Some(first) = self.stored.keys.get(&pair) {
                return Err(StepError::Duplicate(first.clone()).into());
            }
            self.rows.claimed.insert(pair.clone(), self.rows.keys.len());
            self.undo.push(Undo::Claimed(pair));
            self.rows.keys.push(IdempotencyRecord {
                scope: idem.scope.clone(),
                key: idem.key.clone(),
                fingerprint: idem.fingerprint.clone(),
                response: idem.response.clone(),
                created_at: now,
            });
        }
        for account in &step.accounts {
            self.open_account(at, account, locks)?;
        }
        for op in &step.ledger {
            match op {
                LedgerOp::Transfer(entry) => {
                    let accounts = check_entry(locks, &self.stored, entry)?;
                    outcome
                        .entry_ids
                        .push(self.write_entry(at, entry, &accounts, locks)?);
                }
                LedgerOp::Hold(hold) => self.place_hold(now, hold, locks)?,
                LedgerOp::Post(post) => {
                    let (account, amount, currency) = self.pending_hold(&post.key, locks)?;
                    let code = locks.held[account].account.code.clone();
                    let entry = post.to_entry(&code, amount, currency)?;
                    let accounts = check_entry(locks, &self.stored, &entry)?;
                    // The reservation goes first: the entry's debit then spends it.
                    locks.release(account, amount)?;
                    let entry_id = self.write_entry(at, &entry, &accounts, locks)?;
                    self.end_hold(now, &post.key, HoldState::Posted, Some(entry_id), locks);
                    outcome.entry_ids.push(entry_id);
                }
                LedgerOp::Void { key } => {
                    let (account, amount, _) = self.pending_hold(key, locks)?;
                    locks.release(account, amount)?;
                    self.end_hold(now, key, HoldState::Voided, None, locks);
                }
                LedgerOp::Expire { key } => {
                    let (account, amount, _) = self.pending_hold(key, locks)?;
                    locks.release(account, amount)?;
                    self.end_hold(now, key, HoldState::Expired, None, locks);
                }
            }
        }
        for w in &step.records {
            outcome.record_versions.push(self.write_record(at, w)?);
        }
        for n in &step.notifications {
            let id = next_id(&mut self.ids.notifications)?;
            self.rows.notifications.push(NotificationRow {
                id,
                n: n.clone(),
                at,
            });
            outcome.notification_ids.push(id);
        }
        for op in &step.timers {
            match op {
                TimerOp::Schedule(timer) => self.schedule(at, timer),
                TimerOp::Remove(key) => self.set_timer(key.clone(), None),
            }
        }
        Ok(outcome)
    }

    /// Opens `account` unless it exists; one that exists must be of its kind and
    /// currency.
    fn open_account(
        &mut self,
        at: i64,
        account: &NewAccount,
        locks: &mut BatchLocks,
    ) -> Result<(), Fail> {
        let (kind, currency) = (account.kind.as_str(), account.currency);
        let found = match self.rows.accounts.iter().find(|a| a.code == account.code) {
            Some(a) => Some(a.kind == kind && a.currency == currency),
            None => self
                .stored
                .accounts
                .get(&account.code)
                .map(|(k, c)| k == kind && c == currency.code()),
        };
        match found {
            Some(true) => Ok(()),
            Some(false) => Err(LedgerError::AccountMismatch(account.code.clone()).into()),
            None => {
                let id = next_id(&mut self.ids.accounts)?;
                let may_go_negative = account.kind.may_go_negative();
                locks.open(
                    AccountRef {
                        id,
                        code: account.code.clone(),
                        currency,
                    },
                    may_go_negative,
                );
                self.rows.accounts.push(AccountRow {
                    id,
                    code: account.code.clone(),
                    kind,
                    currency,
                    may_go_negative,
                    created_at: at,
                });
                Ok(())
            }
        }
    }

    /// Writes a checked entry: each posting moves its account's money unless it
    /// would overdraw it.
    fn write_entry(
        &mut self,
        at: i64,
        entry: &NewEntry,
        accounts: &[usize],
        locks: &mut BatchLocks,
    ) -> Result<i64, Fail> {
        let entry_id = next_id(&mut self.ids.entries)?;
        self.rows.entries.push(EntryRow {
            id: entry_id,
            kind: entry.kind.clone(),
            reference: entry.reference.clone(),
            description: entry.description.clone(),
            currency: entry.currency,
            created_at: at,
        });
        for (posting, &i) in entry.postings.iter().zip(accounts) {
            let Some(balance_after) = locks.post(i, posting.amount)? else {
                let code = locks.held[i].account.code.clone();
                return Err(LedgerError::InsufficientFunds(code).into());
            };
            self.rows.postings.push(PostingRow {
                id: next_id(&mut self.ids.postings)?,
                entry_id,
                account_id: locks.held[i].account.id,
                amount: posting.amount,
                balance_after,
                created_at: at,
            });
        }
        Ok(entry_id)
    }

    fn place_hold(
        &mut self,
        now: Timestamp,
        hold: &NewHold,
        locks: &mut BatchLocks,
    ) -> Result<(), Fail> {
        if hold.amount <= 0 {
            return Err(LedgerError::NonPositiveAmount.into());
        }
        let i = account(locks, &self.stored, &hold.account)?;
        let a = &locks.held[i].account;
        if a.currency != hold.currency {
            return Err(LedgerError::CurrencyMismatch(a.code.clone()).into());
        }
        let account_id = a.id;
        if self.rows.holds.contains_key(&hold.key)
            || self.stored.holds.contains(&hold.key)
            || locks.holds.contains_key(&hold.key)
        {
            return Err(LedgerError::DuplicateHold(hold.key.clone()).into());
        }
        if !locks.reserve(i, hold.amount)? {
            return Err(LedgerError::InsufficientFunds(locks.held[i].account.code.clone()).into());
        }
        self.undo.push(Undo::Hold(hold.key.clone(), None));
        self.rows.holds.insert(
            hold.key.clone(),
            HoldRow {
                account_id,
                amount: hold.amount,
                currency: hold.currency,
                state: HoldState::Pending,
                expires_at: hold.expires_at.map(Timestamp::as_micros),
                created_at: now.as_micros(),
                ended_at: None,
                entry_id: None,
            },
        );
        if let Some(expires_at) = hold.expires_at {
            self.schedule(
                now.as_micros(),
                &NewTimer {
                    key: hold_expiry_timer_key(&hold.key),
                    kind: HOLD_EXPIRY_TIMER.to_string(),
                    due_at: expires_at,
                    payload: Document::of(&serde_json::json!({ "hold": hold.key })),
                },
            );
        }
        Ok(())
    }

    /// The pending hold `key`: the index of its account among the locked ones, its
    /// amount and currency.
    fn pending_hold(
        &mut self,
        key: &str,
        locks: &BatchLocks,
    ) -> Result<(usize, i64, Currency), Fail> {
        let (account_id, amount, currency, state) = match locks.holds.get(key) {
            Some(h) => {
                self.rows.relied_on.insert(key.to_string());
                (h.account_id, h.amount, h.currency, h.state)
            }
            None => match self.rows.holds.get(key) {
                Some(h) => (h.account_id, h.amount, h.currency, h.state),
                None => return Err(LedgerError::UnknownHold(key.to_string()).into()),
            },
        };
        if state != HoldState::Pending {
            return Err(LedgerError::HoldNotPending {
                key: key.to_string(),
                state,
            }
            .into());
        }
        let i = locks.by_id.get(&account_id).copied().ok_or_else(|| {
            Fail::Other(format!(
                "the account of hold {key} is not among the locked ones"
            ))
        })?;
        Ok((i, amount, currency))
    }

    /// Ends the pending hold `key` and removes its expiry timer.
    fn end_hold(
        &mut self,
        now: Timestamp,
        key: &str,
        state: HoldState,
        entry_id: Option<i64>,
        locks: &mut BatchLocks,
    ) {
        if locks.end_hold(key, state, now) {
            if let Some(entry_id) = entry_id {
                locks.link_hold(key, entry_id);
            }
        } else if let Some(hold) = self.rows.holds.get_mut(key) {
            self.undo
                .push(Undo::Hold(key.to_string(), Some(hold.clone())));
            hold.state = state;
            hold.ended_at = Some(now.as_micros());
            hold.entry_id = entry_id;
        }
        self.set_timer(hold_expiry_timer_key(key), None);
    }

    /// Writes a record as `w` expects to find it: its new version.
    fn write_record(&mut self, at: i64, w: &RecordWrite) -> Result<i64, Fail> {
        let pair = (w.kind.clone(), w.key.clone());
        let before = self.rows.records.get(&pair).cloned();
        let stored = self.stored.versions.get(&pair).copied();
        let current = before.as_ref().map(|r| r.version).or(stored);
        let fits = match w.expect {
            Expect::Absent => current.is_none(),
            Expect::Version(v) => current == Some(v),
            Expect::Any => true,
        };
        if !fits {
            return Err(StepError::RecordConflict {
                kind: w.kind.clone(),
                key: w.key.clone(),
            }
            .into());
        }
        let version = current.map_or(1, |v| v + 1);
        let created_at = before.as_ref().map_or(at, |r| r.created_at);
        self.undo.push(Undo::Record(pair.clone(), before));
        self.rows.records.insert(
            pair,
            RecordRow {
                owner: w.owner.clone(),
                state: w.state.clone(),
                version,
                data: w.data.clone(),
                created_at,
                updated_at: at,
                stored,
            },
        );
        Ok(version)
    }

    fn schedule(&mut self, at: i64, timer: &NewTimer) {
        // Scheduled again, a timer keeps the time it was first created at.
        let (created_at, replaces) = match self.rows.timers.get(&timer.key) {
            Some(Some(row)) => (row.created_at, row.replaces),
            Some(None) => (at, true),
            None => (at, false),
        };
        self.set_timer(
            timer.key.clone(),
            Some(TimerRow {
                kind: timer.kind.clone(),
                due_at: timer.due_at.as_micros(),
                payload: timer.payload.clone(),
                created_at,
                replaces,
            }),
        );
    }

    fn set_timer(&mut self, key: String, row: Option<TimerRow>) {
        let before = self.rows.timers.insert(key.clone(), row);
        self.undo.push(Undo::Timer(key, before));
    }
}

fn restore<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>, key: K, before: Option<V>) {
    match before {
        Some(value) => {
            map.insert(key, value);
        }
        None => {
            map.remove(&key);
        }
    }
}

/// The index of account `code` among the locked ones. One that is not locked but
/// exists was committed by another transaction after the batch locked its
/// accounts: a step by step run locks it as it comes.
fn account(locks: &BatchLocks, stored: &Stored, code: &str) -> Result<usize, Fail> {
    match locks.by_code.get(code) {
        Some(&i) => Ok(i),
        None if stored.accounts.contains_key(code) => Err(Fail::Rewrite),
        None => Err(LedgerError::UnknownAccount(code.to_string()).into()),
    }
}

/// Checks an entry before it is written, as [`super::step`] does: its shape, then
/// each posting's account and currency, in order. The accounts' indexes.
fn check_entry(locks: &BatchLocks, stored: &Stored, entry: &NewEntry) -> Result<Vec<usize>, Fail> {
    entry.check_shape()?;
    entry
        .postings
        .iter()
        .map(|p| {
            let i = account(locks, stored, &p.account)?;
            let a = &locks.held[i].account;
            if a.currency != entry.currency {
                return Err(LedgerError::CurrencyMismatch(a.code.clone()).into());
            }
            Ok(i)
        })
        .collect()
}

// ---------------------------------------------------------------------------------
// Writing.

impl Rows {
    /// Sends every row in one round trip, with what the batch changed on the rows
    /// it locked. A record changed since the batch read it, or a row that another
    /// transaction inserted meanwhile, is [`Fail::Rewrite`].
    async fn write(self, tx: &Transaction<'_>, locks: &BatchLocks) -> Result<(), Fail> {
        let mut p = Pipeline::new(tx);
        let mut expected: Vec<Check> = Vec::new();
        if !self.keys.is_empty() {
            let s = prepare(
                tx,
                "INSERT INTO idempotency (scope, key, fingerprint, response, created_at)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])",
            )
            .await?;
            let k = &self.keys;
            p.execute(
                &s,
                params![
                    column(k, |r| r.scope.clone()),
                    column(k, |r| r.key.clone()),
                    column(k, |r| r.fingerprint.clone()),
                    column(k, |r| r.response.clone()),
                    column(k, |r| r.created_at.as_micros()),
                ],
            );
            expected.push(Check::Nothing);
        }
        if !self.accounts.is_empty() {
            let s = prepare(
                tx,
                "INSERT INTO accounts
                   (id, code, kind, currency, may_go_negative, balance, pending, created_at)
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[],
                   $5::boolean[], $6::bigint[], $7::bigint[], $8::bigint[])",
            )
            .await?;
            let a = &self.accounts;
            let figures: Vec<(i64, i64)> = a
                .iter()
                .map(|row| {
                    locks
                        .by_id
                        .get(&row.id)
                        .map(|&i| (locks.held[i].balance, locks.held[i].pending))
                        .unwrap_or((0, 0))
                })
                .collect();
            p.execute(
                &s,
                params![
                    column(a, |r| r.id),
                    column(a, |r| r.code.clone()),
                    column(a, |r| r.kind.to_string()),
                    column(a, |r| r.currency.code().to_string()),
                    column(a, |r| r.may_go_negative),
                    column(&figures, |f| f.0),
                    column(&figures, |f| f.1),
                    column(a, |r| r.created_at),
                ],
            );
            expected.push(Check::Nothing);
        }
        if !self.entries.is_empty() {
            let s = prepare(
                tx,
                "INSERT INTO entries (id, kind, reference, description, currency, created_at)
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[],
                   $5::text[], $6::bigint[])",
            )
            .await?;
            let e = &self.entries;
            p.execute(
                &s,
                params![
                    column(e, |r| r.id),
                    column(e, |r| r.kind.clone()),
                    column(e, |r| r.reference.clone()),
                    column(e, |r| r.description.clone()),
                    column(e, |r| r.currency.code().to_string()),
                    column(e, |r| r.created_at),
                ],
            );
            expected.push(Check::Nothing);
        }
        if !self.postings.is_empty() {
            let s = prepare(
                tx,
                "INSERT INTO postings (id, entry_id, account_id, amount, balance_after, created_at)
                 SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[],
                   $5::bigint[], $6::bigint[])",
            )
            .await?;
            let r = &self.postings;
            p.execute(
                &s,
                params![
                    column(r, |r| r.id),
                    column(r, |r| r.entry_id),
                    column(r, |r| r.account_id),
                    column(r, |r| r.amount),
                    column(r, |r| r.balance_after),
                    column(r, |r| r.created_at),
                ],
            );
            expected.push(Check::Nothing);
        }
        if !self.holds.is_empty() {
            let s = prepare(
                tx,
                "INSERT INTO holds (key, account_id, amount, currency, state, expires_at,
                   created_at, ended_at, entry_id)
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[],
                   $5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])",
            )
            .await?;
            let mut h: Vec<(&String, &HoldRow)> = self.holds.iter().collect();
            h.sort_unstable_by(|a, b| a.0.cmp(b.0));
            p.execute(
                &s,
                params![
                    column(&h, |(k, _)| k.to_string()),
                    column(&h, |(_, r)| r.account_id),
                    column(&h, |(_, r)| r.amount),
                    column(&h, |(_, r)| r.currency.code().to_string()),
                    column(&h, |(_, r)| r.state.as_str().to_string()),
                    column(&h, |(_, r)| r.expires_at),
                    column(&h, |(_, r)| r.created_at),
                    column(&h, |(_, r)| r.ended_at),
                    column(&h, |(_, r)| r.entry_id),
                ],
            );
            expected.push(Check::Nothing);
        }
        let mut records: Vec<(&Pair, &RecordRow)> = self.records.iter().collect();
        records.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let (new, changed): (Vec<_>, Vec<_>) =
            records.into_iter().partition(|(_, r)| r.stored.is_none());
        if !new.is_empty() {
            let s = prepare(
                tx,
                "INSERT INTO records (kind, key, owner, state, version, data, created_at, updated_at)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                   $5::bigint[], $6::text[], $7::bigint[], $8::bigint[])",
            )
            .await?;
            p.execute(&s, record_params(&new));
            expected.push(Check::Nothing);
        }
        if !changed.is_empty() {
            let s = prepare(
                tx,
                "UPDATE records SET owner = u.owner, state = u.state, version = u.version,
                   data = u.data, updated_at = u.updated_at
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                   $6::text[], $7::bigint[], $8::bigint[], $9::bigint[])
                   AS u (kind, key, owner, state, version, data, created_at, updated_at, stored)
                 WHERE records.kind = u.kind AND records.key = u.key
                   AND records.version = u.stored",
            )
            .await?;
            let mut params = record_params(&changed);
            params.push(Box::new(column(&changed, |(_, r)| {
                r.stored.unwrap_or_default()
            })));
            p.execute(&s, params);
            expected.push(Check::Changed(changed.len() as u64));
        }
        if !self.notifications.is_empty() {
            let s = prepare(
                tx,
                "INSERT INTO notifications (id, protocol, owner, source, url, body, status,
                   next_attempt_at, created_at, request_id)
                 SELECT id, protocol, owner, source, url, body, 'pending', at, at, request_id
                 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
                   $6::text[], $7::bigint[], $8::text[])
                   AS n (id, protocol, owner, source, url, body, at, request_id)",
            )
            .await?;
            let n = &self.notifications;
            p.execute(
                &s,
                params![
                    column(n, |r| r.id),
                    column(n, |r| r.n.protocol.clone()),
                    column(n, |r| r.n.owner.clone()),
                    column(n, |r| r.n.source.clone()),
                    column(n, |r| r.n.url.clone()),
                    column(n, |r| r.n.body.clone()),
                    column(n, |r| r.at),
                    column(n, |r| r.n.request_id.clone()),
                ],
            );
            expected.push(Check::Nothing);
        }
        // Removed, or removed and scheduled again (a new row, as step by step):
        // deleted before the rest are scheduled.
        let mut timers: Vec<(&String, &Option<TimerRow>)> = self.timers.iter().collect();
        timers.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let deleted: Vec<String> = timers
            .iter()
            .filter(|(_, t)| t.as_ref().is_none_or(|t| t.replaces))
            .map(|(k, _)| k.to_string())
            .collect();
        if !deleted.is_empty() {
            let s = prepare(tx, "DELETE FROM timers WHERE key = ANY($1::text[])").await?;
            p.execute(&s, params![deleted]);
            expected.push(Check::Nothing);
        }
        let scheduled: Vec<(&String, &TimerRow)> = timers
            .iter()
            .filter_map(|(k, t)| t.as_ref().map(|t| (*k, t)))
            .collect();
        if !scheduled.is_empty() {
            let s = prepare(
                tx,
                "INSERT INTO timers (key, kind, due_at, payload, created_at)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[])
                 ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at,
                   payload = excluded.payload, attempts = 0, lease_until = NULL",
            )
            .await?;
            let t = &scheduled;
            p.execute(
                &s,
                params![
                    column(t, |(k, _)| k.to_string()),
                    column(t, |(_, r)| r.kind.clone()),
                    column(t, |(_, r)| r.due_at),
                    column(t, |(_, r)| r.payload.as_str().to_owned()),
                    column(t, |(_, r)| r.created_at),
                ],
            );
            expected.push(Check::Nothing);
        }
        // Holds read without a lock that steps found pending and the batch does not
        // end (those it ends, `write_back` checks): still pending. Their accounts
        // are locked, so nobody can end them from here on.
        let mut unchanged: Vec<String> = self
            .relied_on
            .iter()
            .filter(|key| {
                locks
                    .holds
                    .get(*key)
                    .is_some_and(|h| h.stored == HoldState::Pending && h.state == h.stored)
            })
            .cloned()
            .collect();
        if !unchanged.is_empty() {
            unchanged.sort_unstable();
            let s = prepare(
                tx,
                "SELECT count(*) FROM holds WHERE key = ANY($1::text[]) AND state = 'pending'",
            )
            .await?;
            expected.push(Check::Counted(unchanged.len() as i64));
            p.query(&s, params![unchanged]);
        }
        let (written, locked) = tokio::join!(biased; p.answers(), locks.write_back(tx));
        let mut written = written;
        for check in expected {
            match check {
                Check::Nothing => {
                    written.count().map_err(rewrite)?;
                }
                Check::Changed(want) => {
                    if written.count().map_err(rewrite)? != want {
                        return Err(Fail::Rewrite);
                    }
                }
                Check::Counted(want) => {
                    let got: i64 = written.one().map_err(rewrite)?.try_get(0)?;
                    if got != want {
                        return Err(Fail::Rewrite);
                    }
                }
            }
        }
        locked
    }
}

/// One column of `rows`, for a statement that takes each column as an array.
fn column<T, U>(rows: &[T], value: impl Fn(&T) -> U) -> Vec<U> {
    rows.iter().map(value).collect()
}

/// What a statement of the batch's writes must answer.
enum Check {
    /// Anything: a write that cannot miss (or fails outright).
    Nothing,
    /// It changed exactly this many rows.
    Changed(u64),
    /// Its one row counts exactly this many.
    Counted(i64),
}

/// The parameters of records written together: kind, key, owner, state, version,
/// data, created_at, updated_at.
fn record_params(records: &[(&Pair, &RecordRow)]) -> Vec<super::pipeline::Param> {
    params![
        column(records, |(k, _)| k.0.clone()),
        column(records, |(k, _)| k.1.clone()),
        column(records, |(_, r)| r.owner.clone()),
        column(records, |(_, r)| r.state.clone()),
        column(records, |(_, r)| r.version),
        column(records, |(_, r)| r.data.as_str().to_owned()),
        column(records, |(_, r)| r.created_at),
        column(records, |(_, r)| r.updated_at),
    ]
}

/// A statement of the batch's writes the server refused: unless the batch must run
/// again anyway (a deadlock, a broken connection), it runs again step by step, where
/// the step that the refusal concerns fails alone.
pub(super) fn rewrite(fail: Fail) -> Fail {
    match fail {
        Fail::Db(ref e) if !e.is_closed() && !fail.retryable() => Fail::Rewrite,
        other => other,
    }
}
