//! Mass transfer: a partner's file of payout lines, submitted by one dashboard
//! user (a maker) and approved by another (a checker), then dispatched line by
//! line on the shared payout domain as the partner's SendMe payouts — the same
//! references, balance, holds and statement as its API's. A file is taken only
//! when every line is good; the same lines again (in any format) are recognised
//! and refused.
//! Dispatch is a durable timer: a crash part way goes on where it stopped, and a
//! line sent before (its reference taken) answers with the payout it made.

use super::{AcceptError, NewPayout};
use crate::scheduler::{TimerError, TimerHandler};
use crate::App;
use gerbang_core::ledger::codes;
use gerbang_core::mask::Masked;
use gerbang_core::payout::{AccountPayee, Face, Payee, Requester};
use gerbang_core::{Document, Timestamp};
use gerbang_protocol::mass_transfer::{self, FileError, LineProblem};
use gerbang_store::{
    Expect, NewIdempotency, NewTimer, RecordWrite, RecordsByTime, SharedStore, Step, StepError,
    StoreError, Timer, TimerOp,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Mass transfer records: key = its id, owner = the partner's virtual account.
pub const RECORD: &str = "payout.mass_transfer";
/// Sends an approved mass transfer's lines.
pub const DISPATCH_TIMER: &str = "payout.mass_transfer.dispatch";
/// Lines sent in one firing of [`DISPATCH_TIMER`] before its record is saved.
const LINES_PER_FIRING: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MassStatus {
    /// Waits for a checker.
    Submitted,
    /// Approved; its lines are being sent.
    Approved,
    /// Every line has its outcome.
    Dispatched,
    Rejected,
}

impl MassStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MassStatus::Submitted => "submitted",
            MassStatus::Approved => "approved",
            MassStatus::Dispatched => "dispatched",
            MassStatus::Rejected => "rejected",
        }
    }
}

/// What became of one line once dispatched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineOutcome {
    /// It is a payout now (whose own status the payout tells).
    Accepted { payout: String },
    /// It was not taken: why.
    Refused { reason: String },
}

/// One payout line of a mass transfer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MassLine {
    pub row: usize,
    pub reference: String,
    /// The bank's clearing code or the e-wallet's code.
    pub channel: String,
    pub channel_name: String,
    pub e_wallet: bool,
    pub account: Masked,
    pub holder: String,
    pub amount_minor: i64,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<LineOutcome>,
}

/// A mass transfer as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MassTransfer {
    pub id: String,
    /// The SendMe partner (virtual account) whose balance pays.
    pub partner: String,
    pub file_name: String,
    /// SHA-256 (hex) of its lines' fields: the same payouts submitted again,
    /// whatever the file's format or bytes, are recognised by it.
    pub content_sha256: String,
    pub lines: Vec<MassLine>,
    pub total_minor: i64,
    pub submitted_by: String,
    pub submitted_at: Timestamp,
    pub status: MassStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<Timestamp>,
}

impl MassTransfer {
    fn write(&self, expect: Expect) -> RecordWrite {
        RecordWrite {
            kind: RECORD.into(),
            key: self.id.clone(),
            owner: self.partner.clone(),
            state: self.status.as_str().into(),
            data: Document::of(self),
            expect,
        }
    }

    fn requester(&self) -> Requester {
        Requester {
            face: Face::SendmeV1,
            principal: self.partner.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("{0}")]
    File(#[from] FileError),
    /// Some lines are wrong: nothing was stored.
    #[error("{} line(s) have problems", .0.len())]
    Lines(Vec<LineProblem>),
    /// This very file was submitted before, as mass transfer `0`.
    #[error("this file was submitted before, as mass transfer {0}")]
    SameFile(String),
    #[error("storage failure: {0}")]
    Store(String),
}

/// SHA-256 (hex) of a file's lines as read: their fields, not its bytes.
fn content_digest(lines: &[mass_transfer::Line]) -> String {
    let mut digest = Sha256::new();
    for l in lines {
        for field in [
            l.reference.as_str(),
            l.bank_code.as_str(),
            l.account.as_str(),
            l.account_name.as_str(),
            &l.amount_minor.to_string(),
            l.description.as_str(),
        ] {
            digest.update(field.as_bytes());
            digest.update([0x1f]);
        }
        digest.update([0x1e]);
    }
    hex::encode(digest.finalize())
}

fn idempotency_scope(partner: &str) -> String {
    format!("mass_transfer:{partner}")
}

/// Checks `file` line by line for partner `partner` and, when every line is
/// good, stores it as submitted by `user` (with `audit`, in the same step).
pub async fn submit(
    app: &App,
    partner: &str,
    user: &str,
    file_name: &str,
    file: &[u8],
    audit: impl FnOnce(&MassTransfer) -> RecordWrite,
) -> Result<MassTransfer, SubmitError> {
    let scope = idempotency_scope(partner);
    let store = |e: StoreError| SubmitError::Store(e.to_string());
    let parsed = mass_transfer::parse(file)?;
    // The same payouts again, however saved (CSV or XLSX, re-exported), are
    // the same file.
    let content_sha256 = content_digest(&parsed.lines);
    if let Some(earlier) = app
        .store
        .idempotency(&scope, &content_sha256)
        .await
        .map_err(store)?
    {
        return Err(SubmitError::SameFile(earlier.response));
    }
    let mut problems = parsed.problems;
    let requester = Requester {
        face: Face::SendmeV1,
        principal: partner.to_string(),
    };
    let mut lines = Vec::with_capacity(parsed.lines.len());
    for l in parsed.lines {
        let mut wrong = Vec::new();
        let channel = match gerbang_channels::bank::directory::by_code(&l.bank_code) {
            Some(bank) => Some((bank.code.to_string(), bank.name.to_string(), false)),
            None => gerbang_channels::ewallet::by_code(&l.bank_code)
                .map(|w| (w.code.to_string(), w.name.to_string(), true)),
        };
        if channel.is_none() {
            wrong.push(format!(
                "bank_code {} is no bank or e-wallet known here",
                l.bank_code
            ));
        }
        if super::id_by_reference(&app.store, &requester, &l.reference)
            .await
            .map_err(store)?
            .is_some()
        {
            wrong.push(format!(
                "reference {} was used by an earlier payout",
                l.reference
            ));
        }
        match channel {
            Some((channel, channel_name, e_wallet)) if wrong.is_empty() => lines.push(MassLine {
                row: l.row,
                reference: l.reference,
                channel,
                channel_name,
                e_wallet,
                account: Masked(l.account),
                holder: l.account_name,
                amount_minor: l.amount_minor,
                description: l.description,
                outcome: None,
            }),
            _ => problems.push(LineProblem {
                row: l.row,
                problems: wrong,
            }),
        }
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.row);
        return Err(SubmitError::Lines(problems));
    }
    let now = app.now();
    let m = MassTransfer {
        id: format!(
            "MT{}{:06}",
            now.as_micros() / 1_000_000,
            rand::random::<u32>() % 1_000_000
        ),
        partner: partner.to_string(),
        file_name: file_name.chars().take(120).collect(),
        content_sha256: content_sha256.clone(),
        total_minor: lines.iter().map(|l| l.amount_minor).sum(),
        lines,
        submitted_by: user.to_string(),
        submitted_at: now,
        status: MassStatus::Submitted,
        decided_by: None,
        decided_at: None,
    };
    let step = Step {
        idempotency: Some(NewIdempotency {
            scope,
            key: content_sha256.clone(),
            fingerprint: content_sha256,
            response: m.id.clone(),
        }),
        records: vec![m.write(Expect::Absent), audit(&m)],
        ..Step::default()
    };
    match app.store.commit(now, step).await {
        Ok(_) => Ok(m),
        Err(StepError::Duplicate(earlier)) => Err(SubmitError::SameFile(earlier.response)),
        Err(e) => Err(SubmitError::Store(e.to_string())),
    }
}

/// The mass transfer `id` of partner `partner`, and its version.
pub async fn load(
    store: &SharedStore,
    partner: &str,
    id: &str,
) -> Result<Option<(MassTransfer, i64)>, StoreError> {
    let found: Option<(MassTransfer, i64)> = crate::stored::load(&**store, RECORD, id).await?;
    Ok(found.filter(|(m, _)| m.partner == partner))
}

/// Partner `partner`'s mass transfers, newest first, at most `limit`.
pub async fn list(
    store: &SharedStore,
    partner: &str,
    limit: u32,
) -> Result<Vec<MassTransfer>, StoreError> {
    let records = store
        .records_by_time(RecordsByTime {
            kind: RECORD.into(),
            owner: Some(partner.to_string()),
            from: Timestamp::from_micros(i64::MIN),
            until: Timestamp::from_micros(i64::MAX),
            before: None,
            limit,
        })
        .await?;
    records
        .iter()
        .map(|r| {
            r.data
                .decode()
                .map_err(|e| StoreError(format!("mass transfer {}: {e}", r.key)))
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    #[error("no such mass transfer")]
    NotFound,
    #[error("it is {0}, not waiting for a decision")]
    NotWaiting(&'static str),
    /// Maker-checker: who submitted does not decide.
    #[error("the user who submitted it may not decide it")]
    OwnSubmission,
    #[error("storage failure: {0}")]
    Store(String),
}

/// `user` approves (its lines are then sent) or rejects partner `partner`'s
/// mass transfer `id`, with `audit` in the same step.
pub async fn decide(
    app: &App,
    partner: &str,
    id: &str,
    user: &str,
    approve: bool,
    audit: impl FnOnce(&MassTransfer) -> RecordWrite,
) -> Result<MassTransfer, DecideError> {
    let store = |e: StoreError| DecideError::Store(e.to_string());
    let (mut m, version) = load(&app.store, partner, id)
        .await
        .map_err(store)?
        .ok_or(DecideError::NotFound)?;
    if m.status != MassStatus::Submitted {
        return Err(DecideError::NotWaiting(m.status.as_str()));
    }
    if m.submitted_by == user {
        return Err(DecideError::OwnSubmission);
    }
    let now = app.now();
    m.status = if approve {
        MassStatus::Approved
    } else {
        MassStatus::Rejected
    };
    m.decided_by = Some(user.to_string());
    m.decided_at = Some(now);
    let mut step = Step {
        records: vec![m.write(Expect::Version(version)), audit(&m)],
        ..Step::default()
    };
    if approve {
        step.timers.push(TimerOp::Schedule(NewTimer {
            key: format!("{DISPATCH_TIMER}:{}", m.id),
            kind: DISPATCH_TIMER.into(),
            due_at: now,
            payload: serde_json::json!({ "id": m.id, "partner": m.partner }).into(),
        }));
    }
    match app.store.commit(now, step).await {
        Ok(_) => {
            if approve {
                app.wake_scheduler.notify_one();
            }
            Ok(m)
        }
        Err(StepError::RecordConflict { .. }) => Err(DecideError::NotWaiting("decided meanwhile")),
        Err(e) => Err(DecideError::Store(e.to_string())),
    }
}

/// Sends the lines of approved mass transfers.
pub struct Dispatcher {
    pub app: Arc<App>,
}

impl Dispatcher {
    /// Accepts `line` as a payout of `m`: what became of it.
    async fn send(&self, m: &MassTransfer, line: &MassLine) -> Result<LineOutcome, TimerError> {
        let account = AccountPayee {
            channel: line.channel.clone(),
            channel_name: line.channel_name.clone(),
            account: line.account.clone(),
            holder: line.holder.clone(),
            beneficiary: None,
        };
        // The mass transfer's id in it: a crash retry of this line gets its own
        // payout back; the same line of another mass transfer is refused.
        let fingerprint = format!(
            "mass:{}|{}|{}|{}|{}",
            m.id,
            line.channel,
            line.account.expose(),
            line.amount_minor,
            line.description
        );
        let request = NewPayout {
            requester: m.requester(),
            funding_account: codes::partner_balance(&m.partner),
            needs_approval: false,
            reference: line.reference.clone(),
            fingerprint,
            payee: if line.e_wallet {
                Payee::EWallet(account)
            } else {
                Payee::BankAccount(account)
            },
            amount_minor: line.amount_minor,
            description: if line.description.is_empty() {
                format!("mass transfer {}", m.id)
            } else {
                line.description.clone()
            },
            notice_url: None,
            request: Document::of(&serde_json::json!({ "mass_transfer": m.id, "row": line.row })),
            instruct_at: None,
            claim: None,
        };
        let refused = |reason: &str| {
            Ok(LineOutcome::Refused {
                reason: reason.to_string(),
            })
        };
        match super::accept(&self.app, request).await {
            Ok(d) => Ok(LineOutcome::Accepted { payout: d.id }),
            Err(AcceptError::InsufficientBalance) => refused("insufficient available balance"),
            Err(AcceptError::DuplicateReference) => {
                refused("the reference was taken by another payout meanwhile")
            }
            Err(AcceptError::Store(e)) => Err(TimerError::Retry(e)),
            Err(e) => refused(&e.to_string()),
        }
    }
}

#[async_trait::async_trait]
impl TimerHandler for Dispatcher {
    async fn fire(
        &self,
        store: &SharedStore,
        timer: &Timer,
        now: Timestamp,
    ) -> Result<(), TimerError> {
        let (Some(id), Some(partner)) = (
            timer.payload["id"].as_str(),
            timer.payload["partner"].as_str(),
        ) else {
            return Err(TimerError::Permanent(
                "timer payload names no mass transfer".into(),
            ));
        };
        let Some((mut m, version)) = load(store, partner, id)
            .await?
            .filter(|(m, _)| m.status == MassStatus::Approved)
        else {
            return crate::scheduler::drop_timer(store, now, &timer.key).await;
        };
        let mut sent = 0;
        for i in 0..m.lines.len() {
            if m.lines[i].outcome.is_some() {
                continue;
            }
            if sent == LINES_PER_FIRING {
                break;
            }
            let outcome = self.send(&m, &m.lines[i]).await?;
            m.lines[i].outcome = Some(outcome);
            sent += 1;
        }
        let done = m.lines.iter().all(|l| l.outcome.is_some());
        let timer_op = if done {
            m.status = MassStatus::Dispatched;
            TimerOp::Remove(timer.key.clone())
        } else {
            TimerOp::Schedule(NewTimer {
                key: timer.key.clone(),
                kind: DISPATCH_TIMER.into(),
                due_at: now,
                payload: timer.payload.clone().into(),
            })
        };
        let step = Step {
            records: vec![m.write(Expect::Version(version))],
            timers: vec![timer_op],
            ..Step::default()
        };
        store
            .commit(now, step)
            .await
            .map_err(|e| TimerError::Retry(e.to_string()))?;
        if !done {
            self.app.wake_scheduler.notify_one();
        }
        Ok(())
    }
}
