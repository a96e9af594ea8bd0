//! Payout approval (a gerbang extension on the SendMe surface). A partner that
//! requires approval has its transfers held but not sent until it approves them
//! (`/account/api/approve`: they go to their bank as one batch, each line settled
//! and notified on its own) or rejects them (`/account/api/reject`: status 4, the
//! funds released at once, a callback). The other partner of the fixture needs no
//! approval; its transfers show that the scheduler ran.

use crate::client::*;
use crate::common::*;
use crate::fixture::{
    self, assert_ledger_clean, by_nos, callback_for, callbacks_for, wait_status_of, Beneficiary,
    Sandbox, FUNDING_MINOR, LATENCY, OTHER_VA, VA,
};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// A trx_id no transfer has.
const UNKNOWN_ID: u64 = 1_234_567_890_123_456;

/// Sends a transfer and checks it is on process; returns its trx_id.
async fn send(client: &Client, body: &Body) -> u64 {
    let answer = client.post(TRANSFER, body).await;
    assert_eq!(answer["status"], "1", "{answer}");
    assert_eq!(answer["response_code"], "00", "{answer}");
    answer["trx_id"]
        .as_u64()
        .unwrap_or_else(|| panic!("trx_id is not a number: {answer}"))
}

/// Asserts `trx_no` is on process and has not been to the bank.
async fn assert_not_sent(client: &Client, trx_no: &str, trx_id: u64) {
    let id = trx_id.to_string();
    let status = client.status(trx_no, Some(&id)).await;
    assert_eq!(status["status"], "1", "{status}");
    assert_eq!(status["response_code"], "00", "{status}");
    assert_eq!(status["trx_id"], json!(trx_id), "{status}");
    assert_eq!(status["trx_status_date"], "", "{status}");
    assert_eq!(status["bank_response_msg"], "", "not at the bank: {status}");
    assert_eq!(status["bank_response_code"], Value::Null, "{status}");
}

/// Asserts an approve/reject answer names exactly these transactions, each with
/// this `trx_status`.
#[track_caller]
fn assert_decided(answer: &Value, expected: &[(&str, u64)], trx_status: &str) {
    assert_success(answer);
    assert_eq!(answer["virtual_account"], VA, "{answer}");
    let lines = answer["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data list: {answer}"));
    let got: BTreeSet<(String, String)> = lines
        .iter()
        .map(|l| {
            assert_eq!(l["trx_status"], trx_status, "{answer}");
            (
                l["trx_no"].as_str().expect("trx_no").to_string(),
                l["trx_id"].to_string().trim_matches('"').to_string(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = expected
        .iter()
        .map(|(no, id)| (no.to_string(), id.to_string()))
        .collect();
    assert_eq!(got, want, "{answer}");
    assert_eq!(lines.len(), expected.len(), "{answer}");
}

fn by_ids(ids: &[u64]) -> Body {
    Body::new()
        .with("virtual_account", VA)
        .with("trx_id", json!(ids))
}

/// The other partner, which needs no approval: its transfers settle after the
/// latency and prove the scheduler had its turn.
struct Control<'a> {
    s: &'a Sandbox,
    to: Beneficiary,
    url: String,
}

impl<'a> Control<'a> {
    async fn new(s: &'a Sandbox, receiver: &Receiver) -> Control<'a> {
        s.topup(OTHER_VA, "100000.00", "FUND-OTHER")
            .await
            .expect(200);
        let to = fixture::beneficiary_of(&s.other, "30000003", "Control Account").await;
        Control {
            s,
            to,
            url: receiver.url(),
        }
    }

    async fn body(&self, trx_no: &str) -> Body {
        self.s
            .transfer_body(&self.to, trx_no, 100_000, &self.url)
            .await
            .with("virtual_account", OTHER_VA)
    }

    async fn send(&self, trx_no: &str) -> u64 {
        send(&self.s.other, &self.body(trx_no).await).await
    }

    async fn wait(&self, trx_no: &str, status: &str) -> Value {
        wait_status_of(&self.s.other, trx_no, status).await
    }

    /// Moves the clock by `seconds` and waits until a control transfer sent just
    /// before has settled.
    async fn pass(&self, trx_no: &str, seconds: i64) {
        assert!(seconds > LATENCY);
        self.send(trx_no).await;
        self.s.advance_clock(seconds).await;
        self.wait(trx_no, "2").await;
    }
}

async fn approved_transfers_go_to_the_bank_as_one_batch(db: TestDatabase) {
    let s = fixture::start_requiring_approval(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let url = receiver.url();
    let florist = s.beneficiary("10000006", "PT. Florist Lentera Abadi").await;
    let supplier = s.beneficiary("20000008", "CV. Sumber Makmur").await;
    let refusing = s.beneficiary("1234569904", "Rejected Holder").await;
    let control = Control::new(&s, &receiver).await;

    let nos = ["PAY-1", "PAY-2", "PAY-3", "PAY-4"];
    let bodies = [
        s.transfer_body(&florist, nos[0], 1_000_000, &url).await,
        s.transfer_body(&refusing, nos[1], 3_000_000, &url).await,
        s.transfer_body(&supplier, nos[2], 2_000_000, &url).await,
        s.transfer_body(&florist, nos[3], 400_000, &url).await,
    ];
    let mut ids = Vec::new();
    for body in &bodies {
        ids.push(send(&s.client, body).await);
    }
    // Held at once, like any transfer.
    let held = (FUNDING_MINOR, FUNDING_MINOR - 6_400_000);
    assert_eq!(s.balances().await, held);
    for (no, id) in nos.iter().zip(&ids) {
        assert_not_sent(&s.client, no, *id).await;
    }
    // A retry of the request answers the same waiting transfer, holding nothing more.
    let again = s.client.post(TRANSFER, &bodies[0]).await;
    assert_eq!(again["status"], "1", "{again}");
    assert_eq!(again["trx_id"], json!(ids[0]), "{again}");
    assert_eq!(s.balances().await, held);

    // The latency passes, then an hour: the other partner's transfers settle,
    // these do not go to the bank.
    control.pass("CONTROL-1", LATENCY + 1).await;
    for (no, id) in nos.iter().zip(&ids) {
        assert_not_sent(&s.client, no, *id).await;
    }
    control.pass("CONTROL-2", 3600).await;
    for (no, id) in nos.iter().zip(&ids) {
        assert_not_sent(&s.client, no, *id).await;
        assert!(callbacks_for(&s.client, &receiver, no).is_empty());
    }
    assert_eq!(s.balances().await, held);

    // Three approved by trx_id (a list of numbers, as the transfer answered them),
    // one by trx_no (a single value), with the Java SDK's token call.
    let answer = s.client.post(APPROVE, &by_ids(&ids[..3])).await;
    assert_decided(
        &answer,
        &[(nos[0], ids[0]), (nos[1], ids[1]), (nos[2], ids[2])],
        "1",
    );
    let answer = s
        .client
        .post_as(
            Style::Java,
            APPROVE,
            APPROVE,
            &Body::new()
                .with("virtual_account", VA)
                .with("trx_no", nos[3]),
        )
        .await;
    assert_decided(&answer, &[(nos[3], ids[3])], "1");
    // Approved, but the bank's latency has not passed yet.
    for (no, id) in nos.iter().zip(&ids) {
        assert_not_sent(&s.client, no, *id).await;
    }
    assert_eq!(s.balances().await, held);

    s.advance_clock(LATENCY + 1).await;
    let done: Vec<Value> = vec![
        s.wait_status(nos[0], "2").await,
        s.wait_status(nos[1], "4").await,
        s.wait_status(nos[2], "2").await,
        s.wait_status(nos[3], "2").await,
    ];
    for (answer, id) in done.iter().zip(&ids) {
        assert_eq!(answer["trx_id"], json!(id), "{answer}");
        assert_ne!(answer["trx_status_date"], "", "{answer}");
        assert!(answer["bank_response_code"].is_number(), "{answer}");
    }
    // The first approval was one batch: one bank answer per line, all at once.
    assert_eq!(done[0]["trx_status_date"], done[1]["trx_status_date"]);
    assert_eq!(done[0]["trx_status_date"], done[2]["trx_status_date"]);
    // The line to the refusing account failed on its own; the lines around it
    // succeeded.
    assert_eq!(done[1]["bank_response_code"], 5, "{}", done[1]);
    assert_eq!(done[0]["bank_response_code"], 0, "{}", done[0]);
    assert_eq!(done[2]["bank_response_code"], 0, "{}", done[2]);

    // One callback per line, with the line's own status.
    for ((no, id), answer) in nos.iter().zip(&ids).zip(&done) {
        let callback = callback_for(&s.client, &receiver, no).await;
        assert_eq!(callback["trx_status"], answer["status"], "{callback}");
        assert_eq!(callback["trx_id"], id.to_string(), "{callback}");
        assert_eq!(callback["trx_status_date"], answer["trx_status_date"]);
        assert_eq!(callback["bank_code"], "014", "{callback}");
    }
    // The successes are debited, the failure released.
    let paid = 1_000_000 + 2_000_000 + 400_000;
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - paid, FUNDING_MINOR - paid)
    );
    assert_ledger_clean(&s.api).await;

    // Nothing is waiting any more: deciding again is refused and changes nothing.
    for (path, id) in [(APPROVE, ids[0]), (REJECT, ids[1]), (APPROVE, ids[2])] {
        let answer = s.client.post(path, &by_ids(&[id])).await;
        assert_error(&answer, "Invalid Request body");
    }
    control.pass("CONTROL-3", LATENCY + 1).await;
    for (no, answer) in nos.iter().zip(&done) {
        let now = s.client.status(no, None).await;
        assert_eq!(now["status"], answer["status"], "{now}");
        assert_eq!(callbacks_for(&s.client, &receiver, no).len(), 1, "{no}");
    }
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - paid, FUNDING_MINOR - paid)
    );
    assert_ledger_clean(&s.api).await;
    s.stop().await;
}

async fn rejected_transfers_release_their_funds_at_once(db: TestDatabase) {
    let s = fixture::start_requiring_approval(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let url = receiver.url();
    let florist = s.beneficiary("10000006", "PT. Florist Lentera Abadi").await;
    let control = Control::new(&s, &receiver).await;
    let first = s.transfer_body(&florist, "REJ-1", 1_500_000, &url).await;
    let id1 = send(&s.client, &first).await;
    let id2 = send(
        &s.client,
        &s.transfer_body(&florist, "REJ-2", 500_000, &url).await,
    )
    .await;
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR, FUNDING_MINOR - 2_000_000)
    );

    // Rejected by trx_no (a list): failed at once, without moving the clock.
    let answer = s.client.post(REJECT, &by_nos(&["REJ-1"])).await;
    assert_decided(&answer, &[("REJ-1", id1)], "4");
    let status = s.client.status("REJ-1", Some(&id1.to_string())).await;
    assert_eq!(status["status"], "4", "{status}");
    assert_eq!(status["response_code"], "00", "{status}");
    let decided_at = parse_wib(status["trx_status_date"].as_str().expect("trx_status_date"));
    let now = parse_wib(&jakarta(gateway_now(&s.api).await));
    assert!(
        (now - decided_at).whole_seconds().abs() <= 5,
        "decided at {decided_at}, now {now}"
    );
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR, FUNDING_MINOR - 500_000),
        "the rejected amount is released"
    );
    let check = s.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");
    assert_eq!(check["holds_pending"], 1, "{check}");
    let callback = callback_for(&s.client, &receiver, "REJ-1").await;
    assert_eq!(callback["trx_status"], "4", "{callback}");
    assert_eq!(callback["trx_id"], id1.to_string(), "{callback}");
    assert_eq!(callback["trx_amount"], "1500000", "{callback}");
    assert_eq!(callback["trx_status_date"], status["trx_status_date"]);
    assert_eq!(callback["trx_reff"], status["trx_reff"]);
    // The other one still waits.
    assert_not_sent(&s.client, "REJ-2", id2).await;

    // Decided: neither approved nor rejected again.
    for path in [APPROVE, REJECT] {
        let answer = s.client.post(path, &by_ids(&[id1])).await;
        assert_error(&answer, "Invalid Request body");
    }
    // A retry of the transfer request answers the failure and holds nothing.
    let retry = s.client.post(TRANSFER, &first).await;
    assert_eq!(retry["status"], "4", "{retry}");
    assert_eq!(retry["trx_id"], json!(id1), "{retry}");
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR - 500_000));

    // The second by trx_id, given as one string.
    let answer = s
        .client
        .post(
            REJECT,
            &Body::new()
                .with("virtual_account", VA)
                .with("trx_id", id2.to_string()),
        )
        .await;
    assert_decided(&answer, &[("REJ-2", id2)], "4");
    assert_eq!(s.client.status("REJ-2", None).await["status"], "4");
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR));
    assert_eq!(
        callback_for(&s.client, &receiver, "REJ-2").await["trx_status"],
        "4"
    );
    assert_ledger_clean(&s.api).await;

    // Time passes: nothing is sent to the bank, nothing is told twice.
    control.pass("CONTROL-1", LATENCY + 1).await;
    for no in ["REJ-1", "REJ-2"] {
        let status = s.client.status(no, None).await;
        assert_eq!(status["status"], "4", "{status}");
        assert_eq!(callbacks_for(&s.client, &receiver, no).len(), 1, "{no}");
    }
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR));
    assert_ledger_clean(&s.api).await;
    s.stop().await;
}

async fn approval_refusals_change_nothing(db: TestDatabase) {
    let s = fixture::start_requiring_approval(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let url = receiver.url();
    let florist = s.beneficiary("10000006", "PT. Florist Lentera Abadi").await;
    let control = Control::new(&s, &receiver).await;
    let waiting = send(
        &s.client,
        &s.transfer_body(&florist, "WAIT-1", 1_000_000, &url).await,
    )
    .await;
    let theirs = control.send("THEIRS-1").await;
    let held = (FUNDING_MINOR, FUNDING_MINOR - 1_000_000);

    for path in [APPROVE, REJECT] {
        // The other partner cannot decide this partner's transfer, by trx_id or by
        // trx_no, nor by naming this partner's virtual account.
        for body in [
            Body::new()
                .with("virtual_account", OTHER_VA)
                .with("trx_id", json!([waiting])),
            Body::new()
                .with("virtual_account", OTHER_VA)
                .with("trx_no", "WAIT-1"),
        ] {
            let answer = s.other.post(path, &body).await;
            assert_error(&answer, "Transaction not found");
        }
        let answer = s.other.post(path, &by_ids(&[waiting])).await;
        assert_error(&answer, "Invalid Virtual Account");
        // Nor can this partner decide the other's.
        let answer = s.client.post(path, &by_ids(&[theirs])).await;
        assert_error(&answer, "Transaction not found");
        let answer = s.client.post(path, &by_nos(&["THEIRS-1"])).await;
        assert_error(&answer, "Transaction not found");
        // Unknown transactions.
        let answer = s.client.post(path, &by_ids(&[UNKNOWN_ID])).await;
        assert_error(&answer, "Transaction not found");
        let answer = s.client.post(path, &by_nos(&["NEVER-SENT"])).await;
        assert_error(&answer, "Transaction not found");
        // All or none: a known waiting one with an unknown one.
        let answer = s.client.post(path, &by_ids(&[waiting, UNKNOWN_ID])).await;
        assert_error(&answer, "Transaction not found");
        let answer = s
            .client
            .post(
                path,
                &by_ids(&[waiting]).with("trx_no", json!(["NEVER-SENT"])),
            )
            .await;
        assert_error(&answer, "Transaction not found");
        // Nothing named.
        for body in [
            Body::new().with("virtual_account", VA),
            by_ids(&[]),
            by_nos(&[]),
            Body::new().with("virtual_account", VA).with("trx_id", ""),
        ] {
            let answer = s.client.post(path, &body).await;
            assert_eq!(answer["status"], "9", "{}: {answer}", body.to_json());
        }
        // Signed for another service.
        let answer = s
            .client
            .post_as(Style::Python, path, TRANSFER, &by_ids(&[waiting]))
            .await;
        assert_unauthorized(&answer);
        // Asked over GET.
        let ts = s.client.timestamp().await;
        let token = s.client.token(Style::Java, &ts, path, None).await;
        let request = s.client.service_request(
            reqwest::Method::GET,
            path,
            "POST",
            path,
            &ts,
            &token,
            Some(by_ids(&[waiting]).to_json()),
        );
        let reply = s.client.send(&request).await;
        assert_ne!(reply.status, 200, "{reply:?}");
        assert_not_sent(&s.client, "WAIT-1", waiting).await;
        assert_eq!(s.balances().await, held);
    }
    // Time passes: the other's transfer settles, this one still waits.
    s.advance_clock(LATENCY + 1).await;
    control.wait("THEIRS-1", "2").await;
    assert_not_sent(&s.client, "WAIT-1", waiting).await;
    assert!(callbacks_for(&s.client, &receiver, "WAIT-1").is_empty());
    assert_eq!(s.balances().await, held);
    let check = s.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");
    assert_eq!(check["holds_pending"], 1, "{check}");

    // All or none again: a list with one no longer waiting approves nothing.
    let second = send(
        &s.client,
        &s.transfer_body(&florist, "WAIT-2", 2_000_000, &url).await,
    )
    .await;
    let answer = s.client.post(APPROVE, &by_nos(&["WAIT-1"])).await;
    assert_decided(&answer, &[("WAIT-1", waiting)], "1");
    let answer = s.client.post(APPROVE, &by_ids(&[second, waiting])).await;
    assert_error(&answer, "Invalid Request body");
    s.advance_clock(LATENCY + 1).await;
    s.wait_status("WAIT-1", "2").await;
    assert_not_sent(&s.client, "WAIT-2", second).await;
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - 1_000_000, FUNDING_MINOR - 3_000_000)
    );

    // The same transaction named twice (by trx_id and by trx_no) is decided once.
    let answer = s
        .client
        .post(REJECT, &by_ids(&[second]).with("trx_no", "WAIT-2"))
        .await;
    assert_decided(&answer, &[("WAIT-2", second)], "4");
    callback_for(&s.client, &receiver, "WAIT-2").await;
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - 1_000_000, FUNDING_MINOR - 1_000_000)
    );
    assert_ledger_clean(&s.api).await;
    s.stop().await;
}

async fn approval_keeps_each_transfer_on_its_own_time(db: TestDatabase) {
    let s = fixture::start_requiring_approval(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let url = receiver.url();
    let florist = s.beneficiary("10000006", "PT. Florist Lentera Abadi").await;
    let instruct = s.jakarta_in(2 * 3600).await;
    let now_id = send(
        &s.client,
        &s.transfer_body(&florist, "NOW-1", 1_000_000, &url).await,
    )
    .await;
    let later_id = send(
        &s.client,
        &s.transfer_body(&florist, "LATER-1", 2_000_000, &url)
            .await
            .with("instruct_date", instruct.as_str()),
    )
    .await;

    // Both approved in one call, to one bank.
    let answer = s.client.post(APPROVE, &by_nos(&["NOW-1", "LATER-1"])).await;
    assert_decided(&answer, &[("NOW-1", now_id), ("LATER-1", later_id)], "1");

    // The real-time one goes after the latency; the scheduled one does not.
    s.advance_clock(LATENCY + 1).await;
    s.wait_status("NOW-1", "2").await;
    assert_eq!(
        callback_for(&s.client, &receiver, "NOW-1").await["trx_status"],
        "2"
    );
    assert_not_sent(&s.client, "LATER-1", later_id).await;
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - 1_000_000, FUNDING_MINOR - 3_000_000)
    );

    // Past its instructed time it goes too.
    s.advance_clock(2 * 3600).await;
    s.wait_status("LATER-1", "2").await;
    assert_eq!(
        callback_for(&s.client, &receiver, "LATER-1").await["trx_status"],
        "2"
    );
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - 3_000_000, FUNDING_MINOR - 3_000_000)
    );
    assert_ledger_clean(&s.api).await;
    s.stop().await;
}

/// Asserts a decision lost its race: the documented "not waiting for approval".
#[track_caller]
fn assert_not_waiting(answer: &Value) {
    let code = assert_error(answer, "Invalid Request body");
    assert_eq!(code, "00", "{answer}");
    let desc = answer["response_desc"].as_str().unwrap_or_default();
    assert!(desc.contains("is not waiting for approval"), "{answer}");
}

/// Decisions racing on one waiting transfer: exactly one wins, every other gets
/// "not waiting for approval" (never an internal error), and the status inquiry
/// shows the winner's outcome. Each race is run several times.
async fn concurrent_decisions_have_one_winner(db: TestDatabase) {
    let s = fixture::start_requiring_approval(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let url = receiver.url();
    let florist = s.beneficiary("10000006", "PT. Florist Lentera Abadi").await;
    for round in 0..5 {
        let no = format!("RACE-REJECT-{round}");
        let id = send(
            &s.client,
            &s.transfer_body(&florist, &no, 100_000, &url).await,
        )
        .await;
        let body = by_ids(&[id]);
        let answers =
            futures_util::future::join_all((0..10).map(|_| s.client.post(REJECT, &body))).await;
        let (won, lost): (Vec<&Value>, Vec<&Value>) =
            answers.iter().partition(|a| a["status"] == "2");
        assert_eq!(won.len(), 1, "one rejection wins: {answers:?}");
        assert_decided(won[0], &[(no.as_str(), id)], "4");
        for answer in lost {
            assert_not_waiting(answer);
        }
        let status = s.client.status(&no, None).await;
        assert_eq!(status["status"], "4", "{status}");
    }
    let mut approved_nos = Vec::new();
    for round in 0..5 {
        let no = format!("RACE-BOTH-{round}");
        let id = send(
            &s.client,
            &s.transfer_body(&florist, &no, 100_000, &url).await,
        )
        .await;
        let body = by_ids(&[id]);
        let (approved, rejected) =
            futures_util::future::join(s.client.post(APPROVE, &body), s.client.post(REJECT, &body))
                .await;
        let status = s.client.status(&no, None).await;
        match (approved["status"].as_str(), rejected["status"].as_str()) {
            (Some("2"), _) => {
                assert_decided(&approved, &[(no.as_str(), id)], "1");
                assert_not_waiting(&rejected);
                assert_eq!(status["status"], "1", "approved, on its way: {status}");
                approved_nos.push(no);
            }
            (_, Some("2")) => {
                assert_decided(&rejected, &[(no.as_str(), id)], "4");
                assert_not_waiting(&approved);
                assert_eq!(status["status"], "4", "rejected: {status}");
            }
            _ => panic!("no decision won: {approved} {rejected}"),
        }
    }
    // The approved ones go to the bank; then no hold is left.
    s.advance_clock(LATENCY + 1).await;
    for no in &approved_nos {
        wait_status_of(&s.client, no, "2").await;
    }
    assert_ledger_clean(&s.api).await;
    s.stop().await;
}

on_both_backends!(
    concurrent_decisions_have_one_winner,
    approved_transfers_go_to_the_bank_as_one_batch,
    rejected_transfers_release_their_funds_at_once,
    approval_refusals_change_nothing,
    approval_keeps_each_transfer_on_its_own_time,
);
