//! gerbang's HTTP face. It decodes requests, hands them to the application layer
//! and encodes the answers; per protocol family it is the wire adapter. It must
//! never decide money movements itself nor touch the database except through the
//! application's store.

mod client_address;
mod dashboard;
mod edge;
pub mod error;
pub mod metrics;
pub mod openapi;
mod page_headers;
mod request_log;
pub mod routes;
mod serve;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use gerbang_app::App;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What a worker process answers over HTTP: health and metrics, for its
/// orchestrator and scraper.
fn worker_router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz))
        .route("/metrics", get(routes::health::metrics))
        .with_state(app)
        .route_layer(edge::MatchedLayer)
        .fallback(|| async {
            error::ApiError::not_found("a worker node answers /healthz, /readyz and /metrics only")
        })
}

/// The whole HTTP surface, routed; [`around`] adds what every request passes through.
pub fn router(app: Arc<App>) -> Router {
    let max_body = app.config.max_body_bytes;
    let sandbox = if app.is_sandbox() {
        routes::sandbox::router()
            .with_state(app.clone())
            .merge(routes::sandbox_cashout::router(app.clone()))
            .merge(routes::sandbox_debit::router(app.clone()))
    } else {
        routes::sandbox::disabled().with_state(app.clone())
    };
    Router::new()
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz))
        .route("/metrics", get(routes::health::metrics))
        .with_state(app.clone())
        .merge(sandbox)
        .merge(routes::h2h::router(app.clone()))
        .merge(routes::debit::router(app.clone()))
        .merge(routes::sendme::router(app.clone()))
        .merge(routes::snap::router(app.clone()))
        .merge(dashboard::router(app.clone()))
        .merge(openapi::router())
        .layer(DefaultBodyLimit::max(max_body))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(max_body))
        // The routes with larger limits of their own.
        .merge(dashboard::upload_router(app.clone()))
        .merge(routes::snap::bulk_router(app))
        .route_layer(edge::MatchedLayer)
        .fallback(|| async { error::ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            error::ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed on this route",
            )
        })
}

/// `router` inside what every request passes through: the edge (request id, log
/// line and protocol-shaped rejections; outermost, so that it times and names
/// everything) and the body read timeout. Added once around the router rather
/// than with `Router::layer`, which wraps every route and clones the wrapping per
/// request.
fn around(router: Router, body_read_timeout: Duration) -> impl serve::Surface {
    use tower::Layer;
    let timed = tower_http::timeout::RequestBodyTimeoutLayer::new(body_read_timeout).layer(router);
    edge::edge(timed)
}

/// Rewrites what must be matched case-insensitively before routing.
pub(crate) fn normalise_uri(mut request: axum::extract::Request) -> axum::extract::Request {
    if let Some(path) = routes::sendme::normalise_path(request.uri().path()) {
        let rebuilt = match request.uri().query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        if let Ok(uri) = rebuilt.parse() {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// A running gateway: HTTP server and background workers.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    stop: CancellationToken,
    http: JoinHandle<std::io::Result<()>>,
    workers: Vec<JoinHandle<()>>,
}

/// Binds `listen` (port 0 picks a free port), starts the workers and serves.
pub async fn start(app: Arc<App>, listen: &str) -> anyhow::Result<RunningServer> {
    let _ = crate::metrics::handle();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    let reachable = if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    };
    let _ = app.self_url.set(format!("http://{reachable}"));
    let stop = CancellationToken::new();
    let role = app.config.role;
    let workers = if role.runs_workers() {
        app.start_workers(&stop).await?
    } else {
        Vec::new()
    };
    let limits = app.config.http.clone();
    let surface = if role.answers_requests() {
        router(app.clone())
    } else {
        worker_router(app.clone())
    };
    let router = around(
        surface,
        Duration::from_secs(limits.body_read_timeout_seconds.max(1)),
    );
    let http = tokio::spawn(serve::serve(listener, router, limits, stop.clone()));
    Ok(RunningServer {
        addr,
        app,
        stop,
        http,
        workers,
    })
}

impl RunningServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets in-flight requests finish, then stops the workers
    /// (each finishes the round it is in).
    pub async fn stop(self) {
        self.stop.cancel();
        match self.http.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "HTTP server stopped with an error"),
            Err(e) => tracing::error!(error = %e, "HTTP server task failed"),
        }
        for w in self.workers {
            let _ = w.await;
        }
    }
}
