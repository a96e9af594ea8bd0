//! The scheduler: hold expiries fire when the sandbox clock passes them, also after
//! a restart.

use crate::common::*;
use gerbang_core::ledger::{codes, HoldState, LedgerOp, NewHold};
use gerbang_core::{Currency, Money};
use gerbang_store::Step;
use std::time::Duration;

fn rupiah(minor: i64) -> String {
    Money::idr(minor).to_major_string()
}

/// Places a hold on the demo partner that expires `seconds` from the gateway's now.
async fn hold(gw: &Gateway, key: &str, amount: i64, seconds: i64) {
    let app = gw.app();
    let expires_at = app.now().plus_seconds(seconds);
    app.commit(Step {
        ledger: vec![LedgerOp::Hold(NewHold {
            key: key.into(),
            account: codes::partner_balance(DEMO_VA),
            amount,
            currency: Currency::Idr,
            expires_at: Some(expires_at),
        })],
        ..Step::default()
    })
    .await
    .expect("hold placed");
}

async fn hold_state(gw: &Gateway, key: &str) -> HoldState {
    gw.app()
        .store
        .hold(key)
        .await
        .unwrap()
        .expect("hold exists")
        .state
}

async fn wait_expired(gw: &Gateway, key: &str) {
    eventually(
        &format!("hold {key} to expire"),
        Duration::from_secs(10),
        || async { (hold_state(gw, key).await == HoldState::Expired).then_some(()) },
    )
    .await;
}

async fn assert_available(gw: &Gateway, balance: i64, pending: i64) {
    let b = gw.balance(DEMO_VA).await;
    assert_eq!(b["balance"], rupiah(balance), "{b}");
    assert_eq!(b["pending"], rupiah(pending), "{b}");
    assert_eq!(b["available_balance"], rupiah(balance - pending), "{b}");
}

async fn hold_expires_when_the_clock_passes_it(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    hold(&gw, "hold-1", 2_500_000, 3_600).await;
    hold(&gw, "hold-2", 1_000_000, 7_200).await;
    assert_available(&gw, DEMO_OPENING_MINOR, 3_500_000).await;
    assert_eq!(gw.ledger_check().await["holds_pending"], 2);

    // Not yet due: nothing happens, however often the scheduler polls.
    gw.advance_clock(1_800).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hold_state(&gw, "hold-1").await, HoldState::Pending);
    assert_available(&gw, DEMO_OPENING_MINOR, 3_500_000).await;

    // Past the first expiry: that hold, and only that one, is released.
    gw.advance_clock(1_801).await;
    wait_expired(&gw, "hold-1").await;
    assert_eq!(hold_state(&gw, "hold-2").await, HoldState::Pending);
    assert_available(&gw, DEMO_OPENING_MINOR, 1_000_000).await;
    let expired = gw.app().store.hold("hold-1").await.unwrap().unwrap();
    let ended = expired.ended_at.expect("ended_at set");
    assert!(ended >= expired.expires_at.unwrap(), "{expired:?}");

    gw.advance_clock(3_600).await;
    wait_expired(&gw, "hold-2").await;
    assert_available(&gw, DEMO_OPENING_MINOR, 0).await;

    let check = gw.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");
    assert_eq!(check["holds_pending"], 0);
    // Expiring moves no money.
    assert_eq!(check["entries"], 1);
    gw.stop().await;
}

async fn hold_timers_survive_a_restart(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    hold(&gw, "hold-restart", 4_000_000, 600).await;
    assert_available(&gw, DEMO_OPENING_MINOR, 4_000_000).await;
    gw.stop().await;

    let gw = Gateway::start(test_config(&db)).await;
    assert_eq!(hold_state(&gw, "hold-restart").await, HoldState::Pending);
    assert_available(&gw, DEMO_OPENING_MINOR, 4_000_000).await;
    gw.advance_clock(601).await;
    wait_expired(&gw, "hold-restart").await;
    assert_available(&gw, DEMO_OPENING_MINOR, 0).await;
    assert_eq!(gw.ledger_check().await["clean"], true);
    gw.stop().await;
}

async fn timer_of_a_hold_that_ended_first_changes_nothing(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    hold(&gw, "hold-voided", 1_000, 60).await;
    gw.app()
        .commit(Step {
            ledger: vec![LedgerOp::Void {
                key: "hold-voided".into(),
            }],
            ..Step::default()
        })
        .await
        .expect("void");
    gw.advance_clock(61).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hold_state(&gw, "hold-voided").await, HoldState::Voided);
    assert_available(&gw, DEMO_OPENING_MINOR, 0).await;
    assert_eq!(gw.ledger_check().await["clean"], true);
    gw.stop().await;
}

/// A timer no handler can ever run fails for good: recorded, counted in
/// /metrics, removed — and tried no more.
async fn a_permanent_timer_failure_is_recorded_counted_and_dropped(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    let app = gw.app();
    app.commit(Step {
        timers: vec![gerbang_store::TimerOp::Schedule(gerbang_store::NewTimer {
            key: "retired.kind:7".into(),
            kind: "retired.kind".into(),
            due_at: app.now(),
            payload: serde_json::json!({}).into(),
        })],
        ..Step::default()
    })
    .await
    .expect("scheduled");
    let failure = eventually(
        "the failure is recorded",
        Duration::from_secs(10),
        || async {
            app.store
                .record(gerbang_app::scheduler::FAILURE_RECORD, "retired.kind:7")
                .await
                .unwrap()
        },
    )
    .await;
    let text = failure.data.as_str().to_string();
    assert!(
        text.contains("no handler for timer kind retired.kind"),
        "{text}"
    );
    let metrics = gw.api.get("/metrics").await.text;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("gerbang_timer_failures_total{kind=\"retired.kind\"} ")),
        "{metrics}"
    );
    gw.api.advance_clock(3600).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = app
        .store
        .record(gerbang_app::scheduler::FAILURE_RECORD, "retired.kind:7")
        .await
        .unwrap()
        .expect("still recorded");
    assert_eq!(again.version, failure.version, "not tried again");
    gw.stop().await;
}

on_both_backends!(
    a_permanent_timer_failure_is_recorded_counted_and_dropped,
    hold_expires_when_the_clock_passes_it,
    hold_timers_survive_a_restart,
    timer_of_a_hold_that_ended_first_changes_nothing,
);
