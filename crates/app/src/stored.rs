//! Typed reads of stored records: the JSON document decoded, with its version.

use gerbang_store::{Store, StoreError};
use serde::de::DeserializeOwned;

/// The record `kind`/`key` decoded as `T`, with its version; an undecodable record
/// is an error naming it.
pub async fn load<T: DeserializeOwned>(
    store: &dyn Store,
    kind: &str,
    key: &str,
) -> Result<Option<(T, i64)>, StoreError> {
    let Some(record) = store.record(kind, key).await? else {
        return Ok(None);
    };
    let value = record
        .data
        .decode()
        .map_err(|e| StoreError(format!("stored {kind} {key} is unreadable: {e}")))?;
    Ok(Some((value, record.version)))
}

/// The record `kind`/`key` for a timer's handler: a record that cannot be read
/// will never be, so that is a permanent failure, not one to retry.
pub async fn load_for_timer<T: DeserializeOwned>(
    store: &dyn Store,
    kind: &str,
    key: &str,
) -> Result<Option<(T, i64)>, crate::scheduler::TimerError> {
    let Some(record) = store.record(kind, key).await? else {
        return Ok(None);
    };
    let value = record.data.decode().map_err(|e| {
        crate::scheduler::TimerError::Permanent(format!("stored {kind} {key} is unreadable: {e}"))
    })?;
    Ok(Some((value, record.version)))
}
