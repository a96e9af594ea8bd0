//! PostgreSQL failing under a burst of SendMe transfers: restarted (`pg_ctl
//! restart -m fast`) under two gateway processes, or its connections cut by a
//! TCP proxy in the middle of commits. While it fails the gateways answer
//! errors, never a success they did not keep; they reconnect by themselves;
//! afterwards exact retries give each trx_no exactly one transfer (the
//! acknowledged ones theirs: a step is wholly there or wholly absent), every
//! transfer settles once, the ledger check is clean and every final status is
//! called back. Each runs on a cluster of its own (the shared test cluster serves
//! other tests meanwhile), so only where PostgreSQL is installed and configured
//! for the suite.

use crate::burst::*;
use crate::client::Client;
use crate::common::*;
use crate::fixture::{dev_credentials, minor, VA};
use crate::support::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

const TRANSFERS: usize = 300;
/// Accepted answers to see before the restart.
const RESTART_AFTER: usize = 40;
const CONFIG: &str = "[notifier]\ntimeout_seconds = 5\nfirst_retry_seconds = 1\n\
                      poll_millis = 50\n\n[scheduler]\npoll_millis = 50\n\n\
                      [simulator]\nbank_latency_seconds = 0\n";

/// The newest PostgreSQL's programs.
fn bindir() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|d| d.join("pg_ctl").exists())
        .collect();
    dirs.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop().expect("a PostgreSQL with pg_ctl")
}

/// `pg_ctl ARGS -D DATA`, as the cluster's owner.
fn pg_ctl(data: &Path, args: &[&str]) {
    let pg_ctl = bindir().join("pg_ctl");
    let root = nix_is_root();
    let mut command = if root {
        let mut c = std::process::Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&pg_ctl);
        c
    } else {
        std::process::Command::new(&pg_ctl)
    };
    let status = command
        .args(args)
        .arg("-D")
        .arg(data)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("pg_ctl runs");
    assert!(status.success(), "pg_ctl {args:?}: {status}");
}

fn nix_is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// A cluster of this test's own in `folder`: its port and the URL of a fresh
/// database.
async fn own_cluster(folder: &Path) -> (u16, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/start-test-postgres");
    let out = std::process::Command::new(script)
        .arg(folder)
        .arg(port.to_string())
        .output()
        .expect("start-test-postgres runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let admin = format!("postgres://gerbang@127.0.0.1:{port}/postgres");
    gerbang_store::testing::execute_on_server(&admin, "CREATE DATABASE restart")
        .await
        .expect("database created");
    (
        port,
        gerbang_store::testing::replace_database(&admin, "restart"),
    )
}

/// A TCP proxy in front of 127.0.0.1:`upstream`: its port, and a switch that cuts
/// every connection through it at once (new ones go through again).
async fn proxy(upstream: u16) -> (u16, tokio::sync::watch::Sender<u64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (cuts, watching) = tokio::sync::watch::channel(0u64);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let mut cut = watching.clone();
            cut.borrow_and_update();
            tokio::spawn(async move {
                let Ok(mut server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                else {
                    return;
                };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    // Both ends dropped: each side sees its connection end.
                    _ = cut.changed() => {}
                }
            });
        }
    });
    (port, cuts)
}

/// What each transfer of the burst was answered: the acknowledged ones' trx_id,
/// and how many got an error or no answer.
async fn outcomes(
    burst: Vec<tokio::task::JoinHandle<Outcome>>,
) -> (BTreeMap<usize, String>, usize) {
    let mut acknowledged = BTreeMap::new();
    let mut refused = 0;
    for (i, task) in burst.into_iter().enumerate() {
        match task.await.expect("burst task") {
            Outcome::Accepted(id) => {
                acknowledged.insert(i, id);
            }
            // An error answer or a cut connection: the partner retries.
            Outcome::Unexpected(_) | Outcome::Lost(_) => refused += 1,
        }
    }
    (acknowledged, refused)
}

/// After the fault: exact retries of every transfer through the gateways that
/// lived through it give each trx_no one transfer (an acknowledged one its own),
/// each settles once, and each final status is called back.
async fn everything_once(
    clients: &[Client; 2],
    transfers: &Arc<Vec<Transfer>>,
    acknowledged: &BTreeMap<usize, String>,
    receiver: &Receiver,
) {
    // Both gateways serve again without being restarted: exact retries of every
    // transfer give each trx_no one transfer, an acknowledged one its own.
    let timestamp = clients[1].timestamp().await;
    let answers = eventually("retries answered", Duration::from_secs(60), || {
        let (clients, transfers, timestamp) =
            (clients.to_vec(), transfers.clone(), timestamp.clone());
        async move {
            let answers = in_parallel((0..TRANSFERS).collect(), move |i| {
                let (client, transfers, timestamp) = (
                    clients[(i + 1) % 2].clone(),
                    transfers.clone(),
                    timestamp.clone(),
                );
                async move { retry(&client, &timestamp, &transfers[i].body).await }
            })
            .await;
            answers
                .iter()
                .all(|a| a["trx_id"].is_u64())
                .then_some(answers)
        }
    })
    .await;
    let mut ids = BTreeSet::new();
    for (i, answer) in answers.iter().enumerate() {
        let id = trx_id_of(answer);
        if let Some(first) = acknowledged.get(&i) {
            assert_eq!(
                &id, first,
                "{}: a retry got another transfer",
                transfers[i].trx_no
            );
        }
        ids.insert(id);
    }
    assert_eq!(ids.len(), TRANSFERS, "a trx_id serves two trx_no");

    eventually(
        "every transfer settled",
        Duration::from_secs(60),
        || async {
            let balance = clients[0].api.balance(VA).await;
            (balance["pending"] == "0.00").then_some(())
        },
    )
    .await;
    let succeeded = settled_minor(&clients[0], transfers, &timestamp).await;
    let (balance, available) = clients[0].balance().await;
    assert_eq!(
        minor(&balance),
        OPENING_MINOR - succeeded,
        "each success taken once"
    );
    assert_eq!(minor(&available), minor(&balance));
    eventually(
        "every final status called back",
        Duration::from_secs(60),
        || async {
            let got: BTreeSet<String> = receiver
                .received()
                .iter()
                .filter_map(|r| r.json()["trx_no"].as_str().map(str::to_string))
                .collect();
            (got.len() == TRANSFERS).then_some(())
        },
    )
    .await;
}

/// Sends the burst over both gateways, each transfer 10 ms after the one before;
/// `during` runs once `after` of them were acknowledged.
async fn burst_with<F: std::future::Future<Output = ()>>(
    clients: &[Client; 2],
    transfers: &Arc<Vec<Transfer>>,
    after: usize,
    during: F,
) -> (BTreeMap<usize, String>, usize) {
    let timestamp = clients[0].timestamp().await;
    let accepted_so_far = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(Notify::new());
    let burst: Vec<_> = (0..TRANSFERS)
        .map(|i| {
            let (client, transfers) = (clients[i % 2].clone(), transfers.clone());
            let (accepted_so_far, answered) = (accepted_so_far.clone(), answered.clone());
            let timestamp = timestamp.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(10 * i as u64)).await;
                let outcome = burst_transfer(&client, &timestamp, &transfers[i].body).await;
                if let Outcome::Accepted(_) = outcome {
                    accepted_so_far.fetch_add(1, Ordering::SeqCst);
                    answered.notify_one();
                }
                outcome
            })
        })
        .collect();
    tokio::time::timeout(Duration::from_secs(30), async {
        while accepted_so_far.load(Ordering::SeqCst) < after {
            answered.notified().await;
        }
    })
    .await
    .expect("transfers accepted before the fault");
    during.await;
    outcomes(burst).await
}

/// Two gateways on `url` (the database, or a way to it), a partner with a large
/// balance, a callback receiver, and the burst's transfers.
struct Rig {
    dir: tempfile::TempDir,
    cluster: PathBuf,
    nodes: [Serving; 2],
    clients: [Client; 2],
    transfers: Arc<Vec<Transfer>>,
    receiver: Receiver,
}

impl Rig {
    /// Two gateways on `url`, logging what `log` lets through.
    async fn start(
        dir: tempfile::TempDir,
        cluster: PathBuf,
        url: &str,
        prefix: &str,
        log: &str,
    ) -> Rig {
        let (config, provision) = burst_files(dir.path(), CONFIG);
        let receiver = Receiver::start(Behaviour::Answer(200)).await;
        let start = || {
            let mut command = serve_command(dir.path(), url, Some(&config), Some(&provision));
            command.env("GERBANG_LOG", log);
            Serving::start(command)
        };
        let (a, b) = tokio::join!(start(), start());
        let clients = [
            Client::new(a.api.clone(), dev_credentials()),
            Client::new(b.api.clone(), dev_credentials()),
        ];
        let transfers = Arc::new(transfers(&clients[0], prefix, TRANSFERS, &receiver.url()).await);
        Rig {
            dir,
            cluster,
            nodes: [a, b],
            clients,
            transfers,
            receiver,
        }
    }

    /// After the fault: every transfer once (see [`everything_once`]), the
    /// gateways stopped, the ledger checked on `url`, the cluster stopped.
    async fn finish(self, url: &str, acknowledged: &BTreeMap<usize, String>) {
        everything_once(&self.clients, &self.transfers, acknowledged, &self.receiver).await;
        let [a, b] = self.nodes;
        a.stop().await;
        b.stop().await;
        run(self.dir.path(), &["ledger", "check", "--database-url", url])
            .await
            .expect_code(0);
        pg_ctl(&self.cluster.join("data"), &["stop", "-m", "immediate"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gateways_ride_out_a_postgres_restart() {
    if std::env::var("GERBANG_TEST_POSTGRES_URL").is_err() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cluster = dir.path().join("pg");
    let (_, url) = own_cluster(&cluster).await;
    let rig = Rig::start(dir, cluster.clone(), &url, "PGR", "warn").await;
    let data = cluster.join("data");
    let (acknowledged, refused) = burst_with(&rig.clients, &rig.transfers, RESTART_AFTER, async {
        pg_ctl(&data, &["restart", "-m", "fast", "-w", "-t", "60"]);
    })
    .await;
    assert!(acknowledged.len() >= RESTART_AFTER);
    eprintln!(
        "{} acknowledged before or across the restart, {refused} answered with an error or cut",
        acknowledged.len()
    );
    rig.finish(&url, &acknowledged).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commits_cut_off_from_postgres_are_whole_or_absent() {
    if std::env::var("GERBANG_TEST_POSTGRES_URL").is_err() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cluster = dir.path().join("pg");
    let (port, url) = own_cluster(&cluster).await;
    let (through, cuts) = proxy(port).await;
    let proxied = url.replace(&format!(":{port}/"), &format!(":{through}/"));
    // The committers say when they run a batch again.
    let rig = Rig::start(
        dir,
        cluster,
        &proxied,
        "CUT",
        "warn,gerbang_store::postgres::committer=debug",
    )
    .await;
    // Every connection to the database cut eight times, 250 ms apart, while the
    // transfers come: commits are cut in the middle.
    let (acknowledged, refused) = burst_with(&rig.clients, &rig.transfers, 20, async {
        for _ in 0..8 {
            cuts.send_modify(|n| *n += 1);
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
    .await;
    // The cuts met work in flight: a request answered with an error (its commit's
    // outcome unknown, or a read cut), or a batch cut before its COMMIT and run
    // again on a fresh connection.
    let rerun = rig
        .nodes
        .iter()
        .filter(|n| n.stderr().contains("batch conflicted; trying again"))
        .count();
    assert!(
        refused > 0 || rerun > 0,
        "no request and no batch met a cut connection"
    );
    eprintln!(
        "{} acknowledged across the cuts, {refused} answered with an error, {rerun} gateway(s) ran a cut batch again",
        acknowledged.len()
    );
    rig.finish(&url, &acknowledged).await;
}
