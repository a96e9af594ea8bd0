//! The dashboard's page shell: head, top bar with the signed-in user and the
//! sign-out form, navigation, and the content.

use super::auth::Signed;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gerbang_core::Timestamp;
use maud::{html, Markup, DOCTYPE};

/// A time as the dashboard shows it: Jakarta time, to the second.
pub fn when(at: Timestamp) -> String {
    let shown = at
        .jakarta()
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default();
    format!("{shown} WIB")
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · gerbang" }
            link rel="stylesheet" href="/dashboard/assets/dashboard.css";
            // No inline styles (the CSP forbids them) and no evaluated code.
            meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}"#;
            script src="/dashboard/assets/htmx.min.js" defer {}
        }
    }
}

/// A page for someone not signed in (sign-in, refusals).
pub fn bare(title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare {
                main.narrow {
                    p.brand { "gerbang" }
                    (content)
                }
            }
        }
    }
}

/// The sections of the navigation, by path.
const SECTIONS: [(&str, &str); 8] = [
    ("/dashboard", "Overview"),
    ("/dashboard/transactions", "Transactions"),
    ("/dashboard/mass-transfers", "Mass transfers"),
    ("/dashboard/approvals", "Approvals"),
    ("/dashboard/balances", "Balances"),
    ("/dashboard/reports", "Reports"),
    ("/dashboard/settings", "Settings"),
    ("/dashboard/audit", "Audit log"),
];

/// The sandbox's section, shown in sandbox mode.
const SANDBOX: (&str, &str) = ("/dashboard/sandbox", "Sandbox");

/// A page for a signed-in user; `path` marks the current section.
pub fn page(title: &str, path: &str, signed: &Signed, content: Markup) -> Markup {
    let session = &signed.live.session;
    let sections = SECTIONS
        .iter()
        .copied()
        .chain(signed.sandbox.then_some(SANDBOX));
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.top {
                    a.brand href="/dashboard" { "gerbang" }
                    nav {
                        @for (href, name) in sections {
                            a href=(href) aria-current=[(href == path).then_some("page")] { (name) }
                        }
                    }
                    div.who {
                        span { (session.username) " · " (session.scope) " · " (session.role.as_str()) }
                        form method="post" action="/dashboard/sign-out" {
                            input type="hidden" name="csrf" value=(session.csrf.expose());
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (content)
                }
            }
        }
    }
}

/// A refused form: forged, from another site, or too old.
pub fn forged() -> Response {
    (
        StatusCode::FORBIDDEN,
        axum::response::Html(bare(
            "Refused",
            maud::html! {
                h1 { "This form was refused" }
                p { "It did not come from this dashboard, or it is too old. Go back, reload the page and try again." }
                p { a href="/dashboard" { "Back to the dashboard" } }
            },
        )
        .into_string()),
    )
        .into_response()
}

/// A page saying that what was asked for is not there (or not this user's).
pub fn not_found(signed: &Signed, what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::response::Html(page("Not found", "", signed, html! { p { (what) } }).into_string()),
    )
        .into_response()
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
