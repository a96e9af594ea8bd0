//! Cash-out codes at a network's counter: the network hands out the cash of a
//! payout whose payee is a code it issued ([`crate::cashout`]).

use super::{payment_key, store_error, Access, Claimable, H2hError, Lost, Paid};
use super::{PaymentRequest, Refusal, Reversal};
use crate::cashout::{end_code, same_phone, CodeRecord, CodeSubject, CODE_RECORD};
use crate::payout::{self, hold_key, record_write, CashCode, CodePayment, Disbursement, Status};
use crate::App;
use gerbang_core::counter::CounterNetwork;
use gerbang_core::ledger::{AccountKind, LedgerOp, NewAccount, NewEntry, PostHold, Posting};
use gerbang_core::Currency;
use gerbang_store::{Expect, Step, StepError, TimerOp};

/// The disbursement behind a live code of `network` issued for `phone`.
async fn live_code(
    app: &App,
    network: CounterNetwork,
    code: &str,
    phone: &str,
) -> Result<(Disbursement, i64, CashCode), H2hError> {
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
    if network != CounterNetwork::Cash(held.network) || !same_phone(c.phone.expose(), phone) {
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

pub(super) async fn inquire(
    app: &App,
    network: CounterNetwork,
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

/// The first answer to a payment repeated with the same content; `None` when
/// it was reversed since.
pub(super) fn repeated(d: &Disbursement) -> Result<Option<Paid>, H2hError> {
    if d.status == Status::Reversed {
        return Ok(None);
    }
    paid_view(d, true).map(Some)
}

/// Claims the code: the held amount is posted to the network's clearing
/// account and the requester told the payout succeeded.
pub(super) async fn pay(
    app: &App,
    network: CounterNetwork,
    req: &PaymentRequest,
) -> Result<Paid, Lost> {
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
    let cash = c.network;
    let clearing = cash.clearing_account();
    let mut step = Step {
        idempotency: Some(payment_key(network, req, d.id.clone())),
        accounts: vec![NewAccount {
            code: clearing.clone(),
            kind: AccountKind::ChannelClearing,
            currency: Currency::Idr,
        }],
        ledger: vec![LedgerOp::Post(PostHold {
            key: hold_key(&d),
            kind: "cashout".into(),
            reference: d.reference.clone(),
            description: payout::journal_line(&d, cash.display_name()),
            credits: vec![Posting {
                account: clearing,
                amount: d.amount_minor,
            }],
        })],
        records: vec![
            record_write(&next, Expect::Version(version)),
            end_code(&req.code, &d.id, &d.requester.principal, cash, "paid"),
        ],
        timers: vec![TimerOp::Remove(crate::cashout::expiry_timer_key(&d.id))],
        ..Step::default()
    };
    step.notifications.extend(
        crate::faces::payout_notice(app, &next)
            .await
            .map_err(store_error)?,
    );
    match app.commit(step).await {
        Ok(_) => Ok(paid_view(&next, false)?),
        // Another request took this reference or this code first (its post of
        // the hold may be what failed ours): look again.
        Err(StepError::Duplicate(_))
        | Err(StepError::RecordConflict { .. })
        | Err(StepError::Ledger(_)) => Err(Lost::Race),
        Err(e) => Err(store_error(e).into()),
    }
}

/// Undoes the payment of `d` (at `version`): funds back to the partner,
/// requester told it was reversed.
pub(super) async fn reverse(
    app: &App,
    network: CounterNetwork,
    access: &Access,
    reference: &str,
    d: &Disbursement,
    version: i64,
) -> Result<Reversal, Lost> {
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
            .plus_seconds(access.reversal_window_seconds.min(i64::MAX as u64) as i64);
    if (c.advised_at.is_some() && !access.reversal_after_advice) || window_over {
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
                    account: c.network.clearing_account(),
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
    step.records
        .extend(crate::cashout::end_code_of(d, "reversed"));
    step.notifications.extend(
        crate::faces::payout_notice(app, &next)
            .await
            .map_err(store_error)?,
    );
    match app.commit(step).await {
        Ok(_) => Ok(Reversal::Reversed { repeated: false }),
        // A concurrent reversal moved it (or emptied the clearing first): look again.
        Err(StepError::RecordConflict { .. }) | Err(StepError::Ledger(_)) => Err(Lost::Race),
        Err(e) => Err(store_error(e).into()),
    }
}

/// Marks the payment of `d` final; whether it was before.
pub(super) async fn advise(app: &App, d: &Disbursement, version: i64) -> Result<bool, Lost> {
    if d.status == Status::Reversed {
        return Err(Refusal::NotAllowed.into());
    }
    let Some(c) = d.cash_code().cloned() else {
        return Err(H2hError::Store(format!("disbursement {} is no cash-out", d.id)).into());
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
        Ok(_) => Ok(false),
        Err(StepError::RecordConflict { .. }) => Err(Lost::Race),
        Err(e) => Err(store_error(e).into()),
    }
}
