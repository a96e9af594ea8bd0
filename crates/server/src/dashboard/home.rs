//! The overview: who is signed in, and what they may do here.

use super::auth::Signed;
use super::layout;
use axum::response::Html;
use maud::html;

pub async fn show(signed: Signed) -> Html<String> {
    let s = &signed.live.session;
    Html(
        layout::page(
            "Overview",
            "/dashboard",
            &signed,
            html! {
                section.card {
                    dl {
                        dt { "User" } dd { (s.username) }
                        dt { "Sees" } dd { (s.scope) }
                        dt { "Role" } dd { (s.role.as_str()) }
                        dt { "Signed in" } dd { (layout::when(s.created_at)) " from " (s.from) }
                    }
                }
                p { "Every action taken here is written to the " a href="/dashboard/audit" { "audit log" } "." }
            },
        )
        .into_string(),
    )
}
