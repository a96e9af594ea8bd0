//! Double-entry ledger rules.
//!
//! Sign convention: a posting's `amount` is signed; a positive amount raises the
//! account's balance. Every entry's postings sum to zero, so all postings ever
//! written sum to zero. An account's `balance` is the sum of its postings; its
//! `pending` is the sum of its live holds; `available = balance - pending`.
//! Accounts whose kind forbids it never have a negative `available`.
//!
//! A hold reserves an amount on one account. It ends exactly once: posted (an
//! entry moves the amount from the held account to the hold's credit accounts),
//! voided (released by the workflow) or expired (released by the scheduler).
//!
//! [`model::Ledger`] is an in-memory implementation of these rules; the stores
//! implement the same rules in SQL and the property tests compare them.

use crate::{Currency, Timestamp};
use serde::{Deserialize, Serialize};

/// What an account is for; decides whether it may go below zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// A SendMe / SNAP partner's disbursement balance (money the gateway owes the partner).
    PartnerBalance,
    /// A Debit merchant's settlement balance.
    MerchantSettlement,
    /// Money in transit with one upstream channel (a bank, a store network, a wallet).
    ChannelClearing,
    /// Fees earned by the operator.
    Fees,
    /// Where the operator's deposits come from: goes negative as money enters the system.
    OperatorFunding,
}

impl AccountKind {
    pub fn may_go_negative(self) -> bool {
        matches!(
            self,
            AccountKind::ChannelClearing | AccountKind::OperatorFunding
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::PartnerBalance => "partner_balance",
            AccountKind::MerchantSettlement => "merchant_settlement",
            AccountKind::ChannelClearing => "channel_clearing",
            AccountKind::Fees => "fees",
            AccountKind::OperatorFunding => "operator_funding",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "partner_balance" => AccountKind::PartnerBalance,
            "merchant_settlement" => AccountKind::MerchantSettlement,
            "channel_clearing" => AccountKind::ChannelClearing,
            "fees" => AccountKind::Fees,
            "operator_funding" => AccountKind::OperatorFunding,
            _ => return None,
        })
    }
}

/// Conventional account codes, so every part of the system names accounts alike.
pub mod codes {
    pub const OPERATOR_FUNDING: &str = "operator:funding";
    pub const FEES: &str = "operator:fees";

    pub fn partner_balance(virtual_account: &str) -> String {
        format!("partner:{virtual_account}")
    }

    pub fn merchant_settlement(merchant_id: &str) -> String {
        format!("merchant:{merchant_id}")
    }

    pub fn channel_clearing(channel: &str) -> String {
        format!("channel:{channel}")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAccount {
    pub code: String,
    pub kind: AccountKind,
    pub currency: Currency,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    pub account: String,
    pub amount: i64,
}

/// A balanced movement between accounts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEntry {
    /// What kind of movement: `topup`, `transfer`, `fee`, …
    pub kind: String,
    /// The business reference it belongs to (a transfer number, a top-up reference).
    pub reference: String,
    pub description: String,
    pub currency: Currency,
    pub postings: Vec<Posting>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewHold {
    /// Unique for the hold's whole life; the workflow that made it names it.
    pub key: String,
    pub account: String,
    pub amount: i64,
    pub currency: Currency,
    pub expires_at: Option<Timestamp>,
}

/// How a hold is settled: an entry moving the held amount to `credits`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostHold {
    pub key: String,
    pub kind: String,
    pub reference: String,
    pub description: String,
    /// Credit postings; their amounts are positive and sum to the held amount.
    pub credits: Vec<Posting>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LedgerOp {
    Transfer(NewEntry),
    Hold(NewHold),
    Post(PostHold),
    Void { key: String },
    Expire { key: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldState {
    Pending,
    Posted,
    Voided,
    Expired,
}

impl HoldState {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldState::Pending => "pending",
            HoldState::Posted => "posted",
            HoldState::Voided => "voided",
            HoldState::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pending" => HoldState::Pending,
            "posted" => HoldState::Posted,
            "voided" => HoldState::Voided,
            "expired" => HoldState::Expired,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum LedgerError {
    #[error("unknown account {0}")]
    UnknownAccount(String),
    #[error("account {0} already exists with another kind or currency")]
    AccountMismatch(String),
    #[error("insufficient available balance on {0}")]
    InsufficientFunds(String),
    #[error("entry does not balance")]
    Unbalanced,
    #[error("entry needs at least two postings, none of them zero")]
    MalformedEntry,
    #[error("currency of {0} differs from the entry's")]
    CurrencyMismatch(String),
    #[error("amount must be positive")]
    NonPositiveAmount,
    #[error("hold {0} already exists")]
    DuplicateHold(String),
    #[error("unknown hold {0}")]
    UnknownHold(String),
    #[error("hold {key} is already {state:?}")]
    HoldNotPending { key: String, state: HoldState },
    #[error("posting of hold {0} does not add up to the held amount")]
    PostMismatch(String),
}

impl NewEntry {
    /// Shape checks that need no account data: two or more non-zero postings summing to zero.
    pub fn check_shape(&self) -> Result<(), LedgerError> {
        if self.postings.len() < 2 || self.postings.iter().any(|p| p.amount == 0) {
            return Err(LedgerError::MalformedEntry);
        }
        let mut sum: i128 = 0;
        for p in &self.postings {
            sum += i128::from(p.amount);
        }
        if sum != 0 {
            return Err(LedgerError::Unbalanced);
        }
        Ok(())
    }
}

impl PostHold {
    /// The entry that settles a hold of `amount` on `account`.
    pub fn to_entry(
        &self,
        account: &str,
        amount: i64,
        currency: Currency,
    ) -> Result<NewEntry, LedgerError> {
        let mut total: i128 = 0;
        for c in &self.credits {
            if c.amount <= 0 {
                return Err(LedgerError::PostMismatch(self.key.clone()));
            }
            total += i128::from(c.amount);
        }
        if total != i128::from(amount) {
            return Err(LedgerError::PostMismatch(self.key.clone()));
        }
        let mut postings = Vec::with_capacity(self.credits.len() + 1);
        postings.push(Posting {
            account: account.to_string(),
            amount: -amount,
        });
        postings.extend(self.credits.iter().cloned());
        Ok(NewEntry {
            kind: self.kind.clone(),
            reference: self.reference.clone(),
            description: self.description.clone(),
            currency,
            postings,
        })
    }
}

pub mod model {
    //! An in-memory ledger that applies [`LedgerOp`]s by the rules above. It is the
    //! oracle the stores are compared with.

    use super::*;
    use std::collections::BTreeMap;

    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct AccountState {
        pub kind: AccountKind,
        pub currency: Currency,
        pub balance: i64,
        pub pending: i64,
    }

    impl AccountState {
        pub fn available(&self) -> i64 {
            self.balance - self.pending
        }
    }

    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct HoldRecord {
        pub hold: NewHold,
        pub state: HoldState,
    }

    #[derive(Clone, Debug, Default)]
    pub struct Ledger {
        pub accounts: BTreeMap<String, AccountState>,
        pub holds: BTreeMap<String, HoldRecord>,
        pub entries: Vec<NewEntry>,
    }

    impl Ledger {
        pub fn open(&mut self, account: &NewAccount) -> Result<(), LedgerError> {
            match self.accounts.get(&account.code) {
                Some(a) if a.kind == account.kind && a.currency == account.currency => Ok(()),
                Some(_) => Err(LedgerError::AccountMismatch(account.code.clone())),
                None => {
                    self.accounts.insert(
                        account.code.clone(),
                        AccountState {
                            kind: account.kind,
                            currency: account.currency,
                            balance: 0,
                            pending: 0,
                        },
                    );
                    Ok(())
                }
            }
        }

        /// Applies all ops or none.
        pub fn apply_all(&mut self, ops: &[LedgerOp]) -> Result<(), LedgerError> {
            let mut next = self.clone();
            for op in ops {
                next.apply(op)?;
            }
            *self = next;
            Ok(())
        }

        fn apply(&mut self, op: &LedgerOp) -> Result<(), LedgerError> {
            match op {
                LedgerOp::Transfer(entry) => self.post_entry(entry),
                LedgerOp::Hold(hold) => {
                    if hold.amount <= 0 {
                        return Err(LedgerError::NonPositiveAmount);
                    }
                    let account = self
                        .accounts
                        .get_mut(&hold.account)
                        .ok_or_else(|| LedgerError::UnknownAccount(hold.account.clone()))?;
                    if account.currency != hold.currency {
                        return Err(LedgerError::CurrencyMismatch(hold.account.clone()));
                    }
                    if self.holds.contains_key(&hold.key) {
                        return Err(LedgerError::DuplicateHold(hold.key.clone()));
                    }
                    if !account.kind.may_go_negative() && account.available() < hold.amount {
                        return Err(LedgerError::InsufficientFunds(hold.account.clone()));
                    }
                    account.pending += hold.amount;
                    self.holds.insert(
                        hold.key.clone(),
                        HoldRecord {
                            hold: hold.clone(),
                            state: HoldState::Pending,
                        },
                    );
                    Ok(())
                }
                LedgerOp::Post(post) => {
                    let record = self.pending_hold(&post.key)?;
                    let entry = post.to_entry(
                        &record.hold.account,
                        record.hold.amount,
                        record.hold.currency,
                    )?;
                    let (account, amount) = (record.hold.account.clone(), record.hold.amount);
                    self.accounts
                        .get_mut(&account)
                        .expect("held account")
                        .pending -= amount;
                    if let Err(e) = self.post_entry(&entry) {
                        self.accounts
                            .get_mut(&account)
                            .expect("held account")
                            .pending += amount;
                        return Err(e);
                    }
                    self.holds.get_mut(&post.key).expect("hold").state = HoldState::Posted;
                    Ok(())
                }
                LedgerOp::Void { key } => self.release(key, HoldState::Voided),
                LedgerOp::Expire { key } => self.release(key, HoldState::Expired),
            }
        }

        fn pending_hold(&self, key: &str) -> Result<HoldRecord, LedgerError> {
            let record = self
                .holds
                .get(key)
                .ok_or_else(|| LedgerError::UnknownHold(key.to_string()))?;
            if record.state != HoldState::Pending {
                return Err(LedgerError::HoldNotPending {
                    key: key.to_string(),
                    state: record.state,
                });
            }
            Ok(record.clone())
        }

        fn release(&mut self, key: &str, end: HoldState) -> Result<(), LedgerError> {
            let record = self.pending_hold(key)?;
            self.accounts
                .get_mut(&record.hold.account)
                .expect("held account")
                .pending -= record.hold.amount;
            self.holds.get_mut(key).expect("hold").state = end;
            Ok(())
        }

        fn post_entry(&mut self, entry: &NewEntry) -> Result<(), LedgerError> {
            entry.check_shape()?;
            for p in &entry.postings {
                let account = self
                    .accounts
                    .get(&p.account)
                    .ok_or_else(|| LedgerError::UnknownAccount(p.account.clone()))?;
                if account.currency != entry.currency {
                    return Err(LedgerError::CurrencyMismatch(p.account.clone()));
                }
            }
            let mut next = self.accounts.clone();
            for p in &entry.postings {
                let account = next.get_mut(&p.account).expect("checked");
                account.balance += p.amount;
                if p.amount < 0 && !account.kind.may_go_negative() && account.available() < 0 {
                    return Err(LedgerError::InsufficientFunds(p.account.clone()));
                }
            }
            self.accounts = next;
            self.entries.push(entry.clone());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::model::Ledger;
    use super::*;

    fn open(ledger: &mut Ledger, code: &str, kind: AccountKind) {
        ledger
            .open(&NewAccount {
                code: code.into(),
                kind,
                currency: Currency::Idr,
            })
            .unwrap();
    }

    fn transfer(from: &str, to: &str, amount: i64) -> LedgerOp {
        LedgerOp::Transfer(NewEntry {
            kind: "transfer".into(),
            reference: "r".into(),
            description: String::new(),
            currency: Currency::Idr,
            postings: vec![
                Posting {
                    account: from.into(),
                    amount: -amount,
                },
                Posting {
                    account: to.into(),
                    amount,
                },
            ],
        })
    }

    #[test]
    fn hold_then_post_moves_money_once() {
        let mut l = Ledger::default();
        open(&mut l, "fund", AccountKind::OperatorFunding);
        open(&mut l, "p", AccountKind::PartnerBalance);
        open(&mut l, "bank", AccountKind::ChannelClearing);
        l.apply_all(&[transfer("fund", "p", 1000)]).unwrap();
        let hold = LedgerOp::Hold(NewHold {
            key: "h".into(),
            account: "p".into(),
            amount: 600,
            currency: Currency::Idr,
            expires_at: None,
        });
        l.apply_all(std::slice::from_ref(&hold)).unwrap();
        assert_eq!(l.accounts["p"].available(), 400);
        assert_eq!(
            l.apply_all(&[hold]),
            Err(LedgerError::DuplicateHold("h".into()))
        );
        let post = LedgerOp::Post(PostHold {
            key: "h".into(),
            kind: "transfer".into(),
            reference: "r".into(),
            description: String::new(),
            credits: vec![Posting {
                account: "bank".into(),
                amount: 600,
            }],
        });
        l.apply_all(std::slice::from_ref(&post)).unwrap();
        assert_eq!((l.accounts["p"].balance, l.accounts["p"].pending), (400, 0));
        assert!(matches!(
            l.apply_all(&[post]),
            Err(LedgerError::HoldNotPending { .. })
        ));
        assert_eq!(
            l.apply_all(&[LedgerOp::Void { key: "h".into() }]),
            Err(LedgerError::HoldNotPending {
                key: "h".into(),
                state: HoldState::Posted
            })
        );
    }

    #[test]
    fn overdraft_is_refused_and_nothing_applies() {
        let mut l = Ledger::default();
        open(&mut l, "fund", AccountKind::OperatorFunding);
        open(&mut l, "p", AccountKind::PartnerBalance);
        let err = l
            .apply_all(&[transfer("fund", "p", 10), transfer("p", "fund", 11)])
            .unwrap_err();
        assert_eq!(err, LedgerError::InsufficientFunds("p".into()));
        assert_eq!(l.accounts["p"].balance, 0);
        assert!(l.entries.is_empty());
    }
}
