//! Helpers shared by the black-box suites: fresh databases on both backends, a
//! gateway served in-process on a free port, JSON over real HTTP, and a recording
//! HTTP receiver that can be told to answer with any status or to hang.
//!
//! Use it from a test crate with `#[macro_use] mod common;` (or `#[path = …]`
//! from another crate's tests) and generate per-backend variants with
//! [`on_both_backends!`].
#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use gerbang_app::config::{Config, Mode, NotifierConfig, SchedulerConfig};
use gerbang_app::App;
use gerbang_server::RunningServer;
use serde_json::{json, Value};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub use gerbang_store::testing::TestDatabase;

/// The demo SendMe partner every fresh sandbox has.
pub const DEMO_VA: &str = "9920015307";
/// Its opening balance in minor units (100,000,000.00 rupiah).
pub const DEMO_OPENING_MINOR: i64 = 10_000_000_000;

/// Generates, for each listed `async fn name(db: TestDatabase)`, a test
/// `sqlite::name` and a test `postgres::name` (skipped unless
/// `GERBANG_TEST_POSTGRES_URL` is set; a failure with `GERBANG_REQUIRE_POSTGRES=1`).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let db = gerbang_store::testing::sqlite_database();
                    super::$name(db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(db) = gerbang_store::testing::postgres_database().await else {
                        return;
                    };
                    super::$name(db).await;
                }
            )*
        }
    };
}

/// A configuration for tests: a free port, a small body limit, and a notifier and
/// scheduler that poll often. Retries are far enough apart that tests move the
/// sandbox clock instead of waiting for them.
pub fn test_config(db: &TestDatabase) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        database_url: db.url.clone(),
        mode: Mode::Sandbox,
        max_body_bytes: 4 * 1024,
        provision: None,
        notifier: NotifierConfig {
            timeout_seconds: 1,
            first_retry_seconds: 30,
            give_up_after_seconds: 3600,
            max_attempts: 30,
            concurrency: 8,
            poll_millis: 50,
            allow_internal_destinations: None,
        },
        scheduler: SchedulerConfig {
            poll_millis: 50,
            ..SchedulerConfig::default()
        },
        ..Config::default()
    }
}

/// Polls `probe` until it yields a value; panics naming `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------------
// JSON over HTTP

/// An HTTP answer, read whole.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub text: String,
}

impl Reply {
    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| {
            panic!(
                "expected JSON ({e}); got status {} {:?}: {}",
                self.status, self.content_type, self.text
            )
        })
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self.json()
    }

    /// Asserts the status and that the body is gerbang's JSON error envelope;
    /// returns its message.
    #[track_caller]
    pub fn expect_error(&self, status: u16) -> String {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        assert!(
            self.content_type.starts_with("application/json"),
            "error answered as {:?}, not JSON: {}",
            self.content_type,
            self.text
        );
        let body = self.json();
        let message = body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no \"error\" string in {body}"));
        assert!(!message.is_empty(), "empty error message");
        message.to_string()
    }
}

/// A client of one gateway's HTTP APIs.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(base: impl Into<String>) -> Api {
        Api {
            base: base.into(),
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("HTTP client"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Reads a whole answer; `Err` when its body is cut off.
    pub async fn try_read(response: reqwest::Response) -> Result<Reply, reqwest::Error> {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let text = response.text().await?;
        Ok(Reply {
            status,
            content_type,
            text,
        })
    }

    /// Reads a whole answer; panics when its body is cut off.
    async fn read(response: reqwest::Response) -> Reply {
        Self::try_read(response).await.expect("answer body")
    }

    pub async fn get(&self, path: &str) -> Reply {
        let response = self
            .http
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        Self::read(response).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.post_raw(path, "application/json", body.to_string().into_bytes())
            .await
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        let response = self
            .http
            .post(self.url(path))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        Self::read(response).await
    }

    pub async fn request(&self, method: reqwest::Method, path: &str) -> Reply {
        let response = self
            .http
            .request(method.clone(), self.url(path))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body("{}")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        Self::read(response).await
    }

    // Sandbox conveniences --------------------------------------------------------

    pub async fn topup(&self, virtual_account: &str, amount: &str, reference: &str) -> Reply {
        self.post_json(
            "/sandbox/topup",
            &json!({
                "virtual_account": virtual_account,
                "amount": amount,
                "reference": reference,
            }),
        )
        .await
    }

    /// `/sandbox/partners/{va}/balance` as JSON.
    pub async fn balance(&self, virtual_account: &str) -> Value {
        self.get(&format!("/sandbox/partners/{virtual_account}/balance"))
            .await
            .expect(200)
    }

    pub async fn advance_clock(&self, seconds: i64) -> Value {
        self.post_json("/sandbox/clock/advance", &json!({ "seconds": seconds }))
            .await
            .expect(200)
    }

    /// Queues a test notification; returns its id.
    pub async fn test_notification(&self, url: &str, body: &Value) -> i64 {
        let answer = self
            .post_json(
                "/sandbox/notifications/test",
                &json!({ "url": url, "body": body }),
            )
            .await
            .expect(202);
        assert_eq!(answer["status"], "pending", "{answer}");
        answer["id"].as_i64().expect("notification id")
    }

    pub async fn notification(&self, id: i64) -> Value {
        self.get(&format!("/sandbox/notifications/{id}"))
            .await
            .expect(200)
    }

    /// Waits until the notification satisfies `done`, returning it.
    pub async fn wait_notification(
        &self,
        id: i64,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let done = &done;
        eventually(what, Duration::from_secs(10), || async move {
            let n = self.notification(id).await;
            done(&n).then_some(n)
        })
        .await
    }

    pub async fn ledger_check(&self) -> Value {
        self.get("/sandbox/ledger/check").await.expect(200)
    }

    pub async fn wait_ready(&self) {
        eventually(
            "the gateway to be ready",
            Duration::from_secs(20),
            || async {
                let response = self.http.get(self.url("/readyz")).send().await.ok()?;
                (response.status() == reqwest::StatusCode::OK).then_some(())
            },
        )
        .await
    }
}

// ---------------------------------------------------------------------------------
// An in-process gateway

/// A gateway served in this process on a free port, with its workers running.
pub struct Gateway {
    server: Option<RunningServer>,
    pub api: Api,
}

impl Gateway {
    /// Opens the database, creates the demo principals (as `gerbang serve` does on
    /// a first sandbox start) and serves.
    pub async fn start(config: Config) -> Gateway {
        let app = App::open(config).await.expect("gateway opens");
        if app.is_sandbox() {
            gerbang_app::demo::ensure(&app.store, app.now())
                .await
                .expect("demo principals");
        }
        Self::serve(app).await
    }

    /// Serves an opened app as it is.
    pub async fn serve(app: Arc<App>) -> Gateway {
        let server = gerbang_server::start(app, "127.0.0.1:0")
            .await
            .expect("server starts");
        let api = Api::new(server.url());
        Gateway {
            server: Some(server),
            api,
        }
    }

    pub fn app(&self) -> &Arc<App> {
        &self.server.as_ref().expect("running").app
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.as_ref().expect("running").addr
    }

    /// Stops gracefully: in-flight requests and worker rounds finish.
    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
    }
}

impl std::ops::Deref for Gateway {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

// ---------------------------------------------------------------------------------
// A recording HTTP receiver

/// What the receiver does with the next requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Answers with this status and a short JSON body.
    Answer(u16),
    /// Answers with this status after this many milliseconds.
    AnswerAfter(u16, u64),
    /// Answers with this status and this body (its content type guessed from its
    /// first byte).
    Body(u16, &'static str),
    /// Never answers (the connection stays open until the client gives up).
    Hang,
}

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("receiver got non-JSON ({e}): {}", self.body))
    }
}

struct ReceiverState {
    behaviour: Mutex<Behaviour>,
    received: Mutex<Vec<Received>>,
    arrived: Notify,
}

/// A real HTTP server that records every request and answers as told.
pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<ReceiverState>,
    task: JoinHandle<()>,
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let behaviour = *state.behaviour.lock().unwrap();
    state.received.lock().unwrap().push(Received {
        method: method.to_string(),
        path: uri.path().to_string(),
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
    });
    state.arrived.notify_waiters();
    match behaviour {
        Behaviour::Answer(status) | Behaviour::AnswerAfter(status, _) => {
            if let Behaviour::AnswerAfter(_, millis) = behaviour {
                tokio::time::sleep(Duration::from_millis(millis)).await;
            }
            let status = StatusCode::from_u16(status).expect("valid status");
            (
                status,
                [("content-type", "application/json")],
                format!("{{\"received\":true,\"status\":{}}}", status.as_u16()),
            )
                .into_response()
        }
        Behaviour::Body(status, body) => {
            let status = StatusCode::from_u16(status).expect("valid status");
            let kind = if body.starts_with('<') {
                "text/xml"
            } else {
                "application/json"
            };
            (status, [("content-type", kind)], body.to_string()).into_response()
        }
        Behaviour::Hang => std::future::pending().await,
    }
}

impl Receiver {
    pub async fn start(behaviour: Behaviour) -> Receiver {
        Self::start_on("127.0.0.1:0", behaviour).await
    }

    /// Binds `listen` (to come back on the same port after a restart).
    pub async fn start_on(listen: &str, behaviour: Behaviour) -> Receiver {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .expect("receiver binds");
        let addr = listener.local_addr().expect("receiver address");
        let state = Arc::new(ReceiverState {
            behaviour: Mutex::new(behaviour),
            received: Mutex::new(Vec::new()),
            arrived: Notify::new(),
        });
        let router = axum::Router::new()
            .fallback(receive)
            .with_state(state.clone())
            // Notices of a bulk run to megabytes.
            .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Receiver { addr, state, task }
    }

    /// The URL notifications should be sent to.
    pub fn url(&self) -> String {
        format!("http://{}/notify", self.addr)
    }

    pub fn set(&self, behaviour: Behaviour) {
        *self.state.behaviour.lock().unwrap() = behaviour;
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Waits until at least `count` requests arrived; returns them all.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.state.arrived.notified();
            let got = self.received();
            if got.len() >= count {
                return got;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!(
                    "receiver got {} request(s) within {timeout:?}, expected {count}",
                    self.received().len()
                );
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ---------------------------------------------------------------------------------
// Raw HTTP, for what a client library will not send

/// Sends `request` as is over a new connection and reads the answer until the
/// server closes it. Returns the status and the whole answer text.
pub async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    stream.write_all(request).await.expect("request written");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("answer within 10 s")
        .expect("answer read");
    let text = String::from_utf8_lossy(&answer).into_owned();
    (status_of(&text), text)
}

/// The status code of a raw HTTP/1.1 answer.
pub fn status_of(answer: &str) -> u16 {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"))
}

/// The body of a raw HTTP/1.1 answer that was not chunked.
pub fn body_of(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("")
}

/// Rupiah with two decimals from minor units.
pub fn rupiah(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// Minor units from a rupiah string with exactly two decimals.
#[track_caller]
pub fn minor(rupiah: &str) -> i64 {
    let (whole, cents) = rupiah
        .split_once('.')
        .unwrap_or_else(|| panic!("{rupiah:?} has no decimals"));
    assert_eq!(cents.len(), 2, "{rupiah:?} does not have two decimals");
    whole.parse::<i64>().expect("rupiah") * 100 + cents.parse::<i64>().expect("cents")
}

/// Checks the sandbox's ledger check is clean with nothing held.
pub async fn assert_ledger_clean(api: &Api) {
    assert_ledger(api, 0).await;
}

/// Checks the sandbox's ledger check is clean with `holds` holds still pending.
pub async fn assert_ledger(api: &Api, holds: u64) {
    let check = api.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");
    assert_eq!(check["holds_pending"], holds, "{check}");
}
