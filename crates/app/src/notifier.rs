//! Delivers the outbox: signed HTTP POSTs with a timeout, retried with exponential
//! backoff until the receiver acknowledges as its protocol defines, the
//! notification is too old, or the attempt cap is reached. Every attempt is
//! recorded. Notifications are leased while in flight, so several workers (or
//! processes on one PostgreSQL database) never send one twice at once; a lease
//! left by a crashed process runs out and the notification is sent again
//! (at-least-once). Each notification is sent, signed and acknowledged as the
//! face it belongs to says ([`crate::faces::Delivery`]).

use crate::config::NotifierConfig;
use crate::faces::Delivery;
use gerbang_core::{Clock, Timestamp};
use gerbang_store::{Attempt, AttemptVerdict, Notification, SharedStore};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

/// Longest excerpt of a receiver's answer kept per attempt.
pub const EXCERPT_CHARS: usize = 512;
/// Most bytes of a receiver's answer read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// What follows attempt `attempt_no` (1-based) that failed at `now`, for a
/// notification whose protocol makes at most `face_cap` attempts (if it says).
pub fn after_failure(
    config: &NotifierConfig,
    face_cap: Option<i32>,
    created_at: Timestamp,
    attempt_no: i32,
    now: Timestamp,
) -> AttemptVerdict {
    let cap = face_cap.map_or(config.max_attempts, |c| c.min(config.max_attempts));
    if attempt_no >= cap {
        return AttemptVerdict::GiveUp;
    }
    let exponent = (attempt_no - 1).clamp(0, 30) as u32;
    let delay = config
        .first_retry_seconds
        .max(1)
        .saturating_mul(1u64 << exponent);
    let next = now.plus_seconds(delay.min(i64::MAX as u64 / 2_000_000) as i64);
    let deadline = created_at.plus_seconds(config.give_up_after_seconds as i64);
    if next > deadline {
        AttemptVerdict::GiveUp
    } else {
        AttemptVerdict::RetryAt(next)
    }
}

pub struct Notifier {
    store: SharedStore,
    clock: Arc<dyn Clock>,
    config: NotifierConfig,
    http: reqwest::Client,
    wake: Arc<Notify>,
    /// The key SNAP notices are signed with.
    signing_keys: crate::keys::StoredKeys,
}

/// The start of a receiver's answer as kept with its attempt. A NUL, which a
/// PostgreSQL text cannot hold, is kept as U+FFFD.
fn excerpt(text: &str) -> String {
    text.chars()
        .take(EXCERPT_CHARS)
        .map(|c| {
            if c == '\0' {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
}

/// Resolves receivers' host names, keeping only addresses outside the internal
/// ranges (a name that resolves only to such addresses is not delivered to).
struct ExternalOnly;

impl reqwest::dns::Resolve for ExternalOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let external: Vec<std::net::SocketAddr> = found
                .filter(|a| !gerbang_core::destination::is_internal(a.ip()))
                .collect();
            if external.is_empty() {
                return Err(format!(
                    "{} resolves only to internal addresses, which this gateway does not call",
                    name.as_str()
                )
                .into());
            }
            Ok(Box::new(external.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl Notifier {
    /// `config.allow_internal_destinations` is taken as given (unset: no).
    pub fn new(
        store: SharedStore,
        clock: Arc<dyn Clock>,
        config: NotifierConfig,
        wake: Arc<Notify>,
    ) -> Result<Self, String> {
        let mut http = reqwest::Client::builder();
        if !config.allow_internal_destinations.unwrap_or(false) {
            http = http.dns_resolver(Arc::new(ExternalOnly));
        }
        let http = http
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout())
            .connect_timeout(config.timeout())
            .user_agent(concat!("gerbang/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Notifier {
            store,
            clock,
            config,
            http,
            wake,
            signing_keys: crate::keys::StoredKeys::new(crate::keys::KeyUse::SnapSignatures),
        })
    }

    /// Delivers until cancelled; deliveries in flight finish first. Up to
    /// `concurrency` requests are in flight at any time: a delivery gives its slot
    /// back as soon as the receiver has answered, and more due notifications are
    /// claimed for the free slots while the answer is being recorded. Recording
    /// holds the lease, and a source's next notification is not claimable until its
    /// predecessor is recorded, so per-source order holds.
    pub async fn run(self, cancel: CancellationToken) {
        let poll = Duration::from_millis(self.config.poll_millis.max(10));
        let width = self.config.concurrency.max(1) as usize;
        let this = Arc::new(self);
        let slots = Arc::new(Semaphore::new(width));
        // Answers being recorded, bounded so a slow store holds the claims back.
        let recording = Arc::new(Semaphore::new(width * 4));
        let mut in_flight = tokio::task::JoinSet::new();
        loop {
            while in_flight.try_join_next().is_some() {}
            let first = tokio::select! {
                _ = cancel.cancelled() => break,
                permit = Arc::clone(&slots).acquire_owned() => permit,
            };
            let Ok(first) = first else { break };
            let Ok(first_record) = Arc::clone(&recording).acquire_owned().await else {
                break;
            };
            let room = (1 + slots.available_permits()).min(1 + recording.available_permits());
            let due = match this.claim(room).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(worker = "notifier", error = %e, "a worker round failed");
                    Vec::new()
                }
            };
            if due.is_empty() {
                drop((first, first_record));
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = this.wake.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                }
                continue;
            }
            let mut permits = Some((first, first_record));
            for n in due {
                let (slot, record) = match permits.take() {
                    Some(pair) => pair,
                    None => match (
                        Arc::clone(&slots).try_acquire_owned(),
                        Arc::clone(&recording).try_acquire_owned(),
                    ) {
                        (Ok(slot), Ok(record)) => (slot, record),
                        // Only this loop takes permits, and it claimed no more than were free.
                        _ => unreachable!("claimed more notifications than free slots"),
                    },
                };
                let this = Arc::clone(&this);
                in_flight.spawn(async move {
                    let (attempt, verdict) = this.attempt(&n).await;
                    drop(slot);
                    this.record(attempt, verdict).await;
                    drop(record);
                });
            }
        }
        while in_flight.join_next().await.is_some() {}
    }

    /// Claims up to `limit` due notifications, leased for one attempt.
    async fn claim(&self, limit: usize) -> Result<Vec<Notification>, String> {
        let now = self.clock.now();
        let lease = now.plus_seconds(self.config.timeout_seconds as i64 + 30);
        self.store
            .claim_notifications(now, lease, limit.min(u32::MAX as usize) as u32)
            .await
            .map_err(|e| e.to_string())
    }

    async fn record(&self, attempt: Attempt, verdict: AttemptVerdict) {
        let result = match verdict {
            AttemptVerdict::Delivered => "delivered",
            AttemptVerdict::RetryAt(_) => "retry",
            AttemptVerdict::GiveUp => "failed",
        };
        metrics::counter!("gerbang_notification_attempts_total", "result" => result).increment(1);
        let id = attempt.notification_id;
        if let Err(e) = self.store.record_attempt(attempt, verdict).await {
            tracing::error!(notification = id, error = %e, "could not record an attempt");
        }
    }

    /// Sends `n` once; what was seen, and what follows.
    async fn attempt(&self, n: &Notification) -> (Attempt, AttemptVerdict) {
        let attempt_no = n.attempts + 1;
        let at = self.clock.now();
        let started = Instant::now();
        if !self.config.allow_internal_destinations.unwrap_or(false)
            && crate::config::names_internal(&n.url)
        {
            // Never sent, and never will be: recorded once, not retried.
            let attempt = Attempt {
                notification_id: n.id,
                attempt_no,
                at,
                http_status: None,
                latency_ms: 0,
                excerpt: "not sent: the URL names an internal address".into(),
            };
            tracing::warn!(
                notification = n.id,
                "notification to an internal address refused"
            );
            return (attempt, AttemptVerdict::GiveUp);
        }
        let delivery = Delivery::of(&n.protocol);
        let key = if delivery.signed_by_gateway {
            match self.signing_keys.current(&self.store, at).await {
                Ok(key) => Some(key),
                Err(e) => {
                    // Not sent this time; the key is asked for again on the next attempt.
                    let attempt = Attempt {
                        notification_id: n.id,
                        attempt_no,
                        at,
                        http_status: None,
                        latency_ms: 0,
                        excerpt: excerpt(&format!("not sent: no signing key: {e}")),
                    };
                    return (
                        attempt,
                        after_failure(
                            &self.config,
                            delivery.max_attempts,
                            n.created_at,
                            attempt_no,
                            at,
                        ),
                    );
                }
            }
        } else {
            None
        };
        let sign = |message: &[u8]| {
            key.as_ref()
                .map_or_else(String::new, |k| k.sign_sha256(message))
        };
        let outgoing = gerbang_protocol::face::Outgoing {
            url: &n.url,
            body: &n.body,
            owner: &n.owner,
            now: at,
            sign: &sign,
        };
        let mut request = self
            .http
            .post(&n.url)
            .header("content-type", delivery.content_type(&n.body))
            .body(n.body.clone());
        for (name, value) in delivery.headers(&outgoing) {
            request = request.header(name, value);
        }
        let (http_status, text, acknowledged) = match request.send().await {
            Err(e) if e.is_timeout() => (None, "timed out".to_string(), false),
            Err(e) => (
                None,
                format!(
                    "not delivered: {}",
                    gerbang_core::error_text::error_chain(&e)
                ),
                false,
            ),
            Ok(response) => {
                let status = response.status().as_u16();
                let body = read_limited(response).await;
                let ack = delivery.acknowledged(status, &body);
                (Some(i32::from(status)), body, ack)
            }
        };
        let latency_ms = started.elapsed().as_millis() as i64;
        let verdict = if acknowledged {
            AttemptVerdict::Delivered
        } else {
            after_failure(
                &self.config,
                delivery.max_attempts,
                n.created_at,
                attempt_no,
                self.clock.now(),
            )
        };
        tracing::info!(
            notification = n.id,
            request_id = n.request_id.as_deref().unwrap_or(""),
            attempt = attempt_no,
            status = ?http_status,
            latency_ms,
            verdict = ?verdict,
            "notification attempt"
        );
        let attempt = Attempt {
            notification_id: n.id,
            attempt_no,
            at,
            http_status,
            latency_ms,
            excerpt: excerpt(&text),
        };
        (attempt, verdict)
    }
}

async fn read_limited(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_RESPONSE_BYTES - bytes.len();
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if bytes.len() >= MAX_RESPONSE_BYTES {
            break;
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_gives_up_after_a_day() {
        let c = NotifierConfig::default();
        let t0 = Timestamp::from_unix_seconds(1_000_000);
        assert_eq!(
            after_failure(&c, None, t0, 1, t0),
            AttemptVerdict::RetryAt(t0.plus_seconds(60))
        );
        assert_eq!(
            after_failure(&c, None, t0, 2, t0.plus_seconds(60)),
            AttemptVerdict::RetryAt(t0.plus_seconds(180))
        );
        assert_eq!(
            after_failure(&c, None, t0, 3, t0.plus_seconds(180)),
            AttemptVerdict::RetryAt(t0.plus_seconds(420))
        );
        // 60·2^10 s is past 24 h from creation.
        assert_eq!(
            after_failure(&c, None, t0, 11, t0.plus_seconds(30_000)),
            AttemptVerdict::GiveUp
        );
        let capped = NotifierConfig {
            max_attempts: 2,
            ..NotifierConfig::default()
        };
        assert_eq!(
            after_failure(&capped, None, t0, 2, t0),
            AttemptVerdict::GiveUp
        );
        // A protocol's own cap, below the notifier's.
        assert_eq!(
            after_failure(&c, Some(4), t0, 3, t0.plus_seconds(180)),
            AttemptVerdict::RetryAt(t0.plus_seconds(420))
        );
        assert_eq!(
            after_failure(&c, Some(4), t0, 4, t0.plus_seconds(420)),
            AttemptVerdict::GiveUp
        );
    }
}
