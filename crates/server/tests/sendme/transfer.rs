//! `transfer`: what the answer says at once, the documented refusals, retries and
//! duplicates, and that refused requests hold nothing.

use crate::client::*;
use crate::common::*;
use crate::fixture::{self, Sandbox, FUNDING_MINOR};
use serde_json::{json, Value};

#[track_caller]
fn trx_id(answer: &Value) -> u64 {
    answer["trx_id"]
        .as_u64()
        .unwrap_or_else(|| panic!("trx_id is not a JSON number: {answer}"))
}

/// Asserts the trx_no was not taken: inquiry_status does not know it.
async fn assert_unknown(s: &Sandbox, trx_no: &str) {
    let answer = s.client.status(trx_no, None).await;
    assert_error(&answer, "Transaction not found");
}

async fn transfer_is_accepted_and_held(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let b = s.beneficiary("10000006", "PT. Florist Lentera Abadi").await;
    let body = s
        .transfer_body(&b, "87643666", 2_500_000, &receiver.url())
        .await
        .with("trx_desc", "Transfer for invoice 2020-08-25");

    let answer = s.client.post(TRANSFER, &body).await;
    assert_eq!(answer["status"], "1", "{answer}");
    assert_eq!(answer["response_code"], "00", "{answer}");
    assert!(answer["message"].is_string(), "{answer}");
    assert!(answer["response_desc"].is_string(), "{answer}");
    let id = trx_id(&answer);
    assert!(id > 0, "{answer}");
    assert_eq!(
        answer["trx_amount"],
        json!(2_500_000),
        "trx_amount as a number: {answer}"
    );
    assert_eq!(
        answer["trx_desc"], "Transfer for in",
        "cut to 15 characters: {answer}"
    );
    let reff = answer["trx_reff"].as_str().expect("trx_reff").to_string();
    assert!(!reff.is_empty());
    for field in [
        "virtual_account",
        "beneficiary_virtual_account",
        "beneficiary_account",
        "beneficiary_name",
        "beneficiary_bank_code",
        "trx_no",
        "trx_date",
        "callback_url",
    ] {
        assert_eq!(
            answer[field],
            body.get(field).unwrap().clone(),
            "{field}: {answer}"
        );
    }

    // The amount is held at once: available drops, the balance does not (yet).
    let held = (FUNDING_MINOR, FUNDING_MINOR - 2_500_000);
    assert_eq!(s.balances().await, held);

    // The exact request again (an SDK retry): the same transaction, no second hold.
    let again = s
        .client
        .post_as(Style::Java, TRANSFER, TRANSFER, &body)
        .await;
    assert_eq!(again["status"], "1", "{again}");
    assert_eq!(trx_id(&again), id);
    assert_eq!(again["trx_reff"], reff.as_str());
    assert_eq!(s.balances().await, held);

    // The same trx_no with other content: refused, nothing more held.
    for changed in [
        body.clone().with("trx_amount", "2600000"),
        body.clone().with("trx_desc", "Something else"),
        body.clone()
            .with("callback_url", "https://example.com/other"),
    ] {
        let answer = s.client.post(TRANSFER, &changed).await;
        assert_error(&answer, "Your Transaction Number already exists");
        assert!(answer.get("trx_id").is_none(), "{answer}");
        assert_eq!(s.balances().await, held);
    }
    let status = s.client.status("87643666", None).await;
    assert_eq!(status["trx_amount"], json!(2_500_000), "{status}");

    // Unknown fields (KYC fields of other products, anything) are ignored; the
    // amount may come as a JSON number; the path's `API` may be upper-case.
    let extra = s
        .transfer_body(&b, "87643667", 100_000, &receiver.url())
        .await
        .with("trx_amount", 100_000)
        .with("ktp_id", "3171234567890001")
        .with("citizenship", "WNI")
        .with("x_meta", json!({ "batch": 7, "tags": ["a", "b"] }))
        .with("x_flag", true);
    let upper = "/account/API/transfer";
    let answer = s.client.post_as(Style::Php, upper, upper, &extra).await;
    assert_eq!(answer["status"], "1", "{answer}");
    assert_eq!(answer["trx_amount"], json!(100_000), "{answer}");
    assert_ne!(trx_id(&answer), id);
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR, FUNDING_MINOR - 2_600_000)
    );

    let check = s.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");
    assert_eq!(check["holds_pending"], 2, "{check}");
    assert!(
        receiver.received().is_empty(),
        "no callback before a final status"
    );
    s.stop().await;
}

async fn transfer_refusals_hold_nothing(db: TestDatabase) {
    let s = fixture::start(db).await;
    let b = s.beneficiary("10000006", "PT. Florist Lentera Abadi").await;
    let url = "https://partner.example.com/callback";
    let start = s.balances().await;
    assert_eq!(start, (FUNDING_MINOR, FUNDING_MINOR));

    let mut n = 0;
    let mut next_no = || {
        n += 1;
        format!("REFUSED-{n}")
    };

    // The two documented response codes.
    let no = next_no();
    let answer = s
        .client
        .post(
            TRANSFER,
            &s.transfer_body(&b, &no, 1_000_000, url)
                .await
                .without("trx_amount"),
        )
        .await;
    assert_eq!(
        assert_error(&answer, "Parameter 'trx_amount' is mandatory"),
        "01"
    );
    assert_unknown(&s, &no).await;

    let no = next_no();
    let answer = s
        .client
        .post(
            TRANSFER,
            &s.transfer_body(&b, &no, 1_000_000, url)
                .await
                .with("trx_desc", "fee"),
        )
        .await;
    assert_eq!(
        assert_error(&answer, "Invalid Transaction Description Value"),
        "02"
    );
    assert_unknown(&s, &no).await;

    // A key given twice (the amount a proxy reading the first one would see is
    // not the amount the last one says): the body is refused, nothing is held.
    let no = next_no();
    let body = s.transfer_body(&b, &no, 1_000_000, url).await.to_json();
    let twice = body.replacen('{', "{\"trx_amount\":\"100\",", 1);
    let answer = s
        .client
        .post_text(Style::Python, TRANSFER, TRANSFER, twice)
        .await;
    assert_eq!(assert_error(&answer, "Invalid Request body"), "00");
    assert!(
        answer["response_desc"]
            .as_str()
            .is_some_and(|d| d.contains("repeated")),
        "{answer}"
    );
    assert_unknown(&s, &no).await;

    // A reference with a NUL in it (no database column takes one): the body is
    // refused, nothing is held.
    let no = next_no();
    let answer = s
        .client
        .post(
            TRANSFER,
            &s.transfer_body(&b, &format!("{no}\u{0}"), 1_000_000, url)
                .await,
        )
        .await;
    assert_eq!(assert_error(&answer, "Invalid Request body"), "00");
    assert!(
        answer["response_desc"]
            .as_str()
            .is_some_and(|d| d.contains("control character")),
        "{answer}"
    );
    assert_unknown(&s, &no).await;

    // The documented messages.
    let cases: Vec<(&str, Body)> = vec![
        (
            "Beneficiary Virtual Account Invalid",
            s.transfer_body(&b, &next_no(), 1_000_000, url)
                .await
                .with("beneficiary_virtual_account", "9920019999"),
        ),
        (
            "Beneficiary Virtual Account Invalid",
            s.transfer_body(&b, &next_no(), 1_000_000, url)
                .await
                .with("beneficiary_bank_code", "008"),
        ),
        (
            "Beneficiary Account Not Match",
            s.transfer_body(&b, &next_no(), 1_000_000, url)
                .await
                .with("beneficiary_account", "10000007"),
        ),
        (
            "Beneficiary Name Not Match",
            s.transfer_body(&b, &next_no(), 1_000_000, url)
                .await
                .with("beneficiary_name", "PT. Florist Lain"),
        ),
        (
            "Beneficiary Virtual Account Invalid",
            s.transfer_body(&b, &next_no(), 1_000_000, url)
                .await
                .without("beneficiary_virtual_account"),
        ),
        (
            "Invalid Virtual Account",
            s.transfer_body(&b, &next_no(), 1_000_000, url)
                .await
                .with("virtual_account", fixture::OTHER_VA),
        ),
        (
            "Invalid Request body",
            s.transfer_body(&b, &next_no(), 1_000_000, url)
                .await
                .with("trx_amount", "25000.00"),
        ),
        (
            "Invalid Request body",
            s.transfer_body(&b, &next_no(), 1_000_000, url)
                .await
                .with("trx_amount", "-100"),
        ),
        (
            "Invalid Request body",
            s.transfer_body(&b, &next_no(), 1_000_000, url)
                .await
                .with("trx_amount", "0"),
        ),
    ];
    for (message, body) in cases {
        let no = body.text("trx_no");
        let answer = s.client.post(TRANSFER, &body).await;
        assert_error(&answer, message);
        assert!(answer.get("trx_id").is_none(), "{answer}");
        assert_unknown(&s, &no).await;
    }

    // Other malformed values: status 9 whatever the wording.
    for body in [
        s.transfer_body(&b, &next_no(), 1_000_000, url)
            .await
            .with("trx_date", "25-08-2020 08:51:00"),
        s.transfer_body(&b, &next_no(), 1_000_000, url)
            .await
            .with("trx_date", "2020-13-45 08:51:00"),
        s.transfer_body(&b, &next_no(), 1_000_000, url)
            .await
            .without("trx_date"),
        s.transfer_body(&b, &next_no(), 1_000_000, url)
            .await
            .with("instruct_date", "tomorrow"),
        s.transfer_body(&b, &next_no(), 1_000_000, url)
            .await
            .with("callback_url", "not a url"),
    ] {
        let no = body.text("trx_no");
        let answer = s.client.post(TRANSFER, &body).await;
        assert_eq!(answer["status"], "9", "{answer}");
        assert!(answer.get("trx_id").is_none(), "{answer}");
        assert_unknown(&s, &no).await;
    }

    // Another partner cannot pay this partner's beneficiary.
    let theirs = s
        .transfer_body(&b, &next_no(), 1_000, url)
        .await
        .with("virtual_account", fixture::OTHER_VA);
    let answer = s.other.post(TRANSFER, &theirs).await;
    assert_error(&answer, "Beneficiary Virtual Account Invalid");

    // A body that is not JSON.
    for text in [
        "{\"virtual_account\": \"9920017777\", ",
        "[1, 2]",
        "trx_amount=100",
    ] {
        let answer = s
            .client
            .post_text(Style::Python, TRANSFER, TRANSFER, text.to_string())
            .await;
        assert_error(&answer, "Invalid Request body");
    }

    // More than is available: refused, nothing held, and the trx_no stays free.
    let no = next_no();
    let too_much = s.transfer_body(&b, &no, FUNDING_MINOR + 1, url).await;
    let answer = s.client.post(TRANSFER, &too_much).await;
    assert_eq!(answer["status"], "9", "{answer}");
    assert!(answer.get("trx_id").is_none(), "{answer}");
    assert_unknown(&s, &no).await;
    assert_eq!(s.balances().await, start);
    let check = s.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");
    assert_eq!(check["holds_pending"], 0, "{check}");

    // Exactly what is available is accepted, under the same trx_no.
    let all = too_much.with("trx_amount", FUNDING_MINOR.to_string());
    let answer = s.client.post(TRANSFER, &all).await;
    assert_eq!(answer["status"], "1", "{answer}");
    assert_eq!(s.balances().await, (FUNDING_MINOR, 0));
    // Now even a cent more is refused.
    let answer = s
        .client
        .post(TRANSFER, &s.transfer_body(&b, &next_no(), 1, url).await)
        .await;
    assert_eq!(answer["status"], "9", "{answer}");
    assert_eq!(s.balances().await, (FUNDING_MINOR, 0));
    s.stop().await;
}

async fn oversized_bodies_move_no_money(db: TestDatabase) {
    let s = fixture::start(db).await;
    let limit = s.app().config.max_body_bytes;
    let b = s.beneficiary("10000006", "PT. Florist Lentera Abadi").await;
    let body = s
        .transfer_body(
            &b,
            "BIG-1",
            1_000_000,
            "https://partner.example.com/callback",
        )
        .await;
    let padding = limit - body.to_json().len() + 1;
    let big = body.clone().with("x_padding", "x".repeat(padding));
    assert!(big.to_json().len() > limit);

    let ts = s.client.timestamp().await;
    let token = s.client.token(Style::Python, &ts, TRANSFER, None).await;
    let request = s.client.service_request(
        reqwest::Method::POST,
        TRANSFER,
        "POST",
        TRANSFER,
        &ts,
        &token,
        Some(big.to_json()),
    );
    let reply = s.client.send(&request).await;
    assert!(
        reply.content_type.starts_with("application/json"),
        "an oversized body must still get a JSON answer: {reply:?}"
    );
    // Like every SendMe error: HTTP 200 and the envelope.
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["status"], "9", "{reply:?}");
    assert_eq!(reply.json()["message"], "Invalid Request body", "{reply:?}");
    assert_unknown(&s, "BIG-1").await;
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR));

    // The same transfer at a normal size goes through under the same trx_no.
    let answer = s.client.post(TRANSFER, &body).await;
    assert_eq!(answer["status"], "1", "{answer}");
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR, FUNDING_MINOR - 1_000_000)
    );
    s.stop().await;
}

async fn concurrent_requests_with_one_trx_no_hold_once(db: TestDatabase) {
    let s = fixture::start(db).await;
    let b = s.beneficiary("10000006", "PT. Florist Lentera Abadi").await;
    let url = "https://partner.example.com/callback";

    // The same request eight times at once: one transaction, one hold.
    let body = s.transfer_body(&b, "RACE-1", 1_000_000, url).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (client, body) = (s.client.clone(), body.clone());
        tasks.spawn(async move { client.post(TRANSFER, &body).await });
    }
    let mut ids = std::collections::HashSet::new();
    while let Some(answer) = tasks.join_next().await {
        let answer = answer.expect("task");
        assert_eq!(answer["status"], "1", "{answer}");
        ids.insert(trx_id(&answer));
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR, FUNDING_MINOR - 1_000_000)
    );

    // Eight different requests under one trx_no at once: exactly one is taken.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 1..=8i64 {
        let client = s.client.clone();
        let body = s.transfer_body(&b, "RACE-2", i * 100_000, url).await;
        tasks.spawn(async move { (i, client.post(TRANSFER, &body).await) });
    }
    let mut taken = Vec::new();
    while let Some(answer) = tasks.join_next().await {
        let (i, answer) = answer.expect("task");
        if answer["status"] == "1" {
            taken.push(i);
        } else {
            assert_error(&answer, "Your Transaction Number already exists");
        }
    }
    assert_eq!(taken.len(), 1, "{taken:?}");
    let amount = taken[0] * 100_000;
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR, FUNDING_MINOR - 1_000_000 - amount)
    );
    let status = s.client.status("RACE-2", None).await;
    assert_eq!(status["trx_amount"], json!(amount), "{status}");
    let check = s.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");
    assert_eq!(check["holds_pending"], 2, "{check}");
    s.stop().await;
}

on_both_backends!(
    concurrent_requests_with_one_trx_no_hold_once,
    transfer_is_accepted_and_held,
    transfer_refusals_hold_nothing,
    oversized_bodies_move_no_money,
);
