//! The bank network: name inquiry and transfers to accounts at Indonesian banks.

pub mod directory;
pub mod simulator;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// What a bank says about an account during a name inquiry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountHolder {
    /// The holder's name as the bank has it (upper case, as banks answer).
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum InquiryError {
    #[error("unknown bank {0}")]
    UnknownBank(String),
    #[error("account not found")]
    UnknownAccount,
    #[error("account is closed")]
    ClosedAccount,
    #[error("the bank did not answer in time")]
    Timeout,
}

/// A transfer as sent to a bank.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankTransfer {
    /// The gateway's reference for it; the bank answers idempotently per reference.
    pub reference: String,
    pub bank_code: String,
    pub account: String,
    pub name: String,
    pub amount_minor: i64,
    /// How many times this transfer was sent or checked before.
    pub attempt: u32,
}

/// The bank's answer to a transfer (or to a later status check).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BankOutcome {
    Succeeded {
        code: String,
        message: String,
    },
    Failed {
        code: String,
        message: String,
    },
    /// Accepted but not final: ask again after this many seconds.
    Pending {
        check_after_seconds: i64,
    },
}

#[async_trait]
pub trait BankNetwork: Send + Sync {
    /// Who holds `account` at the bank. `claimed_name` is the name the partner gave;
    /// a simulator may use it, a real bank never needs it.
    async fn inquiry(
        &self,
        bank_code: &str,
        account: &str,
        claimed_name: &str,
    ) -> Result<AccountHolder, InquiryError>;
    /// Sends a transfer (`attempt` 0), or asks again about one that was pending.
    async fn transfer(&self, transfer: &BankTransfer, now: gerbang_core::Timestamp) -> BankOutcome;
}
