//! The dashboard at `/dashboard`: server-rendered HTML (maud) that works without
//! JavaScript, for operator, merchant and partner users. Pages translate: they
//! read what a signed-in user may see through `gerbang_app`, and every action
//! goes through the same domain operations as the APIs, audited.

mod approvals;
mod audit;
mod auth;
mod decision;
mod home;
mod layout;
mod mass_transfers;
mod reports;
mod sandbox;
mod settings;
mod signin;
mod statements;
mod throttle;
mod transactions;
mod window;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use gerbang_app::App;
use std::sync::Arc;

/// What the dashboard's handlers share.
pub struct Dashboard {
    pub app: Arc<App>,
    /// Sign-in attempts per client address.
    throttle: throttle::Throttle,
}

fn state(app: Arc<App>) -> Arc<Dashboard> {
    let per_minute = app.config.dashboard.sign_ins_per_minute;
    Arc::new(Dashboard {
        app,
        throttle: throttle::Throttle::new(per_minute),
    })
}

/// The one dashboard route that takes more than the gateway's body limit: a mass
/// transfer file (with its form around it).
pub fn upload_router(app: Arc<App>) -> Router {
    let limit = gerbang_protocol::mass_transfer::MAX_FILE_BYTES + 64 * 1024;
    Router::new()
        .route("/dashboard/mass-transfers", post(mass_transfers::upload))
        .with_state(state(app))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(limit))
        .layer(axum::middleware::map_response(guarded))
}

pub fn router(app: Arc<App>) -> Router {
    let state = state(app);
    Router::new()
        .route("/dashboard", get(home::show))
        .route(
            "/dashboard/sign-in",
            get(signin::form).post(signin::password),
        )
        .route(
            "/dashboard/sign-in/code",
            get(signin::code_form).post(signin::code),
        )
        .route("/dashboard/sign-out", post(signin::sign_out))
        .route("/dashboard/audit", get(audit::show))
        .route(
            "/dashboard/approvals",
            get(approvals::show).post(approvals::decide),
        )
        .route("/dashboard/transactions", get(transactions::list))
        .route("/dashboard/transactions/:kind/:id", get(transactions::show))
        .route(
            "/dashboard/transactions/:kind/:id/resend",
            post(transactions::resend),
        )
        .route("/dashboard/mass-transfers", get(mass_transfers::list))
        .route("/dashboard/mass-transfers/:id", get(mass_transfers::show))
        .route(
            "/dashboard/mass-transfers/:id/decide",
            post(mass_transfers::decide),
        )
        .route(
            "/dashboard/mass-transfers/:id/outcome.csv",
            get(mass_transfers::outcome_csv),
        )
        .route("/dashboard/reports", get(reports::show))
        .route("/dashboard/reports.csv", get(reports::csv))
        .route("/dashboard/reports/volume.svg", get(reports::volume))
        .route("/dashboard/reports/success.svg", get(reports::success))
        .route("/dashboard/balances", get(statements::balances))
        .route("/dashboard/statement", get(statements::statement))
        .route("/dashboard/statement.csv", get(statements::csv))
        .route("/dashboard/statement.xlsx", get(statements::xlsx))
        .route("/dashboard/settings", get(settings::show))
        .route("/dashboard/settings/merchant", post(settings::merchant))
        .route("/dashboard/settings/rotate", post(settings::rotate))
        .route("/dashboard/settings/test", post(settings::test))
        .route("/dashboard/sandbox", get(sandbox::show))
        .route("/dashboard/sandbox/bill", post(sandbox::bill))
        .route("/dashboard/sandbox/code", post(sandbox::code))
        .route("/dashboard/sandbox/bank", post(sandbox::bank))
        .route("/dashboard/sandbox/clock", post(sandbox::clock))
        .route("/dashboard/assets/dashboard.css", get(stylesheet))
        .route("/dashboard/assets/htmx.min.js", get(htmx))
        .with_state(state)
        .layer(axum::middleware::map_response(guarded))
}

/// The dashboard's stylesheet, compiled in.
const STYLESHEET: &str = include_str!("../../assets/dashboard.css");

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// htmx, vendored: pages work without it, and with it a search or a page of
/// results replaces only the results, and a mass transfer being sent refreshes.
const HTMX: &str = include_str!("../../assets/htmx-2.0.11.min.js");

async fn htmx() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        HTMX,
    )
        .into_response()
}

/// Headers every dashboard answer carries (see [`crate::page_headers`]).
async fn guarded(mut response: Response) -> Response {
    crate::page_headers::guard(
        &mut response,
        "default-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    response
}
