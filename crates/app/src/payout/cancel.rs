//! Cancelling payouts that have not been sent: one waiting for approval, one
//! scheduled for later, or a cash code nobody has claimed. The hold is released,
//! timers and the code end, and the requester is told the payout failed — one
//! step for all the named payouts, all or none.
//!
//! A payout due at its channel within [`SENDING_MARGIN_SECONDS`] may already be on
//! its way (its dispatch timer may be claimed), so it can no longer be cancelled.
//! A cash code races only with its network's claim; the store lets one of the two
//! steps win.

use super::{end_unsent, load_own, Disbursement, Failure, OwnError, Requester, Status};
use crate::App;
use gerbang_core::ledger::LedgerError;
use gerbang_store::{Step, StepError};

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
    let found = load_own(app, requester, ids, MAX_PER_CANCELLATION)
        .await
        .map_err(|e| match e {
            OwnError::BadCount => CancelError::BadCount,
            OwnError::NotFound(id) => CancelError::NotFound(id),
            OwnError::Store(e) => CancelError::Store(e),
        })?;
    let now = app.now();
    let mut step = Step::default();
    let mut cancelled = Vec::with_capacity(found.len());
    for (d, version) in found {
        if !cancellable(&d, now) {
            return Err(CancelError::NotCancellable(d.id));
        }
        let next = end_unsent(app, &mut step, &d, version, Failure::Cancelled, now)
            .await
            .map_err(|e| CancelError::Store(e.to_string()))?;
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
