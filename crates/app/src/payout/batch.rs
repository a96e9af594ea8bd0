//! Batches: a stored parent with indexed lines, sent a chunk at a time.
//!
//! A batch record (`payout.batch`) names the channel, the due time and how far
//! sending has come; each line is a record of its own (`payout.batch.item`, key
//! `{batch}:{line number, 10 digits}`), so lines are read in key order, a page
//! after the last key handled, however many there are. One timer drives a batch:
//! each firing sends the next chunk of lines side by side (each settled on its own
//! step), then moves the batch's cursor and either schedules itself again at once
//! — a fresh lease for the next chunk — or ends. A crash between two chunks
//! resends nothing twice: a line already at its channel is skipped.

use super::{new_id, Disbursement, Dispatcher, Requester, Status};
use crate::scheduler::{drop_timer, TimerError, TimerFailure, TimerHandler};
use crate::App;
use async_trait::async_trait;
use gerbang_core::Timestamp;
use gerbang_store::{
    Document, Expect, NewTimer, RecordWrite, SharedStore, Step, StepError, Timer, TimerOp,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The timer that sends a batch, a chunk per firing; payload `{"batch": id}`.
pub const BATCH_TIMER: &str = "disbursement.batch";
/// Batch records: key = batch id, owner = the requester's principal.
pub const BATCH_RECORD: &str = "payout.batch";
/// Line records: key = `{batch}:{line number}`, owner = batch id, data `{"id"}`.
pub const LINE_RECORD: &str = "payout.batch.item";
/// Lines sent per firing of a batch's timer.
pub const CHUNK_LINES: u32 = 200;

/// A batch as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Batch {
    pub id: String,
    pub requester: Requester,
    /// The bank or wallet every line goes to.
    pub channel: String,
    pub due_at: Timestamp,
    pub lines: u32,
    /// The key of the last line handled; none yet: from the first.
    pub sent_through: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Line {
    id: String,
}

fn line_key(batch: &str, number: u32) -> String {
    format!("{batch}:{number:010}")
}

fn timer_key(batch: &str) -> String {
    format!("{BATCH_TIMER}:{batch}")
}

fn batch_write(b: &Batch, expect: Expect, done: bool) -> RecordWrite {
    RecordWrite {
        kind: BATCH_RECORD.into(),
        key: b.id.clone(),
        owner: b.requester.principal.clone(),
        state: if done { "sent" } else { "sending" }.into(),
        data: Document::of(b),
        expect,
    }
}

fn firing(b: &Batch, at: Timestamp) -> TimerOp {
    TimerOp::Schedule(NewTimer {
        key: timer_key(&b.id),
        kind: BATCH_TIMER.into(),
        due_at: at,
        payload: serde_json::json!({ "batch": b.id }).into(),
    })
}

/// Adds to `step` a new batch of `lines` (payouts to `channel` due at `due_at`):
/// its record, one record per line, and its timer.
pub(crate) fn open(
    step: &mut Step,
    requester: &Requester,
    channel: String,
    due_at: Timestamp,
    lines: &[Disbursement],
) {
    let batch = Batch {
        id: new_id(),
        requester: requester.clone(),
        channel,
        due_at,
        lines: lines.len() as u32,
        sent_through: None,
    };
    step.records.reserve(lines.len() + 1);
    step.records
        .push(batch_write(&batch, Expect::Absent, false));
    for (number, d) in lines.iter().enumerate() {
        step.records.push(RecordWrite {
            kind: LINE_RECORD.into(),
            key: line_key(&batch.id, number as u32 + 1),
            owner: batch.id.clone(),
            state: "line".into(),
            data: Document::of(&Line { id: d.id.clone() }),
            expect: Expect::Absent,
        });
    }
    step.timers.push(firing(&batch, due_at));
}

/// Sends approved batches: every line to its channel, each settled on its own.
pub struct BatchDispatcher {
    pub dispatcher: Dispatcher,
}

impl BatchDispatcher {
    pub fn new(app: Arc<App>) -> Self {
        BatchDispatcher {
            dispatcher: Dispatcher { app },
        }
    }

    /// A batch timer set by a build before stored batches: its payload lists the
    /// ids (`{"bank", "ids": [...]}`, at most 1,000); each is sent, then it ends.
    async fn send_listed(
        &self,
        store: &SharedStore,
        timer: &Timer,
        now: Timestamp,
    ) -> Result<(), TimerError> {
        let Some(ids) = timer.payload["ids"].as_array() else {
            return Err(TimerError::Permanent("timer payload names no batch".into()));
        };
        for id in ids.iter().filter_map(|v| v.as_str()) {
            self.send_line(store, id, now).await?;
        }
        drop_timer(store, now, &timer.key).await
    }

    /// Sends one line, unless it was answered or is pending on a timer of its own.
    async fn send_line(
        &self,
        store: &SharedStore,
        id: &str,
        now: Timestamp,
    ) -> Result<(), TimerError> {
        let Some((d, version)) =
            crate::stored::load_for_timer::<Disbursement>(&**store, super::RECORD, id).await?
        else {
            return Ok(());
        };
        if d.status != Status::Processing || d.channel_attempts > 0 {
            return Ok(());
        }
        let step = self.dispatcher.send(&d, version, now).await?;
        match self.dispatcher.app.commit(step).await {
            // Moved meanwhile (by another worker): its new state decides.
            Ok(_) | Err(StepError::RecordConflict { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[async_trait]
impl TimerHandler for BatchDispatcher {
    async fn fire(
        &self,
        store: &SharedStore,
        timer: &Timer,
        now: Timestamp,
    ) -> Result<(), TimerError> {
        let Some(id) = timer.payload["batch"].as_str() else {
            return self.send_listed(store, timer, now).await;
        };
        let Some((batch, version)) =
            crate::stored::load_for_timer::<Batch>(&**store, BATCH_RECORD, id).await?
        else {
            return drop_timer(store, now, &timer.key).await;
        };
        let prefix = format!("{id}:");
        let after = batch.sent_through.clone().unwrap_or_else(|| prefix.clone());
        let page = store
            .records(LINE_RECORD, None, Some(&after), CHUNK_LINES)
            .await?;
        let full = page.len() == CHUNK_LINES as usize;
        let lines: Vec<_> = page
            .into_iter()
            .take_while(|r| r.key.starts_with(&prefix))
            .collect();
        let more = full && lines.len() == CHUNK_LINES as usize;
        let sends = lines.iter().map(|r| async move {
            let line: Line = r.data.decode().map_err(|e| {
                TimerError::Permanent(format!("batch line {} is unreadable: {e}", r.key))
            })?;
            self.send_line(store, &line.id, now).await
        });
        let mut records = Vec::with_capacity(1);
        for (line, outcome) in lines.iter().zip(futures::future::join_all(sends).await) {
            match outcome {
                Ok(()) => {}
                // A line that can never go out is recorded as a failed timer under
                // the line's key (and counted); the rest of the batch goes on.
                Err(TimerError::Permanent(error)) => {
                    tracing::error!(batch = %id, line = %line.key, %error, "a batch line cannot be sent");
                    metrics::counter!("gerbang_timer_failures_total", "kind" => BATCH_TIMER)
                        .increment(1);
                    let failure = TimerFailure {
                        kind: BATCH_TIMER.into(),
                        payload: serde_json::json!({ "batch": id, "line": line.key }),
                        error,
                        attempts: timer.attempts + 1,
                        at: now,
                    };
                    records.push(failure.record(&line.key));
                }
                Err(e) => return Err(e),
            }
        }
        let mut next = batch.clone();
        if let Some(last) = lines.last() {
            next.sent_through = Some(last.key.clone());
        }
        records.push(batch_write(&next, Expect::Version(version), !more));
        let step = Step {
            records,
            timers: vec![if more {
                firing(&next, now)
            } else {
                TimerOp::Remove(timer.key.clone())
            }],
            ..Step::default()
        };
        match self.dispatcher.app.commit(step).await {
            Ok(_) => Ok(()),
            Err(StepError::RecordConflict { .. }) => {
                Err(TimerError::Retry("batch moved meanwhile".into()))
            }
            Err(e) => Err(e.into()),
        }
    }
}
