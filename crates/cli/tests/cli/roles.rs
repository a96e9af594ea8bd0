//! `gerbang serve --role api|worker`: API nodes answer requests, worker nodes run
//! the notifier and the scheduler, on one PostgreSQL database. Work an API node
//! takes waits for a worker, and a worker started later does it; a worker's HTTP
//! port answers health and metrics only. On SQLite, where one process serves a
//! database, a role apart is refused.

use crate::common::*;
use crate::support::*;
use serde_json::{json, Value};
use std::time::Duration;

/// `gerbang serve --role ROLE` on `url`.
async fn node(dir: &std::path::Path, url: &str, role: &str, provision: Option<&str>) -> Serving {
    let config = write_config(dir, 5);
    let mut command = serve_command(dir, url, Some(&config), provision);
    command.args(["--role", role]);
    Serving::start(command).await
}

fn sign(parts: &[&str]) -> String {
    use md5::{Digest, Md5};
    use sha1::Sha1;
    let md5 = hex::encode(Md5::digest(
        format!("bot99999p@ssw0rd{}", parts.concat()).as_bytes(),
    ));
    hex::encode(Sha1::digest(md5.as_bytes()))
}

async fn nodes_of_each_role_split_the_work(db: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    if !db.url.starts_with("postgres") {
        let refused = run(
            dir.path(),
            &[
                "serve",
                "--role",
                "api",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                &db.url,
            ],
        )
        .await;
        assert_ne!(refused.status.code(), Some(0), "{}", refused.stderr);
        assert!(refused.stderr.contains("PostgreSQL"), "{}", refused.stderr);
        return;
    }
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let provision = dir.path().join("merchant.toml");
    std::fs::write(
        &provision,
        format!(
            "[[merchant]]\nmerchant_id = \"99999\"\nnotification_url = \"{}\"\n",
            receiver.url()
        ),
    )
    .unwrap();
    let api = node(dir.path(), &db.url, "api", provision.to_str()).await;

    // Work taken by the API node waits: it runs no workers.
    let id = api
        .api
        .test_notification(&receiver.url(), &json!({ "node": "api" }))
        .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(receiver.received().is_empty(), "an API node delivered");
    assert_eq!(api.api.notification(id).await["status"], "pending");

    // A worker node does it.
    let worker = node(dir.path(), &db.url, "worker", None).await;
    receiver.wait_for(1, Duration::from_secs(10)).await;
    api.api
        .wait_notification(id, "delivered by the worker", |n| {
            n["status"] == "delivered"
        })
        .await;
    // It answers health and metrics, and nothing else.
    assert_eq!(worker.api.get("/healthz").await.status, 200);
    assert_eq!(worker.api.get("/metrics").await.status, 200);
    let refused = worker
        .api
        .post_json(
            "/sandbox/notifications/test",
            &json!({"url": receiver.url(), "body": {}}),
        )
        .await;
    assert_eq!(refused.status, 404, "{}", refused.text);

    // A timer set through the API node (a bill's expiry) fires on the worker, at
    // the sandbox clock the API node moved.
    let now = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+7));
    let wib = |t: time::OffsetDateTime| {
        t.format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap()
    };
    let bill = json!({
        "request": "Post Data Transaction", "merchant_id": "99999", "merchant": "FASPAY STORE",
        "bill_no": "ROLE-1", "bill_date": wib(now), "bill_expired": wib(now + time::Duration::hours(1)),
        "bill_desc": "Kaos", "bill_currency": "IDR", "bill_total": "1000000", "cust_no": "C-1",
        "cust_name": "Budi", "payment_channel": "801", "msisdn": "081234567890",
        "email": "budi@example.com", "terminal": "10",
        "item": {"product": "Kaos", "qty": "1", "amount": "1000000"}, "signature": sign(&["ROLE-1"]),
    });
    let posted: Value = api.api.post_json("/cvr/300011/10", &bill).await.json();
    assert_eq!(posted["response_code"], "00", "{posted}");
    api.api.advance_clock(2 * 3600).await;
    let got = receiver.wait_for(2, Duration::from_secs(15)).await;
    let expired = got
        .iter()
        .map(|r| r.json())
        .find(|n| n["bill_no"] == "ROLE-1")
        .unwrap_or_else(|| panic!("no notification of ROLE-1: {got:?}"));
    assert_eq!(expired["payment_status_code"], "7", "{expired}");

    worker.stop().await;
    api.stop().await;
}

on_both_backends!(nodes_of_each_role_split_the_work);
