//! `gerbang bench notifier`: how fast the real notifier (SQLite, fsync on) delivers
//! its outbox — to a fast local receiver and to one that answers after a delay —
//! next to the bare-HTTP figure of the same run: the same number of POSTs with
//! the same concurrency straight to the fast receiver. Each notification has a
//! source of its own, so per-source ordering holds nothing back.

use clap::Args;
use gerbang_app::config::{Config, NotifierConfig};
use gerbang_app::notifier::Notifier;
use gerbang_app::App;
use gerbang_store::{NewNotification, NotificationQuery, NotificationStatus, Step};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct NotifierBench {
    /// Notifications delivered to the fast receiver.
    #[arg(long, default_value_t = 20_000)]
    notifications: u64,
    /// Notifications delivered to the slow receiver (default: 32 × concurrency, so
    /// that every wave of deliveries is full and concurrency ÷ latency is reachable).
    #[arg(long)]
    slow_notifications: Option<u64>,
    /// How long the slow receiver takes to answer.
    #[arg(long, default_value_t = 200)]
    slow_millis: u64,
    /// Deliveries in flight (default: the `[notifier] concurrency` default).
    #[arg(long)]
    concurrency: Option<u32>,
}

/// A receiver on 127.0.0.1 that answers 200 after `delay`; its URL.
async fn receiver(delay: Duration) -> anyhow::Result<String> {
    let app = axum::Router::new().route(
        "/notify",
        axum::routing::post(move || async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            "OK"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/notify", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// Deliveries per second of `count` notifications to `url`, and the concurrency used.
async fn deliveries(url: &str, count: u64, concurrency: Option<u32>) -> anyhow::Result<(f64, u32)> {
    let dir = tempfile::tempdir()?;
    let config = Config {
        database_url: format!("sqlite://{}", dir.path().join("bench.db").display()),
        ..Config::default()
    };
    let app = App::open(config).await?;
    let body =
        serde_json::json!({"request": "Transfer Notification", "trx_status": "2"}).to_string();
    let mut written = 0;
    while written < count {
        let batch = (count - written).min(1000);
        let notifications = (written..written + batch)
            .map(|i| NewNotification {
                protocol: "bench".into(),
                owner: "bench".into(),
                source: format!("bench:{i}"),
                url: url.to_string(),
                body: body.clone(),
                request_id: None,
            })
            .collect();
        app.commit(Step {
            notifications,
            ..Step::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        written += batch;
    }
    let notifier_config = NotifierConfig {
        allow_internal_destinations: Some(true),
        concurrency: concurrency.unwrap_or(app.config.notifier.concurrency),
        ..app.config.notifier.clone()
    };
    let concurrency = notifier_config.concurrency;
    let notifier = Notifier::new(
        app.store.clone(),
        app.clock.clone(),
        notifier_config,
        Arc::new(tokio::sync::Notify::new()),
    )
    .map_err(|e| anyhow::anyhow!(e))?;
    // The notifier as a gateway runs it, until nothing is pending.
    let stop = tokio_util::sync::CancellationToken::new();
    let started = Instant::now();
    let running = tokio::spawn(notifier.run(stop.clone()));
    let deadline = started + Duration::from_secs(600);
    loop {
        let pending = app
            .store
            .notifications(NotificationQuery {
                status: Some(NotificationStatus::Pending),
                limit: 1,
                ..NotificationQuery::default()
            })
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if pending.is_empty() {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "notifications left undelivered");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    stop.cancel();
    running.await?;
    Ok((count as f64 / seconds, concurrency))
}

/// POSTs per second straight to `url`, `concurrency` at a time.
async fn bare_http(url: &str, count: u64, concurrency: u32) -> anyhow::Result<f64> {
    use futures_util::StreamExt;
    let http = reqwest::Client::builder().no_proxy().build()?;
    let started = Instant::now();
    let failures = futures_util::stream::iter(0..count)
        .map(|_| {
            let http = http.clone();
            async move {
                http.post(url)
                    .header("content-type", "application/json")
                    .body("{}")
                    .send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false)
            }
        })
        .buffer_unordered(concurrency.max(1) as usize)
        .filter(|ok| std::future::ready(!*ok))
        .count()
        .await;
    anyhow::ensure!(failures == 0, "{failures} bare POSTs failed");
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

pub async fn run(args: NotifierBench) -> anyhow::Result<ExitCode> {
    let fast = receiver(Duration::ZERO).await?;
    let slow = receiver(Duration::from_millis(args.slow_millis)).await?;
    let (fast_per_s, concurrency) = deliveries(&fast, args.notifications, args.concurrency).await?;
    let slow_count = args
        .slow_notifications
        .unwrap_or(32 * u64::from(concurrency));
    let (slow_per_s, _) = deliveries(&slow, slow_count, Some(concurrency)).await?;
    let bare_per_s = bare_http(&fast, args.notifications, concurrency).await?;
    let slow_target = f64::from(concurrency) * 1000.0 / args.slow_millis.max(1) as f64;
    println!("notifier, {concurrency} deliveries in flight, SQLite with fsync:");
    println!(
        "  fast receiver: {fast_per_s:.0} deliveries/s; bare HTTP {bare_per_s:.0} POSTs/s; ratio {:.2}",
        fast_per_s / bare_per_s
    );
    println!(
        "  receiver answering in {} ms: {slow_per_s:.0} deliveries/s over {slow_count}; concurrency / latency = {slow_target:.0}/s; ratio {:.2}",
        args.slow_millis,
        slow_per_s / slow_target
    );
    println!(
        "{}",
        serde_json::json!({
            "bench": "notifier",
            "concurrency": concurrency,
            "notifications": args.notifications,
            "fast_per_s": fast_per_s.round(),
            "bare_http_per_s": bare_per_s.round(),
            "ratio": (fast_per_s / bare_per_s * 100.0).round() / 100.0,
            "slow_millis": args.slow_millis,
            "slow_per_s": slow_per_s.round(),
            "slow_notifications": slow_count,
            "slow_target_per_s": slow_target.round(),
            "slow_ratio": (slow_per_s / slow_target * 100.0).round() / 100.0,
        })
    );
    Ok(ExitCode::SUCCESS)
}
