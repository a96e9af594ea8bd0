//! Cash-out transfers (`beneficiary_bank_code` `alf`, `imr`, `C013`): what such a
//! request must carry, and the code in the answers. Permata's code is handed out
//! encrypted with the gateway's private key; the stores' codes in plain digits.

use super::queries::wib;
use super::{Shared, ORIGIN};
use gerbang_app::cashout::keys::CodeKey;
use gerbang_app::cashout::{Network, NewCashout};
use gerbang_app::disbursement::{self, Disbursement, NewDisbursement};
use gerbang_protocol::sendme::auth::parse_timestamp;
use gerbang_protocol::sendme::envelope::SendmeError;
use gerbang_protocol::sendme::fields::{fingerprint, Fields};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Checks a cash-out request against its network's rules.
pub(super) async fn prepare(
    sendme: &Shared,
    c: &super::Call,
    va: String,
    amount: i64,
    description: Option<String>,
    network: Network,
) -> Result<NewDisbursement, SendmeError> {
    let f: &Fields = &c.fields;
    let app = &sendme.app;
    let rules = network.rules(&app.config.cashout, app.config.mode);
    // Checks that depend on the time or the configuration: a retry of a request
    // accepted before must still get its first answer, so they only refuse a new one.
    let mut refusal = rules
        .check_amount(amount)
        .err()
        .map(|why| SendmeError::INVALID_BODY.with_detail(why));
    let description: String = description
        .unwrap_or_default()
        .chars()
        .take(rules.description_chars)
        .collect();
    let phone = f.required("beneficiary_phone", 15)?;
    if !phone
        .trim_start_matches('+')
        .bytes()
        .all(|b| b.is_ascii_digit())
        || phone.len() < 8
    {
        return Err(SendmeError::INVALID_BODY.with_detail("beneficiary_phone: a phone number"));
    }
    let name = match f.optional("beneficiary_name", 255)? {
        Some(name) => name,
        None => f.required("beneficiary_account_name", 255)?,
    };
    let reference = f.required("trx_no", 255)?;
    let trx_date = timestamp_field(f, "trx_date")?;
    let instruct = timestamp_field(f, "instruct_date")?;
    let callback_url = super::transfer::callback_url(f, network == Network::Permata)?;
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
        let accepted = disbursement::id_by_reference(&app.store, &va, &reference)
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
        network.bank_code(),
        &phone,
        &name,
        &amount.to_string(),
        &description,
        &text(&trx_date),
        &text(&instruct),
        &text(&expired_text),
        callback_url.as_deref().unwrap_or(""),
    ]);
    let request = super::transfer::echo(f);
    Ok(NewDisbursement {
        reference,
        fingerprint: print,
        bank_code: network.bank_code().into(),
        bank_name: network.display_name().into(),
        account: phone.clone(),
        account_name: name,
        beneficiary_va: None,
        amount_minor: amount,
        description,
        callback_url,
        origin: ORIGIN.into(),
        request,
        instruct_at: None,
        cashout: Some(NewCashout {
            network,
            phone,
            expires_at,
            lifetime_seconds,
        }),
    })
}

/// An optional `Y-m-d H:i:s` field (Jakarta time); empty counts as absent.
fn timestamp_field(
    f: &Fields,
    name: &str,
) -> Result<Option<(String, gerbang_core::Timestamp)>, SendmeError> {
    match f.optional(name, 19)? {
        None => Ok(None),
        Some(text) => match parse_timestamp(&text) {
            Some(at) => Ok(Some((text, at))),
            None => Err(SendmeError::INVALID_BODY.with_detail(format!("{name}: Y-m-d H:i:s"))),
        },
    }
}

/// Renders codes as partners get them — Permata's encrypted, the stores' plain,
/// empty while a transfer waits for approval — reading the code key at most once
/// however many codes one answer carries.
pub(super) struct PartnerCodes<'a> {
    sendme: &'a Shared,
    key: tokio::sync::OnceCell<Arc<CodeKey>>,
}

impl<'a> PartnerCodes<'a> {
    pub(super) fn new(sendme: &'a Shared) -> Self {
        PartnerCodes {
            sendme,
            key: tokio::sync::OnceCell::new(),
        }
    }

    /// The code key (read once).
    pub(super) async fn key(&self) -> Result<&CodeKey, SendmeError> {
        let app = &self.sendme.app;
        self.key
            .get_or_try_init(|| async {
                app.code_keys
                    .current(&app.store, app.now())
                    .await
                    .map_err(super::internal)
            })
            .await
            .map(|k| &**k)
    }

    pub(super) async fn code(&self, d: &Disbursement) -> Result<String, SendmeError> {
        let Some(c) = &d.cashout else {
            return Ok(String::new());
        };
        let Some(code) = &c.code else {
            return Ok(String::new());
        };
        if !c.network.encrypts_code() {
            return Ok(code.expose().to_string());
        }
        Ok(self.key().await?.encrypt_code(code.expose()))
    }
}

/// Adds what a cash-out answer carries to `m`: dates, expiry and the code.
pub(super) async fn add_fields(
    codes: &PartnerCodes<'_>,
    d: &Disbursement,
    m: &mut Map<String, Value>,
) -> Result<(), SendmeError> {
    let Some(c) = &d.cashout else {
        return Ok(());
    };
    for name in ["trx_date", "instruct_date"] {
        let given = m.get(name).and_then(Value::as_str).unwrap_or("").trim();
        if given.is_empty() {
            m.insert(name.into(), wib(d.created_at).into());
        }
    }
    m.insert("trx_expired".into(), wib(c.expires_at).into());
    m.entry("beneficiary_account_name")
        .or_insert_with(|| d.account_name.clone().into());
    m.insert("cashout_code".into(), codes.code(d).await?.into());
    Ok(())
}
