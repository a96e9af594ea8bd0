//! The end of an unclaimed code: at `trx_expired` the hold is released, the code
//! dies for every network, and the partner is told the cash-out failed.

use crate::disbursement::{self, record_write, Status};
use crate::scheduler::TimerHandler;
use crate::App;
use async_trait::async_trait;
use gerbang_core::ledger::LedgerOp;
use gerbang_core::Timestamp;
use gerbang_store::{Expect, SharedStore, Step, StepError, Timer, TimerOp};
use std::sync::Arc;

pub struct Expirer {
    pub app: Arc<App>,
}

#[async_trait]
impl TimerHandler for Expirer {
    async fn fire(&self, store: &SharedStore, timer: &Timer, now: Timestamp) -> Result<(), String> {
        let found = disbursement::of_timer(store, timer).await?;
        // Still waiting to be claimed, or to be approved with a life of its own (a
        // default life begins at approval, which schedules its own timer)?
        let live = found.and_then(|(d, version)| {
            let c = d.cashout.clone().filter(|c| c.payment.is_none())?;
            let life_begun = match d.status {
                Status::Processing => true,
                Status::WaitingApproval => c.lifetime_seconds.is_none(),
                _ => false,
            };
            life_begun.then_some((d, version, c))
        });
        let Some((d, version, c)) = live else {
            return crate::scheduler::drop_timer(store, now, &timer.key).await;
        };
        if now < c.expires_at {
            // Not yet (the clock of another process was behind): the timer stays.
            return Err("the code has not expired yet".into());
        }
        let mut next = d.clone();
        next.status = Status::Failed;
        next.status_at = now;
        next.bank_response_code = Some("54".into());
        next.bank_response_message = Some("Cash-out code expired".into());
        let mut step = Step {
            ledger: vec![LedgerOp::Void { key: d.hold_key() }],
            records: vec![record_write(&next, Expect::Version(version))],
            timers: vec![TimerOp::Remove(timer.key.clone())],
            ..Step::default()
        };
        step.records
            .extend(c.end_code(&d.id, &d.partner_va, "expired"));
        step.notifications
            .extend(self.app.notice_of(&next).await.map_err(|e| e.to_string())?);
        match self.app.commit(step).await {
            Ok(_) => Ok(()),
            // Claimed (or approved, or rejected) meanwhile: look again.
            Err(StepError::RecordConflict { .. }) => Err("cash-out changed meanwhile".into()),
            Err(e) => Err(e.to_string()),
        }
    }
}
