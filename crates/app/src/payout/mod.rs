//! The one payout path, whatever face asked for it: accept → (approve) →
//! dispatch → settle, or reject / expire.
//!
//! Accepting holds the amount on the requester's funding account and schedules the
//! dispatch (at once after the channel's latency, at the instructed time, or after
//! approval); a cash-code payee gets its code instead and waits for its network to
//! claim it ([`crate::cashout`]). Dispatching sends it to the bank or wallet; the
//! final answer posts the hold to the channel's clearing account (success) or
//! releases it (failure), and tells the requester — state, postings and notice in
//! one step. A pending answer is asked about again later. Every step is driven by
//! a durable timer, so a restart loses nothing.

pub mod approval;
pub mod batch;
pub mod cancel;
mod dispatch;
pub mod mass;

pub(crate) use dispatch::wallet_clearing;
pub use dispatch::Dispatcher;
pub use gerbang_core::payout::{
    AccountPayee, CashCode, CashNetwork, ChannelAnswer, CodePayment, Disbursement, Face, Failure,
    Payee, Requester, Status,
};

use crate::cashout;
use crate::App;
use gerbang_core::ledger::{LedgerError, LedgerOp, NewHold};
use gerbang_core::{Currency, Timestamp};
use gerbang_store::{
    Document, Expect, NewIdempotency, NewTimer, RecordWrite, SharedStore, Step, StepError,
    StoreError, Timer, TimerOp,
};
use rand::Rng;

/// Disbursement records, key = transaction id, owner = the requester's principal.
pub const RECORD: &str = "disbursement";
/// The timer that sends a disbursement to its channel or asks about it again.
pub const DISPATCH_TIMER: &str = "disbursement.dispatch";

pub(crate) fn hold_key(d: &Disbursement) -> String {
    format!("disbursement:{}", d.id)
}

/// The journal line of a payout that went out: what was sent, `to` whom, and the
/// gateway's reference; parts left empty are left out (no leading space when the
/// partner gave no description).
pub(crate) fn journal_line(d: &Disbursement, to: &str) -> String {
    [d.description.as_str(), to, d.gateway_reference.as_str()]
        .iter()
        .map(|part| part.trim())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn timer_key(d: &Disbursement) -> String {
    format!("{DISPATCH_TIMER}:{}", d.id)
}

/// What a face asks for.
#[derive(Clone, Debug)]
pub struct NewPayout {
    pub requester: Requester,
    /// The ledger account that pays (held now).
    pub funding_account: String,
    /// Whether the requester approves each payout before it goes out.
    pub needs_approval: bool,
    pub reference: String,
    /// A digest of everything that makes this request what it is: the same
    /// reference with another fingerprint is a different request.
    pub fingerprint: String,
    /// Whom it pays; a cash code's `code` is drawn here, not given.
    pub payee: Payee,
    pub amount_minor: i64,
    pub description: String,
    pub notice_url: Option<String>,
    /// What the requester sent, as its face's answers echo it.
    pub request: Document,
    /// When to send it; `None` or a past instant: now.
    pub instruct_at: Option<Timestamp>,
    /// A record the face claims in the same step (a request's once-only id): it
    /// must not exist yet, or nothing is accepted ([`AcceptError::Claimed`]).
    pub claim: Option<RecordWrite>,
}

#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error("the reference was used before for another request")]
    DuplicateReference,
    /// Scheduled further ahead than `[payout] max_schedule_ahead_seconds`.
    #[error("scheduled more than {max_seconds} s ahead")]
    ScheduledTooFar { max_seconds: u64 },
    /// The database is a restored backup an operator has not confirmed yet, and
    /// the reference is new to it (see [`crate::restore`]).
    #[error("the gateway runs on a restored backup not yet reconciled; new references wait")]
    AwaitingRestoreConfirmation,
    /// The notice URL names an internal address, which production does not send to.
    #[error("the notice URL names an internal address")]
    InternalNoticeUrl,
    #[error("insufficient available balance")]
    InsufficientBalance,
    /// The face's claim was made before.
    #[error("claimed before")]
    Claimed,
    #[error("storage: {0}")]
    Store(String),
}

/// A transaction id: 16 digits, a leading 1, then milliseconds since 2024 (12
/// digits, good until 2055) and 3 random digits; each larger than the last in
/// this process, so new rows land at the end of every index keyed by them (a
/// random id would touch a scattered page of each index per transfer). Another
/// process drawing the same id meets the "id taken, draw another" retry.
pub(crate) fn new_id() -> String {
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
) -> Result<Option<(Disbursement, i64)>, crate::scheduler::TimerError> {
    match timer.payload["id"].as_str() {
        Some(id) => crate::stored::load_for_timer(&**store, RECORD, id).await,
        None => Err(crate::scheduler::TimerError::Permanent(
            "timer payload names no disbursement".into(),
        )),
    }
}

/// The id of a requester's disbursement by its own reference.
pub async fn id_by_reference(
    store: &SharedStore,
    requester: &Requester,
    reference: &str,
) -> Result<Option<String>, StoreError> {
    Ok(store
        .idempotency(&requester.reference_scope(), reference)
        .await?
        .map(|idem| idem.response))
}

/// A requester's disbursement by its own reference.
pub async fn by_reference(
    store: &SharedStore,
    requester: &Requester,
    reference: &str,
) -> Result<Option<Disbursement>, StoreError> {
    let Some(id) = id_by_reference(store, requester, reference).await? else {
        return Ok(None);
    };
    Ok(load(store, &id).await?.map(|(d, _)| d))
}

/// The principals whose payouts a SendMe partner's balance `va` funds: the
/// partner itself and each SNAP partner whose source account it is.
pub async fn principals_funded_by(
    store: &SharedStore,
    va: &str,
) -> Result<Vec<String>, StoreError> {
    let mut owners = vec![va.to_string()];
    let mut after: Option<String> = None;
    loop {
        let page = store
            .records(crate::principals::SNAP_PARTNER, None, after.as_deref(), 500)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.key.clone());
        for r in &page {
            let partner: crate::principals::SnapPartner = r
                .data
                .decode()
                .map_err(|e| StoreError(format!("snap partner {}: {e}", r.key)))?;
            if partner.source_account == va {
                owners.push(partner.partner_id);
            }
        }
    }
    Ok(owners)
}

pub fn record_write(d: &Disbursement, expect: Expect) -> RecordWrite {
    RecordWrite {
        kind: RECORD.into(),
        key: d.id.clone(),
        owner: d.requester.principal.clone(),
        state: d.status.as_str().into(),
        data: Document::of(d),
        expect,
    }
}

/// Why named payouts could not be loaded for a decision.
pub(crate) enum OwnError {
    BadCount,
    /// An id that names no payout of the requester.
    NotFound(String),
    Store(String),
}

/// The payouts `ids` names (each once), all of `requester`'s, with their versions;
/// between 1 and `max` of them.
pub(crate) async fn load_own(
    app: &App,
    requester: &Requester,
    ids: &[String],
    max: usize,
) -> Result<Vec<(Disbursement, i64)>, OwnError> {
    if ids.is_empty() || ids.len() > max {
        return Err(OwnError::BadCount);
    }
    let mut out = Vec::with_capacity(ids.len());
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    for id in ids.iter().filter(|id| seen.insert(id.as_str())) {
        let found = load(&app.store, id)
            .await
            .map_err(|e| OwnError::Store(e.to_string()))?
            .filter(|(d, _)| d.requester == *requester)
            .ok_or_else(|| OwnError::NotFound(id.clone()))?;
        out.push(found);
    }
    Ok(out)
}

/// Adds to `step` the end of payout `d` (at `version`), which never reached its
/// channel: its hold released, its timers removed, its code (if one was issued)
/// ended, its record failed with `failure`, and the requester's notice. Returns
/// the payout as it ends.
pub(crate) async fn end_unsent(
    app: &App,
    step: &mut Step,
    d: &Disbursement,
    version: i64,
    failure: Failure,
    now: Timestamp,
) -> Result<Disbursement, StoreError> {
    let mut next = d.clone();
    next.status = Status::Failed;
    next.failure = Some(failure);
    next.status_at = now;
    step.ledger.push(LedgerOp::Void { key: hold_key(d) });
    step.timers.push(TimerOp::Remove(timer_key(d)));
    if d.cash_code().is_some() {
        step.timers
            .push(TimerOp::Remove(cashout::expiry_timer_key(&d.id)));
        let code_state = match failure {
            Failure::CodeExpired => "expired",
            _ => "cancelled",
        };
        step.records.extend(cashout::end_code_of(d, code_state));
    }
    step.records
        .push(record_write(&next, Expect::Version(version)));
    step.notifications
        .extend(crate::faces::payout_notice(app, &next).await?);
    Ok(next)
}

fn dispatch_timer(d: &Disbursement, at: Timestamp) -> TimerOp {
    TimerOp::Schedule(NewTimer {
        key: timer_key(d),
        kind: DISPATCH_TIMER.into(),
        due_at: at,
        payload: serde_json::json!({ "id": d.id }).into(),
    })
}

/// Whether `e` is the conflict of a face's claim (the record existed).
pub(crate) fn conflicts_with(claim: Option<&RecordWrite>, e: &StepError) -> bool {
    matches!(
        (claim, e),
        (Some(c), StepError::RecordConflict { kind, key }) if c.kind == *kind && c.key == *key
    )
}

/// Accepts a payout: holds its amount and schedules it. A retry of the same
/// request (same reference, same fingerprint) answers the first one again.
pub async fn accept(app: &App, req: NewPayout) -> Result<Disbursement, AcceptError> {
    submit(app, req).await.map(|s| s.disbursement)
}

/// What [`submit`] did.
#[derive(Clone, Debug)]
pub struct Submitted {
    pub disbursement: Disbursement,
    /// Accepted now; `false`: a retry, answered with the payout accepted before.
    pub first_time: bool,
}

/// [`accept`], saying whether the payout is new or a retry's.
pub async fn submit(app: &App, req: NewPayout) -> Result<Submitted, AcceptError> {
    let now = app.now();
    if app.config.refuses_notice_url(req.notice_url.as_deref()) {
        return Err(AcceptError::InternalNoticeUrl);
    }
    let max_seconds = app.config.payout.max_schedule_ahead_seconds;
    if req.instruct_at.is_some_and(|at| {
        at > now.plus_seconds(max_seconds.min(i64::MAX as u64 / 2_000_000) as i64)
    }) {
        // A retry of a request accepted before (under an older horizon) goes on
        // and gets its first answer from the reference below; a new one is refused.
        if id_by_reference(&app.store, &req.requester, &req.reference)
            .await
            .map_err(|e| AcceptError::Store(e.to_string()))?
            .is_none()
        {
            return Err(AcceptError::ScheduledTooFar { max_seconds });
        }
    }
    if app
        .restore_guard
        .refuses_new_references(&app.store)
        .await
        .map_err(|e| AcceptError::Store(e.to_string()))?
        && id_by_reference(&app.store, &req.requester, &req.reference)
            .await
            .map_err(|e| AcceptError::Store(e.to_string()))?
            .is_none()
    {
        return Err(AcceptError::AwaitingRestoreConfirmation);
    }
    let scope = req.requester.reference_scope();
    let latency = app.config.simulator.bank_latency_seconds as i64;
    for _ in 0..8 {
        let id = new_id();
        let dispatch_at = match req.instruct_at {
            Some(at) if at > now => at,
            _ => now.plus_seconds(latency),
        };
        let waits = req.needs_approval;
        let mut d = Disbursement {
            gateway_reference: new_gateway_reference(&id),
            id,
            requester: req.requester.clone(),
            funding_account: req.funding_account.clone(),
            reference: req.reference.clone(),
            payee: req.payee.clone(),
            amount_minor: req.amount_minor,
            description: req.description.clone(),
            notice_url: req.notice_url.clone(),
            request: req.request.clone(),
            status: if waits {
                Status::WaitingApproval
            } else {
                Status::Processing
            },
            failure: None,
            channel_answer: None,
            channel_attempts: 0,
            request_id: crate::request_id::current(),
            created_at: now,
            dispatch_at,
            status_at: now,
        };
        let mut records = Vec::with_capacity(2);
        let id = d.id.clone();
        let owner = d.requester.principal.clone();
        let timers = match d.cash_code_mut() {
            Some(c) => {
                c.code = None;
                if !waits {
                    let code = cashout::draw_code();
                    records.push(cashout::issue_code(&code, &id, &owner, c.network));
                    c.code = Some(gerbang_core::mask::Secret::new(code));
                }
                // A default life waiting for approval has not begun: approval sets
                // its timer.
                let life_begun = !waits || c.lifetime_seconds.is_none();
                life_begun
                    .then(|| cashout::expiry_timer(&id, c.expires_at))
                    .into_iter()
                    .collect()
            }
            None if !waits => vec![dispatch_timer(&d, dispatch_at)],
            None => vec![],
        };
        records.insert(0, record_write(&d, Expect::Absent));
        records.extend(req.claim.clone());
        let step = Step {
            idempotency: Some(NewIdempotency {
                scope: scope.clone(),
                key: req.reference.clone(),
                fingerprint: req.fingerprint.clone(),
                response: d.id.clone(),
            }),
            ledger: vec![LedgerOp::Hold(NewHold {
                key: hold_key(&d),
                account: d.funding_account.clone(),
                amount: d.amount_minor,
                currency: Currency::Idr,
                expires_at: None,
            })],
            records,
            timers,
            ..Step::default()
        };
        match app.commit(step).await {
            Ok(_) => {
                return Ok(Submitted {
                    disbursement: d,
                    first_time: true,
                })
            }
            Err(StepError::Duplicate(existing)) => {
                if existing.fingerprint != req.fingerprint {
                    return Err(AcceptError::DuplicateReference);
                }
                return match load(&app.store, &existing.response).await {
                    Ok(Some((d, _))) => Ok(Submitted {
                        disbursement: d,
                        first_time: false,
                    }),
                    Ok(None) => Err(AcceptError::Store("disbursement vanished".into())),
                    Err(e) => Err(AcceptError::Store(e.to_string())),
                };
            }
            Err(StepError::Ledger(LedgerError::InsufficientFunds(_))) => {
                return Err(AcceptError::InsufficientBalance)
            }
            Err(e) if conflicts_with(req.claim.as_ref(), &e) => return Err(AcceptError::Claimed),
            // The random id (or code) was taken: draw another. The hold named
            // after the id comes before the record, so another gateway that drew
            // the same id shows as its hold.
            Err(StepError::RecordConflict { .. }) => continue,
            Err(StepError::Ledger(LedgerError::DuplicateHold(key))) if key == hold_key(&d) => {
                continue
            }
            Err(e) => return Err(AcceptError::Store(e.to_string())),
        }
    }
    Err(AcceptError::Store(
        "could not allocate a transaction id".into(),
    ))
}
