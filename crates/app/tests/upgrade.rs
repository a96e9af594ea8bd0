//! A database written before the payout domain knew no protocol: disbursements in
//! the old SendMe-shaped records, references in the old scope, cash codes that
//! name their disbursement, a batch timer that lists its ids. The migration that
//! reshapes them (run here as an operator's tool would run its SQL) leaves every
//! one readable, settled by the workflows, and its references still taken.

use gerbang_app::config::Config;
use gerbang_app::h2h;
use gerbang_app::payout::{
    self, AcceptError, AccountPayee, CashNetwork, Face, Failure, NewPayout, Payee, Requester,
    Status,
};
use gerbang_app::{provision, App};
use gerbang_core::ledger::{LedgerOp, NewHold};
use gerbang_core::{Currency, Document};
use gerbang_store::testing::{execute, postgres_database, sqlite_database, TestDatabase};
use gerbang_store::{Expect, NewIdempotency, NewTimer, RecordWrite, Step, TimerOp};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

const VA: &str = "9920018001";

async fn gateway(db: &TestDatabase) -> Arc<App> {
    let app = App::open(Config {
        database_url: db.url.clone(),
        ..Config::default()
    })
    .await
    .expect("opens");
    let plan = provision::plan(
        &format!(
            "[[sendme_partner]]\nvirtual_account = \"{VA}\"\nname = \"Old Partner\"\nopening_balance = \"1000000.00\"\n"
        ),
        Path::new("."),
    )
    .expect("a plan");
    provision::apply(&*app.store, app.now(), plan)
        .await
        .expect("provisioned");
    app
}

/// A disbursement record as the builds before wrote it.
fn old_record(app: &App, id: &str, reference: &str, fields: Value) -> RecordWrite {
    let now = app.now().as_micros();
    let mut d = json!({
        "id": id, "partner_va": VA, "reference": reference,
        "gateway_reference": format!("AbCdEfGhIjKlMnOpQrSt_{id}"),
        "bank_code": "014", "bank_name": "BCA", "account": "1234567890",
        "account_name": "BUDI", "beneficiary_va": "9920018001000001",
        "amount_minor": 1_000_000, "description": "payroll",
        "callback_url": "http://127.0.0.1:9/cb", "origin": "sendme",
        "request": {"trx_no": reference}, "status": "processing",
        "bank_response_code": null, "bank_response_message": null, "bank_attempts": 0,
        "created_at": now, "dispatch_at": now, "status_at": now,
    });
    for (k, v) in fields.as_object().expect("fields") {
        d[k] = v.clone();
    }
    RecordWrite {
        kind: payout::RECORD.into(),
        key: id.into(),
        owner: VA.into(),
        state: d["status"].as_str().expect("status").into(),
        data: Document::of(&d),
        expect: Expect::Absent,
    }
}

fn hold(id: &str, amount: i64) -> LedgerOp {
    LedgerOp::Hold(NewHold {
        key: format!("disbursement:{id}"),
        account: format!("partner:{VA}"),
        amount,
        currency: Currency::Idr,
        expires_at: None,
    })
}

async fn old_database(app: &App) {
    let now = app.now();
    let code = "1234509876";
    app.commit(Step {
        idempotency: Some(NewIdempotency {
            scope: format!("disbursement:{VA}"),
            key: "OLD-1".into(),
            fingerprint: "fingerprint-of-old-1".into(),
            response: "1000000000000001".into(),
        }),
        ledger: vec![
            hold("1000000000000001", 1_000_000),
            hold("1000000000000002", 1_000_000),
            hold("1000000000000005", 5_000_000),
        ],
        records: vec![
            old_record(app, "1000000000000001", "OLD-1", json!({})),
            old_record(app, "1000000000000002", "OLD-2", json!({})),
            old_record(
                app,
                "1000000000000003",
                "OLD-3",
                json!({"bank_code": "gpy", "bank_name": "GOPAY", "beneficiary_va": null,
                       "status": "failed",
                       "bank_response_message": "Rejected by the approver"}),
            ),
            old_record(
                app,
                "1000000000000004",
                "OLD-4",
                json!({"bank_code": "alf", "bank_name": "Alfamart", "account": "081234567890",
                       "account_name": "SITI", "beneficiary_va": null, "status": "failed",
                       "bank_response_code": "54",
                       "bank_response_message": "Cash-out code expired",
                       "cashout": {"network": "alfamart", "phone": "081234567890",
                                   "code": "1111122222", "expires_at": now.as_micros(),
                                   "lifetime_seconds": 3600, "payment": null,
                                   "advised_at": null, "reversed_at": null}}),
            ),
            old_record(
                app,
                "1000000000000005",
                "OLD-5",
                json!({"bank_code": "alf", "bank_name": "Alfamart", "account": "081234567890",
                       "account_name": "SITI", "beneficiary_va": null,
                       "amount_minor": 5_000_000,
                       "cashout": {"network": "alfamart", "phone": "081234567890",
                                   "code": code,
                                   "expires_at": now.plus_seconds(3600).as_micros(),
                                   "lifetime_seconds": 3600, "payment": null,
                                   "advised_at": null, "reversed_at": null}}),
            ),
            RecordWrite {
                kind: gerbang_app::cashout::CODE_RECORD.into(),
                key: code.into(),
                owner: VA.into(),
                state: "live".into(),
                data: Document::of(&json!({"id": "1000000000000005", "network": "alfamart"})),
                expect: Expect::Absent,
            },
        ],
        timers: vec![
            TimerOp::Schedule(NewTimer {
                key: "disbursement.dispatch:1000000000000001".into(),
                kind: payout::DISPATCH_TIMER.into(),
                due_at: now,
                payload: json!({"id": "1000000000000001"}).into(),
            }),
            TimerOp::Schedule(NewTimer {
                key: "disbursement.batch:014:1000000000000002".into(),
                kind: payout::batch::BATCH_TIMER.into(),
                due_at: now,
                payload: json!({"bank": "014", "ids": ["1000000000000002"]}).into(),
            }),
        ],
        ..Step::default()
    })
    .await
    .expect("the old rows are written");
}

fn requester() -> Requester {
    Requester {
        face: Face::SendmeV1,
        principal: VA.into(),
    }
}

async fn load(app: &App, id: &str) -> payout::Disbursement {
    payout::load(&app.store, id)
        .await
        .expect("readable after the migration")
        .expect("stored")
        .0
}

async fn upgrade(db: TestDatabase, migration: &str) {
    let app = gateway(&db).await;
    old_database(&app).await;
    execute(&db.url, migration)
        .await
        .expect("the migration runs");
    // Again: it touches only rows of the old shape.
    execute(&db.url, migration).await.expect("and runs twice");

    let first = load(&app, "1000000000000001").await;
    assert_eq!(first.requester, requester());
    assert_eq!(first.funding_account, format!("partner:{VA}"));
    assert_eq!(first.notice_url.as_deref(), Some("http://127.0.0.1:9/cb"));
    assert!(matches!(
        &first.payee,
        Payee::BankAccount(AccountPayee { channel, beneficiary: Some(_), .. }) if channel == "014"
    ));
    assert_eq!(
        payout::id_by_reference(&app.store, &requester(), "OLD-1")
            .await
            .unwrap()
            .as_deref(),
        Some("1000000000000001"),
        "the reference is still taken, in its face's scope"
    );
    let again = payout::accept(
        &app,
        NewPayout {
            requester: requester(),
            funding_account: first.funding_account.clone(),
            needs_approval: false,
            reference: "OLD-1".into(),
            fingerprint: "another request".into(),
            payee: first.payee.clone(),
            amount_minor: 1_000_000,
            description: "payroll".into(),
            notice_url: None,
            request: Document::of(&json!({})),
            instruct_at: None,
            claim: None,
        },
    )
    .await;
    assert!(matches!(again, Err(AcceptError::DuplicateReference)));

    let rejected = load(&app, "1000000000000003").await;
    assert_eq!(rejected.failure, Some(Failure::Rejected));
    assert!(matches!(rejected.payee, Payee::EWallet(_)));
    let expired = load(&app, "1000000000000004").await;
    assert_eq!(expired.failure, Some(Failure::CodeExpired));
    assert_eq!(expired.cash_code().expect("a cash code").holder, "SITI");

    let claimable = h2h::inquire(&app, CashNetwork::Alfamart, "1234509876", "081234567890")
        .await
        .expect("a code issued before the upgrade is claimable");
    assert_eq!(claimable.amount_minor, 5_000_000);

    // The old dispatch timer and the old batch timer settle their payouts.
    app.clock.advance(3).await.expect("sandbox clock");
    let scheduler = app.scheduler();
    while scheduler.fire_due().await.expect("a round") > 0 {}
    for id in ["1000000000000001", "1000000000000002"] {
        let d = load(&app, id).await;
        assert_eq!(d.status, Status::Succeeded, "{id}");
    }
    let account = app
        .store
        .account(&format!("partner:{VA}"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (account.balance, account.pending),
        (100_000_000 - 2_000_000, 5_000_000)
    );
    let report = app.store.check_ledger().await.unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
}

fn migration(list: &[gerbang_store::migrations::Migration]) -> &'static str {
    list.iter()
        .find(|m| m.name == "payout_records")
        .expect("the migration exists")
        .sql
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sqlite_database_of_the_old_shape_upgrades() {
    upgrade(
        sqlite_database(),
        migration(gerbang_store::migrations::SQLITE),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_database_of_the_old_shape_upgrades() {
    if let Some(db) = postgres_database().await {
        upgrade(db, migration(gerbang_store::migrations::POSTGRES)).await;
    }
}
