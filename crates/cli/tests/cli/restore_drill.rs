//! The restore drill an operator runs on the SQLite default: while a burst of
//! SendMe transfers runs, `gerbang backup` copies the live database; the gateway is
//! killed (-9) and a new one starts on the copy. Every transfer acknowledged
//! before the backup began is there with its trx_id and goes on to its final
//! status and callback (dispatches and notifications pending at the backup
//! resume), the ledger is sound, and a partner retrying a transfer the copy does
//! not know is refused — never given a second movement — until the operator has
//! reconciled the gap and confirmed the restore.

use crate::burst::*;
use crate::client::Client;
use crate::common::*;
use crate::fixture::{dev_credentials, minor, VA};
use crate::support::*;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Transfers in all.
const TRANSFERS: usize = 240;
/// Answered in full before the backup begins.
const BEFORE_BACKUP: usize = 80;

/// The bank answers a second after a transfer is sent, so dispatches are still
/// pending when the backup is taken; callbacks not acknowledged are retried a
/// second later.
const CONFIG: &str = "[notifier]\ntimeout_seconds = 5\nfirst_retry_seconds = 1\n\
                      concurrency = 32\npoll_millis = 50\n\n\
                      [scheduler]\npoll_millis = 50\n\n\
                      [simulator]\nbank_latency_seconds = 1\n";

/// Sends transfers `range` of `transfers`, [`PARALLEL`] at a time, the n-th of them
/// `pace` × n after the first (so that a burst is still running when the backup
/// begins); their outcomes.
async fn send(
    client: &Client,
    transfers: &Arc<Vec<Transfer>>,
    range: std::ops::Range<usize>,
    timestamp: &str,
    pace: Duration,
) -> Vec<Outcome> {
    let first = range.start;
    in_parallel(range.collect(), |i| {
        let (client, transfers, timestamp) =
            (client.clone(), transfers.clone(), timestamp.to_string());
        async move {
            tokio::time::sleep(pace * (i - first) as u32).await;
            burst_transfer(&client, &timestamp, &transfers[i].body).await
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_under_load_restores_what_was_acknowledged() {
    let db = gerbang_store::testing::sqlite_database();
    let dir = tempfile::tempdir().unwrap();
    let (config, provision) = burst_files(dir.path(), CONFIG);
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let first = Serving::start(serve_command(
        dir.path(),
        &db.url,
        Some(&config),
        Some(&provision),
    ))
    .await;
    let client = Client::new(first.api.clone(), dev_credentials());
    let transfers = Arc::new(transfers(&client, "DRILL", TRANSFERS, &receiver.url()).await);
    let timestamp = client.timestamp().await;

    // Acknowledged before the backup begins.
    let mut first_ids: HashMap<usize, String> = HashMap::new();
    for (i, outcome) in send(
        &client,
        &transfers,
        0..BEFORE_BACKUP,
        &timestamp,
        Duration::ZERO,
    )
    .await
    .into_iter()
    .enumerate()
    {
        match outcome {
            Outcome::Accepted(id) => first_ids.insert(i, id),
            _ => panic!("{} was not accepted before the backup", transfers[i].trx_no),
        };
    }
    // The rest while the backup is taken, and the kill.
    let rest = {
        let (client, transfers, timestamp) = (client.clone(), transfers.clone(), timestamp.clone());
        tokio::spawn(async move {
            send(
                &client,
                &transfers,
                BEFORE_BACKUP..TRANSFERS,
                &timestamp,
                Duration::from_millis(1),
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let copy = dir.path().join("backup.db");
    let backed = run(
        dir.path(),
        &["backup", copy.to_str().unwrap(), "--database-url", &db.url],
    )
    .await;
    backed.expect_code(0);
    assert!(
        backed.stdout.contains("integrity ok; ledger is clean"),
        "{}",
        backed.stdout
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.kill9().await;
    for (n, outcome) in rest.await.expect("the rest").into_iter().enumerate() {
        match outcome {
            Outcome::Accepted(id) => {
                first_ids.insert(BEFORE_BACKUP + n, id);
            }
            Outcome::Lost(_) => {}
            Outcome::Unexpected(what) => panic!("{what}"),
        }
    }
    assert!(
        first_ids.len() > BEFORE_BACKUP,
        "transfers were acknowledged after the backup began"
    );

    // A gateway on the copy.
    let restored_url = format!("sqlite://{}", copy.display());
    let state = run(
        dir.path(),
        &["restore", "status", "--database-url", &restored_url],
    )
    .await;
    state.expect_code(0);
    assert!(
        state.stdout.contains("new references are refused"),
        "{}",
        state.stdout
    );
    let second = Serving::start(serve_command(
        dir.path(),
        &restored_url,
        Some(&config),
        Some(&provision),
    ))
    .await;
    let client = Client::new(second.api.clone(), dev_credentials());
    let timestamp = client.timestamp().await;
    let known: Vec<Option<(String, String)>> = in_parallel((0..TRANSFERS).collect(), |i| {
        let (client, transfers, timestamp) = (client.clone(), transfers.clone(), timestamp.clone());
        async move { inquiry(&client, &timestamp, &transfers[i].trx_no).await }
    })
    .await;
    for i in 0..BEFORE_BACKUP {
        let (id, _) = known[i].as_ref().unwrap_or_else(|| {
            panic!("{} was acknowledged before the backup", transfers[i].trx_no)
        });
        assert_eq!(id, &first_ids[&i], "{}", transfers[i].trx_no);
    }
    assert!(
        known.iter().flatten().any(|(_, status)| status == "1"),
        "transfers still on their way to the bank in the copy"
    );
    let check = second.api.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");

    // The partner retries everything: what the copy knows answers as first
    // answered; what it does not know is refused, and nothing is held for it.
    let answers: Vec<Value> = in_parallel((0..TRANSFERS).collect(), |i| {
        let (client, transfers, timestamp) = (client.clone(), transfers.clone(), timestamp.clone());
        async move { retry(&client, &timestamp, &transfers[i].body).await }
    })
    .await;
    let mut refused = Vec::new();
    for (i, answer) in answers.iter().enumerate() {
        let t = &transfers[i];
        match &known[i] {
            Some((id, _)) => {
                assert_eq!(&trx_id_of(answer), id, "retry of {}: {answer}", t.trx_no);
                if let Some(first) = first_ids.get(&i) {
                    assert_eq!(id, first, "{}", t.trx_no);
                }
            }
            None => {
                assert_eq!(answer["status"], "9", "retry of {}: {answer}", t.trx_no);
                assert_eq!(answer["response_code"], "99", "{answer}");
                refused.push(i);
            }
        }
    }
    assert!(
        !refused.is_empty(),
        "the copy should miss transfers acknowledged after it was taken"
    );
    assert!(
        refused.iter().any(|i| first_ids.contains_key(i)),
        "an acknowledged transfer the copy missed was retried and refused"
    );

    // What was pending in the copy goes on to its end.
    second.api.advance_clock(120).await;
    eventually(
        "every known transfer to settle",
        Duration::from_secs(20),
        || async {
            let b = second.api.balance(VA).await;
            (b["pending"] == "0.00").then_some(())
        },
    )
    .await;
    let final_known: Vec<Option<(String, String)>> = in_parallel((0..TRANSFERS).collect(), |i| {
        let (client, transfers, timestamp) = (client.clone(), transfers.clone(), timestamp.clone());
        async move { inquiry(&client, &timestamp, &transfers[i].trx_no).await }
    })
    .await;
    for (i, status) in final_known.iter().enumerate() {
        if let Some((_, status)) = status {
            assert_eq!(
                status,
                transfers[i].final_status(),
                "{}",
                transfers[i].trx_no
            );
        }
    }
    eventually(
        "every notification of the copy delivered",
        Duration::from_secs(20),
        || async {
            let listed = second
                .api
                .get(&format!("/sandbox/notifications?owner={VA}&limit=1000"))
                .await
                .expect(200);
            let all = listed["notifications"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            (!all.is_empty() && all.iter().all(|n| n["status"] == "delivered")).then_some(())
        },
    )
    .await;
    for i in 0..BEFORE_BACKUP {
        let t = &transfers[i];
        assert!(
            receiver.received().iter().any(|r| {
                let body = r.json();
                body["trx_no"] == t.trx_no.as_str() && body["trx_status"] == t.final_status()
            }),
            "{}: its final status reached the partner",
            t.trx_no
        );
    }
    // Each success the copy knows debited once; the refused retries moved nothing.
    let debited: i64 = (0..TRANSFERS)
        .filter(|i| known[*i].is_some() && !transfers[*i].rejected)
        .map(|i| transfers[i].amount_minor)
        .sum();
    let (balance, available) = client.balance().await;
    assert_eq!(minor(&balance), OPENING_MINOR - debited, "balance");
    assert_eq!(minor(&available), minor(&balance), "available balance");
    let check = second.api.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");
    assert_eq!(check["holds_pending"], 0, "{check}");

    // The operator reconciles the gap and confirms; new references are taken again.
    let confirmed = run(
        dir.path(),
        &[
            "restore",
            "confirm",
            "--note",
            "bank statement of the gap matched",
            "--database-url",
            &restored_url,
        ],
    )
    .await;
    confirmed.expect_code(0);
    let answer = retry(&client, &timestamp, &transfers[refused[0]].body).await;
    assert_eq!(answer["status"], "1", "after the confirmation: {answer}");
    second.stop().await;
    assert_ledger_clean_at(dir.path(), &restored_url).await;
    eprintln!(
        "{TRANSFERS} transfers: {BEFORE_BACKUP} acknowledged before the backup, {} in all; \
         {} known to the copy; {} retries refused until the restore was confirmed",
        first_ids.len(),
        known.iter().flatten().count(),
        refused.len()
    );
}
