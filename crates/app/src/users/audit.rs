//! The audit log: one entry per action taken in the dashboard, written in the
//! same step as what it records, never changed (no path here writes one twice).

use super::UserError;
use crate::App;
use gerbang_core::user::{AuditEntry, Scope};
use gerbang_core::Document;
use gerbang_store::{Expect, RecordWrite, Step};

/// Longest text kept from what a client typed (a name at a failed sign-in).
const MAX_GIVEN_CHARS: usize = 64;

/// `given` cut to a length fit for the log.
pub fn given(text: &str) -> String {
    text.chars().take(MAX_GIVEN_CHARS).collect()
}

/// An entry made now (wall clock): `actor` did `action` in `scope` from `from`.
pub fn entry(actor: &str, scope: &Scope, action: &str, detail: &str, from: &str) -> AuditEntry {
    AuditEntry {
        at: super::now(),
        actor: actor.to_string(),
        scope: scope.clone(),
        action: action.into(),
        detail: detail.into(),
        from: from.to_string(),
    }
}

/// The write that adds `entry` to the log.
pub fn write(entry: &AuditEntry) -> RecordWrite {
    RecordWrite {
        kind: AuditEntry::KIND.into(),
        key: entry.key(rand::random()),
        owner: entry.scope.owner(),
        state: entry.action.clone(),
        data: Document::of(entry),
        expect: Expect::Absent,
    }
}

/// Adds `entry` to the log on its own.
pub async fn record(app: &App, entry: &AuditEntry) -> Result<(), UserError> {
    app.commit(Step {
        records: vec![write(entry)],
        ..Step::default()
    })
    .await?;
    Ok(())
}

/// Most entries a page shows.
pub const MAX_PAGE: u32 = 200;

/// A page of the log as `scope` may see it, newest first, after the entry keyed
/// `after`; and the key to ask the next page after, when there may be one.
pub async fn page(
    app: &App,
    scope: &Scope,
    after: Option<&str>,
    limit: u32,
) -> Result<(Vec<AuditEntry>, Option<String>), UserError> {
    let limit = limit.clamp(1, MAX_PAGE);
    let owner = (*scope != Scope::Operator).then(|| scope.owner());
    let records = app
        .store
        .records(AuditEntry::KIND, owner.as_deref(), after, limit)
        .await?;
    let next = (records.len() as u32 == limit)
        .then(|| records.last().map(|r| r.key.clone()))
        .flatten();
    let entries = records
        .iter()
        .map(|r| {
            r.data
                .decode::<AuditEntry>()
                .map_err(|e| UserError::Store(format!("audit entry {} is unreadable: {e}", r.key)))
        })
        .collect::<Result<_, _>>()?;
    Ok((entries, next))
}
