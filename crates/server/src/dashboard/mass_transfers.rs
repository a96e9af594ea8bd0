//! Mass transfer: a partner's maker uploads a CSV or XLSX file of payout lines
//! (every line checked, each problem shown with its row, nothing stored unless
//! all are good); another user, a checker, approves it with a TOTP code or
//! rejects it; its lines then go out as payouts, each line's outcome shown and
//! downloadable.

use super::auth::Signed;
use super::statements::inert;
use super::{layout, Dashboard};
use crate::routes::rupiah_text;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use gerbang_app::payout::mass::{self, DecideError, LineOutcome, MassTransfer, SubmitError};
use gerbang_core::user::{Role, Scope};
use gerbang_protocol::mass_transfer::{LineProblem, COLUMNS, MAX_FILE_BYTES, MAX_LINES};
use maud::{html, Markup};
use serde::Deserialize;
use std::sync::Arc;

/// Mass transfers listed on the page.
const LISTED: u32 = 50;
/// Lines shown on a mass transfer's page (each with its payout read); the
/// download has them all.
const SHOWN_LINES: usize = 1_000;
/// Longest id taken from a path.
const MAX_ID_CHARS: usize = 40;

fn failed(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "mass transfers cannot be read or written");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "mass transfers cannot be read or written now; try again",
    )
        .into_response()
}

/// The partner whose mass transfers the user works on, if it is a partner's user.
fn partner(signed: &Signed) -> Option<&str> {
    match &signed.live.session.scope {
        Scope::Partner(va) => Some(va),
        _ => None,
    }
}

fn link(m: &MassTransfer) -> String {
    format!("/dashboard/mass-transfers/{}", m.id)
}

fn upload_form(signed: &Signed) -> Markup {
    html! {
        form.filters method="post" action="/dashboard/mass-transfers" enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(signed.live.session.csrf.expose());
            label { "CSV or XLSX file" input type="file" name="file" accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" required; }
            button type="submit" { "Check and submit" }
        }
        p.hint {
            "Columns: " code { (COLUMNS.join(", ")) } " (description may be left out). "
            "Amounts in rupiah, like 150000 or 150000.50. At most " (MAX_LINES) " lines and "
            (MAX_FILE_BYTES / 1024) " KiB. Another user approves it before anything is sent."
        }
    }
}

async fn list_page(
    d: &Dashboard,
    signed: &Signed,
    status: StatusCode,
    message: Option<Markup>,
) -> Response {
    let Some(va) = partner(signed) else {
        let content = html! {
            p { "Mass transfers belong to a partner: a partner's users upload and approve them." }
        };
        let page = layout::page(
            "Mass transfers",
            "/dashboard/mass-transfers",
            signed,
            content,
        );
        return Html(page.into_string()).into_response();
    };
    let transfers = match mass::list(&d.app.store, va, LISTED).await {
        Ok(t) => t,
        Err(e) => return failed(e),
    };
    let makes = signed.live.session.role >= Role::Maker;
    let content = html! {
        @if let Some(m) = message { (m) }
        @if makes { (upload_form(signed)) }
        table data-testid="mass-transfers" {
            thead { tr { th { "Id" } th { "File" } th.num { "Lines" } th.num { "Total" } th { "Status" } th { "Submitted" } } }
            tbody {
                @for m in &transfers {
                    tr {
                        td { a href=(link(m)) { code { (m.id) } } }
                        td { (m.file_name) }
                        td.num { (m.lines.len()) }
                        td.num { (rupiah_text(m.total_minor)) }
                        td { span class={ "status " (m.status.as_str()) } { (m.status.as_str()) } }
                        td.nowrap { (layout::when(m.submitted_at)) " · " (m.submitted_by) }
                    }
                }
                @if transfers.is_empty() { tr { td colspan="6" { "No mass transfer yet." } } }
            }
        }
    };
    let page = layout::page(
        "Mass transfers",
        "/dashboard/mass-transfers",
        signed,
        content,
    );
    (status, Html(page.into_string())).into_response()
}

pub async fn list(State(d): State<Arc<Dashboard>>, signed: Signed) -> Response {
    list_page(&d, &signed, StatusCode::OK, None).await
}

fn problems_table(problems: &[LineProblem]) -> Markup {
    html! {
        p.error role="alert" {
            "Nothing was submitted: " (problems.len()) " line(s) have problems. Correct them and upload the file again."
        }
        table data-testid="line-problems" {
            thead { tr { th.num { "Row" } th { "Problem" } } }
            tbody {
                @for p in problems {
                    tr { td.num { (p.row) } td { (p.problems.join("; ")) } }
                }
            }
        }
    }
}

/// The upload's fields: its CSRF token, and the file's name and bytes.
async fn fields(mut form: Multipart) -> Result<(String, String, Vec<u8>), String> {
    let (mut csrf, mut name, mut file) = (String::new(), String::new(), None);
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|_| "the upload was broken off or too large".to_string())?
    {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(|e| e.to_string())?,
            Some("file") => {
                name = field.file_name().unwrap_or("upload").to_string();
                let bytes = field.bytes().await.map_err(|_| {
                    format!("the file is larger than {} KiB", MAX_FILE_BYTES / 1024)
                })?;
                file = Some(bytes.to_vec());
            }
            _ => {}
        }
    }
    let file = file.ok_or("choose a file")?;
    Ok((csrf, name, file))
}

pub async fn upload(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    let refused = |status, text: String| {
        let d = d.clone();
        let signed = &signed;
        async move {
            let message = html! { p.error role="alert" { "Nothing was submitted: " (text) "." } };
            list_page(&d, signed, status, Some(message)).await
        }
    };
    let (csrf, name, file) = match fields(form).await {
        Ok(f) => f,
        Err(text) => return refused(StatusCode::BAD_REQUEST, text).await,
    };
    if !signed.form_is_ours(&headers, &csrf) {
        return layout::forged();
    }
    let Some(va) = partner(&signed) else {
        return refused(
            StatusCode::FORBIDDEN,
            "mass transfers belong to a partner".into(),
        )
        .await;
    };
    if signed.live.session.role < Role::Maker {
        return refused(
            StatusCode::FORBIDDEN,
            "viewers do not submit mass transfers".into(),
        )
        .await;
    }
    let user = signed.live.session.username.as_str().to_string();
    let audit = |m: &MassTransfer| {
        let what = format!(
            "{} from {} ({} lines, {})",
            m.id,
            m.file_name,
            m.lines.len(),
            rupiah_text(m.total_minor)
        );
        let touched = Scope::Partner(m.partner.clone());
        gerbang_app::users::audit::write(&signed.audit(&touched, "mass_transfer_submitted", &what))
    };
    match mass::submit(&d.app, va, &user, &name, &file, audit).await {
        Ok(m) => Redirect::to(&link(&m)).into_response(),
        Err(SubmitError::Lines(problems)) => {
            let message = problems_table(&problems);
            list_page(&d, &signed, StatusCode::UNPROCESSABLE_ENTITY, Some(message)).await
        }
        Err(SubmitError::SameFile(id)) => {
            let message = html! {
                p.error role="alert" {
                    "Nothing was submitted: this file was submitted before, as "
                    a href={ "/dashboard/mass-transfers/" (id) } { (id) } "."
                }
            };
            list_page(&d, &signed, StatusCode::CONFLICT, Some(message)).await
        }
        Err(SubmitError::File(e)) => refused(StatusCode::BAD_REQUEST, e.to_string()).await,
        Err(e @ SubmitError::Store(_)) => failed(e),
    }
}

/// A line's outcome as shown: the payout it became (and where that stands), or
/// why it was refused.
async fn outcome_text(d: &Dashboard, outcome: Option<&LineOutcome>) -> (String, Option<String>) {
    match outcome {
        None => ("not sent yet".into(), None),
        Some(LineOutcome::Refused { reason }) => (format!("refused: {reason}"), None),
        Some(LineOutcome::Accepted { payout }) => {
            let status = match gerbang_app::payout::load(&d.app.store, payout).await {
                Ok(Some((p, _))) => p.status.as_str().to_string(),
                _ => "accepted".into(),
            };
            (status, Some(payout.clone()))
        }
    }
}

fn named(id: &str) -> Option<&str> {
    let plain =
        !id.is_empty() && id.len() <= MAX_ID_CHARS && id.chars().all(|c| c.is_ascii_alphanumeric());
    plain.then_some(id)
}

async fn detail_page(
    d: &Dashboard,
    signed: &Signed,
    id: &str,
    status: StatusCode,
    message: Option<(&str, &str)>,
) -> Response {
    let (Some(va), Some(id)) = (partner(signed), named(id)) else {
        return layout::not_found(signed, "There is no such mass transfer.");
    };
    let m = match mass::load(&d.app.store, va, id).await {
        Ok(Some((m, _))) => m,
        Ok(None) => return layout::not_found(signed, "There is no such mass transfer."),
        Err(e) => return failed(e),
    };
    let mut outcomes = Vec::with_capacity(m.lines.len());
    for l in m.lines.iter().take(SHOWN_LINES) {
        outcomes.push(outcome_text(d, l.outcome.as_ref()).await);
    }
    let s = &signed.live.session;
    let waiting = m.status == mass::MassStatus::Submitted;
    let decides = waiting && s.role >= Role::Checker && m.submitted_by != s.username.as_str();
    let sending = m.status == mass::MassStatus::Approved;
    let content = html! {
        @if let Some((class, text)) = message { p class=(class) role="alert" { (text) } }
        // While its lines are sent, the page refreshes its own content (with htmx).
        @if sending {
            div hx-get=(link(&m)) hx-trigger="every 5s" hx-select="main" hx-target="main" hx-swap="outerHTML" {}
            p.hint { "Its lines are being sent." }
        }
        p { a href="/dashboard/mass-transfers" { "← All mass transfers" } }
        dl.summary {
            dt { "File" } dd { (m.file_name) }
            dt { "Status" } dd data-testid="mass-status" { (m.status.as_str()) }
            dt { "Lines" } dd { (m.lines.len()) }
            dt { "Total" } dd { (rupiah_text(m.total_minor)) }
            dt { "Submitted" } dd { (layout::when(m.submitted_at)) " by " (m.submitted_by) }
            @if let (Some(by), Some(at)) = (&m.decided_by, m.decided_at) {
                dt { "Decided" } dd { (layout::when(at)) " by " (by) }
            }
        }
        @if decides {
            form.decide method="post" action={ (link(&m)) "/decide" } {
                input type="hidden" name="csrf" value=(s.csrf.expose());
                div.decide {
                    label { "Your authenticator code" input name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required; }
                    button type="submit" name="decision" value="approve" { "Approve and send" }
                    button.danger type="submit" name="decision" value="reject" { "Reject" }
                }
            }
        } @else if waiting {
            p.hint { "Waits for a checker or admin other than " (m.submitted_by) "." }
        }
        p { a.button.secondary href={ (link(&m)) "/outcome.csv" } { "Download lines and outcomes (CSV)" } }
        @if m.lines.len() > SHOWN_LINES {
            p.hint { "The first " (SHOWN_LINES) " of " (m.lines.len()) " lines; the download has them all." }
        }
        table data-testid="mass-lines" {
            thead { tr { th.num { "Row" } th { "Reference" } th { "Bank" } th { "Account" } th { "Name" } th.num { "Amount" } th { "Outcome" } } }
            tbody {
                @for (l, (text, payout)) in m.lines.iter().zip(&outcomes) {
                    tr {
                        td.num { (l.row) }
                        td { (l.reference) }
                        td { (l.channel_name) }
                        td { (l.account) }
                        td { (l.holder) }
                        td.num { (rupiah_text(l.amount_minor)) }
                        td {
                            @match payout {
                                Some(p) => { a href={ "/dashboard/transactions/payout/" (p) } { (text) } }
                                None => { (text) }
                            }
                        }
                    }
                }
            }
        }
    };
    let title = format!("Mass transfer {}", m.id);
    let page = layout::page(&title, "/dashboard/mass-transfers", signed, content);
    (status, Html(page.into_string())).into_response()
}

pub async fn show(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    Path(id): Path<String>,
) -> Response {
    detail_page(&d, &signed, &id, StatusCode::OK, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Decision {
    csrf: String,
    code: String,
    decision: String,
}

pub async fn decide(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<Decision>,
) -> Response {
    if !signed.form_is_ours(&headers, &form.csrf) {
        return layout::forged();
    }
    let path_id = id.clone();
    let again = |status, text: String| {
        let (d, signed, id) = (&d, &signed, &path_id);
        async move { detail_page(d, signed, id, status, Some(("error", &text))).await }
    };
    let (Some(va), Some(id)) = (partner(&signed), named(&id)) else {
        return layout::not_found(&signed, "There is no such mass transfer.");
    };
    let s = &signed.live.session;
    if s.role < Role::Checker {
        return again(
            StatusCode::FORBIDDEN,
            "Only checkers and admins decide.".into(),
        )
        .await;
    }
    let approve = match form.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return again(StatusCode::BAD_REQUEST, "Choose Approve or Reject.".into()).await,
    };
    // Maker-checker before the code is taken: a code is not spent on a refusal.
    match mass::load(&d.app.store, va, id).await {
        Ok(Some((m, _))) if m.submitted_by == s.username.as_str() => {
            let e = DecideError::OwnSubmission;
            return again(StatusCode::FORBIDDEN, format!("Nothing was decided: {e}.")).await;
        }
        Ok(Some(_)) => {}
        Ok(None) => return layout::not_found(&signed, "There is no such mass transfer."),
        Err(e) => return failed(e),
    }
    match super::decision::confirm_code(&d, &signed, &form.code, "decided").await {
        Ok(Ok(())) => {}
        Ok(Err((status, text))) => return again(status, text).await,
        Err(e) => return failed(e),
    }
    let action = if approve {
        "mass_transfer_approved"
    } else {
        "mass_transfer_rejected"
    };
    let audit = |m: &MassTransfer| {
        let touched = Scope::Partner(m.partner.clone());
        let what = format!(
            "{} ({} lines, {})",
            m.id,
            m.lines.len(),
            rupiah_text(m.total_minor)
        );
        gerbang_app::users::audit::write(&signed.audit(&touched, action, &what))
    };
    match mass::decide(&d.app, va, id, s.username.as_str(), approve, audit).await {
        Ok(m) => Redirect::to(&link(&m)).into_response(),
        Err(DecideError::NotFound) => layout::not_found(&signed, "There is no such mass transfer."),
        Err(e @ DecideError::OwnSubmission) => {
            again(StatusCode::FORBIDDEN, format!("Nothing was decided: {e}.")).await
        }
        Err(e @ DecideError::NotWaiting(_)) => {
            again(StatusCode::CONFLICT, format!("Nothing was decided: {e}.")).await
        }
        Err(e @ DecideError::Store(_)) => failed(e),
    }
}

pub async fn outcome_csv(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    Path(id): Path<String>,
) -> Response {
    let (Some(va), Some(id)) = (partner(&signed), named(&id)) else {
        return layout::not_found(&signed, "There is no such mass transfer.");
    };
    let m = match mass::load(&d.app.store, va, id).await {
        Ok(Some((m, _))) => m,
        Ok(None) => return layout::not_found(&signed, "There is no such mass transfer."),
        Err(e) => return failed(e),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut rows = vec![[
        "row",
        "reference",
        "bank_code",
        "account",
        "account_name",
        "amount",
        "outcome",
        "payout",
    ]
    .map(String::from)];
    for l in &m.lines {
        let (text, payout) = outcome_text(&d, l.outcome.as_ref()).await;
        rows.push([
            l.row.to_string(),
            inert(&l.reference),
            inert(&l.channel),
            inert(l.account.expose()),
            inert(&l.holder),
            crate::routes::rupiah(l.amount_minor),
            inert(&text),
            payout.unwrap_or_default(),
        ]);
    }
    for row in rows {
        if let Err(e) = w.write_record(row) {
            return failed(e);
        }
    }
    let body = match w.into_inner() {
        Ok(b) => b,
        Err(e) => return failed(e),
    };
    let touched = Scope::Partner(m.partner.clone());
    let entry = signed.audit(&touched, "mass_transfer_downloaded", &m.id);
    if let Err(e) = gerbang_app::users::audit::record(&d.app, &entry).await {
        return failed(e);
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}-outcome.csv\"", m.id),
            ),
        ],
        body,
    )
        .into_response()
}
