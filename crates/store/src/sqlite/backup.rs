//! Online backups of a SQLite database that a running gateway keeps writing.
//!
//! `VACUUM INTO` copies the database as one read transaction sees it: a
//! consistent snapshot, taken beside the writer without stopping it (WAL readers
//! never block the writer). The copy is written under a temporary name, marked
//! as a backup (the `backup.taken` record: when, from where, at which schema), checked —
//! `PRAGMA integrity_check` and every ledger invariant — and synced, and only
//! then renamed to its final name: a file at the final name is a complete,
//! checked backup.

use super::{applied_versions, ledger_report, open_reader};
use crate::{LedgerReport, StoreError};
use gerbang_core::Timestamp;
use rusqlite::{params, Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// The record kind (and key) that marks a database as a backup copy.
pub const TAKEN_RECORD: &str = "backup.taken";

/// What a finished backup holds.
#[derive(Clone, Debug)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub schema_version: i64,
    pub ledger: LedgerReport,
}

fn failed(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("backup failed: {what}: {e}"))
}

/// Copies the database at `source` into a new file `target` (which must not
/// exist), marks and checks the copy, and reports on it. `taken_at` is recorded
/// in the copy.
pub fn backup(
    source: &Path,
    target: &Path,
    taken_at: Timestamp,
) -> Result<BackupReport, StoreError> {
    if !source.exists() {
        return Err(failed("no database", source.display()));
    }
    if target.exists() {
        return Err(failed(
            "already exists (a backup never overwrites)",
            target.display(),
        ));
    }
    let mut partial = target.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let _ = std::fs::remove_file(&partial);
    let result = copy_and_check(source, &partial, taken_at);
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, target).map_err(|e| failed("rename", e))?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The rename itself made durable.
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(BackupReport {
        path: target.to_path_buf(),
        ..report
    })
}

fn copy_and_check(
    source: &Path,
    partial: &Path,
    taken_at: Timestamp,
) -> Result<BackupReport, StoreError> {
    {
        let conn = open_reader(source).map_err(|e| failed("open the database", e))?;
        conn.execute("VACUUM INTO ?1", params![partial.to_string_lossy()])
            .map_err(|e| failed("copy", e))?;
    }
    let schema_version = {
        let copy = Connection::open_with_flags(
            partial,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| failed("open the copy", e))?;
        let schema_version = applied_versions(&copy)
            .map_err(|e| failed("read the copy's schema", e))?
            .last()
            .copied()
            .unwrap_or(0);
        let data = serde_json::json!({
            "taken_at": taken_at.rfc3339(),
            "source": source.display().to_string(),
            "schema_version": schema_version,
        })
        .to_string();
        copy.execute(
            "INSERT INTO records (kind, key, owner, state, version, data, created_at, updated_at)
             VALUES (?1, ?1, 'gateway', 'taken', 1, ?2, ?3, ?3)
             ON CONFLICT (kind, key) DO UPDATE SET state = excluded.state, data = excluded.data,
               version = records.version + 1, updated_at = excluded.updated_at",
            params![TAKEN_RECORD, data, taken_at.as_micros()],
        )
        .map_err(|e| failed("mark the copy", e))?;
        schema_version
    };
    let copy = open_reader(partial).map_err(|e| failed("reopen the copy", e))?;
    let integrity: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| failed("integrity check", e))?;
    if integrity != "ok" {
        return Err(failed("the copy is not intact", integrity));
    }
    let ledger = ledger_report(&copy).map_err(|e| failed("ledger check", e))?;
    if !ledger.is_clean() {
        return Err(failed(
            "the copy's ledger is not sound",
            ledger.problems.join("; "),
        ));
    }
    drop(copy);
    std::fs::File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(|e| failed("sync", e))?;
    let bytes = std::fs::metadata(partial)
        .map_err(|e| failed("size", e))?
        .len();
    Ok(BackupReport {
        path: partial.to_path_buf(),
        bytes,
        schema_version,
        ledger,
    })
}
