//! Money entering a partner's balance: a deposit to its virtual account. In the
//! sandbox the deposit is announced through the sandbox API; a real deployment
//! would take it from the bank's account statement.

use crate::principals::{self, SendmePartner};
use gerbang_core::ledger::{codes, LedgerOp, NewEntry, Posting};
use gerbang_core::{Currency, Timestamp};
use gerbang_store::{NewIdempotency, SharedStore, Step, StepError};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum TopupError {
    #[error("no partner has virtual account {0}")]
    UnknownPartner(String),
    #[error("amount must be positive")]
    NonPositive,
    #[error("reference {0} was already used for another top-up")]
    ReferenceReused(String),
    #[error("storage: {0}")]
    Store(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topup {
    pub virtual_account: String,
    pub amount: i64,
    pub reference: String,
    pub entry_id: i64,
}

/// Credits `amount` minor units to a partner, once per `reference`: the same
/// reference again returns the first top-up; with another amount it is refused.
pub async fn topup(
    store: &SharedStore,
    now: Timestamp,
    virtual_account: &str,
    amount: i64,
    reference: &str,
) -> Result<Topup, TopupError> {
    if amount <= 0 {
        return Err(TopupError::NonPositive);
    }
    let partner: SendmePartner = principals::load(&**store, virtual_account)
        .await
        .map_err(|e| TopupError::Store(e.to_string()))?
        .ok_or_else(|| TopupError::UnknownPartner(virtual_account.to_string()))?;
    let fingerprint = format!("{virtual_account}:{amount}");
    let scope = "topup";
    let key = format!("{virtual_account}:{reference}");
    let step = |response: String| Step {
        idempotency: Some(NewIdempotency {
            scope: scope.into(),
            key: key.clone(),
            fingerprint: fingerprint.clone(),
            response,
        }),
        ledger: vec![LedgerOp::Transfer(NewEntry {
            kind: "topup".into(),
            reference: reference.to_string(),
            // The top-up's own reference; each face words its statement line.
            description: reference.to_string(),
            currency: Currency::Idr,
            postings: vec![
                Posting {
                    account: codes::OPERATOR_FUNDING.into(),
                    amount: -amount,
                },
                Posting {
                    account: partner.account_code(),
                    amount,
                },
            ],
        })],
        ..Step::default()
    };
    // The entry id is only known after the commit; the stored answer records the
    // request, and a retry reads the entry id back from it.
    let pending = Topup {
        virtual_account: virtual_account.to_string(),
        amount,
        reference: reference.to_string(),
        entry_id: 0,
    };
    let answer = serde_json::to_string(&pending).expect("serialises");
    match store.commit(now, step(answer)).await {
        Ok(outcome) => Ok(Topup {
            entry_id: outcome.entry_ids.first().copied().unwrap_or_default(),
            ..pending
        }),
        Err(StepError::Duplicate(existing)) if existing.fingerprint == fingerprint => {
            serde_json::from_str(&existing.response).map_err(|e| TopupError::Store(e.to_string()))
        }
        Err(StepError::Duplicate(_)) => Err(TopupError::ReferenceReused(reference.to_string())),
        Err(e) => Err(TopupError::Store(e.to_string())),
    }
}
