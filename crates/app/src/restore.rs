//! A gateway started on a backup copy. The copy knows when it was taken (the
//! `backup.taken` record `gerbang backup` writes into it), but not what the lost
//! database accepted after that moment: a partner retrying such a transfer would
//! otherwise have its reference taken again for a second movement. So until an
//! operator has reconciled that gap against the channels' statements and confirmed
//! it (`gerbang restore confirm`), new references are refused; references the
//! copy knows answer as before, and everything pending in the copy goes on.

use crate::App;
use gerbang_store::{Expect, RecordWrite, SharedStore, Step, StoreError};
use std::sync::atomic::{AtomicBool, Ordering};

pub use gerbang_store::sqlite::backup::TAKEN_RECORD;

/// The record's state in a copy nobody has confirmed yet.
const TAKEN: &str = "taken";
/// Its state once an operator has confirmed the restore.
const CONFIRMED: &str = "confirmed";

/// Whether new references wait for an operator's confirmation, remembered so
/// that a database that is not a restored copy costs nothing per request.
#[derive(Debug, Default)]
pub struct RestoreGuard {
    awaiting: AtomicBool,
}

/// A restored copy's state, as `gerbang restore status` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Restored {
    /// Not a backup copy.
    No,
    /// Taken at that time; new references refused until confirmed.
    Unconfirmed {
        taken_at: String,
    },
    Confirmed {
        taken_at: String,
    },
}

pub async fn status(store: &SharedStore) -> Result<Restored, StoreError> {
    Ok(match store.record(TAKEN_RECORD, TAKEN_RECORD).await? {
        None => Restored::No,
        Some(r) => {
            let taken_at = r.data.value()["taken_at"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if r.state == TAKEN {
                Restored::Unconfirmed { taken_at }
            } else {
                Restored::Confirmed { taken_at }
            }
        }
    })
}

impl RestoreGuard {
    pub async fn load(store: &SharedStore) -> Result<Self, StoreError> {
        let awaiting = matches!(status(store).await?, Restored::Unconfirmed { .. });
        if awaiting {
            tracing::warn!(
                "this database is a restored backup: new payout references are refused until an \
                 operator reconciles the time since the backup and runs `gerbang restore confirm`"
            );
        }
        Ok(RestoreGuard {
            awaiting: AtomicBool::new(awaiting),
        })
    }

    /// Whether new references are refused now. Reads the store only while they
    /// are, so a confirmation made by another process is seen at the next request.
    pub async fn refuses_new_references(&self, store: &SharedStore) -> Result<bool, StoreError> {
        if !self.awaiting.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let awaiting = matches!(status(store).await?, Restored::Unconfirmed { .. });
        self.awaiting.store(awaiting, Ordering::Relaxed);
        Ok(awaiting)
    }
}

/// Marks this database as restored from a copy of `taken_at` (a PostgreSQL
/// point-in-time recovery, or a copy made by other means): new references are
/// refused until [`confirm`] by gateways started after it (mark before starting them).
pub async fn mark(app: &App, taken_at: &str, note: &str) -> Result<(), StoreError> {
    let data = serde_json::json!({
        "taken_at": taken_at,
        "marked_at": app.now().rfc3339(),
        "mark": note,
    });
    app.commit(Step {
        records: vec![RecordWrite {
            kind: TAKEN_RECORD.into(),
            key: TAKEN_RECORD.into(),
            owner: "gateway".into(),
            state: TAKEN.into(),
            data: gerbang_core::Document::of(&data),
            expect: Expect::Any,
        }],
        ..Step::default()
    })
    .await
    .map_err(|e| StoreError(e.to_string()))?;
    app.restore_guard.awaiting.store(true, Ordering::Relaxed);
    Ok(())
}

/// Records the operator's confirmation; `Ok(false)` when there was nothing to confirm.
pub async fn confirm(app: &App, note: &str) -> Result<bool, StoreError> {
    let Some(r) = app.store.record(TAKEN_RECORD, TAKEN_RECORD).await? else {
        return Ok(false);
    };
    if r.state != TAKEN {
        return Ok(false);
    }
    let mut data = r.data.value();
    data["confirmed_at"] = app.now().rfc3339().into();
    data["confirmation"] = note.into();
    app.commit(Step {
        records: vec![RecordWrite {
            kind: TAKEN_RECORD.into(),
            key: TAKEN_RECORD.into(),
            owner: r.owner,
            state: CONFIRMED.into(),
            data: gerbang_core::Document::of(&data),
            expect: Expect::Version(r.version),
        }],
        ..Step::default()
    })
    .await
    .map_err(|e| StoreError(e.to_string()))?;
    Ok(true)
}
