//! A simulated bank network that behaves like the real one, deterministically.
//!
//! Every well-formed account number (5 to 20 digits) at a known bank exists, held in
//! the name the partner gave (upper-cased; `ACCOUNT HOLDER 1234`, after the
//! number's last four digits, when it gave none), and transfers to it succeed — unless the
//! number ends in one of the magic suffixes below, an account was added through the
//! sandbox API, or an outcome was forced for the account's next transfer.
//!
//! | account ends with | name inquiry        | transfer                                  |
//! |-------------------|---------------------|-------------------------------------------|
//! | `9901`            | account not found   | fails: account not found                  |
//! | `9902`            | account closed      | fails: account closed                     |
//! | `9903`            | times out           | succeeds                                  |
//! | `9904`            | ok                  | rejected by the bank at once              |
//! | `9905`            | ok                  | pending for an hour, then succeeds        |
//! | `9906`            | ok                  | accepted, then fails                      |

use super::directory;
use super::{AccountHolder, BankNetwork, BankOutcome, BankTransfer, InquiryError};
use async_trait::async_trait;
use gerbang_core::Timestamp;
use gerbang_store::{Document, Expect, RecordWrite, SharedStore, Step};
use serde::{Deserialize, Serialize};

/// Records of accounts added through the sandbox API: key `BANK:ACCOUNT`.
pub const ACCOUNT_RECORD: &str = "sim.bank.account";
/// Records of a forced outcome for an account's next transfer: key `BANK:ACCOUNT`.
pub const FORCED_RECORD: &str = "sim.bank.next";

/// Records of transfers the simulator left pending: key = the transfer's reference;
/// state `succeeds` or `fails` says how they end.
pub const PENDING_RECORD: &str = "sim.bank.pending";

/// How long a "pending" transfer stays pending.
pub const PENDING_SECONDS: i64 = 3600;
/// How long an accepted transfer that will fail takes to fail.
pub const LATE_FAILURE_SECONDS: i64 = 60;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimAccount {
    pub name: String,
    #[serde(default)]
    pub closed: bool,
}

/// What the next transfer to an account does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForcedOutcome {
    Success,
    Reject,
    Pending,
    FailLater,
}

pub struct SimulatedBanks {
    store: SharedStore,
}

fn key(bank_code: &str, account: &str) -> String {
    format!("{bank_code}:{account}")
}

fn well_formed(account: &str) -> bool {
    (5..=20).contains(&account.len()) && account.bytes().all(|b| b.is_ascii_digit())
}

fn succeeded() -> BankOutcome {
    BankOutcome::Succeeded {
        code: "00".into(),
        message: "Success".into(),
    }
}

fn failed(code: &str, message: &str) -> BankOutcome {
    BankOutcome::Failed {
        code: code.into(),
        message: message.into(),
    }
}

impl SimulatedBanks {
    pub fn new(store: SharedStore) -> Self {
        SimulatedBanks { store }
    }

    /// Adds (or replaces) an account the simulator knows by name.
    pub async fn add_account(
        &self,
        now: Timestamp,
        bank_code: &str,
        account: &str,
        holder: SimAccount,
    ) -> Result<(), String> {
        let bank = directory::by_code(bank_code).ok_or("unknown bank code")?;
        if !well_formed(account) {
            return Err("account: 5 to 20 digits".into());
        }
        self.put(
            now,
            ACCOUNT_RECORD,
            &key(bank.code, account),
            Document::of(&holder),
        )
        .await
    }

    /// Makes the next transfer to an account end as `outcome`.
    pub async fn force_next(
        &self,
        now: Timestamp,
        bank_code: &str,
        account: &str,
        outcome: ForcedOutcome,
    ) -> Result<(), String> {
        let bank = directory::by_code(bank_code).ok_or("unknown bank code")?;
        if !well_formed(account) {
            return Err("account: 5 to 20 digits".into());
        }
        self.put(
            now,
            FORCED_RECORD,
            &key(bank.code, account),
            Document::of(&outcome),
        )
        .await
    }

    async fn put(
        &self,
        now: Timestamp,
        kind: &str,
        key: &str,
        data: Document,
    ) -> Result<(), String> {
        self.store
            .commit(
                now,
                Step {
                    records: vec![RecordWrite {
                        kind: kind.into(),
                        key: key.into(),
                        owner: "sandbox".into(),
                        state: "armed".into(),
                        data,
                        expect: Expect::Any,
                    }],
                    ..Step::default()
                },
            )
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Accepts a transfer without a final answer and remembers how it will end.
    async fn pend(&self, now: Timestamp, t: &BankTransfer, after: i64, fails: bool) -> BankOutcome {
        crate::pending::remember(&self.store, PENDING_RECORD, now, &t.reference, after, fails).await
    }

    async fn added(&self, bank_code: &str, account: &str) -> Option<SimAccount> {
        let record = self
            .store
            .record(ACCOUNT_RECORD, &key(bank_code, account))
            .await
            .ok()??;
        record.data.decode().ok()
    }

    /// Takes the forced outcome for an account's next transfer, if one is armed.
    async fn take_forced(
        &self,
        now: Timestamp,
        bank_code: &str,
        account: &str,
    ) -> Option<ForcedOutcome> {
        let k = key(bank_code, account);
        let record = self.store.record(FORCED_RECORD, &k).await.ok()??;
        if record.state != "armed" {
            return None;
        }
        let outcome: ForcedOutcome = record.data.decode().ok()?;
        // Used once: whoever marks it used first gets it.
        self.store
            .commit(
                now,
                Step {
                    records: vec![RecordWrite {
                        kind: FORCED_RECORD.into(),
                        key: k,
                        owner: record.owner,
                        state: "used".into(),
                        data: record.data,
                        expect: Expect::Version(record.version),
                    }],
                    ..Step::default()
                },
            )
            .await
            .ok()?;
        Some(outcome)
    }
}

#[async_trait]
impl BankNetwork for SimulatedBanks {
    async fn inquiry(
        &self,
        bank_code: &str,
        account: &str,
        claimed_name: &str,
    ) -> Result<AccountHolder, InquiryError> {
        let bank = directory::by_code(bank_code)
            .ok_or_else(|| InquiryError::UnknownBank(bank_code.to_string()))?;
        if let Some(added) = self.added(bank.code, account).await {
            if added.closed {
                return Err(InquiryError::ClosedAccount);
            }
            return Ok(AccountHolder {
                name: added.name.to_uppercase(),
            });
        }
        if !well_formed(account) || account.ends_with("9901") {
            return Err(InquiryError::UnknownAccount);
        }
        if account.ends_with("9902") {
            return Err(InquiryError::ClosedAccount);
        }
        if account.ends_with("9903") {
            return Err(InquiryError::Timeout);
        }
        let claimed = claimed_name.trim();
        let name = if claimed.is_empty() {
            // Asked without a name (a SNAP account inquiry): a name of its own.
            let last_four: String = account
                .chars()
                .skip(account.chars().count().saturating_sub(4))
                .collect();
            format!("ACCOUNT HOLDER {last_four}")
        } else {
            claimed.to_uppercase()
        };
        Ok(AccountHolder { name })
    }

    async fn transfer(&self, t: &BankTransfer, now: Timestamp) -> BankOutcome {
        let Some(bank) = directory::by_code(&t.bank_code) else {
            return failed("14", "Unknown bank");
        };
        // A transfer that was pending: its fate was decided when it was accepted,
        // and it stays pending until its time is up.
        if t.attempt > 0 {
            return crate::pending::asked_again(
                &self.store,
                PENDING_RECORD,
                &t.reference,
                now,
                failed("05", "Transaction failed"),
                succeeded(),
            )
            .await;
        }
        let fate = match self.take_forced(now, bank.code, &t.account).await {
            Some(forced) => Fate::forced(forced),
            None => match self.added(bank.code, &t.account).await {
                Some(added) if added.closed => Fate::Fail("52", "Account closed"),
                Some(_) => Fate::Succeed,
                None => Fate::by_number(&t.account),
            },
        };
        match fate {
            Fate::Succeed => succeeded(),
            Fate::Fail(code, message) => failed(code, message),
            Fate::Pend { after, fails } => self.pend(now, t, after, fails).await,
        }
    }
}

/// How a transfer's first answer goes.
enum Fate {
    Succeed,
    Fail(&'static str, &'static str),
    /// Pending for `after` seconds, then succeeds or (`fails`) fails.
    Pend {
        after: i64,
        fails: bool,
    },
}

impl Fate {
    fn forced(outcome: ForcedOutcome) -> Self {
        match outcome {
            ForcedOutcome::Success => Fate::Succeed,
            ForcedOutcome::Reject => Fate::Fail("05", "Transaction rejected by the bank"),
            ForcedOutcome::Pending => Fate::Pend {
                after: PENDING_SECONDS,
                fails: false,
            },
            ForcedOutcome::FailLater => Fate::Pend {
                after: LATE_FAILURE_SECONDS,
                fails: true,
            },
        }
    }

    /// The magic account numbers of the table at the top of this file.
    fn by_number(account: &str) -> Self {
        if !well_formed(account) || account.ends_with("9901") {
            Fate::Fail("76", "Account not found")
        } else if account.ends_with("9902") {
            Fate::Fail("52", "Account closed")
        } else if account.ends_with("9904") {
            Fate::forced(ForcedOutcome::Reject)
        } else if account.ends_with("9905") {
            Fate::forced(ForcedOutcome::Pending)
        } else if account.ends_with("9906") {
            Fate::forced(ForcedOutcome::FailLater)
        } else {
            Fate::Succeed
        }
    }
}
