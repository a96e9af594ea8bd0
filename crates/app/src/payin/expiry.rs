//! The end of an unpaid bill at its `expires_at`: nothing moved, the merchant told.

use crate::scheduler::{TimerError, TimerHandler};
use crate::App;
use async_trait::async_trait;
use gerbang_core::Timestamp;
use gerbang_store::{SharedStore, Timer};
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
        let Some(id) = timer.payload["bill"].as_str() else {
            return Err(TimerError::Permanent(format!(
                "timer {} names no bill",
                timer.key
            )));
        };
        let Some((bill, _)) = super::load(store, id).await? else {
            return crate::scheduler::drop_timer(store, now, &timer.key).await;
        };
        if bill.status != gerbang_core::payin::BillStatus::Pending {
            return crate::scheduler::drop_timer(store, now, &timer.key).await;
        }
        if now < bill.expires_at {
            return Err(TimerError::Retry("the bill has not expired yet".into()));
        }
        match super::expire(&self.app, id).await {
            Ok(_) => Ok(()),
            // Paid or cancelled meanwhile: look again.
            Err(e) => Err(TimerError::Retry(e.to_string())),
        }
    }
}
