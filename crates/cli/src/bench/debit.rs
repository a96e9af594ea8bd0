//! `gerbang bench debit`: signed Post Data Transaction requests (JSON, the
//! plugins' shape) over HTTP against a real gateway process (SQLite, fsync on),
//! reporting bills posted per second and p50/p99 latency next to the bare-HTTP
//! limit of the same run; then bills paid end to end per second — posted, paid
//! through the sandbox as the channel would, the merchant's notification
//! received and acknowledged by a local receiver.

use super::load::{bare_http_limit, cpu_seconds, drive, edge_alone, write_post, Gateway, Request};
use clap::Args;
use gerbang_protocol::debit::signature;
use serde_json::json;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct DebitBench {
    /// Bills to post.
    #[arg(long, default_value_t = 100_000)]
    requests: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 128)]
    concurrency: u64,
    /// Bills paid end to end after the posting run.
    #[arg(long, default_value_t = 5_000)]
    paid: u64,
}

const MERCHANT: &str = "88888";
const USER: &str = "bot88888";
const PASSWORD: &str = "bench-p@ssw0rd";
const POST_PATH: &str = "/cvr/300011/10";

/// A Post Data body with `bill_no` = `BENCH-{n}`, signed.
fn body(n: u64, prefix: &str, bill_date: &str, bill_expired: &str) -> Vec<u8> {
    let bill_no = format!("{prefix}-{n}");
    serde_json::to_vec(&json!({
        "request": "Post Data Transaction",
        "merchant_id": MERCHANT,
        "merchant": "Bench Store",
        "bill_no": bill_no,
        "bill_reff": bill_no,
        "bill_date": bill_date,
        "bill_expired": bill_expired,
        "bill_desc": "Bench order",
        "bill_currency": "IDR",
        "bill_gross": "0",
        "bill_miscfee": "0",
        "bill_total": "1500000",
        "cust_no": "C-1",
        "cust_name": "Budi",
        "payment_channel": "801",
        "pay_type": "1",
        "msisdn": "081234567890",
        "email": "budi@example.com",
        "terminal": "10",
        "item": [{"product": "Kaos", "qty": "1", "amount": "1500000", "payment_plan": "01", "tenor": "00", "merchant_id": MERCHANT}],
        "signature": signature::sign(USER, PASSWORD, &[&bill_no]),
    }))
    .unwrap_or_default()
}

/// Post Data requests, lean on the client's side: the body is laid out once and
/// only `bill_no` (twice: it is the `bill_reff` too) and its signature are written
/// per request.
struct PostData {
    host: String,
    /// The body of bill 0 around its `bill_no`s and its signature.
    pieces: Vec<String>,
}

impl PostData {
    fn new(host: String, bill_date: &str, bill_expired: &str) -> Self {
        const MARK: &str = "BENCH-0";
        let text = String::from_utf8(body(0, "BENCH", bill_date, bill_expired)).unwrap_or_default();
        let signed = signature::sign(USER, PASSWORD, &[MARK]);
        let pieces = text
            .replace(&signed, "\u{1}")
            .split(MARK)
            .flat_map(|p| p.split('\u{1}'))
            .map(str::to_string)
            .collect();
        PostData { host, pieces }
    }
}

impl Request for PostData {
    fn write(&self, n: u64, out: &mut Vec<u8>) {
        let bill_no = format!("BENCH-{n}");
        let signed = signature::sign(USER, PASSWORD, &[&bill_no]);
        let mut body = String::with_capacity(1024);
        let last = self.pieces.len().saturating_sub(1);
        for (i, piece) in self.pieces.iter().enumerate() {
            body.push_str(piece);
            if i + 1 == last {
                body.push_str(&signed);
            } else if i < last {
                body.push_str(&bill_no);
            }
        }
        write_post(out, &self.host, POST_PATH, "", body.as_bytes());
    }

    fn accepted(&self, status: u16, body: &[u8]) -> bool {
        status == 200 && body.windows(20).any(|w| w == b"\"response_code\":\"00\"")
    }
}

/// Jakarta wall-clock `seconds` from now, as the Debit API writes dates.
fn wib_in(seconds: i64) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    (time::OffsetDateTime::now_utc() + time::Duration::seconds(seconds))
        .to_offset(gerbang_core::timestamp::JAKARTA)
        .format(&f)
        .unwrap_or_default()
}

/// A merchant's notification receiver that acknowledges each and counts them.
async fn receiver(count: Arc<AtomicU64>) -> anyhow::Result<String> {
    let app = axum::Router::new().route(
        "/notify",
        axum::routing::post(move || {
            let count = count.clone();
            async move {
                count.fetch_add(1, Ordering::SeqCst);
                axum::Json(json!({"response": "Payment Notification", "response_code": "00", "response_desc": "Sukses"}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/notify", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// Bills posted, paid and notified per second.
async fn end_to_end(
    base: &str,
    paid: u64,
    concurrency: u64,
    notified: &AtomicU64,
) -> anyhow::Result<f64> {
    use futures_util::StreamExt;
    let http = reqwest::Client::builder().no_proxy().build()?;
    let (bill_date, bill_expired) = (wib_in(0), wib_in(86_400));
    let started = Instant::now();
    let before = notified.load(Ordering::SeqCst);
    let failures = futures_util::stream::iter(0..paid)
        .map(|n| {
            let (http, bill_date, bill_expired) =
                (http.clone(), bill_date.clone(), bill_expired.clone());
            async move {
                let posted: serde_json::Value = http
                    .post(format!("{base}{POST_PATH}"))
                    .header("content-type", "application/json")
                    .body(body(n, "PAID", &bill_date, &bill_expired))
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                let trx_id = posted["trx_id"].as_str()?.to_string();
                http.post(format!("{base}/sandbox/debit/bills/{trx_id}/pay"))
                    .json(&json!({}))
                    .send()
                    .await
                    .ok()
                    .filter(|r| r.status().is_success())
                    .map(|_| ())
            }
        })
        .buffer_unordered(concurrency.max(1) as usize)
        .filter(|r| std::future::ready(r.is_none()))
        .count()
        .await;
    anyhow::ensure!(failures == 0, "{failures} bills were not posted and paid");
    let deadline = Instant::now() + Duration::from_secs(300);
    while notified.load(Ordering::SeqCst) - before < paid {
        anyhow::ensure!(
            Instant::now() < deadline,
            "notifications did not all arrive"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(paid as f64 / started.elapsed().as_secs_f64())
}

pub async fn run(args: DebitBench) -> anyhow::Result<ExitCode> {
    let notified = Arc::new(AtomicU64::new(0));
    let notify_url = receiver(notified.clone()).await?;
    let provision = format!(
        "[[merchant]]\nmerchant_id = \"{MERCHANT}\"\nname = \"Bench Store\"\nuser_id = \"{USER}\"\n\
         password = \"{PASSWORD}\"\nnotification_url = \"{notify_url}\"\n"
    );
    let gateway = Gateway::start(&provision, "warn", "text").await?;
    let post = Arc::new(PostData::new(
        gateway.addr.to_string(),
        &wib_in(0),
        &wib_in(86_400),
    ));
    // Before any bill, so that no work the bills leave behind is counted in it.
    let (edge, edge_cpu_us) = edge_alone(&gateway, args.requests, args.concurrency).await;
    let gateway_pid = gateway.child.id().to_string();
    let (client_cpu, gateway_cpu) = (cpu_seconds("self"), cpu_seconds(&gateway_pid));
    let run = drive(gateway.addr, args.requests, args.concurrency, post).await;
    let gateway_cpu = cpu_seconds(&gateway_pid) - gateway_cpu;
    let client_cpu = cpu_seconds("self") - client_cpu;
    let paid_per_s = end_to_end(
        &format!("http://{}", gateway.addr),
        args.paid,
        args.concurrency,
        &notified,
    )
    .await?;
    let rss = gateway.peak_rss_mib();
    drop(gateway);
    let bare = bare_http_limit(
        POST_PATH,
        body(0, "BARE", &wib_in(0), &wib_in(86_400)),
        json!({"response_code": "00", "trx_id": "8888880100000001"}),
        args.requests,
        args.concurrency,
    )
    .await?;
    let ratio = run.per_s / bare.per_s.max(1.0);
    println!(
        "debit post data: {:>8.0} bills/s  p50 {:.1} ms  p99 {:.1} ms  failures {}  gateway peak RSS {:.0} MiB  gateway CPU {:.0} µs/bill",
        run.per_s,
        run.p50_ms,
        run.p99_ms,
        run.failures,
        rss,
        gateway_cpu / args.requests.max(1) as f64 * 1e6
    );
    println!(
        "bench client CPU {:.0} µs/bill",
        client_cpu / args.requests.max(1) as f64 * 1e6
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
        "end to end: {paid_per_s:.0} bills posted, paid and notified per second ({} bills)",
        args.paid
    );
    println!(
        "{}",
        json!({
            "bench": "debit",
            "backend": "sqlite",
            "requests": args.requests,
            "concurrency": args.concurrency,
            "posted_per_s": run.per_s.round(),
            "p50_ms": (run.p50_ms * 10.0).round() / 10.0,
            "p99_ms": (run.p99_ms * 10.0).round() / 10.0,
            "failures": run.failures,
            "bare_http_per_s": bare.per_s.round(),
            "ratio": (ratio * 100.0).round() / 100.0,
            "gateway_cpu_us_per_bill": (gateway_cpu / args.requests.max(1) as f64 * 1e6).round(),
            "edge_alone_per_s": edge.per_s.round(),
            "edge_alone_cpu_us": (edge_cpu_us * 10.0).round() / 10.0,
            "paid_end_to_end_per_s": paid_per_s.round(),
            "peak_rss_mib": rss.round(),
        })
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lean_body_is_the_plain_one() {
        let lean = PostData::new("h".into(), "2026-12-04 10:00:00", "2026-12-05 10:00:00");
        for n in [0, 7, 123_456] {
            let mut out = Vec::new();
            lean.write(n, &mut out);
            let text = String::from_utf8(out).unwrap();
            let sent = text.split_once("\r\n\r\n").unwrap().1;
            let plain = body(n, "BENCH", "2026-12-04 10:00:00", "2026-12-05 10:00:00");
            assert_eq!(sent.as_bytes(), plain.as_slice(), "bill {n}");
        }
    }
}
