//! Bad SNAP requests: each gets its exact code, with the HTTP status its first
//! three digits, and moves nothing.

use crate::client::{gateway_now, hmac_sha512, jakarta, rsa_sign};
use crate::common::*;
use crate::fixture::{self, FUNDING_MINOR};
use serde_json::json;

on_both_backends!(each_bad_request_gets_its_code_and_moves_nothing);

async fn each_bad_request_gets_its_code_and_moves_nothing(db: TestDatabase) {
    let s = fixture::start(db).await;
    let path = "/account/v1.0/transfer-interbank";
    let good = s.transfer("BAD-1", "100.00", "1234567890").await;

    // Headers: missing, malformed, unknown partner, stale, wrong signature.
    let headers = s.faspay.signed_headers(path, &good).await;
    let without = |name: &str| -> Vec<(String, String)> {
        headers
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
            .cloned()
            .collect()
    };
    let with = |name: &str, value: &str| -> Vec<(String, String)> {
        let mut h = without(name);
        h.push((name.to_string(), value.to_string()));
        h
    };
    let now = gateway_now(&s.api).await;
    let stale = jakarta(now - time::Duration::minutes(6));
    let stale_signature = rsa_sign(
        &s.faspay.key,
        &format!(
            "POST:{path}:{}:{stale}",
            crate::client::body_hash(&good.to_string())
        ),
    );
    let mut stale_headers = with("X-TIMESTAMP", &stale);
    stale_headers.retain(|(n, _)| n != "X-SIGNATURE");
    stale_headers.push(("X-SIGNATURE".into(), stale_signature));
    for (headers, code, message) in [
        (
            without("X-TIMESTAMP"),
            "4001802",
            "Invalid Mandatory Field [X-TIMESTAMP]",
        ),
        (
            without("X-EXTERNAL-ID"),
            "4001802",
            "Invalid Mandatory Field [X-EXTERNAL-ID]",
        ),
        (
            with("X-EXTERNAL-ID", "12-34"),
            "4001801",
            "Invalid Field Format [X-EXTERNAL-ID]",
        ),
        (
            without("CHANNEL-ID"),
            "4001802",
            "Invalid Mandatory Field [CHANNEL-ID]",
        ),
        (
            with("X-PARTNER-ID", "77777"),
            "4011800",
            "Unauthorized. [Unknown client]",
        ),
        (stale_headers, "4011800", "Unauthorized. [Timestamp]"),
        (
            with("X-SIGNATURE", &rsa_sign(&s.faspay.key, "other")),
            "4011800",
            "Unauthorized. [Signature]",
        ),
        (
            with("X-SIGNATURE", "not base64!"),
            "4011800",
            "Unauthorized. [Signature]",
        ),
    ] {
        let reply = s.faspay.send(path, &headers, good.to_string()).await;
        reply.expect(code);
        assert_eq!(reply.message(), message);
    }
    // A body other than the one signed.
    let mut tampered = good.clone();
    tampered["amount"]["value"] = "100000.00".into();
    let reply = s.faspay.send(path, &headers, tampered.to_string()).await;
    reply.expect("4011800");

    // The symmetric partner: no token, a forged one, the other face's.
    let standard_path = "/v1.0/transfer-interbank";
    let signed = s.standard.signed_headers(standard_path, &good).await;
    let reply = s
        .standard
        .send(
            standard_path,
            &signed
                .iter()
                .filter(|(n, _)| n != "Authorization")
                .cloned()
                .collect::<Vec<_>>(),
            good.to_string(),
        )
        .await;
    reply.expect("4011803");
    assert_eq!(reply.message(), "Token Not Found (B2B)");
    *s.standard.token.lock().unwrap() = Some("Zm9yZ2VkLjEuMi4z".into());
    let forged = s.standard.signed_headers(standard_path, &good).await;
    let reply = s
        .standard
        .send(standard_path, &forged, good.to_string())
        .await;
    reply.expect("4011801");
    assert_eq!(reply.message(), "Invalid Token (B2B)");
    // A good token, a signature with the wrong secret.
    let token = s.standard.get_token().await;
    let mut wrong = s.standard.signed_headers(standard_path, &good).await;
    wrong.retain(|(n, _)| n != "X-SIGNATURE");
    wrong.push(("X-SIGNATURE".into(), hmac_sha512("not-the-secret", &token)));
    s.standard
        .send(standard_path, &wrong, good.to_string())
        .await
        .expect("4011800");

    // Bodies: broken JSON, then each field refusal, each signed correctly.
    let broken = r#"{"partnerReferenceNo":"BAD-2","amount":"#;
    let headers = s.faspay.signed_text_headers(path, broken).await;
    let reply = s.faspay.send(path, &headers, broken.into()).await;
    reply.expect("4001800");
    assert_eq!(reply.message(), "Bad Request");
    // A key given twice: a reader in front of the gateway could take the other copy.
    let twice = good.to_string().replacen(
        "\"amount\":",
        "\"amount\":{\"value\":\"1.00\",\"currency\":\"IDR\"},\"amount\":",
        1,
    );
    assert_ne!(twice, good.to_string());
    let headers = s.faspay.signed_text_headers(path, &twice).await;
    let reply = s.faspay.send(path, &headers, twice).await;
    reply.expect("4001800");
    let with_field = |pointer: &str, value: serde_json::Value| {
        let mut body = good.clone();
        *body.pointer_mut(pointer).unwrap() = value;
        body
    };
    let mut missing_account = good.clone();
    missing_account
        .as_object_mut()
        .unwrap()
        .remove("beneficiaryAccountNo");
    // A bad field elsewhere is told before the amount's limit (§8: the body's
    // form, then business rules).
    let mut huge_and_unnamed = with_field("/amount/value", json!("1000000000000.01"));
    huge_and_unnamed
        .as_object_mut()
        .unwrap()
        .remove("beneficiaryAccountNo");
    for (body, code, message) in [
        (
            huge_and_unnamed,
            "4001802",
            "Invalid Mandatory Field [beneficiaryAccountNo]",
        ),
        (
            with_field("/amount/value", json!("10000")),
            "4001801",
            "Invalid Field Format [amount.value]",
        ),
        (
            with_field("/amount/value", json!(10000)),
            "4001801",
            "Invalid Field Format [amount.value]",
        ),
        (
            with_field("/amount/value", json!("0.00")),
            "4001801",
            "Invalid Field Format [amount.value]",
        ),
        (
            with_field("/amount/value", json!("1000000000000.01")),
            "4031802",
            "Exceeds Transaction Amount Limit [amount.value]",
        ),
        (
            with_field("/amount/currency", json!("USD")),
            "4001801",
            "Invalid Field Format [amount.currency]",
        ),
        (
            missing_account,
            "4001802",
            "Invalid Mandatory Field [beneficiaryAccountNo]",
        ),
        (
            with_field("/beneficiaryAccountName", json!("")),
            "4001802",
            "Invalid Mandatory Field [beneficiaryAccountName]",
        ),
        (
            with_field("/transactionDate", json!("yesterday")),
            "4001801",
            "Invalid Field Format [transactionDate]",
        ),
        (
            with_field("/beneficiaryBankCode", json!("999")),
            "4041803",
            "Bank Not Supported By Switch",
        ),
        (
            with_field("/sourceAccountNo", json!("9920000001")),
            "4041811",
            "Invalid Card/Account/Customer [sourceAccountNo]",
        ),
        (
            with_field("/amount/value", json!("2000000.00")),
            "4031814",
            "Insufficient Funds",
        ),
        (
            with_field("/additionalInfo/callbackUrl", json!("ftp://x")),
            "4001801",
            "Invalid Field Format [additionalInfo.callbackUrl]",
        ),
    ] {
        let reply = s.faspay.call("/transfer-interbank", &body).await;
        reply.expect(code);
        assert_eq!(reply.message(), message);
    }
    // Status of nothing.
    s.faspay
        .call(
            "/transfer/status",
            &json!({"originalPartnerReferenceNo": "NOPE", "serviceCode": "18"}),
        )
        .await
        .expect("4043601");

    // Nothing moved, nothing held.
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR));
    assert_ledger_clean(&s.api).await;
    s.stop().await;
}
