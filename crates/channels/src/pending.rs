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

/// How the pending transfer `reference` stands at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Standing {
    /// Not yet over: ask again after this many seconds.
    Pending {
        after_seconds: i64,
    },
    Failed,
    Succeeded,
}

/// Where the pending transfer `reference` stands at `now`. One remembered
/// without its end (by an earlier version), or not at all, is over.
async fn standing(store: &SharedStore, kind: &str, reference: &str, now: Timestamp) -> Standing {
    let Ok(Some(record)) = store.record(kind, reference).await else {
        return Standing::Succeeded;
    };
    if let Ok(ends) = record.data.decode::<Ends>() {
        if now < ends.at {
            let left = ends.at.unix_seconds() - now.unix_seconds();
            return Standing::Pending {
                after_seconds: left.max(1),
            };
        }
    }
    if record.state == "fails" {
        Standing::Failed
    } else {
        Standing::Succeeded
    }
}

/// The answer to a transfer asked about again, as it stands at `now`.
pub async fn asked_again(
    store: &SharedStore,
    kind: &str,
    reference: &str,
    now: Timestamp,
    failed: BankOutcome,
    succeeded: BankOutcome,
) -> BankOutcome {
    match standing(store, kind, reference, now).await {
        Standing::Pending { after_seconds } => BankOutcome::Pending {
            check_after_seconds: after_seconds,
        },
        Standing::Failed => failed,
        Standing::Succeeded => succeeded,
    }
}
