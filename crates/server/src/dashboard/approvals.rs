//! The approval queue: payouts waiting for a decision, as the user's scope sees
//! them. Checkers and admins decide, each decision confirmed with a fresh TOTP
//! code; the decision and its audit entries are one step, all or none.

use super::auth::Signed;
use super::{layout, Dashboard};
use crate::routes::rupiah_text;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use gerbang_app::payout::approval::{self, ApprovalError};
use gerbang_core::payout::{Disbursement, Payee};
use gerbang_core::user::{Role, Scope};
use maud::{html, Markup};
use serde::Deserialize;
use std::sync::Arc;

const PAGE: u32 = 100;
/// Most payouts one decision from this page names.
const MAX_PER_DECISION: usize = 1_000;
const MAX_ID_CHARS: usize = 64;

fn payee_text(p: &Payee) -> String {
    match p {
        Payee::BankAccount(a) | Payee::EWallet(a) => {
            format!("{} {} · {}", a.channel_name, a.account, a.holder)
        }
        Payee::CashCode(c) => format!(
            "cash code at {} · {} · {}",
            c.network.display_name(),
            c.phone,
            c.holder
        ),
    }
}

#[derive(Deserialize)]
pub struct Paging {
    after: Option<String>,
    decided: Option<String>,
}

fn page(
    signed: &Signed,
    queue: &[Disbursement],
    next: Option<&str>,
    message: Option<(&str, &str)>,
) -> Markup {
    let s = &signed.live.session;
    let decides = s.role >= Role::Checker;
    let rows = html! {
        @for d in queue {
            tr {
                @if decides { td { input type="checkbox" name="id" value=(d.id) aria-label={ "Select " (d.reference) }; } }
                td { code { (d.id) } }
                td { (d.reference) }
                td { (d.requester.face.as_str()) " · " (d.requester.principal) }
                td { (payee_text(&d.payee)) }
                td.num { (rupiah_text(d.amount_minor)) }
                td.nowrap { (layout::when(d.created_at)) }
            }
        }
        @if queue.is_empty() { tr { td colspan="7" { "Nothing is waiting for approval." } } }
    };
    let table = html! {
        table {
            thead { tr {
                @if decides { th { "" } }
                th { "Id" } th { "Reference" } th { "Requested by" } th { "Payee" } th.num { "Amount" } th { "Since" }
            } }
            tbody { (rows) }
        }
    };
    let content = html! {
        @if let Some((class, text)) = message { p class=(class) role="alert" { (text) } }
        @if decides {
            form method="post" action="/dashboard/approvals" {
                input type="hidden" name="csrf" value=(s.csrf.expose());
                (table)
                div.decide {
                    label { "Your authenticator code" input name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required; }
                    button type="submit" name="decision" value="approve" { "Approve selected" }
                    button.danger type="submit" name="decision" value="reject" { "Reject selected" }
                }
            }
        } @else {
            p.hint { "Checkers and admins decide; you see what waits." }
            (table)
        }
        @if let Some(next) = next {
            p { a.button href={ "/dashboard/approvals?after=" (next) } { "More" } }
        }
    };
    layout::page("Approvals", "/dashboard/approvals", signed, content)
}

pub async fn show(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    Query(paging): Query<Paging>,
) -> Response {
    let after = paging
        .after
        .filter(|a| !a.is_empty() && a.len() <= MAX_ID_CHARS);
    let scope = &signed.live.session.scope;
    let (queue, next) = match approval::queue(&d.app, scope, after.as_deref(), PAGE).await {
        Ok(q) => q,
        Err(e) => return failed(e),
    };
    let decided = paging
        .decided
        .as_deref()
        .and_then(|n| n.parse::<usize>().ok());
    let message = decided.map(|n| format!("{n} payout(s) decided."));
    Html(
        page(
            &signed,
            &queue,
            next.as_deref(),
            message.as_deref().map(|m| ("ok", m)),
        )
        .into_string(),
    )
    .into_response()
}

fn failed(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "the approval queue cannot be read");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "the approval queue cannot be read now; try again",
    )
        .into_response()
}

/// The queue again, with what went wrong.
async fn again(d: &Dashboard, signed: &Signed, status: StatusCode, message: &str) -> Response {
    match approval::queue(&d.app, &signed.live.session.scope, None, PAGE).await {
        Ok((queue, next)) => {
            let body =
                page(signed, &queue, next.as_deref(), Some(("error", message))).into_string();
            (status, Html(body)).into_response()
        }
        Err(e) => failed(e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Decision {
    csrf: String,
    id: Vec<String>,
    code: String,
    decision: String,
}

pub async fn decide(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<Decision>,
) -> Response {
    if !signed.form_is_ours(&headers, &form.csrf) {
        return super::layout::forged();
    }
    let s = &signed.live.session;
    if s.role < Role::Checker {
        return again(
            &d,
            &signed,
            StatusCode::FORBIDDEN,
            "Only checkers and admins decide payouts.",
        )
        .await;
    }
    let approve = match form.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => {
            return again(
                &d,
                &signed,
                StatusCode::BAD_REQUEST,
                "Choose Approve or Reject.",
            )
            .await
        }
    };
    let ids: Vec<String> = form.id.into_iter().filter(|i| !i.is_empty()).collect();
    if ids.is_empty() || ids.len() > MAX_PER_DECISION || ids.iter().any(|i| i.len() > MAX_ID_CHARS)
    {
        return again(
            &d,
            &signed,
            StatusCode::BAD_REQUEST,
            &format!("Select between 1 and {MAX_PER_DECISION} payouts."),
        )
        .await;
    }
    match super::decision::confirm_code(&d, &signed, &form.code, "decided").await {
        Ok(Ok(())) => {}
        Ok(Err((status, text))) => return again(&d, &signed, status, &text).await,
        Err(e) => return failed(e),
    }
    let action = if approve {
        "payouts_approved"
    } else {
        "payouts_rejected"
    };
    let audit = |payouts: &[Disbursement]| {
        let refs: Vec<String> = payouts
            .iter()
            .map(|p| format!("{} ({})", p.id, p.reference))
            .collect();
        let touched = payouts
            .first()
            .map_or(Scope::Operator, |p| Scope::of_account(&p.funding_account));
        gerbang_app::users::audit::write(&signed.audit(&touched, action, &refs.join(", ")))
    };
    match approval::decide_for(&d.app, &s.scope, &ids, approve, audit).await {
        Ok(decided) => {
            Redirect::to(&format!("/dashboard/approvals?decided={}", decided.len())).into_response()
        }
        Err(
            e @ (ApprovalError::NotFound(_)
            | ApprovalError::NotWaiting(_)
            | ApprovalError::BadCount),
        ) => {
            again(
                &d,
                &signed,
                StatusCode::CONFLICT,
                &format!("Nothing was decided: {e}."),
            )
            .await
        }
        Err(e) => failed(e),
    }
}
