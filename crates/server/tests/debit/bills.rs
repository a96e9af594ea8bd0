//! A bill's whole life in each syntax: channels listed, posted, asked about, paid
//! through the sandbox, the merchant notified (signed, acknowledged in its own
//! syntax), cancelled, expired.

use crate::common::*;
use crate::support::*;
use serde_json::{json, Value};
use std::time::Duration;

const JSON_ACK: &str =
    r#"{"response":"Payment Notification","response_code":"00","response_desc":"Sukses"}"#;
const XML_ACK: &str = "<faspay><response>Payment Notification</response><response_code>00</response_code><response_desc>Sukses</response_desc></faspay>";

fn ack(syntax: Syntax) -> Behaviour {
    match syntax {
        Syntax::Json => Behaviour::Body(200, JSON_ACK),
        Syntax::Xml => Behaviour::Body(200, XML_ACK),
    }
}

fn format_of(syntax: Syntax) -> &'static str {
    match syntax {
        Syntax::Json => "json",
        Syntax::Xml => "xml",
    }
}

/// A notification body as JSON, whatever syntax it came in.
fn notice(r: &Received) -> Value {
    if r.body.starts_with('<') {
        xml_to_json(&r.body)
    } else {
        r.json()
    }
}

/// The `payment_status_code` of each notification the receiver got, in order.
fn told_codes(receiver: &Receiver) -> Vec<String> {
    receiver
        .received()
        .iter()
        .map(|r| {
            r.json()["payment_status_code"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

async fn status(gw: &Gateway, syntax: Syntax, bill_no: &str, trx_id: &str) -> Value {
    let body = json!({
        "request": "Inquiry Status Payment",
        "trx_id": trx_id,
        "merchant_id": MERCHANT,
        "bill_no": bill_no,
        "signature": sign(&[bill_no]),
    });
    call(gw, syntax, "100004", &body).await
}

async fn channels_are_listed_for_the_signed_merchant(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    for syntax in [Syntax::Json, Syntax::Xml] {
        let body = json!({
            "request": "Request List of Payment Gateway",
            "merchant_id": MERCHANT,
            "merchant": "FASPAY STORE",
            "signature": "1ac4d5a611ec5376d8da43bbe33aaea1719076b6",
        });
        let answer = call(&gw, syntax, "100001", &body).await;
        assert_eq!(answer["response_code"], "00", "{answer}");
        assert_eq!(answer["response_desc"], "Sukses");
        assert_eq!(answer["merchant_id"], MERCHANT);
        let listed = answer["payment_channel"].as_array().expect("channels");
        assert!(listed.len() > 30, "{answer}");
        assert!(listed
            .iter()
            .any(|c| c["pg_code"] == "801" && c["pg_name"] == "BNI Virtual Account"));
    }
    // A merchant that enables two channels sees those two.
    let plan = gerbang_app::provision::plan(
        "[[merchant]]\nmerchant_id = \"99999\"\nchannels = [\"801\", \"707\"]\n",
        std::path::Path::new("."),
    )
    .expect("a plan");
    gerbang_app::provision::apply(&*gw.app().store, gw.app().now(), plan)
        .await
        .expect("provisioned");
    // Seen within the principals' cache time (two seconds).
    let body = json!({"merchant_id": 99999, "signature": sign(&[])});
    eventually("the new channel list", Duration::from_secs(5), || async {
        let answer = call(&gw, Syntax::Json, "100001", &body).await;
        let codes: Vec<String> = answer["payment_channel"]
            .as_array()
            .expect("channels")
            .iter()
            .map(|c| c["pg_code"].as_str().unwrap().to_string())
            .collect();
        (codes == ["707", "801"]).then_some(())
    })
    .await;
    let other = call(
        &gw,
        Syntax::Json,
        "300011",
        &post_data(&gw, "NOT-ENABLED", "802", 1_000_000),
    )
    .await;
    assert_eq!(refusal(&other).0, "82", "{other}");
    gw.stop().await;
}

async fn a_bill_is_posted_paid_and_notified(db: TestDatabase) {
    for syntax in [Syntax::Json, Syntax::Xml] {
        let receiver = Receiver::start(ack(syntax)).await;
        let gw = gateway(&db, &receiver.url(), format_of(syntax)).await;
        let bill_no = format!("INV/{}-1", format_of(syntax));
        let body = post_data(&gw, &bill_no, "801", 1_500_000);
        let posted = call(&gw, syntax, "300011", &body).await;
        assert_eq!(posted["response_code"], "00", "{posted}");
        assert_eq!(posted["response"], "Transmisi Info Detil Pembelian");
        assert_eq!(posted["bill_no"], bill_no.as_str());
        assert_eq!(posted["merchant"], "FASPAY STORE");
        let trx_id = posted["trx_id"].as_str().expect("trx_id").to_string();
        assert_eq!(trx_id.len(), 16, "{trx_id}");
        assert!(trx_id.starts_with("99999801"), "{trx_id}");
        let items = posted["bill_items"].as_array().expect("bill_items");
        assert_eq!(items[0]["amount"], "1500000");
        assert_eq!(items[0]["product"], "Kaos");
        assert_eq!(items[0]["payment_plan"], "01");
        assert_eq!(items[0]["merchant_id"], MERCHANT);
        let redirect = posted["redirect_url"].as_str().expect("redirect_url");
        assert!(
            redirect.contains(&format!(
                "/pws/100003/0830000010100000/{}?trx_id={trx_id}&merchant_id=99999&bill_no=INV%2F",
                sign(&[&bill_no])
            )),
            "{redirect}"
        );
        // The same request again is the same bill; other content under the bill_no is refused.
        let again = call(&gw, syntax, "300011", &body).await;
        assert_eq!(again["trx_id"], trx_id.as_str());
        // Keys a plugin adds of its own do not make it another request.
        let mut with_extra = body.clone();
        with_extra["trx_source"] = "PHP SDK".into();
        with_extra["request"] = "Purchased Details Transmission".into();
        assert_eq!(
            call(&gw, syntax, "300011", &with_extra).await["trx_id"],
            trx_id.as_str()
        );
        let mut other = body.clone();
        other["bill_total"] = "2000000".into();
        other["item"][0]["amount"] = "2000000".into();
        assert_eq!(refusal(&call(&gw, syntax, "300011", &other).await).0, "14");

        let before = status(&gw, syntax, &bill_no, &trx_id).await;
        assert_eq!(before["response_code"], "00", "{before}");
        assert_eq!(before["payment_status_code"], "0");
        assert_eq!(before["payment_status_desc"], "Belum diproses");
        assert_eq!(before["payment_date"], "");

        let paid = gw
            .post_json(
                &format!("/sandbox/debit/bills/{trx_id}/pay"),
                &json!({"reference": "57910067322"}),
            )
            .await
            .expect(200);
        assert_eq!(paid["status"], "paid");
        let got = receiver.wait_for(1, Duration::from_secs(10)).await;
        let n = notice(&got[0]);
        if syntax == Syntax::Xml {
            assert!(got[0].body.starts_with("<?xml"), "{}", got[0].body);
            assert_eq!(got[0].header("content-type"), Some("text/xml"));
        }
        assert_eq!(n["request"], "Payment Notification");
        assert_eq!(n["trx_id"], trx_id.as_str());
        assert_eq!(n["merchant_id"], MERCHANT);
        assert_eq!(n["bill_no"], bill_no.as_str());
        assert_eq!(n["payment_reff"], "57910067322");
        assert_eq!(n["payment_status_code"], "2");
        assert_eq!(n["payment_status_desc"], "Payment Sukses");
        assert_eq!(n["bill_total"], "15000", "plain rupiah");
        assert_eq!(n["payment_total"], "15000");
        assert_eq!(n["payment_channel_uid"], "801");
        assert_eq!(n["payment_channel"], "BNI Virtual Account");
        assert_eq!(n["signature"], sign(&[&bill_no, "2"]).as_str());
        // Acknowledged in the merchant's syntax: delivered, not retried.
        eventually(
            "the notification delivered",
            Duration::from_secs(10),
            || async {
                let listed = gw
                    .get(&format!("/sandbox/notifications?owner={MERCHANT}"))
                    .await
                    .expect(200);
                listed["notifications"]
                    .as_array()
                    .and_then(|all| {
                        all.iter()
                            .find(|x| x["source"] == format!("bill:{trx_id}"))
                            .cloned()
                    })
                    .filter(|x| x["status"] == "delivered")
            },
        )
        .await;

        let after = status(&gw, syntax, &bill_no, &trx_id).await;
        assert_eq!(after["payment_status_code"], "2", "{after}");
        assert_eq!(after["payment_reff"], "57910067322");
        assert_eq!(after["payment_total"], "15000", "plain rupiah, as notified");
        assert!(!after["payment_date"].as_str().unwrap().is_empty());
        // The merchant's settlement account holds the money.
        let statement = gw
            .get(&format!("/sandbox/accounts/merchant:{MERCHANT}/statement"))
            .await
            .expect(200);
        assert!(
            statement["lines"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["amount"] == "15000.00" && l["reference"] == trx_id.as_str()),
            "{statement}"
        );
        // A paid bill cannot be cancelled.
        let cancel = json!({
            "request": "Canceling Payment", "trx_id": trx_id, "merchant_id": MERCHANT,
            "bill_no": bill_no, "payment_cancel": "customer changed mind", "signature": sign(&[&bill_no]),
        });
        assert_eq!(refusal(&call(&gw, syntax, "100005", &cancel).await).0, "81");
        let check = gw.ledger_check().await;
        assert_eq!(check["clean"], true, "{check}");
        gw.stop().await;
    }
}

async fn bills_are_cancelled_or_expire(db: TestDatabase) {
    let receiver = Receiver::start(ack(Syntax::Json)).await;
    let gw = gateway(&db, &receiver.url(), "json").await;
    for syntax in [Syntax::Json, Syntax::Xml] {
        let bill_no = format!("CXL-{}", format_of(syntax));
        let posted = call(
            &gw,
            syntax,
            "300011",
            &post_data(&gw, &bill_no, "707", 5_000_000),
        )
        .await;
        let trx_id = posted["trx_id"].as_str().expect("trx_id").to_string();
        let cancel = json!({
            "request": "Canceling Payment", "trx_id": trx_id, "merchant_id": MERCHANT, "merchant": "FASPAY STORE",
            "bill_no": bill_no, "payment_cancel": "out of stock", "signature": sign(&[&bill_no]),
        });
        let cancelled = call(&gw, syntax, "100005", &cancel).await;
        assert_eq!(cancelled["response_code"], "00", "{cancelled}");
        assert_eq!(cancelled["payment_status_code"], "8");
        assert_eq!(cancelled["payment_cancel"], "out of stock");
        assert_eq!(
            status(&gw, syntax, &bill_no, &trx_id).await["payment_status_code"],
            "8"
        );
        let paid = gw
            .post_json(&format!("/sandbox/debit/bills/{trx_id}/pay"), &json!({}))
            .await;
        assert_eq!(paid.status, 409, "{}", paid.text);
    }
    // The same request again after its bill expired still answers that bill.
    let mut body = post_data(&gw, "EXP-0", "801", 1_000_000);
    body["bill_expired"] = wib_in(&gw, 3600).into();
    let first = call(&gw, Syntax::Json, "300011", &body).await;
    gw.advance_clock(7200).await;
    let again = call(&gw, Syntax::Json, "300011", &body).await;
    assert_eq!(again["trx_id"], first["trx_id"], "{again}");
    // Expiry: an hour's bill, the sandbox clock moved past it.
    let mut body = post_data(&gw, "EXP-1", "801", 1_000_000);
    body["bill_expired"] = wib_in(&gw, 3600).into();
    let posted = call(&gw, Syntax::Json, "300011", &body).await;
    let trx_id = posted["trx_id"].as_str().unwrap().to_string();
    gw.advance_clock(3601).await;
    eventually("the bill expired", Duration::from_secs(10), || async {
        let s = status(&gw, Syntax::Json, "EXP-1", &trx_id).await;
        (s["payment_status_code"] == "7").then_some(())
    })
    .await;
    let expired = eventually("the expiry notice", Duration::from_secs(10), || async {
        receiver
            .received()
            .iter()
            .map(|r| r.json())
            .find(|n| n["bill_no"] == "EXP-1")
    })
    .await;
    assert_eq!(expired["payment_status_code"], "7");
    assert_eq!(expired["payment_total"], "0", "nothing was paid");
    let codes = told_codes(&receiver);
    assert!(
        codes.contains(&"8".to_string()),
        "the cancellations were told: {codes:?}"
    );
    assert_eq!(expired["signature"], sign(&["EXP-1", "7"]).as_str());
    let paid = gw
        .post_json(&format!("/sandbox/debit/bills/{trx_id}/pay"), &json!({}))
        .await;
    assert_eq!(paid.status, 409);
    let check = gw.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");
    gw.stop().await;
}

/// Faspay's Magento plugin sends no `cust_no`, and its sandbox sample sends both
/// customer fields empty: both are bills. A merchant that never acknowledges is
/// told 4 times — the first attempt and Faspay's 3 retries — and no more.
async fn plugins_without_customer_fields_and_a_merchant_that_never_acknowledges(db: TestDatabase) {
    let receiver = Receiver::start(Behaviour::Body(
        200,
        r#"{"response":"Payment Notification","response_code":"99","response_desc":"Already Processed"}"#,
    ))
    .await;
    let gw = gateway(&db, &receiver.url(), "xml").await;
    let mut magento = post_data(&gw, "100000042", "801", 1_500_000);
    magento
        .as_object_mut()
        .expect("an object")
        .remove("cust_no");
    let posted = call(&gw, Syntax::Xml, "300011", &magento).await;
    assert_eq!(posted["response_code"], "00", "{posted}");
    let mut sample = post_data(&gw, "SBX-1", "801", 1_500_000);
    sample["cust_no"] = "".into();
    sample["cust_name"] = "".into();
    // An item's field sent empty is echoed empty; one left out, with its meaning.
    sample["item"][0]["merchant_id"] = "".into();
    sample["item"][0]
        .as_object_mut()
        .expect("an item")
        .remove("payment_plan");
    let answer = call(&gw, Syntax::Json, "300011", &sample).await;
    assert_eq!(answer["response_code"], "00", "{answer}");
    assert_eq!(answer["bill_items"][0]["merchant_id"], "", "{answer}");
    assert_eq!(answer["bill_items"][0]["payment_plan"], "01", "{answer}");

    let trx_id = posted["trx_id"].as_str().expect("trx_id");
    gw.post_json(&format!("/sandbox/debit/bills/{trx_id}/pay"), &json!({}))
        .await
        .expect(200);
    receiver.wait_for(1, Duration::from_secs(10)).await;
    let listed = gw
        .get(&format!("/sandbox/notifications?owner={MERCHANT}"))
        .await
        .expect(200);
    let id = listed["notifications"]
        .as_array()
        .and_then(|all| all.iter().find(|n| n["source"] == format!("bill:{trx_id}")))
        .and_then(|n| n["id"].as_i64())
        .expect("the bill's notification");
    // Retries 30, 60 and 120 s apart (the test notifier's first retry is 30 s).
    for retry in 1..=3usize {
        // The clock moves once the last attempt is recorded with its next one.
        gw.wait_notification(id, "the attempt recorded", |n| {
            n["attempts"] == retry && n["status"] == "pending"
        })
        .await;
        gw.advance_clock((30 << (retry - 1)) + 1).await;
        receiver.wait_for(1 + retry, Duration::from_secs(10)).await;
    }
    let n = gw
        .wait_notification(id, "given up after Faspay's 3 retries", |n| {
            n["status"] == "failed"
        })
        .await;
    assert_eq!(n["attempts"], 4, "{n}");
    gw.advance_clock(3_600).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.received().len(), 4, "no fifth attempt");
    gw.stop().await;
}

/// The last statement line of `account`: its amount.
async fn last_amount(gw: &Gateway, account: &str) -> String {
    let statement = gw
        .get(&format!("/sandbox/accounts/{account}/statement"))
        .await
        .expect(200);
    let lines = statement["lines"].as_array().expect("lines");
    lines.last().expect("a line")["amount"]
        .as_str()
        .expect("amount")
        .to_string()
}

async fn fees_are_kept_and_refunds_given_back(db: TestDatabase) {
    let receiver = Receiver::start(ack(Syntax::Json)).await;
    let gw = gateway(&db, &receiver.url(), "json").await;
    let plan = gerbang_app::provision::plan(
        "[[merchant]]\nmerchant_id = \"99999\"\n\
         [[merchant.fee]]\nchannel = \"801\"\nflat = \"2500.00\"\n\
         [[merchant.fee]]\npercent = \"0.70\"\n",
        std::path::Path::new("."),
    )
    .expect("a plan");
    gerbang_app::provision::apply(&*gw.app().store, gw.app().now(), plan)
        .await
        .expect("provisioned");
    // Rp 100.000 through BNI VA: Rp 2.500 flat; through Alfagroup: 0.70 % = Rp 700.
    for (bill_no, channel, fee) in [("FEE-1", "801", "2500.00"), ("FEE-2", "707", "700.00")] {
        let posted = call(
            &gw,
            Syntax::Json,
            "300011",
            &post_data(&gw, bill_no, channel, 10_000_000),
        )
        .await;
        let trx_id = posted["trx_id"].as_str().unwrap().to_string();
        gw.post_json(&format!("/sandbox/debit/bills/{trx_id}/pay"), &json!({}))
            .await
            .expect(200);
        assert_eq!(last_amount(&gw, "operator:fees").await, fee, "{bill_no}");
    }
    assert_eq!(last_amount(&gw, "merchant:99999").await, "99300.00");

    let refund = |bill_no: &str, kind: &str, amount: Option<&str>| {
        let mut body = json!({
            "request": "Pembatalan Pembelian Barang", "merchant_id": MERCHANT, "merchant": "FASPAY STORE",
            "bill_no": bill_no, "cancellation_type": kind, "cancellation_reason": "returned",
            "cancelled_by": "admin", "signature": sign(&[bill_no]),
        });
        if let Some(a) = amount {
            body["cancellation_amount"] = a.into();
        }
        body
    };
    let part = call(
        &gw,
        Syntax::Json,
        "300013",
        &refund("FEE-1", "PARTIAL", Some("3000000")),
    )
    .await;
    assert_eq!(part["response_code"], "00", "{part}");
    assert_eq!(part["payment_status_code"], "2");
    // Rp 30.000 back: the operator returns its share of the Rp 2.500 fee.
    assert_eq!(last_amount(&gw, "merchant:99999").await, "-29250.00");
    assert_eq!(last_amount(&gw, "operator:fees").await, "-750.00");
    let too_much = call(
        &gw,
        Syntax::Xml,
        "300013",
        &refund("FEE-1", "PARTIAL", Some("8000000")),
    )
    .await;
    assert_eq!(refusal(&too_much).0, "13", "{too_much}");
    let rest = call(&gw, Syntax::Xml, "300013", &refund("FEE-1", "FULL", None)).await;
    assert_eq!(rest["response_code"], "00", "{rest}");
    assert_eq!(rest["payment_status_code"], "4");
    assert_eq!(last_amount(&gw, "merchant:99999").await, "-68250.00");
    assert_eq!(last_amount(&gw, "operator:fees").await, "-1750.00");
    // Asked again: the same answer, nothing more moved.
    let again = call(&gw, Syntax::Json, "300013", &refund("FEE-1", "FULL", None)).await;
    assert_eq!(again["payment_status_code"], "4", "{again}");
    assert_eq!(last_amount(&gw, "merchant:99999").await, "-68250.00");
    let more = call(
        &gw,
        Syntax::Json,
        "300013",
        &refund("FEE-1", "PARTIAL", Some("100")),
    )
    .await;
    assert_eq!(refusal(&more).0, "14");
    // The full refund told the merchant (payment reversal).
    let reversal = eventually("the reversal notice", Duration::from_secs(10), || async {
        receiver
            .received()
            .iter()
            .map(|r| r.json())
            .find(|n| n["bill_no"] == "FEE-1" && n["payment_status_code"] == "4")
    })
    .await;
    assert_eq!(reversal["signature"], sign(&["FEE-1", "4"]).as_str());
    // An unpaid bill has nothing to refund.
    call(
        &gw,
        Syntax::Json,
        "300011",
        &post_data(&gw, "FEE-3", "801", 1_000_000),
    )
    .await;
    assert_eq!(
        refusal(&call(&gw, Syntax::Json, "300013", &refund("FEE-3", "FULL", None)).await).0,
        "14"
    );
    let check = gw.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");
    gw.stop().await;
}

/// Partial refunds asked for at once, together the whole bill: each is given back
/// and answered as such, nothing twice, and the merchant is told once that the
/// bill is refunded.
async fn concurrent_partial_refunds_each_land_once(db: TestDatabase) {
    let receiver = Receiver::start(ack(Syntax::Json)).await;
    let gw = gateway(&db, &receiver.url(), "json").await;
    let posted = call(
        &gw,
        Syntax::Json,
        "300011",
        &post_data(&gw, "RACE-1", "801", 2_000_000),
    )
    .await;
    let trx_id = posted["trx_id"].as_str().unwrap().to_string();
    gw.post_json(&format!("/sandbox/debit/bills/{trx_id}/pay"), &json!({}))
        .await
        .expect(200);
    const PARTS: usize = 20;
    let part = |n: usize| {
        let body = json!({
            "request": "Pembatalan Pembelian Barang", "merchant_id": MERCHANT, "merchant": "FASPAY STORE",
            "bill_no": "RACE-1", "cancellation_type": "PARTIAL", "cancellation_amount": "100000",
            "cancellation_reason": format!("part {n}"), "cancelled_by": "admin", "signature": sign(&["RACE-1"]),
        });
        let gw = &gw;
        async move { call(gw, Syntax::Json, "300013", &body).await }
    };
    let answers = futures_util::future::join_all((0..PARTS).map(part)).await;
    for answer in &answers {
        assert_eq!(answer["response_code"], "00", "{answer}");
    }
    let refunds = gw
        .get("/sandbox/accounts/merchant:99999/statement?limit=1000")
        .await
        .expect(200)["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["amount"] == "-1000.00")
        .count();
    assert_eq!(refunds, PARTS, "one entry per refund");
    let full = status(&gw, Syntax::Json, "RACE-1", &trx_id).await;
    assert_eq!(full["payment_status_code"], "4", "{full}");
    // The paid notice and one refunded notice; a moment more brings no other.
    receiver.wait_for(2, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut told = told_codes(&receiver);
    told.sort();
    assert_eq!(told, ["2", "4"], "{told:?}");
    let check = gw.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");
    gw.stop().await;
}

/// What the channels themselves refuse: QRIS's cap on one payment, and a refund
/// to a customer whose account the channel closed (a phone ending with 9909).
async fn channels_refuse_what_they_would(db: TestDatabase) {
    let gw = gateway(&db, "http://127.0.0.1:9/none", "json").await;
    // Rp 10.000.000 is QRIS's most; a rupiah more is refused and stores nothing.
    let most = call(
        &gw,
        Syntax::Json,
        "300011",
        &post_data(&gw, "QR-MOST", "711", 1_000_000_000),
    )
    .await;
    assert_eq!(most["response_code"], "00", "{most}");
    assert!(
        most["qr_content"].as_str().unwrap().contains("54081000000"),
        "{most}"
    );
    for syntax in [Syntax::Json, Syntax::Xml] {
        let over = call(
            &gw,
            syntax,
            "300011",
            &post_data(&gw, "QR-OVER", "711", 1_000_000_100),
        )
        .await;
        assert_eq!(refusal(&over).0, "13", "{over}");
    }
    // The bank, the store counter and the QR code take whole rupiah: a total
    // with sen is refused there and takes nothing; another channel takes it.
    for channel in ["802", "707", "711"] {
        let sen = call(
            &gw,
            Syntax::Json,
            "300011",
            &post_data(&gw, "SEN-1", channel, 1_500_050),
        )
        .await;
        assert_eq!(refusal(&sen).0, "13", "{channel}: {sen}");
        assert!(refusal(&sen).1.contains("whole rupiah"), "{sen}");
    }
    let sen = call(
        &gw,
        Syntax::Json,
        "300011",
        &post_data(&gw, "SEN-1", "812", 1_500_050),
    )
    .await;
    assert_eq!(sen["response_code"], "00", "{sen}");
    let after = call(
        &gw,
        Syntax::Json,
        "300011",
        &post_data(&gw, "QR-OVER", "711", 500_000),
    )
    .await;
    assert_eq!(
        after["response_code"], "00",
        "the refused bill_no was never taken: {after}"
    );
    // A bill_no already used, with other content the channel would refuse: the
    // repeat is what it is (14), whatever the channel says.
    let repeat = call(
        &gw,
        Syntax::Json,
        "300011",
        &post_data(&gw, "QR-MOST", "711", 1_000_000_100),
    )
    .await;
    assert_eq!(refusal(&repeat).0, "14", "{repeat}");

    let mut body = post_data(&gw, "CLOSED-1", "819", 2_000_000);
    body["msisdn"] = "081200009909".into();
    let posted = call(&gw, Syntax::Json, "300011", &body).await;
    let trx_id = posted["trx_id"].as_str().unwrap().to_string();
    gw.post_json(&format!("/sandbox/debit/bills/{trx_id}/pay"), &json!({}))
        .await
        .expect(200);
    let balance_of = |account: &'static str| {
        let gw = &gw;
        async move {
            gw.get(&format!("/sandbox/accounts/{account}/statement"))
                .await
                .expect(200)["balance"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let before = balance_of("merchant:99999").await;
    let refund = json!({
        "request": "Pembatalan Pembelian Barang", "merchant_id": MERCHANT, "merchant": "FASPAY STORE",
        "bill_no": "CLOSED-1", "cancellation_type": "FULL", "cancellation_reason": "returned",
        "cancelled_by": "admin", "signature": sign(&["CLOSED-1"]),
    });
    let refused = call(&gw, Syntax::Json, "300013", &refund).await;
    assert_eq!(refusal(&refused).0, "18", "{refused}");
    // Taken from the merchant first, given back when the channel refused.
    assert_eq!(
        balance_of("merchant:99999").await,
        before,
        "the merchant is whole"
    );
    let statement = gw
        .get("/sandbox/accounts/merchant:99999/statement")
        .await
        .expect(200);
    let kinds: Vec<&str> = statement["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["reference"] == trx_id.as_str())
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["payin", "refund", "refund_refused"], "{statement}");
    // Asked again, it is another refund, refused again.
    let again = call(&gw, Syntax::Json, "300013", &refund).await;
    assert_eq!(refusal(&again).0, "18", "{again}");
    assert_eq!(balance_of("merchant:99999").await, before);
    assert_eq!(
        status(&gw, Syntax::Json, "CLOSED-1", &trx_id).await["payment_status_code"],
        "2"
    );
    gw.stop().await;
}

on_both_backends!(
    channels_refuse_what_they_would,
    channels_are_listed_for_the_signed_merchant,
    a_bill_is_posted_paid_and_notified,
    bills_are_cancelled_or_expire,
    fees_are_kept_and_refunds_given_back,
    concurrent_partial_refunds_each_land_once,
    plugins_without_customer_fields_and_a_merchant_that_never_acknowledges,
);
