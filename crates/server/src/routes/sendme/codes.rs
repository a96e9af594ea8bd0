//! Cash-out codes as SendMe answers show them: Permata's encrypted with the
//! gateway's private key, the stores' in plain digits, empty while a transfer
//! waits for approval; with the dates and expiry a cash-out answer carries.

use super::Shared;
use gerbang_app::keys::KeyPair;
use gerbang_core::payout::Disbursement;
use gerbang_protocol::sendme::envelope::SendmeError;
use gerbang_protocol::sendme::render::{code_is_encrypted, wib};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Renders codes, reading the code key at most once however many codes one
/// answer carries.
pub(super) struct PartnerCodes<'a> {
    sendme: &'a Shared,
    key: tokio::sync::OnceCell<Arc<KeyPair>>,
}

impl<'a> PartnerCodes<'a> {
    pub(super) fn new(sendme: &'a Shared) -> Self {
        PartnerCodes {
            sendme,
            key: tokio::sync::OnceCell::new(),
        }
    }

    /// The code key (read once).
    pub(super) async fn key(&self) -> Result<&KeyPair, SendmeError> {
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
        let Some(c) = d.cash_code() else {
            return Ok(String::new());
        };
        let Some(code) = &c.code else {
            return Ok(String::new());
        };
        if !code_is_encrypted(c.network) {
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
    let Some(c) = d.cash_code() else {
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
        .or_insert_with(|| c.holder.clone().into());
    m.insert("cashout_code".into(), codes.code(d).await?.into());
    Ok(())
}
