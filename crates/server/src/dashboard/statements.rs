//! Balances and statements: the accounts a user's scope sees, and one account's
//! postings over a date range, a page at a time, or whole as CSV or XLSX.

use super::auth::Signed;
use super::window::{self, Dates, Window};
use super::{layout, Dashboard};
use crate::routes::rupiah_text;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use gerbang_app::statements;
use gerbang_core::user::Scope;
use gerbang_store::{Account, StatementLine};
use maud::{html, Markup};
use serde::Deserialize;
use std::sync::Arc;

const PAGE: u32 = 100;
/// Longest account code taken from a link.
const MAX_CODE_CHARS: usize = 80;

fn failed(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "a dashboard read failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "the ledger cannot be read now; try again",
    )
        .into_response()
}

fn statement_link(code: &str) -> String {
    format!("/dashboard/statement?account={}", layout::urlencode(code))
}

#[derive(Deserialize)]
pub struct BalancesPaging {
    after: Option<String>,
}

pub async fn balances(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    Query(paging): Query<BalancesPaging>,
) -> Response {
    let scope = &signed.live.session.scope;
    let after = paging
        .after
        .filter(|a| !a.is_empty() && a.len() <= MAX_CODE_CHARS);
    let accounts = match statements::balances(&d.app, scope, after.as_deref(), PAGE).await {
        Ok(a) => a,
        Err(e) => return failed(e),
    };
    let next = (accounts.len() == PAGE as usize)
        .then(|| accounts.last().map(|a| a.code.clone()))
        .flatten();
    let content = html! {
        table {
            thead { tr { th { "Account" } th { "Kind" } th.num { "Balance" } th.num { "Held" } th.num { "Available" } } }
            tbody {
                @for a in &accounts {
                    tr {
                        td { a href=(statement_link(&a.code)) { code { (a.code) } } }
                        td { (a.kind.as_str()) }
                        td.num { (rupiah_text(a.balance)) }
                        td.num { (rupiah_text(a.pending)) }
                        td.num data-testid="available" { (rupiah_text(a.available())) }
                    }
                }
                @if accounts.is_empty() { tr { td colspan="5" { "No account yet." } } }
            }
        }
        @if let Some(next) = next {
            p { a.button href={ "/dashboard/balances?after=" (layout::urlencode(&next)) } { "More accounts" } }
        }
    };
    Html(layout::page("Balances", "/dashboard/balances", &signed, content).into_string())
        .into_response()
}

#[derive(Deserialize)]
pub struct StatementAsk {
    account: Option<String>,
    #[serde(flatten)]
    dates: Dates,
    after: Option<i64>,
}

/// The account and window a request names, or the page saying what is wrong.
fn asked(
    d: &Dashboard,
    signed: &Signed,
    ask: &StatementAsk,
) -> Result<(String, Window), Box<Response>> {
    let code = ask
        .account
        .clone()
        .filter(|c| !c.is_empty() && c.len() <= MAX_CODE_CHARS)
        .ok_or_else(|| Box::new(layout::not_found(signed, "Name an account.")))?;
    let today = d.app.now().jakarta().date();
    let window = Window::of(&ask.dates, today).map_err(|e| {
        Box::new(
            (
                StatusCode::BAD_REQUEST,
                Html(
                    layout::page(
                        "Statement",
                        "/dashboard/balances",
                        signed,
                        html! { p.error { (e) } },
                    )
                    .into_string(),
                ),
            )
                .into_response(),
        )
    })?;
    Ok((code, window))
}

fn lines_table(lines: &[StatementLine]) -> Markup {
    html! {
        table {
            thead { tr { th { "When" } th { "Kind" } th { "Reference" } th { "Description" } th.num { "Amount" } th.num { "Balance" } } }
            tbody {
                @for l in lines {
                    tr {
                        td.nowrap { (layout::when(l.at)) }
                        td { (l.kind) }
                        td { code { (l.reference) } }
                        td { (l.description) }
                        td.num { (rupiah_text(l.amount)) }
                        td.num { (rupiah_text(l.balance_after)) }
                    }
                }
                @if lines.is_empty() { tr { td colspan="6" { "No posting in this range." } } }
            }
        }
    }
}

pub async fn statement(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    Query(ask): Query<StatementAsk>,
) -> Response {
    let (code, window) = match asked(&d, &signed, &ask) {
        Ok(a) => a,
        Err(page) => return *page,
    };
    let scope = &signed.live.session.scope;
    let after = ask.after.unwrap_or(0).max(0);
    let found = statements::statement(&d.app, scope, &code, window.instants(), after, PAGE).await;
    let (account, lines) = match found {
        Ok(Some(found)) => found,
        // Another scope's account reads as one that does not exist.
        Ok(None) => return layout::not_found(&signed, "There is no such account."),
        Err(e) => return failed(e),
    };
    let range = format!(
        "account={}&from={}&to={}",
        layout::urlencode(&code),
        window::text(window.first),
        window::text(window.last)
    );
    let next = (lines.len() == PAGE as usize)
        .then(|| lines.last().map(|l| l.posting_id))
        .flatten();
    let content = html! {
        (summary(&account))
        form.filters method="get" action="/dashboard/statement" {
            input type="hidden" name="account" value=(code);
            label { "From" input type="date" name="from" value=(window::text(window.first)); }
            label { "To" input type="date" name="to" value=(window::text(window.last)); }
            button type="submit" { "Show" }
            a.button.secondary href={ "/dashboard/statement.csv?" (range) } { "CSV" }
            a.button.secondary href={ "/dashboard/statement.xlsx?" (range) } { "XLSX" }
        }
        (lines_table(&lines))
        @if let Some(next) = next {
            p { a.button href={ "/dashboard/statement?" (range) "&after=" (next) } { "Later postings" } }
        }
    };
    Html(layout::page("Statement", "/dashboard/balances", &signed, content).into_string())
        .into_response()
}

fn summary(a: &Account) -> Markup {
    html! {
        section.card.summary {
            dl {
                dt { "Account" } dd { code { (a.code) } " · " (a.kind.as_str()) }
                dt { "Balance" } dd { (rupiah_text(a.balance)) }
                dt { "Held" } dd { (rupiah_text(a.pending)) }
                dt { "Available" } dd { (rupiah_text(a.available())) }
            }
        }
    }
}

/// What a download is written as.
#[derive(Clone, Copy)]
pub enum Format {
    Csv,
    Xlsx,
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a control
/// character first) is written with a leading apostrophe, so it stays text.
pub(super) fn inert(text: &str) -> String {
    let first = text.trim_start_matches(' ').chars().next();
    match first {
        Some('=' | '+' | '-' | '@') => format!("'{text}"),
        Some(c) if c.is_control() => format!("'{text}"),
        _ => text.to_string(),
    }
}

const HEADERS: [&str; 7] = [
    "posted_at",
    "kind",
    "reference",
    "description",
    "amount",
    "balance_after",
    "currency",
];

fn csv_of(account: &Account, lines: &[StatementLine]) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let text = |e: csv::Error| e.to_string();
    w.write_record(HEADERS).map_err(text)?;
    for l in lines {
        w.write_record([
            l.at.jakarta()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            inert(&l.kind),
            inert(&l.reference),
            inert(&l.description),
            crate::routes::rupiah(l.amount),
            crate::routes::rupiah(l.balance_after),
            account.currency.code().to_string(),
        ])
        .map_err(text)?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// Sen as the number an XLSX cell holds (a double, the format's only number,
/// so that sums work): the double nearest the exact rupiah — what a spreadsheet
/// stores when `123.45` is typed — which rounds back to the same sen for any
/// amount below 2^53 sen. The only place money leaves integer sen.
fn spreadsheet_rupiah(minor: i64) -> f64 {
    minor as f64 / 100.0
}

fn xlsx_of(account: &Account, lines: &[StatementLine]) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::{Format as Cell, Workbook};
    let text = |e: rust_xlsxwriter::XlsxError| e.to_string();
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Statement").map_err(text)?;
    let bold = Cell::new().set_bold();
    let money = Cell::new().set_num_format("#,##0.00");
    for (col, h) in HEADERS.iter().enumerate() {
        sheet
            .write_string_with_format(0, col as u16, *h, &bold)
            .map_err(text)?;
    }
    for (i, l) in lines.iter().enumerate() {
        let row = i as u32 + 1;
        let at =
            l.at.jakarta()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
        // Text cells are written as strings, never as formulas.
        sheet.write_string(row, 0, at).map_err(text)?;
        sheet.write_string(row, 1, &l.kind).map_err(text)?;
        sheet.write_string(row, 2, &l.reference).map_err(text)?;
        sheet.write_string(row, 3, &l.description).map_err(text)?;
        sheet
            .write_number_with_format(row, 4, spreadsheet_rupiah(l.amount), &money)
            .map_err(text)?;
        sheet
            .write_number_with_format(row, 5, spreadsheet_rupiah(l.balance_after), &money)
            .map_err(text)?;
        sheet
            .write_string(row, 6, account.currency.code())
            .map_err(text)?;
    }
    sheet.set_column_width(0, 26).map_err(text)?;
    sheet.set_column_width(3, 48).map_err(text)?;
    book.save_to_buffer().map_err(text)
}

async fn download(
    d: Arc<Dashboard>,
    signed: Signed,
    ask: StatementAsk,
    format: Format,
) -> Response {
    let (code, window) = match asked(&d, &signed, &ask) {
        Ok(a) => a,
        Err(page) => return *page,
    };
    let scope = signed.live.session.scope.clone();
    let (account, lines, cut) =
        match statements::download(&d.app, &scope, &code, window.instants()).await {
            Ok(Some(found)) => found,
            Ok(None) => return layout::not_found(&signed, "There is no such account."),
            Err(e) => return failed(e),
        };
    let (body, content_type, extension) = match format {
        Format::Csv => (csv_of(&account, &lines), "text/csv; charset=utf-8", "csv"),
        Format::Xlsx => (
            xlsx_of(&account, &lines),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
    };
    let body = match body {
        Ok(b) => b,
        Err(e) => return failed(e),
    };
    let detail = format!(
        "{code} {} to {}, {} lines as {extension}{}",
        window::text(window.first),
        window::text(window.last),
        lines.len(),
        if cut {
            " (cut at the download limit)"
        } else {
            ""
        }
    );
    let entry = signed.audit(&Scope::of_account(&code), "statement_download", &detail);
    if let Err(e) = gerbang_app::users::audit::record(&d.app, &entry).await {
        return failed(e);
    }
    let file = format!(
        "statement-{}-{}-{}.{extension}",
        code.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_"),
        window::text(window.first),
        window::text(window.last)
    );
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        body,
    )
        .into_response()
}

pub async fn csv(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    Query(ask): Query<StatementAsk>,
) -> Response {
    download(d, signed, ask, Format::Csv).await
}

pub async fn xlsx(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    Query(ask): Query<StatementAsk>,
) -> Response {
    download(d, signed, ask, Format::Xlsx).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_stay_text() {
        assert_eq!(inert("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(inert("+62"), "'+62");
        assert_eq!(inert("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(inert("payroll"), "payroll");
        assert_eq!(inert("  =1+1"), "'  =1+1");
        assert_eq!(inert("\u{7}beep"), "'\u{7}beep");
        assert_eq!(
            layout::urlencode("partner:99 20&x"),
            "partner%3A99%2020%26x"
        );
    }
}
