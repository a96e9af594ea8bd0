//! What happens after a transfer is accepted: the simulated bank answers after
//! its latency (the sandbox clock is moved, never waited for), `inquiry_status`
//! follows, the partner gets a signed callback, the balance and the statement
//! (`mutasi`) show it, and the ledger stays clean. One scenario per bank magic
//! value, scheduled transfers, and unknown transactions.

use crate::client::*;
use crate::common::*;
use crate::fixture::{
    self, assert_ledger_clean, callback_for, callbacks_for, Beneficiary, Sandbox, FUNDING_MINOR,
    LATENCY, VA,
};
use serde_json::{json, Value};
use time::macros::format_description;
use time::PrimitiveDateTime;

/// Parses mutasi's `dd/mm/YYYY HH:MM:SS`.
#[track_caller]
fn parse_mutasi(text: &str) -> PrimitiveDateTime {
    PrimitiveDateTime::parse(
        text,
        format_description!("[day]/[month]/[year] [hour]:[minute]:[second]"),
    )
    .unwrap_or_else(|e| panic!("{text:?} is not dd/mm/YYYY HH:MM:SS: {e}"))
}

#[track_caller]
fn assert_close(a: PrimitiveDateTime, b: PrimitiveDateTime, what: &str) {
    let gap = (a - b).whole_seconds().abs();
    assert!(gap <= 5, "{what}: {a} and {b} are {gap} s apart");
}

/// The gateway's clock as Jakarta wall-clock time.
async fn wib_now(s: &Sandbox) -> PrimitiveDateTime {
    parse_wib(&jakarta(gateway_now(&s.api).await))
}

/// Sends a transfer and checks it was accepted; returns its trx_id.
async fn send(s: &Sandbox, body: &Body) -> String {
    let answer = s.client.post(TRANSFER, body).await;
    assert_eq!(answer["status"], "1", "{answer}");
    answer["trx_id"]
        .as_u64()
        .unwrap_or_else(|| panic!("trx_id is not a number: {answer}"))
        .to_string()
}

/// Checks a final callback against the transfer and its final status.
#[track_caller]
fn assert_callback(callback: &Value, body: &Body, to: &Beneficiary, trx_id: &str, status: &Value) {
    assert_eq!(callback["trx_status"], status["status"], "{callback}");
    assert_eq!(
        callback["trx_id"].to_string().trim_matches('"'),
        trx_id,
        "{callback}"
    );
    assert_eq!(callback["trx_no"], body.get("trx_no").unwrap().clone());
    assert_eq!(callback["virtual_account"], VA);
    assert_eq!(callback["va_name"], fixture::PARTNER_NAME);
    assert_eq!(
        callback["beneficiary_virtual_account"],
        to.virtual_account.as_str()
    );
    assert_eq!(callback["beneficiary_account"], to.account.as_str());
    assert_eq!(callback["beneficiary_name"], to.name.as_str());
    assert_eq!(
        callback["trx_amount"].to_string().trim_matches('"'),
        body.text("trx_amount"),
        "{callback}"
    );
    assert_eq!(callback["trx_date"], body.get("trx_date").unwrap().clone());
    assert_eq!(callback["trx_status_date"], status["trx_status_date"]);
    assert_eq!(callback["trx_reff"], status["trx_reff"]);
    assert_eq!(callback["bank_code"], to.bank_code.as_str());
    assert_eq!(callback["bank_name"], "BANK BCA");
    assert!(callback.get("bank_response_code").is_some(), "{callback}");
    assert!(callback["bank_response_msg"].is_string(), "{callback}");
}

/// Checks a final `inquiry_status` answer.
#[track_caller]
fn assert_final_status(answer: &Value, status: &str, trx_id: &str, now: PrimitiveDateTime) {
    assert_eq!(answer["status"], status, "{answer}");
    assert_eq!(answer["response_code"], "00", "{answer}");
    assert_eq!(
        answer["trx_id"].as_u64().map(|i| i.to_string()).as_deref(),
        Some(trx_id)
    );
    let date = answer["trx_status_date"].as_str().expect("trx_status_date");
    assert_close(parse_wib(date), now, "trx_status_date in Jakarta time");
    assert!(
        answer["bank_response_code"].is_number(),
        "bank_response_code: {answer}"
    );
    assert!(answer["bank_response_msg"].is_string(), "{answer}");
}

async fn transfer_succeeds_after_the_bank_latency(db: TestDatabase) {
    let s = fixture::start(db).await;
    let funded_at = wib_now(&s).await;
    let funded_on = jakarta_date(gateway_now(&s.api).await);
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let b = s.beneficiary("10000006", "PT. Florist Lentera Abadi").await;
    let body = s
        .transfer_body(&b, "87643666", 2_500_000, &receiver.url())
        .await
        .with("trx_desc", "Transfer");
    let accepted = s.client.post(TRANSFER, &body).await;
    assert_eq!(accepted["status"], "1", "{accepted}");
    let id = accepted["trx_id"].as_u64().expect("trx_id").to_string();

    // On process, in every style, by trx_no and by trx_no and trx_id.
    for style in STYLES {
        for values in [
            vec![("trx_no", "87643666")],
            vec![("trx_no", "87643666"), ("trx_id", id.as_str())],
        ] {
            let answer = s.client.query(style, Query::InquiryStatus, &values).await;
            assert_eq!(answer["status"], "1", "{style:?}: {answer}");
            assert_eq!(answer["response_code"], "00", "{answer}");
            assert_eq!(answer["trx_id"], accepted["trx_id"], "{answer}");
            assert_eq!(answer["trx_no"], "87643666", "{answer}");
            assert_eq!(answer["trx_amount"], json!(2_500_000), "{answer}");
            assert_eq!(answer["trx_desc"], "Transfer", "{answer}");
            assert_eq!(answer["trx_reff"], accepted["trx_reff"], "{answer}");
            assert_eq!(answer["trx_date"], body.get("trx_date").unwrap().clone());
            assert_eq!(answer["virtual_account"], VA);
            assert_eq!(
                answer["beneficiary_virtual_account"],
                b.virtual_account.as_str()
            );
            assert_eq!(answer["beneficiary_account"], "10000006");
            assert_eq!(answer["beneficiary_bank_code"], "014");
            assert_eq!(answer["beneficiary_bank_name"], "BANK BCA");
            assert_eq!(answer["callback_url"], receiver.url().as_str());
            assert_eq!(answer["trx_status_date"], "", "not final yet: {answer}");
        }
    }
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR, FUNDING_MINOR - 2_500_000)
    );

    // The bank answers once its latency has passed on the sandbox clock.
    s.advance_clock(LATENCY + 1).await;
    let done = s.wait_status("87643666", "2").await;
    let now = wib_now(&s).await;
    assert_final_status(&done, "2", &id, now);
    assert_eq!(done["trx_reff"], accepted["trx_reff"]);
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - 2_500_000, FUNDING_MINOR - 2_500_000)
    );

    // The partner is told, once, with a signature it can check.
    let callback = callback_for(&s.client, &receiver, "87643666").await;
    assert_callback(&callback, &body, &b, &id, &done);
    assert_eq!(callback["trx_status"], "2");
    let raw = receiver.received()[0].body.clone();
    let forged = raw.replacen(
        "\"trx_amount\":\"2500000\"",
        "\"trx_amount\":\"9500000\"",
        1,
    );
    assert_ne!(
        forged, raw,
        "the raw callback carries trx_amount as sent: {raw}"
    );
    assert!(s.client.creds.verify_callback(&forged).is_err());
    assert!(s.other.creds.verify_callback(&raw).is_err());

    // The statement: the top-up as a credit, the transfer as a debit.
    let today = jakarta_date(gateway_now(&s.api).await);
    let statement = s
        .client
        .query(
            Style::Php,
            Query::Mutasi,
            &[("start_date", &funded_on), ("end_date", &today)],
        )
        .await;
    assert_success(&statement);
    let data = statement["data"].as_array().expect("data");
    assert_eq!(data.len(), 2, "{statement}");
    assert_eq!(data[0]["transaction_type"], "K", "{statement}");
    assert_eq!(data[0]["transaction_name"], "topup");
    assert_eq!(
        data[0]["transaction_amount"],
        fixture::rupiah(FUNDING_MINOR)
    );
    assert_eq!(data[1]["transaction_type"], "D", "{statement}");
    assert_eq!(data[1]["transaction_name"], "transfer");
    assert_eq!(data[1]["transaction_amount"], "25000.00");
    assert!(data[1]["transaction_desc"].is_string());
    let debit_at = parse_mutasi(data[1]["transaction_date"].as_str().unwrap());
    assert_close(
        debit_at,
        parse_wib(done["trx_status_date"].as_str().unwrap()),
        "the debit's date",
    );
    assert_close(
        parse_mutasi(data[0]["transaction_date"].as_str().unwrap()),
        funded_at,
        "the top-up's date",
    );
    // A day without movements is empty.
    let tomorrow = jakarta_date(gateway_now(&s.api).await + time::Duration::days(1));
    let empty = s
        .client
        .query(
            Style::Java,
            Query::Mutasi,
            &[("start_date", &tomorrow), ("end_date", &tomorrow)],
        )
        .await;
    assert_success(&empty);
    assert_eq!(empty["data"], json!([]), "{empty}");

    assert_ledger_clean(&s.api).await;

    // The partner retries the request (its first answer was lost): the same
    // transaction, with its status as it is now, and no second debit.
    let retry = s.client.post(TRANSFER, &body).await;
    assert_eq!(retry["trx_id"], accepted["trx_id"], "{retry}");
    assert_eq!(
        retry["status"], "2",
        "the retry reports the final status: {retry}"
    );
    assert_eq!(retry["response_code"], "00", "{retry}");
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - 2_500_000, FUNDING_MINOR - 2_500_000)
    );
    assert_ledger_clean(&s.api).await;
    // Nothing more happens: still one callback after the notifier has had time.
    s.advance_clock(LATENCY + 1).await;
    let status = s.client.status("87643666", Some(&id)).await;
    assert_eq!(status["status"], "2");
    assert_eq!(callbacks_for(&s.client, &receiver, "87643666").len(), 1);
    s.stop().await;
}

/// An ordinary beneficiary for control transfers.
async fn control_beneficiary(s: &Sandbox) -> Beneficiary {
    s.beneficiary("20000008", "Control Account").await
}

/// A transfer to an ordinary account sent alongside: once it has settled, the
/// bank has answered everything that fell due with it.
async fn control_transfer(s: &Sandbox, receiver: &Receiver, to: &Beneficiary, trx_no: &str) {
    let body = s.transfer_body(to, trx_no, 100_000, &receiver.url()).await;
    send(s, &body).await;
}

async fn rejected_transfer_releases_the_funds(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let b = s.beneficiary("1234569904", "Rejected Holder").await;
    let body = s
        .transfer_body(&b, "MAGIC-9904", 3_000_000, &receiver.url())
        .await;
    let id = send(&s, &body).await;
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR, FUNDING_MINOR - 3_000_000)
    );

    s.advance_clock(LATENCY + 1).await;
    let done = s.wait_status("MAGIC-9904", "4").await;
    assert_final_status(&done, "4", &id, wib_now(&s).await);
    let callback = callback_for(&s.client, &receiver, "MAGIC-9904").await;
    assert_callback(&callback, &body, &b, &id, &done);
    assert_eq!(callback["trx_status"], "4");
    // Released: both balances as before.
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR));
    assert_ledger_clean(&s.api).await;
    // A retry of the request reports the failure and holds nothing again.
    let retry = s.client.post(TRANSFER, &body).await;
    assert_eq!(retry["trx_id"].as_u64().map(|i| i.to_string()), Some(id));
    assert_eq!(
        retry["status"], "4",
        "the retry reports the final status: {retry}"
    );
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR));
    assert_ledger_clean(&s.api).await;
    s.stop().await;
}

async fn pending_transfer_succeeds_an_hour_later(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let b = s.beneficiary("1234569905", "Pending Holder").await;
    let body = s
        .transfer_body(&b, "MAGIC-9905", 3_000_000, &receiver.url())
        .await;
    let id = send(&s, &body).await;
    let control = control_beneficiary(&s).await;
    control_transfer(&s, &receiver, &control, "CONTROL-1").await;

    s.advance_clock(LATENCY + 1).await;
    s.wait_status("CONTROL-1", "2").await;
    // The bank has it but has not answered: still on process, still held.
    let pending = s.wait_pending("MAGIC-9905").await;
    assert_eq!(pending["trx_status_date"], "", "{pending}");
    assert!(callbacks_for(&s.client, &receiver, "MAGIC-9905").is_empty());
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - 100_000, FUNDING_MINOR - 3_100_000)
    );

    // An hour later it succeeds.
    s.advance_clock(3600).await;
    let done = s.wait_status("MAGIC-9905", "2").await;
    assert_final_status(&done, "2", &id, wib_now(&s).await);
    let callback = callback_for(&s.client, &receiver, "MAGIC-9905").await;
    assert_callback(&callback, &body, &b, &id, &done);
    assert_eq!(callback["trx_status"], "2");
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - 3_100_000, FUNDING_MINOR - 3_100_000)
    );
    assert_ledger_clean(&s.api).await;
    s.stop().await;
}

async fn accepted_transfer_fails_later(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let b = s.beneficiary("1234569906", "Late Failure").await;
    let body = s
        .transfer_body(&b, "MAGIC-9906", 3_000_000, &receiver.url())
        .await;
    let id = send(&s, &body).await;
    let control = control_beneficiary(&s).await;
    control_transfer(&s, &receiver, &control, "CONTROL-1").await;

    s.advance_clock(LATENCY + 1).await;
    s.wait_status("CONTROL-1", "2").await;
    s.wait_pending("MAGIC-9906").await;
    assert!(callbacks_for(&s.client, &receiver, "MAGIC-9906").is_empty());
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - 100_000, FUNDING_MINOR - 3_100_000)
    );

    // Then it fails, and the money comes back.
    s.advance_clock(gerbang_channels::bank::simulator::LATE_FAILURE_SECONDS + 1)
        .await;
    let done = s.wait_status("MAGIC-9906", "4").await;
    assert_final_status(&done, "4", &id, wib_now(&s).await);
    let callback = callback_for(&s.client, &receiver, "MAGIC-9906").await;
    assert_callback(&callback, &body, &b, &id, &done);
    assert_eq!(callback["trx_status"], "4");
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - 100_000, FUNDING_MINOR - 100_000)
    );
    assert_ledger_clean(&s.api).await;
    s.stop().await;
}

async fn instructed_transfer_waits_for_its_date(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let b = s.beneficiary("30000003", "Scheduled Holder").await;
    let instruct = s.jakarta_in(2 * 3600).await;
    let body = s
        .transfer_body(&b, "LATER-1", 1_500_000, &receiver.url())
        .await
        .with("instruct_date", instruct.as_str());
    let id = send(&s, &body).await;
    let control = control_beneficiary(&s).await;
    control_transfer(&s, &receiver, &control, "CONTROL-1").await;
    // Held at once.
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR, FUNDING_MINOR - 1_600_000)
    );

    // The latency passes: the control settles, the scheduled one does not move.
    s.advance_clock(LATENCY + 1).await;
    s.wait_status("CONTROL-1", "2").await;
    callback_for(&s.client, &receiver, "CONTROL-1").await;
    let waiting = s.client.status("LATER-1", Some(&id)).await;
    assert_eq!(waiting["status"], "1", "{waiting}");
    assert_eq!(waiting["trx_status_date"], "", "{waiting}");
    assert_eq!(
        waiting["bank_response_msg"], "",
        "not at the bank yet: {waiting}"
    );

    // Almost there (a control sent now settles before the instructed time): still
    // waiting.
    s.advance_clock(2 * 3600 - 3 * LATENCY).await;
    control_transfer(&s, &receiver, &control, "CONTROL-2").await;
    s.advance_clock(LATENCY + 1).await;
    s.wait_status("CONTROL-2", "2").await;
    assert_eq!(s.client.status("LATER-1", None).await["status"], "1");
    assert!(callbacks_for(&s.client, &receiver, "LATER-1").is_empty());

    // Past the instructed time (and the latency): processed.
    s.advance_clock(2 * LATENCY).await;
    let done = s.wait_status("LATER-1", "2").await;
    assert_final_status(&done, "2", &id, wib_now(&s).await);
    let callback = callback_for(&s.client, &receiver, "LATER-1").await;
    assert_callback(&callback, &body, &b, &id, &done);
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - 1_700_000, FUNDING_MINOR - 1_700_000)
    );
    assert_ledger_clean(&s.api).await;
    s.stop().await;
}

async fn inquiry_status_of_unknown_transactions(db: TestDatabase) {
    let s = fixture::start(db).await;
    let b = s.beneficiary("10000006", "PT. Florist Lentera Abadi").await;
    let body = s
        .transfer_body(&b, "KNOWN-1", 100_000, "https://partner.example.com/cb")
        .await;
    let id = send(&s, &body).await;
    let wrong_id = if id.ends_with('1') {
        format!("{}2", &id[..id.len() - 1])
    } else {
        format!("{}1", &id[..id.len() - 1])
    };
    for style in STYLES {
        let answer = s
            .client
            .query(style, Query::InquiryStatus, &[("trx_no", "NEVER-SENT")])
            .await;
        assert_error(&answer, "Transaction not found");
        let answer = s
            .client
            .query(
                style,
                Query::InquiryStatus,
                &[("trx_no", "KNOWN-1"), ("trx_id", &wrong_id)],
            )
            .await;
        assert_error(&answer, "Transaction not found");
        let answer = s
            .client
            .query(
                style,
                Query::InquiryStatus,
                &[("trx_no", "KNOWN-1"), ("trx_id", &id)],
            )
            .await;
        assert_eq!(answer["status"], "1", "{style:?}: {answer}");
        // Another partner cannot see it.
        let answer = s
            .other
            .query(
                style,
                Query::InquiryStatus,
                &[("trx_no", "KNOWN-1"), ("trx_id", &id)],
            )
            .await;
        assert_error(&answer, "Transaction not found");
    }
    s.stop().await;
}

/// A scheduled date beyond the horizon (`[payout] max_schedule_ahead_seconds`,
/// 90 days by default) is refused and holds nothing; a transfer that has not been
/// sent can be cancelled (`/account/api/cancel`), which releases its funds at once
/// and tells the partner; a transfer that has been sent cannot.
async fn far_dates_are_refused_and_unsent_transfers_cancelled(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let b = s.beneficiary("30000003", "Scheduled Holder").await;
    for far in [
        "9999-12-31 23:59:59".to_string(),
        s.jakarta_in(91 * 86_400).await,
    ] {
        let body = s
            .transfer_body(&b, "FAR-1", 1_500_000, &receiver.url())
            .await
            .with("instruct_date", far.as_str());
        let answer = s.client.post(TRANSFER, &body).await;
        assert_eq!(assert_error(&answer, "Invalid Request body"), "00");
        assert!(
            answer["response_desc"]
                .as_str()
                .is_some_and(|d| d.contains("instruct_date: at most 90 days ahead")),
            "{answer}"
        );
    }
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR));

    let later = s.jakarta_in(2 * 86_400).await;
    let body = s
        .transfer_body(&b, "LATER-2", 1_500_000, &receiver.url())
        .await
        .with("instruct_date", later.as_str());
    let id = send(&s, &body).await;
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR, FUNDING_MINOR - 1_500_000)
    );
    let cancel = Body::new()
        .with("virtual_account", fixture::VA)
        .with("trx_no", "LATER-2");
    let answer = s.client.post(CANCEL, &cancel).await;
    assert_success(&answer);
    assert_eq!(answer["data"][0]["trx_id"].to_string(), id, "{answer}");
    assert_eq!(answer["data"][0]["trx_status"], "4", "{answer}");
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR));
    let status = s.client.status("LATER-2", None).await;
    assert_eq!(status["status"], "4", "{status}");
    assert_eq!(status["bank_response_msg"], "Cancelled before it was sent");
    let callback = callback_for(&s.client, &receiver, "LATER-2").await;
    assert_eq!(callback["trx_status"], "4", "{callback}");
    // Cancelled once is cancelled: again is refused, and the date passing sends nothing.
    let again = s.client.post(CANCEL, &cancel).await;
    assert_error(&again, "Invalid Request body");
    s.advance_clock(3 * 86_400).await;
    assert_eq!(s.client.status("LATER-2", None).await["status"], "4");

    // A transfer already at the bank cannot be cancelled.
    let body = s.transfer_body(&b, "NOW-1", 100_000, &receiver.url()).await;
    send(&s, &body).await;
    s.advance_clock(LATENCY + 1).await;
    s.wait_status("NOW-1", "2").await;
    let refused = s
        .client
        .post(
            CANCEL,
            &Body::new()
                .with("virtual_account", fixture::VA)
                .with("trx_no", "NOW-1"),
        )
        .await;
    assert_error(&refused, "Invalid Request body");
    assert!(
        refused["response_desc"]
            .as_str()
            .is_some_and(|d| d.contains("cannot be cancelled")),
        "{refused}"
    );
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - 100_000, FUNDING_MINOR - 100_000)
    );
    assert_ledger_clean(&s.api).await;
    s.stop().await;
}

on_both_backends!(
    far_dates_are_refused_and_unsent_transfers_cancelled,
    transfer_succeeds_after_the_bank_latency,
    rejected_transfer_releases_the_funds,
    pending_transfer_succeeds_an_hour_later,
    accepted_transfer_fails_later,
    instructed_transfer_waits_for_its_date,
    inquiry_status_of_unknown_transactions,
);
