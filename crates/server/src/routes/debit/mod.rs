//! Faspay's Debit payment API (spec faspay-debit.md): the JSON family `/cvr/…`
//! and the XML family `/pws/…` share every handler — the body's first byte says
//! which syntax it is in, and the answer is written in the same one, always with
//! HTTP 200 (refusals in the `response_error` envelope). A request is read
//! leniently ([`message`]), decoded into a typed request, its merchant looked up
//! and its signature checked, then handed to the pay-in domain.

mod bills;
mod credit;
mod merchant;
mod ovo;
mod pages;
mod qr;
mod test_accounts;
mod views;

use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use gerbang_app::App;
use gerbang_protocol::debit::answer::{Answer, DebitError};
use gerbang_protocol::debit::message::{self, Message, Syntax};
use gerbang_protocol::debit::request::ChannelInquiry;
use merchant::signed_merchant;
use std::sync::Arc;

/// Every path of both families, with the handler behind it. The XML family's
/// second segment (`183xx00010100000` and its siblings) is taken whatever it says.
pub fn router(app: Arc<App>) -> Router {
    let mut router = Router::new();
    for (operation, handler) in [
        ("100001", Operation::ChannelInquiry),
        ("300011", Operation::PostData),
        ("300002", Operation::PostData),
        ("100004", Operation::StatusInquiry),
        ("100005", Operation::Cancel),
        ("300013", Operation::Refund),
        ("300012", Operation::PlanInquiry),
    ] {
        let serve = move |state: axum::extract::State<Arc<App>>,
                          headers: axum::http::HeaderMap,
                          body: Bytes| {
            // A body with no first byte to tell its syntax by is answered in
            // the one its Content-Type names, as a body over the limit is.
            let content_type = headers.get(header::CONTENT_TYPE);
            let named = Syntax::named_by(content_type.and_then(|v| v.to_str().ok()));
            handle(state.0, handler, named, body)
        };
        router = router
            .route(&format!("/cvr/{operation}/10"), post(serve))
            .route(&format!("/cvr/{operation}/10/"), post(serve))
            .route(&format!("/pws/{operation}/:environment"), post(serve))
            .route(&format!("/pws/{operation}/:environment/"), post(serve));
    }
    router
        .with_state(app.clone())
        .merge(pages::router(app.clone()))
        .merge(ovo::router(app))
}

#[derive(Clone, Copy, Debug)]
enum Operation {
    ChannelInquiry,
    PostData,
    StatusInquiry,
    Cancel,
    Refund,
    PlanInquiry,
}

/// An answer in `syntax`, HTTP 200.
fn reply(syntax: Syntax, answer: &Answer) -> Response {
    let (content_type, body) = answer.render(syntax);
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn refuse(syntax: Syntax, e: &DebitError) -> Response {
    reply(syntax, &Answer::refusal(e))
}

async fn handle(app: Arc<App>, operation: Operation, named: Syntax, body: Bytes) -> Response {
    let (syntax, m) = match message::read(&body) {
        Ok(read) => read,
        Err(e) => {
            let syntax = message::sniff(&body).unwrap_or(named);
            return refuse(syntax, &DebitError::FORMAT.with_detail(e.0));
        }
    };
    let answered = match operation {
        Operation::ChannelInquiry => channel_inquiry(&app, &m).await,
        Operation::PostData => bills::post_data(&app, &m).await,
        Operation::StatusInquiry => bills::status_inquiry(&app, &m).await,
        Operation::Cancel => bills::cancel(&app, &m).await,
        Operation::Refund => bills::refund(&app, &m).await,
        Operation::PlanInquiry => credit::plan_inquiry(&app, &m).await,
    };
    match answered {
        Ok(answer) => reply(syntax, &answer),
        Err(e) => refuse(syntax, &e),
    }
}

async fn channel_inquiry(app: &App, m: &Message<'_>) -> Result<Answer, DebitError> {
    let req = ChannelInquiry::decode(m)?;
    let merchant = signed_merchant(app, &req.merchant_id.0, &req.signature, &[]).await?;
    let channels = merchant
        .enabled_channels()
        .map(|c| {
            vec![
                ("pg_code".to_string(), c.code.to_string()),
                ("pg_name".to_string(), c.name.to_string()),
            ]
        })
        .collect();
    Ok(Answer::default()
        .text("response", "Request List of Payment Gateway")
        .text("merchant_id", merchant.merchant_id.as_str())
        .text("merchant", merchant.name.as_str())
        .list("payment_channel", channels)
        .text("response_code", "00")
        .text("response_desc", "Sukses"))
}
