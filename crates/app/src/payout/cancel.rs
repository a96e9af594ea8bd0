//! Cancelling payouts that have not been sent: one waiting for approval, one
//! scheduled for later, or a cash code nobody has claimed. The hold is released,
//! timers and the code end, and the requester is told the payout failed — one
//! step for all the named payouts, all or none.
//!
//! A payout due at its channel within [`SENDING_MARGIN_SECONDS`] may already be on
//! its way (its dispatch timer may be claimed), so it can no longer be cancelled.
//! A cash code races only with its network's claim; the store lets one of the two
//! steps win.

use super::{hold_key, record_write, timer_key, Disbursement, Failure, Requester, Status};
use crate::cashout;
use crate::App;
use gerbang_core::ledger::{LedgerError, LedgerOp};
use gerbang_store::{Expect, Step, StepError, TimerOp};

/// How close to its dispatch a payout can no longer be cancelled.
pub const SENDING_MARGIN_SECONDS: i64 = 60;
/// Most payouts one cancellation may name.
pub const MAX_PER_CANCELLATION: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    #[error("no disbursement {0} of this requester")]
    NotFound(String),
    #[error("disbursement {0} has been sent or has ended: it cannot be cancelled")]
    NotCancellable(String),
    #[error("name between 1 and {MAX_PER_CANCELLATION} disbursements")]
    BadCount,
    #[error("storage: {0}")]
    Store(String),
}

/// Whether `d` has not left the gateway yet, seen at `now`.
fn cancellable(d: &Disbursement, now: gerbang_core::Timestamp) -> bool {
    match d.status {
        Status::WaitingApproval => true,
        Status::Processing => match d.cash_code() {
            Some(c) => c.payment.is_none() && now < c.expires_at,
            None => {
                d.channel_attempts == 0 && d.dispatch_at > now.plus_seconds(SENDING_MARGIN_SECONDS)
            }
        },
        Status::Succeeded | Status::Failed | Status::Reversed => false,
    }
}

/// Cancels the named payouts of `requester` (all or none).
pub async fn cancel(
    app: &App,
    requester: &Requester,
    ids: &[String],
) -> Result<Vec<Disbursement>, CancelError> {
    if ids.is_empty() || ids.len() > MAX_PER_CANCELLATION {
        return Err(CancelError::BadCount);
    }
    let now = app.now();
    let mut step = Step::default();
    let mut cancelled = Vec::with_capacity(ids.len());
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    for id in ids.iter().filter(|id| seen.insert(id.as_str())) {
        let (d, version) = super::load(&app.store, id)
            .await
            .map_err(|e| CancelError::Store(e.to_string()))?
            .filter(|(d, _)| d.requester == *requester)
            .ok_or_else(|| CancelError::NotFound(id.clone()))?;
        if !cancellable(&d, now) {
            return Err(CancelError::NotCancellable(id.clone()));
        }
        let mut next = d.clone();
        next.status = Status::Failed;
        next.failure = Some(Failure::Cancelled);
        next.status_at = now;
        step.ledger.push(LedgerOp::Void { key: hold_key(&d) });
        step.timers.push(TimerOp::Remove(timer_key(&d)));
        if d.cash_code().is_some() {
            step.timers
                .push(TimerOp::Remove(cashout::expiry_timer_key(&d.id)));
            step.records.extend(cashout::end_code_of(&d, "cancelled"));
        }
        step.records
            .push(record_write(&next, Expect::Version(version)));
        let notice = crate::faces::payout_notice(app, &next)
            .await
            .map_err(|e| CancelError::Store(e.to_string()))?;
        step.notifications.extend(notice);
        cancelled.push(next);
    }
    match app.commit(step).await {
        Ok(_) => Ok(cancelled),
        // Another step (a claim, an approval, a decision) moved one first.
        Err(StepError::RecordConflict { key, .. }) => Err(CancelError::NotCancellable(key)),
        Err(StepError::Ledger(
            LedgerError::HoldNotPending { .. } | LedgerError::UnknownHold(_),
        )) => Err(CancelError::NotCancellable(ids[0].clone())),
        Err(e) => Err(CancelError::Store(e.to_string())),
    }
}
