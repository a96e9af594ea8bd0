//! Bulk e-money cash-in, as pure data: many e-wallet credits asked for at once,
//! funded by one balance, each item ending with an outcome of its own (partial
//! success is normal). The items are kept in chunks of [`CHUNK_ITEMS`], each
//! held, sent and settled as a unit; the workflow lives in the application.

use crate::mask::Masked;
use crate::payout::{ChannelAnswer, Requester};
use crate::{Document, Timestamp};
use serde::{Deserialize, Serialize};

/// Items per chunk: one record, one hold, one ledger entry.
pub const CHUNK_ITEMS: usize = 1_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkStatus {
    /// Held; its chunks are being sent.
    Processing,
    /// Every item has its outcome; the requester has been told.
    Done,
}

impl BulkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BulkStatus::Processing => "processing",
            BulkStatus::Done => "done",
        }
    }
}

/// A bulk as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CashInBulk {
    pub id: String,
    pub requester: Requester,
    /// The requester's own id of the bulk, if it gave one.
    pub reference: Option<String>,
    /// The ledger account that pays (held at acceptance, chunk by chunk).
    pub funding_account: String,
    pub items: u32,
    pub total_minor: i64,
    pub chunks: u32,
    /// The next chunk to send for the first time.
    pub next_chunk: u32,
    /// Chunks sent with items still pending at their wallets, asked again later.
    #[serde(default)]
    pub waiting_chunks: Vec<WaitingChunk>,
    pub status: BulkStatus,
    pub notice_url: Option<String>,
    /// What the requester sent that its face's notices echo.
    pub request: Document,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
}

/// A chunk whose wallets are asked again at `due_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingChunk {
    pub index: u32,
    pub due_at: Timestamp,
}

pub fn chunk_key(bulk_id: &str, index: u32) -> String {
    format!("{bulk_id}:{index:05}")
}

/// A chunk of a bulk's items.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CashInChunk {
    pub bulk_id: String,
    pub index: u32,
    pub items: Vec<CashInItem>,
    /// Every item has its outcome and the chunk's hold is settled.
    pub settled: bool,
}

impl CashInChunk {
    pub fn total_minor(&self) -> i64 {
        self.items.iter().map(|i| i.amount_minor).sum()
    }
}

/// One e-wallet credit of a bulk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CashInItem {
    /// The requester's reference of the item, unique in its bulk.
    pub reference: String,
    /// The customer's wallet: its number (masked in logs), and the wallet's code (`ovo`).
    pub account: Masked,
    pub wallet: String,
    pub name: String,
    pub amount_minor: i64,
    /// How often its wallet was asked.
    #[serde(default)]
    pub attempts: u32,
    /// The wallet's final answer; `None` while it is not final.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ItemOutcome>,
}

/// How an item ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemOutcome {
    pub credited: bool,
    pub answer: ChannelAnswer,
    pub at: Timestamp,
}
