//! The callback a SendMe partner gets when a disbursement reaches a final status.

use super::queries::{as_sent, status_of, wib};
use gerbang_app::disbursement::{Disbursement, NoticeRenderer};
use gerbang_app::principals::SendmePartner;
use gerbang_protocol::sendme::callback;
use gerbang_store::NewNotification;
use serde_json::Map;

pub struct SendmeNotices;

impl NoticeRenderer for SendmeNotices {
    fn render(&self, d: &Disbursement, partner: &SendmePartner) -> Option<NewNotification> {
        if !d.status.is_final() {
            return None;
        }
        let url = d.callback_url.clone()?;
        let (trx_status, _) = status_of(d.status);
        let sent = as_sent(d);
        let mut m = Map::new();
        m.insert("request".into(), "Transfer Notification".into());
        m.insert("virtual_account".into(), d.partner_va.clone().into());
        m.insert("va_name".into(), partner.name.clone().into());
        m.insert(
            "beneficiary_virtual_account".into(),
            d.beneficiary_va.clone().unwrap_or_default().into(),
        );
        m.insert("beneficiary_account".into(), d.account.clone().into());
        m.insert("beneficiary_name".into(), sent.beneficiary_name);
        m.insert("trx_id".into(), d.id.clone().into());
        m.insert("trx_date".into(), sent.trx_date);
        m.insert("trx_amount".into(), d.amount_minor.to_string().into());
        m.insert("trx_desc".into(), d.description.clone().into());
        m.insert("trx_status".into(), trx_status.into());
        m.insert("trx_status_date".into(), wib(d.status_at).into());
        m.insert("trx_reff".into(), d.gateway_reference.clone().into());
        m.insert("trx_no".into(), d.reference.clone().into());
        m.insert("bank_code".into(), d.bank_code.clone().into());
        m.insert("bank_name".into(), d.bank_name.clone().into());
        m.insert(
            "bank_response_code".into(),
            d.bank_response_code.clone().unwrap_or_default().into(),
        );
        m.insert(
            "bank_response_msg".into(),
            d.bank_response_message.clone().unwrap_or_default().into(),
        );
        let body = callback::signed_body(
            m,
            &partner.app_key,
            partner.app_secret.expose(),
            &partner.client_key,
            partner.client_secret.expose(),
        );
        Some(NewNotification {
            protocol: super::ORIGIN.into(),
            owner: d.partner_va.clone(),
            source: format!("disbursement:{}", d.id),
            url,
            body,
        })
    }
}
