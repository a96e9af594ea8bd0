//! E-wallet top-ups: OVO (`ovo`), GoPay (`gpy`), DANA (`dna`) and LinkAja (`lkj`).
//! The wallet is addressed by the customer's phone number or wallet id; the partner
//! registers nothing first (the wallet is looked up, as Faspay does, at transfer).
//!
//! The simulator: every phone number of 8 to 15 digits has a wallet, held in the
//! name the partner gave (upper-cased; "OVO CUSTOMER 1234" when it gave none), and
//! top-ups succeed — except:
//!
//! | number ends with | name inquiry          | top-up                                  |
//! |------------------|-----------------------|-----------------------------------------|
//! | `9901`           | no wallet             | fails: no wallet                        |
//! | `9904`           | ok                    | rejected: the wallet's balance limit    |
//! | `9905`           | ok                    | pending for an hour, then succeeds      |
//! | `9906`           | ok                    | accepted, then fails                    |

use crate::bank::{AccountHolder, BankNetwork, BankOutcome, BankTransfer, InquiryError};
use async_trait::async_trait;
use gerbang_core::Timestamp;
use gerbang_store::SharedStore;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wallet {
    /// Its code in requests (`gpy`).
    pub code: &'static str,
    pub name: &'static str,
    /// Its name in ledger accounts and configuration (`gopay`).
    pub slug: &'static str,
}

pub const WALLETS: &[Wallet] = &[
    Wallet {
        code: "ovo",
        slug: "ovo",
        name: "OVO",
    },
    Wallet {
        code: "gpy",
        slug: "gopay",
        name: "GOPAY",
    },
    Wallet {
        code: "dna",
        slug: "dana",
        name: "DANA",
    },
    Wallet {
        code: "lkj",
        slug: "linkaja",
        name: "LINKAJA",
    },
];

/// The wallet with this code, in any case.
pub fn by_code(code: &str) -> Option<&'static Wallet> {
    WALLETS
        .iter()
        .find(|w| w.code.eq_ignore_ascii_case(code.trim()))
}

/// Records of top-ups left pending: key = reference, state `succeeds` or `fails`.
pub const PENDING_RECORD: &str = "sim.wallet.pending";

pub struct SimulatedWallets {
    store: SharedStore,
}

fn well_formed(number: &str) -> bool {
    (8..=15).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit())
}

impl SimulatedWallets {
    pub fn new(store: SharedStore) -> Self {
        SimulatedWallets { store }
    }

    async fn pend(&self, now: Timestamp, t: &BankTransfer, after: i64, fails: bool) -> BankOutcome {
        crate::pending::remember(&self.store, PENDING_RECORD, now, &t.reference, after, fails).await
    }
}

#[async_trait]
impl BankNetwork for SimulatedWallets {
    async fn inquiry(
        &self,
        wallet: &str,
        number: &str,
        claimed_name: &str,
    ) -> Result<AccountHolder, InquiryError> {
        let w = by_code(wallet).ok_or_else(|| InquiryError::UnknownBank(wallet.to_string()))?;
        if !well_formed(number) || number.ends_with("9901") {
            return Err(InquiryError::UnknownAccount);
        }
        let name = match claimed_name.trim() {
            "" => format!("{} CUSTOMER {}", w.name, &number[number.len() - 4..]),
            given => given.to_uppercase(),
        };
        Ok(AccountHolder { name })
    }

    async fn transfer(&self, t: &BankTransfer, now: Timestamp) -> BankOutcome {
        let failed = |code: &str, message: &str| BankOutcome::Failed {
            code: code.into(),
            message: message.into(),
        };
        let succeeded = BankOutcome::Succeeded {
            code: "00".into(),
            message: "Success".into(),
        };
        if by_code(&t.bank_code).is_none() {
            return failed("14", "Unknown wallet");
        }
        if t.attempt > 0 {
            return crate::pending::asked_again(
                &self.store,
                PENDING_RECORD,
                &t.reference,
                now,
                failed("05", "Top-up failed"),
                succeeded,
            )
            .await;
        }
        let n = t.account.as_str();
        if !well_formed(n) || n.ends_with("9901") {
            failed("76", "Wallet not found")
        } else if n.ends_with("9904") {
            failed("61", "Wallet balance limit exceeded")
        } else if n.ends_with("9905") {
            self.pend(now, t, 3600, false).await
        } else if n.ends_with("9906") {
            self.pend(now, t, 60, true).await
        } else {
            succeeded
        }
    }
}

/// Routes each transfer to the network its code names: a wallet code to the
/// wallets, anything else to the banks.
pub struct ChannelRouter {
    pub banks: std::sync::Arc<dyn BankNetwork>,
    pub wallets: std::sync::Arc<dyn BankNetwork>,
}

impl ChannelRouter {
    fn network(&self, code: &str) -> &dyn BankNetwork {
        if by_code(code).is_some() {
            &*self.wallets
        } else {
            &*self.banks
        }
    }
}

#[async_trait]
impl BankNetwork for ChannelRouter {
    async fn inquiry(
        &self,
        code: &str,
        account: &str,
        claimed_name: &str,
    ) -> Result<AccountHolder, InquiryError> {
        self.network(code)
            .inquiry(code, account, claimed_name)
            .await
    }

    async fn transfer(&self, t: &BankTransfer, now: Timestamp) -> BankOutcome {
        self.network(&t.bank_code).transfer(t, now).await
    }
}
