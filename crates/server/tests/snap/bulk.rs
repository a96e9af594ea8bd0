//! Bulk cash-in end to end: 10,000 items with good and bad ones mixed, the whole
//! bulk held at once, each item credited or failed on its own, the outcome sent
//! in a notify signed with the gateway's key; and every refusal of a bulk.

use crate::client::{body_hash, minify, rsa_verifies};
use crate::common::*;
use crate::fixture::{self, FUNDING_MINOR, MAX_BULK_BYTES, MAX_BULK_ITEMS};
use serde_json::{json, Value};
use std::time::Duration;

on_both_backends!(ten_thousand_items_end_to_end, bad_bulks_store_nothing);

/// An item's account: a phone number whose last digits pick the simulated
/// wallet's answer.
fn account(i: usize) -> String {
    let suffix = match i {
        i if i % 10 == 3 => "9901".to_string(), // no such wallet
        i if i % 25 == 7 => "9904".to_string(), // over the wallet's balance limit
        17 | 4_017 => "9905".to_string(),       // pending an hour, then credited
        29 | 8_029 => "9906".to_string(),       // accepted, then failed
        i => format!("{:04}", 1_000 + i % 8_000),
    };
    format!("0812{:04}{suffix}", i % 10_000)
}

fn expected_code(account: &str) -> &'static str {
    if account.ends_with("9901") {
        "4044111"
    } else if account.ends_with("9904") {
        "4034123"
    } else if account.ends_with("9906") {
        "5004102"
    } else {
        "2004100"
    }
}

fn bulk(id: &str, items: usize, callback: &str, transaction_date: &str) -> Value {
    let objects: Vec<Value> = (0..items)
        .map(|i| {
            json!({
                "accountNumber": account(i),
                "accountName": format!("Customer {i}"),
                "amount": {"value": "10.00", "currency": "IDR"},
                "partnerReferenceNo": format!("{id}-{i:05}"),
                "additionalInfo": {"deviceId": "12345679237", "channel": "mobilephone"}
            })
        })
        .collect();
    json!({
        "partnerBulkId": id,
        "transactionDate": transaction_date,
        "currency": "IDR",
        "bulkObject": objects,
        "feeType": "OUR",
        "additionalInfo": {"platformCode": "dna", "callbackUrl": callback}
    })
}

async fn ten_thousand_items_end_to_end(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Body(
        200,
        r#"{"responseCode":"2004100","responseMessage":"Successful"}"#,
    ))
    .await;
    let callback = format!(
        "http://{}/partner/v1.0/emoney/bulk-cashin-notify",
        receiver.addr
    );
    let now = s.faspay.timestamp().await;
    let body = bulk("B-1", MAX_BULK_ITEMS, &callback, &now);
    let reply = s
        .faspay
        .call_as(
            "/emoney/bulk-cashin-payment",
            &body,
            crate::client::Wire::Compact,
        )
        .await;
    let answer = reply.expect("2024000");
    assert_eq!(reply.message(), "Request In Progress");
    assert_eq!(answer["partnerBulkId"], "B-1");
    let bulk_id = answer["bulkId"].as_str().expect("bulkId").to_string();
    // The whole bulk is held at once.
    let total = 1_000 * MAX_BULK_ITEMS as i64;
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR - total));

    // A part waits for its pending items, each until its own wallet answers: a
    // minute on, the items failed after a minute are in, and the two pending for
    // an hour (items 17 and 4,017) still hold back their parts, 0 and 4 — part 0
    // with a minute's failure (item 29) in it.
    let info = eventually("a minute's outcomes", Duration::from_secs(60), || async {
        s.advance_clock(61).await;
        let reply = s
            .faspay
            .call(
                "/emoney/bulk-cashin-status",
                &json!({"partnerBulkId": "B-1"}),
            )
            .await;
        let info = reply.expect("2004000")["additionalInfo"].clone();
        (info["partsSettled"] == 8 && info["pending"] == 2).then_some(info)
    })
    .await;
    assert_eq!(info["status"], "processing", "{info}");
    // Pending items are asked again after their wallet's delay: move the clock on
    // until every item has its outcome, then the notify pages come.
    eventually("every item's outcome", Duration::from_secs(60), || async {
        let record = s
            .app()
            .store
            .record("cashin_bulk", &bulk_id)
            .await
            .unwrap()?;
        if record.state == "done" {
            return Some(());
        }
        s.advance_clock(600).await;
        None
    })
    .await;
    // Pages of 1,000 items, each delivered at least once (a slow answer is sent again).
    let notices: Vec<_> = eventually("ten notify pages", Duration::from_secs(30), || async {
        let mut pages = std::collections::BTreeMap::new();
        for n in receiver.received() {
            pages.insert(n.json()["additionalInfo"]["page"].as_u64()?, n);
        }
        (pages.len() == 10).then(|| pages.into_values().collect())
    })
    .await;
    let key = s
        .app()
        .signing_keys
        .current(&s.app().store, s.app().now())
        .await
        .unwrap();
    let mut items = Vec::new();
    for (page, notice) in notices.iter().enumerate() {
        assert_eq!(notice.path, "/partner/v1.0/emoney/bulk-cashin-notify");
        let string = format!(
            "POST:/v1.0/emoney/bulk-cashin-notify:{}:{}",
            body_hash(&minify(&notice.body)),
            notice.header("X-TIMESTAMP").expect("X-TIMESTAMP")
        );
        assert!(
            rsa_verifies(
                key.public_pem(),
                &string,
                notice.header("X-SIGNATURE").expect("X-SIGNATURE")
            ),
            "the service-41 signature of page {page} checks with the gateway's public key"
        );
        let sent = notice.json();
        assert_eq!(sent["bulkId"], bulk_id.as_str());
        assert_eq!(sent["partnerBulkId"], "B-1");
        assert_eq!(sent["additionalInfo"]["pages"], 10);
        items.extend(sent["bulkObject"].as_array().expect("bulkObject").clone());
    }
    assert_eq!(items.len(), MAX_BULK_ITEMS);
    let mut credited = 0u64;
    for (i, item) in items.iter().enumerate() {
        assert_eq!(item["partnerReferenceNo"], format!("B-1-{i:05}"));
        assert_eq!(item["customerNumber"], account(i));
        let code = expected_code(&account(i));
        assert_eq!(item["responseCode"], code, "{item}");
        assert_eq!(item["additionalInfo"]["platformCode"], "dna");
        if code == "2004100" {
            credited += 1;
        }
    }
    let told: u64 = notices
        .iter()
        .map(|n| n.json()["additionalInfo"]["pageCredited"].as_u64().unwrap())
        .sum();
    assert_eq!(told, credited);
    assert!(
        credited > 8_000 && credited < MAX_BULK_ITEMS as u64,
        "{credited}"
    );
    // Credited items are spent; failed ones released; nothing left held.
    let spent = 1_000 * credited as i64;
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - spent, FUNDING_MINOR - spent)
    );
    assert_ledger_clean(&s.api).await;

    // The same bulk again: a duplicate; with other content: inconsistent.
    let again = s
        .faspay
        .call_as(
            "/emoney/bulk-cashin-payment",
            &body,
            crate::client::Wire::Compact,
        )
        .await;
    again.expect("4094001");
    assert_eq!(
        again.message(),
        "Duplicate partnerReferenceNo [partnerBulkId]"
    );
    let mut other = bulk("B-1", 3, &callback, &now);
    other["bulkObject"][0]["amount"]["value"] = "11.00".into();
    let reply = s.faspay.call("/emoney/bulk-cashin-payment", &other).await;
    reply.expect("4044018");
    assert_eq!(reply.message(), "Inconsistent Request [partnerBulkId]");
    // Another bulk id, but items paid before: refused, the same item or not.
    let mut reuse = bulk("B-2", 3, &callback, &now);
    reuse["bulkObject"][2]["partnerReferenceNo"] = "B-1-00002".into();
    let reply = s.faspay.call("/emoney/bulk-cashin-payment", &reuse).await;
    reply.expect("4094001");
    assert_eq!(
        reply.message(),
        "Duplicate partnerReferenceNo [bulkObject[2].partnerReferenceNo]"
    );
    reuse["bulkObject"][2]["amount"]["value"] = "12.00".into();
    s.faspay
        .call("/emoney/bulk-cashin-payment", &reuse)
        .await
        .expect("4044018");
    // The bulk's progress, by either id.
    for query in [json!({"partnerBulkId": "B-1"}), json!({"bulkId": bulk_id})] {
        let reply = s.faspay.call("/emoney/bulk-cashin-status", &query).await;
        let info = &reply.expect("2004000")["additionalInfo"];
        assert_eq!(info["status"], "done");
        assert_eq!(info["credited"], credited);
        assert_eq!(info["failed"], MAX_BULK_ITEMS as u64 - credited);
        assert_eq!(info["pending"], 0);
        assert_eq!(info["partsSettled"], 10);
    }
    s.faspay
        .call(
            "/emoney/bulk-cashin-status",
            &json!({"partnerBulkId": "B-404"}),
        )
        .await
        .expect("4044001");
    // Nothing more moved.
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - spent, FUNDING_MINOR - spent)
    );
    s.stop().await;
}

async fn bad_bulks_store_nothing(db: TestDatabase) {
    let s = fixture::start(db).await;
    let now = s.faspay.timestamp().await;
    let cb = "http://127.0.0.1:9/v1.0/emoney/bulk-cashin-notify";
    let mut repeated = bulk("R-1", 5, cb, &now);
    repeated["bulkObject"][4]["partnerReferenceNo"] = "R-1-00001".into();
    let mut bad_amount = bulk("R-2", 5, cb, &now);
    bad_amount["bulkObject"][2]["amount"]["value"] = "10".into();
    let mut bad_wallet = bulk("R-3", 5, cb, &now);
    bad_wallet["bulkObject"][1]["additionalInfo"]["platformCode"] = "xyz".into();
    let mut no_account = bulk("R-4", 5, cb, &now);
    no_account["bulkObject"][3]
        .as_object_mut()
        .unwrap()
        .remove("accountNumber");
    let mut too_much = bulk("R-5", 5, cb, &now);
    for item in too_much["bulkObject"].as_array_mut().unwrap() {
        item["amount"]["value"] = "300000.00".into();
    }
    // Above what the gateway moves at once: one item, or all together.
    let mut huge_item = bulk("R-7", 5, cb, &now);
    huge_item["bulkObject"][3]["amount"]["value"] = "1000000000000.01".into();
    let mut huge_and_unknown_wallet = bulk("R-9", 5, cb, &now);
    huge_and_unknown_wallet["bulkObject"][3]["amount"]["value"] = "1000000000000.01".into();
    huge_and_unknown_wallet["bulkObject"][4]["additionalInfo"]["platformCode"] = "xyz".into();
    let mut huge_sum = bulk("R-8", 2, cb, &now);
    for item in huge_sum["bulkObject"].as_array_mut().unwrap() {
        item["amount"]["value"] = "600000000000.00".into();
    }
    for (body, code, message) in [
        (
            huge_item,
            "4034002",
            "Exceeds Transaction Amount Limit [bulkObject[3].amount.value]",
        ),
        (
            huge_sum,
            "4034002",
            "Exceeds Transaction Amount Limit [bulkObject]",
        ),
        (
            huge_and_unknown_wallet,
            "4004001",
            "Invalid Field Format [bulkObject[4].additionalInfo.platformCode]",
        ),
        (
            repeated,
            "4094001",
            "Duplicate partnerReferenceNo [bulkObject[4].partnerReferenceNo]",
        ),
        (
            bad_amount,
            "4004001",
            "Invalid Field Format [bulkObject[2].amount.value]",
        ),
        (
            bad_wallet,
            "4004001",
            "Invalid Field Format [bulkObject[1].additionalInfo.platformCode]",
        ),
        (
            no_account,
            "4004002",
            "Invalid Mandatory Field [bulkObject[3].accountNumber]",
        ),
        (
            bulk("R-6", MAX_BULK_ITEMS + 1, cb, &now),
            "4004001",
            "Invalid Field Format [bulkObject: at most 10000 items]",
        ),
        (too_much, "4034014", "Insufficient Funds"),
        (
            json!({"transactionDate": now, "bulkObject": []}),
            "4004002",
            "Invalid Mandatory Field [bulkObject]",
        ),
    ] {
        let reply = s
            .faspay
            .call_as(
                "/emoney/bulk-cashin-payment",
                &body,
                crate::client::Wire::Compact,
            )
            .await;
        reply.expect(code);
        assert_eq!(reply.message(), message);
    }
    // A body over the route's limit is refused before it is read: its length
    // alone says so (the rest is never sent).
    let path = "/account/v1.0/emoney/bulk-cashin-payment";
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{{\"bulkObject\":[",
        MAX_BULK_BYTES + 1
    );
    let (status, answer) = raw_exchange(s.addr(), request.as_bytes()).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer.contains(r#""responseCode":"4004000""#),
        "a SNAP error for an oversized bulk: {answer}"
    );
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR));
    assert_ledger_clean(&s.api).await;
    s.stop().await;
}
