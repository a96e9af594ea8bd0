//! Production mode: no sandbox API and a clock that cannot move.

use crate::common::*;
use gerbang_app::config::Mode;
use gerbang_core::{Clock, SystemClock};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

pub(crate) const SANDBOX_CALLS: &[(&str, &str)] = &[
    ("POST", "/sandbox/topup"),
    ("GET", "/sandbox/partners/9920015307/balance"),
    ("GET", "/sandbox/accounts/partner:9920015307/statement"),
    ("GET", "/sandbox/clock"),
    ("POST", "/sandbox/clock/advance"),
    ("GET", "/sandbox/notifications"),
    ("POST", "/sandbox/notifications/test"),
    ("GET", "/sandbox/notifications/1"),
    ("POST", "/sandbox/notifications/1/resend"),
    ("GET", "/sandbox/ledger/check"),
    ("GET", "/sandbox/no-such-thing"),
    ("DELETE", "/sandbox/clock"),
    ("PUT", "/sandbox/a/b/c"),
];

async fn production_refuses_the_sandbox_and_keeps_real_time(db: TestDatabase) {
    let _probes = crate::health::PROBES.lock().await;
    // A sandbox run moved the clock a day ahead and stored that.
    let sandbox = Gateway::start(test_config(&db)).await;
    sandbox.advance_clock(86_400).await;
    sandbox.stop().await;

    let mut config = test_config(&db);
    config.mode = Mode::Production;
    let gw = Gateway::start(config).await;
    assert!(!gw.app().is_sandbox());

    for (method, path) in SANDBOX_CALLS {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let message = gw.request(method.clone(), path).await.expect_error(403);
        assert!(message.contains("production"), "{method} {path}: {message}");
    }
    // Well-formed requests are refused just the same, and change nothing.
    gw.post_json(
        "/sandbox/topup",
        &json!({ "virtual_account": DEMO_VA, "amount": "1.00", "reference": "P" }),
    )
    .await
    .expect_error(403);
    gw.post_json("/sandbox/clock/advance", &json!({ "seconds": 60 }))
        .await
        .expect_error(403);

    // Production ignores the stored sandbox offset and cannot be moved.
    let drift = gw.app().now().unix_seconds() - SystemClock.now().unix_seconds();
    assert!(drift.abs() <= 2, "production clock is {drift} s off");
    let refused = gw.app().clock.advance(3_600).await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(gw.app().clock.offset_seconds(), 0);
    let drift = gw.app().now().unix_seconds() - SystemClock.now().unix_seconds();
    assert!(drift.abs() <= 2, "production clock is {drift} s off");

    // The rest of the surface works.
    assert_eq!(gw.get("/healthz").await.status, 200);
    assert_eq!(gw.get("/readyz").await.status, 200);
    assert_eq!(gw.get("/metrics").await.status, 200);
    // The ledger was not touched by the refused top-up.
    let check = gw.app().store.check_ledger().await.unwrap();
    assert!(check.is_clean(), "{:?}", check.problems);
    assert_eq!(check.entries, 1);
    gw.stop().await;

    // The refusal did not erase the sandbox's own offset either.
    let sandbox = Gateway::start(test_config(&db)).await;
    let clock = sandbox.get("/sandbox/clock").await.expect(200);
    assert_eq!(clock["offset_seconds"], 86_400);
    sandbox.stop().await;
}

/// In production the notifier never calls the gateway's own machine or network
/// (loopback, private, link-local…): such a notification is recorded as refused
/// once and not retried. An operator may allow it.
async fn production_does_not_notify_internal_addresses(db: TestDatabase) {
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let port = receiver
        .url()
        .rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .expect("a port")
        .to_string();
    for allowed in [None, Some(true)] {
        let mut config = test_config(&db);
        config.mode = Mode::Production;
        config.notifier.allow_internal_destinations = allowed;
        let gw = Gateway::start(config).await;
        let app = gw.app().clone();
        let urls = [
            receiver.url(),
            format!("http://localhost:{port}/notify"),
            format!("http://[::ffff:127.0.0.1]:{port}/notify"),
        ];
        let outcome = app
            .commit(gerbang_store::Step {
                notifications: urls
                    .iter()
                    .map(|url| gerbang_store::NewNotification {
                        protocol: "test".into(),
                        owner: "operator".into(),
                        source: format!("test:{url}"),
                        url: url.clone(),
                        body: "{}".into(),
                        request_id: None,
                    })
                    .collect(),
                ..gerbang_store::Step::default()
            })
            .await
            .expect("written");
        for id in outcome.notification_ids {
            let n = eventually(
                "the notification is decided",
                Duration::from_secs(10),
                || {
                    let app = app.clone();
                    async move {
                        let n = app.store.notification(id).await.unwrap().unwrap();
                        (n.status != gerbang_store::NotificationStatus::Pending).then_some(n)
                    }
                },
            )
            .await;
            let attempts = app.store.attempts(id).await.unwrap();
            match allowed {
                None => {
                    assert_eq!(
                        n.status,
                        gerbang_store::NotificationStatus::Failed,
                        "{}",
                        n.url
                    );
                    assert_eq!(attempts.len(), 1, "{}", n.url);
                    assert!(
                        attempts[0].excerpt.contains("internal"),
                        "{:?}",
                        attempts[0]
                    );
                }
                Some(_) => {
                    assert_eq!(
                        n.status,
                        gerbang_store::NotificationStatus::Delivered,
                        "{}",
                        n.url
                    )
                }
            }
        }
        gw.stop().await;
    }
    // Only the gateway that was allowed reached the receiver.
    assert_eq!(receiver.received().len(), 3);
}

on_both_backends!(
    production_refuses_the_sandbox_and_keeps_real_time,
    production_does_not_notify_internal_addresses,
);
