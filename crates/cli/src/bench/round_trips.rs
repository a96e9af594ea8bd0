//! A relay between the gateways and PostgreSQL that counts round trips: on each
//! connection, every time bytes from the gateway are answered by bytes from the
//! server is one. Statements a gateway sends together (a pipeline) before the
//! first answer comes back make one round trip; an answer already streaming in
//! while more statements go out makes more, so the count is an upper bound on the
//! times a gateway waited for the server.
//!
//! The relay runs in the bench process: its CPU time is counted as the bench
//! client's, and each round trip takes a little longer through it (`--direct`
//! measures without it).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

/// Bytes one read takes.
const CHUNK: usize = 64 * 1024;

pub struct RoundTrips {
    /// The URL that reaches the database through the relay.
    pub url: String,
    count: Arc<AtomicU64>,
    accepting: tokio::task::JoinHandle<()>,
}

impl RoundTrips {
    /// A relay to the server `url` names (a `postgres://` URL with a host and port).
    pub async fn start(url: &str) -> anyhow::Result<RoundTrips> {
        let mut relayed = reqwest::Url::parse(url)?;
        let host = relayed
            .host_str()
            .ok_or_else(|| anyhow::anyhow!("the PostgreSQL URL names no host"))?
            .to_string();
        let port = relayed.port().unwrap_or(5432);
        let upstream = tokio::net::lookup_host((host.as_str(), port))
            .await?
            .next()
            .ok_or_else(|| anyhow::anyhow!("cannot resolve {host}"))?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let local = listener.local_addr()?;
        relayed
            .set_host(Some("127.0.0.1"))
            .map_err(|e| anyhow::anyhow!("cannot relay {host}: {e}"))?;
        relayed
            .set_port(Some(local.port()))
            .map_err(|()| anyhow::anyhow!("cannot relay {host}: no port"))?;
        let count = Arc::new(AtomicU64::new(0));
        let counted = count.clone();
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream, counted.clone()));
            }
        });
        Ok(RoundTrips {
            url: relayed.to_string(),
            count,
            accepting,
        })
    }

    /// Round trips so far, over every connection.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

impl Drop for RoundTrips {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

async fn relay(client: TcpStream, upstream: SocketAddr, count: Arc<AtomicU64>) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (from_client, to_client) = client.into_split();
    let (from_server, to_server) = server.into_split();
    // Set before the gateway's bytes go on, so the answer cannot come first.
    let asked = AtomicBool::new(false);
    tokio::join!(
        pump(from_client, to_server, || asked
            .store(true, Ordering::Release)),
        pump(from_server, to_client, || {
            if asked.swap(false, Ordering::AcqRel) {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }),
    );
}

/// Copies one direction until it ends, then ends the other side's writing;
/// `arrived` is called for each read, before its bytes go on.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, arrived: impl Fn()) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                arrived();
                if to.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown().await;
}
