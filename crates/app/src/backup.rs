//! Backups of the gateway's database: one on demand (`gerbang backup PATH`) or on
//! a schedule into a folder with retention (`[backup]`). SQLite only: a
//! PostgreSQL database is backed up with PostgreSQL's own tools (base backup and
//! WAL archiving), which [`PostgresNote`] says.

use crate::config::BackupConfig;
use gerbang_core::{Clock, SystemClock, Timestamp};
use gerbang_store::sqlite::backup::{self, BackupReport};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What `gerbang backup` says for a PostgreSQL database instead of copying it.
pub const POSTGRES_NOTE: &str = "gerbang backup copies SQLite databases only. A PostgreSQL \
database is backed up with PostgreSQL's own tools: a base backup (pg_basebackup) plus WAL \
archiving (archive_mode = on, archive_command), which together allow point-in-time recovery \
of the ledger. docs/operations.md gives the procedure and the restore drill.";

/// Prefix and suffix of the files scheduled backups write (`gerbang-<UTC time>.db`).
const PREFIX: &str = "gerbang-";
const SUFFIX: &str = ".db";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{POSTGRES_NOTE}")]
    Postgres,
    #[error("{0}")]
    Failed(String),
}

/// The SQLite file a database URL names, or why it names none.
pub fn sqlite_path(database_url: &str) -> Result<PathBuf, BackupError> {
    match database_url.strip_prefix("sqlite://") {
        Some(path) => Ok(PathBuf::from(path)),
        None if database_url.starts_with("postgres") => Err(BackupError::Postgres),
        None => Err(BackupError::Failed(format!(
            "unsupported database URL: {}",
            gerbang_store::redact_url(database_url)
        ))),
    }
}

/// Takes a checked backup of the database `database_url` names into `target`.
pub async fn take(
    database_url: &str,
    target: &Path,
    taken_at: Timestamp,
) -> Result<BackupReport, BackupError> {
    let source = sqlite_path(database_url)?;
    let target = target.to_path_buf();
    tokio::task::spawn_blocking(move || backup::backup(&source, &target, taken_at))
        .await
        .map_err(|e| BackupError::Failed(e.to_string()))?
        .map_err(|e| BackupError::Failed(e.0))
}

/// The name a scheduled backup taken at `at` gets: sortable UTC time.
fn file_name(at: Timestamp) -> String {
    let t = at.to_offset_date_time();
    format!(
        "{PREFIX}{:04}{:02}{:02}T{:02}{:02}{:02}Z{SUFFIX}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The scheduled backups in `folder`, oldest first, and the `.partial` files
/// interrupted ones left behind.
fn scheduled_files(folder: &Path) -> std::io::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let named = |p: &PathBuf, suffix: &str| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(suffix))
    };
    let all: Vec<PathBuf> = std::fs::read_dir(folder)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    let mut done: Vec<PathBuf> = all.iter().filter(|p| named(p, SUFFIX)).cloned().collect();
    done.sort();
    let partial = all
        .into_iter()
        .filter(|p| named(p, &format!("{SUFFIX}.partial")))
        .collect();
    Ok((done, partial))
}

/// Deletes the oldest scheduled backups in `folder` beyond the newest `keep`, and
/// what interrupted ones left. Only files named as scheduled backups are touched.
fn prune(folder: &Path, keep: usize) -> std::io::Result<Vec<PathBuf>> {
    let (mut done, partial) = scheduled_files(folder)?;
    let excess = done.len().saturating_sub(keep);
    let mut old: Vec<PathBuf> = done.drain(..excess).collect();
    old.extend(partial);
    for path in &old {
        std::fs::remove_file(path)?;
    }
    Ok(old)
}

/// When the newest scheduled backup in `folder` was written, if there is one.
fn newest_backup(folder: &Path) -> Option<std::time::SystemTime> {
    let (done, _) = scheduled_files(folder).ok()?;
    std::fs::metadata(done.last()?).ok()?.modified().ok()
}

/// How long to wait before the first backup: what is left of the interval since
/// the newest backup in the folder (none: at once), so restarts do not put the
/// schedule off.
fn first_wait(interval: Duration, newest: Option<std::time::SystemTime>) -> Duration {
    newest
        .and_then(|at| at.elapsed().ok())
        .map_or(Duration::ZERO, |age| interval.saturating_sub(age))
}

/// One scheduled backup into `config.folder`, then the retention. The new
/// backup's path.
pub async fn scheduled_once(
    database_url: &str,
    config: &BackupConfig,
    now: Timestamp,
) -> Result<PathBuf, BackupError> {
    let folder = PathBuf::from(config.folder.as_deref().unwrap_or("."));
    std::fs::create_dir_all(&folder)
        .map_err(|e| BackupError::Failed(format!("{}: {e}", folder.display())))?;
    let report = take(database_url, &folder.join(file_name(now)), now).await?;
    prune(&folder, config.keep.max(1))
        .map_err(|e| BackupError::Failed(format!("retention in {}: {e}", folder.display())))?;
    Ok(report.path)
}

/// Takes a backup every `config.interval_seconds` until cancelled — the first
/// when the newest one in the folder is that old (at once when there is none).
/// Each outcome is logged and counted.
pub async fn run(database_url: String, config: BackupConfig, cancel: CancellationToken) {
    // Backups are named and stamped in wall-clock time, whatever the sandbox clock says.
    let clock = SystemClock;
    let every = Duration::from_secs(config.interval_seconds.max(1));
    let folder = PathBuf::from(config.folder.as_deref().unwrap_or("."));
    let newest = newest_backup(&folder);
    if let Some(at) = newest {
        let seconds = at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        metrics::gauge!("gerbang_backup_last_success_timestamp_seconds").set(seconds);
    }
    let mut wait = first_wait(every, newest);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = every;
        match scheduled_once(&database_url, &config, clock.now()).await {
            Ok(path) => {
                metrics::gauge!("gerbang_backup_last_success_timestamp_seconds")
                    .set(clock.now().unix_seconds() as f64);
                tracing::info!(path = %path.display(), "backup taken and checked");
            }
            Err(e) => {
                metrics::counter!("gerbang_backup_failures_total").increment(1);
                tracing::error!(error = %e, "scheduled backup failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_time_and_retention_keeps_the_newest() {
        let at = Timestamp::from_unix_seconds(1_780_000_000);
        assert_eq!(file_name(at), "gerbang-20260528T202640Z.db");
        let dir = tempfile::tempdir().unwrap();
        for s in 0..5 {
            std::fs::write(dir.path().join(file_name(at.plus_seconds(s * 3600))), b"x").unwrap();
        }
        std::fs::write(dir.path().join("operator-notes.db"), b"x").unwrap();
        std::fs::write(dir.path().join("gerbang-20260101T000000Z.db.partial"), b"x").unwrap();
        let removed = prune(dir.path(), 2).unwrap();
        assert_eq!(removed.len(), 4, "three old backups and a partial one");
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            vec![
                file_name(at.plus_seconds(3 * 3600)),
                file_name(at.plus_seconds(4 * 3600)),
                "operator-notes.db".to_string()
            ]
        );
    }

    #[test]
    fn the_first_backup_waits_only_for_what_is_left_of_the_interval() {
        let day = Duration::from_secs(86_400);
        assert_eq!(first_wait(day, None), Duration::ZERO);
        let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        let left = first_wait(day, Some(hour_ago));
        assert!(left <= day - Duration::from_secs(3600) && left > day - Duration::from_secs(3700));
        let old = std::time::SystemTime::now() - 2 * day;
        assert_eq!(first_wait(day, Some(old)), Duration::ZERO);
    }
}
