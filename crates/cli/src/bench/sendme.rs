//! `gerbang bench sendme`: signed SendMe transfer requests over HTTP against a real
//! gateway process (SQLite, fsync on), reporting accepted transfers per second,
//! p50/p99 latency and the gateway's peak RSS; and in the same run the bare-HTTP
//! limit: the same client against a trivial handler on this machine.
//!
//! Client and gateway share this machine's cores, so the load generator is kept
//! lean: a plain HTTP/1.1 keep-alive connection per request in flight, the body
//! serialised once with only `trx_no` rewritten, and the SDK's per-request
//! timestamp and signature computed once per second (they only change with the
//! second). The gateway does exactly the work it does for an SDK; every answer is
//! parsed and counted as accepted only if its `status` is `"1"`. The CPU time each
//! side spent per request is printed, so a busy client shows up.

use super::load::{
    bare_http_limit, cpu_seconds, cpu_seconds_of_command, drive_spread, write_post, Gateway,
    Request,
};
use super::round_trips::RoundTrips;
use anyhow::Context;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::Args;
use gerbang_protocol::sendme::crypto::AesKey;
use serde_json::{json, Value};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct SendmeBench {
    /// Transfers to send. The default runs long enough (about ten seconds) that
    /// the bank's answers, their settlement and the callbacks load the gateway for
    /// most of the run, not only its end.
    #[arg(long, default_value_t = 150_000)]
    requests: u64,
    /// Requests in flight at once. The default keeps the gateway's group commit
    /// full on a small machine: with fewer, its cores idle while each batch waits
    /// for its fsync, and the figure measures the disk's sync latency instead.
    #[arg(long, default_value_t = 128)]
    concurrency: u64,
    /// The gateway's `GERBANG_LOG` filter; `info` writes a line per request (to a
    /// discarded stderr), to measure what request logging costs.
    #[arg(long, default_value = "warn")]
    gateway_log: String,
    /// The gateway's `GERBANG_LOG_FORMAT` (`text` or `json`).
    #[arg(long, default_value = "text")]
    gateway_log_format: String,
    /// `sqlite` (a database of the gateway's own) or `postgres` (a scratch
    /// database at `--postgres-url`, shared by every gateway).
    #[arg(long, default_value = "sqlite")]
    backend: String,
    /// Gateway processes sharing the database (PostgreSQL only); the transfers are
    /// spread evenly over them.
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// The scratch PostgreSQL database (its tables are made and kept).
    #[arg(long, env = "GERBANG_BENCH_POSTGRES_URL")]
    postgres_url: Option<String>,
    /// Connect the gateways straight to PostgreSQL, not through the relay that
    /// counts round trips.
    #[arg(long)]
    direct: bool,
}

/// What PostgreSQL counted for one database: committed and rolled-back
/// transactions.
async fn transactions(url: &str) -> anyhow::Result<i64> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT (xact_commit + xact_rollback)::bigint FROM pg_stat_database
             WHERE datname = current_database()",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

const VA: &str = "9920088888";
const FASPAY_KEY: &str = "bench-faspay-key";
const SECRET: &str = "19c887a3-49af-4087-8e82-58a1875b1452";
const IV: &str = "faspay2018xAuth";
const APP_KEY: &str = "8e734017-d7c1-49f2-8202-377faaff6a1c";
const APP_SECRET: &str = "f26a4e84-cbba-4023-b3d9-40892c5638d4";
const CLIENT_KEY: &str = "e5d7e3be-3f44-4da2-918d-3b98db499ed3";
const CLIENT_SECRET: &str = "0afd3f5b-b20e-4dc2-8222-d7a571a31c4c";

/// The SDKs' `faspay-timestamp` of a request sent at `now`: Jakarta time, to the
/// second.
fn sdk_timestamp(now: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    now.to_offset(gerbang_core::timestamp::JAKARTA)
        .format(&f)
        .unwrap_or_default()
}

/// The SDKs' `faspay-signature` of a request stamped `ts`; `token` is the access
/// token of a service call, none for the token request itself.
fn sdk_signature(aes: &AesKey, method: &str, path: &str, ts: &str, token: Option<&str>) -> String {
    let token_part = match token {
        Some(t) => STANDARD.encode(format!("{CLIENT_KEY}:{CLIENT_SECRET}:{t}")),
        None => STANDARD.encode(format!("{CLIENT_KEY}:{CLIENT_SECRET}")),
    };
    aes.encrypt_b64(&format!("{method}:{path}:{ts}:{token_part}:"))
}

/// A SendMe client signing like the SDKs.
struct Client {
    http: reqwest::Client,
    base: String,
    aes: AesKey,
    authorization: String,
}

impl Client {
    fn new(base: String) -> anyhow::Result<Self> {
        let aes = AesKey::derive(SECRET, IV);
        Ok(Client {
            http: reqwest::Client::builder()
                .no_proxy()
                .pool_max_idle_per_host(1024)
                .timeout(Duration::from_secs(30))
                .build()?,
            base,
            authorization: aes.encrypt_b64(&format!("{APP_KEY}:{APP_SECRET}")),
            aes,
        })
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<Value> {
        let ts = sdk_timestamp(time::OffsetDateTime::now_utc());
        let signature = sdk_signature(&self.aes, method, path, &ts, token);
        let url = if token.is_some() {
            format!("{}{path}", self.base)
        } else {
            format!("{}/account/api/tokens", self.base)
        };
        let answer = self
            .http
            .post(url)
            .header("faspay-key", FASPAY_KEY)
            .header("faspay-timestamp", ts)
            .header("faspay-authorization", &self.authorization)
            .header("faspay-signature", signature)
            .json(body)
            .send()
            .await?
            .json::<Value>()
            .await?;
        Ok(answer)
    }

    async fn token(&self, next_path: &str) -> anyhow::Result<String> {
        let answer = self.call("GET", next_path, None, &json!({})).await?;
        answer["access_token"]
            .as_str()
            .map(String::from)
            .with_context(|| format!("no token: {answer}"))
    }

    async fn service(&self, method: &str, path: &str, body: &Value) -> anyhow::Result<Value> {
        let token = self.token(path).await?;
        self.call(method, path, Some(&token), body).await
    }
}

struct Transfer {
    host: String,
    /// The body with `trx_no` = `BENCH0000000000`; its digits sit at `digits`.
    body: Vec<u8>,
    digits: std::ops::Range<usize>,
    aes: AesKey,
    authorization: String,
    token: String,
    /// The header lines for the current second: (unix second, lines).
    signed: std::sync::Mutex<(i64, String)>,
}

const TRANSFER_PATH: &str = "/account/api/transfer";

impl Transfer {
    /// Transfers signed as `client` signs, to the gateway at `host`.
    fn new(client: &Client, host: String, beneficiary_va: &str, token: String) -> Self {
        let body = serde_json::to_vec(&json!({
            "virtual_account": VA, "beneficiary_virtual_account": beneficiary_va,
            "beneficiary_account": "1020006137", "beneficiary_name": "Bench Beneficiary",
            "beneficiary_bank_code": "014", "beneficiary_region_code": "0102",
            "beneficiary_country_code": "ID", "beneficiary_purpose_code": "1",
            "trx_no": "BENCH0000000000", "trx_date": "2026-01-01 00:00:00",
            "instruct_date": "", "trx_amount": "1000000", "trx_desc": "Bench",
            "callback_url": "http://127.0.0.1:9/callback",
        }))
        .expect("serialises");
        let at = body
            .windows(17)
            .position(|w| w == b"\"BENCH0000000000\"")
            .expect("trx_no in the body")
            + 6;
        Transfer {
            host,
            body,
            digits: at..at + 10,
            aes: client.aes.clone(),
            authorization: client.authorization.clone(),
            token,
            signed: std::sync::Mutex::new((i64::MIN, String::new())),
        }
    }

    /// The SDK's headers for a request sent now; timestamp and signature change
    /// once a second.
    fn headers(&self) -> String {
        let now = time::OffsetDateTime::now_utc();
        let second = now.unix_timestamp();
        let mut signed = self.signed.lock().expect("signed headers");
        if signed.0 != second {
            let ts = sdk_timestamp(now);
            let signature = sdk_signature(&self.aes, "POST", TRANSFER_PATH, &ts, Some(&self.token));
            *signed = (
                second,
                format!(
                    "faspay-key: {FASPAY_KEY}\r\nfaspay-timestamp: {ts}\r\n\
                     faspay-authorization: {}\r\nfaspay-signature: {signature}\r\n",
                    self.authorization
                ),
            );
        }
        signed.1.clone()
    }
}

impl Request for Transfer {
    fn write(&self, n: u64, out: &mut Vec<u8>) {
        let headers = self.headers();
        write_post(out, &self.host, TRANSFER_PATH, &headers, &self.body);
        let body_at = out.len() - self.body.len();
        let digits = format!("{:010}", n % 10_000_000_000);
        out[body_at + self.digits.start..body_at + self.digits.end]
            .copy_from_slice(digits.as_bytes());
    }

    fn accepted(&self, status: u16, body: &[u8]) -> bool {
        status == 200
            && serde_json::from_slice::<Value>(body).is_ok_and(|answer| answer["status"] == "1")
    }
}

/// The bare-HTTP request: a small JSON body to a trivial handler.
pub async fn run(args: SendmeBench) -> anyhow::Result<ExitCode> {
    let provision = format!(
        "[[sendme_partner]]\nvirtual_account = \"{VA}\"\nname = \"Bench Partner\"\n\
         faspay_key = \"{FASPAY_KEY}\"\nfaspay_secret = \"{SECRET}\"\niv = \"{IV}\"\n\
         app_key = \"{APP_KEY}\"\napp_secret = \"{APP_SECRET}\"\nclient_key = \"{CLIENT_KEY}\"\n\
         client_secret = \"{CLIENT_SECRET}\"\nopening_balance = \"900000000000.00\"\n"
    );
    let postgres = match args.backend.as_str() {
        "sqlite" => {
            anyhow::ensure!(args.nodes == 1, "--nodes above 1 needs --backend postgres");
            None
        }
        "postgres" => Some(
            args.postgres_url
                .clone()
                .context("--backend postgres needs --postgres-url (a scratch database)")?,
        ),
        other => anyhow::bail!("--backend: sqlite or postgres, not {other}"),
    };
    anyhow::ensure!(args.nodes >= 1, "--nodes: at least 1");
    let relay = match &postgres {
        Some(url) if !args.direct => Some(RoundTrips::start(url).await?),
        _ => None,
    };
    let gateways_url = relay.as_ref().map(|r| r.url.clone()).or(postgres.clone());
    let mut gateways = Vec::with_capacity(args.nodes);
    for _ in 0..args.nodes {
        gateways.push(
            Gateway::start_on(
                gateways_url.as_deref(),
                &provision,
                &args.gateway_log,
                &args.gateway_log_format,
            )
            .await?,
        );
    }
    let gateway = &gateways[0];
    let client = Arc::new(Client::new(format!("http://{}", gateway.addr))?);

    // A beneficiary to pay.
    let account = json!({
        "virtual_account": VA, "beneficiary_account": "1020006137", "beneficiary_account_name": "Bench Beneficiary",
        "beneficiary_va_name": "Bench", "beneficiary_bank_code": "014", "beneficiary_bank_branch": "KCP Bench",
        "beneficiary_region_code": "0102", "beneficiary_country_code": "ID", "beneficiary_purpose_code": "1",
    });
    let registered = client
        .service("POST", "/account/api/register", &account)
        .await?;
    let mut confirm = account.clone();
    confirm["bank_account_number"] = registered["bank_account_number"].clone();
    confirm["bank_account_name"] = registered["bank_account_name"].clone();
    confirm["confirm"] = json!("2");
    let confirmed = client
        .service("POST", "/account/api/register/confirm", &confirm)
        .await?;
    let beneficiary_va = confirmed["beneficiary_virtual_account"]
        .as_str()
        .with_context(|| format!("confirm failed: {confirmed}"))?
        .to_string();
    // Tokens live ten hours: one serves the whole run, as a long-lived client would.
    let token = client.token(TRANSFER_PATH).await?;
    let transfer = Arc::new(Transfer::new(
        &client,
        gateway.addr.to_string(),
        &beneficiary_va,
        token,
    ));

    let pids: Vec<String> = gateways.iter().map(|g| g.child.id().to_string()).collect();
    let gateways_cpu = || pids.iter().map(|p| cpu_seconds(p)).sum::<f64>();
    let database_cpu = || {
        if postgres.is_some() {
            cpu_seconds_of_command("postgres")
        } else {
            0.0
        }
    };
    let transactions_now = || async {
        match &postgres {
            Some(url) => transactions(url).await.ok(),
            None => None,
        }
    };
    let addrs: Vec<std::net::SocketAddr> = gateways.iter().map(|g| g.addr).collect();
    let (client_cpu, gateway_cpu, db_cpu) = (cpu_seconds("self"), gateways_cpu(), database_cpu());
    let xacts = transactions_now().await;
    let round_trips = relay.as_ref().map(RoundTrips::count);
    let run = drive_spread(&addrs, args.requests, args.concurrency, transfer).await;
    // Settled: every accepted transfer answered by the bank and posted (the
    // partner's pending amount back to nothing).
    let settle_began = std::time::Instant::now();
    let sandbox = reqwest::Client::builder().no_proxy().build()?;
    let deadline = settle_began + Duration::from_secs(600);
    loop {
        let balance: Value = sandbox
            .get(format!(
                "http://{}/sandbox/partners/{VA}/balance",
                gateway.addr
            ))
            .send()
            .await?
            .json()
            .await?;
        if balance["pending"] == "0.00" {
            break;
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "transfers did not settle"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let settled_per_s = (args.requests - run.failures) as f64
        / (run.seconds + settle_began.elapsed().as_secs_f64());
    let client_cpu = cpu_seconds("self") - client_cpu;
    let gateway_cpu = gateways_cpu() - gateway_cpu;
    let db_cpu = database_cpu() - db_cpu;
    let transactions_per_transfer = match (xacts, transactions_now().await) {
        (Some(before), Some(after)) => Some((after - before) as f64 / args.requests.max(1) as f64),
        _ => None,
    };
    let round_trips_per_transfer = match (round_trips, &relay) {
        (Some(before), Some(relay)) => {
            Some((relay.count() - before) as f64 / args.requests.max(1) as f64)
        }
        _ => None,
    };
    let per_request_us = |cpu: f64| (cpu / args.requests.max(1) as f64 * 1e6).round();
    let rss = gateways
        .iter()
        .map(|g| g.peak_rss_mib())
        .fold(0.0, f64::max);
    drop(gateways);
    let bare = bare_http_limit(
        TRANSFER_PATH,
        serde_json::to_vec(&json!({"virtual_account": VA, "trx_amount": "1000000"}))?,
        json!({"status": "1"}),
        args.requests,
        args.concurrency,
    )
    .await?;

    println!(
        "sendme transfers ({}, {} gateway node(s)): {:>8.0} accepted/s, {:.0} settled/s  p50 {:.1} ms  p99 {:.1} ms  failures {}  gateway peak RSS {:.0} MiB",
        args.backend, args.nodes, run.per_s, settled_per_s, run.p50_ms, run.p99_ms, run.failures, rss
    );
    println!(
        "CPU per transfer: gateways {:.0} µs, PostgreSQL {:.0} µs, bench client {:.0} µs{}",
        per_request_us(gateway_cpu),
        per_request_us(db_cpu),
        per_request_us(client_cpu),
        transactions_per_transfer
            .map(|t| format!("; database transactions per transfer {t:.2}"))
            .unwrap_or_default()
            + &round_trips_per_transfer
                .map(|r| format!(", round trips {r:.2}"))
                .unwrap_or_default()
    );
    println!(
        "bare HTTP limit:  {:>8.0} requests/s  p50 {:.1} ms  p99 {:.1} ms  ({} requests, concurrency {})",
        bare.per_s, bare.p50_ms, bare.p99_ms, args.requests, args.concurrency
    );
    println!(
        "{}",
        json!({
            "bench": "sendme",
            "backend": args.backend,
            "nodes": args.nodes,
            "settled_per_s": settled_per_s.round(),
            "database_cpu_us_per_request": per_request_us(db_cpu),
            "database_transactions_per_request": transactions_per_transfer.map(|t| (t * 100.0).round() / 100.0),
            "database_round_trips_per_request": round_trips_per_transfer.map(|r| (r * 100.0).round() / 100.0),
            "requests": args.requests,
            "concurrency": args.concurrency,
            "accepted_per_s": run.per_s.round(),
            "p50_ms": (run.p50_ms * 10.0).round() / 10.0,
            "p99_ms": (run.p99_ms * 10.0).round() / 10.0,
            "failures": run.failures,
            "peak_rss_mib": rss.round(),
            "gateway_cpu_us_per_request": per_request_us(gateway_cpu),
            "client_cpu_us_per_request": per_request_us(client_cpu),
            "bare_http_per_s": bare.per_s.round(),
            "ratio": ((run.per_s / bare.per_s) * 100.0).round() / 100.0,
        })
    );
    Ok(if run.failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
