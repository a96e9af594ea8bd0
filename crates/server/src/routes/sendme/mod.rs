//! The SendMe v1 wire adapter (`/account/api/…`): routing as the SDKs call it,
//! authentication, and the translation between SendMe messages and the
//! application's beneficiaries and disbursements.
//!
//! Every answer is HTTP 200 with the SendMe envelope, errors included.

mod approval;
mod cashout;
mod codes;
mod queries;
mod register;
mod request;
mod transfer;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::routing::{any, post};
use axum::{Json, Router};
use gerbang_app::principals::SendmePartner;
use gerbang_app::App;
use gerbang_protocol::sendme::auth::{Credentials, Endpoint, Headers, Verifier};
use gerbang_protocol::sendme::envelope::{self, SendmeError};
use gerbang_protocol::sendme::fields::Fields;
pub use gerbang_protocol::sendme::path::normalise_path;
use gerbang_protocol::sendme::request::Input;
use gerbang_protocol::sendme::token::{TokenKey, LIFETIME_SECONDS, SENDME};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Shared state of the SendMe routes.
pub struct Sendme {
    pub app: Arc<App>,
}

type Shared = Arc<Sendme>;

/// The answer of every SendMe route: always HTTP 200, JSON.
pub type Answer = Json<Value>;

fn error(e: SendmeError) -> Answer {
    Json(e.to_json())
}

pub fn router(app: Arc<App>) -> Router {
    let state = Arc::new(Sendme { app });
    Router::new()
        .route("/account/api/tokens", any(tokens))
        .route("/account/api/register", post(register::register))
        .route("/account/api/register/confirm", post(register::confirm))
        .route("/account/api/confirm", post(register::confirm))
        .route("/account/api/transfer", post(transfer::transfer))
        .route("/account/api/approve", post(approval::approve))
        .route("/account/api/reject", post(approval::reject))
        .route("/account/api/cancel", post(approval::cancel))
        .route("/account/api/balance_inquiry", any(queries::balance))
        .route(
            "/account/api/balance_inquiry/*values",
            any(queries::balance),
        )
        .route("/account/api/inquiry_name", any(queries::inquiry_name))
        .route(
            "/account/api/inquiry_name/*values",
            any(queries::inquiry_name),
        )
        .route("/account/api/mutasi", any(queries::mutasi))
        .route("/account/api/mutasi/*values", any(queries::mutasi))
        .route("/account/api/inquiry_status", any(queries::inquiry_status))
        .route(
            "/account/api/inquiry_status/*values",
            any(queries::inquiry_status),
        )
        .with_state(state)
}

impl Sendme {
    async fn token_key(&self) -> Result<&TokenKey, SendmeError> {
        self.app.token_key().await.map_err(internal)
    }

    /// Authenticates a request: the partner named by `faspay-key`, with valid headers.
    async fn authenticate(
        &self,
        headers: &HeaderMap,
        endpoint: Endpoint,
        method: &Method,
        uri: &Uri,
    ) -> Result<SendmePartner, SendmeError> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let key = header("faspay-key").ok_or(SendmeError::UNAUTHORIZED)?;
        let partner = self
            .app
            .partners
            .sendme_by_key(&*self.app.store, key.trim())
            .await
            .map_err(internal)?
            .ok_or(SendmeError::UNAUTHORIZED)?;
        let token_key = self.token_key().await?;
        let skew = self.app.config.sendme.max_timestamp_skew_seconds;
        let verifier = Verifier {
            token_key,
            max_skew_seconds: (skew > 0).then_some(skew as i64),
        };
        let creds = Credentials {
            virtual_account: &partner.virtual_account,
            faspay_secret: partner.faspay_secret.expose(),
            iv: partner.iv.expose(),
            app_key: &partner.app_key,
            app_secret: partner.app_secret.expose(),
            client_key: &partner.client_key,
            client_secret: partner.client_secret.expose(),
        };
        let given = Headers {
            authorization: header("faspay-authorization"),
            timestamp: header("faspay-timestamp"),
            signature: header("faspay-signature"),
        };
        verifier
            .verify(&creds, &given, endpoint, method.as_str(), uri.path(), self.app.now())
            .map_err(|reason| {
                tracing::info!(partner = %gerbang_core::mask::mask_tail(&partner.virtual_account), %reason, "SendMe request refused");
                SendmeError::UNAUTHORIZED
            })?;
        Ok(partner)
    }
}

fn internal(e: impl std::fmt::Display) -> SendmeError {
    tracing::error!(error = %e, "SendMe internal error");
    SendmeError::INTERNAL
}

/// A request to a service: its partner and what it sent.
struct Call {
    partner: SendmePartner,
    input: Input,
}

impl Call {
    /// The body's (or path's) `virtual_account`, which must be the caller's own.
    /// (The SDKs fill it in from their configuration when the caller leaves it out.)
    fn own_virtual_account(&self, index: usize) -> Result<String, SendmeError> {
        match self.input.value("virtual_account", index) {
            Some(va) if va == self.partner.virtual_account => Ok(va),
            _ => Err(SendmeError::INVALID_VA),
        }
    }
}

/// Authenticates and reads a service request.
async fn call(
    sendme: &Sendme,
    endpoint: Endpoint,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Call, SendmeError> {
    let partner = sendme
        .authenticate(&headers, endpoint, &method, &uri)
        .await?;
    let fields = Fields::parse(&body)?;
    let base = match endpoint {
        Endpoint::Service { path, .. } => path,
        Endpoint::Tokens => "/account/api/tokens",
    };
    let input = Input::new(fields, uri.path().strip_prefix(base).unwrap_or(""));
    Ok(Call { partner, input })
}

/// `/account/api/tokens`, GET or POST, any body.
async fn tokens(
    State(sendme): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Answer {
    let partner = match sendme
        .authenticate(&headers, Endpoint::Tokens, &method, &uri)
        .await
    {
        Ok(p) => p,
        Err(e) => return error(e),
    };
    let key = match sendme.token_key().await {
        Ok(k) => k,
        Err(e) => return error(e),
    };
    let mut fields = Map::new();
    fields.insert(
        "access_token".into(),
        key.issue(&SENDME, &partner.virtual_account, sendme.app.now())
            .into(),
    );
    fields.insert("expired_in".into(), LIFETIME_SECONDS.to_string().into());
    Json(envelope::success(
        fields,
        envelope::status::SUCCESS,
        "Success",
    ))
}
