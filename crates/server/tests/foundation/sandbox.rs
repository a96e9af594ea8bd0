//! The sandbox API: top-ups, balances, statements, the clock and the ledger check.

use crate::common::*;
use gerbang_core::ledger::codes;
use serde_json::{json, Value};

fn rupiah(minor: i64) -> String {
    gerbang_core::Money::idr(minor).to_major_string()
}

/// All statement lines of an account, following `next_after` page by page.
async fn whole_statement(api: &Api, account: &str, page: u32) -> (Vec<Value>, usize) {
    let mut lines = Vec::new();
    let mut pages = 0;
    let mut after: Option<i64> = None;
    loop {
        let path = match after {
            None => format!("/sandbox/accounts/{account}/statement?limit={page}"),
            Some(a) => format!("/sandbox/accounts/{account}/statement?limit={page}&after={a}"),
        };
        let body = api.get(&path).await.expect(200);
        pages += 1;
        let got = body["lines"].as_array().expect("lines").clone();
        assert!(got.len() <= page as usize, "page larger than asked: {body}");
        lines.extend(got);
        match body["next_after"].as_i64() {
            Some(next) => after = Some(next),
            None => return (lines, pages),
        }
        assert!(pages < 100, "statement does not end");
    }
}

async fn topup_credits_once_per_reference(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    let start = gw.balance(DEMO_VA).await;
    assert_eq!(start["balance"], rupiah(DEMO_OPENING_MINOR));
    assert_eq!(start["pending"], "0.00");
    assert_eq!(start["available_balance"], rupiah(DEMO_OPENING_MINOR));

    let first = gw.topup(DEMO_VA, "1500.50", "TOPUP-1").await.expect(200);
    let credited = DEMO_OPENING_MINOR + 150_050;
    assert_eq!(
        first,
        json!({
            "virtual_account": DEMO_VA,
            "amount": "1500.50",
            "reference": "TOPUP-1",
            "balance": rupiah(credited),
            "available_balance": rupiah(credited),
        })
    );

    // The same reference again, also written differently: the same answer, no credit.
    let again = gw.topup(DEMO_VA, "1500.50", "TOPUP-1").await.expect(200);
    assert_eq!(again, first);
    let again = gw.topup(DEMO_VA, "1500.5", "TOPUP-1").await.expect(200);
    assert_eq!(again, first);
    assert_eq!(gw.balance(DEMO_VA).await["balance"], rupiah(credited));

    // The same reference with another amount is a conflict and credits nothing.
    let message = gw
        .topup(DEMO_VA, "2000.00", "TOPUP-1")
        .await
        .expect_error(409);
    assert!(message.contains("TOPUP-1"), "{message}");
    assert_eq!(gw.balance(DEMO_VA).await["balance"], rupiah(credited));

    // The statement shows the opening balance and exactly one top-up line.
    let (lines, _) = whole_statement(&gw, &codes::partner_balance(DEMO_VA), 50).await;
    let references: Vec<&str> = lines
        .iter()
        .map(|l| l["reference"].as_str().unwrap())
        .collect();
    assert_eq!(
        references,
        vec![format!("opening-balance-{DEMO_VA}").as_str(), "TOPUP-1"]
    );
    assert_eq!(lines[1]["amount"], "1500.50");
    assert_eq!(lines[1]["balance_after"], rupiah(credited));
    assert_eq!(lines[1]["kind"], "topup");

    // Another reference credits again; a missing reference makes one up.
    gw.topup(DEMO_VA, "0.01", "TOPUP-2").await.expect(200);
    let made_up = gw
        .post_json(
            "/sandbox/topup",
            &json!({ "virtual_account": DEMO_VA, "amount": "1" }),
        )
        .await
        .expect(200);
    assert!(
        made_up["reference"].as_str().unwrap().starts_with("SBX"),
        "{made_up}"
    );
    assert_eq!(
        gw.balance(DEMO_VA).await["balance"],
        rupiah(credited + 1 + 100)
    );

    let check = gw.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");
    gw.stop().await;
}

async fn topup_refuses_bad_requests_with_json_errors(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;

    let message = gw
        .topup("1234567", "10.00", "R-UNKNOWN")
        .await
        .expect_error(404);
    assert!(message.contains("1234567"), "{message}");

    for bad in [
        "abc", "1.234", "1,000", "", "1e5", "-5.00", "0", "0.00", " 5",
    ] {
        let message = gw.topup(DEMO_VA, bad, "R-BAD").await.expect_error(400);
        assert!(
            message.contains("amount"),
            "amount {bad:?} refused with {message:?}"
        );
    }
    let message = gw
        .topup(DEMO_VA, "1.00", &"x".repeat(65))
        .await
        .expect_error(400);
    assert!(message.contains("reference"), "{message}");
    gw.topup(DEMO_VA, "1.00", "").await.expect_error(400);

    // Not JSON at all.
    gw.post_raw(
        "/sandbox/topup",
        "application/json",
        b"{\"virtual_account\":".to_vec(),
    )
    .await
    .expect_error(400);
    // JSON of the wrong shape: a missing field, a wrong type, an unknown field.
    gw.post_json("/sandbox/topup", &json!({ "virtual_account": DEMO_VA }))
        .await
        .expect_error(422);
    gw.post_json(
        "/sandbox/topup",
        &json!({ "virtual_account": DEMO_VA, "amount": 100 }),
    )
    .await
    .expect_error(422);
    gw.post_json(
        "/sandbox/topup",
        &json!({ "virtual_account": DEMO_VA, "amount": "1.00", "currency": "IDR" }),
    )
    .await
    .expect_error(422);
    // Not declared as JSON.
    gw.post_raw(
        "/sandbox/topup",
        "text/plain",
        json!({ "virtual_account": DEMO_VA, "amount": "1.00" })
            .to_string()
            .into_bytes(),
    )
    .await
    .expect_error(415);

    // None of it moved money.
    assert_eq!(
        gw.balance(DEMO_VA).await["balance"],
        rupiah(DEMO_OPENING_MINOR)
    );
    let check = gw.ledger_check().await;
    assert_eq!(check["entries"], 1, "{check}");
    gw.stop().await;
}

/// A valid top-up padded with trailing whitespace to `size` bytes.
fn padded_topup(reference: &str, size: usize) -> Vec<u8> {
    let mut body = json!({
        "virtual_account": DEMO_VA,
        "amount": "7.00",
        "reference": reference,
    })
    .to_string()
    .into_bytes();
    assert!(body.len() < size);
    body.resize(size, b' ');
    body
}

async fn oversized_bodies_are_refused_and_store_nothing(db: TestDatabase) {
    let config = test_config(&db);
    let limit = config.max_body_bytes;
    let gw = Gateway::start(config).await;

    // Just under the limit is a normal top-up: the limit is the configured one.
    gw.post_raw(
        "/sandbox/topup",
        "application/json",
        padded_topup("FITS", limit),
    )
    .await
    .expect(200);
    let balance = DEMO_OPENING_MINOR + 700;

    // Declared with Content-Length.
    let message = gw
        .post_raw(
            "/sandbox/topup",
            "application/json",
            padded_topup("TOO-BIG", limit + 1),
        )
        .await
        .expect_error(413);
    assert!(!message.is_empty());

    // Streamed in chunks, with no length announced.
    let body = padded_topup("TOO-BIG-CHUNKED", limit * 2);
    let mut request = format!(
        "POST /sandbox/topup HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        gw.addr()
    )
    .into_bytes();
    for chunk in body.chunks(1000) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let (status, answer) = raw_exchange(gw.addr(), &request).await;
    assert_eq!(status, 413, "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{answer}"
    );
    let error: Value = serde_json::from_str(body_of(&answer)).expect("JSON error body");
    assert!(error["error"].is_string(), "{answer}");

    // Nothing of either was stored: balance, statement and idempotency untouched.
    assert_eq!(gw.balance(DEMO_VA).await["balance"], rupiah(balance));
    let (lines, _) = whole_statement(&gw, &codes::partner_balance(DEMO_VA), 50).await;
    assert_eq!(lines.len(), 2, "{lines:?}");
    for reference in ["TOO-BIG", "TOO-BIG-CHUNKED"] {
        let key = format!("{DEMO_VA}:{reference}");
        assert!(
            gw.app()
                .store
                .idempotency("topup", &key)
                .await
                .unwrap()
                .is_none(),
            "{reference} was remembered"
        );
        // And the reference is still free for a normal top-up.
        gw.topup(DEMO_VA, "7.00", reference).await.expect(200);
    }
    gw.stop().await;
}

async fn balance_and_statement_page_through_history(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    let message = gw
        .get("/sandbox/partners/1234567/balance")
        .await
        .expect_error(404);
    assert!(message.contains("virtual account"), "{message}");
    gw.get("/sandbox/accounts/partner:1234567/statement")
        .await
        .expect_error(404);

    let account = codes::partner_balance(DEMO_VA);
    let mut expected = vec![DEMO_OPENING_MINOR];
    for i in 1..=6 {
        gw.topup(DEMO_VA, &format!("{i}.00"), &format!("PAGE-{i}"))
            .await
            .expect(200);
        expected.push(expected.last().unwrap() + i * 100);
    }

    // Seven lines in pages of two: four pages, the last one empty.
    let (lines, pages) = whole_statement(&gw, &account, 2).await;
    assert_eq!(pages, 4);
    assert_eq!(lines.len(), 7);
    let ids: Vec<i64> = lines
        .iter()
        .map(|l| l["posting_id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let after: Vec<String> = lines
        .iter()
        .map(|l| l["balance_after"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        after,
        expected.iter().map(|m| rupiah(*m)).collect::<Vec<_>>()
    );
    // An exact page size still ends: 7 lines in pages of 7, then an empty one.
    let (again, pages) = whole_statement(&gw, &account, 7).await;
    assert_eq!((again.len(), pages), (7, 2));
    assert_eq!(again, lines);

    // A time window: move the clock a day on, top up, and ask from then on.
    let moved = gw.advance_clock(86_400).await;
    let from = moved["now"].as_str().unwrap().to_string();
    gw.topup(DEMO_VA, "9.00", "LATER").await.expect(200);
    let window = gw
        .get(&format!(
            "/sandbox/accounts/{account}/statement?from={from}"
        ))
        .await
        .expect(200);
    let window_refs: Vec<&str> = window["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["reference"].as_str().unwrap())
        .collect();
    assert_eq!(window_refs, vec!["LATER"]);
    let before = gw
        .get(&format!("/sandbox/accounts/{account}/statement?to={from}"))
        .await
        .expect(200);
    assert_eq!(before["lines"].as_array().unwrap().len(), 7);
    assert_eq!(before["next_after"], Value::Null);

    let message = gw
        .get(&format!(
            "/sandbox/accounts/{account}/statement?from=yesterday"
        ))
        .await
        .expect_error(400);
    assert!(message.contains("from"), "{message}");

    let balance = gw.balance(DEMO_VA).await;
    let total = expected.last().unwrap() + 900;
    assert_eq!(balance["balance"], rupiah(total));
    assert_eq!(balance["available_balance"], rupiah(total));
    gw.stop().await;
}

fn parse_time(text: &Value) -> gerbang_core::Timestamp {
    gerbang_core::Timestamp::parse_rfc3339(text.as_str().expect("time string"))
        .unwrap_or_else(|| panic!("not RFC 3339: {text}"))
}

async fn clock_moves_forward_only_and_survives_a_restart(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    let system = || gerbang_core::Clock::now(&gerbang_core::SystemClock);

    let clock = gw.get("/sandbox/clock").await.expect(200);
    assert_eq!(clock["offset_seconds"], 0);
    let now = parse_time(&clock["now"]);
    assert!((now.unix_seconds() - system().unix_seconds()).abs() <= 2);

    for bad in [
        json!({ "seconds": 0 }),
        json!({ "seconds": -60 }),
        json!({ "seconds": 366 * 86_400 + 1 }),
    ] {
        let message = gw
            .post_json("/sandbox/clock/advance", &bad)
            .await
            .expect_error(400);
        assert!(message.contains("seconds"), "{bad}: {message}");
    }
    gw.post_json("/sandbox/clock/advance", &json!({ "seconds": "60" }))
        .await
        .expect_error(422);
    gw.post_json("/sandbox/clock/advance", &json!({}))
        .await
        .expect_error(422);
    gw.post_raw("/sandbox/clock/advance", "application/json", b"60".to_vec())
        .await
        .expect_error(422);
    assert_eq!(
        gw.get("/sandbox/clock").await.expect(200)["offset_seconds"],
        0
    );

    let moved = gw.advance_clock(3_600).await;
    assert_eq!(moved["offset_seconds"], 3_600);
    let moved = gw.advance_clock(366 * 86_400).await;
    let offset = 3_600 + 366 * 86_400;
    assert_eq!(moved["offset_seconds"], offset);
    let ahead = parse_time(&moved["now"]).unix_seconds() - system().unix_seconds();
    assert!((ahead - offset).abs() <= 2, "clock is {ahead} s ahead");
    // Entries are stamped with the moved clock.
    gw.topup(DEMO_VA, "1.00", "FUTURE").await.expect(200);
    let statement = gw
        .get(&format!(
            "/sandbox/accounts/{}/statement",
            codes::partner_balance(DEMO_VA)
        ))
        .await
        .expect(200);
    let at = parse_time(&statement["lines"][1]["at"]);
    assert!((at.unix_seconds() - system().unix_seconds() - offset).abs() <= 2);
    gw.stop().await;

    // A new process on the same database keeps the offset.
    let gw = Gateway::start(test_config(&db)).await;
    let clock = gw.get("/sandbox/clock").await.expect(200);
    assert_eq!(clock["offset_seconds"], offset);
    assert_eq!(gw.advance_clock(1).await["offset_seconds"], offset + 1);
    gw.stop().await;
}

async fn ledger_check_reports_a_clean_ledger_with_counts(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    let check = gw.ledger_check().await;
    // Funding, fees, the demo merchant's settlement and the demo partner's balance;
    // the opening balance entry and its two postings.
    assert_eq!(
        check,
        json!({
            "clean": true,
            "accounts": 4,
            "entries": 1,
            "postings": 2,
            "holds_pending": 0,
            "problems": [],
        })
    );
    gw.topup(DEMO_VA, "5.00", "CHECK-1").await.expect(200);
    gw.topup(DEMO_VA, "5.00", "CHECK-1").await.expect(200);
    let check = gw.ledger_check().await;
    assert_eq!(check["entries"], 2, "{check}");
    assert_eq!(check["postings"], 4, "{check}");
    assert_eq!(check["clean"], true, "{check}");
    gw.stop().await;
}

async fn malformed_paths_and_queries_get_json_errors(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    let account = codes::partner_balance(DEMO_VA);
    let message = gw.get("/sandbox/no-such-thing").await.expect_error(404);
    assert!(message.contains("no such route"), "{message}");
    gw.get("/sandbox/topup").await.expect_error(405);
    gw.get("/sandbox/notifications/not-a-number")
        .await
        .expect_error(400);
    gw.post_json("/sandbox/notifications/1.5/resend", &json!({}))
        .await
        .expect_error(400);
    gw.get(&format!("/sandbox/accounts/{account}/statement?limit=many"))
        .await
        .expect_error(400);
    gw.get(&format!("/sandbox/accounts/{account}/statement?page=2"))
        .await
        .expect_error(400);
    gw.get("/sandbox/notifications?before_id=x")
        .await
        .expect_error(400);
    gw.stop().await;
}

on_both_backends!(
    malformed_paths_and_queries_get_json_errors,
    topup_credits_once_per_reference,
    topup_refuses_bad_requests_with_json_errors,
    oversized_bodies_are_refused_and_store_nothing,
    balance_and_statement_page_through_history,
    clock_moves_forward_only_and_survives_a_restart,
    ledger_check_reports_a_clean_ledger_with_counts,
);
