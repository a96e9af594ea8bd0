//! Durable timers: "run this step at that instant", surviving restarts. A handler
//! commits its effect and the removal of its timer in one step, so a timer fires
//! exactly once in effect even when it is claimed again after a crash.

use crate::config::SchedulerConfig;
use crate::sandbox_clock::PersistedClock;
use async_trait::async_trait;
use futures::StreamExt;
use gerbang_core::ledger::{LedgerError, LedgerOp};
use gerbang_core::{Clock, Timestamp};
use gerbang_store::{SharedStore, Step, StepError, Timer, TimerOp, HOLD_EXPIRY_TIMER};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Runs the timers of one kind.
#[async_trait]
pub trait TimerHandler: Send + Sync {
    /// Commits the timer's effect together with `TimerOp::Remove(timer.key)`.
    /// An error leaves the timer in place to be tried again later.
    async fn fire(&self, store: &SharedStore, timer: &Timer, now: Timestamp) -> Result<(), String>;
}

/// Longest wait between two tries of a failing timer.
const MAX_RETRY_SECONDS: i64 = 300;
/// How long a claimed timer is held before another worker may take it.
const LEASE_SECONDS: i64 = 60;

#[derive(Clone, Default)]
pub struct Handlers {
    by_kind: HashMap<String, Arc<dyn TimerHandler>>,
}

impl Handlers {
    pub fn register(&mut self, kind: &str, handler: Arc<dyn TimerHandler>) {
        self.by_kind.insert(kind.to_string(), handler);
    }

    /// The handlers every gateway has.
    pub fn builtin() -> Self {
        let mut h = Handlers::default();
        h.register(HOLD_EXPIRY_TIMER, Arc::new(ExpireHold));
        h
    }
}

pub struct Scheduler {
    store: SharedStore,
    clock: Arc<PersistedClock>,
    config: SchedulerConfig,
    handlers: Handlers,
    wake: Arc<Notify>,
}

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
        }
    }

    pub async fn run(self, cancel: CancellationToken) {
        let poll = Duration::from_millis(self.config.poll_millis.max(10));
        crate::worker::run_rounds("scheduler", poll, &self.wake, &cancel, || self.fire_due()).await
    }

    /// Runs one timer's handler; a failure schedules another try.
    async fn fire(&self, timer: Timer, now: Timestamp) {
        let outcome = match self.handlers.by_kind.get(&timer.kind) {
            Some(handler) => handler.fire(&self.store, &timer, now).await,
            None => Err(format!("no handler for timer kind {}", timer.kind)),
        };
        if let Err(e) = outcome {
            let wait = 1i64 << timer.attempts.clamp(0, 16);
            let retry_at = now.plus_seconds(wait.min(MAX_RETRY_SECONDS));
            tracing::warn!(timer = %timer.key, error = %e, "timer failed; will retry");
            if let Err(e) = self.store.retry_timer(&timer.key, retry_at).await {
                tracing::error!(timer = %timer.key, error = %e, "could not reschedule a timer");
            }
        }
    }

    /// One round: fires every timer due now. Returns how many were taken.
    pub async fn fire_due(&self) -> Result<usize, String> {
        // Another process may have moved the sandbox clock.
        self.clock.refresh().await;
        let now = self.clock.now();
        let due = self
            .store
            .claim_timers(
                now,
                now.plus_seconds(LEASE_SECONDS),
                self.config.batch.max(1),
            )
            .await
            .map_err(|e| e.to_string())?;
        let count = due.len();
        // Timers are independent steps: fired side by side, their commits share the
        // store's group commits instead of waiting for one each.
        futures::stream::iter(due)
            .for_each_concurrent(self.config.concurrency.max(1) as usize, |timer| {
                self.fire(timer, now)
            })
            .await;
        Ok(count)
    }
}

/// Removes a timer that has nothing (more) to do.
pub async fn drop_timer(store: &SharedStore, now: Timestamp, key: &str) -> Result<(), String> {
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
        .map_err(|e| e.to_string())
}

/// Releases a hold whose expiry came before it was posted or voided.
struct ExpireHold;

#[async_trait]
impl TimerHandler for ExpireHold {
    async fn fire(&self, store: &SharedStore, timer: &Timer, now: Timestamp) -> Result<(), String> {
        let Some(key) = timer.payload["hold"].as_str() else {
            return Err("timer payload names no hold".into());
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
            Err(e) => Err(e.to_string()),
        }
    }
}
