//! A burst of SendMe transfers cut short by kill -9. After a restart on the same
//! database, exact retries of every transfer whose answer was lost (and of some
//! that were answered) give each trx_no exactly one transfer: the one committed
//! before the crash if there was one. Every transfer then settles once, the
//! balance shows each success exactly once and nothing held, the ledger is sound,
//! and every final status reaches the partner's callback.

use crate::burst::*;
use crate::client::Client;
use crate::common::*;
use crate::fixture::{dev_credentials, minor, VA};
use crate::support::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Transfers in the burst.
const TRANSFERS: usize = 300;
/// Accepted answers to see before the kill.
const KILL_AFTER: usize = 60;
/// The bank answers as soon as a transfer is accepted, so settlements and
/// callbacks are under way when the process dies too; a callback that was not
/// acknowledged is sent again a second later.
const CONFIG: &str = "[notifier]\ntimeout_seconds = 5\nfirst_retry_seconds = 1\n\
                      concurrency = 32\npoll_millis = 50\n\n\
                      [scheduler]\npoll_millis = 50\n\n\
                      [simulator]\nbank_latency_seconds = 0\n";

async fn sendme_transfer_burst_survives_kill_9(db: TestDatabase) {
    let began = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let (config, provision) = burst_files(dir.path(), CONFIG);
    let start = || serve_command(dir.path(), &db.url, Some(&config), Some(&provision));
    let receiver = Receiver::start(Behaviour::Answer(200)).await;

    // First process: a partner with a large balance and two beneficiaries.
    let first = Serving::start(start()).await;
    let client = Client::new(first.api.clone(), dev_credentials());
    let (balance, available) = client.balance().await;
    assert_eq!(minor(&balance), OPENING_MINOR);
    assert_eq!(minor(&available), OPENING_MINOR);
    let trx_date = client.timestamp().await;
    let transfers: Arc<Vec<Transfer>> =
        Arc::new(transfers(&client, "KILL9", TRANSFERS, &receiver.url()).await);

    // The burst: every transfer at once; kill -9 once enough were answered.
    let burst_began = Instant::now();
    let accepted_so_far = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(Notify::new());
    let burst: Vec<_> = (0..TRANSFERS)
        .map(|i| {
            let (client, transfers) = (client.clone(), transfers.clone());
            let (accepted_so_far, answered) = (accepted_so_far.clone(), answered.clone());
            let timestamp = trx_date.clone();
            tokio::spawn(async move {
                let outcome = burst_transfer(&client, &timestamp, &transfers[i].body).await;
                if let Outcome::Accepted(_) = outcome {
                    accepted_so_far.fetch_add(1, Ordering::SeqCst);
                    answered.notify_one();
                }
                outcome
            })
        })
        .collect();
    tokio::time::timeout(Duration::from_secs(20), async {
        while accepted_so_far.load(Ordering::SeqCst) < KILL_AFTER {
            answered.notified().await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "only {} transfers accepted in 20 s\nstderr:\n{}",
            accepted_so_far.load(Ordering::SeqCst),
            first.stderr()
        )
    });
    let (burst_ran, callbacks_before) = (burst_began.elapsed(), receiver.received().len());
    first.kill9().await;
    let mut accepted: BTreeMap<usize, String> = BTreeMap::new();
    let mut lost: Vec<usize> = Vec::new();
    let mut lost_in_transfer = 0;
    for (i, task) in burst.into_iter().enumerate() {
        match task.await.expect("burst task") {
            Outcome::Accepted(id) => {
                accepted.insert(i, id);
            }
            Outcome::Lost(stage) => {
                lost.push(i);
                lost_in_transfer += usize::from(stage == Stage::Transfer);
            }
            Outcome::Unexpected(what) => panic!("{}: {what}", transfers[i].trx_no),
        }
    }
    assert!(accepted.len() >= KILL_AFTER, "{} accepted", accepted.len());
    assert!(
        !lost.is_empty(),
        "every transfer was answered before the kill"
    );
    let distinct: BTreeSet<&String> = accepted.values().collect();
    assert_eq!(distinct.len(), accepted.len(), "a trx_id was given twice");

    // Second process on the same database.
    let second = Serving::start(start()).await;
    let client = Client::new(second.api.clone(), dev_credentials());
    // Settled by the first process (each settlement queues one notification).
    let settled_before = second
        .api
        .get(&format!("/sandbox/notifications?owner={VA}&limit=1000"))
        .await
        .expect(200)["notifications"]
        .as_array()
        .expect("notifications")
        .len();

    // Which lost answers were committed before the kill (for the record; the
    // partner retries blindly).
    let timestamp = client.timestamp().await;
    let committed_before: Vec<Option<(String, String)>> = in_parallel(lost.clone(), |i| {
        let (client, transfers, timestamp) = (client.clone(), transfers.clone(), timestamp.clone());
        async move { inquiry(&client, &timestamp, &transfers[i].trx_no).await }
    })
    .await;
    for (known, i) in committed_before.iter().zip(&lost) {
        if let Some((id, _)) = known {
            assert!(
                !distinct.contains(id),
                "{}: trx_id {id} belongs to another transfer",
                transfers[*i].trx_no
            );
        }
    }

    // Exact retries of every lost answer and of every fourth accepted one.
    let retried: Vec<usize> = lost
        .iter()
        .copied()
        .chain(accepted.keys().copied().step_by(4))
        .collect();
    let answers: Vec<Value> = in_parallel(retried.clone(), |i| {
        let (client, transfers, timestamp) = (client.clone(), transfers.clone(), timestamp.clone());
        async move { retry(&client, &timestamp, &transfers[i].body).await }
    })
    .await;
    let mut ids: HashMap<usize, String> = accepted.clone().into_iter().collect();
    let committed_before: HashMap<usize, String> = lost
        .iter()
        .zip(&committed_before)
        .filter_map(|(i, known)| known.as_ref().map(|(id, _)| (*i, id.clone())))
        .collect();
    for (i, answer) in retried.iter().zip(&answers) {
        let t = &transfers[*i];
        assert!(
            ["1", t.final_status()].contains(&answer["status"].as_str().unwrap_or_default()),
            "retry of {}: {answer}",
            t.trx_no
        );
        assert_eq!(answer["trx_no"], t.trx_no.as_str(), "{answer}");
        assert_eq!(answer["trx_amount"], t.amount_minor, "{answer}");
        let id = trx_id_of(answer);
        if let Some(first_id) = accepted.get(i).or(committed_before.get(i)) {
            assert_eq!(
                &id, first_id,
                "a retry of {} got another transfer",
                t.trx_no
            );
        }
        ids.insert(*i, id);
    }
    assert_eq!(ids.len(), TRANSFERS);
    let all_ids: BTreeSet<&String> = ids.values().collect();
    assert_eq!(all_ids.len(), TRANSFERS, "a trx_id serves two trx_no");

    // Everything falls due (also what the dead process had claimed).
    second.api.advance_clock(120).await;
    eventually(
        "every transfer to settle",
        Duration::from_secs(15),
        || async {
            let b = second.api.balance(VA).await;
            (b["pending"] == "0.00").then_some(())
        },
    )
    .await;
    let timestamp = client.timestamp().await;
    let statuses: Vec<Option<(String, String)>> = in_parallel((0..TRANSFERS).collect(), |i| {
        let (client, transfers, timestamp) = (client.clone(), transfers.clone(), timestamp.clone());
        async move { inquiry(&client, &timestamp, &transfers[i].trx_no).await }
    })
    .await;
    for (i, status) in statuses.iter().enumerate() {
        let t = &transfers[i];
        let (id, status) = status
            .as_ref()
            .unwrap_or_else(|| panic!("{} is unknown", t.trx_no));
        assert_eq!(id, &ids[&i], "{}", t.trx_no);
        assert_eq!(status, t.final_status(), "{}", t.trx_no);
    }

    // Each success debited exactly once, nothing left held.
    let debited: i64 = transfers
        .iter()
        .filter(|t| !t.rejected)
        .map(|t| t.amount_minor)
        .sum();
    let (balance, available) = client.balance().await;
    assert_eq!(minor(&balance), OPENING_MINOR - debited, "balance");
    assert_eq!(minor(&available), minor(&balance), "available balance");
    let statement = second
        .api
        .get(&format!(
            "/sandbox/accounts/partner:{VA}/statement?limit=1000"
        ))
        .await
        .expect(200);
    let mut debits: HashMap<String, Vec<i64>> = HashMap::new();
    for line in statement["lines"].as_array().expect("statement lines") {
        if line["kind"] == "transfer" {
            let amount = line["amount"].as_str().expect("amount");
            let debit = amount
                .strip_prefix('-')
                .map(minor)
                .unwrap_or_else(|| panic!("a transfer credited the partner: {line}"));
            let reference = line["reference"].as_str().expect("reference");
            debits.entry(reference.to_string()).or_default().push(debit);
        }
    }
    for t in transfers.iter() {
        let expected = (!t.rejected).then(|| vec![t.amount_minor]);
        assert_eq!(debits.remove(&t.trx_no), expected, "debits of {}", t.trx_no);
    }
    assert!(debits.is_empty(), "debits of no transfer: {debits:?}");
    let check = second.api.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");
    assert_eq!(check["holds_pending"], 0, "{check}");

    // Exactly one notification per transfer, and each final status reached the
    // callback (more than once is allowed).
    let by_id: HashMap<&str, usize> = ids.iter().map(|(i, id)| (id.as_str(), *i)).collect();
    let listed = second
        .api
        .get(&format!("/sandbox/notifications?owner={VA}&limit=1000"))
        .await
        .expect(200);
    let listed = listed["notifications"].as_array().expect("notifications");
    let mut sources = BTreeSet::new();
    for n in listed {
        let source = n["source"].as_str().expect("source");
        let id = source
            .strip_prefix("disbursement:")
            .unwrap_or_else(|| panic!("unexpected notification {n}"));
        assert!(
            by_id.contains_key(id),
            "a notification for trx_id {id}: {n}"
        );
        assert!(
            sources.insert(source.to_string()),
            "{source} notified twice"
        );
    }
    assert_eq!(sources.len(), TRANSFERS, "transfers without a notification");
    let callbacks = eventually(
        "a callback for every transfer",
        Duration::from_secs(15),
        || async {
            let got = receiver.received();
            let seen: BTreeSet<String> = got
                .iter()
                .map(|r| r.json()["trx_no"].as_str().unwrap_or_default().to_string())
                .collect();
            (seen.len() == TRANSFERS).then_some(got)
        },
    )
    .await;
    let credentials = dev_credentials();
    for r in &callbacks {
        let body = credentials
            .verify_callback(&r.body)
            .unwrap_or_else(|e| panic!("callback signature: {e}: {}", r.body));
        let id = body["trx_id"].as_str().expect("trx_id");
        let i = *by_id
            .get(id)
            .unwrap_or_else(|| panic!("a callback for an unknown trx_id: {body}"));
        let t = &transfers[i];
        assert_eq!(body["trx_no"], t.trx_no.as_str(), "{body}");
        assert_eq!(body["trx_status"], t.final_status(), "{body}");
        assert_eq!(body["trx_amount"], t.amount_minor.to_string(), "{body}");
    }
    second.stop().await;

    assert_ledger_clean_at(dir.path(), &db.url).await;
    eprintln!(
        "{TRANSFERS} transfers, kill -9 after {:.2} s: {} answered, {} lost ({} in the \
         transfer exchange, {} of them committed), {settled_before} settled and \
         {callbacks_before} called back before the kill; {} callbacks in all; {:.1} s",
        burst_ran.as_secs_f64(),
        accepted.len(),
        lost.len(),
        lost_in_transfer,
        committed_before.len(),
        callbacks.len(),
        began.elapsed().as_secs_f64()
    );
}

on_both_backends!(sendme_transfer_burst_survives_kill_9);
