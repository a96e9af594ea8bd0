//! What every request passes on its way in and out, as two tower services written
//! by hand rather than `from_fn` middleware, which boxes and clones the rest of the
//! stack for each request (a tenth of a bill's CPU went there):
//! - [`Edge`], around the whole router: the request id, the request's log line, and
//!   a refusal made before any handler ran (a body over the limit) given the shape
//!   of the route's protocol;
//! - [`Matched`], around each route (`Router::route_layer`): counts and times the
//!   request by method, matched route and status, and passes the matched route out
//!   to the log line, which is written outside routing.

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::response::Response;
use gerbang_app::request_id;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use tracing::Instrument;

/// [`Edge`] around `inner`.
pub(crate) fn edge<S>(inner: S) -> Edge<S> {
    Edge { inner }
}

#[derive(Clone)]
pub(crate) struct Edge<S> {
    inner: S,
}

impl<S> tower::Service<Request> for Edge<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let id = request
            .headers()
            .get(crate::request_log::HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(request_id::accept)
            .unwrap_or_else(request_id::make);
        let method = request.method().clone();
        let refusal_shape = crate::error::RefusalShape::of(&request);
        let started = Instant::now();
        let span = tracing::info_span!("request", request_id = %id);
        // The clone stays for the next call; the service made ready answers this one.
        let fresh = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, fresh);
        let answered =
            request_id::scope(id.clone(), oneshot_ready(ready, request)).instrument(span.clone());
        Box::pin(async move {
            let response = refusal_shape.apply(answered.await);
            Ok(crate::request_log::finish(
                response, &id, &method, started, &span,
            ))
        })
    }
}

/// Calls a service already made ready by `poll_ready`.
async fn oneshot_ready<S>(mut service: S, request: Request) -> Response
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    match service.call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// The layer that puts [`Matched`] around each route.
#[derive(Clone, Copy)]
pub(crate) struct MatchedLayer;

impl<S> tower::Layer<S> for MatchedLayer {
    type Service = Matched<S>;

    fn layer(&self, inner: S) -> Matched<S> {
        Matched { inner }
    }
}

#[derive(Clone)]
pub(crate) struct Matched<S> {
    inner: S,
}

impl<S> tower::Service<Request> for Matched<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = MatchedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let method = request.method().clone();
        let route = request.extensions().get::<MatchedPath>().cloned();
        MatchedFuture {
            answer: self.inner.call(request),
            method,
            route,
            started,
        }
    }
}

pin_project_lite::pin_project! {
    pub(crate) struct MatchedFuture<F> {
        #[pin]
        answer: F,
        method: Method,
        route: Option<MatchedPath>,
        started: Instant,
    }
}

impl<F, E> Future for MatchedFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = match this.answer.poll(cx) {
            Poll::Ready(Ok(response)) => response,
            other => return other,
        };
        let route = this.route.take();
        crate::metrics::record(
            this.method,
            route.as_ref().map_or("unmatched", MatchedPath::as_str),
            response.status().as_u16(),
            *this.started,
        );
        if let Some(route) = route {
            response.extensions_mut().insert(route);
        }
        Poll::Ready(Ok(response))
    }
}
