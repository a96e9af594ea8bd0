//! The notifier: delivery, attempts, retries on the sandbox clock, timeouts,
//! giving up, and manual resends.

use crate::common::*;
use gerbang_core::Timestamp;
use serde_json::{json, Value};
use std::time::Duration;

fn time(value: &Value) -> Timestamp {
    Timestamp::parse_rfc3339(value.as_str().unwrap_or_else(|| panic!("no time: {value}")))
        .unwrap_or_else(|| panic!("not RFC 3339: {value}"))
}

fn log(n: &Value) -> Vec<Value> {
    n["attempt_log"].as_array().expect("attempt_log").clone()
}

fn statuses(n: &Value) -> Vec<Value> {
    log(n).iter().map(|a| a["http_status"].clone()).collect()
}

/// Waits until `id` has `count` attempts and returns it.
async fn attempts(api: &Api, id: i64, count: usize) -> Value {
    api.wait_notification(id, &format!("attempt {count} of notification {id}"), |n| {
        log(n).len() >= count && n["attempts"] == count
    })
    .await
}

/// Lets the notifier run several polls, then checks nothing more was sent.
async fn stays_at(api: &Api, receiver: &Receiver, id: i64, count: usize) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), count, "sent again too early");
    assert_eq!(log(&api.notification(id).await).len(), count);
}

async fn notification_is_delivered_and_its_attempt_recorded(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    let receiver = Receiver::start(Behaviour::AnswerAfter(200, 150)).await;
    let payload = json!({ "trx_id": "3183540500001172", "status": "2" });
    let id = gw.test_notification(&receiver.url(), &payload).await;

    let n = gw
        .wait_notification(id, "delivery", |n| n["status"] == "delivered")
        .await;
    assert_eq!(n["id"], id);
    assert_eq!(n["protocol"], "test");
    assert_eq!(n["owner"], "sandbox");
    assert!(
        n["source"].as_str().unwrap().starts_with("sandbox:test:"),
        "{n}"
    );
    assert_eq!(n["url"], receiver.url());
    assert_eq!(n["attempts"], 1);
    assert_eq!(
        serde_json::from_str::<Value>(n["body"].as_str().unwrap()).unwrap(),
        payload
    );
    let attempt = &log(&n)[0];
    assert_eq!(attempt["attempt"], 1);
    assert_eq!(attempt["http_status"], 200);
    let latency = attempt["latency_ms"].as_i64().unwrap();
    assert!((150..5_000).contains(&latency), "latency {latency} ms");
    assert!(
        attempt["response_excerpt"]
            .as_str()
            .unwrap()
            .contains("\"received\":true"),
        "{attempt}"
    );
    assert!(time(&n["delivered_at"]) >= time(&n["created_at"]));
    assert_eq!(time(&attempt["at"]), time(&n["delivered_at"]));

    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].method, "POST");
    assert_eq!(got[0].path, "/notify");
    assert_eq!(got[0].header("content-type"), Some("application/json"));
    assert!(
        got[0]
            .header("user-agent")
            .unwrap_or("")
            .starts_with("gerbang/"),
        "{:?}",
        got[0].headers
    );
    assert_eq!(got[0].json(), payload);

    // Listed, and filtered by status.
    let listed = gw.get("/sandbox/notifications").await.expect(200);
    assert_eq!(listed["notifications"][0]["id"], id);
    let delivered = gw
        .get("/sandbox/notifications?status=delivered")
        .await
        .expect(200);
    assert_eq!(delivered["notifications"].as_array().unwrap().len(), 1);
    let pending = gw
        .get("/sandbox/notifications?status=pending")
        .await
        .expect(200);
    assert_eq!(pending["notifications"], json!([]));
    gw.get("/sandbox/notifications?status=lost")
        .await
        .expect_error(400);

    // Bad requests.
    gw.post_json(
        "/sandbox/notifications/test",
        &json!({ "url": "ftp://example.com/" }),
    )
    .await
    .expect_error(400);
    gw.get(&format!("/sandbox/notifications/{}", id + 1000))
        .await
        .expect_error(404);
    gw.post_json(
        &format!("/sandbox/notifications/{}/resend", id + 1000),
        &json!({}),
    )
    .await
    .expect_error(404);
    gw.stop().await;
}

async fn failed_delivery_is_retried_on_schedule_until_it_succeeds(db: TestDatabase) {
    let config = test_config(&db);
    let first_retry = config.notifier.first_retry_seconds as i64;
    let gw = Gateway::start(config).await;
    let receiver = Receiver::start(Behaviour::Answer(500)).await;
    let id = gw
        .test_notification(&receiver.url(), &json!({ "n": 1 }))
        .await;

    let n = attempts(&gw, id, 1).await;
    assert_eq!(n["status"], "pending");
    assert_eq!(statuses(&n), vec![json!(500)]);
    let first = &log(&n)[0];
    assert!(first["response_excerpt"].as_str().unwrap().contains("500"));
    let wait = time(&n["next_attempt_at"]).unix_seconds() - time(&first["at"]).unix_seconds();
    assert!(
        (first_retry..=first_retry + 1).contains(&wait),
        "first retry {wait} s after the attempt"
    );
    stays_at(&gw, &receiver, id, 1).await;

    // The retry falls due when the clock passes it, then waits twice as long.
    gw.advance_clock(first_retry + 1).await;
    let n = attempts(&gw, id, 2).await;
    assert_eq!(n["status"], "pending");
    assert_eq!(statuses(&n), vec![json!(500), json!(500)]);
    let second = &log(&n)[1];
    let wait = time(&n["next_attempt_at"]).unix_seconds() - time(&second["at"]).unix_seconds();
    assert!(
        (2 * first_retry..=2 * first_retry + 1).contains(&wait),
        "second retry {wait} s after the attempt"
    );
    gw.advance_clock(first_retry + 1).await;
    stays_at(&gw, &receiver, id, 2).await;

    // The receiver recovers.
    receiver.set(Behaviour::Answer(200));
    gw.advance_clock(first_retry).await;
    let n = gw
        .wait_notification(id, "delivery after retries", |n| n["status"] == "delivered")
        .await;
    assert_eq!(n["attempts"], 3);
    assert_eq!(statuses(&n), vec![json!(500), json!(500), json!(200)]);
    let numbers: Vec<Value> = log(&n).iter().map(|a| a["attempt"].clone()).collect();
    assert_eq!(numbers, vec![json!(1), json!(2), json!(3)]);
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|r| r.json() == json!({ "n": 1 })));
    gw.stop().await;
}

async fn hanging_receiver_is_recorded_as_a_timeout(db: TestDatabase) {
    let config = test_config(&db);
    let timeout_ms = config.notifier.timeout_seconds as i64 * 1000;
    let first_retry = config.notifier.first_retry_seconds as i64;
    let gw = Gateway::start(config).await;
    let receiver = Receiver::start(Behaviour::Hang).await;
    let id = gw
        .test_notification(&receiver.url(), &json!({ "n": 2 }))
        .await;

    receiver.wait_for(1, Duration::from_secs(5)).await;
    let n = attempts(&gw, id, 1).await;
    assert_eq!(n["status"], "pending");
    let attempt = &log(&n)[0];
    assert_eq!(attempt["http_status"], Value::Null);
    assert_eq!(attempt["response_excerpt"], "timed out");
    let latency = attempt["latency_ms"].as_i64().unwrap();
    assert!(
        (timeout_ms - 50..timeout_ms + 3_000).contains(&latency),
        "timed out after {latency} ms"
    );

    receiver.set(Behaviour::Answer(204));
    gw.advance_clock(first_retry + 1).await;
    let n = gw
        .wait_notification(id, "delivery after a timeout", |n| {
            n["status"] == "delivered"
        })
        .await;
    assert_eq!(statuses(&n), vec![Value::Null, json!(204)]);
    gw.stop().await;
}

async fn notification_gives_up_and_a_manual_resend_delivers_it(db: TestDatabase) {
    let mut config = test_config(&db);
    config.notifier.first_retry_seconds = 30;
    config.notifier.give_up_after_seconds = 100;
    let gw = Gateway::start(config).await;
    let receiver = Receiver::start(Behaviour::Answer(503)).await;
    let id = gw
        .test_notification(&receiver.url(), &json!({ "n": 3 }))
        .await;

    // Attempts at about 0 s, 31 s and 92 s; the next would be past 100 s.
    attempts(&gw, id, 1).await;
    gw.advance_clock(31).await;
    let n = attempts(&gw, id, 2).await;
    assert_eq!(n["status"], "pending");
    gw.advance_clock(61).await;
    let n = gw
        .wait_notification(id, "giving up", |n| n["status"] == "failed")
        .await;
    assert_eq!(n["attempts"], 3);
    assert_eq!(statuses(&n), vec![json!(503); 3]);
    assert_eq!(n["delivered_at"], Value::Null);
    let failed = gw
        .get("/sandbox/notifications?status=failed")
        .await
        .expect(200);
    assert_eq!(failed["notifications"][0]["id"], id);

    // A failed notification stays failed, however far the clock moves.
    gw.advance_clock(7 * 86_400).await;
    stays_at(&gw, &receiver, id, 3).await;

    // A manual resend makes it pending and delivers it.
    receiver.set(Behaviour::Answer(200));
    let answer = gw
        .post_json(&format!("/sandbox/notifications/{id}/resend"), &json!({}))
        .await
        .expect(200);
    assert_eq!(answer, json!({ "id": id, "status": "pending" }));
    let n = gw
        .wait_notification(id, "delivery after a resend", |n| {
            n["status"] == "delivered"
        })
        .await;
    assert_eq!(
        statuses(&n),
        vec![json!(503), json!(503), json!(503), json!(200)]
    );

    // A delivered one can be sent again too.
    gw.post_json(&format!("/sandbox/notifications/{id}/resend"), &json!({}))
        .await
        .expect(200);
    let n = attempts(&gw, id, 5).await;
    assert_eq!(n["status"], "delivered");
    assert_eq!(receiver.wait_for(5, Duration::from_secs(5)).await.len(), 5);
    gw.stop().await;
}

async fn attempt_cap_ends_retries(db: TestDatabase) {
    let mut config = test_config(&db);
    config.notifier.max_attempts = 2;
    let gw = Gateway::start(config).await;
    let receiver = Receiver::start(Behaviour::Answer(500)).await;
    let id = gw
        .test_notification(&receiver.url(), &json!({ "n": 4 }))
        .await;
    attempts(&gw, id, 1).await;
    gw.advance_clock(31).await;
    let n = gw
        .wait_notification(id, "giving up at the cap", |n| n["status"] == "failed")
        .await;
    assert_eq!(n["attempts"], 2);
    gw.advance_clock(3_600).await;
    stays_at(&gw, &receiver, id, 2).await;
    gw.stop().await;
}

on_both_backends!(
    notification_is_delivered_and_its_attempt_recorded,
    failed_delivery_is_retried_on_schedule_until_it_succeeds,
    hanging_receiver_is_recorded_as_a_timeout,
    notification_gives_up_and_a_manual_resend_delivers_it,
    attempt_cap_ends_retries,
);
