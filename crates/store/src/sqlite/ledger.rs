//! Ledger operations on the SQLite writer.
//!
//! The writer keeps the accounts it touches in memory (balance, pending, floor),
//! checks every operation against that state before it writes anything, appends
//! entries, postings and holds at once, and writes each changed account back once
//! per batch, just before COMMIT ([`flush`]). The cache is dropped whenever the
//! writer rolls back, and whenever another connection (say, `gerbang provision` in
//! another process) committed since the last batch (`PRAGMA data_version`).

use crate::{hold_expiry_timer_key, Document, NewTimer, StepError, HOLD_EXPIRY_TIMER};
use gerbang_core::ledger::{HoldState, LedgerError, NewAccount, NewEntry, NewHold, PostHold};
use gerbang_core::{Currency, Timestamp};
use rusqlite::{params, Connection, OptionalExtension};
use std::cell::RefCell;
use std::collections::HashMap;

#[derive(Clone, Debug)]
struct AccountState {
    id: i64,
    currency: Currency,
    may_go_negative: bool,
    balance: i64,
    pending: i64,
    /// Changed since the last flush (and listed in `WriterLedger::dirty`).
    dirty: bool,
}

impl AccountState {
    fn available(&self) -> i64 {
        self.balance - self.pending
    }
}

#[derive(Default)]
struct WriterLedger {
    accounts: HashMap<String, AccountState>,
    /// Pending holds placed by this writer, until they end.
    holds: HashMap<String, PendingHold>,
    /// Codes of accounts changed since the last flush.
    dirty: Vec<String>,
    /// `PRAGMA data_version` at the last batch.
    data_version: Option<i64>,
}

thread_local! {
    static LEDGER: RefCell<WriterLedger> = RefCell::new(WriterLedger::default());
}

pub(super) fn sql_err(e: rusqlite::Error) -> StepError {
    StepError::Backend(e.to_string())
}

impl WriterLedger {
    /// Drops every cached account and hold.
    fn clear(&mut self) {
        self.accounts.clear();
        self.holds.clear();
        self.dirty.clear();
    }
}

/// Drops every cached account (after a rollback).
pub(super) fn forget() {
    LEDGER.with(|l| l.borrow_mut().clear());
}

/// Called at the start of each batch: drops the cache if another connection wrote.
pub(super) fn begin_batch(conn: &Connection) -> Result<(), String> {
    let version: i64 = conn
        .query_row("PRAGMA data_version", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    LEDGER.with(|l| {
        let mut l = l.borrow_mut();
        if l.data_version != Some(version) {
            l.clear();
            l.data_version = Some(version);
        }
    });
    Ok(())
}

/// Writes every changed account back.
pub(super) fn flush(conn: &Connection) -> Result<(), String> {
    LEDGER.with(|l| {
        let mut l = l.borrow_mut();
        if l.dirty.is_empty() {
            return Ok(());
        }
        let mut update = conn
            .prepare_cached("UPDATE accounts SET balance = ?2, pending = ?3 WHERE id = ?1")
            .map_err(|e| e.to_string())?;
        let WriterLedger {
            accounts, dirty, ..
        } = &mut *l;
        for code in dirty.drain(..) {
            if let Some(a) = accounts.get_mut(&code) {
                update
                    .execute(params![a.id, a.balance, a.pending])
                    .map_err(|e| e.to_string())?;
                a.dirty = false;
            }
        }
        Ok(())
    })
}

/// The cached state of an account, loading it first if needed.
fn load(conn: &Connection, code: &str) -> Result<AccountState, StepError> {
    if let Some(a) = LEDGER.with(|l| l.borrow().accounts.get(code).cloned()) {
        return Ok(a);
    }
    let row: Option<(i64, String, bool, i64, i64)> = conn
        .prepare_cached(
            "SELECT id, currency, may_go_negative, balance, pending FROM accounts WHERE code = ?1",
        )
        .map_err(sql_err)?
        .query_row([code], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()
        .map_err(sql_err)?;
    let (id, currency, may_go_negative, balance, pending) =
        row.ok_or_else(|| LedgerError::UnknownAccount(code.to_string()))?;
    let state = AccountState {
        id,
        currency: Currency::parse(&currency).unwrap_or(Currency::Idr),
        may_go_negative,
        balance,
        pending,
        dirty: false,
    };
    LEDGER.with(|l| {
        l.borrow_mut()
            .accounts
            .insert(code.to_string(), state.clone())
    });
    Ok(state)
}

/// Replaces the cached state of an account and marks it for the next flush.
fn store(code: &str, mut state: AccountState) {
    LEDGER.with(|l| {
        let mut l = l.borrow_mut();
        let WriterLedger {
            accounts, dirty, ..
        } = &mut *l;
        state.dirty = true;
        match accounts.get_mut(code) {
            Some(cached) => {
                if !cached.dirty {
                    dirty.push(code.to_string());
                }
                *cached = state;
            }
            None => {
                accounts.insert(code.to_string(), state);
                dirty.push(code.to_string());
            }
        }
    });
}

pub(super) fn open_account(
    conn: &Connection,
    now: Timestamp,
    a: &NewAccount,
) -> Result<(), StepError> {
    conn.prepare_cached(
        "INSERT INTO accounts (code, kind, currency, may_go_negative, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (code) DO NOTHING",
    )
    .map_err(sql_err)?
    .execute(params![
        a.code,
        a.kind.as_str(),
        a.currency.code(),
        a.kind.may_go_negative(),
        now.as_micros()
    ])
    .map_err(sql_err)?;
    let (kind, currency): (String, String) = conn
        .prepare_cached("SELECT kind, currency FROM accounts WHERE code = ?1")
        .map_err(sql_err)?
        .query_row([&a.code], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(sql_err)?;
    if kind != a.kind.as_str() || currency != a.currency.code() {
        return Err(LedgerError::AccountMismatch(a.code.clone()).into());
    }
    Ok(())
}

/// Appends a balanced entry; checks everything before writing anything.
pub(super) fn post_entry(
    conn: &Connection,
    now: Timestamp,
    entry: &NewEntry,
) -> Result<i64, StepError> {
    entry.check_shape()?;
    // Every account the entry touches, once, and which one each posting hits.
    let mut touched: Vec<(&str, AccountState)> = Vec::with_capacity(entry.postings.len());
    let mut hits = Vec::with_capacity(entry.postings.len());
    for p in &entry.postings {
        let i = match touched.iter().position(|(code, _)| *code == p.account) {
            Some(i) => i,
            None => {
                let state = load(conn, &p.account)?;
                if state.currency != entry.currency {
                    return Err(LedgerError::CurrencyMismatch(p.account.clone()).into());
                }
                touched.push((&p.account, state));
                touched.len() - 1
            }
        };
        hits.push(i);
    }
    // Apply in order, refusing any overdraft, before writing anything.
    let mut balances_after = Vec::with_capacity(entry.postings.len());
    for (p, &i) in entry.postings.iter().zip(&hits) {
        let state = &mut touched[i].1;
        state.balance += p.amount;
        if p.amount < 0 && !state.may_go_negative && state.available() < 0 {
            return Err(LedgerError::InsufficientFunds(p.account.clone()).into());
        }
        balances_after.push(state.balance);
    }
    conn.prepare_cached(
        "INSERT INTO entries (kind, reference, description, currency, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .map_err(sql_err)?
    .execute(params![
        entry.kind,
        entry.reference,
        entry.description,
        entry.currency.code(),
        now.as_micros()
    ])
    .map_err(sql_err)?;
    let entry_id = conn.last_insert_rowid();
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO postings (entry_id, account_id, amount, balance_after, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(sql_err)?;
    for ((p, &i), balance_after) in entry.postings.iter().zip(&hits).zip(balances_after) {
        insert
            .execute(params![
                entry_id,
                touched[i].1.id,
                p.amount,
                balance_after,
                now.as_micros()
            ])
            .map_err(sql_err)?;
    }
    for (code, state) in touched {
        store(code, state);
    }
    Ok(entry_id)
}

pub(super) fn place_hold(
    conn: &Connection,
    now: Timestamp,
    hold: &NewHold,
) -> Result<(), StepError> {
    if hold.amount <= 0 {
        return Err(LedgerError::NonPositiveAmount.into());
    }
    let mut state = load(conn, &hold.account)?;
    if state.currency != hold.currency {
        return Err(LedgerError::CurrencyMismatch(hold.account.clone()).into());
    }
    let inserted = conn
        .prepare_cached(
            "INSERT INTO holds (key, account_id, amount, currency, state, expires_at, created_at)
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6) ON CONFLICT (key) DO NOTHING",
        )
        .map_err(sql_err)?
        .execute(params![
            hold.key,
            state.id,
            hold.amount,
            hold.currency.code(),
            hold.expires_at.map(Timestamp::as_micros),
            now.as_micros()
        ])
        .map_err(sql_err)?;
    if inserted == 0 {
        return Err(LedgerError::DuplicateHold(hold.key.clone()).into());
    }
    if !state.may_go_negative && state.available() < hold.amount {
        return Err(LedgerError::InsufficientFunds(hold.account.clone()).into());
    }
    state.pending += hold.amount;
    store(&hold.account, state);
    LEDGER.with(|l| {
        l.borrow_mut().holds.insert(
            hold.key.clone(),
            PendingHold {
                account: hold.account.clone(),
                amount: hold.amount,
                currency: hold.currency,
                expires: hold.expires_at.is_some(),
            },
        )
    });
    if let Some(expires_at) = hold.expires_at {
        super::schedule_timer(
            conn,
            now,
            &NewTimer {
                key: hold_expiry_timer_key(&hold.key),
                kind: HOLD_EXPIRY_TIMER.to_string(),
                due_at: expires_at,
                payload: Document::of(&serde_json::json!({ "hold": hold.key })),
            },
        )?;
    }
    Ok(())
}

/// A pending hold as stored.
#[derive(Clone, Debug)]
struct PendingHold {
    account: String,
    amount: i64,
    currency: Currency,
    expires: bool,
}

fn pending_hold(conn: &Connection, key: &str) -> Result<PendingHold, StepError> {
    if let Some(hold) = LEDGER.with(|l| l.borrow().holds.get(key).cloned()) {
        return Ok(hold);
    }
    let row: Option<(String, i64, String, String, Option<i64>)> = conn
        .prepare_cached(
            "SELECT a.code, h.amount, h.currency, h.state, h.expires_at
             FROM holds h JOIN accounts a ON a.id = h.account_id WHERE h.key = ?1",
        )
        .map_err(sql_err)?
        .query_row([key], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()
        .map_err(sql_err)?;
    let (account, amount, currency, state, expires_at) =
        row.ok_or_else(|| LedgerError::UnknownHold(key.to_string()))?;
    let state = HoldState::parse(&state).unwrap_or(HoldState::Pending);
    if state != HoldState::Pending {
        return Err(LedgerError::HoldNotPending {
            key: key.to_string(),
            state,
        }
        .into());
    }
    Ok(PendingHold {
        account,
        amount,
        currency: Currency::parse(&currency).unwrap_or(Currency::Idr),
        expires: expires_at.is_some(),
    })
}

/// Marks a hold ended and drops its expiry timer.
fn end_hold(
    conn: &Connection,
    now: Timestamp,
    key: &str,
    hold: &PendingHold,
    state: HoldState,
    entry_id: Option<i64>,
) -> Result<(), StepError> {
    conn.prepare_cached("UPDATE holds SET state = ?2, ended_at = ?3, entry_id = ?4 WHERE key = ?1")
        .map_err(sql_err)?
        .execute(params![key, state.as_str(), now.as_micros(), entry_id])
        .map_err(sql_err)?;
    LEDGER.with(|l| l.borrow_mut().holds.remove(key));
    if hold.expires {
        conn.prepare_cached("DELETE FROM timers WHERE key = ?1")
            .map_err(sql_err)?
            .execute([hold_expiry_timer_key(key)])
            .map_err(sql_err)?;
    }
    Ok(())
}

/// Releases a hold's reservation on its account (in the cache).
fn unreserve(conn: &Connection, hold: &PendingHold) -> Result<(), StepError> {
    let mut state = load(conn, &hold.account)?;
    state.pending -= hold.amount;
    store(&hold.account, state);
    Ok(())
}

pub(super) fn settle_hold(
    conn: &Connection,
    now: Timestamp,
    post: &PostHold,
) -> Result<i64, StepError> {
    let hold = pending_hold(conn, &post.key)?;
    let entry = post.to_entry(&hold.account, hold.amount, hold.currency)?;
    // The reservation turns into the entry's debit: release it first, so the debit
    // spends exactly what was reserved. Should the entry fail, the job fails, and
    // the writer drops the whole cache before it runs anything else.
    unreserve(conn, &hold)?;
    let entry_id = post_entry(conn, now, &entry)?;
    end_hold(
        conn,
        now,
        &post.key,
        &hold,
        HoldState::Posted,
        Some(entry_id),
    )?;
    Ok(entry_id)
}

pub(super) fn release_hold(
    conn: &Connection,
    now: Timestamp,
    key: &str,
    state: HoldState,
) -> Result<(), StepError> {
    let hold = pending_hold(conn, key)?;
    unreserve(conn, &hold)?;
    end_hold(conn, now, key, &hold, state, None)
}
