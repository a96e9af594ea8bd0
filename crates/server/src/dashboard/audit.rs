//! The audit log page: newest first, a page at a time (keyset: the next page
//! starts after the last entry shown), as the user's scope may see it.

use super::auth::Signed;
use super::{layout, Dashboard};
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use gerbang_app::users::audit;
use maud::html;
use serde::Deserialize;
use std::sync::Arc;

const PAGE: u32 = 50;
/// Longest `after` key taken from a link.
const MAX_KEY_CHARS: usize = 40;

#[derive(Deserialize)]
pub struct Paging {
    after: Option<String>,
}

pub async fn show(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    Query(paging): Query<Paging>,
) -> Response {
    let s = &signed.live.session;
    let after = paging
        .after
        .filter(|a| a.len() <= MAX_KEY_CHARS && !a.is_empty());
    let (entries, next) = match audit::page(&d.app, &s.scope, after.as_deref(), PAGE).await {
        Ok(page) => page,
        Err(e) => {
            tracing::error!(error = %e, "reading the audit log failed");
            return (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "the audit log cannot be read now",
            )
                .into_response();
        }
    };
    Html(
        layout::page(
            "Audit log",
            "/dashboard/audit",
            &signed,
            html! {
                p.hint { "Every action taken in the dashboard, newest first. Entries are written with what they record and never change." }
                table {
                    thead { tr { th { "When" } th { "Who" } th { "Scope" } th { "Action" } th { "Detail" } th { "From" } } }
                    tbody {
                        @for e in &entries {
                            tr {
                                td.nowrap { (layout::when(e.at)) }
                                td { (e.actor) }
                                td { (e.scope) }
                                td { code { (e.action) } }
                                td { (e.detail) }
                                td { (e.from) }
                            }
                        }
                        @if entries.is_empty() {
                            tr { td colspan="6" { "Nothing yet." } }
                        }
                    }
                }
                @if let Some(next) = next {
                    p { a.button href={ "/dashboard/audit?after=" (next) } { "Older entries" } }
                }
            },
        )
        .into_string(),
    )
    .into_response()
}
