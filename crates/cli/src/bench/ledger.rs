//! `gerbang bench ledger`: durable ledger transfers per second through the real
//! store (each transfer = a hold committed, then the hold posted to a clearing
//! account, both fsynced), and in the same run the raw limit: the same rows a
//! transfer leaves behind (a hold, an entry, two postings), written as plain
//! batched INSERTs with the same durability and batch size, with no reads,
//! checks or balance updates.

use clap::Args;
use gerbang_core::ledger::{
    codes, AccountKind, LedgerOp, NewAccount, NewEntry, NewHold, PostHold, Posting,
};
use gerbang_core::{Clock, Currency, SystemClock};
use gerbang_store::{SharedStore, Step};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct LedgerBench {
    /// sqlite, postgres or both.
    #[arg(long, default_value = "sqlite")]
    backend: String,
    /// Transfers to make.
    #[arg(long, default_value_t = 200_000)]
    transfers: u64,
    /// Transfers in flight at once.
    #[arg(long, default_value_t = 4096)]
    concurrency: u64,
    /// Distinct source accounts the transfers spread over.
    #[arg(long, default_value_t = 64)]
    accounts: u64,
    /// Rounds of each measurement; the median is reported.
    #[arg(long, default_value_t = 5)]
    rounds: u32,
    /// PostgreSQL database to use (a scratch one: the bench adds accounts and a table).
    #[arg(long, env = "GERBANG_BENCH_POSTGRES_URL")]
    postgres_url: Option<String>,
}

struct Figures {
    backend: &'static str,
    transfers: u64,
    transfers_per_s: f64,
    raw_limit_per_s: f64,
    /// Median of the rounds' own ratios (each round measured both back to back).
    ratio: f64,
}

impl Figures {
    /// Medians over rounds of (transfers/s, raw limit/s).
    fn from_rounds(backend: &'static str, transfers: u64, rounds: Vec<(f64, f64)>) -> Self {
        Figures {
            backend,
            transfers,
            transfers_per_s: median(rounds.iter().map(|r| r.0).collect()),
            raw_limit_per_s: median(rounds.iter().map(|r| r.1).collect()),
            ratio: median(rounds.iter().map(|r| r.0 / r.1).collect()),
        }
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

pub async fn run(args: LedgerBench) -> anyhow::Result<ExitCode> {
    let rounds = args.rounds.max(1);
    let mut results = Vec::new();
    if matches!(args.backend.as_str(), "sqlite" | "both") {
        let mut rounds_measured = Vec::new();
        for _ in 0..rounds {
            // The raw limit and the transfers are measured back to back, each on a
            // fresh file, so that both see the same machine.
            let raw_dir = tempfile::tempdir()?;
            let raw = sqlite_raw_limit(&raw_dir.path().join("raw.db"), args.transfers)?;
            drop(raw_dir);
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("bench.db");
            let store = gerbang_store::connect(&format!("sqlite://{}", path.display())).await?;
            let rate = transfers(&store, &args).await?;
            drop(store);
            rounds_measured.push((rate, raw));
        }
        results.push(Figures::from_rounds(
            "sqlite",
            args.transfers,
            rounds_measured,
        ));
    }
    if matches!(args.backend.as_str(), "postgres" | "both") {
        let Some(url) = args.postgres_url.clone() else {
            anyhow::bail!(
                "--postgres-url (or GERBANG_BENCH_POSTGRES_URL) is needed for the PostgreSQL bench"
            );
        };
        let store = gerbang_store::connect(&url).await?;
        let mut rounds_measured = Vec::new();
        for _ in 0..rounds {
            let raw = postgres_raw_limit(&url, args.transfers).await?;
            rounds_measured.push((transfers(&store, &args).await?, raw));
        }
        results.push(Figures::from_rounds(
            "postgres",
            args.transfers,
            rounds_measured,
        ));
    }
    if results.is_empty() {
        anyhow::bail!("--backend: sqlite, postgres or both");
    }
    for f in &results {
        println!(
            "{:<8}  {:>9.0} durable transfers/s  raw limit {:>9.0}/s  ratio {:.2}  (median of {rounds} rounds of {} transfers, concurrency {})",
            f.backend,
            f.transfers_per_s,
            f.raw_limit_per_s,
            f.ratio,
            f.transfers,
            args.concurrency
        );
    }
    for f in &results {
        println!(
            "{}",
            serde_json::json!({
                "bench": "ledger",
                "backend": f.backend,
                "transfers": f.transfers,
                "concurrency": args.concurrency,
                "rounds": rounds,
                "transfers_per_s": f.transfers_per_s.round(),
                "raw_limit_per_s": f.raw_limit_per_s.round(),
                "ratio": (f.ratio * 100.0).round() / 100.0,
            })
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Durable ledger transfers per second on a fresh SQLite file, with this bench's
/// defaults: the figure other benches compare their work with.
pub(super) async fn sqlite_transfers_per_s(transfers_to_make: u64) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.db");
    let store = gerbang_store::connect(&format!("sqlite://{}", path.display())).await?;
    let args = LedgerBench {
        backend: "sqlite".into(),
        transfers: transfers_to_make,
        concurrency: 4096,
        accounts: 64,
        rounds: 1,
        postgres_url: None,
    };
    transfers(&store, &args).await
}

async fn transfers(store: &SharedStore, args: &LedgerBench) -> anyhow::Result<f64> {
    let clock = Arc::new(SystemClock);
    let run = format!("bench{}", clock.now().as_micros());
    let sources: Vec<String> = (0..args.accounts.max(1))
        .map(|i| format!("{run}:partner:{i}"))
        .collect();
    let clearing = format!("{run}:clearing");
    let mut accounts: Vec<NewAccount> = sources
        .iter()
        .map(|code| NewAccount {
            code: code.clone(),
            kind: AccountKind::PartnerBalance,
            currency: Currency::Idr,
        })
        .collect();
    accounts.push(NewAccount {
        code: clearing.clone(),
        kind: AccountKind::ChannelClearing,
        currency: Currency::Idr,
    });
    accounts.push(NewAccount {
        code: codes::OPERATOR_FUNDING.into(),
        kind: AccountKind::OperatorFunding,
        currency: Currency::Idr,
    });
    let per_account = (args.transfers / args.accounts.max(1) + 1) as i64 * 100;
    let funding = sources
        .iter()
        .map(|code| {
            LedgerOp::Transfer(NewEntry {
                kind: "topup".into(),
                reference: "bench".into(),
                description: "bench funding".into(),
                currency: Currency::Idr,
                postings: vec![
                    Posting {
                        account: codes::OPERATOR_FUNDING.into(),
                        amount: -per_account,
                    },
                    Posting {
                        account: code.clone(),
                        amount: per_account,
                    },
                ],
            })
        })
        .collect();
    store
        .commit(
            clock.now(),
            Step {
                accounts,
                ledger: funding,
                ..Step::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("bench setup: {e}"))?;

    let sources = Arc::new(sources);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..args.concurrency.max(1) {
        let (store, clock, sources, clearing, run) = (
            store.clone(),
            clock.clone(),
            sources.clone(),
            clearing.clone(),
            run.clone(),
        );
        let (total, step) = (args.transfers, args.concurrency.max(1));
        tasks.push(tokio::spawn(async move {
            let mut n = worker;
            while n < total {
                let key = format!("{run}:{n}");
                let source = &sources[(n as usize) % sources.len()];
                store
                    .commit(
                        clock.now(),
                        Step {
                            ledger: vec![LedgerOp::Hold(NewHold {
                                key: key.clone(),
                                account: source.clone(),
                                amount: 100,
                                currency: Currency::Idr,
                                expires_at: None,
                            })],
                            ..Step::default()
                        },
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!("hold: {e}"))?;
                store
                    .commit(
                        clock.now(),
                        Step {
                            ledger: vec![LedgerOp::Post(PostHold {
                                key: key.clone(),
                                kind: "transfer".into(),
                                reference: key,
                                description: "bench transfer".into(),
                                credits: vec![Posting {
                                    account: clearing.clone(),
                                    amount: 100,
                                }],
                            })],
                            ..Step::default()
                        },
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!("post: {e}"))?;
                n += step;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let seconds = started.elapsed().as_secs_f64();
    let report = store.check_ledger().await?;
    if !report.is_clean() {
        anyhow::bail!("ledger check failed after the bench: {:?}", report.problems);
    }
    Ok(args.transfers as f64 / seconds)
}

/// Plain batched inserts of a transfer's rows, WAL with `synchronous=FULL`, in
/// transactions as large as the store's group commit takes.
fn sqlite_raw_limit(path: &std::path::Path, transfers: u64) -> anyhow::Result<f64> {
    let conn = rusqlite::Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE holds (key TEXT PRIMARY KEY, account_id INTEGER, amount INTEGER, state TEXT, created_at INTEGER) WITHOUT ROWID;
         CREATE TABLE entries (id INTEGER PRIMARY KEY, kind TEXT, reference TEXT, created_at INTEGER);
         CREATE TABLE postings (id INTEGER PRIMARY KEY, entry_id INTEGER, account_id INTEGER, amount INTEGER, created_at INTEGER);
         CREATE INDEX postings_by_account ON postings (account_id, created_at, id);",
    )?;
    let batch = (gerbang_store::sqlite::MAX_BATCH / 2) as u64;
    let started = Instant::now();
    let mut n = 0u64;
    while n < transfers {
        let tx = conn.unchecked_transaction()?;
        {
            let mut hold =
                tx.prepare_cached("INSERT INTO holds VALUES (?1, ?2, 100, 'posted', ?3)")?;
            let mut entry = tx.prepare_cached(
                "INSERT INTO entries (kind, reference, created_at) VALUES ('transfer', ?1, ?2)",
            )?;
            let mut posting = tx.prepare_cached(
                "INSERT INTO postings (entry_id, account_id, amount, created_at) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let end = (n + batch).min(transfers);
            for i in n..end {
                let key = format!("raw:{i}");
                let at = i as i64;
                hold.execute(rusqlite::params![key, (i % 64) as i64, at])?;
                entry.execute(rusqlite::params![key, at])?;
                let entry_id = tx.last_insert_rowid();
                posting.execute(rusqlite::params![entry_id, (i % 64) as i64, -100, at])?;
                posting.execute(rusqlite::params![entry_id, 1000, 100, at])?;
            }
            n = end;
        }
        tx.commit()?;
    }
    Ok(transfers as f64 / started.elapsed().as_secs_f64())
}

/// The same rows on PostgreSQL, batched with the same transaction size, pipelined
/// on one connection per core.
async fn postgres_raw_limit(url: &str, transfers: u64) -> anyhow::Result<f64> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let table = format!("bench_raw_{}", std::process::id());
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {table}_holds, {table}_entries, {table}_postings;
             CREATE TABLE {table}_holds (key TEXT PRIMARY KEY, account_id BIGINT, amount BIGINT, state TEXT, created_at BIGINT);
             CREATE TABLE {table}_entries (id BIGSERIAL PRIMARY KEY, kind TEXT, reference TEXT, created_at BIGINT);
             CREATE TABLE {table}_postings (id BIGSERIAL PRIMARY KEY, entry_id BIGINT, account_id BIGINT, amount BIGINT, created_at BIGINT);
             CREATE INDEX ON {table}_postings (account_id, created_at, id);"
        ))
        .await?;
    let batch = 1000u64;
    let started = Instant::now();
    let mut n = 0u64;
    while n < transfers {
        let end = (n + batch).min(transfers);
        let keys: Vec<String> = (n..end).map(|i| format!("raw:{i}")).collect();
        let accounts: Vec<i64> = (n..end).map(|i| (i % 64) as i64).collect();
        let ats: Vec<i64> = (n..end).map(|i| i as i64).collect();
        client.batch_execute("BEGIN").await?;
        client
            .execute(
                &format!("INSERT INTO {table}_holds SELECT k, a, 100, 'posted', t FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS x(k, a, t)"),
                &[&keys, &accounts, &ats],
            )
            .await?;
        client
            .execute(
                &format!(
                    "WITH e AS (INSERT INTO {table}_entries (kind, reference, created_at)
                        SELECT 'transfer', k, t FROM unnest($1::text[], $3::bigint[]) AS x(k, t) RETURNING id, reference)
                     INSERT INTO {table}_postings (entry_id, account_id, amount, created_at)
                        SELECT e.id, x.a, -100, x.t FROM e JOIN unnest($1::text[], $2::bigint[], $3::bigint[]) AS x(k, a, t) ON x.k = e.reference
                        UNION ALL SELECT e.id, 1000, 100, 0 FROM e"
                ),
                &[&keys, &accounts, &ats],
            )
            .await?;
        client.batch_execute("COMMIT").await?;
        n = end;
    }
    let rate = transfers as f64 / started.elapsed().as_secs_f64();
    client
        .batch_execute(&format!(
            "DROP TABLE {table}_holds, {table}_entries, {table}_postings"
        ))
        .await?;
    Ok(rate)
}
