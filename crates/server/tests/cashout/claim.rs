//! Claiming a code over the host-to-host API: inquiry, payment (the partner is
//! called back with status 2 and the hold is posted), advice (after which a
//! reversal is refused), a second claim of a paid code, a repeated payment, and
//! concurrent claims of one code.

use crate::client::parse_wib;
use crate::common::*;
use crate::fixture::{self, FUNDING_MINOR, VA};
use crate::h2h::{assert_code, H2h};
use crate::support::*;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Parses an RFC 3339 instant of the host-to-host API; it must carry Jakarta's
/// offset.
#[track_caller]
fn parse_instant(v: &Value) -> OffsetDateTime {
    let text = v
        .as_str()
        .unwrap_or_else(|| panic!("not an RFC 3339 string: {v}"));
    assert!(text.ends_with("+07:00"), "not in Jakarta time: {text}");
    OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|e| panic!("{text}: {e}"))
}

async fn a_claimed_code_is_paid_and_settled(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let issued = issue_alfamart(&s, "ALF-2001", RP_100K, &receiver.url()).await;
    let alfamart = H2h::sandbox(&s.api, "alfamart");

    // Inquiry: amount in whole rupiah, the beneficiary's name, the expiry.
    let inquiry = alfamart.inquiry("ALF-2001-INQ", &issued.code, PHONE).await;
    assert_code(&inquiry, "00");
    assert_eq!(inquiry["message"], "Approved", "{inquiry}");
    assert_eq!(inquiry["amount"], 100_000, "{inquiry}");
    assert_eq!(inquiry["currency"], "IDR", "{inquiry}");
    assert_eq!(inquiry["beneficiary_name"], NAME, "{inquiry}");
    assert_eq!(
        inquiry["trx_id"].to_string().trim_matches('"'),
        issued.trx_id,
        "{inquiry}"
    );
    // The same instant as the transfer's trx_expired (which has whole seconds).
    let expires_at = parse_instant(&inquiry["expires_at"]).to_offset(time::macros::offset!(+7));
    let trx_expired = parse_wib(issued.answer["trx_expired"].as_str().unwrap());
    assert_eq!(
        expires_at.replace_nanosecond(0).expect("whole seconds"),
        trx_expired.assume_offset(time::macros::offset!(+7)),
        "{inquiry}"
    );
    // An inquiry changes nothing: asked twice, answered twice.
    assert_code(
        &alfamart.inquiry("ALF-2001-INQ2", &issued.code, PHONE).await,
        "00",
    );
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR - RP_100K));

    // Payment: the code is claimed.
    let paid = alfamart
        .payment("ALF-2001-PAY", &issued.code, PHONE, 100_000)
        .await;
    assert_code(&paid, "00");
    assert_eq!(paid["message"], "Approved", "{paid}");
    assert_eq!(paid["reference"], "ALF-2001-PAY", "{paid}");
    assert_eq!(paid["amount"], 100_000, "{paid}");
    assert_eq!(
        paid["trx_id"].to_string().trim_matches('"'),
        issued.trx_id,
        "{paid}"
    );
    parse_instant(&paid["paid_at"]);

    // The partner is called back with status 2; inquiry_status says so too.
    let callback = wait_callback(&s, &receiver, "ALF-2001", "2").await;
    assert_callback(&callback, &issued, "2", "alf");
    let status = s.wait_status("ALF-2001", "2").await;
    assert_eq!(status["response_code"], "00", "{status}");

    // The money left for good: balance and available balance both lower, the
    // network's clearing account holds it.
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - RP_100K, FUNDING_MINOR - RP_100K)
    );
    let (lines, balance) = statement(&s.api, &clearing("alf")).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(balance, "100000.00");

    // The code is used: inquiry and payment refuse it.
    assert_code(
        &alfamart.inquiry("ALF-2001-INQ3", &issued.code, PHONE).await,
        "88",
    );

    // Advice settles it; again is harmless; a reversal after it is refused.
    let advice = alfamart.advice("ALF-2001-PAY").await;
    assert_code(&advice, "00");
    assert_eq!(advice["message"], "Settled", "{advice}");
    assert_code(&alfamart.advice("ALF-2001-PAY").await, "00");
    let reversal = alfamart.reversal("ALF-2001-PAY").await;
    assert_code(&reversal, "12");
    // An advice naming no payment.
    assert_code(&alfamart.advice("ALF-NEVER-PAID").await, "25");

    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - RP_100K, FUNDING_MINOR - RP_100K)
    );
    assert_eq!(s.wait_status("ALF-2001", "2").await["status"], "2");
    assert_eq!(notified_statuses(&s.api, &issued.trx_id).await, ["2"]);
    assert_ledger(&s.api, 0).await;
    s.stop().await;
}

async fn a_paid_code_cannot_be_paid_twice(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let issued = issue_alfamart(&s, "ALF-3001", RP_100K, &receiver.url()).await;
    let alfamart = H2h::sandbox(&s.api, "alfamart");

    let first = alfamart
        .payment("ALF-3001-A", &issued.code, PHONE, 100_000)
        .await;
    assert_code(&first, "00");
    assert_eq!(first["repeated"], false, "{first}");
    wait_callback(&s, &receiver, "ALF-3001", "2").await;
    let after = s.balances().await;
    assert_eq!(after, (FUNDING_MINOR - RP_100K, FUNDING_MINOR - RP_100K));

    // Another reference: the code is used.
    let second = alfamart
        .payment("ALF-3001-B", &issued.code, PHONE, 100_000)
        .await;
    assert_code(&second, "88");

    // The same reference and the same content: the first answer again.
    let repeated = alfamart
        .payment("ALF-3001-A", &issued.code, PHONE, 100_000)
        .await;
    assert_code(&repeated, "00");
    assert_eq!(repeated["repeated"], true, "{repeated}");
    assert_eq!(repeated["reference"], "ALF-3001-A", "{repeated}");
    assert_eq!(repeated["trx_id"], first["trx_id"], "{repeated}");
    assert_eq!(repeated["amount"], first["amount"], "{repeated}");
    assert_eq!(repeated["paid_at"], first["paid_at"], "{repeated}");

    // The same reference with other content is refused.
    let changed = alfamart
        .payment("ALF-3001-A", &issued.code, PHONE, 150_000)
        .await;
    assert_code(&changed, "94");

    // No second movement, no second callback.
    assert_eq!(s.balances().await, after);
    let (lines, balance) = statement(&s.api, &clearing("alf")).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(balance, "100000.00");
    let (partner_lines, _) = statement(&s.api, &format!("partner:{VA}")).await;
    let debits: Vec<&Value> = partner_lines
        .iter()
        .filter(|l| l["amount"].as_str().is_some_and(|a| a.starts_with('-')))
        .collect();
    assert_eq!(debits.len(), 1, "{partner_lines:?}");
    assert_eq!(debits[0]["amount"], "-100000.00", "{partner_lines:?}");
    assert_eq!(notified_statuses(&s.api, &issued.trx_id).await, ["2"]);
    assert_ledger(&s.api, 0).await;
    s.stop().await;
}

async fn concurrent_claims_of_one_code_pay_once(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let issued = issue_alfamart(&s, "ALF-4001", RP_100K, &receiver.url()).await;
    let alfamart = H2h::sandbox(&s.api, "alfamart");

    const CLAIMS: usize = 12;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(CLAIMS));
    let mut tasks = Vec::with_capacity(CLAIMS);
    for i in 0..CLAIMS {
        let client = alfamart.clone();
        let code = issued.code.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let body = H2h::payment_body(&format!("ALF-4001-{i:02}"), &code, PHONE, 100_000);
            barrier.wait().await;
            client.call("payment", &body).await
        }));
    }
    let mut answers = Vec::with_capacity(CLAIMS);
    for t in tasks {
        let reply = t.await.expect("claim task");
        let code = serde_json::from_str::<Value>(&reply.text)
            .ok()
            .and_then(|v| v["response_code"].as_str().map(String::from))
            .unwrap_or_default();
        answers.push((reply.status, code, reply.text));
    }

    wait_callback(&s, &receiver, "ALF-4001", "2").await;
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - RP_100K, FUNDING_MINOR - RP_100K)
    );
    let (lines, balance) = statement(&s.api, &clearing("alf")).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(balance, "100000.00");
    assert_eq!(notified_statuses(&s.api, &issued.trx_id).await, ["2"]);
    assert_ledger(&s.api, 0).await;

    // Exactly one claim won; every other one was told the code is used.
    let won = answers
        .iter()
        .filter(|(status, code, _)| *status == 200 && code == "00")
        .count();
    let used = answers
        .iter()
        .filter(|(status, code, _)| *status == 200 && code == "88")
        .count();
    assert_eq!(won, 1, "exactly one claim wins: {answers:?}");
    assert_eq!(
        used,
        CLAIMS - 1,
        "every other claim is refused with 88: {answers:?}"
    );
    s.stop().await;
}

on_both_backends!(
    a_claimed_code_is_paid_and_settled,
    a_paid_code_cannot_be_paid_twice,
    concurrent_claims_of_one_code_pay_once,
);
