//! The SNAP wire adapter (`/v1.0/…`, and `/account/v1.0/…` as Faspay's SendMe
//! SNAP SDKs call it): the B2B access token, and every transactional request
//! taken through the order of spec §8 — headers, partner, timestamp window,
//! signature (symmetric with a B2B token, or asymmetric, per partner),
//! `X-EXTERNAL-ID` once per partner per Jakarta day, then the body — before the
//! service translates it for the shared payout domain.
//!
//! Every answer carries `responseCode` (HTTP status + service + case) with the
//! HTTP status its first three digits, and the gateway's `X-TIMESTAMP`.

mod account;
mod bulk;
mod status;
mod token;
mod transfer;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, MethodRouter};
use axum::Router;
use gerbang_app::principals::{SendmePartner, SignatureMode, SnapPartner};
use gerbang_app::App;
use gerbang_core::Timestamp;
use gerbang_protocol::snap::code::{Case, Outcome, Service};
use gerbang_protocol::snap::fields::{Body, FieldError};
use gerbang_protocol::snap::headers::Common;
use gerbang_protocol::snap::key::PartnerKey;
use gerbang_protocol::snap::render;
use gerbang_protocol::snap::signature::{verify_symmetric, Signed};
use gerbang_protocol::snap::timestamp;
use gerbang_protocol::token::SNAP_B2B;
use gerbang_store::{Expect, RecordWrite, Step, StepError};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Shared state of the SNAP routes.
pub struct Snap {
    pub app: Arc<App>,
    /// Partners' public keys, parsed once per PEM text.
    keys: Mutex<HashMap<String, Arc<PartnerKey>>>,
}

type Shared = Arc<Snap>;

/// A service's answer: its case (a success) and its fields.
pub struct Answer {
    case: Case,
    fields: Map<String, Value>,
}

impl Answer {
    fn new(case: Case, fields: Map<String, Value>) -> Answer {
        Answer { case, fields }
    }
}

/// What goes on the wire: the envelope, the HTTP status of its code, `X-TIMESTAMP`.
pub struct Reply {
    outcome: Outcome,
    fields: Map<String, Value>,
    now: Timestamp,
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.outcome.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        let body = render::envelope(&self.outcome, self.fields).to_string();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Ok(at) = HeaderValue::from_str(&render::instant(self.now)) {
            headers.insert("X-TIMESTAMP", at);
        }
        response
    }
}

/// The SNAP refusal of a field.
fn field(service: Service, e: FieldError) -> Outcome {
    match e {
        FieldError::Missing(path) => {
            Outcome::new(service, Case::INVALID_MANDATORY_FIELD).about(path)
        }
        FieldError::Format(path) => Outcome::new(service, Case::INVALID_FIELD_FORMAT).about(path),
        FieldError::AboveLimit(path) => {
            Outcome::new(service, Case::EXCEEDS_AMOUNT_LIMIT).about(path)
        }
    }
}

fn internal(service: Service, e: impl std::fmt::Display) -> Outcome {
    tracing::error!(error = %e, "SNAP internal error");
    Outcome::new(service, Case::INTERNAL_ERROR)
}

/// An admitted request: its partner, headers and body.
pub struct Caller {
    pub partner: Arc<SnapPartner>,
    pub headers: Common,
    pub body: Body,
    /// The `X-EXTERNAL-ID` claim the service writes in its own step, if its
    /// route is one that moves money.
    pub claim: Option<RecordWrite>,
}

/// Records of the `X-EXTERNAL-ID`s used: key `{partner}:{Jakarta date}:{id}`.
pub const EXTERNAL_ID_RECORD: &str = "snap_external_id";

/// The SendMe partner whose balance `given` names, which must be the caller's
/// source account: `404xx11` naming `path` otherwise.
pub(super) async fn source(
    snap: &Shared,
    service: Service,
    c: &Caller,
    given: &str,
    path: &str,
) -> Result<SendmePartner, Outcome> {
    let refused = || Outcome::new(service, Case::INVALID_ACCOUNT).about(path);
    if given != c.partner.source_account {
        return Err(refused());
    }
    snap.app
        .partners
        .sendme_by_va(&*snap.app.store, given)
        .await
        .map_err(|e| internal(service, e))?
        .ok_or_else(refused)
}

/// The paths a service answers on: `/v1.0/…` and `/account/v1.0/…`.
fn paths(suffix: &str) -> [String; 2] {
    [format!("/v1.0{suffix}"), format!("/account/v1.0{suffix}")]
}

/// When a request's `X-EXTERNAL-ID` is claimed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Claim {
    /// Before the service runs, in a step of its own.
    Now,
    /// By a service that moves money, in the step that moves it
    /// ([`Caller::claim`]): one write.
    InStep,
}

/// A POST route that admits a request for `service`, its `X-EXTERNAL-ID` claimed
/// as `claim` says, and hands it to `serve`.
fn service<F, Fut>(service: Service, claim: Claim, serve: F) -> MethodRouter<Shared>
where
    F: Fn(Shared, Caller) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Answer, Outcome>> + Send,
{
    post(
        move |State(snap): State<Shared>,
              method: Method,
              uri: Uri,
              headers: HeaderMap,
              body: Bytes| {
            let serve = serve.clone();
            async move {
                let admitted = snap
                    .admit(service, claim, &method, &uri, &headers, &body)
                    .await;
                let answered = match admitted {
                    Ok(caller) => {
                        let claim = caller.claim.clone();
                        let served = serve(snap.clone(), caller).await;
                        snap.or_replayed(service, served, &claim).await
                    }
                    Err(Refused { outcome, claim }) => {
                        snap.or_replayed(service, Err(outcome), &claim).await
                    }
                };
                let now = snap.app.now();
                match answered {
                    Ok(Answer { case, fields }) => Reply {
                        outcome: Outcome::new(service, case),
                        fields,
                        now,
                    },
                    Err(outcome) => Reply {
                        outcome,
                        fields: Map::new(),
                        now,
                    },
                }
            }
        },
    )
}

fn state(app: Arc<App>) -> Shared {
    Arc::new(Snap {
        app,
        keys: Mutex::new(HashMap::new()),
    })
}

pub fn router(app: Arc<App>) -> Router {
    let state = state(app);
    let routes: Vec<(&str, MethodRouter<Shared>)> = vec![
        ("/access-token/b2b", post(token::b2b)),
        (
            "/transfer-interbank",
            service(
                Service::TRANSFER_INTERBANK,
                Claim::InStep,
                transfer::interbank,
            ),
        ),
        (
            "/emoney/topup",
            service(Service::EMONEY_TOPUP, Claim::InStep, transfer::topup),
        ),
        (
            "/transfer-va/payment-intrabank",
            service(
                Service::TRANSFER_VA_PAYMENT_INTRABANK,
                Claim::InStep,
                transfer::va_payment,
            ),
        ),
        (
            "/transfer/status",
            service(Service::TRANSFER_STATUS, Claim::Now, status::transfer),
        ),
        (
            "/emoney/topup-status",
            service(Service::EMONEY_TOPUP_STATUS, Claim::Now, status::topup),
        ),
        (
            "/account-inquiry-external",
            service(
                Service::ACCOUNT_INQUIRY_EXTERNAL,
                Claim::Now,
                account::inquiry,
            ),
        ),
        (
            "/transfer-va/inquiry-intrabank",
            service(
                Service::TRANSFER_VA_INQUIRY_INTRABANK,
                Claim::Now,
                account::va_inquiry,
            ),
        ),
        (
            "/balance-inquiry",
            service(Service::BALANCE_INQUIRY, Claim::Now, account::balance),
        ),
        (
            "/transaction-history-list",
            service(Service::HISTORY_LIST, Claim::Now, account::history),
        ),
        (
            "/emoney/bulk-cashin-status",
            service(Service::BULK_CASH_IN, Claim::Now, bulk::status),
        ),
    ];
    let mut router = Router::new();
    for (suffix, method_router) in routes {
        for path in paths(suffix) {
            router = router.route(&path, method_router.clone());
        }
    }
    router.with_state(state)
}

/// The bulk cash-in route, which takes bodies larger than the others
/// (`[snap] max_bulk_body_bytes`).
pub fn bulk_router(app: Arc<App>) -> Router {
    let max_body = app.config.snap.max_bulk_body_bytes;
    let state = state(app);
    let mut router = Router::new();
    for path in paths("/emoney/bulk-cashin-payment") {
        router = router.route(
            &path,
            service(Service::BULK_CASH_IN, Claim::InStep, bulk::submit),
        );
    }
    router
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(max_body))
}

/// A request refused while it was being admitted; `claim` is its `X-EXTERNAL-ID`
/// claim when it was refused after its signature checked out (for its body).
struct Refused {
    outcome: Outcome,
    claim: Option<RecordWrite>,
}

impl From<Outcome> for Refused {
    fn from(outcome: Outcome) -> Self {
        Refused {
            outcome,
            claim: None,
        }
    }
}

impl Snap {
    /// `answered`, unless it is a refusal of a request whose `X-EXTERNAL-ID` was
    /// used before: then `409xx00`, whatever else was wrong with it (§8: the
    /// replay check comes first). Looked up only when a money-moving request is
    /// refused; one carried out used its id in the same write, which finds a
    /// reused one itself.
    async fn or_replayed(
        &self,
        service: Service,
        answered: Result<Answer, Outcome>,
        claim: &Option<RecordWrite>,
    ) -> Result<Answer, Outcome> {
        match answered {
            Err(outcome) if outcome.case != Case::CONFLICT && self.replayed(claim).await => {
                Err(Outcome::new(service, Case::CONFLICT))
            }
            answered => answered,
        }
    }

    /// Whether the `X-EXTERNAL-ID` a money-moving request claims was used before.
    async fn replayed(&self, claim: &Option<RecordWrite>) -> bool {
        match claim {
            Some(claim) => matches!(
                self.app.store.record(EXTERNAL_ID_RECORD, &claim.key).await,
                Ok(Some(_))
            ),
            None => false,
        }
    }

    /// The partner `partner_id` names, if the request's instant `at` lies within
    /// the skew window: `401xx00 [Unknown client]` or `[Timestamp]` otherwise.
    async fn partner_at(
        &self,
        service: Service,
        partner_id: &str,
        at: Timestamp,
    ) -> Result<Arc<SnapPartner>, Outcome> {
        let unauthorized = |why: &str| Outcome::new(service, Case::UNAUTHORIZED).about(why);
        let partner = self
            .app
            .partners
            .snap(&*self.app.store, partner_id)
            .await
            .map_err(|e| internal(service, e))?
            .ok_or_else(|| unauthorized("Unknown client"))?;
        let window = self.app.config.snap.max_timestamp_skew_seconds as i64;
        if !timestamp::within(at, self.app.now(), window) {
            return Err(unauthorized("Timestamp"));
        }
        Ok(partner)
    }

    /// The partner's public key (parsed once): `401xx00 [Unknown client]` when it
    /// has none that reads.
    fn public_key_of(
        &self,
        service: Service,
        partner: &SnapPartner,
    ) -> Result<Arc<PartnerKey>, Outcome> {
        partner
            .public_key_pem
            .as_deref()
            .and_then(|pem| self.partner_key(pem))
            .ok_or_else(|| Outcome::new(service, Case::UNAUTHORIZED).about("Unknown client"))
    }

    /// The partner's public key, parsed once.
    fn partner_key(&self, pem: &str) -> Option<Arc<PartnerKey>> {
        let mut keys = self.keys.lock().expect("partner key cache");
        if let Some(key) = keys.get(pem) {
            return Some(key.clone());
        }
        let key = Arc::new(PartnerKey::from_pem(pem).ok()?);
        if keys.len() > 10_000 {
            keys.clear();
        }
        keys.insert(pem.to_string(), key.clone());
        Some(key)
    }

    /// Takes a request through headers, partner, timestamp, signature,
    /// `X-EXTERNAL-ID` and body (spec §8), in that order.
    async fn admit(
        &self,
        service: Service,
        claim: Claim,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Caller, Refused> {
        let unauthorized = |why: &str| Outcome::new(service, Case::UNAUTHORIZED).about(why);
        let common = Common::read(service, |name| {
            headers.get(name).and_then(|v| v.to_str().ok())
        })?;
        let partner = self
            .partner_at(service, &common.partner_id, common.timestamp)
            .await?;
        let path_and_query = uri
            .path_and_query()
            .map_or_else(|| uri.path(), |p| p.as_str());
        let signed = Signed {
            method: method.as_str(),
            path_and_query,
            body,
            timestamp: &common.timestamp_text,
        };
        let matched = match partner.mode() {
            SignatureMode::Symmetric => {
                let token = common
                    .token
                    .as_deref()
                    .ok_or_else(|| Outcome::new(service, Case::TOKEN_NOT_FOUND))?;
                let key = self
                    .app
                    .token_key()
                    .await
                    .map_err(|e| internal(service, e))?;
                key.verify(&SNAP_B2B, token, &partner.partner_id, self.app.now())
                    .map_err(|_| Outcome::new(service, Case::INVALID_TOKEN))?;
                let secret = partner
                    .client_secret
                    .as_ref()
                    .ok_or_else(|| unauthorized("Unknown client"))?;
                verify_symmetric(
                    secret.expose().as_bytes(),
                    token,
                    &signed,
                    &common.signature,
                )
            }
            SignatureMode::Asymmetric => self
                .public_key_of(service, &partner)?
                .verifies_request(&signed, &common.signature),
        };
        let Some(matched) = matched else {
            tracing::info!(partner = %common.partner_id, "SNAP signature refused");
            return Err(unauthorized("Signature").into());
        };
        tracing::debug!(endpoint = %matched.endpoint, body_form = matched.body_form, "SNAP signature matched");
        let claim = self.claim_external_id(service, claim, &common).await?;
        let Some(body) = Body::parse(body) else {
            return Err(Refused {
                outcome: Outcome::new(service, Case::BAD_REQUEST),
                claim,
            });
        };
        Ok(Caller {
            partner,
            headers: common,
            body,
            claim,
        })
    }

    /// The claim of the request's `X-EXTERNAL-ID` for its partner and the Jakarta
    /// day of its `X-TIMESTAMP`: written now (used before: `409xx00`), or handed
    /// to a service that moves money to write in the step that moves it.
    async fn claim_external_id(
        &self,
        service: Service,
        when: Claim,
        common: &Common,
    ) -> Result<Option<RecordWrite>, Outcome> {
        // The day the request says it was made (it is signed): a replay just
        // after midnight names the same day as the original.
        let day = common.timestamp.jakarta().date();
        let claim = RecordWrite {
            kind: EXTERNAL_ID_RECORD.into(),
            key: format!("{}:{day}:{}", common.partner_id, common.external_id),
            owner: common.partner_id.clone(),
            state: "used".into(),
            data: serde_json::json!({}).into(),
            expect: Expect::Absent,
        };
        if when == Claim::InStep {
            // Used up by the write that moves the money, which finds a reused one
            // (and, when it finds the request was seen before, by
            // [`Snap::replayed`]); a refused request asks [`Snap::or_replayed`].
            return Ok(Some(claim));
        }
        let step = Step {
            records: vec![claim],
            ..Step::default()
        };
        match self.app.commit(step).await {
            Ok(_) => Ok(None),
            Err(StepError::RecordConflict { .. }) => Err(Outcome::new(service, Case::CONFLICT)),
            Err(e) => Err(internal(service, e)),
        }
    }
}
