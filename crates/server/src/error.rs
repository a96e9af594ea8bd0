//! Errors of gerbang's own JSON APIs (sandbox, operations): a status code and
//! `{"error": "..."}`. Protocol adapters answer with their protocol's envelopes instead.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        tracing::error!(error = %message, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; see the server log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

impl From<gerbang_store::StoreError> for ApiError {
    fn from(e: gerbang_store::StoreError) -> Self {
        ApiError::internal(e)
    }
}

/// A JSON body whose rejections (bad JSON, wrong type, wrong content type, too large)
/// come back as [`ApiError`]s.
pub struct JsonBody<T>(pub T);

#[axum::async_trait]
impl<S, T> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(ApiError::new(rejection.status(), rejection.body_text())),
        }
    }
}

/// Path parameters whose rejections (a segment of the wrong type) come back as
/// [`ApiError`]s.
pub struct JsonPath<T>(pub T);

#[axum::async_trait]
impl<S, T> axum::extract::FromRequestParts<S> for JsonPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(JsonPath(value)),
            Err(rejection) => Err(ApiError::new(rejection.status(), rejection.body_text())),
        }
    }
}

/// Query parameters whose rejections (unknown or malformed parameters) come back as
/// [`ApiError`]s.
pub struct JsonQuery<T>(pub T);

#[axum::async_trait]
impl<S, T> axum::extract::FromRequestParts<S> for JsonQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(JsonQuery(value)),
            Err(rejection) => Err(ApiError::new(rejection.status(), rejection.body_text())),
        }
    }
}

/// The body limit layer refuses a body whose declared length is too large before
/// any extractor runs, in plain text; this gives that refusal the JSON shape of
/// every other error.
fn json_payload_too_large(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body is larger than the configured max_body_bytes",
        )
        .into_response();
    }
    response
}

/// Rejections made before a handler runs (a body over the limit) in the shape of
/// the route's protocol: SendMe and Debit answer HTTP 200 with their envelope,
/// SNAP its `400xx00`, everything else gets a JSON error. Taken from the request
/// (which routing consumes) and applied to its response.
pub(crate) struct RefusalShape {
    path: axum::http::Uri,
    /// The syntax of a Debit refusal: the body was not read, so the one its
    /// Content-Type names.
    debit_syntax: gerbang_protocol::debit::message::Syntax,
}

impl RefusalShape {
    pub(crate) fn of(request: &axum::extract::Request) -> Self {
        RefusalShape {
            path: request.uri().clone(),
            debit_syntax: gerbang_protocol::debit::message::Syntax::named_by(
                request
                    .headers()
                    .get(axum::http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok()),
            ),
        }
    }

    pub(crate) fn apply(self, response: Response) -> Response {
        if response.status() != StatusCode::PAYLOAD_TOO_LARGE {
            return response;
        }
        let path = self.path.path();
        if let Some(service) = gerbang_protocol::snap::code::Service::for_path(path) {
            use gerbang_protocol::snap::code::{Case, Outcome};
            let outcome = Outcome::new(service, Case::BAD_REQUEST)
                .about("the request body is larger than the gateway accepts");
            let now = gerbang_core::Clock::now(&gerbang_core::SystemClock);
            return (
                StatusCode::BAD_REQUEST,
                [("X-TIMESTAMP", gerbang_protocol::snap::render::instant(now))],
                axum::Json(gerbang_protocol::snap::render::envelope(
                    &outcome,
                    serde_json::Map::new(),
                )),
            )
                .into_response();
        }
        if path.starts_with("/cvr/") || path.starts_with("/pws/") {
            // Debit answers every refusal with HTTP 200 in its envelope.
            use gerbang_protocol::debit::answer;
            let refusal = answer::DebitError::FORMAT
                .with_detail("the request body is larger than the gateway accepts");
            let (content_type, body) = answer::Answer::refusal(&refusal).render(self.debit_syntax);
            return (
                StatusCode::OK,
                [(axum::http::header::CONTENT_TYPE, content_type)],
                body,
            )
                .into_response();
        }
        if path.starts_with("/account/api/") {
            let error = gerbang_protocol::sendme::envelope::SendmeError::INVALID_BODY
                .with_detail("the request body is larger than the gateway accepts");
            return (StatusCode::OK, axum::Json(error.to_json())).into_response();
        }
        json_payload_too_large(response)
    }
}

/// Every error of this API: `{"error": "what is wrong"}`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    /// What is wrong, in a sentence naming the field.
    error: String,
}
