//! What a simulator remembers about a transfer it left pending: how it will end
//! when asked again. One record per transfer reference, of the simulator's kind.

use crate::bank::BankOutcome;
use gerbang_core::Timestamp;
use gerbang_store::{Document, Expect, RecordWrite, SharedStore, Step};

/// Remembers that the transfer `reference` will end failed (`fails`) or succeeded,
/// and answers "pending, ask again after `after` seconds".
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
                    data: Document::of(&()),
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

/// Whether the pending transfer `reference` was set to end failed.
pub async fn ends_in_failure(store: &SharedStore, kind: &str, reference: &str) -> bool {
    matches!(store.record(kind, reference).await, Ok(Some(r)) if r.state == "fails")
}
