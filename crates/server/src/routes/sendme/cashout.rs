//! Cash-out transfers (`beneficiary_bank_code` `alf`, `imr`, `C013`): what such a
//! request must carry, checked against its network's rules, as a payout to a
//! cash code.

use super::request::{callback_url, echo, timestamp_field};
use super::Shared;
use gerbang_app::cashout::{Network, NetworkRules};
use gerbang_app::payout::{self, CashCode, NewPayout, Payee};
use gerbang_core::mask::Masked;
use gerbang_core::values::Phone;
use gerbang_protocol::sendme::envelope::SendmeError;
use gerbang_protocol::sendme::fields::{fingerprint, Fields};
use gerbang_protocol::sendme::render::cash_network_code;

/// Checks a cash-out request against its network's rules.
pub(super) async fn prepare(
    sendme: &Shared,
    c: &super::Call,
    va: String,
    amount: i64,
    description: Option<String>,
    network: Network,
) -> Result<NewPayout, SendmeError> {
    let f: &Fields = &c.fields;
    let app = &sendme.app;
    let rules = network.rules(&app.config.cashout, app.config.mode);
    // Checks that depend on the time or the configuration: a retry of a request
    // accepted before must still get its first answer, so they only refuse a new one.
    let mut refusal = (!rules.allows_amount(amount)).then(|| {
        SendmeError::INVALID_BODY.with_detail(format!(
            "trx_amount: from {} to {} in multiples of {} (two implied decimals)",
            rules.min_minor, rules.max_minor, rules.multiple_minor
        ))
    });
    let description: String = description
        .unwrap_or_default()
        .chars()
        .take(rules.description_chars)
        .collect();
    let phone = Phone::parse(&f.required("beneficiary_phone", Phone::MAX_CHARS)?)
        .map_err(|_| SendmeError::INVALID_BODY.with_detail("beneficiary_phone: a phone number"))?
        .into_string();
    let name = match f.optional("beneficiary_name", 255)? {
        Some(name) => name,
        None => f.required("beneficiary_account_name", 255)?,
    };
    let reference = f.required("trx_no", 255)?;
    let trx_date = timestamp_field(f, "trx_date")?;
    let instruct = timestamp_field(f, "instruct_date")?;
    let callback_url = callback_url(f, network == Network::Permata)?;
    let now = app.now();
    let max_life = app.config.cashout.max_expiry_seconds.min(i64::MAX as u64) as i64;
    let default_life = (c
        .partner
        .cashout_expiry_seconds
        .unwrap_or(app.config.cashout.default_expiry_seconds)
        .min(i64::MAX as u64) as i64)
        .clamp(1, max_life.max(1));
    let expired_text = timestamp_field(f, "trx_expired")?;
    let (expires_at, lifetime_seconds) = match &expired_text {
        Some((_, at)) => {
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
        let accepted = payout::id_by_reference(&app.store, &c.partner.requester(), &reference)
            .await
            .map_err(super::internal)?;
        if accepted.is_none() {
            return Err(refusal);
        }
    }
    let text = |t: &Option<(String, gerbang_core::Timestamp)>| {
        t.as_ref().map(|(s, _)| s.clone()).unwrap_or_default()
    };
    let print = fingerprint(&[
        &va,
        cash_network_code(network),
        &phone,
        &name,
        &amount.to_string(),
        &description,
        &text(&trx_date),
        &text(&instruct),
        &text(&expired_text),
        callback_url.as_deref().unwrap_or(""),
    ]);
    Ok(NewPayout {
        requester: c.partner.requester(),
        funding_account: c.partner.account_code(),
        needs_approval: c.partner.require_approval,
        reference,
        fingerprint: print,
        payee: Payee::CashCode(CashCode {
            network,
            phone: Masked(phone),
            holder: name,
            code: None,
            expires_at,
            lifetime_seconds,
            payment: None,
            advised_at: None,
            reversed_at: None,
        }),
        amount_minor: amount,
        description,
        callback_url,
        request: echo(f),
        instruct_at: None,
    })
}
