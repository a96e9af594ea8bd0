//! Reversals: a payment whose answer was lost (a sandbox fault cuts the
//! connection after the gateway did the work) is undone by the network's
//! reversal — funds back, callback 5, the code dead — and a reversal that comes
//! before its payment voids the reference.

use crate::common::*;
use crate::fixture::{self, FUNDING_MINOR};
use crate::h2h::{assert_code, H2h};
use crate::support::*;
use serde_json::json;

async fn a_payment_whose_answer_was_lost_is_reversed(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let issued = issue_alfamart(&s, "ALF-5001", RP_100K, &receiver.url()).await;
    let alfamart = H2h::sandbox(&s.api, "alfamart");

    // The next answer to an Alfamart payment is lost.
    let armed = s
        .post_json(
            "/sandbox/cashout/faults",
            &json!({"network": "alfamart", "operation": "payment", "mode": "lost", "count": 1}),
        )
        .await;
    assert_eq!(
        armed.status, 200,
        "arming a fault: {} {}",
        armed.status, armed.text
    );

    let lost = alfamart
        .try_call(
            "payment",
            &H2h::payment_body("ALF-5001-PAY", &issued.code, PHONE, 100_000),
        )
        .await;
    if let Ok(reply) = &lost {
        assert!(
            serde_json::from_str::<serde_json::Value>(&reply.text).is_err(),
            "the payment's answer should have been lost, got {} {}",
            reply.status,
            reply.text
        );
    }

    // The store sends a reversal of that payment: it was paid, now it is undone.
    let reversed = alfamart.reversal("ALF-5001-PAY").await;
    assert_code(&reversed, "00");
    assert_eq!(reversed["message"], "Reversed", "{reversed}");
    assert_eq!(reversed["was_paid"], true, "{reversed}");
    assert_eq!(reversed["repeated"], false, "{reversed}");
    assert_eq!(reversed["reference"], "ALF-5001-PAY", "{reversed}");

    // Funds back where they were before the transfer; callback 5; status 5.
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR));
    let callback = wait_callback(&s, &receiver, "ALF-5001", "5").await;
    assert_callback(&callback, &issued, "5", "alf");
    let status = s.wait_status("ALF-5001", "5").await;
    assert_eq!(status["response_code"], "00", "{status}");
    let (lines, balance) = statement(&s.api, &clearing("alf")).await;
    assert_eq!(lines.len(), 2, "paid, then reversed: {lines:?}");
    assert_eq!(balance, "0.00");
    let notified = notified_statuses(&s.api, &issued.trx_id).await;
    assert_eq!(notified, ["2", "5"]);

    // A repeated reversal: the same answer, marked repeated, no movement.
    let again = alfamart.reversal("ALF-5001-PAY").await;
    assert_code(&again, "00");
    assert_eq!(again["was_paid"], true, "{again}");
    assert_eq!(again["repeated"], true, "{again}");
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR));
    let (lines, _) = statement(&s.api, &clearing("alf")).await;
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(notified_statuses(&s.api, &issued.trx_id).await, notified);

    // The partner's statement shows the cash-out going out and coming back.
    let today = crate::client::jakarta_date(crate::client::gateway_now(&s.api).await);
    let mutasi = s
        .client
        .query(
            crate::client::Style::Java,
            crate::client::Query::Mutasi,
            &[("start_date", &today), ("end_date", &today)],
        )
        .await;
    let lines: Vec<(String, String, String)> = mutasi["data"]
        .as_array()
        .unwrap_or_else(|| panic!("mutasi: {mutasi}"))
        .iter()
        .map(|l| {
            (
                l["transaction_type"].as_str().unwrap_or("").to_string(),
                l["transaction_amount"].as_str().unwrap_or("").to_string(),
                l["transaction_name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        lines[1..],
        [
            (
                "D".to_string(),
                "100000.00".to_string(),
                "cashout".to_string()
            ),
            (
                "K".to_string(),
                "100000.00".to_string(),
                "cashout_reversal".to_string()
            ),
        ],
        "{mutasi}"
    );

    // The code stays dead: a new payment of it is refused as used.
    let paid = alfamart
        .payment("ALF-5001-PAY2", &issued.code, PHONE, 100_000)
        .await;
    assert_code(&paid, "88");
    assert_code(
        &alfamart.inquiry("ALF-5001-INQ", &issued.code, PHONE).await,
        "88",
    );
    // An advice of a reversed payment is not allowed.
    assert_code(&alfamart.advice("ALF-5001-PAY").await, "12");
    // The reversed payment sent again is refused: no cash for a reversed claim.
    assert_code(
        &alfamart
            .payment("ALF-5001-PAY", &issued.code, PHONE, 100_000)
            .await,
        "94",
    );

    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR));
    assert_eq!(s.wait_status("ALF-5001", "5").await["status"], "5");
    assert_ledger(&s.api, 0).await;
    s.stop().await;
}

async fn a_reversal_before_its_payment_voids_the_reference(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let issued = issue_alfamart(&s, "ALF-6001", RP_100K, &receiver.url()).await;
    let alfamart = H2h::sandbox(&s.api, "alfamart");

    // The reversal arrives first: nothing was paid under that reference.
    let voided = alfamart.reversal("ALF-6001-PAY").await;
    assert_code(&voided, "00");
    assert_eq!(voided["was_paid"], false, "{voided}");
    assert_eq!(voided["repeated"], false, "{voided}");
    let again = alfamart.reversal("ALF-6001-PAY").await;
    assert_code(&again, "00");
    assert_eq!(again["was_paid"], false, "{again}");
    assert_eq!(again["repeated"], true, "{again}");
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR - RP_100K));

    // The payment, late, under that reference: refused.
    let late = alfamart
        .payment("ALF-6001-PAY", &issued.code, PHONE, 100_000)
        .await;
    assert_code(&late, "94");
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR - RP_100K));
    let status = s.client.status("ALF-6001", None).await;
    assert_on_process(&status);

    // The code is untouched: another reference claims it.
    let paid = alfamart
        .payment("ALF-6001-PAY2", &issued.code, PHONE, 100_000)
        .await;
    assert_code(&paid, "00");
    wait_callback(&s, &receiver, "ALF-6001", "2").await;
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - RP_100K, FUNDING_MINOR - RP_100K)
    );
    assert_eq!(notified_statuses(&s.api, &issued.trx_id).await, ["2"]);
    assert_ledger(&s.api, 0).await;
    s.stop().await;
}

async fn a_reversal_past_the_window_is_refused(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let issued = issue_alfamart(&s, "ALF-6101", RP_100K, &receiver.url()).await;
    let alfamart = H2h::sandbox(&s.api, "alfamart");
    let paid = alfamart
        .payment("ALF-6101-PAY", &issued.code, PHONE, 100_000)
        .await;
    assert_code(&paid, "00");
    wait_callback(&s, &receiver, "ALF-6101", "2").await;

    // The default reversal window is an hour after the payment.
    s.advance_clock(3600 + 60).await;
    assert_code(&alfamart.reversal("ALF-6101-PAY").await, "12");
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - RP_100K, FUNDING_MINOR - RP_100K)
    );
    assert_eq!(s.wait_status("ALF-6101", "2").await["status"], "2");
    // It can still be settled.
    assert_code(&alfamart.advice("ALF-6101-PAY").await, "00");
    assert_eq!(notified_statuses(&s.api, &issued.trx_id).await, ["2"]);
    assert_ledger(&s.api, 0).await;
    s.stop().await;
}

/// The partner learns "success" and then "reversed", in that order, even when the
/// first callback has to be retried: the later one waits for it.
async fn callbacks_of_one_transfer_arrive_in_order(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Answer(500)).await;
    let issued = issue_alfamart(&s, "ALF-7001", RP_100K, &receiver.url()).await;
    let alfamart = H2h::sandbox(&s.api, "alfamart");
    assert_code(
        &alfamart
            .payment("ALF-7001-PAY", &issued.code, PHONE, 100_000)
            .await,
        "00",
    );
    // The status-2 callback is refused by the partner; meanwhile the payment is reversed.
    receiver
        .wait_for(1, std::time::Duration::from_secs(10))
        .await;
    assert_code(&alfamart.reversal("ALF-7001-PAY").await, "00");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let statuses = |r: &Receiver| -> Vec<String> {
        r.received()
            .iter()
            .filter_map(|c| serde_json::from_str::<serde_json::Value>(&c.body).ok())
            .map(|c| c["trx_status"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert!(
        statuses(&receiver).iter().all(|st| st == "2"),
        "the reversal's callback waits for the success callback: {:?}",
        statuses(&receiver)
    );
    // The partner is back; the retry delivers 2, then 5 follows.
    receiver.set(Behaviour::Answer(200));
    s.advance_clock(61).await;
    wait_callback(&s, &receiver, "ALF-7001", "5").await;
    let seen = statuses(&receiver);
    let last_two = seen.iter().rposition(|st| st == "2").unwrap();
    let first_five = seen.iter().position(|st| st == "5").unwrap();
    assert!(last_two < first_five, "in order: {seen:?}");
    assert_ledger(&s.api, 0).await;
    s.stop().await;
}

on_both_backends!(
    callbacks_of_one_transfer_arrive_in_order,
    a_payment_whose_answer_was_lost_is_reversed,
    a_reversal_before_its_payment_voids_the_reference,
    a_reversal_past_the_window_is_refused,
);
