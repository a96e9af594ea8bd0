//! Sandbox controls (sandbox mode only): the sandbox API's operations from a
//! page — pay or fail a bill, claim a cash-out code at its network's counter,
//! force a bank's next answer, move the clock forward. Makers and above act;
//! a merchant's users act on their own bills, the rest is the operator's. Each
//! action is audited once it is done.

use super::auth::Signed;
use super::{layout, Dashboard};
use crate::routes::sandbox_cashout::{cashier, SandboxPace};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use gerbang_app::cashout::Network;
use gerbang_app::payin;
use gerbang_channels::bank::simulator::ForcedOutcome;
use gerbang_core::user::{Role, Scope};
use maud::{html, Markup};
use serde::Deserialize;
use std::sync::Arc;

const MAX_FIELD_CHARS: usize = 64;

fn controls(d: &Dashboard, signed: &Signed, message: Option<(&str, &str)>) -> Markup {
    let s = &signed.live.session;
    let csrf = s.csrf.expose();
    let acts = s.role >= Role::Maker;
    let operator = s.scope == Scope::Operator;
    let content = html! {
        @if let Some((class, text)) = message { p class=(class) role="alert" { (text) } }
        p.hint { "Sandbox time: " strong data-testid="now" { (layout::when(d.app.now())) } }
        @if !acts {
            p.hint { "Makers, checkers and admins act here; you see the sandbox's time." }
        } @else {
            section.card.control {
                h2 { "A bill" }
                form method="post" action="/dashboard/sandbox/bill" {
                    input type="hidden" name="csrf" value=(csrf);
                    label { "trx_id" input name="trx_id" required maxlength="64"; }
                    button type="submit" name="action" value="pay" { "Pay it" }
                    button.danger type="submit" name="action" value="fail" { "Fail it" }
                }
            }
            @if operator {
                section.card.control {
                    h2 { "A cash-out code at the counter" }
                    form method="post" action="/dashboard/sandbox/code" {
                        input type="hidden" name="csrf" value=(csrf);
                        label { "Network" select name="network" {
                            option value="alfamart" { "Alfamart" }
                            option value="indomaret" { "Indomaret" }
                            option value="permata" { "Permata ATM" }
                        } }
                        label { "Code" input name="code" required maxlength="32"; }
                        label { "Phone" input name="phone" required maxlength="20" inputmode="tel"; }
                        button type="submit" { "Claim it" }
                    }
                }
                section.card.control {
                    h2 { "A bank's next answer" }
                    form method="post" action="/dashboard/sandbox/bank" {
                        input type="hidden" name="csrf" value=(csrf);
                        label { "Bank code" input name="bank_code" required maxlength="8" placeholder="014"; }
                        label { "Account" input name="account" required maxlength="34"; }
                        label { "Answer" select name="outcome" {
                            option value="success" { "success" }
                            option value="reject" { "reject" }
                            option value="pending" { "pending" }
                            option value="fail_later" { "fail_later" }
                        } }
                        button type="submit" { "Force it" }
                    }
                }
                section.card.control {
                    h2 { "The clock" }
                    form method="post" action="/dashboard/sandbox/clock" {
                        input type="hidden" name="csrf" value=(csrf);
                        label { "Seconds forward" input name="seconds" required inputmode="numeric" value="3600"; }
                        button type="submit" { "Move it" }
                    }
                }
            }
        }
    };
    layout::page("Sandbox", "/dashboard/sandbox", signed, content)
}

fn answer(d: &Dashboard, signed: &Signed, status: StatusCode, message: (&str, &str)) -> Response {
    (
        status,
        Html(controls(d, signed, Some(message)).into_string()),
    )
        .into_response()
}

/// The page saying why a form was refused (`400`).
fn bad(d: &Dashboard, signed: &Signed, why: &str) -> Response {
    answer(d, signed, StatusCode::BAD_REQUEST, ("error", why))
}

/// The page, in sandbox mode only.
pub async fn show(State(d): State<Arc<Dashboard>>, signed: Signed) -> Response {
    if !d.app.is_sandbox() {
        return StatusCode::NOT_FOUND.into_response();
    }
    Html(controls(&d, &signed, None).into_string()).into_response()
}

/// Why an action is refused before it runs, if it is.
fn refused(
    d: &Dashboard,
    signed: &Signed,
    headers: &HeaderMap,
    csrf: &str,
    operator_only: bool,
) -> Option<Response> {
    if !d.app.is_sandbox() {
        return Some(StatusCode::NOT_FOUND.into_response());
    }
    if !signed.form_is_ours(headers, csrf) {
        return Some(super::layout::forged());
    }
    let s = &signed.live.session;
    if s.role < Role::Maker || (operator_only && s.scope != Scope::Operator) {
        return Some(answer(
            d,
            signed,
            StatusCode::FORBIDDEN,
            ("error", "Your role or scope does not act on this."),
        ));
    }
    None
}

async fn audited(
    d: &Dashboard,
    signed: &Signed,
    touched: &Scope,
    action: &str,
    detail: String,
) -> Result<(), Response> {
    gerbang_app::users::audit::record(&d.app, &signed.audit(touched, action, &detail))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "a sandbox action could not be audited");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the action was done but could not be audited",
            )
                .into_response()
        })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct BillForm {
    csrf: String,
    trx_id: String,
    action: String,
}

pub async fn bill(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    headers: HeaderMap,
    Form(f): Form<BillForm>,
) -> Response {
    if let Some(r) = refused(&d, &signed, &headers, &f.csrf, false) {
        return r;
    }
    let trx_id = f.trx_id.trim().to_string();
    if trx_id.is_empty() || trx_id.len() > MAX_FIELD_CHARS {
        return answer(
            &d,
            &signed,
            StatusCode::NOT_FOUND,
            ("error", "There is no such bill."),
        );
    }
    let scope = &signed.live.session.scope;
    let found = match payin::load(&d.app.store, &trx_id).await {
        Ok(found) => found.filter(|(b, _)| match scope {
            Scope::Operator => true,
            Scope::Merchant(id) => b.requester.principal == *id,
            Scope::Partner(_) => false,
        }),
        Err(e) => {
            return answer(
                &d,
                &signed,
                StatusCode::SERVICE_UNAVAILABLE,
                ("error", &e.to_string()),
            )
        }
    };
    let Some((bill, _)) = found.filter(|_| !trx_id.is_empty() && trx_id.len() <= MAX_FIELD_CHARS)
    else {
        return answer(
            &d,
            &signed,
            StatusCode::NOT_FOUND,
            ("error", "There is no such bill."),
        );
    };
    let (done, action) = match f.action.as_str() {
        "pay" => {
            let reference = payin::simulated_payment_reference();
            (
                payin::pay(&d.app, &trx_id, &reference, bill.amount_minor).await,
                "sandbox_bill_paid",
            )
        }
        "fail" => (payin::decline(&d.app, &trx_id).await, "sandbox_bill_failed"),
        _ => return bad(&d, &signed, "Pay it or fail it."),
    };
    match done {
        Ok(b) => {
            if let Err(r) = audited(
                &d,
                &signed,
                &Scope::Merchant(b.requester.principal.clone()),
                action,
                format!("{} ({})", b.id, b.reference),
            )
            .await
            {
                return r;
            }
            let text = format!(
                "Bill {} ({}) is now {}.",
                b.id,
                b.reference,
                b.status.as_str()
            );
            answer(&d, &signed, StatusCode::OK, ("ok", &text))
        }
        Err(e) => answer(
            &d,
            &signed,
            StatusCode::CONFLICT,
            ("error", &format!("Nothing changed: {e}.")),
        ),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CodeForm {
    csrf: String,
    network: String,
    code: String,
    phone: String,
}

pub async fn code(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> Response {
    if let Some(r) = refused(&d, &signed, &headers, &f.csrf, true) {
        return r;
    }
    let Some(network) = Network::by_slug(&f.network) else {
        return bad(&d, &signed, "Alfamart, Indomaret or Permata.");
    };
    let (code, phone) = (f.code.trim(), f.phone.trim());
    if code.is_empty() || code.len() > 32 || phone.is_empty() || phone.len() > 20 {
        return bad(
            &d,
            &signed,
            "A code (up to 32 characters) and a phone (up to 20).",
        );
    }
    let cashier = match cashier(&d.app, network) {
        Ok(c) => c,
        Err(e) => {
            return answer(
                &d,
                &signed,
                StatusCode::SERVICE_UNAVAILABLE,
                ("error", &e.message),
            )
        }
    };
    let session = cashier
        .pay(
            code,
            phone,
            None,
            &SandboxPace(d.app.clone()),
            None,
            &|_| {},
        )
        .await;
    let outcome = format!("{:?}", session.outcome).to_lowercase();
    let detail = format!(
        "{} code {} for {}: {outcome}",
        network.slug(),
        gerbang_core::mask::mask_tail(code),
        gerbang_core::mask::mask_tail(phone)
    );
    if let Err(r) = audited(
        &d,
        &signed,
        &Scope::Operator,
        "sandbox_code_claimed",
        detail.clone(),
    )
    .await
    {
        return r;
    }
    let class = if outcome == "paid" { "ok" } else { "error" };
    answer(
        &d,
        &signed,
        StatusCode::OK,
        (class, &format!("At the counter: {detail}.")),
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct BankForm {
    csrf: String,
    bank_code: String,
    account: String,
    outcome: String,
}

pub async fn bank(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    headers: HeaderMap,
    Form(f): Form<BankForm>,
) -> Response {
    if let Some(r) = refused(&d, &signed, &headers, &f.csrf, true) {
        return r;
    }
    let Ok(outcome) =
        serde_json::from_value::<ForcedOutcome>(serde_json::Value::String(f.outcome.clone()))
    else {
        return bad(&d, &signed, "success, reject, pending or fail_later.");
    };
    let (bank_code, account) = (f.bank_code.trim(), f.account.trim());
    if bank_code.is_empty() || bank_code.len() > 8 || account.is_empty() || account.len() > 34 {
        return bad(&d, &signed, "A bank code and an account number.");
    }
    if let Err(e) = d
        .app
        .simulated_banks
        .force_next(d.app.now(), bank_code, account, outcome)
        .await
    {
        return bad(&d, &signed, &e);
    }
    let detail = format!(
        "{bank_code} {}: {}",
        gerbang_core::mask::mask_tail(account),
        f.outcome
    );
    if let Err(r) = audited(
        &d,
        &signed,
        &Scope::Operator,
        "sandbox_bank_outcome",
        detail.clone(),
    )
    .await
    {
        return r;
    }
    answer(
        &d,
        &signed,
        StatusCode::OK,
        ("ok", &format!("The next answer for {detail}.")),
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ClockForm {
    csrf: String,
    seconds: String,
}

pub async fn clock(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    headers: HeaderMap,
    Form(f): Form<ClockForm>,
) -> Response {
    if let Some(r) = refused(&d, &signed, &headers, &f.csrf, true) {
        return r;
    }
    let Ok(seconds) = f.seconds.trim().parse::<i64>() else {
        return bad(&d, &signed, "A whole number of seconds.");
    };
    match d.app.advance_clock(seconds).await {
        Ok(now) => {
            if let Err(r) = audited(
                &d,
                &signed,
                &Scope::Operator,
                "sandbox_clock_advanced",
                format!("{seconds} s, to {}", layout::when(now)),
            )
            .await
            {
                return r;
            }
            answer(
                &d,
                &signed,
                StatusCode::OK,
                ("ok", &format!("The clock moved {seconds} s forward.")),
            )
        }
        Err(e) => bad(&d, &signed, &e),
    }
}
