//! Bulk cash-in submit (service 40): every item checked before anything is held,
//! the whole bulk held and answered at once (`2024000`), each item then credited
//! at its e-wallet and the outcomes sent in signed notify pages (service 41).

use super::{internal, Answer, Caller, Shared};
use gerbang_app::cashin::{self, BulkError, CashInItem, NewBulk};
use gerbang_channels::ewallet;
use gerbang_core::Document;
use gerbang_protocol::fingerprint::fingerprint;
use gerbang_protocol::snap::bulk::{BulkEcho, BulkSubmit, DEFAULT_PLATFORM};
use gerbang_protocol::snap::code::{Case, Outcome, Service};
use gerbang_protocol::snap::render;
use serde_json::Map;

const SERVICE: Service = Service::BULK_CASH_IN;

/// The wallet code `given` names, in its canonical spelling.
fn wallet(given: &str, path: &str) -> Result<&'static str, Outcome> {
    ewallet::by_code(given)
        .map(|w| w.code)
        .ok_or_else(|| Outcome::new(SERVICE, Case::INVALID_FIELD_FORMAT).about(path))
}

pub async fn submit(snap: Shared, c: Caller) -> Result<Answer, Outcome> {
    let max = snap.app.config.snap.max_bulk_items;
    let b = BulkSubmit::read(&c.body, max).map_err(|r| r.outcome())?;
    // Told after the wallets' codes below, as a rule on a body of good form.
    let limit = b.within_limit();
    // A bulk goes out at once: a balance whose transfers wait for approval takes none.
    let source = super::source(
        &snap,
        SERVICE,
        &c,
        &c.partner.source_account,
        "sourceAccount",
    )
    .await?;
    if source.require_approval {
        return Err(Outcome::new(SERVICE, Case::FEATURE_NOT_ALLOWED)
            .about("the source account's transfers wait for approval; a bulk cannot"));
    }
    let default_wallet = wallet(
        b.platform_code.as_deref().unwrap_or(DEFAULT_PLATFORM),
        "additionalInfo.platformCode",
    )?;
    let mut items = Vec::with_capacity(b.items.len());
    let mut print: Vec<String> = Vec::with_capacity(b.items.len() * 4 + 2);
    print.push(c.partner.partner_id.clone());
    print.push(b.partner_bulk_id.clone().unwrap_or_default());
    for (i, item) in b.items.into_iter().enumerate() {
        let wallet = match &item.platform_code {
            Some(code) => wallet(
                code,
                &format!("bulkObject[{i}].additionalInfo.platformCode"),
            )?,
            None => default_wallet,
        };
        print.extend([
            item.reference.clone(),
            item.account.clone(),
            wallet.to_string(),
            item.amount_minor.to_string(),
        ]);
        items.push(CashInItem {
            reference: item.reference,
            account: gerbang_core::mask::Masked(item.account),
            wallet: wallet.to_string(),
            name: item.name.unwrap_or_default(),
            amount_minor: item.amount_minor,
            attempts: 0,
            outcome: None,
        });
    }
    limit.map_err(|e| gerbang_protocol::snap::bulk::BulkRefusal::Field(e).outcome())?;
    let parts: Vec<&str> = print.iter().map(String::as_str).collect();
    let request = NewBulk {
        requester: c.partner.requester(),
        funding_account: c.partner.account_code(),
        reference: b.partner_bulk_id.clone(),
        fingerprint: fingerprint(&parts),
        items,
        notice_url: b.callback_url.map(|u| u.into_string()),
        request: Document::of(&BulkEcho {
            transaction_date: b.transaction_date,
            fee_type: b.fee_type,
        }),
        claim: c.claim.clone(),
    };
    // A refusal of a request whose X-EXTERNAL-ID was used before becomes
    // `409xx00` in `service` (`Snap::or_replayed`).
    match cashin::accept(&snap.app, request).await {
        Ok(accepted) if accepted.first_time => {
            let mut m = Map::new();
            m.insert("bulkId".into(), accepted.bulk.id.into());
            m.insert(
                "partnerBulkId".into(),
                accepted.bulk.reference.unwrap_or_default().into(),
            );
            Ok(Answer::new(Case::IN_PROGRESS, m))
        }
        Ok(_) => Err(Outcome::new(SERVICE, Case::DUPLICATE_REFERENCE).about("partnerBulkId")),
        Err(BulkError::DuplicateReference) => {
            Err(Outcome::new(SERVICE, Case::INCONSISTENT).about("partnerBulkId"))
        }
        Err(BulkError::InsufficientBalance) => Err(Outcome::new(SERVICE, Case::INSUFFICIENT_FUNDS)),
        Err(BulkError::Claimed) => Err(Outcome::new(SERVICE, Case::CONFLICT)),
        Err(BulkError::DuplicateItem { index, same }) => Err(Outcome::new(
            SERVICE,
            if same {
                Case::DUPLICATE_REFERENCE
            } else {
                Case::INCONSISTENT
            },
        )
        .about(format!("bulkObject[{index}].partnerReferenceNo"))),
        Err(BulkError::AwaitingRestoreConfirmation) => {
            Err(Outcome::new(SERVICE, Case::NOT_ALLOWED_AT_THIS_TIME)
                .about("the gateway was restored from a backup; new bulks wait for the operator"))
        }
        Err(BulkError::InternalNoticeUrl) => {
            Err(Outcome::new(SERVICE, Case::INVALID_FIELD_FORMAT)
                .about("additionalInfo.callbackUrl"))
        }
        Err(BulkError::Store(e)) => Err(internal(SERVICE, e)),
    }
}

/// `/v1.0/emoney/bulk-cashin-status` (gerbang's own; SNAP defines no bulk status
/// service): a bulk of the caller's by `bulkId` or `partnerBulkId`, and how far it
/// has come. Answered with the bulk's service code, 40.
pub async fn status(snap: Shared, c: Caller) -> Result<Answer, Outcome> {
    let field = |e| super::field(SERVICE, e);
    let bulk_id = c.body.text("bulkId", 64).map_err(field)?;
    let reference = c.body.text("partnerBulkId", 64).map_err(field)?;
    if bulk_id.is_none() && reference.is_none() {
        return Err(Outcome::new(SERVICE, Case::INVALID_MANDATORY_FIELD).about("bulkId"));
    }
    let (bulk, p) = cashin::progress(
        &snap.app.store,
        &c.partner.requester(),
        bulk_id.as_deref(),
        reference.as_deref(),
    )
    .await
    .map_err(|e| internal(SERVICE, e))?
    .ok_or_else(|| Outcome::new(SERVICE, Case::NOT_FOUND))?;
    let echo: BulkEcho = bulk.request.decode().unwrap_or_default();
    let mut m = Map::new();
    m.insert("bulkId".into(), bulk.id.clone().into());
    m.insert(
        "partnerBulkId".into(),
        bulk.reference.clone().unwrap_or_default().into(),
    );
    m.insert("transactionDate".into(), echo.transaction_date.into());
    m.insert(
        "additionalInfo".into(),
        serde_json::json!({
            "status": bulk.status.as_str(),
            "items": bulk.items,
            "totalAmount": render::amount(bulk.total_minor),
            "parts": bulk.chunks,
            "partsSettled": p.parts_settled,
            "credited": p.credited,
            "failed": p.failed,
            "pending": p.open,
        }),
    );
    Ok(Answer::new(Case::SUCCESSFUL, m))
}
