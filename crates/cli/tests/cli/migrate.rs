//! `gerbang migrate --dry-run` says which migrations would run and changes
//! nothing; `gerbang migrate` runs them; a database written by a newer gerbang is
//! refused rather than run by older code.

use crate::common::*;
use crate::support::*;

async fn dry_run_says_what_would_run_and_changes_nothing(db: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    let shown = gerbang_store::redact_url(&db.url);
    let known = if db.url.starts_with("sqlite://") {
        gerbang_store::migrations::SQLITE
    } else {
        gerbang_store::migrations::POSTGRES
    };
    let fresh = run(
        dir.path(),
        &["migrate", "--dry-run", "--database-url", &db.url],
    )
    .await;
    fresh.expect_code(0);
    let lines: Vec<&str> = fresh.stdout.lines().collect();
    assert_eq!(
        lines[0],
        format!("{} migration(s) would run on {shown}:", known.len()),
        "{}",
        fresh.stdout
    );
    for (line, m) in lines[1..].iter().zip(known) {
        assert_eq!(*line, format!("  {:04} {}", m.version, m.name));
    }
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        assert!(
            !std::path::Path::new(path).exists(),
            "a dry run creates no database"
        );
    }
    // Still nothing applied: a second dry run says the same.
    let again = run(
        dir.path(),
        &["migrate", "--dry-run", "--database-url", &db.url],
    )
    .await;
    assert_eq!(again.stdout, fresh.stdout);

    let applied = run(dir.path(), &["migrate", "--database-url", &db.url]).await;
    applied.expect_code(0);
    assert_eq!(
        applied
            .stdout
            .lines()
            .filter(|l| l.starts_with("applied "))
            .count(),
        known.len(),
        "{}",
        applied.stdout
    );
    let current = run(
        dir.path(),
        &["migrate", "--dry-run", "--database-url", &db.url],
    )
    .await;
    current.expect_code(0);
    assert_eq!(
        current.stdout.trim(),
        format!("{shown} is at the current schema: nothing would run")
    );

    // A version this binary does not know: a newer gerbang migrated the database.
    let newer = known.len() + 1;
    gerbang_store::testing::execute(
        &db.url,
        &format!(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ({newer}, 'from_the_future', 0)"
        ),
    )
    .await
    .expect("a version from the future");
    for args in [
        vec!["migrate", "--dry-run", "--database-url", &db.url],
        vec!["ledger", "check", "--database-url", &db.url],
    ] {
        let refused = run(dir.path(), &args).await;
        assert_ne!(
            refused.status.code(),
            Some(0),
            "{args:?}: {}",
            refused.stdout
        );
        assert!(
            refused.stderr.contains("newer gerbang"),
            "{args:?}: {}",
            refused.stderr
        );
    }
}

on_both_backends!(dry_run_says_what_would_run_and_changes_nothing);
