//! What a simulator remembers about a transfer it left pending: when it ends and
//! how. One record per transfer reference, of the simulator's kind. Asked again
//! before then, the transfer is still pending — however many times it is asked.

use crate::bank::BankOutcome;
use gerbang_core::Timestamp;
use gerbang_store::{Document, Expect, RecordWrite, SharedStore, Step};
use serde::{Deserialize, Serialize};

/// When a pending transfer ends (its record's document; its state says how).
#[derive(Serialize, Deserialize)]
struct Ends {
    at: Timestamp,
}

/// Remembers that the transfer `reference` ends failed (`fails`) or succeeded
/// `after` seconds from `now`, and answers "pending, ask again after `after`
/// seconds".
pub async fn remember(
    store: &SharedStore,
    kind: &str,
    now: Timestamp,
    reference: &str,
    after: i64,
    fails: bool,
) -> BankOutcome {
    let remembered = store
        .commit(
            now,
            Step {
                records: vec![RecordWrite {
                    kind: kind.into(),
                    key: reference.into(),
                    owner: "sandbox".into(),
                    state: if fails { "fails" } else { "succeeds" }.into(),
                    data: Document::of(&Ends {
                        at: now.plus_seconds(after),
                    }),
                    expect: Expect::Any,
                }],
                ..Step::default()
            },
        )
        .await;
    match remembered {
        Ok(_) => BankOutcome::Pending {
            check_after_seconds: after,
        },
        Err(_) => BankOutcome::Failed {
            code: "91".into(),
            message: "System error".into(),
        },
    }
}

/// The answer to the transfer `reference` asked about again at `now`: still
/// pending until its end, then `failed` or `succeeded` as remembered. One
/// remembered without its end (by an earlier version), or not at all, is over.
pub async fn asked_again(
    store: &SharedStore,
    kind: &str,
    reference: &str,
    now: Timestamp,
    failed: BankOutcome,
    succeeded: BankOutcome,
) -> BankOutcome {
    let Ok(Some(record)) = store.record(kind, reference).await else {
        return succeeded;
    };
    if let Ok(ends) = record.data.decode::<Ends>() {
        if now < ends.at {
            return BankOutcome::Pending {
                check_after_seconds: (ends.at.unix_seconds() - now.unix_seconds()).max(1),
            };
        }
    }
    if record.state == "fails" {
        failed
    } else {
        succeeded
    }
}
