//! Cash-out network simulators: a store cashier (Alfamart, Indomaret) or an ATM
//! (Permata) calling the gateway's host-to-host API over real HTTP, with the
//! network's habits — how long it waits for an answer, how it reverses a payment
//! whose answer never came. Documented in docs/cashout-networks.md ("Simulators").
//!
//! The same simulator runs from the command line (`gerbang sim …`, real time) and
//! inside the sandbox (timed by the sandbox clock): only its [`Pace`] differs.

use gerbang_protocol::h2h::{self, KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use rand::Rng;
use serde_json::{json, Value};
use std::time::Duration;

/// How a simulator waits: real time for the CLI, the gateway's sandbox clock inside the gateway.
#[async_trait::async_trait]
pub trait Pace: Send + Sync {
    async fn sleep(&self, seconds: u64);
}

/// Waits on the wall clock.
pub struct RealTime;

#[async_trait::async_trait]
impl Pace for RealTime {
    async fn sleep(&self, seconds: u64) {
        tokio::time::sleep(Duration::from_secs(seconds)).await;
    }
}

/// A network's habits.
#[derive(Clone, Debug)]
pub struct Habits {
    /// "alfamart" | "indomaret" | "permata": the H2H path segment.
    pub slug: &'static str,
    /// How long to wait for an answer, drawn uniformly in `[min, max]` per payment.
    pub answer_timeout_seconds: (u64, u64),
    /// Reversals sent at most for one payment whose answer never came.
    pub reversal_attempts: u32,
    /// Seconds between two reversals.
    pub reversal_interval_seconds: u64,
}

impl Habits {
    /// The habits of the network named `slug` (a store chain, Permata, or a bank
    /// taking virtual-account payments).
    pub fn of(slug: &str) -> Option<Habits> {
        let network = gerbang_core::counter::CounterNetwork::by_slug(slug)?;
        let answer_timeout_seconds = match network.slug() {
            "alfamart" => (45, 60),
            _ => (30, 30),
        };
        let slug = network.slug();
        Some(Habits {
            slug,
            answer_timeout_seconds,
            reversal_attempts: 3,
            reversal_interval_seconds: 60,
        })
    }

    /// The prefix of this network's references.
    pub fn reference_prefix(&self) -> String {
        match self.slug {
            "alfamart" => "ALF".into(),
            "indomaret" => "IDM".into(),
            "permata" => "PMT".into(),
            bank => bank.to_ascii_uppercase(),
        }
    }

    /// A terminal name for a simulator that was given none.
    pub fn default_terminal(&self) -> String {
        match self.slug {
            "alfamart" => "ALFA-SIM-01".into(),
            "indomaret" => "IDM-SIM-01".into(),
            "permata" => "PMT-ATM-SIM-01".into(),
            bank => format!("{}-TELLER-SIM-01", bank.to_ascii_uppercase()),
        }
    }

    /// One payment's answer timeout, drawn from the habit.
    pub fn draw_timeout(&self) -> u64 {
        let (min, max) = self.answer_timeout_seconds;
        if max <= min {
            min
        } else {
            rand::thread_rng().gen_range(min..=max)
        }
    }
}

#[derive(Clone, Debug)]
pub struct Cashier {
    /// The gateway, e.g. `http://127.0.0.1:8080`.
    pub base_url: String,
    /// Sent as `X-Gerbang-Key`.
    pub key: String,
    pub secret: String,
    pub habits: Habits,
    /// e.g. "ALFA-SIM-01".
    pub terminal: String,
}

/// One call and what came back.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CallRecord {
    /// "inquiry", "payment", "reversal" or "advice".
    pub operation: String,
    pub request: Value,
    pub http_status: Option<u16>,
    pub answer: Option<Value>,
    /// Why there is no usable answer ("no answer within 45 s", "connection dropped", …),
    /// or which attempt this was.
    pub note: Option<String>,
}

impl CallRecord {
    /// The answer's `response_code`, when an answer came.
    pub fn response_code(&self) -> Option<&str> {
        self.answer.as_ref()?.get("response_code")?.as_str()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The payment was approved (the cash handed out, or a bill's cash taken)
    /// and an advice sent.
    Paid,
    /// The gateway refused the inquiry or the payment.
    Refused,
    /// The payment's answer never came and a reversal was approved.
    Reversed,
    /// The payment's answer never came and the reversal was refused.
    ReversalRefused,
    /// The payment's answer never came, nor did any reversal's.
    ReversalUnanswered,
    /// The inquiry got no answer: nothing was claimed.
    NoAnswer,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Session {
    pub calls: Vec<CallRecord>,
    pub outcome: Outcome,
}

/// Advices sent at most for one payment while unanswered.
const ADVICE_ATTEMPTS: u32 = 3;
/// A real-time cap on any one call, whatever the pace: nothing hangs forever.
const REAL_TIME_CAP: Duration = Duration::from_secs(600);

/// What one exchange gave.
#[derive(Clone)]
enum Reply {
    /// A JSON answer with a `response_code`.
    Answered { status: u16, answer: Value },
    /// Something came back but nothing usable (a dropped connection, not JSON).
    Broken { status: u16, note: String },
    /// Nothing came back.
    Nothing { note: String },
}

impl Reply {
    fn code(&self) -> Option<&str> {
        match self {
            Reply::Answered { answer, .. } => answer["response_code"].as_str(),
            _ => None,
        }
    }

    /// Whether the gateway gave a business answer (anything but a malfunction).
    fn answered(&self) -> bool {
        self.code()
            .is_some_and(|c| c != h2h::codes::SYSTEM_MALFUNCTION)
    }

    fn record(self, operation: &str, request: Value, note: Option<String>) -> CallRecord {
        let (http_status, answer, why) = match self {
            Reply::Answered { status, answer } => (Some(status), Some(answer), None),
            Reply::Broken { status, note } => (Some(status), None, Some(note)),
            Reply::Nothing { note } => (None, None, Some(note)),
        };
        let note = match (why, note) {
            (Some(why), Some(note)) => Some(format!("{why} ({note})")),
            (why, note) => why.or(note),
        };
        CallRecord {
            operation: operation.into(),
            request,
            http_status,
            answer,
            note,
        }
    }
}

/// A reference no other payment of this network uses: prefix, Unix milliseconds,
/// four random digits.
fn new_reference(prefix: &str) -> String {
    let millis = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    let digits: u32 = rand::thread_rng().gen_range(0..10_000);
    format!("{prefix}{millis}{digits:04}")
}

/// Now as RFC 3339 in Jakarta time, as a store's point of sale stamps it.
fn timestamp() -> String {
    time::OffsetDateTime::now_utc()
        .to_offset(gerbang_core::timestamp::JAKARTA)
        .replace_nanosecond(0)
        .expect("zero nanoseconds")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("RFC 3339 formats")
}

impl Cashier {
    /// Inquiry, payment (amount = `amount_rupiah` or else the inquiry's), then advice; on a payment answer that
    /// does not come within the timeout (or a dropped connection / unreadable answer) a reversal of that payment
    /// reference, repeated up to reversal_attempts times reversal_interval_seconds apart while unanswered.
    /// `on_call` sees each call as it completes (the CLI prints it; the sandbox stores it).
    pub async fn pay(
        &self,
        code: &str,
        phone: &str,
        amount_rupiah: Option<i64>,
        pace: &dyn Pace,
        answer_timeout_override: Option<u64>,
        on_call: &(dyn Fn(&CallRecord) + Send + Sync),
    ) -> Session {
        let timeout = answer_timeout_override.unwrap_or_else(|| self.habits.draw_timeout());
        let http = match reqwest::Client::builder().timeout(REAL_TIME_CAP).build() {
            Ok(http) => http,
            Err(e) => {
                let record = CallRecord {
                    operation: "inquiry".into(),
                    request: Value::Null,
                    http_status: None,
                    answer: None,
                    note: Some(format!("no HTTP client: {e}")),
                };
                on_call(&record);
                return Session {
                    calls: vec![record],
                    outcome: Outcome::NoAnswer,
                };
            }
        };
        let mut run = Run {
            cashier: self,
            http,
            pace,
            timeout,
            on_call,
            calls: Vec::new(),
        };
        let outcome = run.pay(code, phone, amount_rupiah).await;
        Session {
            calls: run.calls,
            outcome,
        }
    }

    /// The URL of an operation and the path it is signed with (the path as sent,
    /// with any prefix of `base_url`).
    fn endpoint(&self, operation: &str) -> (String, String) {
        let base = self.base_url.trim_end_matches('/');
        let suffix = format!("/h2h/v1/{}/{operation}", self.habits.slug);
        let prefix = reqwest::Url::parse(base)
            .map(|u| u.path().trim_end_matches('/').to_string())
            .unwrap_or_default();
        (format!("{base}{suffix}"), format!("{prefix}{suffix}"))
    }
}

/// One payment under way.
struct Run<'a> {
    cashier: &'a Cashier,
    http: reqwest::Client,
    pace: &'a dyn Pace,
    timeout: u64,
    on_call: &'a (dyn Fn(&CallRecord) + Send + Sync),
    calls: Vec<CallRecord>,
}

impl Run<'_> {
    async fn pay(&mut self, code: &str, phone: &str, amount_rupiah: Option<i64>) -> Outcome {
        let prefix = self.cashier.habits.reference_prefix();
        let reference = new_reference(&prefix);

        let inquiry = self
            .call(
                "inquiry",
                json!({ "reference": format!("{reference}-INQ"), "code": code, "phone": phone }),
                None,
            )
            .await;
        let inquired_amount = match &inquiry {
            Reply::Answered { answer, .. } if inquiry.code() == Some(h2h::codes::APPROVED) => {
                answer["amount"].as_i64()
            }
            reply if reply.answered() => return Outcome::Refused,
            _ => return Outcome::NoAnswer,
        };
        let Some(amount) = amount_rupiah.or(inquired_amount) else {
            // An approval without an amount: nothing to claim.
            return Outcome::NoAnswer;
        };

        let payment = self
            .call(
                "payment",
                json!({
                    "reference": reference,
                    "code": code,
                    "phone": phone,
                    "amount": amount,
                    "terminal": self.cashier.terminal,
                }),
                None,
            )
            .await;
        match payment.code() {
            Some(h2h::codes::APPROVED) => {
                self.advise(&reference).await;
                Outcome::Paid
            }
            // A malfunction leaves the payment's fate unknown: undo it to be sure.
            Some(h2h::codes::SYSTEM_MALFUNCTION) | None => self.reverse(&reference).await,
            Some(_) => Outcome::Refused,
        }
    }

    /// Settles an approved payment, again while unanswered.
    async fn advise(&mut self, reference: &str) {
        for attempt in 1..=ADVICE_ATTEMPTS {
            if attempt > 1 {
                self.pace
                    .sleep(self.cashier.habits.reversal_interval_seconds)
                    .await;
            }
            let note = (attempt > 1).then(|| format!("attempt {attempt} of {ADVICE_ATTEMPTS}"));
            let reply = self
                .call("advice", json!({ "reference": reference }), note)
                .await;
            if reply.answered() {
                return;
            }
        }
    }

    /// Undoes a payment whose answer never came.
    async fn reverse(&mut self, reference: &str) -> Outcome {
        let attempts = self.cashier.habits.reversal_attempts.max(1);
        let mut last = None;
        for attempt in 1..=attempts {
            if attempt > 1 {
                self.pace
                    .sleep(self.cashier.habits.reversal_interval_seconds)
                    .await;
            }
            let note = (attempt > 1).then(|| format!("attempt {attempt} of {attempts}"));
            let reply = self
                .call("reversal", json!({ "reference": reference }), note)
                .await;
            match reply.code() {
                Some(h2h::codes::APPROVED) => return Outcome::Reversed,
                // A malfunction says "try again with the same reference".
                Some(h2h::codes::SYSTEM_MALFUNCTION) => last = Some(Outcome::ReversalRefused),
                Some(_) => return Outcome::ReversalRefused,
                None => last = Some(Outcome::ReversalUnanswered),
            }
        }
        last.unwrap_or(Outcome::ReversalUnanswered)
    }

    /// Sends one signed call, waiting at most the answer timeout; records it.
    async fn call(&mut self, operation: &str, request: Value, note: Option<String>) -> Reply {
        let timeout = self.timeout;
        let exchange = self.exchange(operation, &request);
        let reply = tokio::select! {
            biased;
            reply = exchange => reply,
            () = self.pace.sleep(timeout) => Reply::Nothing {
                note: format!("no answer within {timeout} s"),
            },
        };
        let record = reply.clone().record(operation, request, note);
        (self.on_call)(&record);
        self.calls.push(record);
        reply
    }

    async fn exchange(&self, operation: &str, request: &Value) -> Reply {
        let (url, path) = self.cashier.endpoint(operation);
        let body = serde_json::to_vec(request).expect("JSON serialises");
        let at = timestamp();
        let signature = h2h::sign(&self.cashier.secret, "POST", &path, &at, &body);
        let sent = self
            .http
            .post(&url)
            .header("content-type", "application/json")
            .header(KEY_HEADER, &self.cashier.key)
            .header(TIMESTAMP_HEADER, &at)
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) if e.is_timeout() => {
                return Reply::Nothing {
                    note: format!("no answer within {} s", REAL_TIME_CAP.as_secs()),
                }
            }
            Err(e) if e.is_connect() => {
                return Reply::Nothing {
                    note: format!(
                        "could not connect: {}",
                        gerbang_core::error_text::error_chain(&e)
                    ),
                }
            }
            // The request may have arrived: the answer is what went missing.
            Err(e) => {
                return Reply::Nothing {
                    note: format!(
                        "connection dropped: {}",
                        gerbang_core::error_text::error_chain(&e)
                    ),
                }
            }
        };
        let status = response.status().as_u16();
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => {
                return Reply::Broken {
                    status,
                    note: format!(
                        "connection dropped: {}",
                        gerbang_core::error_text::error_chain(&e)
                    ),
                }
            }
        };
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(answer) if answer["response_code"].is_string() => Reply::Answered { status, answer },
            _ => Reply::Broken {
                status,
                note: format!(
                    "unreadable answer: {}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// How the fake gateway treats one request.
    #[derive(Clone, Debug)]
    enum Act {
        /// HTTP 200 with this response code.
        Answer(&'static str),
        /// Headers sent, then the connection closed before the promised body.
        Drop,
        /// Never answers (until the client gives up).
        Hang,
    }

    /// Seen by the fake gateway: (path, body, whether the signature was right).
    type Seen = Arc<Mutex<Vec<(String, Value, bool)>>>;

    const SECRET: &str = "sandbox-alfamart-secret";

    /// A gateway on a free port acting out `script` one request after another
    /// (answering `00` once the script is spent).
    async fn fake_gateway(script: Vec<Act>) -> (String, Seen) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen: Seen = Arc::default();
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let log = seen.clone();
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let (script, log) = (script.clone(), log.clone());
                tokio::spawn(async move {
                    let mut raw = Vec::new();
                    let mut buf = [0u8; 4096];
                    let (head, body) = loop {
                        let n = socket.read(&mut buf).await.unwrap();
                        if n == 0 {
                            return;
                        }
                        raw.extend_from_slice(&buf[..n]);
                        let text = String::from_utf8_lossy(&raw).to_string();
                        if let Some(end) = text.find("\r\n\r\n") {
                            let head = text[..end].to_string();
                            let length: usize = head
                                .lines()
                                .find_map(|l| {
                                    let (n, v) = l.split_once(':')?;
                                    n.eq_ignore_ascii_case("content-length")
                                        .then(|| v.trim().parse().ok())?
                                })
                                .unwrap_or(0);
                            if raw.len() >= end + 4 + length {
                                break (head, raw[end + 4..end + 4 + length].to_vec());
                            }
                        }
                    };
                    let path = head.split(' ').nth(1).unwrap().to_string();
                    let header = |name: &str| {
                        head.lines()
                            .find_map(|l| {
                                let (n, v) = l.split_once(':')?;
                                n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                            })
                            .unwrap_or_default()
                    };
                    let signed = header(KEY_HEADER) == "alfamart"
                        && h2h::verify(
                            SECRET,
                            "POST",
                            &path,
                            &header(TIMESTAMP_HEADER),
                            &body,
                            &header(SIGNATURE_HEADER),
                        );
                    let request: Value = serde_json::from_slice(&body).unwrap();
                    log.lock().unwrap().push((path, request, signed));
                    let act = script
                        .lock()
                        .unwrap()
                        .pop_front()
                        .unwrap_or(Act::Answer("00"));
                    match act {
                        Act::Answer(code) => {
                            let answer =
                                json!({ "response_code": code, "amount": 100000 }).to_string();
                            let _ = socket
                                .write_all(
                                    format!(
                                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                                         connection: close\r\ncontent-length: {}\r\n\r\n{answer}",
                                        answer.len()
                                    )
                                    .as_bytes(),
                                )
                                .await;
                        }
                        Act::Drop => {
                            let _ = socket
                                .write_all(
                                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                                      connection: close\r\ncontent-length: 50\r\n\r\n{\"resp",
                                )
                                .await;
                        }
                        Act::Hang => {
                            // Until the client gives up and closes.
                            let _ = socket.read(&mut buf).await;
                        }
                    }
                });
            }
        });
        (url, seen)
    }

    /// A pace that does not wait, counting what it was asked to wait.
    #[derive(Default)]
    struct Instant {
        asked: Mutex<Vec<u64>>,
    }

    #[async_trait::async_trait]
    impl Pace for Instant {
        async fn sleep(&self, seconds: u64) {
            self.asked.lock().unwrap().push(seconds);
            if seconds > 0 {
                // Long enough for a real answer on the loopback to win the race.
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    }

    fn cashier(url: &str) -> Cashier {
        Cashier {
            base_url: url.into(),
            key: "alfamart".into(),
            secret: SECRET.into(),
            habits: Habits::of("alfamart").unwrap(),
            terminal: "ALFA-SIM-01".into(),
        }
    }

    async fn pay(script: Vec<Act>) -> (Session, Vec<(String, Value, bool)>, Vec<CallRecord>) {
        let (url, seen) = fake_gateway(script).await;
        let printed = Arc::new(Mutex::new(Vec::new()));
        let sink = printed.clone();
        let on_call = move |c: &CallRecord| sink.lock().unwrap().push(c.clone());
        let session = cashier(&url)
            .pay(
                "4820193375",
                "081234567890",
                None,
                &Instant::default(),
                Some(5),
                &on_call,
            )
            .await;
        let seen = seen.lock().unwrap().clone();
        let printed = printed.lock().unwrap().clone();
        (session, seen, printed)
    }

    #[test]
    fn habits_of_each_network() {
        let alfamart = Habits::of("alfamart").unwrap();
        assert_eq!(alfamart.answer_timeout_seconds, (45, 60));
        for _ in 0..50 {
            assert!((45..=60).contains(&alfamart.draw_timeout()));
        }
        assert_eq!(Habits::of("indomaret").unwrap().draw_timeout(), 30);
        let permata = Habits::of("permata").unwrap();
        assert_eq!(permata.draw_timeout(), 30);
        assert_eq!(permata.reversal_attempts, 3);
        assert_eq!(permata.reversal_interval_seconds, 60);
        let bca = Habits::of("bca").unwrap();
        assert_eq!(bca.draw_timeout(), 30);
        assert_eq!(bca.reference_prefix(), "BCA");
        assert_eq!(bca.default_terminal(), "BCA-TELLER-SIM-01");
        assert!(Habits::of("gopay").is_none());
    }

    #[test]
    fn references_are_unique_and_short() {
        let a = new_reference("ALF");
        let b = new_reference("ALF");
        assert_ne!(a, b);
        assert!(a.starts_with("ALF") && a.len() <= 64, "{a}");
        let at = timestamp();
        assert!(
            time::OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339)
                .is_ok(),
            "{at}"
        );
    }

    #[test]
    fn signed_path_keeps_a_base_prefix() {
        let mut c = cashier("http://gw.example/gerbang/");
        c.habits = Habits::of("permata").unwrap();
        assert_eq!(
            c.endpoint("payment"),
            (
                "http://gw.example/gerbang/h2h/v1/permata/payment".to_string(),
                "/gerbang/h2h/v1/permata/payment".to_string()
            )
        );
    }

    #[test]
    fn a_session_future_can_be_spawned() {
        fn is_send<T: Send>(_: &T) {}
        let c = cashier("http://127.0.0.1:9");
        let on_call = |_: &CallRecord| {};
        let future = c.pay("1", "2", None, &RealTime, None, &on_call);
        is_send(&future);
    }

    #[tokio::test]
    async fn approved_payment_is_advised() {
        let (session, seen, printed) = pay(vec![]).await;
        assert_eq!(session.outcome, Outcome::Paid);
        let ops: Vec<&str> = seen.iter().map(|(p, _, _)| p.as_str()).collect();
        assert_eq!(
            ops,
            [
                "/h2h/v1/alfamart/inquiry",
                "/h2h/v1/alfamart/payment",
                "/h2h/v1/alfamart/advice"
            ]
        );
        assert!(seen.iter().all(|(_, _, signed)| *signed), "{seen:?}");
        let reference = seen[1].1["reference"].as_str().unwrap();
        assert_eq!(seen[0].1["reference"], format!("{reference}-INQ"));
        assert_eq!(seen[1].1["amount"], 100000, "the inquiry's amount");
        assert_eq!(seen[1].1["terminal"], "ALFA-SIM-01");
        assert_eq!(seen[2].1, json!({ "reference": reference }));
        assert_eq!(printed.len(), 3);
        assert_eq!(session.calls.len(), 3);
        assert_eq!(session.calls[1].response_code(), Some("00"));
    }

    #[tokio::test]
    async fn refusals_end_the_session_without_reversal() {
        let (session, seen, _) = pay(vec![Act::Answer("14")]).await;
        assert_eq!(session.outcome, Outcome::Refused);
        assert_eq!(seen.len(), 1);
        let (session, seen, _) = pay(vec![Act::Answer("00"), Act::Answer("88")]).await;
        assert_eq!(session.outcome, Outcome::Refused);
        assert_eq!(seen.len(), 2);
    }

    #[tokio::test]
    async fn unanswered_inquiry_claims_nothing() {
        let (session, seen, _) = pay(vec![Act::Hang]).await;
        assert_eq!(session.outcome, Outcome::NoAnswer);
        assert_eq!(seen.len(), 1);
        assert_eq!(
            session.calls[0].note.as_deref(),
            Some("no answer within 5 s")
        );
    }

    #[tokio::test]
    async fn dropped_payment_answer_is_reversed() {
        let (session, seen, _) = pay(vec![Act::Answer("00"), Act::Drop]).await;
        assert_eq!(session.outcome, Outcome::Reversed);
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[2].0, "/h2h/v1/alfamart/reversal");
        assert_eq!(seen[2].1["reference"], seen[1].1["reference"]);
        let note = session.calls[1].note.as_deref().unwrap();
        assert!(note.starts_with("connection dropped"), "{note}");
        assert_eq!(session.calls[1].http_status, Some(200));
    }

    #[tokio::test]
    async fn reversal_is_repeated_while_unanswered() {
        let (session, seen, _) = pay(vec![
            Act::Answer("00"),
            Act::Hang,
            Act::Hang,
            Act::Drop,
            Act::Answer("00"),
        ])
        .await;
        assert_eq!(session.outcome, Outcome::Reversed);
        let ops: Vec<&str> = seen.iter().map(|(p, _, _)| &p[16..]).collect();
        assert_eq!(
            ops,
            [
                "/inquiry",
                "/payment",
                "/reversal",
                "/reversal",
                "/reversal"
            ]
        );
        assert_eq!(session.calls[4].note.as_deref(), Some("attempt 3 of 3"));

        let (session, seen, _) = pay(vec![Act::Answer("00"), Act::Hang, Act::Answer("12")]).await;
        assert_eq!(session.outcome, Outcome::ReversalRefused);
        assert_eq!(seen.len(), 3);

        let (session, seen, _) = pay(vec![
            Act::Answer("00"),
            Act::Hang,
            Act::Hang,
            Act::Hang,
            Act::Hang,
        ])
        .await;
        assert_eq!(session.outcome, Outcome::ReversalUnanswered);
        assert_eq!(seen.len(), 5, "three reversals, no more");
    }

    #[tokio::test]
    async fn advice_is_repeated_while_unanswered() {
        let (session, seen, _) = pay(vec![
            Act::Answer("00"),
            Act::Answer("00"),
            Act::Drop,
            Act::Answer("00"),
        ])
        .await;
        assert_eq!(session.outcome, Outcome::Paid);
        assert_eq!(seen.len(), 4);
        assert_eq!(seen[3].1, seen[2].1, "the same reference");
    }
}
