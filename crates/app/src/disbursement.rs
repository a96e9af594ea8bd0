//! Disbursements: money from a partner's balance to a bank account.
//!
//! Accepting one holds the amount and schedules its dispatch (at once after the
//! channel's latency, at the instructed time, or after approval). Dispatching
//! sends it to the bank; the bank's final answer posts the hold to the bank's
//! clearing account (success) or releases it (failure), and tells the partner —
//! state, postings and notification in one step. A pending answer is asked about
//! again later. Every step is driven by a durable timer, so a restart loses nothing.

use crate::cashout::{self, CashoutState, NewCashout};
use crate::principals::SendmePartner;
use crate::scheduler::TimerHandler;
use crate::App;
use async_trait::async_trait;
use gerbang_channels::bank::{BankOutcome, BankTransfer};
use gerbang_core::ledger::{
    codes, AccountKind, LedgerError, LedgerOp, NewAccount, NewHold, PostHold, Posting,
};
use gerbang_core::{Currency, Timestamp};
use gerbang_store::{
    Document, Expect, NewIdempotency, NewNotification, NewTimer, RecordWrite, SharedStore, Step,
    StepError, StoreError, Timer, TimerOp,
};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Disbursement records, key = transaction id, owner = partner VA.
pub const RECORD: &str = "disbursement";
/// The timer that sends a disbursement to its bank or asks about it again.
pub const DISPATCH_TIMER: &str = "disbursement.dispatch";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Held; waits for the partner's approval.
    WaitingApproval,
    /// Held; on its way to (or at) the bank.
    Processing,
    Succeeded,
    Failed,
    /// Undone after it had succeeded (a cash-out reversal).
    Reversed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::WaitingApproval => "waiting_approval",
            Status::Processing => "processing",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Reversed => "reversed",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed | Status::Reversed)
    }
}

/// A disbursement as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Disbursement {
    pub id: String,
    pub partner_va: String,
    /// The partner's own reference (`trx_no`), unique per partner.
    pub reference: String,
    /// The gateway's reference shown to the partner (`trx_reff`).
    pub gateway_reference: String,
    pub bank_code: String,
    pub bank_name: String,
    pub account: String,
    pub account_name: String,
    pub beneficiary_va: Option<String>,
    pub amount_minor: i64,
    pub description: String,
    pub callback_url: Option<String>,
    /// Which protocol asked for it; decides the notification's shape.
    pub origin: String,
    /// What the partner sent, kept to answer status inquiries and notifications.
    pub request: Document,
    pub status: Status,
    pub bank_response_code: Option<String>,
    pub bank_response_message: Option<String>,
    pub bank_attempts: u32,
    pub created_at: Timestamp,
    pub dispatch_at: Timestamp,
    pub status_at: Timestamp,
    /// Set when this is a cash-out rather than a transfer to an account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cashout: Option<CashoutState>,
}

impl Disbursement {
    pub(crate) fn hold_key(&self) -> String {
        format!("disbursement:{}", self.id)
    }

    pub(crate) fn timer_key(&self) -> String {
        format!("{DISPATCH_TIMER}:{}", self.id)
    }
}

/// What a protocol adapter asks for.
#[derive(Clone, Debug)]
pub struct NewDisbursement {
    pub reference: String,
    /// A digest of everything that makes this request what it is: the same
    /// reference with another fingerprint is a different request.
    pub fingerprint: String,
    pub bank_code: String,
    pub bank_name: String,
    pub account: String,
    pub account_name: String,
    pub beneficiary_va: Option<String>,
    pub amount_minor: i64,
    pub description: String,
    pub callback_url: Option<String>,
    pub origin: String,
    /// What the partner sent, as answers echo it.
    pub request: Document,
    /// When to send it; `None` or a past instant: now.
    pub instruct_at: Option<Timestamp>,
    /// A cash-out: no bank; a code the network claims.
    pub cashout: Option<NewCashout>,
}

#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error("the reference was used before for another request")]
    DuplicateReference,
    #[error("insufficient available balance")]
    InsufficientBalance,
    #[error("storage: {0}")]
    Store(String),
}

/// Renders the notification a partner gets when a disbursement changes status.
pub trait NoticeRenderer: Send + Sync {
    fn render(&self, d: &Disbursement, partner: &SendmePartner) -> Option<NewNotification>;
}

/// A transaction id: 16 digits, a leading 1, then milliseconds since 2024 (12
/// digits, good until 2055) and 3 random digits; each larger than the last in
/// this process, so new rows land at the end of every index keyed by them (a
/// random id would touch a scattered page of each index per transfer). Another
/// process drawing the same id meets the "id taken, draw another" retry.
fn new_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    const BASE: u64 = 1_000_000_000_000_000;
    const EPOCH_MILLIS: u64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
        .saturating_sub(EPOCH_MILLIS);
    let candidate =
        BASE + (millis % 1_000_000_000_000) * 1000 + rand::thread_rng().gen_range(0..1000);
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let id = candidate.max(last + 1);
        match LAST.compare_exchange_weak(last, id, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return id.to_string(),
            Err(seen) => last = seen,
        }
    }
}

fn new_gateway_reference(id: &str) -> String {
    use rand::distributions::{Alphanumeric, DistString};
    format!(
        "{}_{id}",
        Alphanumeric.sample_string(&mut rand::thread_rng(), 20)
    )
}

fn idempotency_scope(partner_va: &str) -> String {
    format!("disbursement:{partner_va}")
}

pub async fn load(
    store: &SharedStore,
    id: &str,
) -> Result<Option<(Disbursement, i64)>, StoreError> {
    crate::stored::load(&**store, RECORD, id).await
}

/// The disbursement a timer's payload names (`{"id": …}`), if it still exists.
pub(crate) async fn of_timer(
    store: &SharedStore,
    timer: &Timer,
) -> Result<Option<(Disbursement, i64)>, String> {
    match timer.payload["id"].as_str() {
        Some(id) => load(store, id).await.map_err(|e| e.to_string()),
        None => Ok(None),
    }
}

/// The id of a partner's disbursement by its own reference.
pub async fn id_by_reference(
    store: &SharedStore,
    partner_va: &str,
    reference: &str,
) -> Result<Option<String>, StoreError> {
    Ok(store
        .idempotency(&idempotency_scope(partner_va), reference)
        .await?
        .map(|idem| idem.response))
}

/// A partner's disbursement by its own reference.
pub async fn by_reference(
    store: &SharedStore,
    partner_va: &str,
    reference: &str,
) -> Result<Option<Disbursement>, StoreError> {
    let Some(id) = id_by_reference(store, partner_va, reference).await? else {
        return Ok(None);
    };
    Ok(load(store, &id).await?.map(|(d, _)| d))
}

pub(crate) fn record_write(d: &Disbursement, expect: Expect) -> RecordWrite {
    RecordWrite {
        kind: RECORD.into(),
        key: d.id.clone(),
        owner: d.partner_va.clone(),
        state: d.status.as_str().into(),
        data: Document::of(d),
        expect,
    }
}

fn dispatch_timer(d: &Disbursement, at: Timestamp) -> TimerOp {
    TimerOp::Schedule(NewTimer {
        key: d.timer_key(),
        kind: DISPATCH_TIMER.into(),
        due_at: at,
        payload: serde_json::json!({ "id": d.id }).into(),
    })
}

/// Accepts a disbursement: holds its amount and schedules it. A retry of the same
/// request (same reference, same fingerprint) answers the first one again.
pub async fn accept(
    app: &App,
    partner: &SendmePartner,
    req: NewDisbursement,
) -> Result<Disbursement, AcceptError> {
    let now = app.now();
    let scope = idempotency_scope(&partner.virtual_account);
    let latency = app.config.simulator.bank_latency_seconds as i64;
    for _ in 0..8 {
        let id = new_id();
        let dispatch_at = match req.instruct_at {
            Some(at) if at > now => at,
            _ => now.plus_seconds(latency),
        };
        let mut d = Disbursement {
            gateway_reference: new_gateway_reference(&id),
            id,
            partner_va: partner.virtual_account.clone(),
            reference: req.reference.clone(),
            bank_code: req.bank_code.clone(),
            bank_name: req.bank_name.clone(),
            account: req.account.clone(),
            account_name: req.account_name.clone(),
            beneficiary_va: req.beneficiary_va.clone(),
            amount_minor: req.amount_minor,
            description: req.description.clone(),
            callback_url: req.callback_url.clone(),
            origin: req.origin.clone(),
            request: req.request.clone(),
            status: if partner.require_approval {
                Status::WaitingApproval
            } else {
                Status::Processing
            },
            bank_response_code: None,
            bank_response_message: None,
            bank_attempts: 0,
            created_at: now,
            dispatch_at,
            status_at: now,
            cashout: None,
        };
        let waits = partner.require_approval;
        let mut records = Vec::with_capacity(2);
        let timers = match &req.cashout {
            Some(c) => {
                let code = (!waits).then(cashout::draw_code);
                if let Some(code) = &code {
                    records.push(cashout::issue_code(code, &d.id, &d.partner_va, c.network));
                }
                d.cashout = Some(CashoutState {
                    network: c.network,
                    phone: gerbang_core::mask::Masked(c.phone.clone()),
                    code: code.map(gerbang_core::mask::Secret::new),
                    expires_at: c.expires_at,
                    lifetime_seconds: c.lifetime_seconds,
                    payment: None,
                    advised_at: None,
                    reversed_at: None,
                });
                // A default life waiting for approval has not begun: approval sets
                // its timer.
                let life_begun = !waits || c.lifetime_seconds.is_none();
                life_begun
                    .then(|| cashout::expiry_timer(&d.id, c.expires_at))
                    .into_iter()
                    .collect()
            }
            None if d.status == Status::Processing => vec![dispatch_timer(&d, dispatch_at)],
            None => vec![],
        };
        records.insert(0, record_write(&d, Expect::Absent));
        let step = Step {
            idempotency: Some(NewIdempotency {
                scope: scope.clone(),
                key: req.reference.clone(),
                fingerprint: req.fingerprint.clone(),
                response: d.id.clone(),
            }),
            ledger: vec![LedgerOp::Hold(NewHold {
                key: d.hold_key(),
                account: partner.account_code(),
                amount: d.amount_minor,
                currency: Currency::Idr,
                expires_at: None,
            })],
            records,
            timers,
            ..Step::default()
        };
        match app.commit(step).await {
            Ok(_) => return Ok(d),
            Err(StepError::Duplicate(existing)) => {
                if existing.fingerprint != req.fingerprint {
                    return Err(AcceptError::DuplicateReference);
                }
                return match load(&app.store, &existing.response).await {
                    Ok(Some((d, _))) => Ok(d),
                    Ok(None) => Err(AcceptError::Store("disbursement vanished".into())),
                    Err(e) => Err(AcceptError::Store(e.to_string())),
                };
            }
            Err(StepError::Ledger(LedgerError::InsufficientFunds(_))) => {
                return Err(AcceptError::InsufficientBalance)
            }
            // The random id (or code) was taken: draw another.
            Err(StepError::RecordConflict { .. }) => continue,
            Err(e) => return Err(AcceptError::Store(e.to_string())),
        }
    }
    Err(AcceptError::Store(
        "could not allocate a transaction id".into(),
    ))
}

/// Sends due disbursements to their banks and settles the answers.
pub struct Dispatcher {
    pub app: Arc<App>,
}

impl Dispatcher {
    /// Sends a disbursement to its bank (or asks again about it) and returns the
    /// step that records the answer.
    pub async fn send(
        &self,
        d: &Disbursement,
        version: i64,
        now: Timestamp,
    ) -> Result<Step, String> {
        let answer = self
            .app
            .banks
            .transfer(
                &BankTransfer {
                    reference: d.id.clone(),
                    bank_code: d.bank_code.clone(),
                    account: d.account.clone(),
                    name: d.account_name.clone(),
                    amount_minor: d.amount_minor,
                    attempt: d.bank_attempts,
                },
                now,
            )
            .await;
        Ok(match answer {
            BankOutcome::Succeeded { code, message } => {
                self.settle(d, version, (Status::Succeeded, code, message), now)
                    .await?
            }
            BankOutcome::Failed { code, message } => {
                self.settle(d, version, (Status::Failed, code, message), now)
                    .await?
            }
            BankOutcome::Pending {
                check_after_seconds,
            } => {
                let mut next = d.clone();
                next.bank_attempts += 1;
                next.bank_response_message = Some("Pending at the bank".into());
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

    /// The step that ends a disbursement with the bank's final answer.
    async fn settle(
        &self,
        d: &Disbursement,
        version: i64,
        (status, code, message): (Status, String, String),
        now: Timestamp,
    ) -> Result<Step, String> {
        let mut next = d.clone();
        next.status = status;
        next.bank_response_code = Some(code);
        next.bank_response_message = Some(message);
        next.bank_attempts += 1;
        next.status_at = now;
        let network = if gerbang_channels::ewallet::by_code(&d.bank_code).is_some() {
            "wallet"
        } else {
            "bank"
        };
        let clearing = codes::channel_clearing(&format!("{network}:{}", d.bank_code));
        let ledger = if status == Status::Succeeded {
            LedgerOp::Post(PostHold {
                key: d.hold_key(),
                kind: "transfer".into(),
                reference: d.reference.clone(),
                description: format!(
                    "{} {} {}",
                    d.description,
                    d.beneficiary_va.as_deref().unwrap_or(&d.account),
                    d.gateway_reference
                ),
                credits: vec![Posting {
                    account: clearing.clone(),
                    amount: d.amount_minor,
                }],
            })
        } else {
            LedgerOp::Void { key: d.hold_key() }
        };
        let notifications = self
            .app
            .notice_of(&next)
            .await
            .map_err(|e| e.to_string())?
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
            timers: vec![TimerOp::Remove(d.timer_key())],
            ..Step::default()
        })
    }
}

#[async_trait]
impl TimerHandler for Dispatcher {
    async fn fire(&self, store: &SharedStore, timer: &Timer, now: Timestamp) -> Result<(), String> {
        let found = of_timer(store, timer).await?;
        let Some((d, version)) =
            found.filter(|(d, _)| d.status == Status::Processing && d.cashout.is_none())
        else {
            return crate::scheduler::drop_timer(store, now, &timer.key).await;
        };
        let step = self.send(&d, version, now).await?;
        match self.app.commit(step).await {
            Ok(_) => Ok(()),
            // Someone else moved it meanwhile (approval, another worker): look again later.
            Err(StepError::RecordConflict { .. }) => Err("disbursement changed meanwhile".into()),
            Err(e) => Err(e.to_string()),
        }
    }
}
