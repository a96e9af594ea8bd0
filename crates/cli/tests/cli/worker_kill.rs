//! A worker node killed with SIGKILL in the middle of dispatching: the timers it
//! had leased wait out their lease, and another worker node finishes every
//! transfer — each settled once, the ledger sound, every final status called
//! back. Only when PostgreSQL is configured (worker nodes apart need it).

use crate::burst::*;
use crate::client::Client;
use crate::common::*;
use crate::fixture::{dev_credentials, minor, VA};
use crate::support::*;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

const TRANSFERS: usize = 400;
/// Callbacks to see before the kill: the dead worker has done some of the work.
const KILL_AFTER: usize = 20;
/// One timer at a time, a few per poll, so the kill lands in the middle.
const CONFIG: &str = "[notifier]\ntimeout_seconds = 5\nfirst_retry_seconds = 1\n\
                      poll_millis = 50\n\n\
                      [scheduler]\npoll_millis = 50\nbatch = 8\nconcurrency = 1\n\n\
                      [simulator]\nbank_latency_seconds = 0\n";

/// The transfers called back so far.
fn called_back(receiver: &Receiver) -> BTreeSet<String> {
    receiver
        .received()
        .iter()
        .filter_map(|r| r.json()["trx_no"].as_str().map(str::to_string))
        .collect()
}

async fn role(
    dir: &std::path::Path,
    url: &str,
    role: &str,
    config: &str,
    provision: Option<&str>,
) -> Serving {
    let mut command = serve_command(dir, url, Some(config), provision);
    command.args(["--role", role]);
    Serving::start(command).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_worker_leaves_its_work_to_another() {
    let Some(db) = gerbang_store::testing::postgres_database().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (config, provision) = burst_files(dir.path(), CONFIG);
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let api = role(dir.path(), &db.url, "api", &config, Some(&provision)).await;
    let client = Client::new(api.api.clone(), dev_credentials());
    let transfers: Arc<Vec<Transfer>> =
        Arc::new(transfers(&client, "LEASE", TRANSFERS, &receiver.url()).await);
    let timestamp = client.timestamp().await;
    let accepted = in_parallel((0..TRANSFERS).collect(), |i| {
        let (client, transfers, timestamp) = (client.clone(), transfers.clone(), timestamp.clone());
        async move { retry(&client, &timestamp, &transfers[i].body).await }
    })
    .await;
    for (t, answer) in transfers.iter().zip(&accepted) {
        assert_eq!(answer["status"], "1", "{}: {answer}", t.trx_no);
    }
    assert!(receiver.received().is_empty(), "an API node dispatched");

    // The first worker starts on them and dies in the middle.
    let first = role(dir.path(), &db.url, "worker", &config, None).await;
    receiver.wait_for(KILL_AFTER, Duration::from_secs(30)).await;
    first.kill9().await;
    let done_by_first = called_back(&receiver).len();
    assert!(
        done_by_first < TRANSFERS,
        "the first worker finished everything before the kill"
    );

    // Another worker takes what was never claimed at once, and what the dead one
    // held once its leases run out (the sandbox clock moved past them).
    let second = role(dir.path(), &db.url, "worker", &config, None).await;
    // What the dead worker held stays held until its lease runs out: the rest
    // settles, and then nothing moves for a while.
    let mut last = (0, 0);
    let mut still = 0;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let b = api.api.balance(VA).await;
        let now = (
            minor(b["pending"].as_str().unwrap_or("0")),
            called_back(&receiver).len(),
        );
        still = if now == last { still + 1 } else { 0 };
        last = now;
        if still >= 8 {
            break;
        }
    }
    let (held, settled) = last;
    assert!(still >= 8, "the second worker never came to rest");
    assert!(
        held > 0 && settled < TRANSFERS && settled + 8 >= TRANSFERS,
        "the dead worker's leased transfers (at most one batch) wait: {held} held, {settled} settled"
    );
    api.api.advance_clock(61).await;
    eventually(
        "every transfer settled",
        Duration::from_secs(60),
        || async {
            let b = api.api.balance(VA).await;
            (b["pending"] == "0.00").then_some(())
        },
    )
    .await;
    let timestamp = client.timestamp().await;
    let succeeded_minor = settled_minor(&client, &transfers, &timestamp).await;
    // Each success taken from the balance once.
    let (balance, available) = client.balance().await;
    assert_eq!(minor(&balance), OPENING_MINOR - succeeded_minor);
    assert_eq!(minor(&available), minor(&balance), "nothing still held");
    // Every final status called back (a callback the dead worker sent but never
    // recorded may come twice; none is missing).
    let all = eventually("every callback", Duration::from_secs(30), || async {
        let got = called_back(&receiver);
        (got.len() == TRANSFERS).then_some(got)
    })
    .await;
    assert_eq!(all.len(), TRANSFERS);
    second.stop().await;
    api.stop().await;
    let check = run(dir.path(), &["ledger", "check", "--database-url", &db.url]).await;
    check.expect_code(0);
}
