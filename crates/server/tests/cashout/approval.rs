//! Cash-out for a partner whose transfers wait for approval: no code exists until
//! the transfer is approved (the approval answer and `inquiry_status` carry it);
//! a rejection releases the funds, calls back with status 4, and no code ever
//! exists.

use crate::client::*;
use crate::common::*;
use crate::fixture::{self, FUNDING_MINOR, VA};
use crate::h2h::{assert_code, H2h};
use crate::support::*;
use serde_json::Value;

/// The one line of an approve/reject answer.
#[track_caller]
fn only_line(answer: &Value) -> Value {
    assert_eq!(answer["status"], "2", "{answer}");
    assert_eq!(answer["response_code"], "00", "{answer}");
    let lines = answer["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data: {answer}"));
    assert_eq!(lines.len(), 1, "{answer}");
    lines[0].clone()
}

async fn approval_issues_the_code_and_rejection_releases_the_funds(db: TestDatabase) {
    let s = fixture::start_requiring_approval(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let url = receiver.url();
    let alfamart = H2h::sandbox(&s.api, "alfamart");

    // Waiting for approval: on process, funds held, no code yet.
    let body = store_body(&s, "alf", "ALF-10001", RP_100K, &url).await;
    let answer = s.client.post(TRANSFER, &body).await;
    assert_on_process(&answer);
    assert_eq!(
        answer["cashout_code"], "",
        "no code before approval: {answer}"
    );
    let trx_id = trx_id_of(&answer);
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR - RP_100K));
    let status = s.client.status("ALF-10001", None).await;
    assert_on_process(&status);
    assert_eq!(status["cashout_code"], "", "{status}");
    // There is nothing a store could inquire.
    assert_code(&alfamart.inquiry("ALF-10001-I0", "", PHONE).await, "14");

    // The retry of the transfer still has no code.
    let again = s.client.post(TRANSFER, &body).await;
    assert_on_process(&again);
    assert_eq!(again["cashout_code"], "", "{again}");

    // Approval issues it.
    let approved = s
        .client
        .post(APPROVE, &fixture::by_nos(&["ALF-10001"]))
        .await;
    let line = only_line(&approved);
    assert_eq!(line["trx_no"], "ALF-10001", "{approved}");
    assert_eq!(
        line["trx_id"].to_string().trim_matches('"'),
        trx_id,
        "{approved}"
    );
    assert_eq!(line["trx_status"], "1", "{approved}");
    let code = assert_code_digits(&line["cashout_code"]);
    assert!(
        line["trx_expired"].as_str().is_some_and(|t| !t.is_empty()),
        "{approved}"
    );
    let status = s.client.status("ALF-10001", None).await;
    assert_on_process(&status);
    assert_eq!(status["cashout_code"], code.as_str(), "{status}");
    let retried = s.client.post(TRANSFER, &body).await;
    assert_eq!(retried["cashout_code"], code.as_str(), "{retried}");

    // The code works.
    let inquiry = alfamart.inquiry("ALF-10001-I1", &code, PHONE).await;
    assert_code(&inquiry, "00");
    assert_eq!(inquiry["amount"], 100_000, "{inquiry}");
    let paid = alfamart
        .payment("ALF-10001-PAY", &code, PHONE, 100_000)
        .await;
    assert_code(&paid, "00");
    let issued = Issued {
        trx_no: "ALF-10001".into(),
        trx_id: trx_id.clone(),
        code,
        amount_minor: RP_100K,
        answer: answer.clone(),
    };
    let callback = wait_callback(&s, &receiver, "ALF-10001", "2").await;
    assert_callback(&callback, &issued, "2", "alf");
    s.wait_status("ALF-10001", "2").await;
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - RP_100K, FUNDING_MINOR - RP_100K)
    );

    // Another transfer, rejected: funds released at once, callback 4, no code.
    let body = store_body(&s, "alf", "ALF-10002", 5_000_000, &url).await;
    let answer = s.client.post(TRANSFER, &body).await;
    assert_on_process(&answer);
    assert_eq!(answer["cashout_code"], "", "{answer}");
    let rejected_id = trx_id_of(&answer);
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - RP_100K, FUNDING_MINOR - RP_100K - 5_000_000)
    );
    let rejected = s
        .client
        .post(REJECT, &fixture::by_nos(&["ALF-10002"]))
        .await;
    let line = only_line(&rejected);
    assert_eq!(line["trx_status"], "4", "{rejected}");
    assert!(
        line["cashout_code"].is_null() || line["cashout_code"] == "",
        "a rejected cash-out has no code: {rejected}"
    );
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - RP_100K, FUNDING_MINOR - RP_100K)
    );
    let rejected_issue = Issued {
        trx_no: "ALF-10002".into(),
        trx_id: rejected_id.clone(),
        code: String::new(),
        amount_minor: 5_000_000,
        answer: answer.clone(),
    };
    let callback = wait_callback(&s, &receiver, "ALF-10002", "4").await;
    assert_callback(&callback, &rejected_issue, "4", "alf");
    let status = s.wait_status("ALF-10002", "4").await;
    assert_eq!(status["cashout_code"], "", "{status}");

    assert_eq!(notified_statuses(&s.api, &trx_id).await, ["2"]);
    assert_eq!(notified_statuses(&s.api, &rejected_id).await, ["4"]);
    assert_ledger(&s.api, 0).await;
    s.stop().await;
}

/// A code's default life starts when approval issues it; a transfer whose own
/// `trx_expired` passed while it waited cannot be approved, and expires.
async fn a_code_lives_from_its_approval(db: TestDatabase) {
    let s = fixture::start_requiring_approval(db).await;
    let body = store_body(&s, "alf", "ALF-10101", RP_100K, "http://127.0.0.1:9/unused").await;
    let answer = s.client.post(TRANSFER, &body).await;
    assert_on_process(&answer);
    let waited = parse_wib(answer["trx_expired"].as_str().unwrap());
    // Approved 23 hours later: the code still gets its full 24 hours from now.
    s.advance_clock(23 * 3600).await;
    let approved = s
        .client
        .post(
            APPROVE,
            &Body::new()
                .with("virtual_account", VA)
                .with("trx_no", "ALF-10101"),
        )
        .await;
    let line = only_line(&approved);
    let code = assert_code_digits(&line["cashout_code"]);
    let expires = parse_wib(line["trx_expired"].as_str().unwrap());
    assert!(
        expires >= waited + time::Duration::hours(23),
        "the life starts at approval: {waited} then {expires}"
    );
    // Two more hours (past the first expiry) and the code still pays.
    s.advance_clock(2 * 3600).await;
    let alfamart = H2h::sandbox(&s.api, "alfamart");
    assert_code(
        &alfamart.payment("ALF-10101-P", &code, PHONE, 100_000).await,
        "00",
    );

    // A transfer with its own trx_expired an hour ahead, not approved in time.
    let late = store_body(&s, "alf", "ALF-10102", RP_100K, "http://127.0.0.1:9/unused")
        .await
        .with("trx_expired", s.jakarta_in(3600).await);
    assert_on_process(&s.client.post(TRANSFER, &late).await);
    s.advance_clock(3601).await;
    let refused = s
        .client
        .post(
            APPROVE,
            &Body::new()
                .with("virtual_account", VA)
                .with("trx_no", "ALF-10102"),
        )
        .await;
    assert_eq!(refused["status"], "9", "{refused}");
    let failed = s.wait_status("ALF-10102", "4").await;
    assert_eq!(failed["cashout_code"], "", "{failed}");
    assert_eq!(s.balances().await.1, FUNDING_MINOR - RP_100K);
    assert_ledger(&s.api, 0).await;
    s.stop().await;
}

/// A transfer with the default life waits for its approval however long that takes:
/// its life has not begun, so it does not expire while it waits.
async fn a_waiting_code_outlives_the_default_life(db: TestDatabase) {
    let s = fixture::start_requiring_approval(db).await;
    let body = store_body(&s, "alf", "ALF-10201", RP_100K, "http://127.0.0.1:9/unused").await;
    assert_on_process(&s.client.post(TRANSFER, &body).await);
    // Past the default 24 hours, still waiting.
    s.advance_clock(25 * 3600).await;
    let approved = s
        .client
        .post(APPROVE, &fixture::by_nos(&["ALF-10201"]))
        .await;
    let line = only_line(&approved);
    let code = assert_code_digits(&line["cashout_code"]);
    let alfamart = H2h::sandbox(&s.api, "alfamart");
    assert_code(
        &alfamart.payment("ALF-10201-P", &code, PHONE, 100_000).await,
        "00",
    );
    assert_eq!(s.wait_status("ALF-10201", "2").await["status"], "2");
    assert_ledger(&s.api, 0).await;
    s.stop().await;
}

on_both_backends!(
    approval_issues_the_code_and_rejection_releases_the_funds,
    a_code_lives_from_its_approval,
    a_waiting_code_outlives_the_default_life,
);
