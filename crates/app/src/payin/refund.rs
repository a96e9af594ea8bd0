//! Refunds: part or all of a paid bill given back to its customer through the
//! channel it came in by. Two steps, so that no money leaves at the channel
//! that the ledger has not taken first:
//!
//! 1. The merchant's settlement account and the operator's fee account pay the
//!    channel's clearing account back (the payment's entry in reverse, for this
//!    share), the refund is recorded as requested under a reference of its own,
//!    and a timer is set to finish it should this process stop here.
//! 2. The channel is asked (idempotently by that reference). Given back: the
//!    refund is done (the merchant told when the bill is refunded in full).
//!    Refused: the first entry is undone and the bill is as it was.

use super::{find_channel, load, money_step, record_write, BillStatus, Races, Requester};
use crate::scheduler::{TimerError, TimerHandler};
use crate::App;
use async_trait::async_trait;
use gerbang_channels::collect::{RefundOrder, RefundOutcome};
use gerbang_core::ledger::LedgerError;
use gerbang_core::payin::{Bill, BillRefund, RefundState};
use gerbang_core::Timestamp;
use gerbang_store::{Expect, NewTimer, SharedStore, Step, StepError, Timer, TimerOp};
use std::sync::Arc;

/// The timer that finishes a refund its request left unfinished.
pub const REFUND_TIMER: &str = "payin.refund.settle";
/// How long a requested refund waits for its first try to finish it.
const SETTLE_AFTER_SECONDS: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    #[error("no such bill")]
    NotFound,
    #[error("the bill was not paid")]
    NotPaid,
    #[error("the bill was refunded in full")]
    AlreadyRefunded,
    #[error("at most {left} minor units are left to refund")]
    Amount { left: i64 },
    #[error("the merchant's balance does not cover the refund")]
    MerchantBalance,
    #[error("the channel refused the refund: {0}")]
    ChannelRefused(String),
    #[error("storage: {0}")]
    Store(String),
}

fn store_error(e: impl std::fmt::Display) -> RefundError {
    RefundError::Store(e.to_string())
}

fn timer_key(reference: &str) -> String {
    format!("refund:{reference}")
}

/// The bill's status for what is refunded (or being refunded) of what was paid.
fn status_for(refunded_minor: i64, paid_minor: i64) -> BillStatus {
    match refunded_minor {
        0 => BillStatus::Paid,
        r if r >= paid_minor => BillStatus::Refunded,
        _ => BillStatus::PartlyRefunded,
    }
}

/// Gives back `amount_minor` (all that is left when `None`) of a requester's
/// paid bill; the operator's fee comes back in proportion (the rest of it with
/// the last refund).
pub async fn refund(
    app: &App,
    requester: &Requester,
    id: &str,
    amount_minor: Option<i64>,
) -> Result<Bill, RefundError> {
    let reference = request(app, requester, id, amount_minor).await?;
    match settle_refund(app, id, &reference).await {
        // Taken from the merchant already: its timer finishes it, so it is
        // answered as requested, not as a failure.
        Err(RefundError::Store(e)) => {
            tracing::warn!(bill = id, refund = %reference, error = %e, "refund left to its timer");
            load(&app.store, id)
                .await
                .map_err(store_error)?
                .map(|(b, _)| b)
                .ok_or(RefundError::NotFound)
        }
        settled => settled,
    }
}

/// Step 1: takes the refund from the merchant; its reference.
async fn request(
    app: &App,
    requester: &Requester,
    id: &str,
    amount_minor: Option<i64>,
) -> Result<String, RefundError> {
    let mut races = Races::default();
    while races.another().await {
        let (b, version) = load(&app.store, id)
            .await
            .map_err(store_error)?
            .filter(|(b, _)| b.requester == *requester)
            .ok_or(RefundError::NotFound)?;
        let paid = match (&b.status, &b.payment) {
            (BillStatus::Paid | BillStatus::PartlyRefunded, Some(p)) => p.amount_minor,
            (BillStatus::Refunded, _) => return Err(RefundError::AlreadyRefunded),
            _ => return Err(RefundError::NotPaid),
        };
        let left = paid - b.refunded_minor;
        let amount_minor = amount_minor.unwrap_or(left);
        if amount_minor <= 0 || amount_minor > left {
            return Err(RefundError::Amount { left });
        }
        let channel = find_channel(&b.channel).ok_or(RefundError::NotFound)?;
        let now = app.now();
        // The refund undoes its share of the payment's entry: the operator's fee
        // comes back in proportion (the rest of it with the last refund).
        let fee = b.payment.as_ref().map_or(0, |p| p.fee_minor);
        let fee_to = |refunded: i64| {
            if refunded == paid {
                fee
            } else {
                (i128::from(fee) * i128::from(refunded) / i128::from(paid.max(1))) as i64
            }
        };
        let mut next = b.clone();
        next.refunded_minor += amount_minor;
        let fee_share = fee_to(next.refunded_minor) - fee_to(b.refunded_minor);
        next.status = status_for(next.refunded_minor, paid);
        next.status_at = now;
        // One reference per refund: the version read decides which one this is.
        let reference = format!("{}-R{}", b.id, b.refunds.len() + 1);
        next.refunds.push(BillRefund {
            reference: reference.clone(),
            amount_minor,
            fee_minor: fee_share,
            state: RefundState::Requested,
            requested_at: now,
            channel_reference: None,
            refused_because: None,
        });
        let mut step = money_step(
            &b,
            channel,
            "refund",
            format!("refund of {} bill {}", channel.name, b.reference),
            -amount_minor,
            -fee_share,
        );
        step.records
            .push(record_write(&next, Expect::Version(version)));
        step.timers.push(TimerOp::Schedule(NewTimer {
            key: timer_key(&reference),
            kind: REFUND_TIMER.into(),
            due_at: now.plus_seconds(SETTLE_AFTER_SECONDS),
            payload: serde_json::json!({ "bill": b.id, "reference": reference }).into(),
        }));
        match app.commit(step).await {
            Ok(_) => return Ok(reference),
            Err(StepError::RecordConflict { .. }) => continue,
            Err(StepError::Ledger(LedgerError::InsufficientFunds(_))) => {
                return Err(RefundError::MerchantBalance)
            }
            Err(e) => return Err(store_error(e)),
        }
    }
    Err(RefundError::Store("the bill kept changing".into()))
}

/// Step 2: asks the channel to give back the requested refund `reference` of
/// bill `id`, and records its answer. A refund already settled answers as it
/// ended.
pub async fn settle_refund(app: &App, id: &str, reference: &str) -> Result<Bill, RefundError> {
    let (b, _) = load(&app.store, id)
        .await
        .map_err(store_error)?
        .ok_or(RefundError::NotFound)?;
    let Some(asked) = b.refunds.iter().find(|r| r.reference == reference).cloned() else {
        return Err(RefundError::NotFound);
    };
    if asked.state != RefundState::Requested {
        return ended(b, &asked);
    }
    let channel = find_channel(&b.channel).ok_or(RefundError::NotFound)?;
    let order = RefundOrder {
        bill_id: &b.id,
        channel,
        reference,
        amount_minor: asked.amount_minor,
        customer_phone: b.customer.phone.expose(),
    };
    let outcome = app.collectors.refund(&order).await;
    let mut races = Races::default();
    while races.another().await {
        let (b, version) = load(&app.store, id)
            .await
            .map_err(store_error)?
            .ok_or(RefundError::NotFound)?;
        let Some(at) = b.refunds.iter().position(|r| r.reference == reference) else {
            return Err(RefundError::NotFound);
        };
        if b.refunds[at].state != RefundState::Requested {
            let asked = b.refunds[at].clone();
            return ended(b, &asked);
        }
        let now = app.now();
        let mut next = b.clone();
        let mut step = Step {
            timers: vec![TimerOp::Remove(timer_key(reference))],
            ..Step::default()
        };
        match &outcome {
            RefundOutcome::Refunded { reference } => {
                next.refunds[at].state = RefundState::Refunded;
                next.refunds[at].channel_reference = Some(reference.clone());
                // Told once, by the last of the bill's refunds to be given back.
                let last = next
                    .refunds
                    .iter()
                    .all(|r| r.state != RefundState::Requested);
                if next.status == BillStatus::Refunded && last {
                    step.notifications.extend(
                        crate::faces::bill_notice(app, &next)
                            .await
                            .map_err(store_error)?,
                    );
                }
            }
            RefundOutcome::Refused { reason } => {
                // The first entry undone: the merchant has it again.
                let asked = &next.refunds[at];
                let paid = b.payment.as_ref().map_or(0, |p| p.amount_minor);
                let undo = money_step(
                    &b,
                    channel,
                    "refund_refused",
                    format!("refused refund of {} bill {}", channel.name, b.reference),
                    asked.amount_minor,
                    asked.fee_minor,
                );
                next.refunded_minor -= asked.amount_minor;
                next.status = status_for(next.refunded_minor, paid);
                next.status_at = now;
                next.refunds[at].state = RefundState::Refused;
                next.refunds[at].refused_because = Some(reason.clone());
                step.accounts = undo.accounts;
                step.ledger = undo.ledger;
            }
        }
        step.records
            .push(record_write(&next, Expect::Version(version)));
        match app.commit(step).await {
            Ok(_) => {
                let asked = next.refunds[at].clone();
                return ended(next, &asked);
            }
            Err(StepError::RecordConflict { .. }) => continue,
            Err(e) => return Err(store_error(e)),
        }
    }
    Err(RefundError::Store("the bill kept changing".into()))
}

/// How a settled refund answers.
fn ended(b: Bill, refund: &BillRefund) -> Result<Bill, RefundError> {
    match refund.state {
        RefundState::Refused => Err(RefundError::ChannelRefused(
            refund.refused_because.clone().unwrap_or_default(),
        )),
        _ => Ok(b),
    }
}

/// Finishes a refund whose request stopped between its two steps.
pub struct RefundSettler {
    pub app: Arc<App>,
}

#[async_trait]
impl TimerHandler for RefundSettler {
    async fn fire(
        &self,
        store: &SharedStore,
        timer: &Timer,
        now: Timestamp,
    ) -> Result<(), TimerError> {
        let (Some(id), Some(reference)) = (
            timer.payload["bill"].as_str(),
            timer.payload["reference"].as_str(),
        ) else {
            return Err(TimerError::Permanent(format!(
                "timer {} names no refund",
                timer.key
            )));
        };
        match settle_refund(&self.app, id, reference).await {
            // Refused is settled too (the merchant has the money again), and a
            // refund that is gone has nothing left to do. The settling step removed
            // the timer; one settled before leaves it.
            Ok(_) | Err(RefundError::ChannelRefused(_) | RefundError::NotFound) => {
                crate::scheduler::drop_timer(store, now, &timer.key).await
            }
            Err(e) => Err(TimerError::Retry(e.to_string())),
        }
    }
}
