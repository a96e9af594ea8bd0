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
/// How far ahead the timer is moved while a firing goes on from chunk to chunk.
const GUARD_SECONDS: i64 = 60;

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
    /// An item's reference was used before (by an item of an earlier bulk):
    /// `same` when that item was this one again.
    #[error("item {index}'s reference was used before")]
    DuplicateItem { index: usize, same: bool },
    /// The database is a restored backup an operator has not confirmed yet.
    #[error("the gateway runs on a restored backup not yet reconciled; new bulks wait")]
    AwaitingRestoreConfirmation,
    /// The notice URL names an internal address, which production does not send to.
    #[error("the notice URL names an internal address")]
    InternalNoticeUrl,
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

fn schedule(bulk_id: &str, at: Timestamp) -> TimerOp {
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

/// Part `index` of bulk `bulk_id`: up to [`CHUNK_ITEMS`] items with their outcomes.
pub async fn load_chunk(
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

/// How far a bulk has come.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub parts_settled: u32,
    pub credited: u32,
    pub failed: u32,
    /// Items without their outcome yet.
    pub open: u32,
}

/// A requester's bulk, by its id or by the requester's own id of it, with how
/// far it has come.
pub async fn progress(
    store: &SharedStore,
    requester: &Requester,
    bulk_id: Option<&str>,
    reference: Option<&str>,
) -> Result<Option<(CashInBulk, Progress)>, StoreError> {
    let bulk = match (bulk_id, reference) {
        (Some(id), _) => load_bulk(store, id).await?.map(|(b, _)| b),
        (None, Some(reference)) => by_reference(store, requester, reference).await?,
        (None, None) => None,
    };
    let Some(bulk) = bulk.filter(|b| b.requester == *requester) else {
        return Ok(None);
    };
    if reference.is_some_and(|r| bulk.reference.as_deref() != Some(r)) {
        return Ok(None);
    }
    let mut p = Progress::default();
    for index in 0..bulk.chunks {
        let (chunk, _) = load_chunk(store, &bulk.id, index)
            .await?
            .ok_or_else(|| StoreError(format!("bulk {} lost chunk {index}", bulk.id)))?;
        p.parts_settled += u32::from(chunk.settled);
        for item in &chunk.items {
            match &item.outcome {
                Some(o) if o.credited => p.credited += 1,
                Some(_) => p.failed += 1,
                None => p.open += 1,
            }
        }
    }
    Ok(Some((bulk, p)))
}

/// Records of the item references used: key `{face}:{principal}:{reference}`.
pub const ITEM_REFERENCE_RECORD: &str = "cashin_item_reference";

fn item_reference_key(requester: &Requester, reference: &str) -> String {
    format!(
        "{}:{}:{reference}",
        requester.face.as_str(),
        requester.principal
    )
}

/// The id of the bulk that carried a requester's item `reference`, if one did.
pub async fn bulk_of_item(
    store: &SharedStore,
    requester: &Requester,
    reference: &str,
) -> Result<Option<String>, StoreError> {
    let used = store
        .record(
            ITEM_REFERENCE_RECORD,
            &item_reference_key(requester, reference),
        )
        .await?;
    Ok(used.and_then(|r| r.data.value()["bulk"].as_str().map(str::to_string)))
}

/// What makes an item what it is: the same reference with another is another item.
fn item_print(item: &CashInItem) -> String {
    format!(
        "{}|{}|{}",
        item.account.expose(),
        item.wallet,
        item.amount_minor
    )
}

/// Accepts a bulk: holds it whole and schedules its first chunk. Every item's
/// reference is claimed with it: an item already paid in an earlier bulk is
/// refused, whether or not the bulk carries an id of its own.
pub async fn accept(app: &App, req: NewBulk) -> Result<Accepted, BulkError> {
    let now = app.now();
    if app.config.refuses_notice_url(req.notice_url.as_deref()) {
        return Err(BulkError::InternalNoticeUrl);
    }
    let store_err = |e: StoreError| BulkError::Store(e.to_string());
    // On an unconfirmed restore only a bulk the copy knows goes on.
    if app
        .restore_guard
        .refuses_new_references(&app.store)
        .await
        .map_err(store_err)?
    {
        let known = match &req.reference {
            Some(reference) => app
                .store
                .idempotency(&reference_scope(&req.requester), reference)
                .await
                .map_err(store_err)?
                .is_some(),
            None => false,
        };
        if !known {
            return Err(BulkError::AwaitingRestoreConfirmation);
        }
    }
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
        let mut records = Vec::with_capacity(chunks.len() + req.items.len() + 2);
        records.push(bulk_write(&bulk, Expect::Absent));
        records.extend(req.claim.clone());
        for item in &req.items {
            records.push(RecordWrite {
                kind: ITEM_REFERENCE_RECORD.into(),
                key: item_reference_key(&req.requester, &item.reference),
                owner: req.requester.principal.clone(),
                state: "used".into(),
                data: serde_json::json!({ "bulk": id, "print": item_print(item) }).into(),
                expect: Expect::Absent,
            });
        }
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
            timers: vec![schedule(&id, now)],
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
            Err(e) if crate::payout::conflicts_with(req.claim.as_ref(), &e) => {
                return Err(BulkError::Claimed)
            }
            Err(StepError::RecordConflict { kind, key }) if kind == ITEM_REFERENCE_RECORD => {
                return Err(duplicate_item(app, &req, &key).await);
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

/// Which item's reference conflicted, and whether it was the same item again.
async fn duplicate_item(app: &App, req: &NewBulk, key: &str) -> BulkError {
    let Some(index) = req
        .items
        .iter()
        .position(|i| item_reference_key(&req.requester, &i.reference) == key)
    else {
        return BulkError::Store(format!("conflict on an unknown item reference {key}"));
    };
    match app.store.record(ITEM_REFERENCE_RECORD, key).await {
        Ok(Some(used)) => BulkError::DuplicateItem {
            index,
            same: used.data.value()["print"].as_str()
                == Some(item_print(&req.items[index]).as_str()),
        },
        Ok(None) => BulkError::Store(format!("item reference {key} conflicted but is not there")),
        Err(e) => BulkError::Store(e.to_string()),
    }
}

/// Works bulks through, chunk after chunk.
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
                        account: item.account.expose().to_string(),
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

    /// The next chunk (or a waiting one that is due), settled: the step, and the
    /// bulk as that step leaves it (its record the step's last).
    async fn advance(
        &self,
        bulk: CashInBulk,
        version: i64,
        now: Timestamp,
    ) -> Result<(Step, CashInBulk), TimerError> {
        let mut next = bulk;
        let index = if next.next_chunk < next.chunks {
            next.next_chunk += 1;
            next.next_chunk - 1
        } else if let Some(at) = next.waiting_chunks.iter().position(|w| w.due_at <= now) {
            next.waiting_chunks.remove(at).index
        } else if let Some(due) = next.waiting_chunks.iter().map(|w| w.due_at).min() {
            // Nothing due yet: come back when the first waiting chunk is.
            let step = Step {
                timers: vec![schedule(&next.id, due)],
                ..Step::default()
            };
            return Ok((step, next));
        } else {
            return Ok(Self::finish(next, version, now));
        };
        let key = chunk_key(&next.id, index);
        let (chunk, chunk_version) =
            crate::stored::load_for_timer::<CashInChunk>(&*self.app.store, CHUNK_RECORD, &key)
                .await?
                .ok_or_else(|| {
                    TimerError::Permanent(format!("bulk {} lost chunk {index}", next.id))
                })?;
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
            step.timers.push(schedule(&next.id, due));
        }
        step.records
            .push(bulk_write(&next, Expect::Version(version)));
        Ok((step, next))
    }

    /// A bulk whose chunks are all settled (only reached after a lost race).
    fn finish(mut bulk: CashInBulk, version: i64, now: Timestamp) -> (Step, CashInBulk) {
        bulk.status = BulkStatus::Done;
        bulk.finished_at = Some(now);
        let step = Step {
            records: vec![bulk_write(&bulk, Expect::Version(version))],
            timers: vec![TimerOp::Remove(timer_key(&bulk.id))],
            ..Step::default()
        };
        (step, bulk)
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
        let Some((mut bulk, mut version)) =
            crate::stored::load_for_timer::<CashInBulk>(&**store, BULK_RECORD, id)
                .await?
                .filter(|(b, _)| b.status == BulkStatus::Processing)
        else {
            return crate::scheduler::drop_timer(store, now, &timer.key).await;
        };
        let started = std::time::Instant::now();
        let mut now = now;
        loop {
            let (mut step, next) = self.advance(bulk, version, now).await?;
            // The next chunk is due at once: go on in this firing rather than
            // through another scheduler round. The timer is moved a lease ahead
            // with each chunk, so no other worker takes the bulk meanwhile, and a
            // crash leaves it to be taken up again then.
            let go_on = step
                .timers
                .iter()
                .any(|t| matches!(t, TimerOp::Schedule(next) if next.due_at <= now))
                && started.elapsed() < MAX_FIRING;
            if go_on {
                step.timers = vec![schedule(id, now.plus_seconds(GUARD_SECONDS))];
            }
            let committed = self.app.commit(step).await;
            tracing::debug!(bulk = %id, go_on, firing_ms = started.elapsed().as_millis() as u64, "bulk cash-in chunk settled");
            match committed {
                // Going on from what this firing just wrote: no need to read it back.
                Ok(outcome) if go_on => {
                    version =
                        outcome.record_versions.last().copied().ok_or_else(|| {
                            TimerError::Permanent("the bulk was not written".into())
                        })?;
                    bulk = next;
                    now = self.app.now();
                }
                Ok(_) => return Ok(()),
                Err(StepError::RecordConflict { .. }) => {
                    return Err(TimerError::Retry("bulk changed meanwhile".into()))
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}
