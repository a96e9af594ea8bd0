//! Transfer status (36) and top-up status (39): a SNAP payout of the caller's by
//! its `originalPartnerReferenceNo` (and `originalReferenceNo`, when given), for
//! the service that asked for it (`serviceCode`).

use super::{field, internal, Answer, Caller, Shared};
use gerbang_app::payout;
use gerbang_protocol::snap::code::{Case, Outcome, Service};
use gerbang_protocol::snap::render::{self, Echo};
use gerbang_protocol::snap::request::StatusQuery;

async fn find(
    snap: &Shared,
    service: Service,
    c: &Caller,
    services: &[&str],
    render: fn(&gerbang_core::payout::Disbursement) -> serde_json::Map<String, serde_json::Value>,
) -> Result<Answer, Outcome> {
    let q = StatusQuery::read(&c.body).map_err(|e| field(service, e))?;
    let not_found = || Outcome::new(service, Case::NOT_FOUND);
    if !services.contains(&q.service_code.as_str()) {
        return Err(not_found());
    }
    let d = payout::by_reference(
        &snap.app.store,
        &c.partner.requester(),
        &q.original_partner_reference,
    )
    .await
    .map_err(|e| internal(service, e))?
    .ok_or_else(not_found)?;
    let echo: Echo = d.request.decode().unwrap_or_default();
    if echo.service_code != q.service_code
        || q.original_reference.as_ref().is_some_and(|r| *r != d.id)
    {
        return Err(not_found());
    }
    Ok(Answer::new(Case::SUCCESSFUL, render(&d)))
}

pub async fn transfer(snap: Shared, c: Caller) -> Result<Answer, Outcome> {
    find(
        &snap,
        Service::TRANSFER_STATUS,
        &c,
        &["18", "33"],
        render::transfer_status,
    )
    .await
}

pub async fn topup(snap: Shared, c: Caller) -> Result<Answer, Outcome> {
    find(
        &snap,
        Service::EMONEY_TOPUP_STATUS,
        &c,
        &["38"],
        render::topup_status,
    )
    .await
}
