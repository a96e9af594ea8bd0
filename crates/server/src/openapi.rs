//! The OpenAPI document of gerbang's own JSON API — the sandbox and the
//! operations endpoints — generated from the handlers' annotations (utoipa),
//! served at `/openapi.json`, and as a reference page at `/api-reference`
//! rendered on the server from the same document (no script).

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup, DOCTYPE};
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::{OpenApi as Document, RefOr};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "gerbang sandbox and operations API",
        description = "gerbang's own JSON API: the sandbox, which makes banks, stores, wallets and the clock do what a test needs (sandbox mode only; 403 in production), and the operations endpoints. The payment protocols gerbang speaks (Faspay Debit and SendMe, SNAP) are documented by their own specifications.",
        license(name = "see the repository")
    ),
    tags(
        (name = "sandbox", description = "Balances, the clock, notifications, the ledger check, simulated banks"),
        (name = "sandbox: cash-out", description = "Cash-out codes claimed at simulated stores and ATMs"),
        (name = "sandbox: debit", description = "Bills paid as their channel would"),
        (name = "operations", description = "Liveness, readiness and metrics")
    )
)]
struct Base;

/// The whole document.
pub fn document() -> Document {
    let mut doc = Base::openapi();
    doc.merge(crate::routes::health::Api::openapi());
    doc.merge(crate::routes::sandbox::Api::openapi());
    doc.merge(crate::routes::sandbox_cashout::Api::openapi());
    doc.merge(crate::routes::sandbox_debit::Api::openapi());
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/openapi.json", get(json))
        .route("/api-reference", get(reference))
}

async fn json() -> Response {
    match document().to_pretty_json() {
        Ok(text) => ([(header::CONTENT_TYPE, "application/json")], text).into_response(),
        Err(e) => crate::error::ApiError::internal(e).into_response(),
    }
}

fn operations(item: &PathItem) -> Vec<(&'static str, &Operation)> {
    [
        ("GET", &item.get),
        ("POST", &item.post),
        ("PUT", &item.put),
        ("PATCH", &item.patch),
        ("DELETE", &item.delete),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.as_ref().map(|op| (m, op)))
    .collect()
}

fn schema_name(r: &RefOr<utoipa::openapi::schema::Schema>) -> String {
    match r {
        RefOr::Ref(r) => r
            .ref_location
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string(),
        RefOr::T(_) => "inline".into(),
    }
}

fn operation(path: &str, method: &str, op: &Operation) -> Markup {
    let anchor = format!("{method}-{path}").replace(['/', '{', '}'], "-");
    html! {
        section.card.operation id=(anchor) {
            h3 { span.method { (method) } " " code { (path) } }
            @if let Some(summary) = &op.summary { p { (summary) } }
            @if let Some(description) = &op.description { p.hint { (description) } }
            @if let Some(params) = &op.parameters {
                @if !params.is_empty() {
                    h4 { "Parameters" }
                    table {
                        thead { tr { th { "Name" } th { "In" } th { "Required" } th { "Description" } } }
                        tbody {
                            @for p in params {
                                tr {
                                    td { code { (p.name) } }
                                    td { (serde_json::to_value(&p.parameter_in).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()) }
                                    td { (if matches!(p.required, utoipa::openapi::Required::True) { "yes" } else { "no" }) }
                                    td { (p.description.clone().unwrap_or_default()) }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(body) = &op.request_body {
                h4 { "Request body" }
                @for (content_type, content) in &body.content {
                    p { code { (content_type) } @if let Some(s) = &content.schema { " — " a href={ "#schema-" (schema_name(s)) } { (schema_name(s)) } } }
                }
            }
            h4 { "Responses" }
            table {
                thead { tr { th { "Status" } th { "Description" } } }
                tbody {
                    @for (status, response) in &op.responses.responses {
                        tr {
                            td { code { (status) } }
                            td {
                                @match response {
                                    RefOr::T(r) => { (r.description) }
                                    RefOr::Ref(r) => { (r.ref_location) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn page(doc: &Document) -> Markup {
    let schemas = doc
        .components
        .as_ref()
        .map(|c| c.schemas.iter().collect::<Vec<_>>())
        .unwrap_or_default();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (doc.info.title) " · gerbang" }
                link rel="stylesheet" href="/dashboard/assets/dashboard.css";
            }
            body {
                main {
                    h1 { (doc.info.title) " " small.hint { (doc.info.version) } }
                    @if let Some(d) = &doc.info.description { p { (d) } }
                    p { a href="/openapi.json" { "The OpenAPI document (JSON)" } }
                    nav.toc {
                        ul {
                            @for (path, item) in doc.paths.paths.iter() {
                                @for (method, _) in operations(item) {
                                    li { a href={ "#" (format!("{method}-{path}").replace(['/', '{', '}'], "-")) } { (method) " " (path) } }
                                }
                            }
                        }
                    }
                    @for (path, item) in doc.paths.paths.iter() {
                        @for (method, op) in operations(item) { (operation(path, method, op)) }
                    }
                    h2 { "Schemas" }
                    @for (name, schema) in schemas {
                        section.card id={ "schema-" (name) } {
                            h3 { code { (name) } }
                            pre { (serde_json::to_string_pretty(schema).unwrap_or_default()) }
                        }
                    }
                }
            }
        }
    }
}

async fn reference() -> Response {
    Html(page(&document()).into_string()).into_response()
}
