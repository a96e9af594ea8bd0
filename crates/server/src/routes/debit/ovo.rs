//! OVO push to pay (spec §9.2): after Post Data on channel 812 the shop posts the
//! customer's OVO number — a form with `trx_id`, `ovo_number` and
//! `signature = sha1(md5(user_id + password + trx_id))` — to `/pws/ovo_direct`;
//! the customer approves the push in the OVO app and the browser goes to the
//! shop's return URL. In the sandbox the published test number 081234567890
//! approves at once; any other number has no OVO account.

use super::pages::{finish, normalise_phone, page_url, reference, refused, render, Page};
use super::views::Lang;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Router};
use gerbang_app::payin;
use gerbang_app::App;
use gerbang_core::payin::{find_channel, BillStatus};
use gerbang_protocol::debit::signature;
use serde::Deserialize;
use std::sync::Arc;

const OVO_CHANNEL: &str = "812";

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/pws/ovo_direct", post(push))
        .layer(axum::middleware::map_response(super::pages::guarded))
        .with_state(app)
}

#[derive(Deserialize)]
struct Push {
    trx_id: String,
    ovo_number: String,
    signature: String,
}

async fn push(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    form: Result<Form<Push>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = super::pages::lang(None, &headers);
    // A browser form with the three fields; anything else gets the page that says so.
    let Ok(Form(form)) = form else {
        return refused(lang, StatusCode::BAD_REQUEST);
    };
    let Ok(Some((bill, _))) = payin::load(&app.store, form.trx_id.trim()).await else {
        return refused(lang, StatusCode::NOT_FOUND);
    };
    let Ok(Some(merchant)) = app
        .partners
        .merchant(&*app.store, &bill.requester.principal)
        .await
    else {
        return refused(lang, StatusCode::NOT_FOUND);
    };
    if !signature::verify(
        &form.signature,
        &merchant.user_id,
        merchant.password.expose(),
        &[&bill.id],
    ) || bill.channel != OVO_CHANNEL
    {
        return refused(lang, StatusCode::FORBIDDEN);
    }
    let Some(channel) = find_channel(&bill.channel) else {
        return refused(lang, StatusCode::NOT_FOUND);
    };
    let signed = signature::sign(
        &merchant.user_id,
        merchant.password.expose(),
        &[&bill.reference],
    );
    let action = page_url("0830000010100000", &signed, &bill, &merchant.merchant_id);
    let page = Page {
        app: &app,
        bill: &bill,
        merchant: &merchant,
        channel,
        lang,
        action: &action,
    };
    if bill.status_at(app.now()) != BillStatus::Pending {
        return finish(&page);
    }
    if !app.is_sandbox() {
        // In production the customer approves in the real OVO app.
        return refused(lang, StatusCode::FORBIDDEN);
    }
    if !super::test_accounts::wallet(OVO_CHANNEL).takes(
        &normalise_phone(&form.ovo_number),
        None,
        None,
    ) {
        // The bill's own page says so, with its form to try another number.
        let error = match lang {
            Lang::Id => "Nomor OVO tidak terdaftar",
            Lang::En => "This number has no OVO account",
        };
        return render(&page, Some(error.to_string()), None);
    }
    match payin::pay(&app, &bill.id, &reference("OVO"), bill.amount_minor).await {
        Ok(paid) => finish(&Page {
            bill: &paid,
            ..page
        }),
        Err(e) => {
            tracing::error!(error = %e, "OVO push failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "storage unavailable").into_response()
        }
    }
}
