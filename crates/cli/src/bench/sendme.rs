//! `gerbang bench sendme`: signed SendMe transfer requests over HTTP against a real
//! gateway process (SQLite, fsync on), reporting accepted transfers per second,
//! p50/p99 latency and the gateway's peak RSS; and in the same run the bare-HTTP
//! limit: the same client against a trivial handler on this machine.

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::Args;
use gerbang_protocol::sendme::crypto::AesKey;
use serde_json::{json, Value};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct SendmeBench {
    /// Transfers to send.
    #[arg(long, default_value_t = 50_000)]
    requests: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: u64,
}

const VA: &str = "9920088888";
const FASPAY_KEY: &str = "bench-faspay-key";
const SECRET: &str = "19c887a3-49af-4087-8e82-58a1875b1452";
const IV: &str = "faspay2018xAuth";
const APP_KEY: &str = "8e734017-d7c1-49f2-8202-377faaff6a1c";
const APP_SECRET: &str = "f26a4e84-cbba-4023-b3d9-40892c5638d4";
const CLIENT_KEY: &str = "e5d7e3be-3f44-4da2-918d-3b98db499ed3";
const CLIENT_SECRET: &str = "0afd3f5b-b20e-4dc2-8222-d7a571a31c4c";

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

    fn timestamp() -> String {
        let now = time::OffsetDateTime::now_utc().to_offset(gerbang_core::timestamp::JAKARTA);
        let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
        now.format(&f).unwrap_or_default()
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<Value> {
        let ts = Self::timestamp();
        let token_part = match token {
            Some(t) => STANDARD.encode(format!("{CLIENT_KEY}:{CLIENT_SECRET}:{t}")),
            None => STANDARD.encode(format!("{CLIENT_KEY}:{CLIENT_SECRET}")),
        };
        let signature = self
            .aes
            .encrypt_b64(&format!("{method}:{path}:{ts}:{token_part}:"));
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

/// The gateway under test: this binary, `serve`, on a fresh SQLite database.
struct Gateway {
    child: std::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Gateway {
    async fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let provision = dir.path().join("bench.toml");
        std::fs::write(
            &provision,
            format!(
                "[[sendme_partner]]\nvirtual_account = \"{VA}\"\nname = \"Bench Partner\"\n\
                 faspay_key = \"{FASPAY_KEY}\"\nfaspay_secret = \"{SECRET}\"\niv = \"{IV}\"\n\
                 app_key = \"{APP_KEY}\"\napp_secret = \"{APP_SECRET}\"\nclient_key = \"{CLIENT_KEY}\"\n\
                 client_secret = \"{CLIENT_SECRET}\"\nopening_balance = \"900000000000.00\"\n"
            ),
        )?;
        let child = std::process::Command::new(std::env::current_exe()?)
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--database-url")
            .arg(format!(
                "sqlite://{}",
                dir.path().join("gerbang.db").display()
            ))
            .arg("--provision")
            .arg(&provision)
            .env("GERBANG_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the gateway")?;
        let url = format!("http://127.0.0.1:{port}");
        let probe = reqwest::Client::builder().no_proxy().build()?;
        for _ in 0..200 {
            if probe
                .get(format!("{url}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(Gateway {
                    child,
                    url,
                    _dir: dir,
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("the gateway did not become ready")
    }

    /// Peak resident memory of the gateway process, in MiB.
    fn peak_rss_mib(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Run {
    per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    failures: u64,
}

/// Sends `requests` requests made by `make(n)` with `concurrency` in flight.
async fn drive<F, Fut>(requests: u64, concurrency: u64, make: F) -> Run
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let make = Arc::new(make);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency.max(1) {
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0u64;
            let mut n = worker;
            while n < requests {
                let t = Instant::now();
                if !make(n).await {
                    failures += 1;
                }
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                n += concurrency.max(1);
            }
            (latencies, failures)
        }));
    }
    let mut all = Vec::with_capacity(requests as usize);
    let mut failures = 0;
    for t in tasks {
        if let Ok((l, f)) = t.await {
            all.extend(l);
            failures += f;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    all.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    Run {
        per_s: (requests - failures) as f64 / seconds,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        failures,
    }
}

/// A trivial handler on this machine: the ceiling of HTTP itself.
async fn bare_http_limit(args: &SendmeBench) -> anyhow::Result<Run> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let router = axum::Router::new().route(
        "/account/api/transfer",
        axum::routing::post(|| async { axum::Json(json!({"status": "1"})) }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(1024)
        .build()?;
    let url = format!("http://{addr}/account/api/transfer");
    let body = json!({"virtual_account": VA, "trx_amount": "1000000"});
    let run = drive(args.requests, args.concurrency, move |_| {
        let (http, url, body) = (http.clone(), url.clone(), body.clone());
        async move {
            http.post(url)
                .json(&body)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;
    server.abort();
    Ok(run)
}

pub async fn run(args: SendmeBench) -> anyhow::Result<ExitCode> {
    let gateway = Gateway::start().await?;
    let client = Arc::new(Client::new(gateway.url.clone())?);

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
    let token = Arc::new(client.token("/account/api/transfer").await?);

    let transfer_client = client.clone();
    let run = drive(args.requests, args.concurrency, move |n| {
        let (client, token, beneficiary_va) = (
            transfer_client.clone(),
            token.clone(),
            beneficiary_va.clone(),
        );
        async move {
            let body = json!({
                "virtual_account": VA, "beneficiary_virtual_account": beneficiary_va,
                "beneficiary_account": "1020006137", "beneficiary_name": "Bench Beneficiary",
                "beneficiary_bank_code": "014", "beneficiary_region_code": "0102",
                "beneficiary_country_code": "ID", "beneficiary_purpose_code": "1",
                "trx_no": format!("BENCH{n:010}"), "trx_date": "2026-01-01 00:00:00",
                "instruct_date": "", "trx_amount": "1000000", "trx_desc": "Bench",
                "callback_url": "http://127.0.0.1:9/callback",
            });
            match client
                .call("POST", "/account/api/transfer", Some(&token), &body)
                .await
            {
                Ok(answer) => answer["status"] == "1",
                Err(_) => false,
            }
        }
    })
    .await;
    let rss = gateway.peak_rss_mib();
    drop(gateway);
    let bare = bare_http_limit(&args).await?;

    println!(
        "sendme transfers: {:>8.0} accepted/s  p50 {:.1} ms  p99 {:.1} ms  failures {}  gateway peak RSS {:.0} MiB",
        run.per_s, run.p50_ms, run.p99_ms, run.failures, rss
    );
    println!(
        "bare HTTP limit:  {:>8.0} requests/s  p50 {:.1} ms  p99 {:.1} ms  ({} requests, concurrency {})",
        bare.per_s, bare.p50_ms, bare.p99_ms, args.requests, args.concurrency
    );
    println!(
        "{}",
        json!({
            "bench": "sendme",
            "backend": "sqlite",
            "requests": args.requests,
            "concurrency": args.concurrency,
            "accepted_per_s": run.per_s.round(),
            "p50_ms": (run.p50_ms * 10.0).round() / 10.0,
            "p99_ms": (run.p99_ms * 10.0).round() / 10.0,
            "failures": run.failures,
            "peak_rss_mib": rss.round(),
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
