//! The end of an unclaimed code: at its expiry the hold is released, the code
//! dies for every network, and the requester is told the payout failed.

use crate::payout::{self, end_unsent, Failure, Status};
use crate::scheduler::{TimerError, TimerHandler};
use crate::App;
use async_trait::async_trait;
use gerbang_core::Timestamp;
use gerbang_store::{SharedStore, Step, StepError, Timer};
use std::sync::Arc;

pub struct Expirer {
    pub app: Arc<App>,
}

#[async_trait]
impl TimerHandler for Expirer {
    async fn fire(
        &self,
        store: &SharedStore,
        timer: &Timer,
        now: Timestamp,
    ) -> Result<(), TimerError> {
        let found = payout::of_timer(store, timer).await?;
        // Still waiting to be claimed, or to be approved with a life of its own (a
        // default life begins at approval, which schedules its own timer)?
        let live = found.and_then(|(d, version)| {
            let c = d.cash_code().filter(|c| c.payment.is_none())?;
            let life_begun = match d.status {
                Status::Processing => true,
                Status::WaitingApproval => c.lifetime_seconds.is_none(),
                _ => false,
            };
            let expires_at = c.expires_at;
            life_begun.then_some((d, version, expires_at))
        });
        let Some((d, version, expires_at)) = live else {
            return crate::scheduler::drop_timer(store, now, &timer.key).await;
        };
        if now < expires_at {
            // Not yet (the clock of another process was behind): the timer stays.
            return Err(TimerError::Retry("the code has not expired yet".into()));
        }
        // The step removes this timer with the payout's others.
        let mut step = Step::default();
        end_unsent(&self.app, &mut step, &d, version, Failure::CodeExpired, now).await?;
        match self.app.commit(step).await {
            Ok(_) => Ok(()),
            // Claimed (or approved, or rejected) meanwhile: look again.
            Err(StepError::RecordConflict { .. }) => {
                Err(TimerError::Retry("cash-out changed meanwhile".into()))
            }
            Err(e) => Err(e.into()),
        }
    }
}
