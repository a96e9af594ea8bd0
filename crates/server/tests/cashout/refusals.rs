//! What the host-to-host API refuses: a wrong amount (13), another phone number,
//! an unknown code or another network's code (14); bad credentials (HTTP 401,
//! 63), malformed requests (HTTP 400, 30) and unknown networks (HTTP 404). None
//! of it touches the code, which is claimed at the end.

use crate::common::*;
use crate::fixture::{self, FUNDING_MINOR};
use crate::h2h::{
    assert_code, signature, timestamp_in, H2h, KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use crate::support::*;
use serde_json::json;

/// Asserts an HTTP error answer of the host-to-host API.
#[track_caller]
fn assert_refused(reply: &Reply, status: u16, code: &str, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.text);
    assert!(
        reply.content_type.starts_with("application/json"),
        "{what}: answered as {:?}: {}",
        reply.content_type,
        reply.text
    );
    assert_eq!(
        reply.json()["response_code"],
        code,
        "{what}: {}",
        reply.text
    );
}

async fn refused_requests_leave_the_code_claimable(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let url = receiver.url();
    let issued = issue_alfamart(&s, "ALF-8001", RP_100K, &url).await;
    let indomaret_code = issue(&s, &store_body(&s, "imr", "IMR-8001", RP_100K, &url).await).await;
    let alfamart = H2h::sandbox(&s.api, "alfamart");
    let indomaret = H2h::sandbox(&s.api, "indomaret");

    // Business refusals (HTTP 200).
    assert_code(
        &alfamart
            .payment("ALF-8001-P1", &issued.code, PHONE, 50_000)
            .await,
        "13",
    );
    assert_code(
        &alfamart
            .payment("ALF-8001-P2", &issued.code, PHONE, 150_000)
            .await,
        "13",
    );
    assert_code(
        &alfamart
            .inquiry("ALF-8001-I1", &issued.code, OTHER_PHONE)
            .await,
        "14",
    );
    assert_code(
        &alfamart
            .payment("ALF-8001-P3", &issued.code, OTHER_PHONE, 100_000)
            .await,
        "14",
    );
    let unknown = if issued.code == "0000000001" {
        "0000000002"
    } else {
        "0000000001"
    };
    assert_code(&alfamart.inquiry("ALF-8001-I2", unknown, PHONE).await, "14");
    assert_code(
        &alfamart
            .payment("ALF-8001-P4", unknown, PHONE, 100_000)
            .await,
        "14",
    );
    // Another network's code, either way round.
    assert_code(
        &alfamart
            .inquiry("ALF-8001-I3", &indomaret_code.code, PHONE)
            .await,
        "14",
    );
    assert_code(
        &alfamart
            .payment("ALF-8001-P5", &indomaret_code.code, PHONE, 100_000)
            .await,
        "14",
    );
    assert_code(
        &indomaret.inquiry("IMR-8001-I1", &issued.code, PHONE).await,
        "14",
    );
    assert_code(
        &indomaret
            .payment("IMR-8001-P1", &issued.code, PHONE, 100_000)
            .await,
        "14",
    );
    let permata = H2h::sandbox(&s.api, "permata");
    assert_code(
        &permata.inquiry("PMT-8001-I1", &issued.code, PHONE).await,
        "14",
    );

    // Bad credentials: HTTP 401, 63.
    let path = alfamart.path("payment");
    let body = H2h::payment_body("ALF-8001-P6", &issued.code, PHONE, 100_000)
        .to_string()
        .into_bytes();
    let headers = |key: &str, secret: &str, timestamp: &str, signed: &[u8]| {
        vec![
            (KEY_HEADER.to_string(), key.to_string()),
            (TIMESTAMP_HEADER.to_string(), timestamp.to_string()),
            (
                SIGNATURE_HEADER.to_string(),
                signature(secret, "POST", &path, timestamp, signed),
            ),
        ]
    };
    let now = timestamp_in(0);
    let secret = alfamart.secret.clone();
    let cases: Vec<(&str, Vec<(String, String)>)> = vec![
        (
            "a signature over another body",
            headers("alfamart", &secret, &now, b"{}"),
        ),
        (
            "a signature with another secret",
            headers("alfamart", "sandbox-indomaret-secret", &now, &body),
        ),
        (
            "another network's key",
            headers("indomaret", &secret, &now, &body),
        ),
        (
            "another network's key and secret",
            headers("indomaret", "sandbox-indomaret-secret", &now, &body),
        ),
        (
            "a timestamp ten minutes old",
            headers("alfamart", &secret, &timestamp_in(-600), &body),
        ),
        (
            "a timestamp ten minutes ahead",
            headers("alfamart", &secret, &timestamp_in(600), &body),
        ),
        (
            "a timestamp without an offset",
            headers("alfamart", &secret, now.trim_end_matches("+07:00"), &body),
        ),
        ("no headers", Vec::new()),
        (
            // The documented signature is lowercase hex.
            "the signature in uppercase hex",
            headers("alfamart", &secret, &now, &body)
                .into_iter()
                .map(|(n, v)| {
                    let v = if n == SIGNATURE_HEADER {
                        v.to_ascii_uppercase()
                    } else {
                        v
                    };
                    (n, v)
                })
                .collect(),
        ),
        (
            "no signature",
            headers("alfamart", &secret, &now, &body)
                .into_iter()
                .filter(|(n, _)| n != SIGNATURE_HEADER)
                .collect(),
        ),
    ];
    for (what, headers) in cases {
        let reply = alfamart
            .send_raw(&path, &headers, body.clone())
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_refused(&reply, 401, "63", what);
    }
    // Signed for another path.
    let signed_elsewhere = alfamart.headers("/h2h/v1/alfamart/inquiry", &body);
    let reply = alfamart
        .send_raw(&path, &signed_elsewhere, body.clone())
        .await
        .expect("an answer");
    assert_refused(&reply, 401, "63", "signed for another path");

    // Malformed requests, correctly signed: HTTP 400, 30.
    let malformed: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "payment",
            "not JSON",
            b"{\"reference\": \"ALF-8001-P7\",".to_vec(),
        ),
        ("payment", "an empty body", Vec::new()),
        (
            "payment",
            "the amount given twice",
            format!(
                r#"{{"reference":"ALF-8001-P11","code":"{}","phone":"{PHONE}","amount":100000,"amount":1}}"#,
                issued.code
            )
            .into_bytes(),
        ),
        (
            "payment",
            "no amount",
            json!({"reference": "ALF-8001-P8", "code": issued.code, "phone": PHONE})
                .to_string()
                .into_bytes(),
        ),
        (
            "payment",
            "an amount in words",
            json!({"reference": "ALF-8001-P9", "code": issued.code, "phone": PHONE,
                   "amount": "one hundred thousand"})
            .to_string()
            .into_bytes(),
        ),
        (
            "payment",
            "a reference over 64 characters",
            H2h::payment_body(&"R".repeat(65), &issued.code, PHONE, 100_000)
                .to_string()
                .into_bytes(),
        ),
        ("reversal", "no reference", b"{}".to_vec()),
        ("inquiry", "not JSON", b"code=1234567890".to_vec()),
    ];
    for (operation, what, bytes) in malformed {
        let path = alfamart.path(operation);
        let headers = alfamart.headers(&path, &bytes);
        let reply = alfamart
            .send_raw(&path, &headers, bytes)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_refused(&reply, 400, "30", what);
    }

    // A body over the gateway's limit (4 KiB in the tests): HTTP 413.
    let path = alfamart.path("payment");
    let mut big = H2h::payment_body("ALF-8001-P10", &issued.code, PHONE, 100_000);
    big["note"] = "x".repeat(8 * 1024).into();
    let bytes = big.to_string().into_bytes();
    let headers = alfamart.headers(&path, &bytes);
    let reply = alfamart
        .send_raw(&path, &headers, bytes)
        .await
        .expect("an answer");
    assert_eq!(reply.status, 413, "{}", reply.text);

    // An unknown network (or operation): HTTP 404, whatever the signature.
    for path in ["/h2h/v1/bogus/payment", "/h2h/v1/alfamart/refund"] {
        let bytes = H2h::payment_body("X-1", &issued.code, PHONE, 100_000)
            .to_string()
            .into_bytes();
        let headers = alfamart.headers(path, &bytes);
        let reply = alfamart
            .send_raw(path, &headers, bytes)
            .await
            .expect("an answer");
        assert_eq!(reply.status, 404, "{path}: {}", reply.text);
    }

    // None of it changed anything: the code is still there for its amount.
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR, FUNDING_MINOR - 2 * RP_100K)
    );
    assert_on_process(&s.client.status("ALF-8001", None).await);
    assert_code(
        &alfamart.inquiry("ALF-8001-I4", &issued.code, PHONE).await,
        "00",
    );
    // The references refused for credentials or format were never taken.
    let paid = alfamart
        .payment("ALF-8001-P6", &issued.code, PHONE, 100_000)
        .await;
    assert_code(&paid, "00");
    wait_callback(&s, &receiver, "ALF-8001", "2").await;
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - RP_100K, FUNDING_MINOR - 2 * RP_100K)
    );
    // The Indomaret code is live: one hold left.
    assert_ledger(&s.api, 1).await;
    s.stop().await;
}

on_both_backends!(refused_requests_leave_the_code_claimable);
