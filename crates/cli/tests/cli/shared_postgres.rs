//! Two `gerbang serve` processes on one PostgreSQL database (only when PostgreSQL
//! is configured).

use crate::common::*;
use crate::support::*;
use gerbang_core::ledger::{
    codes, AccountKind, LedgerError, LedgerOp, NewAccount, NewHold, PostHold, Posting,
};
use gerbang_core::{Currency, Money};
use gerbang_store::{SharedStore, Step, StepError};
use serde_json::json;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const CLEARING: &str = "channel:test-bank";

fn minor(rupiah: &serde_json::Value) -> i64 {
    Money::parse_major(rupiah.as_str().expect("rupiah string"), Currency::Idr)
        .expect("rupiah")
        .minor
}

/// Starts two gateways on `url` at the same moment.
async fn two_processes(dir: &std::path::Path, url: &str) -> (Serving, Serving) {
    let config = write_config(dir, 5);
    let start = || Serving::start(serve_command(dir, url, Some(&config), None));
    tokio::join!(start(), start())
}

/// Holds `amount` on the demo partner, then settles it to the clearing account.
/// Returns whether the hold was granted.
async fn hold_and_post(store: SharedStore, key: String, amount: i64) -> bool {
    let now = gerbang_core::Clock::now(&gerbang_core::SystemClock);
    let hold = Step {
        ledger: vec![LedgerOp::Hold(NewHold {
            key: key.clone(),
            account: codes::partner_balance(DEMO_VA),
            amount,
            currency: Currency::Idr,
            expires_at: None,
        })],
        ..Step::default()
    };
    match store.commit(now, hold).await {
        Ok(_) => {}
        Err(StepError::Ledger(LedgerError::InsufficientFunds(account))) => {
            assert_eq!(account, codes::partner_balance(DEMO_VA));
            return false;
        }
        Err(e) => panic!("hold {key}: unexpected {e}"),
    }
    let post = Step {
        ledger: vec![LedgerOp::Post(PostHold {
            key: key.clone(),
            kind: "payout".into(),
            reference: key.clone(),
            description: "settled".into(),
            credits: vec![Posting {
                account: CLEARING.into(),
                amount,
            }],
        })],
        ..Step::default()
    };
    store
        .commit(now, post)
        .await
        .unwrap_or_else(|e| panic!("post {key}: {e}"));
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_on_one_postgres_never_overdraw_under_concurrent_holds() {
    let Some(db) = gerbang_store::testing::postgres_database().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Both start at once: they migrate and create the demo principals together.
    let (a, b) = two_processes(dir.path(), &db.url).await;
    let shown: Vec<bool> = [&a, &b]
        .iter()
        .map(|p| p.stdout().contains("First start"))
        .collect();
    assert_eq!(
        shown.iter().filter(|s| **s).count(),
        1,
        "demo credentials shown by {shown:?}\nA:\n{}\nB:\n{}",
        a.stdout(),
        b.stdout()
    );
    let check = a.api.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");
    assert_eq!(
        check["entries"], 1,
        "the demo was funded more than once: {check}"
    );

    // Fund through one process; the other sees it.
    a.api
        .topup(DEMO_VA, "123456.78", "FUND-1")
        .await
        .expect(200);
    let funded = minor(&b.api.balance(DEMO_VA).await["balance"]);
    assert_eq!(funded, DEMO_OPENING_MINOR + 12_345_678);

    let s1 = gerbang_store::connect(&db.url).await.unwrap();
    let s2 = gerbang_store::connect(&db.url).await.unwrap();
    let now = gerbang_core::Clock::now(&gerbang_core::SystemClock);
    s1.commit(
        now,
        Step {
            accounts: vec![NewAccount {
                code: CLEARING.into(),
                kind: AccountKind::ChannelClearing,
                currency: Currency::Idr,
            }],
            ..Step::default()
        },
    )
    .await
    .unwrap();

    // Three holds fit; a fourth never may.
    let amount = funded / 4 + 1;
    let fits = funded / amount;
    assert_eq!(fits, 3);

    // Both gateways keep answering balances while the holds race; none may show
    // a negative balance or availability.
    let racing = Arc::new(AtomicBool::new(true));
    let watchers: Vec<_> = [a.api.clone(), b.api.clone()]
        .into_iter()
        .map(|api| {
            let racing = racing.clone();
            tokio::spawn(async move {
                let mut looks = 0;
                while racing.load(Ordering::SeqCst) || looks < 3 {
                    let b = api.balance(DEMO_VA).await;
                    assert!(minor(&b["balance"]) >= 0, "{b}");
                    assert!(minor(&b["available_balance"]) >= 0, "{b}");
                    looks += 1;
                }
                looks
            })
        })
        .collect();

    let attempts: Vec<_> = (0..24)
        .map(|i| {
            let store = if i % 2 == 0 { s1.clone() } else { s2.clone() };
            tokio::spawn(hold_and_post(store, format!("race-{i}"), amount))
        })
        .collect();
    let mut granted = 0;
    for attempt in attempts {
        if attempt.await.unwrap() {
            granted += 1;
        }
    }
    racing.store(false, Ordering::SeqCst);
    for watcher in watchers {
        assert!(watcher.await.unwrap() >= 3);
    }

    assert_eq!(granted, fits, "granted {granted} holds of {amount}");
    let left = funded - fits * amount;
    for api in [&a.api, &b.api] {
        let balance = api.balance(DEMO_VA).await;
        assert_eq!(minor(&balance["balance"]), left, "{balance}");
        assert_eq!(minor(&balance["pending"]), 0, "{balance}");
    }
    let clearing = s2.account(CLEARING).await.unwrap().unwrap();
    assert_eq!(clearing.balance, fits * amount);

    assert_ledger_clean_at(dir.path(), &db.url).await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_on_one_postgres_deliver_each_notification_once() {
    let Some(db) = gerbang_store::testing::postgres_database().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_processes(dir.path(), &db.url).await;
    let receiver = Receiver::start(Behaviour::AnswerAfter(200, 20)).await;

    let mut ids = Vec::new();
    for i in 0..20 {
        let api = if i % 2 == 0 { &a.api } else { &b.api };
        ids.push(
            api.test_notification(&receiver.url(), &json!({ "n": i }))
                .await,
        );
    }
    for id in &ids {
        let n = a
            .api
            .wait_notification(*id, "delivery", |n| n["status"] == "delivered")
            .await;
        assert_eq!(n["attempts"], 1, "{n}");
    }
    let got = receiver.wait_for(20, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got_now = receiver.received();
    assert_eq!(got_now.len(), 20, "some were sent twice");
    let bodies: HashSet<String> = got.iter().map(|r| r.json()["n"].to_string()).collect();
    assert_eq!(bodies.len(), 20);

    // A clock moved through one process moves the other's too.
    a.api.advance_clock(3_600).await;
    let clock = b.api.get("/sandbox/clock").await.expect(200);
    assert_eq!(clock["offset_seconds"], 3_600);
    a.stop().await;
    b.stop().await;
}
