//! `gerbang ledger check`: exit 0 with the counts on a sound ledger, exit 1 with a
//! readable report on a corrupted one.

use crate::common::*;
use crate::support::*;

const FILE: &str =
    "[[sendme_partner]]\nvirtual_account = \"5500000001\"\nopening_balance = \"750000.00\"\n";

/// Runs a statement on the database behind the store's back.
async fn tamper(db: &TestDatabase, sql: &str) {
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        let conn = rusqlite::Connection::open(path).expect("SQLite opens");
        let changed = conn.execute(sql, []).expect("tampering statement runs");
        assert_eq!(changed, 1, "{sql}");
    } else {
        let (client, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
            .await
            .expect("PostgreSQL connects");
        let driver = tokio::spawn(connection);
        let changed = client
            .execute(sql, &[])
            .await
            .expect("tampering statement runs");
        assert_eq!(changed, 1, "{sql}");
        drop(client);
        let _ = driver.await;
    }
}

async fn ledger_check_passes_clean_and_fails_corrupted_databases(db: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    provision_with(dir.path(), &db.url, FILE).await;

    let clean = run(dir.path(), &["ledger", "check", "--database-url", &db.url]).await;
    clean.expect_code(0);
    let lines: Vec<&str> = clean.stdout.lines().collect();
    assert_eq!(
        lines[0], "2 accounts, 1 entries, 2 postings, 0 pending holds",
        "{}",
        clean.stdout
    );
    assert!(lines[1].starts_with("ledger is clean"), "{}", clean.stdout);

    // A stored balance that its postings do not explain.
    tamper(
        &db,
        "UPDATE accounts SET balance = balance + 1 WHERE code = 'partner:5500000001'",
    )
    .await;
    let broken = run(dir.path(), &["ledger", "check", "--database-url", &db.url]).await;
    broken.expect_code(1);
    let lines: Vec<&str> = broken.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "2 accounts, 1 entries, 2 postings, 0 pending holds"
    );
    assert_eq!(
        lines[1], "ledger check FAILED: 1 problem(s)",
        "{}",
        broken.stdout
    );
    assert_eq!(
        lines[2],
        "  - account partner:5500000001 stores balance 75000001 but its postings sum to 75000000"
    );
    assert_eq!(lines.len(), 3, "{}", broken.stdout);

    // A posting changed as well: the entry and the whole journal no longer balance.
    tamper(
        &db,
        "UPDATE postings SET amount = amount + 1 WHERE amount > 0",
    )
    .await;
    let worse = run(dir.path(), &["ledger", "check", "--database-url", &db.url]).await;
    worse.expect_code(1);
    assert!(
        worse.stdout.contains("ledger check FAILED: 2 problem(s)"),
        "{}",
        worse.stdout
    );
    assert!(
        worse.stdout.contains("all postings sum to 1, not 0"),
        "{}",
        worse.stdout
    );
    assert!(
        worse
            .stdout
            .contains("does not balance: its 2 postings sum to 1"),
        "{}",
        worse.stdout
    );
    assert!(!worse.stdout.contains("ledger is clean"));
}

on_both_backends!(ledger_check_passes_clean_and_fails_corrupted_databases);
