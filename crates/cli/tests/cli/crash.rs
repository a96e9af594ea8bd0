//! At-least-once delivery across a crash: a notification in flight when the process
//! is killed is delivered by the next process once its lease runs out.

use crate::common::*;
use crate::support::*;
use serde_json::{json, Value};
use std::time::Duration;

async fn notification_in_flight_at_a_kill_is_delivered_after_restart(db: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    // Attempts may take 30 s, so the hanging one is still in flight at the kill.
    let config = write_config(dir.path(), 30);
    let start = || serve_command(dir.path(), &db.url, Some(&config), None);
    let receiver = Receiver::start(Behaviour::Hang).await;
    let payload = json!({ "trx_id": "CRASH-1", "status": "2" });

    let first = Serving::start(start()).await;
    let id = first.api.test_notification(&receiver.url(), &payload).await;
    let got = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(got[0].json(), payload);
    // In flight: no attempt has been recorded yet.
    let n = first.api.notification(id).await;
    assert_eq!(n["status"], "pending");
    assert_eq!(n["attempts"], 0);
    first.kill9().await;

    // The receiver recovers; a new process starts on the same database.
    receiver.set(Behaviour::Answer(200));
    let second = Serving::start(start()).await;
    if db.url.starts_with("postgres") {
        // Other processes may share a PostgreSQL database, so the dead process's
        // lease holds the notification until it runs out on the sandbox clock.
        let n = second.api.notification(id).await;
        assert_eq!(n["status"], "pending");
        assert_eq!(n["attempt_log"], json!([]));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(receiver.received().len(), 1, "sent again while leased");
        second.api.advance_clock(120).await;
    }
    // (A SQLite database belongs to one process: opening it frees every lease.)
    let n = second
        .api
        .wait_notification(id, "delivery after the crash", |n| {
            n["status"] == "delivered"
        })
        .await;
    assert_eq!(n["attempts"], 1);
    let log = n["attempt_log"].as_array().unwrap();
    assert_eq!(log.len(), 1, "{n}");
    assert_eq!(log[0]["attempt"], 1);
    assert_eq!(log[0]["http_status"], 200);
    assert_ne!(n["delivered_at"], Value::Null);
    let got = receiver.received();
    assert_eq!(got.len(), 2, "delivered {} times", got.len());
    assert_eq!(got[1].json(), payload);
    second.stop().await;
}

on_both_backends!(notification_in_flight_at_a_kill_is_delivered_after_restart);
