//! Bills paid at a counter over the host-to-host API, as the networks do it: a
//! store cashier takes a retail bill's payment code (its `trx_id`), a bank takes a
//! payment into a virtual account (the `trx_id` again). The same signed API as
//! cash-out, with its inquiry, payment, reversal and advice.

use crate::common::*;
use crate::h2h::{assert_code, H2h};
use crate::support::*;
use serde_json::{json, Value};
use std::time::Duration;

const ACK: &str =
    r#"{"response":"Payment Notification","response_code":"00","response_desc":"Sukses"}"#;

fn notice(r: &Received) -> Value {
    r.json()
}

async fn status_code(gw: &Gateway, bill_no: &str, trx_id: &str) -> Value {
    let body = json!({
        "request": "Inquiry Status Payment", "trx_id": trx_id, "merchant_id": MERCHANT,
        "bill_no": bill_no, "signature": sign(&[bill_no]),
    });
    call(gw, Syntax::Json, "100004", &body).await["payment_status_code"].clone()
}

async fn a_retail_bill_is_paid_at_the_store(db: TestDatabase) {
    let receiver = Receiver::start(Behaviour::Body(200, ACK)).await;
    let gw = gateway(&db, &receiver.url(), "json").await;
    let bill = posted(&gw, "ALFA-1", "707", 2_500_000, None).await;
    let trx_id = bill["trx_id"].as_str().unwrap().to_string();
    let alfamart = H2h::sandbox(&gw.api, "alfamart");

    // The code is the bill's: no phone needed, the customer's name shown.
    let inquiry = alfamart
        .call("inquiry", &json!({"reference": "ALF-Q1", "code": trx_id}))
        .await
        .expect(200);
    assert_code(&inquiry, "00");
    assert_eq!(inquiry["trx_id"], trx_id.as_str());
    assert_eq!(inquiry["amount"], 25_000, "whole rupiah");
    assert_eq!(inquiry["beneficiary_name"], "Budi Santoso");
    // Another network does not know it; a bank cannot take a store's bill.
    for other in ["indomaret", "bni"] {
        let answer = H2h::sandbox(&gw.api, other)
            .call("inquiry", &json!({"code": trx_id}))
            .await
            .expect(200);
        assert_code(&answer, "14");
    }
    let wrong = alfamart
        .call(
            "payment",
            &json!({"reference": "ALF-P0", "code": trx_id, "amount": 20_000}),
        )
        .await
        .expect(200);
    assert_code(&wrong, "13");

    let payment =
        json!({"reference": "ALF-P1", "code": trx_id, "amount": 25_000, "terminal": "T-7"});
    let paid = alfamart.call("payment", &payment).await.expect(200);
    assert_code(&paid, "00");
    assert_eq!(paid["repeated"], false);
    let again = alfamart.call("payment", &payment).await.expect(200);
    assert_code(&again, "00");
    assert_eq!(again["repeated"], true);
    assert_eq!(again["paid_at"], paid["paid_at"]);
    // The same reference for another payment, and the code paid again: refused.
    let mut other = payment.clone();
    other["terminal"] = "T-8".into();
    assert_code(&alfamart.call("payment", &other).await.expect(200), "94");
    let twice = json!({"reference": "ALF-P2", "code": trx_id, "amount": 25_000});
    assert_code(&alfamart.call("payment", &twice).await.expect(200), "88");

    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    let n = notice(&got[0]);
    assert_eq!(n["trx_id"], trx_id.as_str());
    assert_eq!(n["payment_reff"], "ALF-P1");
    assert_eq!(n["payment_status_code"], "2");
    assert_eq!(n["payment_channel_uid"], "707");
    assert_eq!(status_code(&gw, "ALFA-1", &trx_id).await, "2");

    // Advised: final; a reversal now is refused.
    let advice = alfamart
        .call("advice", &json!({"reference": "ALF-P1"}))
        .await
        .expect(200);
    assert_code(&advice, "00");
    let late = alfamart
        .call("reversal", &json!({"reference": "ALF-P1"}))
        .await
        .expect(200);
    assert_code(&late, "12");

    let statement = gw
        .get(&format!("/sandbox/accounts/merchant:{MERCHANT}/statement"))
        .await
        .expect(200);
    assert!(
        statement["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["amount"] == "25000.00" && l["reference"] == trx_id.as_str()),
        "{statement}"
    );
    let check = gw.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");
    gw.stop().await;
}

async fn a_virtual_account_is_paid_at_its_bank_and_reversed(db: TestDatabase) {
    let receiver = Receiver::start(Behaviour::Body(200, ACK)).await;
    let gw = gateway(&db, &receiver.url(), "json").await;
    let bill = posted(&gw, "VA-BNI-1", "801", 1_000_000, None).await;
    let trx_id = bill["trx_id"].as_str().unwrap().to_string();
    let bni = H2h::sandbox(&gw.api, "bni");
    // Another bank's teller does not know the account.
    let bri = H2h::sandbox(&gw.api, "bri")
        .call("inquiry", &json!({"code": trx_id}))
        .await
        .expect(200);
    assert_code(&bri, "14");
    // A wrong signature is a security violation, as for any network.
    let mut forged = bni.clone();
    forged.secret = "sandbox-bri-secret".into();
    assert_eq!(
        forged
            .call("inquiry", &json!({"code": trx_id}))
            .await
            .status,
        401
    );

    let inquiry = bni
        .call("inquiry", &json!({"code": trx_id}))
        .await
        .expect(200);
    assert_code(&inquiry, "00");
    assert_eq!(inquiry["amount"], 10_000);
    let paid = bni
        .call(
            "payment",
            &json!({"reference": "BNI-77", "code": trx_id, "amount": 10_000}),
        )
        .await
        .expect(200);
    assert_code(&paid, "00");
    receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(status_code(&gw, "VA-BNI-1", &trx_id).await, "2");

    // The bank never had the answer: it reverses. The money goes back, the bill
    // is over and the merchant told so (status 4).
    let reversed = bni
        .call("reversal", &json!({"reference": "BNI-77"}))
        .await
        .expect(200);
    assert_code(&reversed, "00");
    let got = receiver.wait_for(2, Duration::from_secs(10)).await;
    let n = notice(&got[1]);
    assert_eq!(n["payment_status_code"], "4", "{n}");
    assert_eq!(n["signature"], sign(&["VA-BNI-1", "4"]).as_str());
    assert_eq!(status_code(&gw, "VA-BNI-1", &trx_id).await, "4");
    // Reversed twice is reversed once; a repeat of the payment is refused now.
    let twice = bni
        .call("reversal", &json!({"reference": "BNI-77"}))
        .await
        .expect(200);
    assert_code(&twice, "00");
    let repeat = bni
        .call(
            "payment",
            &json!({"reference": "BNI-77", "code": trx_id, "amount": 10_000}),
        )
        .await
        .expect(200);
    assert_code(&repeat, "94");
    let statement = gw
        .get(&format!("/sandbox/accounts/merchant:{MERCHANT}/statement"))
        .await
        .expect(200);
    let lines = statement["lines"].as_array().unwrap();
    let of_bill: Vec<&Value> = lines
        .iter()
        .filter(|l| l["reference"] == trx_id.as_str())
        .collect();
    assert_eq!(of_bill.len(), 2, "paid, then taken back: {statement}");
    assert!(
        of_bill.iter().any(|l| l["amount"] == "-10000.00"),
        "{statement}"
    );

    // A reversal of a payment that never came voids its reference.
    let other = posted(&gw, "VA-BNI-2", "801", 1_000_000, None).await;
    let other_id = other["trx_id"].as_str().unwrap();
    assert_code(
        &bni.call("reversal", &json!({"reference": "BNI-78"}))
            .await
            .expect(200),
        "00",
    );
    let late = bni
        .call(
            "payment",
            &json!({"reference": "BNI-78", "code": other_id, "amount": 10_000}),
        )
        .await
        .expect(200);
    assert_code(&late, "94");
    assert_eq!(status_code(&gw, "VA-BNI-2", other_id).await, "0");
    let check = gw.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");
    gw.stop().await;
}

async fn expired_and_cancelled_bills_cannot_be_paid(db: TestDatabase) {
    let gw = gateway(&db, "http://127.0.0.1:9/none", "json").await;
    let bill = posted(&gw, "IDM-1", "706", 5_000_000, None).await;
    let trx_id = bill["trx_id"].as_str().unwrap().to_string();
    let indomaret = H2h::sandbox(&gw.api, "indomaret");
    gw.advance_clock(86_401).await;
    let answer = indomaret
        .call("inquiry", &json!({"code": trx_id}))
        .await
        .expect(200);
    assert_code(&answer, "54");

    let bill = posted(&gw, "IDM-2", "706", 5_000_000, None).await;
    let trx_id = bill["trx_id"].as_str().unwrap().to_string();
    let cancel = json!({
        "request": "Canceling Payment", "trx_id": trx_id, "merchant_id": MERCHANT,
        "bill_no": "IDM-2", "payment_cancel": "out of stock", "signature": sign(&["IDM-2"]),
    });
    assert_eq!(
        call(&gw, Syntax::Json, "100005", &cancel).await["response_code"],
        "00"
    );
    let paid = indomaret
        .call(
            "payment",
            &json!({"reference": "IDM-9", "code": trx_id, "amount": 50_000}),
        )
        .await
        .expect(200);
    assert_code(&paid, "88");
    gw.stop().await;
}

on_both_backends!(
    a_retail_bill_is_paid_at_the_store,
    a_virtual_account_is_paid_at_its_bank_and_reversed,
    expired_and_cancelled_bills_cannot_be_paid,
);
