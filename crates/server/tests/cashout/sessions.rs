//! The network simulators run inside the gateway through the sandbox API, timed by
//! the sandbox clock: a cashier hands out cash; a payment answer that does not
//! come within the store's timeout makes it send a reversal — and, when that
//! reversal's answer is lost too, another one a minute (of sandbox time) later.

use crate::client::TRANSFER;
use crate::common::*;
use crate::fixture::{self, FUNDING_MINOR};
use crate::support::*;
use serde_json::{json, Value};
use std::time::Duration;

async fn start_session(s: &fixture::Sandbox, path: &str, code: &str) -> String {
    let started = s
        .post_json(path, &json!({ "code": code, "phone": PHONE }))
        .await;
    assert_eq!(started.status, 202, "{}", started.text);
    started.json()["session"]
        .as_str()
        .expect("a session id")
        .to_string()
}

async fn session(s: &fixture::Sandbox, id: &str) -> Value {
    s.get(&format!("/sandbox/cashout/sessions/{id}"))
        .await
        .expect(200)
}

/// Waits until the session satisfies `done`.
async fn wait_session(
    s: &fixture::Sandbox,
    id: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    eventually(what, Duration::from_secs(20), || async {
        let v = session(s, id).await;
        done(&v).then_some(v)
    })
    .await
}

fn operations(v: &Value) -> Vec<String> {
    v["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| c["operation"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn the_alfamart_simulator_hands_out_cash(db: TestDatabase) {
    let s = fixture::start(db).await;
    let issued = issue_alfamart(&s, "ALF-SIM-1", RP_100K, "http://127.0.0.1:9/unused").await;
    let id = start_session(&s, "/sandbox/cashout/alfamart/pay", &issued.code).await;
    let done = wait_session(&s, &id, "the session ends", |v| v["state"] == "done").await;
    assert_eq!(done["outcome"], "paid", "{done}");
    assert_eq!(
        operations(&done),
        ["inquiry", "payment", "advice"],
        "{done}"
    );
    s.wait_status("ALF-SIM-1", "2").await;
    assert_eq!(s.balances().await.0, FUNDING_MINOR - RP_100K);
    // A second cashier with the same code is refused: the code is used.
    let again = start_session(&s, "/sandbox/cashout/alfamart/pay", &issued.code).await;
    let refused = wait_session(&s, &again, "the second session ends", |v| {
        v["state"] == "done"
    })
    .await;
    assert_eq!(refused["outcome"], "refused", "{refused}");
    assert_eq!(refused["calls"][0]["answer"]["response_code"], "88");
    assert_ledger(&s.api, 0).await;
    s.stop().await;
}

async fn a_slow_payment_answer_makes_the_store_reverse_and_repeat_the_reversal(db: TestDatabase) {
    let s = fixture::start(db).await;
    let issued = issue_alfamart(&s, "ALF-SIM-2", RP_100K, "http://127.0.0.1:9/unused").await;
    // The payment's answer is held two minutes; the first reversal's answer is lost.
    for fault in [
        json!({"network": "alfamart", "operation": "payment", "mode": "slow", "delay_seconds": 120}),
        json!({"network": "alfamart", "operation": "reversal", "mode": "lost"}),
    ] {
        s.post_json("/sandbox/cashout/faults", &fault)
            .await
            .expect(200);
    }
    let id = start_session(&s, "/sandbox/cashout/alfamart/pay", &issued.code).await;
    // The gateway did the payment; its answer is held.
    s.wait_status("ALF-SIM-2", "2").await;
    // A minute later (Alfamart waits 45 to 60 s) the store gives up and reverses.
    s.advance_clock(61).await;
    let first = wait_session(&s, &id, "the first reversal", |v| {
        operations(v).iter().filter(|o| *o == "reversal").count() == 1
    })
    .await;
    let calls = first["calls"].as_array().unwrap();
    assert!(calls[1]["answer"].is_null(), "payment unanswered: {first}");
    assert!(
        calls[2]["answer"].is_null(),
        "reversal answer lost: {first}"
    );
    // The gateway reversed it even though the answer was lost.
    s.wait_status("ALF-SIM-2", "5").await;
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR));
    // One minute on, the store sends the reversal again; the gateway says it is done.
    s.advance_clock(61).await;
    let done = wait_session(&s, &id, "the session ends", |v| v["state"] == "done").await;
    assert_eq!(done["outcome"], "reversed", "{done}");
    assert_eq!(
        operations(&done),
        ["inquiry", "payment", "reversal", "reversal"],
        "{done}"
    );
    let second = &done["calls"][3]["answer"];
    assert_eq!(second["response_code"], "00", "{done}");
    assert_eq!(second["repeated"], true, "{done}");
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR));
    // Let the held payment answer go before stopping.
    s.advance_clock(120).await;
    assert_ledger(&s.api, 0).await;
    s.stop().await;
}

async fn the_permata_atm_withdraws(db: TestDatabase) {
    let s = fixture::start(db).await;
    let body = permata_body("PMT-SIM-1", RP_100K, "http://127.0.0.1:9/unused");
    let answer = s.client.post(TRANSFER, &body).await;
    assert_on_process(&answer);
    // The partner decrypts the code and gives the digits to the person withdrawing.
    let pem = crate::permata::public_key(&s.api).await;
    let code = crate::permata::decrypt(&pem, answer["cashout_code"].as_str().unwrap()).await;
    let pay = s
        .post_json(
            "/sandbox/cashout/permata/pay",
            &json!({"code": code, "phone": PHONE}),
        )
        .await;
    assert_eq!(
        pay.status, 404,
        "an ATM withdraws, it does not pay: {}",
        pay.text
    );
    let id = start_session(&s, "/sandbox/cashout/permata/withdraw", &code).await;
    let done = wait_session(&s, &id, "the session ends", |v| v["state"] == "done").await;
    assert_eq!(done["outcome"], "paid", "{done}");
    s.wait_status("PMT-SIM-1", "2").await;
    assert_ledger(&s.api, 0).await;
    s.stop().await;
}

/// Indomaret waits 30 s for the payment answer, then reverses.
async fn indomaret_reverses_after_thirty_seconds(db: TestDatabase) {
    let s = fixture::start(db).await;
    let body = store_body(&s, "imr", "IMR-SIM-1", RP_100K, "http://127.0.0.1:9/unused").await;
    let issued = issue(&s, &body).await;
    s.post_json(
        "/sandbox/cashout/faults",
        &json!({"network": "indomaret", "operation": "payment", "mode": "slow", "delay_seconds": 120}),
    )
    .await
    .expect(200);
    let id = start_session(&s, "/sandbox/cashout/indomaret/pay", &issued.code).await;
    s.wait_status("IMR-SIM-1", "2").await;
    // 25 s is not enough for Indomaret to give up ...
    s.advance_clock(25).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(operations(&session(&s, &id).await), ["inquiry"]);
    // ... 31 s is.
    s.advance_clock(6).await;
    let done = wait_session(&s, &id, "the session ends", |v| v["state"] == "done").await;
    assert_eq!(done["outcome"], "reversed", "{done}");
    assert_eq!(
        operations(&done),
        ["inquiry", "payment", "reversal"],
        "{done}"
    );
    s.wait_status("IMR-SIM-1", "5").await;
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR));
    s.advance_clock(120).await;
    assert_ledger(&s.api, 0).await;
    s.stop().await;
}

on_both_backends!(
    indomaret_reverses_after_thirty_seconds,
    the_alfamart_simulator_hands_out_cash,
    a_slow_payment_answer_makes_the_store_reverse_and_repeat_the_reversal,
    the_permata_atm_withdraws,
);
