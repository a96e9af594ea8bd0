//! Bills at a network's counter: the customer pays a bill in cash at a store
//! (the bill's id as payment code) or into a virtual account at a bank (the id
//! as VA number). The pay-in path ([`crate::payin`]) does the money.

use super::{payment_key, store_error, Access, Claimable, H2hError, Lost, Paid};
use super::{PaymentRequest, Refusal, Reversal, BILL_PREFIX};
use crate::payin::{self, ChangeError, ChannelPayment};
use crate::App;
use gerbang_core::counter::CounterNetwork;
use gerbang_core::payin::{find_channel, Bill, BillStatus};

/// Bill `code`, payable now at `network`.
async fn live_bill(app: &App, network: CounterNetwork, code: &str) -> Result<Bill, H2hError> {
    let (b, _) = payin::load(&app.store, code)
        .await
        .map_err(store_error)?
        .ok_or(Refusal::UnknownCode)?;
    let counter = find_channel(&b.channel).and_then(|c| c.counter());
    if counter != Some(network) {
        return Err(Refusal::UnknownCode.into());
    }
    match b.status {
        BillStatus::Pending if app.now() >= b.expires_at => Err(Refusal::Expired.into()),
        BillStatus::Pending => Ok(b),
        BillStatus::Expired => Err(Refusal::Expired.into()),
        _ => Err(Refusal::AlreadyUsed.into()),
    }
}

pub(super) async fn inquire(
    app: &App,
    network: CounterNetwork,
    code: &str,
) -> Result<Claimable, H2hError> {
    let b = live_bill(app, network, code).await?;
    Ok(Claimable {
        id: b.id,
        amount_minor: b.amount_minor,
        holder: b.customer.name,
        expires_at: b.expires_at,
    })
}

fn paid_view(b: &Bill, repeated: bool) -> Result<Paid, H2hError> {
    let p = b
        .payment
        .as_ref()
        .ok_or_else(|| H2hError::Store(format!("bill {} has no payment", b.id)))?;
    Ok(Paid {
        id: b.id.clone(),
        reference: p.reference.clone(),
        amount_minor: p.amount_minor,
        paid_at: p.paid_at,
        repeated,
    })
}

/// The first answer to a payment repeated with the same content; `None` when
/// it was reversed since.
pub(super) fn repeated(b: &Bill) -> Result<Option<Paid>, H2hError> {
    if b.status == BillStatus::Reversed {
        return Ok(None);
    }
    paid_view(b, true).map(Some)
}

/// Takes the customer's payment of the bill.
pub(super) async fn pay(
    app: &App,
    network: CounterNetwork,
    req: &PaymentRequest,
) -> Result<Paid, Lost> {
    let b = live_bill(app, network, &req.code).await?;
    if b.amount_minor != req.amount_minor {
        return Err(Refusal::WrongAmount.into());
    }
    let payment = ChannelPayment {
        reference: req.reference.clone(),
        amount_minor: req.amount_minor,
        terminal: Some(req.terminal.clone()).filter(|t| !t.is_empty()),
        idempotency: Some(payment_key(network, req, format!("{BILL_PREFIX}{}", b.id))),
    };
    match payin::pay_through_channel(app, &b.id, payment).await {
        Ok(paid) => Ok(paid_view(&paid, false)?),
        // Another request took the reference first: look again.
        Err(ChangeError::ReferenceTaken) => Err(Lost::Race),
        Err(ChangeError::NotFound) => Err(Refusal::UnknownCode.into()),
        Err(ChangeError::WrongAmount) => Err(Refusal::WrongAmount.into()),
        Err(ChangeError::NotPending("expired")) => Err(Refusal::Expired.into()),
        Err(ChangeError::NotPending(_) | ChangeError::AlreadyPaid) => {
            Err(Refusal::AlreadyUsed.into())
        }
        Err(e @ (ChangeError::Store(_) | ChangeError::Changed)) => Err(store_error(e).into()),
    }
}

/// Undoes the bill's payment (`b` at `version`) within the network's window,
/// before its advice.
pub(super) async fn reverse(
    app: &App,
    access: &Access,
    b: &Bill,
    version: i64,
) -> Result<Reversal, Lost> {
    if b.status == BillStatus::Reversed {
        return Ok(Reversal::Reversed { repeated: true });
    }
    let p = b
        .payment
        .as_ref()
        .ok_or_else(|| H2hError::Store(format!("bill {} has no payment", b.id)))?;
    let window = access.reversal_window_seconds.min(i64::MAX as u64) as i64;
    if app.now() > p.paid_at.plus_seconds(window)
        || (p.advised_at.is_some() && !access.reversal_after_advice)
    {
        return Err(Refusal::NotAllowed.into());
    }
    match payin::reverse(app, &b.id, version).await {
        Ok(_) => Ok(Reversal::Reversed { repeated: false }),
        // Advised, refunded or reversed meanwhile: look again.
        Err(ChangeError::Changed) => Err(Lost::Race),
        // Refunded since, or the merchant's balance no longer holds it.
        Err(ChangeError::NotPending(_)) => Err(Refusal::NotAllowed.into()),
        Err(e) => Err(store_error(e).into()),
    }
}

/// Marks the bill's payment final; whether it was before.
pub(super) async fn advise(app: &App, b: &Bill) -> Result<bool, Lost> {
    if b.status == BillStatus::Reversed {
        return Err(Refusal::NotAllowed.into());
    }
    payin::advise(app, &b.id)
        .await
        .map_err(|e| store_error(e).into())
}
