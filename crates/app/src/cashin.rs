//! Bulk e-money cash-in: a bulk of e-wallet credits accepted at once and worked
//! through chunk by chunk.
//!
//! Accepting writes the bulk, its chunks of [`CHUNK_ITEMS`] items and one hold per
//! chunk (together: the whole bulk held) in one step, with one timer. Each firing
//! of that timer sends one chunk's items to their wallets and settles the chunk:
//! its hold posted — the credited items' amounts to their wallets' clearing
//! accounts, the failed items' back to the funding account — in the same step
//! that records every item's outcome and moves the timer on. Chunks with items
//! still pending at their wallet wait and are asked again. A settled chunk's
//! notice (one page of outcomes, rendered by the requester's face) is written in
//! the same step; the bulk is done when its last chunk is settled.

use crate::scheduler::{TimerError, TimerHandler};
use crate::App;
use async_trait::async_trait;
use gerbang_channels::bank::{BankOutcome, BankTransfer};
pub use gerbang_core::cashin::{
    chunk_key, BulkStatus, CashInBulk, CashInChunk, CashInItem, ItemOutcome, WaitingChunk,
    CHUNK_ITEMS,
};
use gerbang_core::ledger::{
    AccountKind, LedgerError, LedgerOp, NewAccount, NewHold, PostHold, Posting,
};
use gerbang_core::payout::{ChannelAnswer, Requester};
use gerbang_core::{Currency, Timestamp};
use gerbang_store::{
    Document, Expect, NewIdempotency, NewTimer, RecordWrite, SharedStore, Step, StepError,
    StoreError, Timer, TimerOp,
};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const BULK_RECORD: &str = "cashin_bulk";
pub const CHUNK_RECORD: &str = "cashin_chunk";
/// The timer that works a bulk through, chunk by chunk.
pub const BULK_TIMER: &str = "cashin.bulk";
/// Longest one firing of [`BULK_TIMER`] goes on from chunk to chunk (well inside
/// the scheduler's lease); then the next firing takes over.
const MAX_FIRING: std::time::Duration = std::time::Duration::from_secs(10);

/// What a face asks for.
#[derive(Clone, Debug)]
pub struct NewBulk {
    pub requester: Requester,
    pub funding_account: String,
    /// The requester's id of the bulk: a second bulk with it is a retry.
    pub reference: Option<String>,
    /// A digest of the whole request: the same reference with another is refused.
    pub fingerprint: String,
    /// Each with its outcome unset.
    pub items: Vec<CashInItem>,
    pub notice_url: Option<String>,
    pub request: Document,
    /// A record the face claims in the same step; made before: [`BulkError::Claimed`].
    pub claim: Option<RecordWrite>,
}

#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    #[error("the bulk's reference was used before for another bulk")]
    DuplicateReference,
    #[error("insufficient available balance")]
    InsufficientBalance,
    #[error("claimed before")]
    Claimed,
    #[error("storage: {0}")]
    Store(String),
}

/// What [`accept`] did.
pub struct Accepted {
    pub bulk: CashInBulk,
    /// `false`: a retry, answered with the bulk accepted before.
    pub first_time: bool,
}

fn hold_key(bulk_id: &str, index: u32) -> String {
    format!("cashin:{bulk_id}:{index}")
}

fn timer_key(bulk_id: &str) -> String {
    format!("{BULK_TIMER}:{bulk_id}")
}

fn timer(bulk_id: &str, at: Timestamp) -> TimerOp {
    TimerOp::Schedule(NewTimer {
        key: timer_key(bulk_id),
        kind: BULK_TIMER.into(),
        due_at: at,
        payload: serde_json::json!({ "id": bulk_id }).into(),
    })
}

fn bulk_write(b: &CashInBulk, expect: Expect) -> RecordWrite {
    RecordWrite {
        kind: BULK_RECORD.into(),
        key: b.id.clone(),
        owner: b.requester.principal.clone(),
        state: b.status.as_str().into(),
        data: Document::of(b),
        expect,
    }
}

fn chunk_write(b: &CashInBulk, c: &CashInChunk, expect: Expect) -> RecordWrite {
    RecordWrite {
        kind: CHUNK_RECORD.into(),
        key: chunk_key(&c.bulk_id, c.index),
        owner: b.requester.principal.clone(),
        state: if c.settled { "settled" } else { "open" }.into(),
        data: Document::of(c),
        expect,
    }
}

fn reference_scope(requester: &Requester) -> String {
    format!("cashin:{}:{}", requester.face.as_str(), requester.principal)
}

pub async fn load_bulk(
    store: &SharedStore,
    id: &str,
) -> Result<Option<(CashInBulk, i64)>, StoreError> {
    crate::stored::load(&**store, BULK_RECORD, id).await
}

async fn load_chunk(
    store: &SharedStore,
    bulk_id: &str,
    index: u32,
) -> Result<Option<(CashInChunk, i64)>, StoreError> {
    crate::stored::load(&**store, CHUNK_RECORD, &chunk_key(bulk_id, index)).await
}

/// A requester's bulk by the id it gave.
pub async fn by_reference(
    store: &SharedStore,
    requester: &Requester,
    reference: &str,
) -> Result<Option<CashInBulk>, StoreError> {
    let Some(idem) = store
        .idempotency(&reference_scope(requester), reference)
        .await?
    else {
        return Ok(None);
    };
    Ok(load_bulk(store, &idem.response).await?.map(|(b, _)| b))
}

/// Accepts a bulk: holds it whole and schedules its first chunk.
pub async fn accept(app: &App, req: NewBulk) -> Result<Accepted, BulkError> {
    let now = app.now();
    for _ in 0..8 {
        let id = crate::payout::new_id();
        let total: i64 = req.items.iter().map(|i| i.amount_minor).sum();
        let chunks: Vec<CashInChunk> = req
            .items
            .chunks(CHUNK_ITEMS)
            .enumerate()
            .map(|(index, items)| CashInChunk {
                bulk_id: id.clone(),
                index: index as u32,
                items: items.to_vec(),
                settled: false,
            })
            .collect();
        let bulk = CashInBulk {
            id: id.clone(),
            requester: req.requester.clone(),
            reference: req.reference.clone(),
            funding_account: req.funding_account.clone(),
            items: req.items.len() as u32,
            total_minor: total,
            chunks: chunks.len() as u32,
            next_chunk: 0,
            waiting_chunks: Vec::new(),
            status: BulkStatus::Processing,
            notice_url: req.notice_url.clone(),
            request: req.request.clone(),
            request_id: crate::request_id::current(),
            created_at: now,
            finished_at: None,
        };
        let mut records = Vec::with_capacity(chunks.len() + 2);
        records.push(bulk_write(&bulk, Expect::Absent));
        records.extend(req.claim.clone());
        let mut ledger = Vec::with_capacity(chunks.len());
        for c in &chunks {
            ledger.push(LedgerOp::Hold(NewHold {
                key: hold_key(&id, c.index),
                account: bulk.funding_account.clone(),
                amount: c.total_minor(),
                currency: Currency::Idr,
                expires_at: None,
            }));
            records.push(chunk_write(&bulk, c, Expect::Absent));
        }
        let step = Step {
            idempotency: req.reference.as_ref().map(|reference| NewIdempotency {
                scope: reference_scope(&req.requester),
                key: reference.clone(),
                fingerprint: req.fingerprint.clone(),
                response: id.clone(),
            }),
            ledger,
            records,
            timers: vec![timer(&id, now)],
            ..Step::default()
        };
        match app.commit(step).await {
            Ok(_) => {
                return Ok(Accepted {
                    bulk,
                    first_time: true,
                })
            }
            Err(StepError::Duplicate(existing)) => {
                if existing.fingerprint != req.fingerprint {
                    return Err(BulkError::DuplicateReference);
                }
                return match load_bulk(&app.store, &existing.response).await {
                    Ok(Some((bulk, _))) => Ok(Accepted {
                        bulk,
                        first_time: false,
                    }),
                    Ok(None) => Err(BulkError::Store("bulk vanished".into())),
                    Err(e) => Err(BulkError::Store(e.to_string())),
                };
            }
            Err(StepError::Ledger(LedgerError::InsufficientFunds(_))) => {
                return Err(BulkError::InsufficientBalance)
            }
            Err(StepError::RecordConflict { kind, key })
                if req
                    .claim
                    .as_ref()
                    .is_some_and(|c| c.kind == kind && c.key == key) =>
            {
                return Err(BulkError::Claimed)
            }
            // The id was drawn by another process at once: draw another.
            Err(
                StepError::RecordConflict { .. } | StepError::Ledger(LedgerError::DuplicateHold(_)),
            ) => continue,
            Err(e) => return Err(BulkError::Store(e.to_string())),
        }
    }
    Err(BulkError::Store("could not allocate a bulk id".into()))
}

/// Works bulks through, one chunk per firing.
pub struct BulkRunner {
    pub app: Arc<App>,
}

/// What sending a chunk's open items gave.
struct Sent {
    chunk: CashInChunk,
    /// When to ask again about items still pending; `None`: every item is final.
    ask_again_at: Option<Timestamp>,
}

impl BulkRunner {
    /// Sends the chunk's items that have no outcome yet to their wallets.
    async fn send(&self, mut chunk: CashInChunk, now: Timestamp) -> Sent {
        let mut ask_again_at: Option<Timestamp> = None;
        for (i, item) in chunk.items.iter_mut().enumerate() {
            if item.outcome.is_some() {
                continue;
            }
            let answer = self
                .app
                .banks
                .transfer(
                    &BankTransfer {
                        reference: format!("{}-{}-{i}", chunk.bulk_id, chunk.index),
                        bank_code: item.wallet.clone(),
                        account: item.account.clone(),
                        name: item.name.clone(),
                        amount_minor: item.amount_minor,
                        attempt: item.attempts,
                    },
                    now,
                )
                .await;
            item.attempts += 1;
            let (credited, code, message) = match answer {
                BankOutcome::Succeeded { code, message } => (true, code, message),
                BankOutcome::Failed { code, message } => (false, code, message),
                BankOutcome::Pending {
                    check_after_seconds,
                } => {
                    let at = now.plus_seconds(check_after_seconds.max(1));
                    ask_again_at = Some(ask_again_at.map_or(at, |t| t.min(at)));
                    continue;
                }
            };
            item.outcome = Some(ItemOutcome {
                credited,
                answer: ChannelAnswer { code, message },
                at: now,
            });
        }
        Sent {
            chunk,
            ask_again_at,
        }
    }

    /// The step that settles a chunk whose items are all final: its hold posted to
    /// the wallets' clearing accounts and, for the failed items, back to the
    /// funding account.
    fn settle(bulk: &CashInBulk, chunk: &CashInChunk, step: &mut Step) {
        let mut credits: BTreeMap<String, i64> = BTreeMap::new();
        for item in &chunk.items {
            let account = match &item.outcome {
                Some(o) if o.credited => crate::payout::wallet_clearing(&item.wallet),
                _ => bulk.funding_account.clone(),
            };
            *credits.entry(account).or_default() += item.amount_minor;
        }
        for account in credits.keys().filter(|a| **a != bulk.funding_account) {
            step.accounts.push(NewAccount {
                code: account.clone(),
                kind: AccountKind::ChannelClearing,
                currency: Currency::Idr,
            });
        }
        step.ledger.push(LedgerOp::Post(PostHold {
            key: hold_key(&bulk.id, chunk.index),
            kind: "cashin".into(),
            reference: bulk.reference.clone().unwrap_or_else(|| bulk.id.clone()),
            description: format!(
                "Bulk cash-in {} part {} of {}",
                bulk.id,
                chunk.index + 1,
                bulk.chunks
            ),
            credits: credits
                .into_iter()
                .filter(|(_, amount)| *amount > 0)
                .map(|(account, amount)| Posting { account, amount })
                .collect(),
        }));
    }

    /// One firing: the next chunk (or a waiting one that is due), settled.
    async fn advance(
        &self,
        bulk: CashInBulk,
        version: i64,
        now: Timestamp,
    ) -> Result<Step, TimerError> {
        let mut next = bulk.clone();
        let index = if next.next_chunk < next.chunks {
            next.next_chunk += 1;
            next.next_chunk - 1
        } else if let Some(at) = next.waiting_chunks.iter().position(|w| w.due_at <= now) {
            next.waiting_chunks.remove(at).index
        } else if let Some(due) = next.waiting_chunks.iter().map(|w| w.due_at).min() {
            // Nothing due yet: come back when the first waiting chunk is.
            return Ok(Step {
                timers: vec![timer(&next.id, due)],
                ..Step::default()
            });
        } else {
            return Ok(Self::finish(next, version, now));
        };
        let (chunk, chunk_version) = load_chunk(&self.app.store, &bulk.id, index)
            .await?
            .ok_or_else(|| TimerError::Permanent(format!("bulk {} lost chunk {index}", bulk.id)))?;
        let Sent {
            mut chunk,
            ask_again_at,
        } = self.send(chunk, now).await;
        let mut step = Step::default();
        match ask_again_at {
            None => {
                chunk.settled = true;
                Self::settle(&next, &chunk, &mut step);
            }
            Some(due_at) => next.waiting_chunks.push(WaitingChunk { index, due_at }),
        }
        // The chunks never sent go first; then the waiting ones, each when due.
        let due = if next.next_chunk < next.chunks {
            now
        } else {
            next.waiting_chunks
                .iter()
                .map(|w| w.due_at)
                .min()
                .unwrap_or(now)
        };
        step.records
            .push(chunk_write(&next, &chunk, Expect::Version(chunk_version)));
        if chunk.settled {
            // Its notify page goes out with it.
            step.notifications
                .extend(crate::faces::cashin_notices(&self.app, &next, &chunk).await?);
        }
        if next.next_chunk == next.chunks && next.waiting_chunks.is_empty() {
            next.status = BulkStatus::Done;
            next.finished_at = Some(now);
            step.timers.push(TimerOp::Remove(timer_key(&next.id)));
        } else {
            step.timers.push(timer(&next.id, due));
        }
        step.records
            .push(bulk_write(&next, Expect::Version(version)));
        Ok(step)
    }

    /// A bulk whose chunks are all settled (only reached after a lost race).
    fn finish(mut bulk: CashInBulk, version: i64, now: Timestamp) -> Step {
        bulk.status = BulkStatus::Done;
        bulk.finished_at = Some(now);
        Step {
            records: vec![bulk_write(&bulk, Expect::Version(version))],
            timers: vec![TimerOp::Remove(timer_key(&bulk.id))],
            ..Step::default()
        }
    }
}

#[async_trait]
impl TimerHandler for BulkRunner {
    async fn fire(
        &self,
        store: &SharedStore,
        timer: &Timer,
        now: Timestamp,
    ) -> Result<(), TimerError> {
        let Some(id) = timer.payload["id"].as_str() else {
            return Err(TimerError::Permanent("timer payload names no bulk".into()));
        };
        let started = std::time::Instant::now();
        let mut now = now;
        loop {
            let Some((bulk, version)) = load_bulk(store, id)
                .await?
                .filter(|(b, _)| b.status == BulkStatus::Processing)
            else {
                return crate::scheduler::drop_timer(store, now, &timer.key).await;
            };
            let mut step = self.advance(bulk, version, now).await?;
            // The next chunk is due at once: go on in this firing (the timer stays
            // leased to it) rather than through another scheduler round.
            let go_on = step
                .timers
                .iter()
                .any(|t| matches!(t, TimerOp::Schedule(next) if next.due_at <= now))
                && started.elapsed() < MAX_FIRING;
            if go_on {
                step.timers.clear();
            }
            let chunk_started = std::time::Instant::now();
            let committed = self.app.commit(step).await;
            tracing::debug!(bulk = %id, go_on, commit_ms = chunk_started.elapsed().as_millis() as u64, firing_ms = started.elapsed().as_millis() as u64, "bulk cash-in chunk settled");
            match committed {
                Ok(_) if go_on => now = self.app.now(),
                Ok(_) => return Ok(()),
                Err(StepError::RecordConflict { .. }) => {
                    return Err(TimerError::Retry("bulk changed meanwhile".into()))
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}
