//! SNAP payouts on the shared domain: transfer interbank in both signature modes
//! and both path forms, the same balance and statement as SendMe v1, the signed
//! notice, status, duplicates, `X-EXTERNAL-ID` replays, e-money top-up and
//! transfer-to-VA payment, approval.

use crate::client::{body_hash, minify, rsa_verifies, Wire};
use crate::common::*;
use crate::fixture::{self, amount_minor, FUNDING_MINOR, VA};
use crate::sendme_client::{gateway_now, jakarta_date, Query, Style};
use serde_json::json;
use std::time::Duration;

on_both_backends!(
    a_transfer_spends_the_sendme_balance_and_notifies_signed,
    duplicates_and_replays_move_nothing,
    topup_and_va_payment_settle,
    transfers_wait_for_approval_as_sendme_ones_do,
);

async fn a_transfer_spends_the_sendme_balance_and_notifies_signed(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Body(200, r#"{"responseCode":"2001800"}"#)).await;
    let callback = format!("http://{}/partner/v1.0/transfer/notify", receiver.addr);

    // Faspay's SDK way: asymmetric, `/account/v1.0/…`, sent pretty-printed.
    let mut body = s.transfer("SNAP-1", "10000.00", "1234567890").await;
    body["additionalInfo"]["callbackUrl"] = callback.clone().into();
    let reply = s.faspay.call("/transfer-interbank", &body).await;
    let answer = reply.expect("2001800");
    assert_eq!(answer["partnerReferenceNo"], "SNAP-1");
    assert_eq!(
        answer["amount"],
        json!({"value": "10000.00", "currency": "IDR"})
    );
    assert_eq!(answer["sourceAccountNo"], VA);
    assert_eq!(answer["additionalInfo"]["latestTransactionStatus"], "03");
    assert_eq!(answer["additionalInfo"]["beneficiaryBankName"], "BANK BCA");
    let reference = answer["referenceNo"].as_str().unwrap().to_string();
    // Held: the SendMe partner's available balance is lower at once.
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR, FUNDING_MINOR - 1_000_000)
    );

    // The standard way: a token, HMAC-SHA512, `/v1.0/…`, escaped slashes and
    // spaces in the body as PHP and Python send them.
    s.standard.get_token().await;
    let mut second = s.transfer("SNAP-2", "2500.50", "1234567891").await;
    second["additionalInfo"]["transactionDescription"] = "a/b c".into();
    let path = "/v1.0/transfer-interbank";
    let headers = s.standard.signed_headers(path, &second).await;
    let sent = serde_json::to_string(&second)
        .unwrap()
        .replace("a/b c", "a\\/b c")
        .replace(",\"", ", \"")
        .replace("\":", "\": ");
    let reply = s.standard.send(path, &headers, sent).await;
    reply.expect("2001800");

    // Settled by the bank: posted, and both faces see it.
    let status = s.settle(&s.faspay, "SNAP-1", "18").await;
    assert_eq!(status["responseCode"], "2003600", "{status}");
    assert_eq!(status["latestTransactionStatus"], "00", "{status}");
    assert_eq!(status["originalReferenceNo"], reference.as_str());
    assert_eq!(amount_minor(&status["amount"]), 1_000_000);
    assert_eq!(
        fields(&status),
        [
            "additionalInfo",
            "amount",
            "beneficiaryAccountNo",
            "beneficiaryBankCode",
            "latestTransactionStatus",
            "originalPartnerReferenceNo",
            "originalReferenceNo",
            "referenceNumber",
            "responseCode",
            "responseMessage",
            "serviceCode",
            "sourceAccountNo",
            "transactionDate",
            "transactionStatusDesc"
        ],
        "§7.1.3"
    );
    assert_eq!(
        fields(&status["additionalInfo"]),
        [
            "beneficiaryAccountName",
            "beneficiaryBankName",
            "callbackUrl",
            "transactionDescription",
            "transactionStatusDate"
        ]
    );
    s.settle(&s.standard, "SNAP-2", "18").await;
    let spent = 1_000_000 + 250_050;
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - spent, FUNDING_MINOR - spent)
    );

    // SendMe v1's mutasi shows both SNAP transfers.
    let today = jakarta_date(gateway_now(&s.api).await);
    let mutasi = s
        .sendme
        .query(
            Style::Java,
            Query::Mutasi,
            &[("start_date", &today), ("end_date", &today)],
        )
        .await;
    let lines: Vec<(String, String)> = mutasi["data"]
        .as_array()
        .expect("mutasi data")
        .iter()
        .map(|l| {
            (
                l["transaction_type"].as_str().unwrap().to_string(),
                l["transaction_amount"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for expected in [("D", "10000.00"), ("D", "2500.50"), ("K", "1000000.00")] {
        assert!(
            lines.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} missing from mutasi: {mutasi}"
        );
    }
    // And SNAP's history shows SendMe's top-up beside them; its balance agrees.
    let now = gateway_now(&s.api).await;
    let history = s
        .faspay
        .call(
            "/transaction-history-list",
            &json!({
                "fromDateTime": crate::client::jakarta(now - time::Duration::hours(1)),
                "toDateTime": crate::client::jakarta(now + time::Duration::hours(1)),
                "additionalInfo": {"accountNo": VA}
            }),
        )
        .await;
    let detail = history.expect("2001200")["detailData"]
        .as_array()
        .unwrap()
        .clone();
    for line in &detail {
        assert_eq!(fields(&line["additionalInfo"]), ["debitCredit"], "§7.1.5");
    }
    let mut kinds: Vec<(&str, i64)> = detail
        .iter()
        .map(|l| (l["type"].as_str().unwrap(), amount_minor(&l["amount"])))
        .collect();
    // The two transfers settle in the same moment, in either order.
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            ("CREDIT", FUNDING_MINOR),
            ("DEBIT", 250_050),
            ("DEBIT", 1_000_000)
        ],
        "{}",
        history.body
    );
    // Paged, two lines at a time (numbers or digit texts): the same lines in
    // the same order, then an empty page.
    let window = |size: serde_json::Value, number: serde_json::Value| {
        json!({
            "fromDateTime": crate::client::jakarta(now - time::Duration::hours(1)),
            "toDateTime": crate::client::jakarta(now + time::Duration::hours(1)),
            "pageSize": size,
            "pageNumber": number,
            "additionalInfo": {"accountNo": VA}
        })
    };
    let mut paged = Vec::new();
    for (number, expected) in [(json!(1), 2), (json!("2"), 1), (json!(3), 0)] {
        let page = s
            .faspay
            .call("/transaction-history-list", &window(json!(2), number))
            .await;
        let lines = page.expect("2001200")["detailData"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(lines.len(), expected, "{}", page.body);
        paged.extend(lines);
    }
    assert_eq!(paged, detail, "the pages make up the whole list");
    for (size, number, field) in [
        (json!(0), json!(1), "pageSize"),
        (json!(2), json!(0), "pageNumber"),
        (json!("abc"), json!(1), "pageSize"),
    ] {
        let reply = s
            .faspay
            .call("/transaction-history-list", &window(size, number))
            .await;
        reply.expect("4001201");
        assert_eq!(reply.message(), format!("Invalid Field Format [{field}]"));
    }
    let balance = s
        .faspay
        .call("/balance-inquiry", &json!({"accountNo": VA}))
        .await;
    let answer = balance.expect("2001100");
    assert_eq!(
        fields(answer),
        [
            "accountInfos",
            "accountNo",
            "responseCode",
            "responseMessage"
        ],
        "§7.1.4"
    );
    let info = &answer["accountInfos"][0];
    assert_eq!(
        fields(info),
        ["amount", "availableBalance", "balanceType", "status"]
    );
    assert_eq!(
        amount_minor(&info["availableBalance"]),
        FUNDING_MINOR - spent
    );
    let (sendme_balance, _) = s.sendme.balance().await;
    assert_eq!(minor(&sendme_balance), FUNDING_MINOR - spent);

    // The notice: the final state, signed with the gateway's key over the
    // `/v1.0/…` form of the receiver's path.
    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    let notice = &got[0];
    assert_eq!(notice.path, "/partner/v1.0/transfer/notify");
    let sent: serde_json::Value = notice.json();
    assert_eq!(sent["originalPartnerReferenceNo"], "SNAP-1");
    assert_eq!(sent["latestTransactionStatus"], "00");
    assert_eq!(sent["serviceCode"], "18");
    assert_eq!(notice.header("X-PARTNER-ID"), Some(fixture::ASYMMETRIC_ID));
    assert!(notice
        .header("X-EXTERNAL-ID")
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())));
    let timestamp = notice.header("X-TIMESTAMP").expect("X-TIMESTAMP");
    let signature = notice.header("X-SIGNATURE").expect("X-SIGNATURE");
    let gateway_key = s
        .app()
        .signing_keys
        .current(&s.app().store, s.app().now())
        .await
        .unwrap();
    let string = format!(
        "POST:/v1.0/transfer/notify:{}:{timestamp}",
        body_hash(&minify(&notice.body))
    );
    assert!(
        rsa_verifies(gateway_key.public_pem(), &string, signature),
        "the notice's signature checks with the gateway's public key"
    );
    assert!(!rsa_verifies(
        gateway_key.public_pem(),
        &string.replace("POST", "GET"),
        signature
    ));
    assert_ledger_clean(&s.api).await;
    s.stop().await;
}

async fn duplicates_and_replays_move_nothing(db: TestDatabase) {
    let s = fixture::start(db).await;
    let body = s.transfer("DUP-1", "100.00", "1234567890").await;
    s.faspay
        .call_as("/transfer-interbank", &body, Wire::Compact)
        .await
        .expect("2001800");
    // The same reference and content again: 409xx01; other content: 404xx18.
    let again = s.faspay.call("/transfer-interbank", &body).await;
    again.expect("4091801");
    assert_eq!(
        again.message(),
        "Duplicate partnerReferenceNo [partnerReferenceNo]"
    );
    let mut other = body.clone();
    other["amount"]["value"] = "200.00".into();
    let reply = s.faspay.call("/transfer-interbank", &other).await;
    reply.expect("4041818");
    assert_eq!(reply.message(), "Inconsistent Request [partnerReferenceNo]");
    // The same X-EXTERNAL-ID twice in a day: 409xx00, whatever the body.
    let fresh = s.transfer("DUP-2", "100.00", "1234567890").await;
    let path = "/account/v1.0/transfer-interbank";
    let headers = s.faspay.signed_headers(path, &fresh).await;
    s.faspay
        .send(path, &headers, fresh.to_string())
        .await
        .expect("2001800");
    let replay = s.faspay.send(path, &headers, fresh.to_string()).await;
    replay.expect("4091800");
    assert_eq!(replay.message(), "Conflict");
    // Even with a body that would be refused for its form: the replay check
    // comes first (§8). The signature does not cover X-EXTERNAL-ID.
    let used = |h: &[(String, String)]| {
        h.iter()
            .find(|(n, _)| n == "X-EXTERNAL-ID")
            .map(|(_, v)| v.clone())
            .expect("X-EXTERNAL-ID")
    };
    let with_id = |mut h: Vec<(String, String)>, id: &str| {
        for (n, v) in h.iter_mut() {
            if n == "X-EXTERNAL-ID" {
                *v = id.to_string();
            }
        }
        h
    };
    let mut broken = s.transfer("DUP-3", "100.00", "1234567890").await;
    broken["amount"]["value"] = "seratus".into();
    let reused = with_id(
        s.faspay.signed_headers(path, &broken).await,
        &used(&headers),
    );
    s.faspay
        .send(path, &reused, broken.to_string())
        .await
        .expect("4091800");
    // Nor with a body that is no JSON at all.
    let not_json = "partnerReferenceNo=DUP-4";
    let reused = with_id(
        s.faspay.signed_text_headers(path, not_json).await,
        &used(&headers),
    );
    s.faspay
        .send(path, &reused, not_json.to_string())
        .await
        .expect("4091800");
    // A request refused for its body used nothing up: fixed, it goes through
    // with the same X-EXTERNAL-ID.
    let refused_headers = s.faspay.signed_headers(path, &broken).await;
    s.faspay
        .send(path, &refused_headers, broken.to_string())
        .await
        .expect("4001801");
    let fixed = s.transfer("DUP-3", "100.00", "1234567890").await;
    let retried = with_id(
        s.faspay.signed_headers(path, &fixed).await,
        &used(&refused_headers),
    );
    s.faspay
        .send(path, &retried, fixed.to_string())
        .await
        .expect("2001800");
    // Only the three transfers taken are held.
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR - 30_000));
    s.stop().await;
}

async fn topup_and_va_payment_settle(db: TestDatabase) {
    let s = fixture::start(db).await;
    let topup = json!({
        "partnerReferenceNo": "TOP-1",
        "customerNumber": "081234567890",
        "customerName": "Budi",
        "amount": {"value": "50000.00", "currency": "IDR"},
        "transactionDate": s.faspay.timestamp().await,
        "additionalInfo": {
            "sourceAccount": VA,
            "platformCode": "gpy",
            "instructDate": "",
            "beneficiaryEmail": "",
            "transactionDescription": "cash in",
            "callbackUrl": ""
        }
    });
    // Above the limit is told after the wallet's code is known good.
    let mut huge = topup.clone();
    huge["amount"]["value"] = "1000000000000.01".into();
    let mut huge_unknown = huge.clone();
    huge_unknown["additionalInfo"]["platformCode"] = "xyz".into();
    for (body, code) in [(huge_unknown, "4003801"), (huge, "4033802")] {
        s.faspay.call("/emoney/topup", &body).await.expect(code);
    }
    let reply = s.faspay.call("/emoney/topup", &topup).await;
    let answer = reply.expect("2003800");
    assert_eq!(answer["customerNumber"], "081234567890");
    assert_eq!(answer["additionalInfo"]["platformCode"], "gpy");
    assert_eq!(answer["additionalInfo"]["latestTransactionStatus"], "03");
    let status = s.settle(&s.faspay, "TOP-1", "38").await;
    assert_eq!(status["responseCode"], "2003900", "{status}");
    assert_eq!(status["latestTransactionStatus"], "00", "{status}");
    assert_eq!(status["additionalInfo"]["platformName"], "GOPAY");
    assert_eq!(
        fields(&status),
        [
            "additionalInfo",
            "amount",
            "latestTransactionStatus",
            "originalPartnerReferenceNo",
            "originalReferenceNo",
            "responseCode",
            "responseMessage",
            "serviceCode",
            "transactionStatusDesc"
        ],
        "§7.1.7"
    );
    assert_eq!(
        fields(&status["additionalInfo"]),
        [
            "callbackUrl",
            "customerName",
            "customerNumber",
            "platformCode",
            "platformName",
            "sourceAccount",
            "transactionDate",
            "transactionDescription",
            "transactionStatusDate"
        ]
    );
    // A top-up is not a transfer: the transfer status does not find it.
    s.faspay
        .call(
            "/transfer/status",
            &json!({"originalPartnerReferenceNo": "TOP-1", "serviceCode": "18"}),
        )
        .await
        .expect("4043601");

    let va = json!({
        "partnerReferenceNo": "VA-1",
        "partnerServiceId": "    7008",
        "customerNo": "08000047816",
        "virtualAccountNo": "    700808000047816",
        "additionalInfo": {"billerCode": "013", "sourceAccount": VA}
    });
    let inquiry = s.faspay.call("/transfer-va/inquiry-intrabank", &va).await;
    let data = &inquiry.expect("2003200")["virtualAccountData"];
    // Echoed as sent: still `partnerServiceId` + `customerNo` (spec §6.3).
    assert_eq!(data["virtualAccountNo"], "    700808000047816");
    assert_eq!(
        format!(
            "{}{}",
            data["partnerServiceId"].as_str().unwrap(),
            data["customerNo"].as_str().unwrap()
        ),
        data["virtualAccountNo"]
    );
    assert_eq!(data["virtualAccountName"], "ACCOUNT HOLDER 7816");
    let payment = json!({
        "partnerReferenceNo": "VA-1",
        "partnerServiceId": "    7008",
        "customerNo": "08000047816",
        "virtualAccountNo": "    700808000047816",
        "virtualAccountName": "ACCOUNT HOLDER 7816",
        "sourceAccount": VA,
        "paidAmount": {"value": "15000.00", "currency": "IDR"},
        "trxDateTime": s.faspay.timestamp().await,
        "additionalInfo": {"billerCode": "013", "instructDate": "", "callbackUrl": ""}
    });
    let paid = s
        .faspay
        .call("/transfer-va/payment-intrabank", &payment)
        .await;
    let answer = paid.expect("2003300");
    let data = &answer["virtualAccountData"];
    assert_eq!(data["paidAmount"]["value"], "15000.00");
    assert_eq!(
        fields(&answer["additionalInfo"]),
        [
            "billerCode",
            "callbackUrl",
            "instructDate",
            "message",
            "status"
        ],
        "§7.1.9"
    );
    let status = s.settle(&s.faspay, "VA-1", "33").await;
    assert_eq!(status["latestTransactionStatus"], "00", "{status}");
    let spent = 5_000_000 + 1_500_000;
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - spent, FUNDING_MINOR - spent)
    );
    // A payment without its time: the answer gives the time the gateway took it,
    // as SNAP writes times, never an empty text.
    let mut untimed = payment.clone();
    untimed["partnerReferenceNo"] = "VA-2".into();
    untimed.as_object_mut().unwrap().remove("trxDateTime");
    let reply = s
        .faspay
        .call("/transfer-va/payment-intrabank", &untimed)
        .await;
    let answer = reply.expect("2003300");
    let at = answer["virtualAccountData"]["trxDateTime"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        at.len() == 25 && at.ends_with("+07:00") && at.as_bytes()[10] == b'T',
        "{at}"
    );
    s.stop().await;
}

async fn transfers_wait_for_approval_as_sendme_ones_do(db: TestDatabase) {
    let s = fixture::start_requiring_approval(db).await;
    let body = s.transfer("APR-1", "100.00", "1234567890").await;
    let reply = s.faspay.call("/transfer-interbank", &body).await;
    let answer = reply.expect("2001800");
    assert_eq!(answer["additionalInfo"]["latestTransactionStatus"], "01");
    assert_eq!(
        answer["additionalInfo"]["transactionStatusDesc"],
        "Initiated"
    );
    // Held, and nothing goes out before approval.
    s.advance_clock(fixture::LATENCY + 1).await;
    let status = s
        .faspay
        .call(
            "/transfer/status",
            &json!({"originalPartnerReferenceNo": "APR-1", "serviceCode": "18"}),
        )
        .await;
    assert_eq!(status.expect("2003600")["latestTransactionStatus"], "01");
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR - 10_000));
    // Approved (as `gerbang payout approve --snap-partner` does), it goes out.
    let id = answer["referenceNo"].as_str().unwrap().to_string();
    let requester = gerbang_core::payout::Requester {
        face: gerbang_core::payout::Face::Snap,
        principal: fixture::ASYMMETRIC_ID.into(),
    };
    gerbang_app::payout::approval::approve(s.app(), &requester, &[id])
        .await
        .expect("approved");
    let status = s.settle(&s.faspay, "APR-1", "18").await;
    assert_eq!(status["latestTransactionStatus"], "00", "{status}");
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - 10_000, FUNDING_MINOR - 10_000)
    );
    s.stop().await;
}

/// The names of an answer's fields (of the object at `value`), sorted: clients
/// with strict models (the Java SDK's Jackson classes) refuse any other.
fn fields(value: &serde_json::Value) -> Vec<&str> {
    let mut names: Vec<&str> = value
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    names.sort_unstable();
    names
}
