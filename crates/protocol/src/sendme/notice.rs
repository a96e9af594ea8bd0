//! The SendMe v1 face of payout notices: the transfer notification a partner's
//! `callback_url` gets when a transfer reaches a final status, signed in its body
//! ([`super::callback`]); any 2xx acknowledges it.

use super::callback;
use super::render::{as_sent, bank_response, beneficiary, status_of, wib};
use crate::face::{NoticeFace, RenderedNotice};
use gerbang_core::payout::{Disbursement, Face};
use serde_json::Map;

/// The SendMe v1 face.
pub struct SendmeV1;

/// What a notice needs of a SendMe partner: its name and callback keys.
pub struct CallbackKeys {
    pub va_name: String,
    pub app_key: String,
    pub app_secret: String,
    pub client_key: String,
    pub client_secret: String,
}

impl NoticeFace for SendmeV1 {
    const FACE: Face = Face::SendmeV1;
    const CONTENT_TYPE: &'static str = "application/json";
    type Requester = CallbackKeys;

    fn payout_notice(d: &Disbursement, keys: &CallbackKeys) -> Option<RenderedNotice> {
        if !d.status.is_final() {
            return None;
        }
        let url = d.notice_url.clone()?;
        let (trx_status, _) = status_of(d.status);
        let sent = as_sent(d);
        let payee = beneficiary(d);
        let (response_code, response_message) = bank_response(d);
        let mut m = Map::new();
        m.insert("request".into(), "Transfer Notification".into());
        m.insert(
            "virtual_account".into(),
            d.requester.principal.clone().into(),
        );
        m.insert("va_name".into(), keys.va_name.clone().into());
        m.insert(
            "beneficiary_virtual_account".into(),
            payee.virtual_account.into(),
        );
        m.insert("beneficiary_account".into(), payee.account.into());
        m.insert("beneficiary_name".into(), sent.beneficiary_name);
        m.insert("trx_id".into(), d.id.clone().into());
        m.insert("trx_date".into(), sent.trx_date);
        m.insert("trx_amount".into(), d.amount_minor.to_string().into());
        m.insert("trx_desc".into(), d.description.clone().into());
        m.insert("trx_status".into(), trx_status.into());
        m.insert("trx_status_date".into(), wib(d.status_at).into());
        m.insert("trx_reff".into(), d.gateway_reference.clone().into());
        m.insert("trx_no".into(), d.reference.clone().into());
        m.insert("bank_code".into(), payee.bank_code.into());
        m.insert("bank_name".into(), payee.bank_name.into());
        m.insert(
            "bank_response_code".into(),
            response_code.unwrap_or_default().into(),
        );
        m.insert("bank_response_msg".into(), response_message.into());
        let body = callback::signed_body(
            m,
            &keys.app_key,
            &keys.app_secret,
            &keys.client_key,
            &keys.client_secret,
        );
        Some(RenderedNotice { url, body })
    }
}
