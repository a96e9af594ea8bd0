//! The redirect page (spec §4, `GET /pws/100003/{environment}/{signature}?trx_id=…
//! &merchant_id=…&bill_no=…`): the signature (the Post Data one) and the bill are
//! checked, and the page of the bill's channel family is shown. In the sandbox its
//! forms complete the payment as the channel would — with the published test
//! accounts for online credit (§13) — and the browser is sent to the merchant's
//! return URL with the documented, signed parameters (§7.2).

use super::credit;
use super::test_accounts;
use super::views::{self, Lang, PageContext};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use gerbang_app::payin::{self, ChangeError};
use gerbang_app::principals::Merchant;
use gerbang_app::App;
use gerbang_core::payin::{find_channel, Bill, BillStatus, Channel, ChannelFamily};
use gerbang_core::payout::{Face, Requester};
use gerbang_protocol::debit::notice::{payment_status, rupiah, wib};
use gerbang_protocol::debit::signature;
use serde::Deserialize;
use std::sync::Arc;

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/pws/100003/:environment/:signature", get(show).post(act))
        .layer(axum::middleware::map_response(guarded))
        .route("/__assets/qr/:file", get(super::qr::image))
        .with_state(app)
}

/// The checkout's pages take logins and PINs: guarded like the dashboard's, with
/// no `form-action` (a finished form is sent on to the merchant's return URL).
pub(super) async fn guarded(mut response: Response) -> Response {
    crate::page_headers::guard(
        &mut response,
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
    );
    response
}

#[derive(Deserialize)]
struct Link {
    trx_id: Option<String>,
    merchant_id: Option<String>,
    bill_no: Option<String>,
    lang: Option<String>,
}

#[derive(Deserialize, Default)]
struct Action {
    action: Option<String>,
    lang: Option<String>,
    plan: Option<String>,
    phone: Option<String>,
    pin: Option<String>,
    otp: Option<String>,
    user: Option<String>,
    password: Option<String>,
    card_number: Option<String>,
    card_name: Option<String>,
    card_expiry: Option<String>,
    card_cvv: Option<String>,
}

/// The page's language: `?lang=` when given, else the browser's.
pub(super) fn lang(asked: Option<&str>, headers: &HeaderMap) -> Lang {
    match asked {
        Some("en") => Lang::En,
        Some("id") => Lang::Id,
        _ => {
            let accept = headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if accept.trim_start().to_ascii_lowercase().starts_with("en") {
                Lang::En
            } else {
                Lang::Id
            }
        }
    }
}

/// The page for a link that names no bill (or may not act on it).
pub(super) fn refused(lang: Lang, status: StatusCode) -> Response {
    (status, Html(views::not_found(lang).into_string())).into_response()
}

/// The bill a link names, once its signature checks out.
async fn linked(
    app: &App,
    signed: &str,
    link: &Link,
) -> Option<(Bill, std::sync::Arc<Merchant>, &'static Channel)> {
    let (merchant_id, bill_no) = (link.merchant_id.as_deref()?, link.bill_no.as_deref()?);
    let merchant = app
        .partners
        .merchant(&*app.store, merchant_id)
        .await
        .ok()??;
    if !signature::verify(
        signed,
        &merchant.user_id,
        merchant.password.expose(),
        &[bill_no],
    ) {
        return None;
    }
    let requester = Requester {
        face: Face::Debit,
        principal: merchant.merchant_id.clone(),
    };
    let (bill, _) = payin::by_reference(&app.store, &requester, bill_no)
        .await
        .ok()??;
    if link.trx_id.as_deref().is_some_and(|id| id != bill.id) {
        return None;
    }
    let channel = find_channel(&bill.channel)?;
    Some((bill, merchant, channel))
}

pub(super) fn page_url(environment: &str, signed: &str, bill: &Bill, merchant_id: &str) -> String {
    format!(
        "/pws/100003/{environment}/{signed}?trx_id={}&merchant_id={merchant_id}&bill_no={}",
        bill.id,
        percent_encode(&bill.reference)
    )
}

/// `v` percent-encoded for a URL's query (unreserved characters kept).
pub(super) fn percent_encode(v: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// A bill's page as one browser sees it.
pub(super) struct Page<'a> {
    pub app: &'a App,
    pub bill: &'a Bill,
    pub merchant: &'a Merchant,
    pub channel: &'a Channel,
    pub lang: Lang,
    /// The page's own URL.
    pub action: &'a str,
}

pub(super) fn render(page: &Page, error: Option<String>, plan: Option<&str>) -> Response {
    let Page {
        app,
        bill,
        merchant,
        channel,
        lang,
        action,
    } = *page;
    let echo_plan = bill.request.value()["reserve2"]
        .as_str()
        .and_then(credit::plan_id);
    let qr = super::qr::content(bill, merchant).map(|content| {
        let svg = super::qr::svg(&content).unwrap_or_default();
        (content, svg)
    });
    let status = bill.status_at(app.now());
    let c = PageContext {
        bill,
        status,
        channel,
        merchant_name: &merchant.name,
        lang,
        action,
        sandbox: app.is_sandbox(),
        amount_text: crate::routes::rupiah_text(bill.amount_minor),
        expires_text: format!("{} WIB", wib(bill.expires_at)),
        qr,
        plan: plan.or(echo_plan),
        paid: bill.payment.as_ref().map(|p| views::PaidText {
            at: format!("{} WIB", wib(p.paid_at)),
            reference: p.reference.clone(),
            refunded: (bill.refunded_minor > 0)
                .then(|| crate::routes::rupiah_text(bill.refunded_minor)),
        }),
        error,
    };
    let back = match status {
        BillStatus::Pending => None,
        _ => return_url(page),
    };
    Html(views::page(&c, back.as_deref()).into_string()).into_response()
}

async fn show(
    State(app): State<Arc<App>>,
    Path((environment, signed)): Path<(String, String)>,
    Query(link): Query<Link>,
    headers: HeaderMap,
) -> Response {
    let lang = lang(link.lang.as_deref(), &headers);
    let Some((bill, merchant, channel)) = linked(&app, &signed, &link).await else {
        return refused(lang, StatusCode::NOT_FOUND);
    };
    let action = page_url(&environment, &signed, &bill, &merchant.merchant_id);
    let page = Page {
        app: &app,
        bill: &bill,
        merchant: &merchant,
        channel,
        lang,
        action: &action,
    };
    render(&page, None, None)
}

/// Where the browser goes when the bill is done: the merchant's return URL with
/// the signed parameters (§7.2), or this page showing the outcome.
pub(super) fn finish(page: &Page) -> Response {
    match return_url(page) {
        Some(url) => Redirect::to(&url).into_response(),
        None => render(page, None, None),
    }
}

/// The merchant's return URL with the signed parameters of the bill's outcome
/// (§7.2); none when the merchant has none.
fn return_url(page: &Page) -> Option<String> {
    let (bill, merchant) = (page.bill, page.merchant);
    let return_url = merchant.return_url.as_deref()?;
    let (status, _) = payment_status(bill.status_at(page.app.now()));
    let bill_ref = bill.request.value()["bill_reff"]
        .as_str()
        .unwrap_or(&bill.reference)
        .to_string();
    let payment = bill.payment.as_ref();
    let pairs = [
        ("trx_id", bill.id.clone()),
        ("merchant_id", merchant.merchant_id.clone()),
        ("merchant", merchant.name.clone()),
        ("bill_no", bill.reference.clone()),
        ("bill_ref", bill_ref.clone()),
        ("bill_reff", bill_ref),
        ("bill_total", rupiah(bill.amount_minor)),
        (
            "payment_reff",
            payment.map(|p| p.reference.clone()).unwrap_or_default(),
        ),
        (
            "payment_date",
            // As the notification says it: the payment's time, else when the bill ended.
            wib(payment.map_or(bill.status_at, |p| p.paid_at)),
        ),
        ("bank_user_name", bill.customer.name.clone()),
        ("status", status.to_string()),
        (
            "signature",
            signature::sign(
                &merchant.user_id,
                merchant.password.expose(),
                &[&bill.reference, status],
            ),
        ),
    ];
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect();
    let joiner = if return_url.contains('?') { '&' } else { '?' };
    Some(format!("{return_url}{joiner}{}", query.join("&")))
}

async fn act(
    State(app): State<Arc<App>>,
    Path((environment, signed)): Path<(String, String)>,
    Query(link): Query<Link>,
    headers: HeaderMap,
    Form(form): Form<Action>,
) -> Response {
    let lang = lang(form.lang.as_deref().or(link.lang.as_deref()), &headers);
    let Some((bill, merchant, channel)) = linked(&app, &signed, &link).await else {
        return refused(lang, StatusCode::NOT_FOUND);
    };
    let action = page_url(&environment, &signed, &bill, &merchant.merchant_id);
    let page = Page {
        app: &app,
        bill: &bill,
        merchant: &merchant,
        channel,
        lang,
        action: &action,
    };
    if !app.is_sandbox() {
        // In production the channel itself completes the payment.
        return refused(lang, StatusCode::FORBIDDEN);
    }
    if bill.status_at(app.now()) != BillStatus::Pending {
        return finish(&page);
    }
    // The form again, with what was wrong (a key of `views::t`).
    let again = |wrong: &str, plan: Option<&str>| {
        render(&page, Some(views::t(lang, wrong).to_string()), plan)
    };
    let outcome = match (form.action.as_deref(), channel.family) {
        // Only where the customer confirms at the channel (not a VA, a counter or a QR).
        (
            Some("decline"),
            ChannelFamily::EWallet
            | ChannelFamily::Card
            | ChannelFamily::InternetBanking
            | ChannelFamily::OnlineCredit,
        ) => payin::decline(&app, &bill.id).await,
        (Some("approve"), ChannelFamily::OnlineCredit) => {
            let Some(plan) = form.plan.as_deref().and_then(credit::plan_id) else {
                return again("choose_plan", None);
            };
            let months = credit::months_of(plan).unwrap_or(0);
            let phone = normalise_phone(form.phone.as_deref().unwrap_or(""));
            let Some(full_only) = test_accounts::credit(&phone, form.pin.as_deref()) else {
                return again("wrong_phone_or_pin", Some(plan));
            };
            if form.otp.as_deref().map(str::trim) != Some(test_accounts::CREDIT_OTP) {
                return again("wrong_otp", Some(plan));
            }
            if months > 0 && full_only {
                return again("full_payment_only", Some(plan));
            }
            if !credit::open_to(months, bill.amount_minor) {
                return again("instalment_minimum", Some(plan));
            }
            payin::pay(&app, &bill.id, &reference("KRD"), bill.amount_minor).await
        }
        (Some("pay"), ChannelFamily::InternetBanking) => {
            let login = test_accounts::banking(channel.code);
            if !login.takes(
                form.user.as_deref(),
                form.password.as_deref(),
                form.otp.as_deref(),
            ) {
                return again("wrong_login", None);
            }
            payin::pay(&app, &bill.id, &reference("IB"), bill.amount_minor).await
        }
        (Some("pay"), ChannelFamily::Card) => {
            if !test_accounts::card_takes(
                form.card_number.as_deref(),
                form.card_name.as_deref(),
                form.card_expiry.as_deref(),
                form.card_cvv.as_deref(),
            ) {
                return again("wrong_card", None);
            }
            payin::pay(&app, &bill.id, &reference("CC"), bill.amount_minor).await
        }
        (Some("pay"), ChannelFamily::EWallet) => {
            let phone = normalise_phone(form.phone.as_deref().unwrap_or(""));
            let account = test_accounts::wallet(channel.code);
            if !account.takes(&phone, form.pin.as_deref(), form.otp.as_deref()) {
                return again("wrong_wallet_login", None);
            }
            payin::pay(&app, &bill.id, &reference("EW"), bill.amount_minor).await
        }
        (
            Some("pay"),
            ChannelFamily::VirtualAccount | ChannelFamily::Retail | ChannelFamily::Qris,
        ) => payin::pay(&app, &bill.id, &reference("SIM"), bill.amount_minor).await,
        _ => return again("choose_action", None),
    };
    match outcome {
        Ok(done) => finish(&Page {
            bill: &done,
            ..page
        }),
        // Paid, cancelled or expired meanwhile: show where it stands.
        Err(ChangeError::AlreadyPaid | ChangeError::NotPending(_)) => {
            match payin::load(&app.store, &bill.id).await {
                Ok(Some((now, _))) => finish(&Page { bill: &now, ..page }),
                _ => (StatusCode::INTERNAL_SERVER_ERROR, "storage unavailable").into_response(),
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "hosted page action failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "storage unavailable").into_response()
        }
    }
}

pub(super) fn reference(prefix: &str) -> String {
    format!("{prefix}{:010}", rand::random::<u64>() % 10_000_000_000)
}

/// `+62 812-3456`, `62812…` and `0812…` as `0812…`.
pub(super) fn normalise_phone(text: &str) -> String {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    match digits.strip_prefix("62") {
        Some(rest) => format!("0{rest}"),
        None => digits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_written_the_indonesian_way() {
        assert_eq!(normalise_phone("+62 815-1311-4262"), "081513114262");
    }
}
