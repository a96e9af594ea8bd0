//! Bad input gets the documented `response_error`, HTTP 200, in the syntax it came
//! in, and stores nothing.

use crate::common::*;
use crate::support::*;
use serde_json::json;

async fn refusals_are_documented_and_store_nothing(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    for syntax in [Syntax::Json, Syntax::Xml] {
        let ok = post_data(&gw, "R-1", "801", 1_000_000);
        let refused = |mut body: serde_json::Value, change: &dyn Fn(&mut serde_json::Value)| {
            change(&mut body);
            body
        };
        let cases: Vec<(&str, serde_json::Value)> = vec![
            (
                "55",
                refused(ok.clone(), &|b| b["signature"] = sign(&["R-2"]).into()),
            ),
            (
                "03",
                refused(ok.clone(), &|b| b["merchant_id"] = "12345".into()),
            ),
            (
                "83",
                refused(ok.clone(), &|b| {
                    b.as_object_mut().unwrap().remove("bill_no");
                }),
            ),
            (
                "83",
                refused(ok.clone(), &|b| {
                    b.as_object_mut().unwrap().remove("signature");
                }),
            ),
            (
                "13",
                refused(ok.clone(), &|b| b["bill_total"] = "sepuluh ribu".into()),
            ),
            (
                "13",
                refused(ok.clone(), &|b| b["bill_total"] = "10.5".into()),
            ),
            (
                "30",
                refused(ok.clone(), &|b| b["bill_expired"] = "tomorrow".into()),
            ),
            (
                "30",
                refused(ok.clone(), &|b| b["bill_currency"] = "USD".into()),
            ),
            (
                "82",
                refused(ok.clone(), &|b| b["payment_channel"] = "999".into()),
            ),
            (
                "83",
                refused(ok.clone(), &|b| {
                    b.as_object_mut().unwrap().remove("item");
                }),
            ),
            (
                "54",
                refused(ok.clone(), &|b| {
                    b["bill_expired"] = "2020-01-01 00:00:00".into()
                }),
            ),
            (
                "30",
                refused(ok.clone(), &|b| {
                    b["bill_date"] = "2020-01-01 00:00:00".into()
                }),
            ),
            (
                "83",
                refused(ok.clone(), &|b| b["payment_channel"] = "709".into()),
            ),
            (
                "30",
                refused(ok.clone(), &|b| {
                    b["payment_channel"] = "709".into();
                    b["reserve2"] = "2_years".into();
                }),
            ),
            (
                "13",
                refused(ok.clone(), &|b| {
                    b["payment_channel"] = "709".into();
                    b["reserve2"] = "3_months".into();
                }),
            ),
        ];
        for (code, body) in cases {
            let answer = call(&gw, syntax, "300011", &body).await;
            assert_eq!(refusal(&answer).0, code, "{syntax:?} {body}: {answer}");
        }
    }
    // Unreadable bodies, in whatever syntax they seem to be.
    for (content_type, body, syntax) in [
        ("application/json", "{\"bill_no\":", Syntax::Json),
        ("application/json", "{\"bill_no\":\"1\",\"bill_no\":\"2\"}", Syntax::Json),
        ("text/xml", "<faspay><bill_no>1</bill_no>", Syntax::Xml),
        ("text/xml", "<?xml version=\"1.0\"?><!DOCTYPE faspay [<!ENTITY x \"y\">]><faspay><bill_no>&x;</bill_no></faspay>", Syntax::Xml),
        ("text/plain", "bill_no=1", Syntax::Json),
        ("text/xml", "<faspay><bill_no>1</bill_no><bill_no>2</bill_no></faspay>", Syntax::Xml),
        ("application/json", "{\"bill_no\":12345678901234567890123}", Syntax::Json),
        ("text/xml", "<faspay><bill_no>1</bill_no></faspay><faspay><bill_no>2</bill_no></faspay>", Syntax::Xml),
        // No first byte to tell the syntax by: the one the Content-Type names.
        ("text/xml", "", Syntax::Xml),
        ("application/xml", "   ", Syntax::Xml),
        ("application/json", "", Syntax::Json),
    ] {
        let reply = gw
            .post_raw("/cvr/300011/10", content_type, body.as_bytes().to_vec())
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let answer = match syntax {
            Syntax::Json => reply.json(),
            Syntax::Xml => xml_to_json(&reply.text),
        };
        assert_eq!(refusal(&answer).0, "30", "{body}: {}", reply.text);
    }
    // Too large a body: the envelope too, HTTP 200, in the syntax its type names.
    let big = format!("{{\"bill_desc\":\"{}\"}}", "x".repeat(8 * 1024));
    let reply = gw
        .post_raw("/cvr/300011/10", "application/json", big.into_bytes())
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(refusal(&reply.json()).0, "30");
    let big = format!(
        "<faspay><bill_desc>{}</bill_desc></faspay>",
        "x".repeat(8 * 1024)
    );
    let reply = gw
        .post_raw("/pws/300011/183xx00010100000", "text/xml", big.into_bytes())
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(refusal(&xml_to_json(&reply.text)).0, "30");
    // A JSON body sent as text/xml (as one plugin does) is read as JSON.
    let labelled = gw
        .post_raw(
            "/pws/300011/183xx00010100000",
            "text/xml",
            post_data(&gw, "R-9", "801", 1_000_000)
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(labelled.json()["response_code"], "00", "{}", labelled.text);
    // Nothing was stored for the refused ones.
    let status = call(
        &gw,
        Syntax::Json,
        "100004",
        &json!({"merchant_id": MERCHANT, "bill_no": "R-1", "signature": sign(&["R-1"])}),
    )
    .await;
    assert_eq!(status["payment_status_code"], "5", "{status}");
    gw.stop().await;
}

on_both_backends!(refusals_are_documented_and_store_nothing);
