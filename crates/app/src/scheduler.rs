//! Durable timers: "run this step at that instant", surviving restarts. A handler
//! commits its effect and the removal of its timer in one step, so a timer fires
//! exactly once in effect even when it is claimed again after a crash.
//!
//! A handler's failure is typed: a retryable one (storage unavailable, a race
//! lost) tries again with backoff; a permanent one (the timer names nothing it can
//! act on, a ledger rule refuses its effect) is recorded as a `timer.failure`
//! record with the timer's kind, payload and error, counted in
//! `gerbang_timer_failures_total`, logged once, and the timer removed — in one step.

use crate::config::SchedulerConfig;
use crate::sandbox_clock::PersistedClock;
use async_trait::async_trait;
use futures::StreamExt;
use gerbang_core::ledger::{LedgerError, LedgerOp};
use gerbang_core::{Clock, Timestamp};
use gerbang_store::{
    Document, Expect, RecordWrite, SharedStore, Step, StepError, StoreError, Timer, TimerOp,
    HOLD_EXPIRY_TIMER,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Records of timers that failed for good: key = the timer's key.
pub const FAILURE_RECORD: &str = "timer.failure";

/// Why a timer's handler did not finish.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TimerError {
    /// Worth another try later (storage unavailable, a race lost, not yet due).
    #[error("{0}")]
    Retry(String),
    /// Will never succeed: recorded, counted and dropped.
    #[error("{0}")]
    Permanent(String),
}

impl From<StoreError> for TimerError {
    fn from(e: StoreError) -> Self {
        TimerError::Retry(e.to_string())
    }
}

/// A step that lost a race — its record moved, or its hold was ended by another
/// step first (the store applies ledger operations before record writes) — is
/// tried again: the handler then sees the new state. Anything else the ledger or
/// the idempotency keys refuse will be refused again.
impl From<StepError> for TimerError {
    fn from(e: StepError) -> Self {
        match e {
            StepError::Backend(_)
            | StepError::RecordConflict { .. }
            | StepError::Ledger(LedgerError::HoldNotPending { .. } | LedgerError::UnknownHold(_)) => {
                TimerError::Retry(e.to_string())
            }
            StepError::Ledger(_) | StepError::Duplicate(_) => TimerError::Permanent(e.to_string()),
        }
    }
}

/// Runs the timers of one kind.
#[async_trait]
pub trait TimerHandler: Send + Sync {
    /// Commits the timer's effect together with `TimerOp::Remove(timer.key)`.
    /// A retryable error leaves the timer in place to be tried again later; a
    /// permanent one ends it.
    async fn fire(
        &self,
        store: &SharedStore,
        timer: &Timer,
        now: Timestamp,
    ) -> Result<(), TimerError>;
}

/// What a `timer.failure` record holds.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct TimerFailure {
    pub kind: String,
    pub payload: serde_json::Value,
    pub error: String,
    pub attempts: i32,
    pub at: Timestamp,
}

impl TimerFailure {
    /// The `timer.failure` record of this failure, under `key`.
    pub fn record(&self, key: &str) -> RecordWrite {
        RecordWrite {
            kind: FAILURE_RECORD.into(),
            key: key.into(),
            owner: self.kind.clone(),
            state: "failed".into(),
            data: Document::of(self),
            expect: Expect::Any,
        }
    }
}

/// Longest wait between two tries of a failing timer.
const MAX_RETRY_SECONDS: i64 = 300;
/// How long a claimed timer is held before another worker may take it.
const LEASE_SECONDS: i64 = 60;

/// The handler of each timer kind. A kind with no handler fails for good.
#[derive(Clone)]
pub struct Handlers {
    by_kind: HashMap<&'static str, Arc<dyn TimerHandler>>,
}

impl Handlers {
    /// The given handlers and the store's own (hold expiry).
    pub fn new(handlers: impl IntoIterator<Item = (&'static str, Arc<dyn TimerHandler>)>) -> Self {
        let mut by_kind: HashMap<_, _> = handlers.into_iter().collect();
        by_kind.insert(HOLD_EXPIRY_TIMER, Arc::new(ExpireHold));
        Handlers { by_kind }
    }
}

pub struct Scheduler {
    store: SharedStore,
    clock: Arc<PersistedClock>,
    config: SchedulerConfig,
    handlers: Handlers,
    wake: Arc<Notify>,
    /// Retries the store could not take (it was unreachable): handed to it again
    /// before the next round, so that the timers wait their retry rather than
    /// their whole lease. At most [`MAX_UNRECORDED`] are kept.
    unrecorded: std::sync::Mutex<Vec<Unrecorded>>,
}

/// A timer's retry the store has not taken yet.
struct Unrecorded {
    key: String,
    retry_at: Timestamp,
    leased_until: Timestamp,
}

/// Most retries kept in memory while the store is unreachable; the rest wait
/// out their lease.
const MAX_UNRECORDED: usize = 10_000;

impl Scheduler {
    pub fn new(
        store: SharedStore,
        clock: Arc<PersistedClock>,
        config: SchedulerConfig,
        handlers: Handlers,
        wake: Arc<Notify>,
    ) -> Self {
        Scheduler {
            store,
            clock,
            config,
            handlers,
            wake,
            unrecorded: std::sync::Mutex::new(Vec::new()),
        }
    }

    pub async fn run(self, cancel: CancellationToken) {
        let poll = Duration::from_millis(self.config.poll_millis.max(10));
        crate::worker::run_rounds("scheduler", poll, &self.wake, &cancel, || self.fire_due()).await
    }

    /// Runs one timer's handler; a retryable failure schedules another try, a
    /// permanent one is recorded and ends the timer.
    async fn fire(&self, timer: Timer, now: Timestamp, leased_until: Timestamp) {
        let outcome = match self.handlers.by_kind.get(timer.kind.as_str()) {
            Some(handler) => handler.fire(&self.store, &timer, now).await,
            None => Err(TimerError::Permanent(format!(
                "no handler for timer kind {}",
                timer.kind
            ))),
        };
        match outcome {
            Ok(()) => {}
            Err(TimerError::Retry(e)) => {
                let wait = 1i64 << timer.attempts.clamp(0, 16);
                let retry_at = now.plus_seconds(wait.min(MAX_RETRY_SECONDS));
                tracing::warn!(timer = %timer.key, error = %e, "timer failed; will retry");
                if let Err(e) = self
                    .store
                    .retry_timer(&timer.key, retry_at, leased_until)
                    .await
                {
                    tracing::error!(timer = %timer.key, error = %e, "could not reschedule a timer; will again");
                    let mut unrecorded = self.unrecorded.lock().expect("unrecorded retries");
                    if unrecorded.len() < MAX_UNRECORDED {
                        unrecorded.push(Unrecorded {
                            key: timer.key.clone(),
                            retry_at,
                            leased_until,
                        });
                    }
                }
            }
            Err(TimerError::Permanent(e)) => self.give_up(&timer, now, e).await,
        }
    }

    /// Records a timer that can never succeed, counts it and removes it.
    async fn give_up(&self, timer: &Timer, now: Timestamp, error: String) {
        tracing::error!(timer = %timer.key, kind = %timer.kind, %error, "timer failed for good; recorded and dropped");
        metrics::counter!("gerbang_timer_failures_total", "kind" => timer.kind.clone())
            .increment(1);
        let failure = TimerFailure {
            kind: timer.kind.clone(),
            payload: timer.payload.clone(),
            error,
            attempts: timer.attempts + 1,
            at: now,
        };
        let step = Step {
            records: vec![failure.record(&timer.key)],
            timers: vec![TimerOp::Remove(timer.key.clone())],
            ..Step::default()
        };
        if let Err(e) = self.store.commit(now, step).await {
            // Left in place: the next claim tries (and records) it again.
            tracing::error!(timer = %timer.key, error = %e, "could not record a failed timer");
        }
    }

    /// Hands the store the retries it could not take before; stops at the
    /// first it still cannot.
    async fn record_retries(&self) -> Result<(), String> {
        let waiting = std::mem::take(&mut *self.unrecorded.lock().expect("unrecorded retries"));
        let mut left = waiting.into_iter();
        while let Some(r) = left.next() {
            if let Err(e) = self
                .store
                .retry_timer(&r.key, r.retry_at, r.leased_until)
                .await
            {
                let mut unrecorded = self.unrecorded.lock().expect("unrecorded retries");
                unrecorded.push(r);
                unrecorded.extend(left);
                return Err(e.to_string());
            }
        }
        Ok(())
    }

    /// One round: fires every timer due now. Returns how many were taken.
    pub async fn fire_due(&self) -> Result<usize, String> {
        self.record_retries().await?;
        // Another process may have moved the sandbox clock.
        self.clock.refresh().await;
        let now = self.clock.now();
        let leased_until = now.plus_seconds(LEASE_SECONDS);
        let due = self
            .store
            .claim_timers(now, leased_until, self.config.batch.max(1))
            .await
            .map_err(|e| e.to_string())?;
        let count = due.len();
        // Timers are independent steps: fired side by side, their commits share the
        // store's group commits instead of waiting for one each.
        futures::stream::iter(due)
            .for_each_concurrent(self.config.concurrency.max(1) as usize, |timer| {
                self.fire(timer, now, leased_until)
            })
            .await;
        Ok(count)
    }
}

/// Removes a timer that has nothing (more) to do.
pub async fn drop_timer(store: &SharedStore, now: Timestamp, key: &str) -> Result<(), TimerError> {
    store
        .commit(
            now,
            Step {
                timers: vec![TimerOp::Remove(key.to_string())],
                ..Step::default()
            },
        )
        .await
        .map(|_| ())
        .map_err(TimerError::from)
}

/// Releases a hold whose expiry came before it was posted or voided.
struct ExpireHold;

#[async_trait]
impl TimerHandler for ExpireHold {
    async fn fire(
        &self,
        store: &SharedStore,
        timer: &Timer,
        now: Timestamp,
    ) -> Result<(), TimerError> {
        let Some(key) = timer.payload["hold"].as_str() else {
            return Err(TimerError::Permanent("timer payload names no hold".into()));
        };
        let expire = Step {
            ledger: vec![LedgerOp::Expire { key: key.into() }],
            timers: vec![TimerOp::Remove(timer.key.clone())],
            ..Step::default()
        };
        match store.commit(now, expire).await {
            Ok(_) => Ok(()),
            // Ended meanwhile (posted or voided): nothing to expire.
            Err(StepError::Ledger(
                LedgerError::HoldNotPending { .. } | LedgerError::UnknownHold(_),
            )) => drop_timer(store, now, &timer.key).await,
            Err(e) => Err(e.into()),
        }
    }
}
