//! The one pay-in path, whatever face posted the bill: post (a reference unique
//! per requester; an expiry timer), pay (the channel's clearing account credits
//! the merchant's settlement account, the operator's fee split off, in the same
//! step as the record and the merchant's notice), cancel and expire (nothing moved,
//! the merchant told). A bill's id is the number its customer pays to.

pub mod expiry;
mod refund;

pub use refund::{refund, settle_refund, RefundError, RefundSettler, REFUND_TIMER};

use crate::stored;
use crate::App;
use gerbang_channels::collect::{CollectError, Collection};
use gerbang_core::ledger::{
    codes, AccountKind, LedgerError, LedgerOp, NewAccount, NewEntry, Posting,
};
use gerbang_core::payin::{
    find_channel, Bill, BillItem, BillPayment, BillStatus, Channel, Customer,
};
use gerbang_core::payout::Requester;
use gerbang_core::{Currency, Document, Timestamp};
use gerbang_store::{
    Expect, NewIdempotency, NewTimer, RecordWrite, SharedStore, Step, StepError, StoreError,
    TimerOp,
};

/// The record kind of a bill.
pub const RECORD: &str = "payin.bill";
/// The timer that expires an unpaid bill.
pub const EXPIRY_TIMER: &str = "payin.bill.expire";

/// A bill as a face asks for it.
#[derive(Clone, Debug)]
pub struct NewBill {
    pub requester: Requester,
    pub reference: String,
    /// What identifies the request's content: the same reference with another one
    /// is refused.
    pub fingerprint: String,
    pub channel: String,
    pub amount_minor: i64,
    pub description: String,
    pub customer: Customer,
    pub items: Vec<BillItem>,
    pub expires_at: Timestamp,
    pub notice_url: Option<String>,
    pub request: Document,
}

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("the reference was used before for another bill")]
    DuplicateReference,
    #[error("unknown payment channel {0}")]
    UnknownChannel(String),
    #[error("the bill expires before it could be paid")]
    AlreadyExpired,
    #[error("the channel does not take the amount: {0}")]
    ChannelAmount(String),
    #[error("storage: {0}")]
    Store(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("no such bill")]
    NotFound,
    #[error("the bill was paid")]
    AlreadyPaid,
    #[error("the bill is {0}")]
    NotPending(&'static str),
    #[error("the amount paid is not the bill's")]
    WrongAmount,
    #[error("the channel's reference was taken by another request")]
    ReferenceTaken,
    #[error("the bill changed since it was read")]
    Changed,
    #[error("storage: {0}")]
    Store(String),
}

impl From<StoreError> for ChangeError {
    fn from(e: StoreError) -> Self {
        ChangeError::Store(e.to_string())
    }
}

fn scope(requester: &Requester) -> String {
    format!("bill:{}:{}", requester.face.as_str(), requester.principal)
}

/// A bill id: the merchant's id, the channel's code and eight more digits
/// (Debit's `trx_id`, spec §3.4); each larger than the last in this process.
fn new_id(merchant: &str, channel: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
        .wrapping_mul(1000)
        .wrapping_add(rand::random::<u64>() % 1000)
        % 100_000_000;
    let mut sequence = seed;
    let _ = LAST.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
        sequence = if seed > last {
            seed
        } else {
            (last + 1) % 100_000_000
        };
        Some(sequence)
    });
    let merchant: String = merchant
        .chars()
        .rev()
        .take(5)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{merchant:0>5}{channel:0>3}{sequence:08}")
}

pub fn record_write(b: &Bill, expect: Expect) -> RecordWrite {
    RecordWrite {
        kind: RECORD.into(),
        key: b.id.clone(),
        owner: b.requester.principal.clone(),
        state: b.status.as_str().into(),
        data: Document::of(b),
        expect,
    }
}

/// The tries of a change to a bill that loses the race to another change of it
/// (each try reads the bill as it is then). Between tries a pause, drawn at
/// random and growing with the tries, spreads the contenders.
#[derive(Default)]
pub(crate) struct Races {
    tried: u32,
}

impl Races {
    /// Most tries of one change.
    const MOST: u32 = 64;
    /// Longest pause between two tries, in µs.
    const LONGEST_PAUSE_MICROS: u64 = 5_000;

    /// Whether another try is left, once the pause before it is over (none
    /// before the first).
    pub(crate) async fn another(&mut self) -> bool {
        if self.tried >= Self::MOST {
            return false;
        }
        if self.tried > 0 {
            let most = (200 * u64::from(self.tried)).min(Self::LONGEST_PAUSE_MICROS);
            let pause = rand::random::<u64>() % most;
            tokio::time::sleep(std::time::Duration::from_micros(pause)).await;
        }
        self.tried += 1;
        true
    }
}

fn expiry_timer_key(id: &str) -> String {
    format!("bill:{id}:expire")
}

/// The bill with this id, and its version.
/// A channel's reference for a payment the sandbox makes up: `SIM` and 11 digits.
pub fn simulated_payment_reference() -> String {
    format!("SIM{:011}", rand::random::<u64>() % 100_000_000_000)
}

pub async fn load(store: &SharedStore, id: &str) -> Result<Option<(Bill, i64)>, StoreError> {
    stored::load(&**store, RECORD, id).await
}

/// A requester's bill by its own reference.
pub async fn by_reference(
    store: &SharedStore,
    requester: &Requester,
    reference: &str,
) -> Result<Option<(Bill, i64)>, StoreError> {
    let Some(idem) = store.idempotency(&scope(requester), reference).await? else {
        return Ok(None);
    };
    load(store, &idem.response).await
}

/// What a requester's `reference` already stands for: `Ok(bill)` when it was
/// posted with the same `fingerprint`, `Err(())` when with another; `None` when new.
pub async fn earlier(
    app: &App,
    requester: &Requester,
    reference: &str,
    fingerprint: &str,
) -> Result<Option<Result<Bill, ()>>, StoreError> {
    let Some(idem) = app.store.idempotency(&scope(requester), reference).await? else {
        return Ok(None);
    };
    if idem.fingerprint != fingerprint {
        return Ok(Some(Err(())));
    }
    Ok(load(&app.store, &idem.response).await?.map(|(b, _)| Ok(b)))
}

/// Posts a bill; the same request again answers the same bill.
pub async fn post(app: &App, req: NewBill) -> Result<Bill, PostError> {
    let now = app.now();
    let Some(channel) = find_channel(&req.channel) else {
        return Err(PostError::UnknownChannel(req.channel));
    };
    let merchant = app
        .partners
        .merchant(&*app.store, &req.requester.principal)
        .await
        .map_err(|e| PostError::Store(e.to_string()))?;
    let fee_minor = merchant
        .as_ref()
        .map_or(0, |m| m.fee_for(&req.channel, req.amount_minor));
    let store_err = |e: StepError| PostError::Store(e.to_string());
    for _ in 0..8 {
        let id = new_id(&req.requester.principal, &req.channel);
        let collection = Collection {
            bill_id: &id,
            channel,
            amount_minor: req.amount_minor,
            merchant_id: &req.requester.principal,
            merchant_name: merchant.as_ref().map_or("", |m| m.name.as_str()),
            customer_phone: req.customer.phone.expose(),
        };
        let opening = match app.collectors.open(&collection).await {
            Ok(opening) => opening,
            Err(e) => {
                // A repeat answers as the first request did, whatever the channel
                // says now: it is looked up only when the channel refuses.
                return match earlier(app, &req.requester, &req.reference, &req.fingerprint)
                    .await
                    .map_err(|e| PostError::Store(e.to_string()))?
                {
                    Some(Ok(bill)) => Ok(bill),
                    Some(Err(())) => Err(PostError::DuplicateReference),
                    None => Err(match e {
                        CollectError::Amount(why) => PostError::ChannelAmount(why),
                        e @ CollectError::Unavailable(_) => PostError::Store(e.to_string()),
                    }),
                };
            }
        };
        let b = Bill {
            id,
            requester: req.requester.clone(),
            reference: req.reference.clone(),
            channel: req.channel.clone(),
            amount_minor: req.amount_minor,
            fee_minor,
            description: req.description.clone(),
            customer: req.customer.clone(),
            items: req.items.clone(),
            expires_at: req.expires_at,
            opening: Some(opening),
            status: BillStatus::Pending,
            payment: None,
            cancel_reason: None,
            refunded_minor: 0,
            refunds: Vec::new(),
            notice_url: req.notice_url.clone(),
            request: req.request.clone(),
            request_id: crate::request_id::current(),
            created_at: now,
            status_at: now,
        };
        let step = Step {
            idempotency: Some(NewIdempotency {
                scope: scope(&req.requester),
                key: req.reference.clone(),
                fingerprint: req.fingerprint.clone(),
                response: b.id.clone(),
            }),
            records: vec![record_write(&b, Expect::Absent)],
            timers: vec![TimerOp::Schedule(NewTimer {
                key: expiry_timer_key(&b.id),
                kind: EXPIRY_TIMER.into(),
                due_at: b.expires_at,
                payload: serde_json::json!({ "bill": b.id }).into(),
            })],
            ..Step::default()
        };
        match app.commit(step).await {
            Ok(_) => {
                if req.expires_at <= now {
                    // Stored, so a retry answers the same; the timer ends it at once.
                    return Err(PostError::AlreadyExpired);
                }
                return Ok(b);
            }
            Err(StepError::Duplicate(existing)) => {
                if existing.fingerprint != req.fingerprint {
                    return Err(PostError::DuplicateReference);
                }
                return match load(&app.store, &existing.response).await {
                    Ok(Some((b, _))) => Ok(b),
                    Ok(None) => Err(PostError::Store("bill vanished".into())),
                    Err(e) => Err(PostError::Store(e.to_string())),
                };
            }
            // The id was taken: draw another.
            Err(StepError::RecordConflict { .. }) => continue,
            Err(e) => return Err(store_err(e)),
        }
    }
    Err(PostError::Store("could not allocate a bill id".into()))
}

/// A step moving `gross_minor` of bill `b` from `channel`'s clearing account to
/// the merchant's settlement account, `fee_minor` of it to the operator's fee
/// account (both negative: back the other way).
pub(crate) fn money_step(
    b: &Bill,
    channel: &Channel,
    kind: &str,
    description: String,
    gross_minor: i64,
    fee_minor: i64,
) -> Step {
    let clearing = channel.clearing_account();
    Step {
        accounts: vec![NewAccount {
            code: clearing.clone(),
            kind: AccountKind::ChannelClearing,
            currency: Currency::Idr,
        }],
        ledger: vec![LedgerOp::Transfer(NewEntry {
            kind: kind.into(),
            reference: b.id.clone(),
            description,
            currency: Currency::Idr,
            postings: [
                (clearing, -gross_minor),
                (
                    codes::merchant_settlement(&b.requester.principal),
                    gross_minor - fee_minor,
                ),
                (codes::FEES.to_string(), fee_minor),
            ]
            .into_iter()
            // An entry has no zero postings: a fee of nothing is none.
            .filter(|(_, amount)| *amount != 0)
            .map(|(account, amount)| Posting { account, amount })
            .collect(),
        })],
        ..Step::default()
    }
}

/// Ends pending bill `b` (at `version`) as `status` in `step`: record, timer,
/// notice.
async fn end(
    app: &App,
    step: &mut Step,
    b: &Bill,
    version: i64,
    status: BillStatus,
    now: Timestamp,
) -> Result<Bill, StoreError> {
    let mut next = b.clone();
    next.status = status;
    next.status_at = now;
    step.timers.push(TimerOp::Remove(expiry_timer_key(&b.id)));
    step.records
        .push(record_write(&next, Expect::Version(version)));
    step.notifications
        .extend(crate::faces::bill_notice(app, &next).await?);
    Ok(next)
}

/// Whether `b` can still be paid, cancelled or declined at `now`: pending and not
/// past its expiry (the expiry timer may not have run yet).
fn pending(b: &Bill, now: Timestamp) -> Result<(), ChangeError> {
    match b.status_at(now) {
        BillStatus::Pending => Ok(()),
        BillStatus::Paid | BillStatus::Refunded | BillStatus::PartlyRefunded => {
            Err(ChangeError::AlreadyPaid)
        }
        other => Err(ChangeError::NotPending(other.as_str())),
    }
}

/// Cancels a requester's unpaid bill.
pub async fn cancel(
    app: &App,
    requester: &Requester,
    id: &str,
    reason: &str,
) -> Result<Bill, ChangeError> {
    end_pending(
        app,
        Some(requester),
        id,
        BillStatus::Cancelled,
        Some(reason),
    )
    .await
}

/// Ends pending bill `id` (of `requester`, when given) as `status`, keeping
/// `reason`; a bill that already ended so answers as it is.
async fn end_pending(
    app: &App,
    requester: Option<&Requester>,
    id: &str,
    status: BillStatus,
    reason: Option<&str>,
) -> Result<Bill, ChangeError> {
    let mut races = Races::default();
    while races.another().await {
        let (b, version) = load(&app.store, id)
            .await?
            .filter(|(b, _)| requester.is_none_or(|r| b.requester == *r))
            .ok_or(ChangeError::NotFound)?;
        if b.status == status {
            return Ok(b);
        }
        pending(&b, app.now())?;
        let mut ending = b.clone();
        if let Some(reason) = reason {
            ending.cancel_reason = Some(reason.to_string());
        }
        let mut step = Step::default();
        let next = end(app, &mut step, &ending, version, status, app.now()).await?;
        match app.commit(step).await {
            Ok(_) => return Ok(next),
            Err(StepError::RecordConflict { .. }) => continue,
            Err(e) => return Err(ChangeError::Store(e.to_string())),
        }
    }
    Err(ChangeError::Store("the bill kept changing".into()))
}

/// A payment of a bill as its channel reports it.
#[derive(Clone, Debug)]
pub struct ChannelPayment {
    /// The channel's own reference of the payment.
    pub reference: String,
    pub amount_minor: i64,
    /// The counter's terminal, when paid at one.
    pub terminal: Option<String>,
    /// The channel's idempotency key, taken in the same step.
    pub idempotency: Option<NewIdempotency>,
}

impl ChannelPayment {
    /// A payment under `reference`, nothing more.
    pub fn new(reference: &str, amount_minor: i64) -> Self {
        ChannelPayment {
            reference: reference.to_string(),
            amount_minor,
            terminal: None,
            idempotency: None,
        }
    }
}

/// Records bill `id` paid through its channel under the channel's `reference`:
/// the merchant's settlement account is credited from the channel's clearing
/// account. Paying a paid bill again under the same reference answers it again.
pub async fn pay(
    app: &App,
    id: &str,
    reference: &str,
    amount_minor: i64,
) -> Result<Bill, ChangeError> {
    pay_through_channel(app, id, ChannelPayment::new(reference, amount_minor)).await
}

/// Records bill `id` paid as its channel reports `payment` (see [`pay`]).
pub async fn pay_through_channel(
    app: &App,
    id: &str,
    payment: ChannelPayment,
) -> Result<Bill, ChangeError> {
    let ChannelPayment {
        reference,
        amount_minor,
        terminal,
        idempotency,
    } = payment;
    let mut races = Races::default();
    while races.another().await {
        let (b, version) = load(&app.store, id).await?.ok_or(ChangeError::NotFound)?;
        if b.payment.as_ref().is_some_and(|p| p.reference == reference) {
            return Ok(b);
        }
        pending(&b, app.now())?;
        if amount_minor != b.amount_minor {
            return Err(ChangeError::WrongAmount);
        }
        let now = app.now();
        let channel = find_channel(&b.channel).ok_or(ChangeError::NotFound)?;
        let fee_minor = b.fee_minor.clamp(0, amount_minor);
        let mut paid = b.clone();
        paid.payment = Some(BillPayment {
            reference: reference.clone(),
            paid_at: now,
            amount_minor,
            fee_minor,
            terminal: terminal.clone(),
            advised_at: None,
        });
        let mut step = money_step(
            &b,
            channel,
            "payin",
            format!("{} bill {}", channel.name, b.reference),
            amount_minor,
            fee_minor,
        );
        step.idempotency = idempotency.clone();
        let next = end(app, &mut step, &paid, version, BillStatus::Paid, now).await?;
        match app.commit(step).await {
            Ok(_) => return Ok(next),
            Err(StepError::RecordConflict { .. }) => continue,
            Err(StepError::Duplicate(_)) => return Err(ChangeError::ReferenceTaken),
            Err(StepError::Ledger(LedgerError::UnknownAccount(a))) => {
                return Err(ChangeError::Store(format!("account {a} is missing")))
            }
            Err(e) => return Err(ChangeError::Store(e.to_string())),
        }
    }
    Err(ChangeError::Store("the bill kept changing".into()))
}

/// Undoes the payment of bill `id` its channel reports reversed (the counter
/// never had the answer and gave the customer's money back): the payment's
/// entry in reverse, the bill ended `Reversed`, the merchant told. The caller
/// checked the bill at `version` (the window, the advice): a bill changed since
/// is [`ChangeError::Changed`], to be checked again.
pub async fn reverse(app: &App, id: &str, version: i64) -> Result<Bill, ChangeError> {
    let (b, stored) = load(&app.store, id).await?.ok_or(ChangeError::NotFound)?;
    if stored != version {
        return Err(ChangeError::Changed);
    }
    let (BillStatus::Paid, Some(payment)) = (b.status, &b.payment) else {
        return Err(ChangeError::NotPending(b.status.as_str()));
    };
    let channel = find_channel(&b.channel).ok_or(ChangeError::NotFound)?;
    let now = app.now();
    let mut step = money_step(
        &b,
        channel,
        "payin_reversal",
        format!("reversal of {} bill {}", channel.name, b.reference),
        -payment.amount_minor,
        -payment.fee_minor,
    );
    let mut next = b.clone();
    next.status = BillStatus::Reversed;
    next.status_at = now;
    step.records
        .push(record_write(&next, Expect::Version(version)));
    step.notifications
        .extend(crate::faces::bill_notice(app, &next).await?);
    match app.commit(step).await {
        Ok(_) => Ok(next),
        Err(StepError::RecordConflict { .. }) => Err(ChangeError::Changed),
        // The merchant spent the money already.
        Err(StepError::Ledger(LedgerError::InsufficientFunds(_))) => {
            Err(ChangeError::NotPending("spent"))
        }
        Err(e) => Err(ChangeError::Store(e.to_string())),
    }
}

/// Marks the payment of bill `id` final as its channel confirms it; returns
/// whether it had been confirmed before.
pub async fn advise(app: &App, id: &str) -> Result<bool, ChangeError> {
    let mut races = Races::default();
    while races.another().await {
        let (b, version) = load(&app.store, id).await?.ok_or(ChangeError::NotFound)?;
        let Some(payment) = &b.payment else {
            return Err(ChangeError::NotPending(b.status.as_str()));
        };
        if b.status == BillStatus::Reversed {
            return Err(ChangeError::NotPending(b.status.as_str()));
        }
        if payment.advised_at.is_some() {
            return Ok(true);
        }
        let mut next = b.clone();
        if let Some(p) = next.payment.as_mut() {
            p.advised_at = Some(app.now());
        }
        let step = Step {
            records: vec![record_write(&next, Expect::Version(version))],
            ..Step::default()
        };
        match app.commit(step).await {
            Ok(_) => return Ok(false),
            Err(StepError::RecordConflict { .. }) => continue,
            Err(e) => return Err(ChangeError::Store(e.to_string())),
        }
    }
    Err(ChangeError::Store("the bill kept changing".into()))
}

/// Ends a pending bill its channel declined (an online-credit provider said no,
/// a customer refused the push): nothing moved, the merchant told.
pub async fn decline(app: &App, id: &str) -> Result<Bill, ChangeError> {
    end_pending(app, None, id, BillStatus::Failed, None).await
}

/// Ends an unpaid bill whose time is up (the expiry timer's work).
pub(crate) async fn expire(app: &App, id: &str) -> Result<Option<Bill>, ChangeError> {
    let Some((b, version)) = load(&app.store, id).await? else {
        return Ok(None);
    };
    let now = app.now();
    if b.status != BillStatus::Pending || now < b.expires_at {
        return Ok(None);
    }
    let mut step = Step::default();
    let next = end(app, &mut step, &b, version, BillStatus::Expired, now).await?;
    match app.commit(step).await {
        Ok(_) => Ok(Some(next)),
        Err(e) => Err(ChangeError::Store(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_sixteen_digits_and_rise() {
        let a = new_id("99999", "801");
        let b = new_id("99999", "801");
        assert_eq!(a.len(), 16);
        assert!(a.starts_with("99999801"));
        assert!(a.bytes().all(|c| c.is_ascii_digit()));
        assert_ne!(a, b);
        assert_eq!(new_id("123", "707").len(), 16);
    }
}
