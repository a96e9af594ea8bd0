//! What a cash-out network does to a code over the host-to-host API: inquiry,
//! payment (claim), reversal and advice. Idempotent by the network's reference:
//! a payment's reference is an idempotency key in the scope of its network, so
//! a repeated payment answers the first one again, and a reversal of a payment
//! that never arrived takes the key first (voided) so that the payment, should
//! it come late, is refused.

use super::{end_code, same_phone, CodeRecord, CodeSubject, Network, NetworkRules};
use super::{CODE_DIGITS, CODE_RECORD};
use crate::payout::{self, hold_key, record_write, CashCode, CodePayment, Disbursement, Status};
use crate::App;
use gerbang_core::ledger::{AccountKind, LedgerOp, NewAccount, NewEntry, PostHold, Posting};
pub use gerbang_core::payout::CodeRefusal as Refusal;
use gerbang_core::{Currency, Timestamp};
use gerbang_store::{Expect, NewIdempotency, Step, StepError, TimerOp};

/// The fingerprint of a reference taken by a reversal before any payment.
const VOIDED: &str = "voided-by-reversal";
/// Attempts at a step that lost a race before giving up.
const ATTEMPTS: usize = 8;

#[derive(Debug)]
pub enum H2hError {
    Refused(Refusal),
    Store(String),
}

impl From<Refusal> for H2hError {
    fn from(r: Refusal) -> Self {
        H2hError::Refused(r)
    }
}

fn store_error(e: impl std::fmt::Display) -> H2hError {
    H2hError::Store(e.to_string())
}

/// A live code as inquiry shows it.
#[derive(Clone, Debug)]
pub struct Claimable {
    pub id: String,
    pub amount_minor: i64,
    pub holder: String,
    pub expires_at: Timestamp,
}

/// A payment as the network is told about it (again, on a repeat).
#[derive(Clone, Debug)]
pub struct Paid {
    pub id: String,
    pub reference: String,
    pub amount_minor: i64,
    pub paid_at: Timestamp,
    pub repeated: bool,
}

#[derive(Clone, Debug)]
pub struct PaymentRequest {
    pub reference: String,
    pub code: String,
    pub phone: String,
    pub amount_minor: i64,
    pub terminal: String,
}

/// How a reversal ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reversal {
    /// The payment was undone: funds back to the partner.
    Reversed { repeated: bool },
    /// No payment had arrived under that reference; it is void now.
    Voided { repeated: bool },
}

fn scope(network: Network) -> String {
    format!("cashout.payment:{}", network.slug())
}

/// The disbursement behind a live code of `network` issued for `phone`.
async fn live_code(
    app: &App,
    network: Network,
    code: &str,
    phone: &str,
) -> Result<(Disbursement, i64, CashCode), H2hError> {
    if code.len() != CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Refusal::UnknownCode.into());
    }
    let record = app
        .store
        .record(CODE_RECORD, code)
        .await
        .map_err(store_error)?
        .ok_or(Refusal::UnknownCode)?;
    let held: CodeRecord = record.data.decode().map_err(|_| Refusal::UnknownCode)?;
    let CodeSubject::Payout(id) = &held.subject;
    let (d, version) = payout::load(&app.store, id)
        .await
        .map_err(store_error)?
        .ok_or(Refusal::UnknownCode)?;
    let c = d.cash_code().cloned().ok_or(Refusal::UnknownCode)?;
    if held.network != network || !same_phone(c.phone.expose(), phone) {
        return Err(Refusal::UnknownCode.into());
    }
    match record.state.as_str() {
        "live" => {}
        "expired" => return Err(Refusal::Expired.into()),
        _ => return Err(Refusal::AlreadyUsed.into()),
    }
    if d.status != Status::Processing || c.payment.is_some() {
        return Err(Refusal::AlreadyUsed.into());
    }
    if app.now() >= c.expires_at {
        return Err(Refusal::Expired.into());
    }
    Ok((d, version, c))
}

/// Inquiry: is this code claimable here, for how much, by whom.
pub async fn inquire(
    app: &App,
    network: Network,
    code: &str,
    phone: &str,
) -> Result<Claimable, H2hError> {
    let (d, _, c) = live_code(app, network, code, phone).await?;
    Ok(Claimable {
        id: d.id,
        amount_minor: d.amount_minor,
        holder: c.holder,
        expires_at: c.expires_at,
    })
}

fn payment_fingerprint(req: &PaymentRequest) -> String {
    use sha2::{Digest, Sha256};
    let digits: String = req.phone.chars().filter(char::is_ascii_digit).collect();
    let text = format!(
        "{}|{}|{}|{}",
        req.code, digits, req.amount_minor, req.terminal
    );
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// What a network's reference already stands for.
enum Taken {
    /// A reversal came before any payment.
    Voided,
    /// A payment: its fingerprint, the disbursement and its version.
    Payment(String, Box<Disbursement>, i64),
}

async fn taken(app: &App, network: Network, reference: &str) -> Result<Option<Taken>, H2hError> {
    let Some(idem) = app
        .store
        .idempotency(&scope(network), reference)
        .await
        .map_err(store_error)?
    else {
        return Ok(None);
    };
    if idem.fingerprint == VOIDED {
        return Ok(Some(Taken::Voided));
    }
    let (d, version) = payout::load(&app.store, &idem.response)
        .await
        .map_err(store_error)?
        .ok_or_else(|| H2hError::Store(format!("payment {reference} names no disbursement")))?;
    Ok(Some(Taken::Payment(idem.fingerprint, Box::new(d), version)))
}

fn paid_view(d: &Disbursement, repeated: bool) -> Result<Paid, H2hError> {
    let p = d
        .cash_code()
        .and_then(|c| c.payment.clone())
        .ok_or_else(|| H2hError::Store(format!("disbursement {} has no payment", d.id)))?;
    Ok(Paid {
        id: d.id.clone(),
        reference: p.reference,
        amount_minor: d.amount_minor,
        paid_at: p.paid_at,
        repeated,
    })
}

/// Payment: claims the code. The held amount is posted to the network's clearing
/// account and the requester is told the payout succeeded.
pub async fn pay(app: &App, network: Network, req: PaymentRequest) -> Result<Paid, H2hError> {
    let print = payment_fingerprint(&req);
    for _ in 0..ATTEMPTS {
        match taken(app, network, &req.reference).await? {
            // A reversed payment is not paid, whatever its repeat says.
            Some(Taken::Payment(fingerprint, d, _))
                if fingerprint == print && d.status != Status::Reversed =>
            {
                return paid_view(&d, true)
            }
            Some(_) => return Err(Refusal::DuplicateReference.into()),
            None => {}
        }
        let (d, version, c) = live_code(app, network, &req.code, &req.phone).await?;
        if d.amount_minor != req.amount_minor {
            return Err(Refusal::WrongAmount.into());
        }
        let now = app.now();
        let mut next = d.clone();
        next.status = Status::Succeeded;
        next.status_at = now;
        next.channel_attempts += 1;
        let mut state = c.clone();
        state.payment = Some(CodePayment {
            reference: req.reference.clone(),
            terminal: req.terminal.clone(),
            paid_at: now,
        });
        next.payee = payout::Payee::CashCode(state);
        let clearing = network.clearing_account();
        let mut step = Step {
            idempotency: Some(NewIdempotency {
                scope: scope(network),
                key: req.reference.clone(),
                fingerprint: print.clone(),
                response: d.id.clone(),
            }),
            accounts: vec![NewAccount {
                code: clearing.clone(),
                kind: AccountKind::ChannelClearing,
                currency: Currency::Idr,
            }],
            ledger: vec![LedgerOp::Post(PostHold {
                key: hold_key(&d),
                kind: "cashout".into(),
                reference: d.reference.clone(),
                description: format!(
                    "{} {} {}",
                    d.description,
                    network.display_name(),
                    d.gateway_reference
                ),
                credits: vec![Posting {
                    account: clearing,
                    amount: d.amount_minor,
                }],
            })],
            records: vec![
                record_write(&next, Expect::Version(version)),
                end_code(&req.code, &d.id, &d.requester.principal, network, "paid"),
            ],
            timers: vec![TimerOp::Remove(super::expiry_timer_key(&d.id))],
            ..Step::default()
        };
        step.notifications.extend(
            crate::faces::payout_notice(app, &next)
                .await
                .map_err(store_error)?,
        );
        match app.commit(step).await {
            Ok(_) => return paid_view(&next, false),
            // Another request took this reference or this code first (its post of
            // the hold may be what failed ours): look again.
            Err(StepError::Duplicate(_))
            | Err(StepError::RecordConflict { .. })
            | Err(StepError::Ledger(_)) => continue,
            Err(e) => return Err(store_error(e)),
        }
    }
    Err(H2hError::Store(
        "the payment kept losing races; try again".into(),
    ))
}

/// Reversal: undoes the payment `reference` names (funds back to the partner,
/// requester told it was reversed), or voids the reference if no payment came.
pub async fn reverse(app: &App, network: Network, reference: &str) -> Result<Reversal, H2hError> {
    let rules = network.rules(&app.config.cashout, app.config.mode);
    for _ in 0..ATTEMPTS {
        let (d, version) = match taken(app, network, reference).await? {
            Some(Taken::Payment(_, d, version)) => (d, version),
            Some(Taken::Voided) => return Ok(Reversal::Voided { repeated: true }),
            None => {
                let void = Step {
                    idempotency: Some(NewIdempotency {
                        scope: scope(network),
                        key: reference.to_string(),
                        fingerprint: VOIDED.into(),
                        response: String::new(),
                    }),
                    ..Step::default()
                };
                match app.commit(void).await {
                    Ok(_) => return Ok(Reversal::Voided { repeated: false }),
                    Err(StepError::Duplicate(_)) => continue,
                    Err(e) => return Err(store_error(e)),
                }
            }
        };
        let c = d
            .cash_code()
            .cloned()
            .ok_or_else(|| H2hError::Store(format!("disbursement {} is no cash-out", d.id)))?;
        let paid = c
            .payment
            .clone()
            .ok_or_else(|| H2hError::Store(format!("disbursement {} has no payment", d.id)))?;
        if d.status == Status::Reversed {
            return Ok(Reversal::Reversed { repeated: true });
        }
        let now = app.now();
        let window_over = now
            > paid
                .paid_at
                .plus_seconds(rules.reversal_window_seconds.min(i64::MAX as u64) as i64);
        if (c.advised_at.is_some() && !rules.reversal_after_advice) || window_over {
            return Err(Refusal::NotAllowed.into());
        }
        let mut next = d.clone();
        next.status = Status::Reversed;
        next.status_at = now;
        let mut state = c.clone();
        state.reversed_at = Some(now);
        next.payee = payout::Payee::CashCode(state);
        let mut step = Step {
            ledger: vec![LedgerOp::Transfer(NewEntry {
                kind: "cashout_reversal".into(),
                reference: d.reference.clone(),
                description: format!(
                    "Reversal {} {} {}",
                    network.display_name(),
                    reference,
                    d.gateway_reference
                ),
                currency: Currency::Idr,
                postings: vec![
                    Posting {
                        account: network.clearing_account(),
                        amount: -d.amount_minor,
                    },
                    Posting {
                        account: d.funding_account.clone(),
                        amount: d.amount_minor,
                    },
                ],
            })],
            records: vec![record_write(&next, Expect::Version(version))],
            ..Step::default()
        };
        step.records.extend(super::end_code_of(&d, "reversed"));
        step.notifications.extend(
            crate::faces::payout_notice(app, &next)
                .await
                .map_err(store_error)?,
        );
        match app.commit(step).await {
            Ok(_) => return Ok(Reversal::Reversed { repeated: false }),
            // A concurrent reversal moved it (or emptied the clearing first): look again.
            Err(StepError::RecordConflict { .. }) | Err(StepError::Ledger(_)) => continue,
            Err(e) => return Err(store_error(e)),
        }
    }
    Err(H2hError::Store(
        "the reversal kept losing races; try again".into(),
    ))
}

/// Advice: the network confirms the payment is final (cash handed out). Returns
/// whether it had been advised before.
pub async fn advise(app: &App, network: Network, reference: &str) -> Result<bool, H2hError> {
    for _ in 0..ATTEMPTS {
        let Some(Taken::Payment(_, d, version)) = taken(app, network, reference).await? else {
            return Err(Refusal::NoSuchPayment.into());
        };
        if d.status == Status::Reversed {
            return Err(Refusal::NotAllowed.into());
        }
        let Some(c) = d.cash_code().cloned() else {
            return Err(H2hError::Store(format!(
                "disbursement {} is no cash-out",
                d.id
            )));
        };
        if c.advised_at.is_some() {
            return Ok(true);
        }
        let mut next = d.clone();
        let mut state = c;
        state.advised_at = Some(app.now());
        next.payee = payout::Payee::CashCode(state);
        let step = Step {
            records: vec![record_write(&next, Expect::Version(version))],
            ..Step::default()
        };
        match app.commit(step).await {
            Ok(_) => return Ok(false),
            Err(StepError::RecordConflict { .. }) => continue,
            Err(e) => return Err(store_error(e)),
        }
    }
    Err(H2hError::Store(
        "the advice kept losing races; try again".into(),
    ))
}
