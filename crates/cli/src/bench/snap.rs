//! `gerbang bench snap`: (a) transfer-interbank requests signed as the SNAP
//! standard signs them (a B2B token, HMAC-SHA512) over HTTP against a real
//! gateway process (SQLite, fsync on), transfers accepted per second and p50/p99
//! next to the bare-HTTP limit of the same run; (b) one bulk cash-in from its
//! submit to the last notify page a local receiver gets, next to the time as many
//! durable ledger transfers take on this machine (`bench ledger`'s measurement).

use super::load::{bare_http_limit, cpu_seconds, drive, edge_alone, write_post, Gateway, Request};
use base64::Engine;
use clap::Args;
use gerbang_protocol::snap::body;
use gerbang_protocol::snap::signature::{sign_symmetric, symmetric_string};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::json;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct SnapBench {
    /// Transfers to send.
    #[arg(long, default_value_t = 50_000)]
    requests: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 128)]
    concurrency: u64,
    /// Items in the bulk cash-in.
    #[arg(long, default_value_t = 100_000)]
    bulk_items: u64,
    /// Give the partner a notification URL, so that every transfer's final state
    /// is also signed (SHA256withRSA) and delivered while the run goes on.
    #[arg(long)]
    notices: bool,
}

/// SHA256withRSA signatures per second on one core with a 2048-bit key (ring), as
/// the gateway signs each notice attempt.
fn rsa_signatures_per_s(key: &rsa::RsaPrivateKey) -> anyhow::Result<f64> {
    use rsa::pkcs8::EncodePrivateKey;
    let der = key.to_pkcs8_der()?;
    let pair = ring::rsa::KeyPair::from_pkcs8(der.as_bytes())
        .map_err(|e| anyhow::anyhow!("ring refuses the key: {e}"))?;
    let rng = ring::rand::SystemRandom::new();
    let mut signature = vec![0; pair.public().modulus_len()];
    let count = 2_000;
    let started = Instant::now();
    for n in 0..count {
        pair.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &rng,
            format!("POST:/v1.0/transfer/notify:{n}").as_bytes(),
            &mut signature,
        )
        .map_err(|e| anyhow::anyhow!("signing: {e}"))?;
    }
    Ok(f64::from(count) / started.elapsed().as_secs_f64())
}

const PARTNER: &str = "39001";
const VA: &str = "9920039001";
const SECRET: &str = "bench-snap-client-secret-0123456789";
const TRANSFER_PATH: &str = "/v1.0/transfer-interbank";
const BULK_PATH: &str = "/v1.0/emoney/bulk-cashin-payment";

/// X-TIMESTAMP of now, Jakarta time.
fn timestamp() -> String {
    use gerbang_core::Clock;
    gerbang_protocol::snap::render::instant(gerbang_core::SystemClock.now())
}

/// The transfer body of request `n`, compact as it is signed.
fn transfer_body(n: u64, prefix: &str, ts: &str) -> String {
    format!(
        r#"{{"partnerReferenceNo":"{prefix}{n}","amount":{{"value":"10000.00","currency":"IDR"}},"beneficiaryAccountName":"JOHN DOE","beneficiaryAccountNo":"1234567890","beneficiaryBankCode":"014","sourceAccountNo":"{VA}","transactionDate":"{ts}","additionalInfo":{{"transactionDescription":"bench"}}}}"#
    )
}

/// Signed headers of a request with this (compact) body.
fn signed_headers(path: &str, body: &str, token: &str, ts: &str, external_id: u64) -> String {
    let hash = body::hash(body.as_bytes());
    let signature = sign_symmetric(
        SECRET.as_bytes(),
        &symmetric_string("POST", path, token, &hash, ts),
    );
    format!(
        "x-timestamp: {ts}\r\nx-signature: {signature}\r\nx-partner-id: {PARTNER}\r\n\
         x-external-id: {external_id}\r\nchannel-id: 88001\r\nauthorization: Bearer {token}\r\n"
    )
}

struct Transfers {
    host: String,
    token: String,
    timestamp: String,
    /// Where this run's X-EXTERNAL-IDs start.
    first_external_id: u64,
}

impl Request for Transfers {
    fn write(&self, n: u64, out: &mut Vec<u8>) {
        let body = transfer_body(n, "BENCH-", &self.timestamp);
        let headers = signed_headers(
            TRANSFER_PATH,
            &body,
            &self.token,
            &self.timestamp,
            self.first_external_id + n,
        );
        write_post(out, &self.host, TRANSFER_PATH, &headers, body.as_bytes());
    }

    fn accepted(&self, status: u16, body: &[u8]) -> bool {
        status == 200 && body.windows(9).any(|w| w == b"\"2001800\"")
    }
}

/// A partner's receiver of bulk notify pages: counts the items it was told about.
async fn receiver(items: Arc<AtomicU64>) -> anyhow::Result<String> {
    let app = axum::Router::new()
        .route(
            "/partner/v1.0/emoney/bulk-cashin-notify",
            axum::routing::post(move |body: axum::body::Bytes| {
                let items = items.clone();
                async move {
                    let page: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                    let n = page["bulkObject"].as_array().map_or(0, Vec::len);
                    items.fetch_add(n as u64, Ordering::SeqCst);
                    axum::Json(json!({"responseCode": "2004100", "responseMessage": "Successful"}))
                }
            }),
        )
        .layer(axum::extract::DefaultBodyLimit::max(64 << 20));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!(
        "http://{}/partner/v1.0/emoney/bulk-cashin-notify",
        listener.local_addr()?
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// Waits until nothing is held on the partner's balance any more.
async fn settled(base: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().no_proxy().build()?;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let balance: serde_json::Value = http
            .get(format!("{base}/sandbox/partners/{VA}/balance"))
            .send()
            .await?
            .json()
            .await?;
        if balance["pending"] == "0.00" {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the transfers did not settle: {balance}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asks the gateway for a B2B token, signing as the partner.
async fn token(base: &str, key: &rsa::RsaPrivateKey) -> anyhow::Result<String> {
    let ts = timestamp();
    let signing = SigningKey::<sha2::Sha256>::new(key.clone());
    let signature = base64::engine::general_purpose::STANDARD.encode(
        signing
            .sign(format!("{PARTNER}|{ts}").as_bytes())
            .to_bytes(),
    );
    let answer: serde_json::Value = reqwest::Client::builder()
        .no_proxy()
        .build()?
        .post(format!("{base}/v1.0/access-token/b2b"))
        .header("content-type", "application/json")
        .header("x-timestamp", ts)
        .header("x-client-key", PARTNER)
        .header("x-signature", signature)
        .body(r#"{"grantType":"client_credentials"}"#)
        .send()
        .await?
        .json()
        .await?;
    answer["accessToken"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("no token: {answer}"))
}

/// Seconds from a bulk's submit to the last item's outcome at the receiver.
async fn bulk(
    base: &str,
    token: &str,
    items: u64,
    counted: &AtomicU64,
    notify_url: &str,
) -> anyhow::Result<f64> {
    let ts = timestamp();
    let objects: Vec<serde_json::Value> = (0..items)
        .map(|i| {
            json!({
                // Ending in 0: none of the simulated wallets' magic suffixes.
                "accountNumber": format!("0812{:07}0", i % 10_000_000),
                "accountName": "Bench Customer",
                "amount": {"value": "10.00", "currency": "IDR"},
                "partnerReferenceNo": format!("BULK-{i}"),
            })
        })
        .collect();
    let body = json!({
        "partnerBulkId": format!("BULK-{}", std::process::id()),
        "transactionDate": ts,
        "bulkObject": objects,
        "additionalInfo": {"platformCode": "gpy", "callbackUrl": notify_url},
    })
    .to_string();
    let headers = signed_headers(BULK_PATH, &body, token, &ts, 1);
    let http = reqwest::Client::builder().no_proxy().build()?;
    let before = counted.load(Ordering::SeqCst);
    let started = Instant::now();
    let mut request = http
        .post(format!("{base}{BULK_PATH}"))
        .header("content-type", "application/json")
        .body(body);
    for line in headers.split("\r\n").filter(|l| !l.is_empty()) {
        if let Some((name, value)) = line.split_once(": ") {
            request = request.header(name, value);
        }
    }
    let answer: serde_json::Value = request.send().await?.json().await?;
    anyhow::ensure!(
        answer["responseCode"] == "2024000",
        "bulk refused: {answer}"
    );
    let accepted_after = started.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(600);
    while counted.load(Ordering::SeqCst) - before < items {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the bulk's notify pages did not all arrive"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let done = started.elapsed().as_secs_f64();
    println!("bulk cash-in: answered after {accepted_after:.2} s");
    Ok(done)
}

pub async fn run(args: SnapBench) -> anyhow::Result<ExitCode> {
    let key = tokio::task::spawn_blocking(|| rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048))
        .await??;
    let public_pem = rsa::RsaPublicKey::from(&key).to_public_key_pem(LineEnding::LF)?;
    let counted = Arc::new(AtomicU64::new(0));
    let notify_url = receiver(counted.clone()).await?;
    let provision = format!(
        "[[sendme_partner]]\nvirtual_account = \"{VA}\"\nname = \"Bench SNAP\"\nopening_balance = \"900000000000.00\"\n\n\
         [[snap_partner]]\npartner_id = \"{PARTNER}\"\nsource_account = \"{VA}\"\nsignature_mode = \"symmetric\"\n\
         client_secret = \"{SECRET}\"\n{notices}public_key = \"\"\"{public_pem}\"\"\"\n",
        notices = if args.notices {
            format!("notification_url = \"{notify_url}\"\n")
        } else {
            String::new()
        }
    );
    let gateway = Gateway::start(&provision, "warn", "text").await?;
    // Before any transfer, so that no settlement or notice is counted in it.
    let (edge, edge_cpu_us) = edge_alone(&gateway, args.requests, args.concurrency).await;
    let base = format!("http://{}", gateway.addr);
    let token = token(&base, &key).await?;
    let transfers = Arc::new(Transfers {
        host: gateway.addr.to_string(),
        token: token.clone(),
        timestamp: timestamp(),
        first_external_id: 10_000_000_000,
    });
    let gateway_pid = gateway.child.id().to_string();
    let gateway_cpu = cpu_seconds(&gateway_pid);
    let run = drive(gateway.addr, args.requests, args.concurrency, transfers).await;
    let gateway_cpu = cpu_seconds(&gateway_pid) - gateway_cpu;
    // The transfers' settlement is background work: let it finish, so that the
    // bulk is timed on its own.
    settled(&base).await?;
    let bulk_seconds = bulk(&base, &token, args.bulk_items, &counted, &notify_url).await?;
    let rss = gateway.peak_rss_mib();
    drop(gateway);
    let bare = bare_http_limit(
        TRANSFER_PATH,
        transfer_body(0, "BARE-", &timestamp()).into_bytes(),
        json!({"responseCode": "2001800", "responseMessage": "Successful", "referenceNo": "1000000000000001"}),
        args.requests,
        args.concurrency,
    )
    .await?;
    let ledger_per_s = super::ledger::sqlite_transfers_per_s(args.bulk_items).await?;
    let ledger_seconds = args.bulk_items as f64 / ledger_per_s.max(1.0);
    let signatures_per_s = rsa_signatures_per_s(&key)?;
    let ratio = run.per_s / bare.per_s.max(1.0);
    println!(
        "snap transfer-interbank (HMAC): {:>8.0} transfers/s  p50 {:.1} ms  p99 {:.1} ms  failures {}  gateway peak RSS {:.0} MiB  gateway CPU {:.0} µs/transfer",
        run.per_s,
        run.p50_ms,
        run.p99_ms,
        run.failures,
        rss,
        gateway_cpu / args.requests.max(1) as f64 * 1e6
    );
    println!(
        "bare HTTP limit: {:>8.0} requests/s  p50 {:.1} ms  p99 {:.1} ms; ratio {ratio:.2}",
        bare.per_s, bare.p50_ms, bare.p99_ms
    );
    println!(
        "the gateway's HTTP edge alone (GET /healthz): {:>8.0} requests/s, ratio {:.2}; gateway CPU {edge_cpu_us:.1} µs/request",
        edge.per_s,
        edge.per_s / bare.per_s.max(1.0)
    );
    println!(
        "notices {}: one SHA256withRSA signature per attempt, {signatures_per_s:.0} signatures/s on one core here",
        if args.notices { "on (every transfer's final state is delivered during the run)" } else { "off (--notices to deliver them)" }
    );
    println!(
        "bulk cash-in of {} items: {bulk_seconds:.2} s from submit to the last notify; {} durable ledger transfers take {ledger_seconds:.2} s here ({ledger_per_s:.0}/s)",
        args.bulk_items, args.bulk_items
    );
    println!(
        "{}",
        json!({
            "bench": "snap",
            "backend": "sqlite",
            "requests": args.requests,
            "concurrency": args.concurrency,
            "transfers_per_s": run.per_s.round(),
            "p50_ms": (run.p50_ms * 10.0).round() / 10.0,
            "p99_ms": (run.p99_ms * 10.0).round() / 10.0,
            "failures": run.failures,
            "bare_http_per_s": bare.per_s.round(),
            "ratio": (ratio * 100.0).round() / 100.0,
            "gateway_cpu_us_per_transfer": (gateway_cpu / args.requests.max(1) as f64 * 1e6).round(),
            "edge_alone_per_s": edge.per_s.round(),
            "edge_alone_cpu_us": (edge_cpu_us * 10.0).round() / 10.0,
            "bulk_items": args.bulk_items,
            "bulk_seconds": (bulk_seconds * 100.0).round() / 100.0,
            "ledger_transfers_seconds": (ledger_seconds * 100.0).round() / 100.0,
            "peak_rss_mib": rss.round(),
            "notices": args.notices,
            "rsa_signatures_per_s_per_core": signatures_per_s.round(),
        })
    );
    Ok(ExitCode::SUCCESS)
}
