//! The faces the domain's notices go out through, chosen by an exhaustive
//! `match` over [`Face`]: each face's implementation of
//! [`gerbang_protocol::face::NoticeFace`] renders, signs and reads the answers;
//! this module finds the requester it needs from what the record stores.

use crate::App;
use gerbang_core::cashin::{CashInBulk, CashInChunk};
use gerbang_core::payin::Bill;
use gerbang_core::payout::{Disbursement, Face};
use gerbang_protocol::debit::notice::DebitV1;
use gerbang_protocol::face::{NoticeFace, Outgoing, RenderedNotice};
use gerbang_protocol::sendme::notice::SendmeV1;
use gerbang_protocol::snap::notice::Snap;
use gerbang_store::{NewNotification, StoreError};

/// The notice a payout's new state sends its requester, if its face sends one.
/// A requester that is no longer provisioned has no keys to sign with: that is
/// logged and no notice is sent.
pub async fn payout_notice(
    app: &App,
    d: &Disbursement,
) -> Result<Option<NewNotification>, StoreError> {
    let face = d.requester.face;
    let rendered = match face {
        Face::SendmeV1 => {
            let Some(partner) = app
                .partners
                .sendme_by_va(&*app.store, &d.requester.principal)
                .await?
            else {
                tracing::error!(
                    disbursement = %d.id,
                    requester = %gerbang_core::mask::mask_tail(&d.requester.principal),
                    "the requester is not provisioned: no notice"
                );
                return Ok(None);
            };
            SendmeV1::payout_notice(d, &partner.callback_keys())
        }
        Face::Snap => {
            let Some(partner) = app
                .partners
                .snap(&*app.store, &d.requester.principal)
                .await?
            else {
                tracing::error!(disbursement = %d.id, "the SNAP partner is not provisioned: no notice");
                return Ok(None);
            };
            Snap::payout_notice(d, &partner.notice_address())
        }
        // Debit merchants take payments; they request no payouts.
        Face::Debit => None,
    };
    Ok(
        rendered.map(|RenderedNotice { url, body }| NewNotification {
            protocol: face.as_str().into(),
            owner: d.requester.principal.clone(),
            source: format!("disbursement:{}", d.id),
            url,
            body,
            request_id: d.request_id.clone(),
        }),
    )
}

/// The notice a settled chunk of a bulk cash-in sends its requester (one page of
/// the items' outcomes), if its face sends one.
pub async fn cashin_notices(
    app: &App,
    b: &CashInBulk,
    chunk: &CashInChunk,
) -> Result<Option<NewNotification>, StoreError> {
    let face = b.requester.face;
    let rendered = match face {
        Face::Snap => match app
            .partners
            .snap(&*app.store, &b.requester.principal)
            .await?
        {
            Some(partner) => Snap::cashin_notice(b, chunk, &partner.notice_address()),
            None => {
                tracing::error!(bulk = %b.id, "the SNAP partner is not provisioned: no notice");
                None
            }
        },
        // Only SNAP asks for bulk cash-ins.
        Face::SendmeV1 | Face::Debit => None,
    };
    // Each page a source of its own: the notifier keeps one source's notices in
    // order, and pages need none, so they go out side by side.
    Ok(
        rendered.map(|RenderedNotice { url, body }| NewNotification {
            protocol: face.as_str().into(),
            owner: b.requester.principal.clone(),
            source: format!("cashin:{}:page:{}", b.id, chunk.index + 1),
            url,
            body,
            request_id: b.request_id.clone(),
        }),
    )
}

/// The notice a bill's new state sends its requester, if its face sends one.
pub async fn bill_notice(app: &App, b: &Bill) -> Result<Option<NewNotification>, StoreError> {
    let face = b.requester.face;
    let rendered = match face {
        Face::Debit => {
            let Some(merchant) = app
                .partners
                .merchant(&*app.store, &b.requester.principal)
                .await?
            else {
                tracing::error!(bill = %b.id, "the merchant is not provisioned: no notice");
                return Ok(None);
            };
            DebitV1::bill_notice(b, &merchant.notice_keys())
        }
        Face::SendmeV1 | Face::Snap => None,
    };
    Ok(
        rendered.map(|RenderedNotice { url, body }| NewNotification {
            protocol: face.as_str().into(),
            owner: b.requester.principal.clone(),
            source: format!("bill:{}", b.id),
            url,
            body,
            request_id: b.request_id.clone(),
        }),
    )
}

/// How a notification of `protocol` (a face's name) is sent and acknowledged.
/// Notifications of no face (the sandbox's own test notifications) are plain
/// JSON acknowledged by any 2xx.
pub struct Delivery {
    content_type: fn(&str) -> &'static str,
    /// Whether [`Outgoing::sign`] is called: the gateway's key is needed.
    pub signed_by_gateway: bool,
    headers: fn(&Outgoing<'_>) -> Vec<(String, String)>,
    acknowledged: fn(u16, &str) -> bool,
    /// The face's own cap on attempts, if it has one.
    pub max_attempts: Option<i32>,
}

impl Delivery {
    fn face<F: NoticeFace>() -> Delivery {
        Delivery {
            content_type: F::content_type,
            signed_by_gateway: F::SIGNED_BY_GATEWAY,
            headers: F::headers,
            acknowledged: F::acknowledged,
            max_attempts: F::MAX_ATTEMPTS,
        }
    }
}

impl Delivery {
    pub fn of(protocol: &str) -> Delivery {
        match Face::parse(protocol) {
            Some(Face::SendmeV1) => Delivery::face::<SendmeV1>(),
            Some(Face::Debit) => Delivery::face::<DebitV1>(),
            Some(Face::Snap) => Delivery::face::<Snap>(),
            None => Delivery {
                content_type: |_| "application/json",
                signed_by_gateway: false,
                headers: |_| Vec::new(),
                acknowledged: |status, _| (200..300).contains(&status),
                max_attempts: None,
            },
        }
    }

    pub fn content_type(&self, body: &str) -> &'static str {
        (self.content_type)(body)
    }

    pub fn headers(&self, attempt: &Outgoing<'_>) -> Vec<(String, String)> {
        (self.headers)(attempt)
    }

    pub fn acknowledged(&self, http_status: u16, body: &str) -> bool {
        (self.acknowledged)(http_status, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_face_has_a_delivery() {
        for face in Face::ALL {
            let d = Delivery::of(face.as_str());
            assert!(d.content_type("{}").contains('/'));
            assert!(d.acknowledged(200, r#"{"response_code":"00"}"#));
            assert!(!d.acknowledged(500, ""));
        }
    }
}
