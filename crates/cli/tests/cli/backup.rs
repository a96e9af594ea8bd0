//! `gerbang backup`: a checked copy of a SQLite database, never over an existing
//! file; on PostgreSQL an explanation of the database's own tools instead of a
//! pretend copy; and `[backup]` backups on a schedule with retention.

use crate::common::*;
use crate::support::*;
use std::time::Duration;

const FILE: &str =
    "[[sendme_partner]]\nvirtual_account = \"5500000002\"\nopening_balance = \"750000.00\"\n";

async fn backup_copies_checks_or_explains(db: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    provision_with(dir.path(), &db.url, FILE).await;
    let target = dir.path().join("copy.db");
    let target = target.to_str().unwrap();
    let taken = run(dir.path(), &["backup", target, "--database-url", &db.url]).await;
    if !db.url.starts_with("sqlite://") {
        taken.expect_code(2);
        assert!(taken.stderr.contains("pg_basebackup"), "{}", taken.stderr);
        assert!(
            taken.stderr.contains("docs/operations.md"),
            "{}",
            taken.stderr
        );
        assert!(!std::path::Path::new(target).exists());
        return;
    }
    taken.expect_code(0);
    assert!(
        taken.stdout.contains(
            "copy checked: integrity ok; ledger is clean (2 accounts, 1 entries, 2 postings, 0 pending holds)"
        ),
        "{}",
        taken.stdout
    );
    // The copy is a database of its own, with the same ledger, marked as a backup.
    let copy_url = format!("sqlite://{target}");
    assert_ledger_clean_at(dir.path(), &copy_url).await;
    let state = run(
        dir.path(),
        &["restore", "status", "--database-url", &copy_url],
    )
    .await;
    assert!(
        state.stdout.contains("restored from a backup taken at"),
        "{}",
        state.stdout
    );
    let original = run(
        dir.path(),
        &["restore", "status", "--database-url", &db.url],
    )
    .await;
    assert_eq!(original.stdout.trim(), "not a restored backup");
    // A backup of a restored and confirmed database is, again, unconfirmed.
    run(
        dir.path(),
        &[
            "restore",
            "confirm",
            "--note",
            "checked",
            "--database-url",
            &copy_url,
        ],
    )
    .await
    .expect_code(0);
    let second = dir.path().join("second.db");
    let second = second.to_str().unwrap();
    run(dir.path(), &["backup", second, "--database-url", &copy_url])
        .await
        .expect_code(0);
    let state = run(
        dir.path(),
        &[
            "restore",
            "status",
            "--database-url",
            &format!("sqlite://{second}"),
        ],
    )
    .await;
    assert!(
        state.stdout.contains("new references are refused"),
        "{}",
        state.stdout
    );
    // Never over an existing file.
    let again = run(dir.path(), &["backup", target, "--database-url", &db.url]).await;
    again.expect_code(1);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    let missing = run(
        dir.path(),
        &[
            "backup",
            "other.db",
            "--database-url",
            "sqlite://no/such/file.db",
        ],
    )
    .await;
    missing.expect_code(1);
}

on_both_backends!(backup_copies_checks_or_explains);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_gateway_takes_backups_on_a_schedule_and_keeps_the_newest() {
    let db = gerbang_store::testing::sqlite_database();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("backups");
    let config = dir.path().join("gerbang.toml");
    std::fs::write(
        &config,
        format!(
            "[backup]\nfolder = \"{}\"\ninterval_seconds = 1\nkeep = 2\n",
            folder.display()
        ),
    )
    .unwrap();
    let serving = Serving::start(serve_command(
        dir.path(),
        &db.url,
        Some(config.to_str().unwrap()),
        None,
    ))
    .await;
    let taken = || {
        let mut names: Vec<String> = std::fs::read_dir(&folder)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    // A backup being written is not one yet.
                    .filter(|n| !n.ends_with(".partial"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };
    let first_two = eventually("two backups", Duration::from_secs(10), || async {
        let names = taken();
        (names.len() == 2).then_some(names)
    })
    .await;
    eventually(
        "a third one replacing the oldest",
        Duration::from_secs(10),
        || async {
            let names = taken();
            (names.len() == 2 && names[0] != first_two[0]).then_some(())
        },
    )
    .await;
    let metrics = serving.api.get("/metrics").await;
    assert!(
        metrics
            .text
            .contains("gerbang_backup_last_success_timestamp_seconds"),
        "{}",
        metrics.text
    );
    // Stopped, so no backup is being written or pruned while they are checked.
    serving.stop().await;
    for name in taken() {
        assert!(
            name.starts_with("gerbang-") && name.ends_with("Z.db"),
            "{name}"
        );
        let url = format!("sqlite://{}", folder.join(&name).display());
        assert_ledger_clean_at(dir.path(), &url).await;
    }
}
