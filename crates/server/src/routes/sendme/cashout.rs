//! Cash-out transfers (`beneficiary_bank_code` `alf`, `imr`, `C013`): a decoded
//! cash transfer checked against its network's configured rules, as a payout to a
//! cash code.

use super::request::echo;
use super::Shared;
use gerbang_app::cashout::NetworkRules;
use gerbang_app::payout::{self, CashCode, NewPayout, Payee};
use gerbang_core::mask::Masked;
use gerbang_protocol::sendme::envelope::SendmeError;
use gerbang_protocol::sendme::fields::fingerprint;
use gerbang_protocol::sendme::render::cash_network_code;
use gerbang_protocol::sendme::request::{CashTransfer, Stamp};

/// Checks a cash-out request against its network's rules.
pub(super) async fn prepare(
    sendme: &Shared,
    c: &super::Call,
    amount: i64,
    t: CashTransfer,
) -> Result<NewPayout, SendmeError> {
    let app = &sendme.app;
    let network = t.network;
    let rules = network.rules(&app.config.cashout, app.config.mode);
    // Checks that depend on the time or the configuration: a retry of a request
    // accepted before must still get its first answer, so they only refuse a new one.
    let mut refusal = (!rules.allows_amount(amount)).then(|| {
        SendmeError::INVALID_BODY.with_detail(format!(
            "trx_amount: from {} to {} in multiples of {} (two implied decimals)",
            rules.min_minor, rules.max_minor, rules.multiple_minor
        ))
    });
    let description: String = t
        .description
        .clone()
        .unwrap_or_default()
        .chars()
        .take(rules.description_chars)
        .collect();
    let now = app.now();
    let max_life = app.config.cashout.max_expiry_seconds.min(i64::MAX as u64) as i64;
    let default_life = (c
        .partner
        .cashout_expiry_seconds
        .unwrap_or(app.config.cashout.default_expiry_seconds)
        .min(i64::MAX as u64) as i64)
        .clamp(1, max_life.max(1));
    let (expires_at, lifetime_seconds) = match &t.expires {
        Some(Stamp { at, .. }) => {
            if *at <= now || *at > now.plus_seconds(max_life) {
                refusal = refusal.or(Some(SendmeError::INVALID_BODY.with_detail(format!(
                    "trx_expired: after now and at most {max_life} s ahead"
                ))));
            }
            (*at, None)
        }
        None => (now.plus_seconds(default_life), Some(default_life)),
    };
    if let Some(refusal) = refusal {
        let accepted = payout::id_by_reference(&app.store, &c.partner.requester(), &t.reference)
            .await
            .map_err(super::internal)?;
        if accepted.is_none() {
            return Err(refusal);
        }
    }
    fn text(s: &Option<Stamp>) -> &str {
        s.as_ref().map_or("", |s| s.text.as_str())
    }
    let print = fingerprint(&[
        &c.partner.virtual_account,
        cash_network_code(network),
        t.phone.as_str(),
        &t.name,
        &amount.to_string(),
        &description,
        text(&t.trx_date),
        text(&t.instruct),
        text(&t.expires),
        t.callback_url.as_ref().map_or("", |u| u.as_str()),
    ]);
    Ok(NewPayout {
        requester: c.partner.requester(),
        funding_account: c.partner.account_code(),
        needs_approval: c.partner.require_approval,
        reference: t.reference,
        fingerprint: print,
        payee: Payee::CashCode(CashCode {
            network,
            phone: Masked(t.phone.into_string()),
            holder: t.name,
            code: None,
            expires_at,
            lifetime_seconds,
            payment: None,
            advised_at: None,
            reversed_at: None,
        }),
        amount_minor: amount,
        description,
        notice_url: t.callback_url.map(|u| u.into_string()),
        request: echo(&c.input.fields),
        instruct_at: None,
        claim: None,
    })
}
