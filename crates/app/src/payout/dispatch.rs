//! Sending a payout to its bank or wallet, and settling the answer.

use super::{dispatch_timer, hold_key, record_write, timer_key};
use super::{ChannelAnswer, Disbursement, Failure, Payee, Status};
use crate::scheduler::{TimerError, TimerHandler};
use crate::App;
use async_trait::async_trait;
use gerbang_channels::bank::{BankOutcome, BankTransfer};
use gerbang_core::ledger::{codes, AccountKind, LedgerOp, NewAccount, PostHold, Posting};
use gerbang_core::{Currency, Timestamp};
use gerbang_store::{Expect, SharedStore, Step, StepError, Timer, TimerOp};
use std::sync::Arc;

/// Sends due disbursements to their channels and settles the answers.
pub struct Dispatcher {
    pub app: Arc<App>,
}

/// The clearing account e-wallet top-ups of the wallet with `code` are paid from.
pub(crate) fn wallet_clearing(code: &str) -> String {
    let name = gerbang_channels::ewallet::by_code(code)
        .map(|w| w.slug)
        .unwrap_or(code);
    codes::channel_clearing(&format!("wallet:{name}"))
}

/// The clearing account a payee's channel is paid from.
fn clearing_account(payee: &Payee) -> Option<String> {
    match payee {
        Payee::BankAccount(a) => Some(codes::channel_clearing(&format!("bank:{}", a.channel))),
        Payee::EWallet(a) => Some(wallet_clearing(&a.channel)),
        Payee::CashCode(_) => None,
    }
}

impl Dispatcher {
    /// Sends a disbursement to its channel (or asks again about it) and returns the
    /// step that records the answer.
    pub async fn send(
        &self,
        d: &Disbursement,
        version: i64,
        now: Timestamp,
    ) -> Result<Step, TimerError> {
        let payee = d.account_payee().ok_or_else(|| {
            TimerError::Permanent(format!("disbursement {} pays no account", d.id))
        })?;
        let answer = self
            .app
            .banks
            .transfer(
                &BankTransfer {
                    reference: d.id.clone(),
                    bank_code: payee.channel.clone(),
                    account: payee.account.expose().to_string(),
                    name: payee.holder.clone(),
                    amount_minor: d.amount_minor,
                    attempt: d.channel_attempts,
                },
                now,
            )
            .await;
        Ok(match answer {
            BankOutcome::Succeeded { code, message } => {
                self.settle(
                    d,
                    version,
                    Status::Succeeded,
                    ChannelAnswer { code, message },
                    now,
                )
                .await?
            }
            BankOutcome::Failed { code, message } => {
                self.settle(
                    d,
                    version,
                    Status::Failed,
                    ChannelAnswer { code, message },
                    now,
                )
                .await?
            }
            BankOutcome::Pending {
                check_after_seconds,
            } => {
                let mut next = d.clone();
                next.channel_attempts += 1;
                Step {
                    records: vec![record_write(&next, Expect::Version(version))],
                    timers: vec![dispatch_timer(
                        &next,
                        now.plus_seconds(check_after_seconds.max(1)),
                    )],
                    ..Step::default()
                }
            }
        })
    }

    /// The step that ends a disbursement with the channel's final answer.
    async fn settle(
        &self,
        d: &Disbursement,
        version: i64,
        status: Status,
        answer: ChannelAnswer,
        now: Timestamp,
    ) -> Result<Step, TimerError> {
        let mut next = d.clone();
        next.status = status;
        next.failure = (status == Status::Failed).then_some(Failure::Declined);
        next.channel_answer = Some(answer);
        next.channel_attempts += 1;
        next.status_at = now;
        let clearing = clearing_account(&d.payee).ok_or_else(|| {
            TimerError::Permanent(format!("disbursement {} has no clearing account", d.id))
        })?;
        let ledger = if status == Status::Succeeded {
            let payee = d.account_payee();
            LedgerOp::Post(PostHold {
                key: hold_key(d),
                kind: "transfer".into(),
                reference: d.reference.clone(),
                description: super::journal_line(
                    d,
                    payee
                        .and_then(|p| p.beneficiary.as_deref())
                        .or(payee.map(|p| p.account.expose()))
                        .unwrap_or_default(),
                ),
                credits: vec![Posting {
                    account: clearing.clone(),
                    amount: d.amount_minor,
                }],
            })
        } else {
            LedgerOp::Void { key: hold_key(d) }
        };
        let notifications = crate::faces::payout_notice(&self.app, &next)
            .await?
            .into_iter()
            .collect();
        Ok(Step {
            accounts: vec![NewAccount {
                code: clearing,
                kind: AccountKind::ChannelClearing,
                currency: Currency::Idr,
            }],
            ledger: vec![ledger],
            records: vec![record_write(&next, Expect::Version(version))],
            notifications,
            timers: vec![TimerOp::Remove(timer_key(d))],
            ..Step::default()
        })
    }
}

#[async_trait]
impl TimerHandler for Dispatcher {
    async fn fire(
        &self,
        store: &SharedStore,
        timer: &Timer,
        now: Timestamp,
    ) -> Result<(), TimerError> {
        let found = super::of_timer(store, timer).await?;
        let Some((d, version)) =
            found.filter(|(d, _)| d.status == Status::Processing && d.account_payee().is_some())
        else {
            return crate::scheduler::drop_timer(store, now, &timer.key).await;
        };
        let step = self.send(&d, version, now).await?;
        match self.app.commit(step).await {
            Ok(_) => Ok(()),
            // Someone else moved it meanwhile (approval, another worker): look again later.
            Err(StepError::RecordConflict { .. }) => {
                Err(TimerError::Retry("disbursement changed meanwhile".into()))
            }
            Err(e) => Err(e.into()),
        }
    }
}
