//! Payout approval. A requester that approves its payouts has them held in
//! "waiting for approval" (funds held, status on process) until it approves or
//! rejects them. Approved disbursements to one bank that are due at the same time
//! go to that bank as one batch ([`super::batch`]; a scheduled one keeps its
//! instructed time and holds back no other); each line still gets its own outcome
//! and notification.
//! A cash code is drawn only when approved. Rejection releases the funds and
//! tells the requester the payout failed.

use super::{batch, end_unsent, load_own, record_write, OwnError};
use super::{Disbursement, Failure, Requester, Status};
use crate::cashout;
use crate::App;
use gerbang_core::ledger::LedgerError;
use gerbang_core::user::Scope;
use gerbang_core::Timestamp;
use gerbang_store::{Expect, IndexedState, RecordWrite, Step, StepError};
use std::collections::BTreeMap;

/// Most disbursements one approval may name.
pub const MAX_PER_APPROVAL: usize = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error("no disbursement {0} of this requester")]
    NotFound(String),
    #[error("disbursement {0} is not waiting for approval")]
    NotWaiting(String),
    #[error("name between 1 and {MAX_PER_APPROVAL} disbursements")]
    BadCount,
    #[error("storage: {0}")]
    Store(String),
}

impl From<OwnError> for ApprovalError {
    fn from(e: OwnError) -> Self {
        match e {
            OwnError::BadCount => ApprovalError::BadCount,
            OwnError::NotFound(id) => ApprovalError::NotFound(id),
            OwnError::Store(e) => ApprovalError::Store(e),
        }
    }
}

/// The named payouts of `requester`, each waiting for approval.
async fn waiting(
    app: &App,
    requester: &Requester,
    ids: &[String],
) -> Result<Vec<(Disbursement, i64)>, ApprovalError> {
    let found = load_own(app, requester, ids, MAX_PER_APPROVAL).await?;
    for (d, _) in &found {
        let expired = d
            .cash_code()
            .is_some_and(|c| c.lifetime_seconds.is_none() && app.now() >= c.expires_at);
        if d.status != Status::WaitingApproval || expired {
            return Err(ApprovalError::NotWaiting(d.id.clone()));
        }
    }
    Ok(found)
}

/// A decision that lost a race with another decision on the same payout: the
/// payout is no longer waiting. (Its record moved, or its hold already ended.)
fn conflict_or_store(e: StepError, ids: &[String]) -> ApprovalError {
    match e {
        StepError::RecordConflict { key, .. } => ApprovalError::NotWaiting(key),
        StepError::Ledger(LedgerError::HoldNotPending { .. } | LedgerError::UnknownHold(_)) => {
            ApprovalError::NotWaiting(ids.first().cloned().unwrap_or_default())
        }
        other => ApprovalError::Store(format!("{other} ({} disbursements)", ids.len())),
    }
}

/// Approves disbursements (all or none): each bank's share that is due at one
/// instant goes out as one batch; each cash-out gets its code.
pub async fn approve(
    app: &App,
    requester: &Requester,
    ids: &[String],
) -> Result<Vec<Disbursement>, ApprovalError> {
    // A freshly drawn cash-out code may already exist: draw again.
    for _ in 0..8 {
        let found = waiting(app, requester, ids).await?;
        let (step, approved) = approval_step(app, requester, found);
        match app.commit(step).await {
            Ok(_) => return Ok(approved),
            Err(StepError::RecordConflict { kind, .. }) if kind == cashout::CODE_RECORD => continue,
            Err(e) => return Err(conflict_or_store(e, ids)),
        }
    }
    Err(ApprovalError::Store(
        "could not draw unique cash-out codes".into(),
    ))
}

fn approval_step(
    app: &App,
    requester: &Requester,
    found: Vec<(Disbursement, i64)>,
) -> (Step, Vec<Disbursement>) {
    let now = app.now();
    let latency = app.config.simulator.bank_latency_seconds as i64;
    let mut step = Step::default();
    let mut batches: BTreeMap<(String, Timestamp), Vec<Disbursement>> = BTreeMap::new();
    let mut approved = Vec::with_capacity(found.len());
    for (d, version) in found {
        let mut next = d.clone();
        next.status = Status::Processing;
        next.status_at = now;
        if let Some(c) = next.cash_code_mut() {
            // A default life starts when the code is issued.
            if let Some(life) = c.lifetime_seconds {
                c.expires_at = now.plus_seconds(life);
                step.timers.push(cashout::expiry_timer(&d.id, c.expires_at));
            }
            let code = cashout::draw_code();
            step.records.push(cashout::issue_code(
                &code,
                &d.id,
                &d.requester.principal,
                c.network,
            ));
            c.code = Some(gerbang_core::mask::Secret::new(code));
        } else {
            next.dispatch_at = next.dispatch_at.max(now.plus_seconds(latency));
            let channel = d
                .account_payee()
                .map(|a| a.channel.clone())
                .unwrap_or_default();
            batches
                .entry((channel, next.dispatch_at))
                .or_default()
                .push(next.clone());
        }
        step.records
            .push(record_write(&next, Expect::Version(version)));
        approved.push(next);
    }
    for ((channel, due), lines) in batches {
        batch::open(&mut step, requester, channel, due, &lines);
    }
    (step, approved)
}

/// Rejects disbursements (all or none): releases their funds and notifies.
pub async fn reject(
    app: &App,
    requester: &Requester,
    ids: &[String],
) -> Result<Vec<Disbursement>, ApprovalError> {
    let found = waiting(app, requester, ids).await?;
    let (step, rejected) = rejection_step(app, found).await?;
    app.commit(step)
        .await
        .map_err(|e| conflict_or_store(e, ids))?;
    Ok(rejected)
}

/// The step that rejects `found`: funds released, records failed, notices.
async fn rejection_step(
    app: &App,
    found: Vec<(Disbursement, i64)>,
) -> Result<(Step, Vec<Disbursement>), ApprovalError> {
    let now = app.now();
    let mut step = Step::default();
    let mut rejected = Vec::with_capacity(found.len());
    for (d, version) in found {
        let next = end_unsent(app, &mut step, &d, version, Failure::Rejected, now)
            .await
            .map_err(|e| ApprovalError::Store(e.to_string()))?;
        rejected.push(next);
    }
    Ok((step, rejected))
}

/// Whether `scope` sees payout `d`: the operator all, a partner those its
/// balance funds, a merchant none.
pub fn visible_to(scope: &Scope, d: &Disbursement) -> bool {
    match scope {
        Scope::Operator => true,
        Scope::Partner(va) => d.funding_account == gerbang_core::ledger::codes::partner_balance(va),
        Scope::Merchant(_) => false,
    }
}

/// A page of the payouts waiting for approval that `scope` sees, by id, after
/// `after`; and the id to ask the next page after, when there may be one.
pub async fn queue(
    app: &App,
    scope: &Scope,
    after: Option<&str>,
    limit: u32,
) -> Result<(Vec<Disbursement>, Option<String>), ApprovalError> {
    let owners: Vec<Option<String>> = match scope {
        Scope::Operator => vec![None],
        Scope::Partner(va) => super::principals_funded_by(&app.store, va)
            .await
            .map_err(|e| ApprovalError::Store(e.to_string()))?
            .into_iter()
            .map(Some)
            .collect(),
        Scope::Merchant(_) => return Ok((Vec::new(), None)),
    };
    // Each owner's page, merged by id: the first `limit` ids of them all.
    let mut read = Vec::new();
    for owner in owners {
        let page = app
            .store
            .records_in_state(
                super::RECORD,
                IndexedState::WaitingApproval,
                owner.as_deref(),
                after,
                limit,
            )
            .await
            .map_err(|e| ApprovalError::Store(e.to_string()))?;
        read.extend(page);
    }
    read.sort_by(|a, b| a.key.cmp(&b.key));
    read.truncate(limit as usize);
    let next = (read.len() == limit as usize)
        .then(|| read.last().map(|r| r.key.clone()))
        .flatten();
    let mut shown = Vec::with_capacity(read.len());
    for r in read {
        let d: Disbursement = r
            .data
            .decode()
            .map_err(|e| ApprovalError::Store(format!("disbursement {}: {e}", r.key)))?;
        if visible_to(scope, &d) {
            shown.push(d);
        }
    }
    Ok((shown, next))
}

/// Decides payouts `ids` that `scope` sees, all or none: every requester's
/// share (with the audit entry `audit` makes for it) in one step. All must be
/// waiting; an id `scope` does not see reads as unknown.
pub async fn decide_for(
    app: &App,
    scope: &Scope,
    ids: &[String],
    approve: bool,
    audit: impl Fn(&[Disbursement]) -> RecordWrite,
) -> Result<Vec<Disbursement>, ApprovalError> {
    let mut seen = std::collections::HashSet::new();
    let ids: Vec<String> = ids
        .iter()
        .filter(|id| seen.insert(id.as_str()))
        .cloned()
        .collect();
    if ids.is_empty() || ids.len() > MAX_PER_APPROVAL {
        return Err(ApprovalError::BadCount);
    }
    // By requester (face, principal), as each requester's batches are its own.
    let mut groups: BTreeMap<(String, String), (Requester, Vec<String>)> = BTreeMap::new();
    for id in &ids {
        let (d, _) = super::load(&app.store, id)
            .await
            .map_err(|e| ApprovalError::Store(e.to_string()))?
            .filter(|(d, _)| visible_to(scope, d))
            .ok_or_else(|| ApprovalError::NotFound(id.clone()))?;
        let r = d.requester;
        groups
            .entry((r.face.as_str().to_string(), r.principal.clone()))
            .or_insert_with(|| (r, Vec::new()))
            .1
            .push(d.id);
    }
    // A freshly drawn cash-out code may already exist: draw again.
    for _ in 0..8 {
        let mut step = Step::default();
        let mut decided = Vec::with_capacity(ids.len());
        for (requester, ids) in groups.values() {
            let found = waiting(app, requester, ids).await?;
            let (part, mine) = if approve {
                approval_step(app, requester, found)
            } else {
                rejection_step(app, found).await?
            };
            merge(&mut step, part);
            step.records.push(audit(&mine));
            decided.extend(mine);
        }
        match app.commit(step).await {
            Ok(_) => return Ok(decided),
            Err(StepError::RecordConflict { kind, .. }) if kind == cashout::CODE_RECORD => continue,
            Err(e) => return Err(conflict_or_store(e, &ids)),
        }
    }
    Err(ApprovalError::Store(
        "could not draw unique cash-out codes".into(),
    ))
}

/// `part` added to `step`.
fn merge(step: &mut Step, part: Step) {
    step.accounts.extend(part.accounts);
    step.ledger.extend(part.ledger);
    step.records.extend(part.records);
    step.notifications.extend(part.notifications);
    step.timers.extend(part.timers);
}
