//! Databases made by an earlier gerbang are upgraded by this one and served
//! correctly afterwards.
//!
//! `fixtures/upgrade/` holds one database per backend made by gerbang 0.1 with the
//! schema of its time (SQLite migration 6, PostgreSQL migration 4): payouts in
//! every state — settled, declined, waiting for approval, rejected, cancelled,
//! approved in a batch not sent yet, scheduled for later, in flight to the bank,
//! cash codes live, claimed, reversed and expired — with their holds, postings,
//! timers and undelivered notifications. The fixtures are never regenerated: a
//! later schema gets fixtures of its own beside these. This is how they were made:
//!
//! ```sh
//! GERBANG_WRITE_UPGRADE_FIXTURES=crates/app/tests/fixtures/upgrade \
//!   GERBANG_TEST_POSTGRES_URL=postgres://… cargo nextest run -p gerbang-app \
//!   --test upgrade_fixture
//! ```
//!
//! Each test loads a fixture into a fresh database, lets the current code migrate
//! it, and checks that every payout reads as it was left, the ledger is sound,
//! references stay taken, and everything left pending goes on to its end.

mod common;

use common::requester;
use gerbang_app::config::Config;
use gerbang_app::h2h::{self, PaymentRequest};
use gerbang_app::payout::{
    self, approval, cancel, AcceptError, CashNetwork, Failure, NewPayout, Status,
};
use gerbang_app::{provision, App};
use gerbang_store::testing::{execute, postgres_database, sqlite_database};
use gerbang_store::NotificationQuery;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const VA: &str = "9920019001";
const APPROVING_VA: &str = "9920019002";
/// Each partner's opening balance, in minor units (Rp 1.000.000,00).
const OPENING: i64 = 100_000_000;
const SQLITE_FIXTURE: &str = "sqlite-schema-6.db";
const POSTGRES_FIXTURE: &str = "postgres-schema-4.sql";
const WRITE_VAR: &str = "GERBANG_WRITE_UPGRADE_FIXTURES";
/// Bank accounts the bank simulator pays, and one it declines.
const GOOD_ACCOUNT: &str = "1234567890";
const DECLINED_ACCOUNT: &str = "1234569904";

/// How each payout of the fixtures was left: requester, reference, amount,
/// status and failure.
const LEFT: &[(&str, &str, i64, Status, Option<Failure>)] = &[
    (VA, "S-1", 2_500_000, Status::Succeeded, None),
    (
        VA,
        "F-1",
        1_000_000,
        Status::Failed,
        Some(Failure::Declined),
    ),
    (
        VA,
        "C-4",
        700_000,
        Status::Failed,
        Some(Failure::CodeExpired),
    ),
    (
        APPROVING_VA,
        "W-1",
        1_200_000,
        Status::WaitingApproval,
        None,
    ),
    (
        APPROVING_VA,
        "R-1",
        1_300_000,
        Status::Failed,
        Some(Failure::Rejected),
    ),
    (
        APPROVING_VA,
        "X-1",
        1_400_000,
        Status::Failed,
        Some(Failure::Cancelled),
    ),
    (APPROVING_VA, "B-1", 1_500_000, Status::Processing, None),
    (APPROVING_VA, "B-2", 1_600_000, Status::Processing, None),
    (VA, "C-2", 800_000, Status::Succeeded, None),
    (VA, "C-3", 900_000, Status::Reversed, None),
    (VA, "C-1", 600_000, Status::Processing, None),
    (VA, "L-1", 3_000_000, Status::Processing, None),
    (VA, "P-1", 3_100_000, Status::Processing, None),
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upgrade")
}

async fn open(url: &str) -> Arc<App> {
    App::open(Config {
        database_url: url.to_string(),
        ..Config::default()
    })
    .await
    .expect("the application opens")
}

fn bank_payout(va: &str, reference: &str, account: &str, amount_minor: i64) -> NewPayout {
    common::bank_payout(va, reference, account, amount_minor, va == APPROVING_VA)
}

fn cash_payout(
    va: &str,
    reference: &str,
    amount_minor: i64,
    lifetime_s: i64,
    app: &App,
) -> NewPayout {
    common::cash_payout(
        bank_payout(va, reference, "cash", amount_minor),
        app.now(),
        lifetime_s,
    )
}

fn amount_of(reference: &str) -> i64 {
    LEFT.iter()
        .find(|(_, r, ..)| *r == reference)
        .map(|(_, _, amount, ..)| *amount)
        .expect("a fixture reference")
}

async fn accept_bank(app: &App, va: &str, reference: &str, account: &str) -> String {
    payout::accept(
        app,
        bank_payout(va, reference, account, amount_of(reference)),
    )
    .await
    .expect("accepted")
    .id
}

async fn accept_cash(app: &App, reference: &str, lifetime_s: i64) -> (String, String) {
    let d = payout::accept(
        app,
        cash_payout(VA, reference, amount_of(reference), lifetime_s, app),
    )
    .await
    .expect("accepted");
    let code = d
        .cash_code()
        .and_then(|c| c.code.clone())
        .expect("a code drawn at once")
        .expose()
        .to_string();
    (d.id, code)
}

async fn pay_code(app: &App, code: &str, reference: &str, amount_minor: i64) {
    h2h::pay(
        app,
        CashNetwork::Alfamart,
        PaymentRequest {
            reference: reference.into(),
            code: code.into(),
            phone: "081234567890".into(),
            amount_minor,
            terminal: "T01".into(),
        },
    )
    .await
    .expect("paid");
}

/// Moves the clock on and runs scheduler rounds until none has work left.
async fn after(app: &Arc<App>, seconds: i64) {
    app.clock.advance(seconds).await.expect("sandbox clock");
    let scheduler = app.scheduler();
    for _ in 0..1000 {
        if scheduler.fire_due().await.expect("a scheduler round") == 0 {
            return;
        }
    }
    panic!("the scheduler never went idle");
}

/// Leaves payouts in every state, as `LEFT` lists them.
async fn make_fixture_state(app: &Arc<App>) {
    let plan = provision::plan(
        &format!(
            "[[sendme_partner]]\nvirtual_account = \"{VA}\"\nname = \"Fixture Partner\"\n\
             opening_balance = \"1000000.00\"\n\n\
             [[sendme_partner]]\nvirtual_account = \"{APPROVING_VA}\"\nname = \"Approving Fixture Partner\"\n\
             opening_balance = \"1000000.00\"\nrequire_approval = true\n"
        ),
        Path::new("."),
    )
    .expect("a plan");
    provision::apply(&*app.store, app.now(), plan)
        .await
        .expect("provisioned");
    accept_bank(app, VA, "S-1", GOOD_ACCOUNT).await;
    accept_bank(app, VA, "F-1", DECLINED_ACCOUNT).await;
    accept_cash(app, "C-4", 3600).await;
    after(app, 3601).await;

    let approver = requester(APPROVING_VA);
    accept_bank(app, APPROVING_VA, "W-1", GOOD_ACCOUNT).await;
    let r = accept_bank(app, APPROVING_VA, "R-1", GOOD_ACCOUNT).await;
    approval::reject(app, &approver, &[r])
        .await
        .expect("rejected");
    let x = accept_bank(app, APPROVING_VA, "X-1", GOOD_ACCOUNT).await;
    cancel::cancel(app, &approver, &[x])
        .await
        .expect("cancelled");
    let b1 = accept_bank(app, APPROVING_VA, "B-1", GOOD_ACCOUNT).await;
    let b2 = accept_bank(app, APPROVING_VA, "B-2", GOOD_ACCOUNT).await;
    approval::approve(app, &approver, &[b1, b2])
        .await
        .expect("approved");

    let (_, claimed) = accept_cash(app, "C-2", 3600).await;
    pay_code(app, &claimed, "ALF-C2", amount_of("C-2")).await;
    let (_, reversed) = accept_cash(app, "C-3", 3600).await;
    pay_code(app, &reversed, "ALF-C3", amount_of("C-3")).await;
    h2h::reverse(app, CashNetwork::Alfamart, "ALF-C3")
        .await
        .expect("reversed");
    // Alive for decades, so it is still claimable whenever the fixture is read.
    accept_cash(app, "C-1", 30 * 365 * 86_400).await;
    let mut later = bank_payout(VA, "L-1", GOOD_ACCOUNT, amount_of("L-1"));
    later.instruct_at = Some(app.now().plus_seconds(86_400));
    payout::accept(app, later).await.expect("scheduled");
    accept_bank(app, VA, "P-1", GOOD_ACCOUNT).await;
}

/// Writes the fixtures into `dir` (see the module's documentation).
async fn write_fixtures(dir: &Path) {
    std::fs::create_dir_all(dir).expect("the fixture folder");
    let sqlite = sqlite_database();
    make_fixture_state(&open(&sqlite.url).await).await;
    let target = dir.join(SQLITE_FIXTURE);
    let _ = std::fs::remove_file(&target);
    execute(&sqlite.url, &format!("VACUUM INTO '{}'", target.display()))
        .await
        .expect("a compact copy");
    let postgres = postgres_database()
        .await
        .expect("a PostgreSQL server to make its fixture on");
    make_fixture_state(&open(&postgres.url).await).await;
    let dumped = std::process::Command::new("pg_dump")
        .args([
            "--inserts",
            "--no-owner",
            "--no-privileges",
            "--no-comments",
        ])
        .arg(&postgres.url)
        .output()
        .expect("pg_dump runs");
    assert!(
        dumped.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&dumped.stderr)
    );
    let text = String::from_utf8(dumped.stdout).expect("a UTF-8 dump");
    // psql's meta-commands are not SQL; the statements alone load the fixture.
    let statements: String = text
        .lines()
        .filter(|l| !l.starts_with('\\'))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join(POSTGRES_FIXTURE), statements).expect("written");
}

/// Everything the fixture left, read and carried on by the current code.
async fn upgraded_database_serves_what_it_held(url: &str, backend: &str) {
    let pending = gerbang_store::pending_migrations(url)
        .await
        .expect("the schema is readable");
    let known = match backend {
        "sqlite" => gerbang_store::migrations::SQLITE,
        _ => gerbang_store::migrations::POSTGRES,
    };
    let fixture_version = if backend == "sqlite" { 6 } else { 4 };
    assert_eq!(
        pending.iter().map(|m| m.version).collect::<Vec<_>>(),
        known
            .iter()
            .map(|m| m.version)
            .filter(|v| *v > fixture_version)
            .collect::<Vec<_>>(),
        "{backend}: what the upgrade runs"
    );
    let app = open(url).await;
    assert!(
        gerbang_store::pending_migrations(url)
            .await
            .expect("readable")
            .is_empty(),
        "{backend}: upgraded to the current schema"
    );
    let report = app.store.check_ledger().await.expect("checkable");
    assert!(report.is_clean(), "{backend}: {:?}", report.problems);

    let mut ids = std::collections::HashMap::new();
    for (va, reference, amount, status, failure) in LEFT {
        let id = payout::id_by_reference(&app.store, &requester(va), reference)
            .await
            .expect("readable")
            .unwrap_or_else(|| panic!("{backend}: {reference} is known"));
        let (d, _) = payout::load(&app.store, &id)
            .await
            .expect("readable")
            .unwrap_or_else(|| panic!("{backend}: {reference} is stored"));
        assert_eq!(d.status, *status, "{backend}: status of {reference}");
        assert_eq!(d.failure, *failure, "{backend}: failure of {reference}");
        assert_eq!(d.amount_minor, *amount, "{backend}: amount of {reference}");
        ids.insert(*reference, id);
    }
    let held = |va: &str| {
        LEFT.iter()
            .filter(|(v, _, _, status, _)| {
                *v == va && matches!(status, Status::WaitingApproval | Status::Processing)
            })
            .map(|(_, _, amount, ..)| amount)
            .sum::<i64>()
    };
    let account = app
        .store
        .account(&format!("partner:{VA}"))
        .await
        .expect("readable")
        .expect("the partner's account");
    let spent = amount_of("S-1") + amount_of("C-2");
    assert_eq!(
        (account.balance, account.pending),
        (OPENING - spent, held(VA)),
        "{backend}: the partner's balance and holds"
    );
    let waiting = app
        .store
        .notifications(NotificationQuery {
            status: Some(gerbang_store::NotificationStatus::Pending),
            limit: 1000,
            ..NotificationQuery::default()
        })
        .await
        .expect("readable");
    assert!(
        !waiting.is_empty(),
        "{backend}: undelivered notifications are still to be delivered"
    );

    // References stay taken: the same request answers the same payout, other
    // content under the same reference is refused.
    let again = payout::accept(&app, bank_payout(VA, "S-1", GOOD_ACCOUNT, amount_of("S-1")))
        .await
        .expect("answers again");
    assert_eq!(again.id, ids["S-1"], "{backend}");
    let other = payout::accept(&app, bank_payout(VA, "S-1", GOOD_ACCOUNT, 1)).await;
    assert!(
        matches!(other, Err(AcceptError::DuplicateReference)),
        "{backend}: {other:?}"
    );

    // What was pending goes on: the waiting payout is approved, the live code is
    // claimed, and the batch, the scheduled and the in-flight payouts settle.
    approval::approve(&app, &requester(APPROVING_VA), &[ids["W-1"].clone()])
        .await
        .expect("approved");
    let (live, _) = payout::load(&app.store, &ids["C-1"])
        .await
        .expect("readable")
        .expect("stored");
    let code = live
        .cash_code()
        .and_then(|c| c.code.clone())
        .expect("a live code")
        .expose()
        .to_string();
    pay_code(&app, &code, "ALF-C1", amount_of("C-1")).await;
    after(&app, 2 * 86_400).await;
    for reference in ["W-1", "B-1", "B-2", "C-1", "L-1", "P-1"] {
        let (d, _) = payout::load(&app.store, &ids[reference])
            .await
            .expect("readable")
            .expect("stored");
        assert_eq!(
            d.status,
            Status::Succeeded,
            "{backend}: {reference} settled"
        );
    }
    let report = app.store.check_ledger().await.expect("checkable");
    assert!(report.is_clean(), "{backend}: {:?}", report.problems);
    assert_eq!(report.holds_pending, 0, "{backend}: nothing left held");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_database_of_schema_6_is_upgraded_and_served() {
    if let Ok(dir) = std::env::var(WRITE_VAR) {
        write_fixtures(Path::new(&dir)).await;
    }
    let db = sqlite_database();
    let path = db.url.strip_prefix("sqlite://").expect("a SQLite URL");
    std::fs::copy(fixtures().join(SQLITE_FIXTURE), path).expect("the fixture copied");
    upgraded_database_serves_what_it_held(&db.url, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_database_of_schema_4_is_upgraded_and_served() {
    let Some(db) = postgres_database().await else {
        return;
    };
    let sql = std::fs::read_to_string(fixtures().join(POSTGRES_FIXTURE)).expect("the fixture");
    execute(&db.url, &sql).await.expect("the fixture loads");
    upgraded_database_serves_what_it_held(&db.url, "postgres").await;
}
