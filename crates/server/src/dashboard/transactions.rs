//! Transactions: every bill, payout and bulk cash-in the user's scope sees, in
//! one list searched by reference, kind, status, channel, dates and amount, a
//! page at a time; and one transaction in full, with the Resend button of each
//! of its notifications.

use super::auth::Signed;
use super::window::{self, Dates, Window};
use super::{layout, Dashboard};
use crate::routes::rupiah_text;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use gerbang_app::transactions::detail::{self, Detail, ResendError};
use gerbang_app::transactions::{self, Filter, Kind, Page, Position, Row, Subject};
use gerbang_core::money::parse_decimal;
use gerbang_core::user::{Role, Scope};
use gerbang_core::Timestamp;
use maud::{html, Markup};
use serde::Deserialize;
use std::sync::Arc;

/// Rows on a page.
pub const PAGE_ROWS: usize = 50;
/// Longest reference, channel or id taken from a form or link.
const MAX_TEXT_CHARS: usize = 64;

fn failed(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "transactions cannot be read");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "transactions cannot be read now; try again",
    )
        .into_response()
}

/// The search form's fields, as typed.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Search {
    kind: String,
    status: String,
    channel: String,
    reference: String,
    min: String,
    max: String,
    before: String,
    #[serde(flatten)]
    dates: Dates,
}

impl Search {
    /// The address of this search from `before` on (the first page when `None`).
    fn link(&self, before: Option<&Position>) -> String {
        let mut query = vec![
            ("kind", self.kind.as_str()),
            ("status", self.status.as_str()),
            ("channel", self.channel.as_str()),
            ("reference", self.reference.as_str()),
            ("min", self.min.as_str()),
            ("max", self.max.as_str()),
            ("from", self.dates.from.as_deref().unwrap_or("")),
            ("to", self.dates.to.as_deref().unwrap_or("")),
        ];
        let before = before.map(Position::encode);
        if let Some(b) = &before {
            query.push(("before", b));
        }
        let pairs: Vec<String> = query
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", layout::urlencode(v)))
            .collect();
        format!("/dashboard/transactions?{}", pairs.join("&"))
    }

    /// Whether the search names a date.
    fn dated(&self) -> bool {
        [&self.dates.from, &self.dates.to]
            .iter()
            .any(|d| d.as_deref().is_some_and(|d| !d.trim().is_empty()))
    }

    /// The filter this search asks for, or what is wrong with it.
    fn filter(&self, today: time::Date) -> Result<(Filter, Window, Option<Position>), String> {
        let text = |v: &str, name: &str| -> Result<Option<String>, String> {
            let v = v.trim();
            if v.chars().count() > MAX_TEXT_CHARS {
                return Err(format!("{name} is at most {MAX_TEXT_CHARS} characters"));
            }
            Ok((!v.is_empty()).then(|| v.to_string()))
        };
        let kind = match text(&self.kind, "the kind")? {
            None => None,
            Some(k) => Some(Kind::parse(&k).ok_or_else(|| format!("{k:?} is not a kind"))?),
        };
        let status = text(&self.status, "the status")?;
        if let Some(s) = &status {
            let known = Kind::ALL.iter().any(|k| k.statuses().contains(&s.as_str()));
            if !known {
                return Err(format!("{s:?} is not a status"));
            }
        }
        let amount = |v: &str, name: &str| -> Result<Option<i64>, String> {
            match text(v, name)? {
                None => Ok(None),
                Some(t) => parse_decimal(&t, 2).map(Some).map_err(|_| {
                    format!("{name} {t:?} is not an amount in rupiah (like 150000 or 150000.50)")
                }),
            }
        };
        let min_minor = amount(&self.min, "the smallest amount")?;
        let max_minor = amount(&self.max, "the largest amount")?;
        if min_minor.is_some_and(|m| m < 0) || max_minor.is_some_and(|m| m < 0) {
            return Err("amounts are not negative".into());
        }
        let window = Window::of(&self.dates, today)?;
        let reference = text(&self.reference, "the reference")?;
        let dated = self.dated();
        // A reference is looked up whenever it was made, unless dates are given.
        let (from, until) = if reference.is_some() && !dated {
            (
                Timestamp::from_micros(i64::MIN),
                Timestamp::from_micros(i64::MAX),
            )
        } else {
            window.instants()
        };
        let before = match self.before.trim() {
            "" => None,
            b => Some(Position::decode(b).ok_or("the page link is broken; search again")?),
        };
        let filter = Filter {
            kind,
            status,
            channel: text(&self.channel, "the channel")?,
            reference,
            from,
            until,
            min_minor,
            max_minor,
        };
        Ok((filter, window, before))
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Bill => "Bill",
        Kind::Payout => "Payout",
        Kind::CashInBulk => "Bulk cash-in",
    }
}

fn detail_link(row: &Row) -> String {
    format!(
        "/dashboard/transactions/{}/{}",
        row.kind.as_str(),
        layout::urlencode(&row.id)
    )
}

fn form(search: &Search, shown: Option<&Window>) -> Markup {
    let statuses: Vec<&str> = {
        let mut all: Vec<&str> = Kind::ALL
            .iter()
            .flat_map(|k| k.statuses())
            .copied()
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    };
    let from = search.dates.from.clone().unwrap_or_default();
    let to = search.dates.to.clone().unwrap_or_default();
    html! {
        form.filters.search method="get" action="/dashboard/transactions" role="search"
            hx-get="/dashboard/transactions" hx-select="#results" hx-target="#results" hx-swap="outerHTML" hx-push-url="true" {
            label { "Reference or id" input name="reference" value=(search.reference) maxlength=(MAX_TEXT_CHARS); }
            label { "Kind"
                select name="kind" {
                    option value="" { "Any" }
                    @for k in Kind::ALL {
                        option value=(k.as_str()) selected[search.kind == k.as_str()] { (kind_name(k)) }
                    }
                }
            }
            label { "Status"
                select name="status" {
                    option value="" { "Any" }
                    @for s in &statuses {
                        option value=(s) selected[search.status == *s] { (s.replace('_', " ")) }
                    }
                }
            }
            label { "Channel" input name="channel" value=(search.channel) maxlength=(MAX_TEXT_CHARS) placeholder="014, ovo, alfamart, 402…"; }
            label { "From" input type="date" name="from" value=(from); }
            label { "To" input type="date" name="to" value=(to); }
            label { "Amount from (Rp)" input name="min" value=(search.min) inputmode="decimal"; }
            label { "to (Rp)" input name="max" value=(search.max) inputmode="decimal"; }
            button type="submit" { "Search" }
        }
        p.hint {
            @if let Some(w) = shown {
                "Created " (window::text(w.first)) " to " (window::text(w.last)) ". "
            }
            "Without dates: the last 30 days, and a reference whenever it was made."
        }
    }
}

fn table(rows: &[Row]) -> Markup {
    html! {
        table data-testid="transactions" {
            thead { tr {
                th { "Created" } th { "Kind" } th { "Id" } th { "Reference" } th { "By" }
                th { "Channel" } th { "Counterparty" } th { "Status" } th.num { "Amount" }
            } }
            tbody {
                @for r in rows {
                    tr {
                        td.nowrap { (layout::when(r.created_at)) }
                        td { (kind_name(r.kind)) }
                        td { a href=(detail_link(r)) { code { (r.id) } } }
                        td { (r.reference) }
                        td { (r.requester.face.as_str()) " · " (r.requester.principal) }
                        td { (r.channel) }
                        td { (r.counterparty) }
                        td { span class={ "status " (r.status) } { (r.status.replace('_', " ")) } }
                        td.num { (rupiah_text(r.amount_minor)) }
                    }
                }
                @if rows.is_empty() { tr { td colspan="9" { "No transaction matches." } } }
            }
        }
    }
}

pub async fn list(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    Query(search): Query<Search>,
) -> Response {
    let today = d.app.now().jakarta().date();
    let (filter, window, before) = match search.filter(today) {
        Ok(f) => f,
        Err(problem) => {
            let content = html! {
                (form(&search, None))
                p.error role="alert" { "Nothing was searched: " (problem) "." }
            };
            let body = layout::page("Transactions", "/dashboard/transactions", &signed, content);
            return (StatusCode::BAD_REQUEST, Html(body.into_string())).into_response();
        }
    };
    let scope = &signed.live.session.scope;
    let page: Page =
        match transactions::search(&d.app, scope, &filter, before.as_ref(), PAGE_ROWS).await {
            Ok(p) => p,
            Err(e) => return failed(e),
        };
    let content = html! {
        (form(&search, (filter.reference.is_none() || search.dated()).then_some(&window)))
        div #results {
        (table(&page.rows))
        @if let Some(back_to) = page.searched_back_to {
            p.hint data-testid="searched-back-to" {
                "Searched everything created after " (layout::when(back_to))
                "; older transactions were not searched yet."
            }
        }
        @if let Some(next) = &page.next {
            p { a.button rel="next" href=(search.link(Some(next)))
                hx-get=(search.link(Some(next))) hx-select="#results" hx-target="#results" hx-swap="outerHTML" hx-push-url="true" {
                @if page.searched_back_to.is_some() { "Search older" } @else { "Older" }
            } }
        }
        }
    };
    Html(layout::page("Transactions", "/dashboard/transactions", &signed, content).into_string())
        .into_response()
}

fn summary(subject: &Subject) -> Markup {
    let row = subject.row();
    html! {
        dl.summary {
            dt { "Kind" } dd { (kind_name(row.kind)) }
            dt { "Id" } dd { code data-testid="transaction-id" { (row.id) } }
            dt { "Reference" } dd { (row.reference) }
            dt { "Requested by" } dd { (row.requester.face.as_str()) " · " (row.requester.principal) }
            dt { "Status" } dd data-testid="transaction-status" { (row.status.replace('_', " ")) }
            dt { "Amount" } dd { (rupiah_text(row.amount_minor)) }
            @if !row.channel.is_empty() { dt { "Channel" } dd { (row.channel) } }
            dt { "Counterparty" } dd { (row.counterparty) }
            @match subject {
                Subject::Bill(b) => {
                    dt { "Expires" } dd { (layout::when(b.expires_at)) }
                    @if b.refunded_minor > 0 { dt { "Refunded" } dd { (rupiah_text(b.refunded_minor)) } }
                    @if b.fee_minor > 0 { dt { "Fee" } dd { (rupiah_text(b.fee_minor)) } }
                }
                Subject::Payout(p) => {
                    dt { "Gateway reference" } dd { (p.gateway_reference) }
                    dt { "Funding account" } dd { code { (p.funding_account) } }
                    @if let Some(f) = p.failure { dt { "Failure" } dd { (format!("{f:?}").to_lowercase()) } }
                }
                Subject::CashInBulk(b) => {
                    dt { "Items" } dd { (b.items) }
                    dt { "Funding account" } dd { code { (b.funding_account) } }
                }
            }
        }
    }
}

fn entries_table(detail: &Detail) -> Markup {
    html! {
        table data-testid="entries" {
            thead { tr { th { "Entry" } th { "When" } th { "Kind" } th { "Account" } th.num { "Amount" } } }
            tbody {
                @for e in &detail.entries {
                    @for (i, p) in e.postings.iter().enumerate() {
                        tr {
                            td { @if i == 0 { (e.id) } }
                            td.nowrap { @if i == 0 { (layout::when(e.created_at)) } }
                            td { @if i == 0 { (e.kind) } }
                            td { code { (p.account) } }
                            td.num { (rupiah_text(p.amount)) }
                        }
                    }
                }
                @if detail.entries.is_empty() { tr { td colspan="5" { "No money has moved yet." } } }
            }
        }
    }
}

fn notifications_section(signed: &Signed, detail: &Detail, resend_to: &str) -> Markup {
    let may_resend = signed.live.session.role >= Role::Maker;
    html! {
        @for (n, attempts) in &detail.notifications {
            section.card.notification data-testid="notification" {
                h3 { "Notification " (n.id) " · " (n.status.as_str()) }
                p { "To " code { (n.url) } ", queued " (layout::when(n.created_at)) }
                details { summary { "What was sent" } pre { (n.body) } }
                table {
                    thead { tr { th { "Attempt" } th { "When" } th { "Answer" } th.num { "ms" } th { "Receiver said" } } }
                    tbody {
                        @for a in attempts {
                            tr {
                                td { (a.attempt_no) }
                                td.nowrap { (layout::when(a.at)) }
                                td { @match a.http_status { Some(s) => { "HTTP " (s) } None => { "none" } } }
                                td.num { (a.latency_ms) }
                                td { code { (a.excerpt) } }
                            }
                        }
                        @if attempts.is_empty() { tr { td colspan="5" { "Not attempted yet." } } }
                    }
                }
                @if may_resend {
                    form method="post" action=(resend_to) {
                        input type="hidden" name="csrf" value=(signed.live.session.csrf.expose());
                        input type="hidden" name="notification" value=(n.id);
                        button type="submit" { "Resend" }
                    }
                }
            }
        }
        @if detail.notifications.is_empty() { p { "No notification was sent of it." } }
    }
}

/// One part of a bulk's items with their outcomes, and links to the other parts.
fn bulk_items(
    b: &gerbang_core::cashin::CashInBulk,
    part: &gerbang_core::cashin::CashInChunk,
    here: &str,
) -> Markup {
    html! {
        h2 { "Items, part " (part.index + 1) " of " (b.chunks) }
        @if b.chunks > 1 {
            p.pages {
                @for i in 0..b.chunks {
                    @if i == part.index { strong { (i + 1) } " " }
                    @else { a href={ (here) "?part=" (i) } { (i + 1) } " " }
                }
            }
        }
        table data-testid="bulk-items" {
            thead { tr { th { "Reference" } th { "Wallet" } th { "Account" } th { "Name" } th.num { "Amount" } th { "Outcome" } } }
            tbody {
                @for item in &part.items {
                    tr {
                        td { (item.reference) }
                        td { (item.wallet) }
                        td { (item.account) }
                        td { (item.name) }
                        td.num { (rupiah_text(item.amount_minor)) }
                        td {
                            @match &item.outcome {
                                None => { "waiting for its wallet" }
                                Some(o) => {
                                    (if o.credited { "credited" } else { "failed" })
                                    " (" (o.answer.code) " " (o.answer.message) ")"
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn detail_page(signed: &Signed, detail: &Detail, message: Option<(&str, &str)>) -> Markup {
    let row = detail.subject.row();
    let here = detail_link(&row);
    let content = html! {
        @if let Some((class, text)) = message { p class=(class) role="alert" { (text) } }
        p { a href="/dashboard/transactions" { "← All transactions" } }
        (summary(&detail.subject))
        h2 { "Timeline" }
        ol.timeline data-testid="timeline" {
            @for e in &detail.timeline {
                li { span.nowrap { (layout::when(e.at)) } " — " (e.what) }
            }
        }
        @if let (Subject::CashInBulk(b), Some(part)) = (&detail.subject, &detail.part) {
            (bulk_items(b, part, &here))
        }
        h2 { "Journal entries" }
        (entries_table(detail))
        h2 { "Notifications" }
        (notifications_section(signed, detail, &format!("{here}/resend")))
    };
    let title = format!("{} {}", kind_name(row.kind), row.id);
    layout::page(&title, "/dashboard/transactions", signed, content)
}

/// The transaction a path names, if it names one plainly.
fn named(kind: &str, id: &str) -> Option<(Kind, String)> {
    let kind = Kind::parse(kind)?;
    transactions::plain_id(id).then(|| (kind, id.to_string()))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Shown {
    resent: Option<i64>,
    /// A bulk's part whose items are shown.
    part: u32,
}

pub async fn show(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    Path((kind, id)): Path<(String, String)>,
    Query(shown): Query<Shown>,
) -> Response {
    let Some((kind, id)) = named(&kind, &id) else {
        return layout::not_found(&signed, "There is no such transaction.");
    };
    let scope = &signed.live.session.scope;
    match detail::detail(&d.app, scope, kind, &id, shown.part).await {
        Ok(Some(detail)) => {
            let message = shown
                .resent
                .map(|n| format!("Notification {n} will be sent again now."));
            let page = detail_page(&signed, &detail, message.as_deref().map(|m| ("ok", m)));
            Html(page.into_string()).into_response()
        }
        Ok(None) => layout::not_found(&signed, "There is no such transaction."),
        Err(e) => failed(e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ResendForm {
    csrf: String,
    notification: String,
}

pub async fn resend(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    headers: HeaderMap,
    Path((kind, id)): Path<(String, String)>,
    Form(form): Form<ResendForm>,
) -> Response {
    if !signed.form_is_ours(&headers, &form.csrf) {
        return layout::forged();
    }
    let Some((kind, id)) = named(&kind, &id) else {
        return layout::not_found(&signed, "There is no such transaction.");
    };
    let s = &signed.live.session;
    let again = |status: StatusCode, text: String| {
        let d = d.clone();
        let signed = &signed;
        let id = id.clone();
        async move {
            match detail::detail(&d.app, &signed.live.session.scope, kind, &id, 0).await {
                Ok(Some(detail)) => {
                    let page = detail_page(signed, &detail, Some(("error", &text)));
                    (status, Html(page.into_string())).into_response()
                }
                Ok(None) => layout::not_found(signed, "There is no such transaction."),
                Err(e) => failed(e),
            }
        }
    };
    if s.role < Role::Maker {
        return again(
            StatusCode::FORBIDDEN,
            "Viewers do not resend notifications.".into(),
        )
        .await;
    }
    let Ok(notification) = form.notification.trim().parse::<i64>() else {
        return again(StatusCode::BAD_REQUEST, "Choose a notification.".into()).await;
    };
    let audit = |subject: &Subject| {
        let touched = subject.own_account().map_or_else(
            || match subject {
                Subject::Bill(b) => Scope::Merchant(b.requester.principal.clone()),
                _ => Scope::Operator,
            },
            Scope::of_account,
        );
        let what = format!("notification {notification} of {} {id}", kind.as_str());
        gerbang_app::users::audit::write(&signed.audit(&touched, "notification_resent", &what))
    };
    match detail::resend(&d.app, &s.scope, kind, &id, notification, audit).await {
        Ok(()) => Redirect::to(&format!(
            "/dashboard/transactions/{}/{}?resent={notification}",
            kind.as_str(),
            layout::urlencode(&id)
        ))
        .into_response(),
        Err(ResendError::UnknownTransaction) => {
            layout::not_found(&signed, "There is no such transaction.")
        }
        Err(e @ ResendError::NotItsNotification(_)) => {
            again(StatusCode::CONFLICT, format!("Nothing was resent: {e}.")).await
        }
        Err(e) => failed(e),
    }
}
