//! Developer settings of a merchant or a partner: what its integration is
//! configured with, the merchant's notification and return URLs and syntax
//! (admins change them), a test notification through the notifier with the
//! receiver's answer (makers and above), and new credentials shown once (admins,
//! with a fresh TOTP code). Merchant and partner users see their own; the
//! operator's users name one.

use super::auth::Signed;
use super::{layout, Dashboard};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use gerbang_app::principals::{Merchant, NoticeFormat, SendmePartner};
use gerbang_app::settings::{self, SettingsError};
use gerbang_core::user::{Role, Scope};
use gerbang_store::Attempt;
use maud::{html, Markup};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

const MAX_ID_CHARS: usize = 40;

/// Whose settings a request names: the user's own, or for the operator the
/// merchant or partner it asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Whose {
    Merchant(String),
    Partner(String),
}

#[derive(Deserialize, Default)]
pub struct Naming {
    merchant: Option<String>,
    partner: Option<String>,
}

fn whose(scope: &Scope, naming: &Naming) -> Option<Whose> {
    let named = |v: &Option<String>| {
        v.clone()
            .filter(|s| !s.is_empty() && s.len() <= MAX_ID_CHARS)
    };
    match scope {
        Scope::Merchant(id) => Some(Whose::Merchant(id.clone())),
        Scope::Partner(va) => Some(Whose::Partner(va.clone())),
        Scope::Operator => named(&naming.merchant)
            .map(Whose::Merchant)
            .or_else(|| named(&naming.partner).map(Whose::Partner)),
    }
}

fn hidden(w: &Whose) -> Markup {
    match w {
        Whose::Merchant(id) => html! { input type="hidden" name="merchant" value=(id); },
        Whose::Partner(va) => html! { input type="hidden" name="partner" value=(va); },
    }
}

fn masked(secret: &str) -> String {
    gerbang_core::mask::mask_tail(secret)
}

fn merchant_view(signed: &Signed, m: &Merchant) -> Markup {
    let s = &signed.live.session;
    let w = Whose::Merchant(m.merchant_id.clone());
    let csrf = s.csrf.expose();
    html! {
        section.card {
            h2 { "Merchant " (m.merchant_id) " · " (m.name) }
            dl {
                dt { "user_id" } dd { code { (m.user_id) } }
                dt { "password" } dd { "never shown; rotate it below" }
                dt { "Notification URL" } dd data-testid="notification_url" { (m.notification_url.as_deref().unwrap_or("none")) }
                dt { "Return URL" } dd { (m.return_url.as_deref().unwrap_or("none")) }
                dt { "Notifications in" } dd { (format_name(m.notification_format)) }
            }
        }
        @if s.role >= Role::Admin {
            section.card.control {
                h2 { "Change" }
                form method="post" action="/dashboard/settings/merchant" {
                    input type="hidden" name="csrf" value=(csrf);
                    (hidden(&w))
                    label { "Notification URL" input name="notification_url" value=(m.notification_url.as_deref().unwrap_or("")) maxlength="2048"; }
                    label { "Return URL" input name="return_url" value=(m.return_url.as_deref().unwrap_or("")) maxlength="2048"; }
                    label { "Notifications in" select name="format" {
                        option value="json" selected[m.notification_format == NoticeFormat::Json] { "JSON" }
                        option value="xml" selected[m.notification_format == NoticeFormat::Xml] { "XML" }
                    } }
                    button type="submit" { "Save" }
                }
            }
        }
        (test_form(signed, &w, m.notification_url.is_some()))
        (rotate_form(signed, &w, "Rotate the password"))
    }
}

fn partner_view(signed: &Signed, p: &SendmePartner) -> Markup {
    let w = Whose::Partner(p.virtual_account.clone());
    html! {
        section.card {
            h2 { "Partner " (p.virtual_account) " · " (p.name) }
            dl {
                dt { "faspay-key" } dd { code { (p.faspay_key) } }
                dt { "faspay secret" } dd { code { (masked(p.faspay_secret.expose())) } }
                dt { "app key" } dd { code { (p.app_key) } }
                dt { "app secret" } dd { code { (masked(p.app_secret.expose())) } }
                dt { "client key" } dd { code { (p.client_key) } }
                dt { "client secret" } dd { code { (masked(p.client_secret.expose())) } }
                dt { "Approval" } dd { @if p.require_approval { "every payout waits for approval" } @else { "none" } }
            }
        }
        (rotate_form(signed, &w, "Rotate the secrets"))
    }
}

fn test_form(signed: &Signed, w: &Whose, has_url: bool) -> Markup {
    let s = &signed.live.session;
    html! {
        @if s.role >= Role::Maker && has_url {
            section.card.control {
                h2 { "Test the notification URL" }
                form method="post" action="/dashboard/settings/test" {
                    input type="hidden" name="csrf" value=(s.csrf.expose());
                    (hidden(w))
                    button type="submit" { "Send a test notification" }
                }
            }
        }
    }
}

fn rotate_form(signed: &Signed, w: &Whose, title: &str) -> Markup {
    let s = &signed.live.session;
    html! {
        @if s.role >= Role::Admin {
            section.card.control {
                h2 { (title) }
                p.hint { "The integration stops working until it uses the new credentials, which are shown once." }
                form method="post" action="/dashboard/settings/rotate" {
                    input type="hidden" name="csrf" value=(s.csrf.expose());
                    (hidden(w))
                    label { "Your authenticator code" input name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required; }
                    button.danger type="submit" { (title) }
                }
            }
        }
    }
}

fn format_name(f: NoticeFormat) -> &'static str {
    match f {
        NoticeFormat::Json => "JSON",
        NoticeFormat::Xml => "XML",
    }
}

/// The settings page of `w`, with `message` (and `shown_once`: new credentials).
async fn render(
    d: &Dashboard,
    signed: &Signed,
    w: Option<&Whose>,
    message: Option<(&str, String)>,
    shown_once: Option<Markup>,
) -> Result<Markup, Response> {
    let body = match w {
        None => html! {
            form.filters method="get" action="/dashboard/settings" {
                label { "Merchant id" input name="merchant" maxlength="40"; }
                button type="submit" { "Open" }
            }
            form.filters method="get" action="/dashboard/settings" {
                label { "Partner virtual account" input name="partner" maxlength="40"; }
                button type="submit" { "Open" }
            }
        },
        Some(Whose::Merchant(id)) => match settings::merchant(&d.app, id).await {
            Ok((m, _)) => merchant_view(signed, &m),
            Err(e) => return Err(failed(signed, e)),
        },
        Some(Whose::Partner(va)) => match settings::partner(&d.app, va).await {
            Ok((p, _)) => partner_view(signed, &p),
            Err(e) => return Err(failed(signed, e)),
        },
    };
    Ok(layout::page(
        "Developer settings",
        "/dashboard/settings",
        signed,
        html! {
            @if let Some((class, text)) = &message { p class=(class) role="alert" { (text) } }
            @if let Some(once) = shown_once { section.card.once data-testid="shown-once" { (once) } }
            (body)
        },
    ))
}

fn failed(signed: &Signed, e: SettingsError) -> Response {
    let status = match e {
        SettingsError::NotFound => StatusCode::NOT_FOUND,
        SettingsError::Invalid(_) => StatusCode::BAD_REQUEST,
        SettingsError::Changed => StatusCode::CONFLICT,
        SettingsError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    let text = match e {
        SettingsError::NotFound => "There is no such merchant or partner.".to_string(),
        other => other.to_string(),
    };
    let page = layout::page(
        "Developer settings",
        "/dashboard/settings",
        signed,
        html! { p.error role="alert" { (text) } },
    );
    (status, Html(page.into_string())).into_response()
}

async fn answer(
    d: &Dashboard,
    signed: &Signed,
    w: &Whose,
    status: StatusCode,
    message: (&str, String),
    once: Option<Markup>,
) -> Response {
    match render(d, signed, Some(w), Some(message), once).await {
        Ok(page) => (status, Html(page.into_string())).into_response(),
        Err(r) => r,
    }
}

pub async fn show(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    Query(naming): Query<Naming>,
) -> Response {
    let w = whose(&signed.live.session.scope, &naming);
    match render(&d, &signed, w.as_ref(), None, None).await {
        Ok(page) => Html(page.into_string()).into_response(),
        Err(r) => r,
    }
}

fn audit_entry(
    signed: &Signed,
    w: &Whose,
    action: &str,
    detail: String,
) -> gerbang_store::RecordWrite {
    let touched = match w {
        Whose::Merchant(id) => Scope::Merchant(id.clone()),
        Whose::Partner(va) => Scope::Partner(va.clone()),
    };
    gerbang_app::users::audit::write(&signed.audit(&touched, action, &detail))
}

/// The principal a form names, if this session may act on it with `role`.
fn checked(
    signed: &Signed,
    headers: &HeaderMap,
    csrf: &str,
    naming: &Naming,
    role: Role,
) -> Result<Whose, Box<Response>> {
    if !signed.form_is_ours(headers, csrf) {
        return Err(Box::new(super::layout::forged()));
    }
    let Some(w) = whose(&signed.live.session.scope, naming) else {
        return Err(Box::new(failed(signed, SettingsError::NotFound)));
    };
    if signed.live.session.role < role {
        let text = format!("Only {}s and above do this.", role.as_str());
        let mut refused = failed(signed, SettingsError::Invalid(text));
        *refused.status_mut() = StatusCode::FORBIDDEN;
        return Err(Box::new(refused));
    }
    Ok(w)
}

#[derive(Deserialize)]
pub struct MerchantForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    naming: Naming,
    #[serde(default)]
    notification_url: String,
    #[serde(default)]
    return_url: String,
    #[serde(default)]
    format: String,
}

pub async fn merchant(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    headers: HeaderMap,
    Form(f): Form<MerchantForm>,
) -> Response {
    let w = match checked(&signed, &headers, &f.csrf, &f.naming, Role::Admin) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let Whose::Merchant(id) = &w else {
        return failed(&signed, SettingsError::NotFound);
    };
    let format = match f.format.as_str() {
        "json" => NoticeFormat::Json,
        "xml" => NoticeFormat::Xml,
        _ => {
            return answer(
                &d,
                &signed,
                &w,
                StatusCode::BAD_REQUEST,
                ("error", "JSON or XML.".into()),
                None,
            )
            .await
        }
    };
    let urls = settings::url(&d.app, &f.notification_url)
        .and_then(|n| Ok((n, settings::url(&d.app, &f.return_url)?)));
    let (notification, ret) = match urls {
        Ok(u) => u,
        Err(e) => {
            return answer(
                &d,
                &signed,
                &w,
                StatusCode::BAD_REQUEST,
                ("error", e.to_string()),
                None,
            )
            .await
        }
    };
    let detail = format!(
        "merchant {id}: notification {}, return {}, {}",
        notification.as_deref().unwrap_or("none"),
        ret.as_deref().unwrap_or("none"),
        format_name(format)
    );
    let audit = audit_entry(&signed, &w, "settings_changed", detail);
    match settings::update_merchant(&d.app, id, notification, ret, format, audit).await {
        Ok(_) => {
            answer(
                &d,
                &signed,
                &w,
                StatusCode::OK,
                (
                    "ok",
                    "Saved. The gateway uses it within two seconds.".into(),
                ),
                None,
            )
            .await
        }
        Err(e) => failed(&signed, e),
    }
}

#[derive(Deserialize)]
pub struct RotateForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    naming: Naming,
    #[serde(default)]
    code: String,
}

pub async fn rotate(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    headers: HeaderMap,
    Form(f): Form<RotateForm>,
) -> Response {
    let w = match checked(&signed, &headers, &f.csrf, &f.naming, Role::Admin) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    match super::decision::confirm_code(&d, &signed, &f.code, "changed").await {
        Ok(Ok(())) => {}
        Ok(Err((status, text))) => {
            return answer(&d, &signed, &w, status, ("error", text), None).await;
        }
        Err(e) => return failed(&signed, SettingsError::Store(e.to_string())),
    }
    let once = match &w {
        Whose::Merchant(id) => {
            let audit = audit_entry(
                &signed,
                &w,
                "credentials_rotated",
                format!("merchant {id}: password"),
            );
            match settings::rotate_merchant_password(&d.app, id, audit).await {
                Ok(password) => html! {
                    p { strong { "New password of merchant " (id) ", shown once:" } }
                    p { code data-testid="new-password" { (password.expose()) } }
                },
                Err(e) => return failed(&signed, e),
            }
        }
        Whose::Partner(va) => {
            let audit = audit_entry(
                &signed,
                &w,
                "credentials_rotated",
                format!("partner {va}: faspay, app and client secrets"),
            );
            match settings::rotate_partner_secrets(&d.app, va, audit).await {
                Ok(p) => html! {
                    p { strong { "New secrets of partner " (va) ", shown once:" } }
                    dl {
                        dt { "faspay secret" } dd { code data-testid="faspay-secret" { (p.faspay_secret.expose()) } }
                        dt { "app secret" } dd { code { (p.app_secret.expose()) } }
                        dt { "client secret" } dd { code { (p.client_secret.expose()) } }
                    }
                },
                Err(e) => return failed(&signed, e),
            }
        }
    };
    answer(
        &d,
        &signed,
        &w,
        StatusCode::OK,
        ("ok", "Rotated. Copy the new credentials now.".into()),
        Some(once),
    )
    .await
}

#[derive(Deserialize)]
pub struct TestForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    naming: Naming,
}

/// How long the page waits for the receiver's first answer, past the notifier's
/// own timeout.
const TEST_GRACE: Duration = Duration::from_secs(3);

pub async fn test(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    headers: HeaderMap,
    Form(f): Form<TestForm>,
) -> Response {
    let w = match checked(&signed, &headers, &f.csrf, &f.naming, Role::Maker) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let Whose::Merchant(id) = &w else {
        return failed(&signed, SettingsError::NotFound);
    };
    let m = match settings::merchant(&d.app, id).await {
        Ok((m, _)) => m,
        Err(e) => return failed(&signed, e),
    };
    let Some(url) = m.notification_url.clone() else {
        return answer(
            &d,
            &signed,
            &w,
            StatusCode::BAD_REQUEST,
            ("error", "Set a notification URL first.".into()),
            None,
        )
        .await;
    };
    let body = serde_json::json!({ "request": "Test Notification", "merchant_id": id }).to_string();
    let notification = match settings::test_notification(&d.app, id, &url, body).await {
        Ok(n) => n,
        Err(e) => return failed(&signed, e),
    };
    let audit = audit_entry(
        &signed,
        &w,
        "test_notification_sent",
        format!("merchant {id}: notification {notification}"),
    );
    if let Err(e) = d
        .app
        .commit(gerbang_store::Step {
            records: vec![audit],
            ..Default::default()
        })
        .await
    {
        return failed(&signed, SettingsError::Store(e.to_string()));
    }
    let wait = Duration::from_secs(d.app.config.notifier.timeout_seconds) + TEST_GRACE;
    let first = first_attempt(&d, notification, wait).await;
    let text = match &first {
        Some(a) => format!(
            "The receiver answered {} in {} ms: {}",
            a.http_status
                .map_or_else(|| "nothing".to_string(), |s| format!("HTTP {s}")),
            a.latency_ms,
            a.excerpt
        ),
        None => format!("No answer yet; notification {notification} is retried like any other."),
    };
    let class = if first
        .as_ref()
        .and_then(|a| a.http_status)
        .is_some_and(|s| (200..300).contains(&s))
    {
        "ok"
    } else {
        "error"
    };
    answer(&d, &signed, &w, StatusCode::OK, (class, text), None).await
}

async fn first_attempt(d: &Dashboard, notification: i64, wait: Duration) -> Option<Attempt> {
    let deadline = tokio::time::Instant::now() + wait;
    d.app.wake_notifier.notify_one();
    loop {
        if let Ok(attempts) = d.app.store.attempts(notification).await {
            if let Some(first) = attempts.into_iter().next() {
                return Some(first);
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
