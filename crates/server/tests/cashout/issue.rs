//! Issuing an Alfamart code with a SendMe transfer: the answer (status 1, the
//! 10-digit code, the ids, `trx_expired` a day after `trx_date`), the network's
//! amount rules, the hold on the balance, and idempotency by `trx_no`.

use crate::client::*;
use crate::common::*;
use crate::fixture::{self, FUNDING_MINOR, VA};
use crate::h2h::{assert_code, H2h};
use crate::support::*;

async fn alfamart_transfer_answers_with_a_code(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let url = receiver.url();
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR));

    // Amounts outside Alfamart's rules (Rp 50.000 to 5.000.000, multiples of
    // Rp 50.000) are refused and hold nothing.
    for (amount, why) in [
        (4_000_000, "below the minimum"),
        (7_500_000, "not a multiple of Rp 50.000"),
        (505_000_000, "above the maximum"),
        (5_000_001, "not whole rupiah"),
    ] {
        let body = store_body(&s, "alf", "ALF-AMT-1", amount, &url).await;
        let answer = s.client.post(TRANSFER, &body).await;
        assert_error(&answer, "Invalid Request body");
        assert!(
            answer["cashout_code"].is_null() || answer["cashout_code"] == "",
            "{why}: {answer}"
        );
    }
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR));

    // Rp 100.000 to 081234567890, no trx_expired, a description longer than 15.
    let body = store_body(&s, "alf", "ALF-1001", RP_100K, &url)
        .await
        .with("trx_desc", "Cash out for Budi Santoso");
    let issued = issue(&s, &body).await;
    let answer = &issued.answer;
    assert_eq!(answer["virtual_account"], VA, "{answer}");
    assert_eq!(answer["trx_no"], "ALF-1001", "{answer}");
    assert_eq!(
        answer["trx_amount"].to_string().trim_matches('"'),
        "10000000"
    );
    assert_eq!(answer["trx_desc"], "Cash out for Bu", "cut to 15: {answer}");
    assert!(
        issued.trx_id.bytes().all(|b| b.is_ascii_digit()),
        "{answer}"
    );
    assert!(
        answer["trx_reff"].as_str().is_some_and(|r| !r.is_empty()),
        "{answer}"
    );
    assert_eq!(answer["trx_date"], body.get("trx_date").unwrap().clone());
    let trx_date = parse_wib(answer["trx_date"].as_str().expect("trx_date"));
    let expired = parse_wib(answer["trx_expired"].as_str().expect("trx_expired"));
    let life = (expired - trx_date).whole_seconds();
    assert!(
        (86_400..=86_405).contains(&life),
        "trx_expired is {life} s after trx_date, not 24 h: {answer}"
    );

    // The amount is held: the balance stays, the available balance drops.
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR - RP_100K));

    // inquiry_status shows the transfer on process with the same code.
    let status = s.client.status("ALF-1001", Some(&issued.trx_id)).await;
    assert_on_process(&status);
    assert_eq!(status["cashout_code"], issued.code.as_str(), "{status}");
    assert_eq!(status["trx_expired"], answer["trx_expired"], "{status}");

    // The same trx_no with the same body: the same transfer and code, held once.
    let again = s.client.post(TRANSFER, &body).await;
    assert_on_process(&again);
    assert_eq!(again["cashout_code"], issued.code.as_str(), "{again}");
    assert_eq!(trx_id_of(&again), issued.trx_id, "{again}");
    assert_eq!(again["trx_expired"], answer["trx_expired"], "{again}");
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR - RP_100K));

    // The same trx_no with another amount is refused.
    let other = body.clone().with("trx_amount", (2 * RP_100K).to_string());
    let refused = s.client.post(TRANSFER, &other).await;
    assert_error(&refused, "Your Transaction Number already exists");
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR - RP_100K));

    // A second transfer gets another code.
    let second = issue_alfamart(&s, "ALF-1002", 5_000_000, &url).await;
    assert_ne!(second.code, issued.code);
    assert_ne!(second.trx_id, issued.trx_id);
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR, FUNDING_MINOR - RP_100K - 5_000_000)
    );

    // The code is live at Alfamart for the amount and the name.
    let alfamart = H2h::sandbox(&s.api, "alfamart");
    let inquiry = alfamart.inquiry("ALF-1001-INQ", &issued.code, PHONE).await;
    assert_code(&inquiry, "00");
    assert_eq!(inquiry["amount"], 100_000, "{inquiry}");

    // Nothing claimed: both holds are still pending, and nobody was called back.
    assert_ledger(&s.api, 2).await;
    assert!(notifications_of(&s.api, &issued.trx_id).await.is_empty());
    s.stop().await;
}

/// A retry answers as the first request did even when its `trx_expired` has passed
/// since (a new request with that instant would be refused).
async fn a_retry_after_its_expiry_instant_gets_the_first_answer(db: TestDatabase) {
    let s = fixture::start(db).await;
    let body = store_body(&s, "alf", "ALF-1101", RP_100K, "http://127.0.0.1:9/unused")
        .await
        .with("trx_expired", s.jakarta_in(600).await);
    let first = issue(&s, &body).await;
    s.advance_clock(700).await;
    s.wait_status("ALF-1101", "4").await;
    let again = s.client.post(TRANSFER, &body).await;
    assert_eq!(
        again["status"], "4",
        "the first request's current state: {again}"
    );
    assert_eq!(trx_id_of(&again), first.trx_id);
    let new = store_body(&s, "alf", "ALF-1102", RP_100K, "http://127.0.0.1:9/unused")
        .await
        .with("trx_expired", body.text("trx_expired"));
    let refused = s.client.post(TRANSFER, &new).await;
    assert_eq!(refused["status"], "9", "{refused}");
    assert_eq!(refused["message"], "Invalid Request body", "{refused}");
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR));
    assert_ledger(&s.api, 0).await;
    s.stop().await;
}

on_both_backends!(
    alfamart_transfer_answers_with_a_code,
    a_retry_after_its_expiry_instant_gets_the_first_answer,
);
