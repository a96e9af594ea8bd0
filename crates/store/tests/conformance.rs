//! One conformance suite, run against every backend: SQLite always, PostgreSQL when
//! `GERBANG_TEST_POSTGRES_URL` names a server (required in CI).

use gerbang_core::ledger::{
    AccountKind, HoldState, LedgerError, LedgerOp, NewAccount, NewEntry, NewHold, PostHold, Posting,
};
use gerbang_core::{Currency, Timestamp};
use gerbang_store::testing::{open, postgres_database, sqlite_database};
use gerbang_store::*;
use std::sync::Arc;

const T0: Timestamp = Timestamp::from_micros(1_700_000_000_000_000);

fn account(code: &str, kind: AccountKind) -> NewAccount {
    NewAccount {
        code: code.into(),
        kind,
        currency: Currency::Idr,
    }
}

fn transfer(from: &str, to: &str, amount: i64) -> LedgerOp {
    LedgerOp::Transfer(NewEntry {
        kind: "transfer".into(),
        reference: format!("{from}->{to}"),
        description: "test".into(),
        currency: Currency::Idr,
        postings: vec![
            Posting {
                account: from.into(),
                amount: -amount,
            },
            Posting {
                account: to.into(),
                amount,
            },
        ],
    })
}

fn hold(key: &str, account: &str, amount: i64, expires_at: Option<Timestamp>) -> LedgerOp {
    LedgerOp::Hold(NewHold {
        key: key.into(),
        account: account.into(),
        amount,
        currency: Currency::Idr,
        expires_at,
    })
}

fn post(key: &str, to: &str, amount: i64) -> LedgerOp {
    LedgerOp::Post(PostHold {
        key: key.into(),
        kind: "payout".into(),
        reference: key.into(),
        description: "settled".into(),
        credits: vec![Posting {
            account: to.into(),
            amount,
        }],
    })
}

/// Funding, a partner with `funded` minor units, and a bank clearing account.
async fn setup(store: &dyn Store, funded: i64) {
    store
        .commit(
            T0,
            Step {
                accounts: vec![
                    account("fund", AccountKind::OperatorFunding),
                    account("partner", AccountKind::PartnerBalance),
                    account("bank", AccountKind::ChannelClearing),
                ],
                ledger: if funded > 0 {
                    vec![transfer("fund", "partner", funded)]
                } else {
                    vec![]
                },
                ..Step::default()
            },
        )
        .await
        .expect("setup");
}

async fn balances(store: &dyn Store, code: &str) -> (i64, i64) {
    let a = store.account(code).await.unwrap().expect("account exists");
    (a.balance, a.pending)
}

async fn assert_clean(store: &dyn Store) {
    let report = store.check_ledger().await.unwrap();
    assert!(report.is_clean(), "ledger check: {:?}", report.problems);
}

// ---------------------------------------------------------------------------------

async fn transfers_move_money_and_refuse_overdrafts(store: Arc<dyn Store>) {
    setup(&*store, 1_000).await;
    assert_eq!(balances(&*store, "partner").await, (1_000, 0));
    assert_eq!(balances(&*store, "fund").await, (-1_000, 0));

    // A step whose second op overdraws applies nothing at all.
    let err = store
        .commit(
            T0,
            Step {
                ledger: vec![
                    transfer("partner", "bank", 600),
                    transfer("partner", "bank", 600),
                ],
                records: vec![RecordWrite {
                    kind: "t".into(),
                    key: "k".into(),
                    owner: "o".into(),
                    state: "s".into(),
                    data: serde_json::json!({}).into(),
                    expect: Expect::Absent,
                }],
                ..Step::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StepError::Ledger(LedgerError::InsufficientFunds("partner".into()))
    );
    assert_eq!(balances(&*store, "partner").await, (1_000, 0));
    assert!(store.record("t", "k").await.unwrap().is_none());

    let unbalanced = LedgerOp::Transfer(NewEntry {
        kind: "x".into(),
        reference: "x".into(),
        description: String::new(),
        currency: Currency::Idr,
        postings: vec![
            Posting {
                account: "partner".into(),
                amount: -5,
            },
            Posting {
                account: "bank".into(),
                amount: 4,
            },
        ],
    });
    let err = store
        .commit(
            T0,
            Step {
                ledger: vec![unbalanced],
                ..Step::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err, StepError::Ledger(LedgerError::Unbalanced));
    let err = store
        .commit(
            T0,
            Step {
                ledger: vec![transfer("partner", "nowhere", 1)],
                ..Step::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StepError::Ledger(LedgerError::UnknownAccount("nowhere".into()))
    );

    let outcome = store
        .commit(
            T0,
            Step {
                ledger: vec![transfer("partner", "bank", 1_000)],
                ..Step::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(outcome.entry_ids.len(), 1);
    assert_eq!(balances(&*store, "partner").await, (0, 0));
    assert_eq!(balances(&*store, "bank").await, (1_000, 0));
    // Reopening an account with another kind is refused.
    let err = store
        .commit(
            T0,
            Step {
                accounts: vec![account("bank", AccountKind::Fees)],
                ..Step::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StepError::Ledger(LedgerError::AccountMismatch("bank".into()))
    );
    assert_clean(&*store).await;
}

async fn holds_post_void_and_expire_exactly_once(store: Arc<dyn Store>) {
    setup(&*store, 1_000).await;
    let expiry = T0.plus_seconds(3600);
    store
        .commit(
            T0,
            Step {
                ledger: vec![
                    hold("h1", "partner", 300, None),
                    hold("h2", "partner", 300, Some(expiry)),
                    hold("h3", "partner", 300, None),
                ],
                ..Step::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(balances(&*store, "partner").await, (1_000, 900));
    let err = store
        .commit(
            T0,
            Step {
                ledger: vec![hold("h4", "partner", 101, None)],
                ..Step::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StepError::Ledger(LedgerError::InsufficientFunds("partner".into()))
    );
    let err = store
        .commit(
            T0,
            Step {
                ledger: vec![hold("h1", "partner", 1, None)],
                ..Step::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StepError::Ledger(LedgerError::DuplicateHold("h1".into()))
    );

    // The expiring hold brought its timer along.
    let timers = store
        .claim_timers(expiry, expiry.plus_seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(timers.len(), 1);
    assert_eq!(timers[0].key, hold_expiry_timer_key("h2"));
    assert_eq!(timers[0].kind, HOLD_EXPIRY_TIMER);
    assert_eq!(timers[0].payload, serde_json::json!({"hold": "h2"}));

    // A post must add up to the held amount.
    let err = store
        .commit(
            T0,
            Step {
                ledger: vec![post("h1", "bank", 299)],
                ..Step::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StepError::Ledger(LedgerError::PostMismatch("h1".into()))
    );
    store
        .commit(
            T0,
            Step {
                ledger: vec![post("h1", "bank", 300), LedgerOp::Void { key: "h3".into() }],
                ..Step::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(balances(&*store, "partner").await, (700, 300));
    assert_eq!(balances(&*store, "bank").await, (300, 0));
    store
        .commit(
            expiry,
            Step {
                ledger: vec![LedgerOp::Expire { key: "h2".into() }],
                timers: vec![TimerOp::Remove(hold_expiry_timer_key("h2"))],
                ..Step::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(balances(&*store, "partner").await, (700, 0));

    for (key, op, state) in [
        ("h1", LedgerOp::Void { key: "h1".into() }, HoldState::Posted),
        ("h2", post("h2", "bank", 300), HoldState::Expired),
        (
            "h3",
            LedgerOp::Expire { key: "h3".into() },
            HoldState::Voided,
        ),
    ] {
        let err = store
            .commit(
                T0,
                Step {
                    ledger: vec![op],
                    ..Step::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(
            err,
            StepError::Ledger(LedgerError::HoldNotPending {
                key: key.into(),
                state
            })
        );
        assert_eq!(store.hold(key).await.unwrap().unwrap().state, state);
    }
    let err = store
        .commit(
            T0,
            Step {
                ledger: vec![LedgerOp::Void { key: "nope".into() }],
                ..Step::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StepError::Ledger(LedgerError::UnknownHold("nope".into()))
    );
    let h2 = store.hold("h2").await.unwrap().unwrap();
    assert_eq!(h2.expires_at, Some(expiry));
    assert_eq!(h2.ended_at, Some(expiry));
    assert!(store
        .claim_timers(expiry.plus_seconds(999), expiry.plus_seconds(1030), 10)
        .await
        .unwrap()
        .is_empty());
    assert_clean(&*store).await;
}

async fn idempotency_returns_the_first_answer(store: Arc<dyn Store>) {
    setup(&*store, 1_000).await;
    let step = |fingerprint: &str, amount: i64| Step {
        idempotency: Some(NewIdempotency {
            scope: "sendme:9920015307".into(),
            key: "trx-1".into(),
            fingerprint: fingerprint.into(),
            response: format!("{{\"amount\":{amount}}}"),
        }),
        ledger: vec![transfer("partner", "bank", amount)],
        ..Step::default()
    };
    store.commit(T0, step("f1", 100)).await.unwrap();
    for (fingerprint, amount) in [("f1", 100), ("f2", 200)] {
        match store.commit(T0, step(fingerprint, amount)).await {
            Err(StepError::Duplicate(existing)) => {
                assert_eq!(existing.fingerprint, "f1");
                assert_eq!(existing.response, "{\"amount\":100}");
                assert_eq!(existing.created_at, T0);
            }
            other => panic!("expected a duplicate, got {other:?}"),
        }
    }
    assert_eq!(balances(&*store, "partner").await, (900, 0));
    let stored = store
        .idempotency("sendme:9920015307", "trx-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.fingerprint, "f1");
    assert!(store
        .idempotency("sendme:other", "trx-1")
        .await
        .unwrap()
        .is_none());
    // A failed step does not burn its key.
    let failing = Step {
        idempotency: Some(NewIdempotency {
            scope: "s".into(),
            key: "k".into(),
            fingerprint: "f".into(),
            response: "r".into(),
        }),
        ledger: vec![transfer("partner", "bank", 1_000_000)],
        ..Step::default()
    };
    assert!(matches!(
        store.commit(T0, failing).await,
        Err(StepError::Ledger(_))
    ));
    assert!(store.idempotency("s", "k").await.unwrap().is_none());
}

async fn concurrent_duplicates_move_money_once(store: Arc<dyn Store>) {
    setup(&*store, 1_000).await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .commit(
                    T0,
                    Step {
                        idempotency: Some(NewIdempotency {
                            scope: "s".into(),
                            key: "same".into(),
                            fingerprint: "f".into(),
                            response: "ok".into(),
                        }),
                        ledger: vec![transfer("partner", "bank", 10)],
                        ..Step::default()
                    },
                )
                .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StepError::Duplicate(_)) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(balances(&*store, "partner").await, (990, 0));
}

async fn concurrent_holds_never_overdraw(store: Arc<dyn Store>) {
    setup(&*store, 1_000).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .commit(
                    T0,
                    Step {
                        ledger: vec![hold(&format!("c{i}"), "partner", 100, None)],
                        ..Step::default()
                    },
                )
                .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StepError::Ledger(LedgerError::InsufficientFunds(_))) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok, 10);
    assert_eq!(balances(&*store, "partner").await, (1_000, 1_000));
    assert_clean(&*store).await;
}

async fn concurrent_hold_endings_apply_once(store: Arc<dyn Store>) {
    setup(&*store, 1_000).await;
    let expiry = T0.plus_seconds(60);
    store
        .commit(
            T0,
            Step {
                ledger: vec![hold("race", "partner", 400, Some(expiry))],
                ..Step::default()
            },
        )
        .await
        .unwrap();
    // Posts, voids and expiries of one hold race each other: exactly one wins and
    // every other sees the state the winner left.
    let mut tasks = Vec::new();
    for i in 0..12 {
        let (op, state) = match i % 3 {
            0 => (post("race", "bank", 400), HoldState::Posted),
            1 => (LedgerOp::Void { key: "race".into() }, HoldState::Voided),
            _ => (LedgerOp::Expire { key: "race".into() }, HoldState::Expired),
        };
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let result = store
                .commit(
                    expiry,
                    Step {
                        ledger: vec![op],
                        ..Step::default()
                    },
                )
                .await;
            (state, result)
        }));
    }
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            (state, Ok(_)) => winners.push(state),
            (_, Err(StepError::Ledger(LedgerError::HoldNotPending { key, state }))) => {
                assert_eq!(key, "race");
                losers.push(state);
            }
            (_, Err(e)) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let winner = winners[0];
    assert!(losers.iter().all(|&s| s == winner), "losers saw {losers:?}");
    let h = store.hold("race").await.unwrap().unwrap();
    assert_eq!((h.state, h.ended_at), (winner, Some(expiry)));
    if winner == HoldState::Posted {
        assert_eq!(balances(&*store, "partner").await, (600, 0));
        assert_eq!(balances(&*store, "bank").await, (400, 0));
    } else {
        assert_eq!(balances(&*store, "partner").await, (1_000, 0));
        assert_eq!(balances(&*store, "bank").await, (0, 0));
    }
    // Whoever ended the hold took its expiry timer with it.
    assert!(store
        .claim_timers(expiry, expiry.plus_seconds(30), 10)
        .await
        .unwrap()
        .is_empty());
    assert_clean(&*store).await;
}

async fn records_keep_versions(store: Arc<dyn Store>) {
    let write = |state: &str, expect: Expect| Step {
        records: vec![RecordWrite {
            kind: "transfer".into(),
            key: "T1".into(),
            owner: "9920015307".into(),
            state: state.into(),
            data: serde_json::json!({"state": state}).into(),
            expect,
        }],
        ..Step::default()
    };
    let v = store
        .commit(T0, write("new", Expect::Absent))
        .await
        .unwrap();
    assert_eq!(v.record_versions, vec![1]);
    assert_eq!(
        store.commit(T0, write("again", Expect::Absent)).await,
        Err(StepError::RecordConflict {
            kind: "transfer".into(),
            key: "T1".into()
        })
    );
    let later = T0.plus_seconds(5);
    let v = store
        .commit(later, write("sent", Expect::Version(1)))
        .await
        .unwrap();
    assert_eq!(v.record_versions, vec![2]);
    assert!(matches!(
        store.commit(T0, write("stale", Expect::Version(1))).await,
        Err(StepError::RecordConflict { .. })
    ));
    let v = store.commit(T0, write("any", Expect::Any)).await.unwrap();
    assert_eq!(v.record_versions, vec![3]);
    let r = store.record("transfer", "T1").await.unwrap().unwrap();
    assert_eq!((r.state.as_str(), r.version), ("any", 3));
    assert_eq!(r.data, serde_json::json!({"state": "any"}));
    assert_eq!(r.created_at, T0);
    store
        .commit(
            T0.plus_seconds(1),
            Step {
                records: vec![RecordWrite {
                    kind: "transfer".into(),
                    key: "T2".into(),
                    owner: "other".into(),
                    state: "new".into(),
                    data: serde_json::json!(null).into(),
                    expect: Expect::Any,
                }],
                ..Step::default()
            },
        )
        .await
        .unwrap();
    let all = store.records("transfer", None, None, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
        ["T1", "T2"]
    );
    let mine = store
        .records("transfer", Some("other"), None, 10)
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    // The next page starts after the last key of the one before.
    let first_page = store.records("transfer", None, None, 1).await.unwrap();
    assert_eq!(
        store
            .records("transfer", None, Some(&first_page[0].key), 10)
            .await
            .unwrap()[0]
            .key,
        "T2"
    );
}

async fn notifications_are_leased_retried_and_recorded(store: Arc<dyn Store>) {
    let outcome = store
        .commit(
            T0,
            Step {
                notifications: vec![
                    NewNotification {
                        protocol: "test".into(),
                        owner: "p1".into(),
                        source: "src:1".into(),
                        url: "http://127.0.0.1:9/a".into(),
                        body: "{\"n\":1}".into(),
                        request_id: Some("req-1".into()),
                    },
                    NewNotification {
                        protocol: "test".into(),
                        owner: "p2".into(),
                        source: "src:2".into(),
                        url: "http://127.0.0.1:9/b".into(),
                        body: "{\"n\":2}".into(),
                        request_id: None,
                    },
                ],
                ..Step::default()
            },
        )
        .await
        .unwrap();
    let [first, second] = outcome.notification_ids[..] else {
        panic!("two ids")
    };
    let waiting = store.backlog(T0.plus_seconds(10)).await.unwrap();
    assert_eq!(
        (waiting.notifications_pending, waiting.notifications_due),
        (2, 2)
    );
    assert_eq!(waiting.oldest_due_notification, Some(T0));
    let lease = T0.plus_seconds(15);
    let claimed = store.claim_notifications(T0, lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert_eq!(claimed[0].request_id.as_deref(), Some("req-1"));
    assert_eq!(claimed[1].request_id, None);
    // Leased: nobody else gets them until the lease ends.
    assert!(store
        .claim_notifications(T0.plus_seconds(1), lease, 10)
        .await
        .unwrap()
        .is_empty());
    store
        .record_attempt(
            Attempt {
                notification_id: first,
                attempt_no: 1,
                at: T0,
                http_status: Some(200),
                latency_ms: 3,
                excerpt: "OK".into(),
            },
            AttemptVerdict::Delivered,
        )
        .await
        .unwrap();
    let retry_at = T0.plus_seconds(60);
    store
        .record_attempt(
            Attempt {
                notification_id: second,
                attempt_no: 1,
                at: T0,
                http_status: Some(503),
                latency_ms: 4,
                excerpt: "busy".into(),
            },
            AttemptVerdict::RetryAt(retry_at),
        )
        .await
        .unwrap();
    let waiting = store.backlog(T0.plus_seconds(10)).await.unwrap();
    assert_eq!(
        (waiting.notifications_pending, waiting.notifications_due),
        (1, 0),
        "one waits for its retry, none is due"
    );
    assert_eq!(waiting.oldest_due_notification, None);
    let waiting = store.backlog(T0.plus_seconds(70)).await.unwrap();
    assert_eq!(waiting.notifications_due, 1);
    assert_eq!(waiting.oldest_due_notification, Some(retry_at));
    let n1 = store.notification(first).await.unwrap().unwrap();
    assert_eq!(n1.request_id.as_deref(), Some("req-1"));
    assert_eq!(n1.status, NotificationStatus::Delivered);
    assert_eq!(n1.delivered_at, Some(T0));
    assert_eq!(n1.attempts, 1);
    assert!(store
        .claim_notifications(T0.plus_seconds(59), T0.plus_seconds(80), 10)
        .await
        .unwrap()
        .is_empty());
    let again = store
        .claim_notifications(retry_at, retry_at.plus_seconds(15), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, second);
    assert_eq!(again[0].attempts, 1);
    store
        .record_attempt(
            Attempt {
                notification_id: second,
                attempt_no: 2,
                at: retry_at,
                http_status: None,
                latency_ms: 10_000,
                excerpt: "timed out".into(),
            },
            AttemptVerdict::GiveUp,
        )
        .await
        .unwrap();
    let n2 = store.notification(second).await.unwrap().unwrap();
    assert_eq!(n2.status, NotificationStatus::Failed);
    let attempts = store.attempts(second).await.unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].http_status, Some(503));
    assert_eq!(attempts[1].http_status, None);
    assert_eq!(attempts[1].excerpt, "timed out");

    let failed = store
        .notifications(NotificationQuery {
            status: Some(NotificationStatus::Failed),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    let by_owner = store
        .notifications(NotificationQuery {
            owner: Some("p1".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_owner.len(), 1);
    assert_eq!(by_owner[0].id, first);
    let newest_first = store
        .notifications(NotificationQuery {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(newest_first[0].id, second);

    let later = T0.plus_seconds(7200);
    assert!(store.resend_notification(second, later).await.unwrap());
    assert!(!store.resend_notification(999_999, later).await.unwrap());
    let resent = store
        .claim_notifications(later, later.plus_seconds(15), 10)
        .await
        .unwrap();
    assert_eq!(resent.len(), 1);
    assert_eq!(resent[0].status, NotificationStatus::Pending);
}

async fn timers_fire_once_and_retry(store: Arc<dyn Store>) {
    let schedule = |key: &str, due: Timestamp| {
        TimerOp::Schedule(NewTimer {
            key: key.into(),
            kind: "test".into(),
            due_at: due,
            payload: serde_json::json!({"key": key}).into(),
        })
    };
    store
        .commit(
            T0,
            Step {
                timers: vec![
                    schedule("a", T0.plus_seconds(10)),
                    schedule("b", T0.plus_seconds(20)),
                    schedule("c", T0.plus_seconds(30)),
                ],
                ..Step::default()
            },
        )
        .await
        .unwrap();
    // Rescheduling moves a timer.
    store
        .commit(
            T0,
            Step {
                timers: vec![
                    schedule("c", T0.plus_seconds(5)),
                    TimerOp::Remove("b".into()),
                ],
                ..Step::default()
            },
        )
        .await
        .unwrap();
    assert!(store
        .claim_timers(T0, T0.plus_seconds(30), 10)
        .await
        .unwrap()
        .is_empty());
    let waiting = store.backlog(T0.plus_seconds(25)).await.unwrap();
    assert_eq!(waiting.timers_due, 2, "a and c");
    assert_eq!(waiting.oldest_due_timer, Some(T0.plus_seconds(5)));
    let due = store
        .claim_timers(T0.plus_seconds(25), T0.plus_seconds(55), 10)
        .await
        .unwrap();
    assert_eq!(
        due.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(),
        ["c", "a"]
    );
    assert!(store
        .claim_timers(T0.plus_seconds(26), T0.plus_seconds(56), 10)
        .await
        .unwrap()
        .is_empty());
    // Not under another lease than the one it was claimed with: still leased.
    store
        .retry_timer("a", T0.plus_seconds(100), T0.plus_seconds(30))
        .await
        .unwrap();
    assert!(store
        .claim_timers(T0.plus_seconds(26), T0.plus_seconds(56), 10)
        .await
        .unwrap()
        .is_empty());
    store
        .retry_timer("a", T0.plus_seconds(100), T0.plus_seconds(55))
        .await
        .unwrap();
    store
        .commit(
            T0,
            Step {
                timers: vec![TimerOp::Remove("c".into())],
                ..Step::default()
            },
        )
        .await
        .unwrap();
    let again = store
        .claim_timers(T0.plus_seconds(100), T0.plus_seconds(130), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].key.as_str(), again[0].attempts), ("a", 1));
}

async fn statements_page_through_a_window(store: Arc<dyn Store>) {
    setup(&*store, 0).await;
    for i in 0..10 {
        store
            .commit(
                T0.plus_seconds(i),
                Step {
                    ledger: vec![transfer("fund", "partner", 100 + i)],
                    ..Step::default()
                },
            )
            .await
            .unwrap();
    }
    let query = |after: i64, limit: u32| StatementQuery {
        account: "partner".into(),
        from: T0.plus_seconds(2),
        to: T0.plus_seconds(8),
        after_posting_id: after,
        limit,
    };
    let page1 = store.statement(query(0, 4)).await.unwrap();
    assert_eq!(page1.len(), 4);
    assert_eq!(page1[0].amount, 102);
    assert_eq!(page1[0].at, T0.plus_seconds(2));
    assert_eq!(page1[0].balance_after, 100 + 101 + 102);
    assert_eq!(page1[0].kind, "transfer");
    let page2 = store
        .statement(query(page1.last().unwrap().posting_id, 4))
        .await
        .unwrap();
    assert_eq!(
        page2.iter().map(|l| l.amount).collect::<Vec<_>>(),
        [106, 107]
    );
    let mut running = page1[0].balance_after;
    for line in page1.iter().chain(&page2).skip(1) {
        running += line.amount;
        assert_eq!(line.balance_after, running);
    }
    assert!(store
        .statement(StatementQuery {
            account: "nobody".into(),
            ..query(0, 10)
        })
        .await
        .unwrap()
        .is_empty());
    assert_clean(&*store).await;
}

async fn accounts_list_by_code_a_page_at_a_time(store: Arc<dyn Store>) {
    setup(&*store, 500).await;
    let all = store.accounts(None, 100).await.unwrap();
    let codes: Vec<&str> = all.iter().map(|a| a.code.as_str()).collect();
    assert_eq!(codes, ["bank", "fund", "partner"]);
    assert_eq!((all[2].balance, all[2].pending), (500, 0));
    let first = store.accounts(None, 2).await.unwrap();
    assert_eq!(first.len(), 2);
    let rest = store.accounts(Some(&first[1].code), 2).await.unwrap();
    assert_eq!(
        rest.iter().map(|a| a.code.as_str()).collect::<Vec<_>>(),
        ["partner"]
    );
    assert!(store.accounts(Some("partner"), 2).await.unwrap().is_empty());
}

async fn records_in_an_indexed_state_are_listed(store: Arc<dyn Store>) {
    let write = |key: &str, owner: &str, state: &str, expect| RecordWrite {
        kind: "disbursement".into(),
        key: key.into(),
        owner: owner.into(),
        state: state.into(),
        data: Document::of(&serde_json::json!({ "key": key })),
        expect,
    };
    let step = Step {
        records: vec![
            write("d1", "a", "waiting_approval", Expect::Absent),
            write("d2", "a", "processing", Expect::Absent),
            write("d3", "b", "waiting_approval", Expect::Absent),
            write("d4", "a", "waiting_approval", Expect::Absent),
        ],
        ..Step::default()
    };
    store.commit(T0, step).await.unwrap();
    let keys = |records: Vec<Record>| records.into_iter().map(|r| r.key).collect::<Vec<_>>();
    let waiting = IndexedState::WaitingApproval;
    let all = store
        .records_in_state("disbursement", waiting, None, None, 10)
        .await
        .unwrap();
    assert_eq!(keys(all), ["d1", "d3", "d4"]);
    let of_a = store
        .records_in_state("disbursement", waiting, Some("a"), None, 1)
        .await
        .unwrap();
    assert_eq!(keys(of_a), ["d1"]);
    let next = store
        .records_in_state("disbursement", waiting, Some("a"), Some("d1"), 10)
        .await
        .unwrap();
    assert_eq!(keys(next), ["d4"]);
    // Decided: it leaves the state.
    let decided = Step {
        records: vec![write("d4", "a", "processing", Expect::Version(1))],
        ..Step::default()
    };
    store.commit(T0, decided).await.unwrap();
    let of_a = store
        .records_in_state("disbursement", waiting, Some("a"), None, 10)
        .await
        .unwrap();
    assert_eq!(keys(of_a), ["d1"]);
}

async fn records_page_newest_first_by_time(store: Arc<dyn Store>) {
    let write = |key: &str, owner: &str, state: &str| RecordWrite {
        kind: "payin.bill".into(),
        key: key.into(),
        owner: owner.into(),
        state: state.into(),
        data: Document::of(&serde_json::json!({ "key": key })),
        expect: Expect::Absent,
    };
    let at = |seconds: i64| T0.plus_seconds(seconds);
    // b1 and b2 share an instant: the key orders them.
    for (t, key, owner, state) in [
        (0, "b0", "m1", "paid"),
        (10, "b1", "m1", "pending"),
        (10, "b2", "m2", "paid"),
        (20, "b3", "m1", "paid"),
        (30, "b4", "m1", "expired"),
    ] {
        let step = Step {
            records: vec![write(key, owner, state)],
            ..Step::default()
        };
        store.commit(at(t), step).await.unwrap();
    }
    let page = |owner: Option<&str>, before: Option<(i64, &str)>, limit| {
        let store = store.clone();
        let query = RecordsByTime {
            kind: "payin.bill".into(),
            owner: owner.map(str::to_string),
            from: at(5),
            until: at(30),
            before: before.map(|(t, k)| (at(t), k.to_string())),
            limit,
        };
        async move {
            let records = store.records_by_time(query).await.unwrap();
            records.into_iter().map(|r| r.key).collect::<Vec<_>>()
        }
    };
    // b4 is at `until` (excluded), b0 before `from`.
    assert_eq!(page(None, None, 10).await, ["b3", "b2", "b1"]);
    assert_eq!(page(None, None, 2).await, ["b3", "b2"]);
    assert_eq!(page(None, Some((10, "b2")), 2).await, ["b1"]);
    assert_eq!(page(Some("m1"), None, 10).await, ["b3", "b1"]);
    assert_eq!(page(Some("m1"), Some((20, "b3")), 10).await, ["b1"]);
    assert_eq!(
        page(Some("m2"), Some((10, "b2")), 10).await,
        Vec::<String>::new()
    );
}

async fn records_are_totalled_per_day_state_and_field(store: Arc<dyn Store>) {
    let write = |key: &str, state: &str, data: serde_json::Value| RecordWrite {
        kind: "disbursement".into(),
        key: key.into(),
        owner: "p".into(),
        state: state.into(),
        data: Document::of(&data),
        expect: Expect::Absent,
    };
    let bank = |channel: &str, amount: i64| serde_json::json!({ "payee": { "bank_account": { "channel": channel } }, "amount_minor": amount });
    let wallet = |channel: &str, amount: i64| serde_json::json!({ "payee": { "e_wallet": { "channel": channel } }, "amount_minor": amount });
    // T0 is 2023-11-14 22:13:20 UTC: 05:13 the next day in Jakarta (+7).
    let day = (T0.unix_seconds() + 25_200) / 86_400;
    for (t, key, state, data) in [
        (0, "d1", "succeeded", bank("014", 100)),
        (10, "d2", "succeeded", bank("014", 250)),
        (20, "d3", "failed", bank("014", 7)),
        (30, "d4", "succeeded", wallet("ovo", 40)),
        (86_400, "d5", "succeeded", bank("014", 1)),
    ] {
        let step = Step {
            records: vec![write(key, state, data)],
            ..Step::default()
        };
        store.commit(T0.plus_seconds(t), step).await.unwrap();
    }
    let query = |owner: Option<&str>| RecordTotals {
        kind: "disbursement".into(),
        owner: owner.map(str::to_string),
        from: T0,
        until: T0.plus_seconds(2 * 86_400),
        day_offset_seconds: 25_200,
        group_paths: vec![
            "$.payee.bank_account.channel".into(),
            "$.payee.e_wallet.channel".into(),
        ],
        amount_path: "$.amount_minor".into(),
        matching: None,
    };
    let rows = store.record_totals(query(None)).await.unwrap();
    let row = |day, group: &str, state: &str, count, amount| TotalsRow {
        day,
        group: group.into(),
        state: state.into(),
        count,
        amount,
    };
    assert_eq!(
        rows,
        [
            row(day, "014", "failed", 1, 7),
            row(day, "014", "succeeded", 2, 350),
            row(day, "ovo", "succeeded", 1, 40),
            row(day + 1, "014", "succeeded", 1, 1),
        ]
    );
    assert!(store
        .record_totals(query(Some("q")))
        .await
        .unwrap()
        .is_empty());
}

async fn entries_are_read_by_reference(store: Arc<dyn Store>) {
    setup(&*store, 500).await;
    let step = Step {
        ledger: vec![
            transfer("partner", "bank", 120),
            transfer("partner", "bank", 30),
        ],
        ..Step::default()
    };
    store.commit(T0, step).await.unwrap();
    let entries = store.entries("partner->bank", 10).await.unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries[0].id < entries[1].id);
    assert_eq!(entries[0].kind, "transfer");
    assert_eq!(
        entries[0].postings,
        [
            EntryPosting {
                account: "partner".into(),
                amount: -120
            },
            EntryPosting {
                account: "bank".into(),
                amount: 120
            }
        ]
    );
    assert_eq!(store.entries("partner->bank", 1).await.unwrap().len(), 1);
    assert!(store.entries("nothing", 10).await.unwrap().is_empty());
}

async fn check_ledger_reports_counts(store: Arc<dyn Store>) {
    setup(&*store, 500).await;
    store
        .commit(
            T0,
            Step {
                ledger: vec![hold("h", "partner", 200, None)],
                ..Step::default()
            },
        )
        .await
        .unwrap();
    let report = store.check_ledger().await.unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.accounts, 3);
    assert_eq!(report.entries, 1);
    assert_eq!(report.postings, 2);
    assert_eq!(report.holds_pending, 1);
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = super::sqlite_database();
                    super::$name(super::open(&db).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = super::postgres_database().await else { return };
                    super::$name(super::open(&db).await).await;
                }
            )*
        }
    };
}

conformance!(
    transfers_move_money_and_refuse_overdrafts,
    holds_post_void_and_expire_exactly_once,
    idempotency_returns_the_first_answer,
    concurrent_duplicates_move_money_once,
    concurrent_holds_never_overdraw,
    concurrent_hold_endings_apply_once,
    records_keep_versions,
    notifications_are_leased_retried_and_recorded,
    timers_fire_once_and_retry,
    statements_page_through_a_window,
    accounts_list_by_code_a_page_at_a_time,
    records_in_an_indexed_state_are_listed,
    records_page_newest_first_by_time,
    entries_are_read_by_reference,
    records_are_totalled_per_day_state_and_field,
    check_ledger_reports_counts,
);

/// Steps handed over together, which a store that groups commits runs in one
/// transaction: each still commits or fails on its own, in the order they came,
/// seeing the ones before it as committed. `hold_writers` keeps the store's
/// writers busy and gives back what lets them go again, once every step is queued.
///
/// With `refused_text`, one step carries text PostgreSQL refuses, which sends its
/// batch step by step there; without, the batch is written whole.
async fn steps_handed_over_together_stay_apart(
    store: Arc<dyn Store>,
    hold_writers: impl std::future::Future<Output = Box<dyn FnOnce() + Send>>,
    refused_text: bool,
) {
    use std::task::Poll;

    setup(&*store, 1_000).await;
    store
        .commit(
            T0,
            Step {
                ledger: vec![hold("h0", "partner", 100, None)],
                ..Step::default()
            },
        )
        .await
        .unwrap();
    let keyed = |key: &str, fingerprint: &str, ledger: Vec<LedgerOp>| Step {
        idempotency: Some(NewIdempotency {
            scope: "s".into(),
            key: key.into(),
            fingerprint: fingerprint.into(),
            response: fingerprint.into(),
        }),
        ledger,
        ..Step::default()
    };
    let record = |key: &str, owner: &str| RecordWrite {
        kind: "r".into(),
        key: key.into(),
        owner: owner.into(),
        state: "s".into(),
        data: serde_json::json!({}).into(),
        expect: Expect::Absent,
    };
    let steps = vec![
        keyed("k1", "first", vec![transfer("partner", "bank", 100)]),
        // The same key again: a duplicate of the step before, moving nothing.
        keyed("k1", "second", vec![transfer("partner", "bank", 200)]),
        // Fails after its first transfer moved money: none of it stays.
        Step {
            ledger: vec![
                transfer("partner", "bank", 300),
                transfer("partner", "bank", 1_000_000),
            ],
            records: vec![record("failed", "o")],
            ..Step::default()
        },
        Step {
            records: vec![record("r1", "o")],
            ..Step::default()
        },
        Step {
            records: vec![record("r1", "o")],
            ..Step::default()
        },
        // A step that fails does not burn its key.
        keyed("k2", "failed", vec![transfer("partner", "bank", 1_000_000)]),
        keyed("k2", "ok", vec![transfer("partner", "bank", 50)]),
        Step {
            ledger: vec![hold("h", "partner", 100, None)],
            ..Step::default()
        },
        Step {
            ledger: vec![post("h", "bank", 100)],
            ..Step::default()
        },
        // Text no PostgreSQL column takes: the database refuses the statement in
        // the middle of the step.
        Step {
            idempotency: Some(NewIdempotency {
                scope: "s".into(),
                key: if refused_text { "n\0ul" } else { "nul" }.into(),
                fingerprint: "nul".into(),
                response: "nul".into(),
            }),
            records: vec![record("nul", if refused_text { "a\0b" } else { "ab" })],
            ..Step::default()
        },
        Step {
            records: vec![record("r2", "o")],
            ..Step::default()
        },
        // Posts a hold placed before, then fails: the hold is still pending for
        // the next step, which voids it.
        Step {
            ledger: vec![
                post("h0", "bank", 100),
                transfer("partner", "bank", 1_000_000),
            ],
            ..Step::default()
        },
        Step {
            ledger: vec![LedgerOp::Void { key: "h0".into() }],
            ..Step::default()
        },
        Step {
            ledger: vec![post("h0", "bank", 100)],
            ..Step::default()
        },
    ];

    let release = hold_writers.await;
    let mut pending: Vec<_> = steps
        .into_iter()
        .enumerate()
        .map(|(i, step)| store.commit(T0.plus_seconds(i as i64), step))
        .collect();
    let mut results: Vec<Option<Result<StepOutcome, StepError>>> = vec![None; pending.len()];
    // Polls every commit not done yet; true once all are.
    let mut poll_all = |cx: &mut std::task::Context<'_>| {
        for (commit, result) in pending.iter_mut().zip(results.iter_mut()) {
            if result.is_none() {
                if let Poll::Ready(done) = commit.as_mut().poll(cx) {
                    *result = Some(done);
                }
            }
        }
        results.iter().all(Option::is_some)
    };
    // Hand every step over, in order, then let the writers go.
    std::future::poll_fn(|cx| {
        poll_all(cx);
        Poll::Ready(())
    })
    .await;
    release();
    std::future::poll_fn(|cx| {
        if poll_all(cx) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    let results: Vec<_> = results.into_iter().map(Option::unwrap).collect();

    assert!(results[0].is_ok(), "{:?}", results[0]);
    match &results[1] {
        Err(StepError::Duplicate(first)) => {
            assert_eq!(
                (first.fingerprint.as_str(), first.response.as_str()),
                ("first", "first")
            );
            assert_eq!(first.created_at, T0);
        }
        other => panic!("expected a duplicate, got {other:?}"),
    }
    assert_eq!(
        results[2],
        Err(StepError::Ledger(LedgerError::InsufficientFunds(
            "partner".into()
        )))
    );
    assert_eq!(results[3].as_ref().unwrap().record_versions, vec![1]);
    assert_eq!(
        results[4],
        Err(StepError::RecordConflict {
            kind: "r".into(),
            key: "r1".into()
        })
    );
    assert!(matches!(results[5], Err(StepError::Ledger(_))));
    assert!(results[6].is_ok(), "{:?}", results[6]);
    assert!(results[7].is_ok(), "{:?}", results[7]);
    assert_eq!(results[8].as_ref().unwrap().entry_ids.len(), 1);
    match (store.backend(), &results[9]) {
        (_, other) if !refused_text => assert!(other.is_ok(), "{other:?}"),
        ("postgres", Err(StepError::Backend(_))) => {
            assert!(store.record("r", "nul").await.unwrap().is_none())
        }
        ("postgres", other) => panic!("expected PostgreSQL to refuse a NUL, got {other:?}"),
        (_, other) => assert!(other.is_ok(), "{other:?}"),
    }
    assert!(results[10].is_ok(), "{:?}", results[10]);
    assert_eq!(
        results[11],
        Err(StepError::Ledger(LedgerError::InsufficientFunds(
            "partner".into()
        )))
    );
    assert!(results[12].is_ok(), "{:?}", results[12]);
    assert_eq!(
        results[13],
        Err(StepError::Ledger(LedgerError::HoldNotPending {
            key: "h0".into(),
            state: HoldState::Voided
        }))
    );

    assert_eq!(balances(&*store, "partner").await, (750, 0));
    assert_eq!(balances(&*store, "bank").await, (250, 0));
    assert_eq!(
        store
            .idempotency("s", "k1")
            .await
            .unwrap()
            .unwrap()
            .fingerprint,
        "first"
    );
    assert_eq!(
        store
            .idempotency("s", "k2")
            .await
            .unwrap()
            .unwrap()
            .fingerprint,
        "ok"
    );
    assert!(store.record("r", "failed").await.unwrap().is_none());
    assert_eq!(store.record("r", "r1").await.unwrap().unwrap().version, 1);
    assert!(store.record("r", "r2").await.unwrap().is_some());
    assert_eq!(
        store.hold("h").await.unwrap().unwrap().state,
        HoldState::Posted
    );
    assert_eq!(
        store.hold("h0").await.unwrap().unwrap().state,
        HoldState::Voided
    );
    assert_clean(&*store).await;
}

mod together {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let db = sqlite_database();
        let store = open(&db).await;
        steps_handed_over_together_stay_apart(
            store,
            async { Box::new(|| {}) as Box<dyn FnOnce() + Send> },
            true,
        )
        .await;
    }

    /// Written step by step: one step's text is refused.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_step_by_step() {
        postgres(true).await
    }

    /// Written whole.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_whole() {
        postgres(false).await
    }

    /// Every committer is made to wait for a row lock held elsewhere, so the steps
    /// queue up and the first committer back takes them all in one batch.
    async fn postgres(refused_text: bool) {
        let Some(db) = postgres_database().await else {
            return;
        };
        let store = open(&db).await;
        let url = db.url.clone();
        let blocker_store = store.clone();
        let hold_writers = async move {
            blocker_store
                .commit(
                    T0,
                    Step {
                        accounts: vec![
                            account("fund", AccountKind::OperatorFunding),
                            account("blocker", AccountKind::PartnerBalance),
                        ],
                        ..Step::default()
                    },
                )
                .await
                .unwrap();
            let (mut client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            let (locked_tx, locked_rx) = tokio::sync::oneshot::channel::<()>();
            let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(async move {
                let tx = client.transaction().await.unwrap();
                tx.execute(
                    "SELECT 1 FROM accounts WHERE code = 'blocker' FOR UPDATE",
                    &[],
                )
                .await
                .unwrap();
                locked_tx.send(()).unwrap();
                let _ = release_rx.await;
                tx.rollback().await.unwrap();
            });
            locked_rx.await.unwrap();
            let committers = std::env::var(gerbang_store::postgres::COMMITTERS_VAR)
                .ok()
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(gerbang_store::postgres::DEFAULT_COMMITTERS);
            // One step at a time, each taken by the next idle committer, which then
            // waits for the lock.
            for _ in 0..committers {
                let store = blocker_store.clone();
                tokio::spawn(async move {
                    store
                        .commit(
                            T0,
                            Step {
                                ledger: vec![transfer("fund", "blocker", 1)],
                                ..Step::default()
                            },
                        )
                        .await
                        .unwrap();
                });
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Box::new(move || {
                let _ = release_tx.send(());
            }) as Box<dyn FnOnce() + Send>
        };
        steps_handed_over_together_stay_apart(store, hold_writers, refused_text).await;
    }
}

/// PostgreSQL runs a batch in memory from figures it read at its start and writes
/// its rows together; what another transaction commits in between must still
/// decide the outcome, as it would step by step.
mod written_meanwhile {
    use super::*;
    use gerbang_store::testing::TestDatabase;

    /// A transaction of its own that has written `sql` and commits when told.
    async fn uncommitted(url: &str, sql: &'static str) -> tokio::sync::oneshot::Sender<()> {
        let (mut client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let (written_tx, written_rx) = tokio::sync::oneshot::channel::<()>();
        let (commit_tx, commit_rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let tx = client.transaction().await.unwrap();
            tx.batch_execute(sql).await.unwrap();
            written_tx.send(()).unwrap();
            let _ = commit_rx.await;
            tx.commit().await.unwrap();
        });
        written_rx.await.unwrap();
        commit_tx
    }

    /// A funded store on a fresh PostgreSQL database, with `first` committed.
    async fn store_with(first: Step) -> Option<(TestDatabase, Arc<dyn Store>)> {
        let db = postgres_database().await?;
        let store = open(&db).await;
        setup(&*store, 1_000).await;
        store.commit(T0, first).await.unwrap();
        Some((db, store))
    }

    /// Record r/one as `expect` expects to find it.
    fn one(expect: Expect) -> RecordWrite {
        RecordWrite {
            kind: "r".into(),
            key: "one".into(),
            owner: "o".into(),
            state: "new".into(),
            data: serde_json::json!({}).into(),
            expect,
        }
    }

    /// Commits `step` from a task while the transaction that wrote `sql` waits;
    /// after a pause (the batch has read its figures and waits for that
    /// transaction's row) lets it commit. The step's answer.
    async fn commit_while(
        db: &TestDatabase,
        store: &Arc<dyn Store>,
        sql: &'static str,
        step: Step,
    ) -> Result<StepOutcome, StepError> {
        let other = uncommitted(&db.url, sql).await;
        let committing = {
            let store = store.clone();
            tokio::spawn(async move { store.commit(T0.plus_seconds(1), step).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        other.send(()).unwrap();
        committing.await.unwrap()
    }

    /// The partner's money is where `setup` put it, and the ledger is sound.
    async fn nothing_moved(store: &Arc<dyn Store>) {
        assert_eq!(balances(&**store, "partner").await, (1_000, 0));
        assert_clean(&**store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_key_claimed_meanwhile_makes_the_step_a_duplicate() {
        let Some((db, store)) = store_with(Step::default()).await else {
            return;
        };
        let step = Step {
            idempotency: Some(NewIdempotency {
                scope: "s".into(),
                key: "k".into(),
                fingerprint: "ours".into(),
                response: "our answer".into(),
            }),
            ledger: vec![transfer("partner", "bank", 100)],
            ..Step::default()
        };
        let sql = "INSERT INTO idempotency (scope, key, fingerprint, response, created_at)
                   VALUES ('s', 'k', 'theirs', 'their answer', 1)";
        match commit_while(&db, &store, sql, step).await {
            Err(StepError::Duplicate(first)) => assert_eq!(first.fingerprint, "theirs"),
            other => panic!("expected a duplicate, got {other:?}"),
        }
        nothing_moved(&store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_record_changed_meanwhile_is_a_conflict() {
        let first = Step {
            records: vec![one(Expect::Absent)],
            ..Step::default()
        };
        let Some((db, store)) = store_with(first).await else {
            return;
        };
        let step = Step {
            ledger: vec![transfer("partner", "bank", 100)],
            records: vec![one(Expect::Version(1))],
            ..Step::default()
        };
        let sql =
            "UPDATE records SET version = 2, state = 'theirs' WHERE kind = 'r' AND key = 'one'";
        match commit_while(&db, &store, sql, step).await {
            Err(StepError::RecordConflict { kind, key }) => {
                assert_eq!((kind, key), ("r".into(), "one".into()))
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        let record = store.record("r", "one").await.unwrap().unwrap();
        assert_eq!((record.version, record.state.as_str()), (2, "theirs"));
        nothing_moved(&store).await;
    }

    /// The batch reads the hold before it locks its account, which the other
    /// transaction holds while it voids the hold. With `record_moved`, the other
    /// transaction also moves a record the step expects unchanged: the step still
    /// fails on the hold first, as step by step.
    async fn a_hold_ended_meanwhile(record_moved: bool) {
        let first = Step {
            ledger: vec![hold("h", "partner", 100, None)],
            records: vec![one(Expect::Absent)],
            ..Step::default()
        };
        let Some((db, store)) = store_with(first).await else {
            return;
        };
        let step = Step {
            ledger: vec![post("h", "bank", 100)],
            records: vec![one(Expect::Version(1))],
            ..Step::default()
        };
        let sql = if record_moved {
            "UPDATE accounts SET pending = pending - 100 WHERE code = 'partner';
             UPDATE holds SET state = 'voided', ended_at = 1 WHERE key = 'h';
             UPDATE records SET version = 2 WHERE kind = 'r' AND key = 'one'"
        } else {
            "UPDATE accounts SET pending = pending - 100 WHERE code = 'partner';
             UPDATE holds SET state = 'voided', ended_at = 1 WHERE key = 'h'"
        };
        match commit_while(&db, &store, sql, step).await {
            Err(StepError::Ledger(LedgerError::HoldNotPending { key, state })) => {
                assert_eq!((key.as_str(), state), ("h", HoldState::Voided))
            }
            other => panic!("expected a hold no longer pending, got {other:?}"),
        }
        nothing_moved(&store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hold_ended_meanwhile_is_not_pending() {
        a_hold_ended_meanwhile(false).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hold_ended_meanwhile_comes_before_a_record_conflict() {
        a_hold_ended_meanwhile(true).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hold_placed_meanwhile_is_a_duplicate() {
        let Some((db, store)) = store_with(Step::default()).await else {
            return;
        };
        let step = Step {
            ledger: vec![hold("h", "partner", 100, None)],
            ..Step::default()
        };
        let sql = "INSERT INTO holds (key, account_id, amount, currency, state, created_at)
                   SELECT 'h', id, 1, 'IDR', 'voided', 1 FROM accounts WHERE code = 'bank'";
        match commit_while(&db, &store, sql, step).await {
            Err(StepError::Ledger(LedgerError::DuplicateHold(key))) => assert_eq!(key, "h"),
            other => panic!("expected a duplicate hold, got {other:?}"),
        }
        nothing_moved(&store).await;
    }
}
