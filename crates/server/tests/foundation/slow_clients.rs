//! Slow and idle clients cannot hold the gateway's sockets: a connection that
//! sends no complete headers, one that sits idle after its answer, and one that
//! sends its body too slowly are closed after `[http]` timeouts (1 s here); past
//! `max_connections` new connections wait instead of taking descriptors, and are
//! served once the idle ones are gone.

use crate::common::*;
use gerbang_app::config::HttpConfig;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection; panics if it stays open past
/// `within`. Returns what was read.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> String {
    let mut read = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return String::from_utf8_lossy(&read).into_owned(),
            Ok(Ok(n)) => read.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "still open after {within:?}; read {:?}",
                String::from_utf8_lossy(&read)
            ),
        }
    }
}

async fn slow_and_idle_connections_are_closed(db: TestDatabase) {
    let mut config = test_config(&db);
    config.http = HttpConfig {
        header_read_timeout_seconds: 1,
        body_read_timeout_seconds: 1,
        max_connections: 64,
        ..HttpConfig::default()
    };
    let gw = Gateway::start(config).await;
    let addr = gw.addr();

    // Half-sent headers, many of them.
    let mut slow = Vec::new();
    for _ in 0..40 {
        let mut s = TcpStream::connect(addr).await.expect("connects");
        s.write_all(b"GET /healthz HTTP/1.1\r\nhost: gateway\r\nx-slow:")
            .await
            .expect("written");
        slow.push(s);
    }
    // Connected, nothing sent.
    for _ in 0..10 {
        slow.push(TcpStream::connect(addr).await.expect("connects"));
    }
    for s in &mut slow {
        closed_within(s, Duration::from_secs(5)).await;
    }

    // Idle after a complete exchange on a kept-alive connection.
    let mut idle = TcpStream::connect(addr).await.expect("connects");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: gateway\r\n\r\n")
        .await
        .expect("written");
    let answer = closed_within(&mut idle, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // A body that never finishes.
    let mut trickle = TcpStream::connect(addr).await.expect("connects");
    trickle
        .write_all(
            b"POST /sandbox/topup HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"virtual",
        )
        .await
        .expect("written");
    let answer = closed_within(&mut trickle, Duration::from_secs(5)).await;
    assert!(
        answer.is_empty() || !answer.starts_with("HTTP/1.1 2"),
        "a partial body is not a request: {answer}"
    );

    // Still serving.
    let (status, _) = raw_exchange(
        addr,
        b"GET /healthz HTTP/1.1\r\nhost: gateway\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200);
    gw.stop().await;
}

async fn connections_past_the_cap_wait_their_turn(db: TestDatabase) {
    let mut config = test_config(&db);
    config.http = HttpConfig {
        header_read_timeout_seconds: 1,
        body_read_timeout_seconds: 1,
        max_connections: 8,
        ..HttpConfig::default()
    };
    let gw = Gateway::start(config).await;
    let addr = gw.addr();
    // Eight silent connections take every slot.
    let mut silent = Vec::new();
    for _ in 0..8 {
        silent.push(TcpStream::connect(addr).await.expect("connects"));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A ninth is answered once the silent ones have been closed.
    let started = Instant::now();
    let (status, answer) = raw_exchange(
        addr,
        b"GET /healthz HTTP/1.1\r\nhost: gateway\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "answered before a slot was free: {:?}",
        started.elapsed()
    );
    for s in &mut silent {
        closed_within(s, Duration::from_secs(5)).await;
    }
    gw.stop().await;
}

on_both_backends!(
    slow_and_idle_connections_are_closed,
    connections_past_the_cap_wait_their_turn,
);
