//! The load generator the HTTP benchmarks share: this binary started as a gateway
//! on a fresh SQLite database, plain HTTP/1.1 keep-alive connections (one per
//! request in flight) that count accepted answers and latencies, the bare-HTTP
//! limit of the same machine, and CPU time read from /proc.

use anyhow::{bail, Context};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The gateway under test: this binary, `serve`, on a fresh SQLite database.
pub struct Gateway {
    pub child: std::process::Child,
    pub addr: std::net::SocketAddr,
    _dir: tempfile::TempDir,
}

impl Gateway {
    /// Starts this binary as a sandbox gateway on a SQLite database of its own,
    /// with `provision` applied; `log` and `log_format` are its `GERBANG_LOG` and
    /// `GERBANG_LOG_FORMAT`.
    pub async fn start(provision_toml: &str, log: &str, log_format: &str) -> anyhow::Result<Self> {
        Self::start_on(None, provision_toml, log, log_format).await
    }

    /// As [`Gateway::start`], on `database_url` when given.
    pub async fn start_on(
        database_url: Option<&str>,
        provision_toml: &str,
        log: &str,
        log_format: &str,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let provision = dir.path().join("bench.toml");
        std::fs::write(&provision, provision_toml)?;
        let database_url = match database_url {
            Some(url) => url.to_string(),
            None => format!("sqlite://{}", dir.path().join("gerbang.db").display()),
        };
        let child = std::process::Command::new(std::env::current_exe()?)
            .arg("serve")
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--database-url")
            .arg(database_url)
            .arg("--provision")
            .arg(&provision)
            .env("GERBANG_LOG", log)
            .env("GERBANG_LOG_FORMAT", log_format)
            .stdout(Stdio::null())
            .stderr(if log.starts_with("warn") {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .context("starting the gateway")?;
        let probe = reqwest::Client::builder().no_proxy().build()?;
        for _ in 0..200 {
            if probe
                .get(format!("http://{addr}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(Gateway {
                    child,
                    addr,
                    _dir: dir,
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("the gateway did not become ready")
    }

    /// Peak resident memory of the gateway process, in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
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

pub struct Run {
    pub per_s: f64,
    /// How long the run took.
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub failures: u64,
}

/// One kind of request the load generator sends.
pub trait Request: Send + Sync + 'static {
    /// Appends the whole HTTP/1.1 request number `n` to `out`.
    fn write(&self, n: u64, out: &mut Vec<u8>);
    /// Whether this answer counts as a success.
    fn accepted(&self, status: u16, body: &[u8]) -> bool;
}

/// A keep-alive HTTP/1.1 connection that sends one request at a time.
struct Connection {
    stream: TcpStream,
    /// Bytes read and not yet consumed.
    buf: Vec<u8>,
}

/// Largest answer head or body read.
const MAX_ANSWER_BYTES: usize = 1 << 20;

impl Connection {
    async fn open(addr: std::net::SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            buf: Vec::with_capacity(4096),
        })
    }

    /// Sends `request` and reads the answer: its status, its body (in `self.buf`,
    /// at the returned range) and whether the connection may be used again.
    async fn exchange(
        &mut self,
        request: &[u8],
    ) -> std::io::Result<(u16, std::ops::Range<usize>, bool)> {
        use std::io::{Error, ErrorKind};
        self.stream.write_all(request).await?;
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if self.buf.len() > MAX_ANSWER_BYTES {
                return Err(Error::new(ErrorKind::InvalidData, "answer head too long"));
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(ErrorKind::UnexpectedEof.into());
            }
        };
        let head = std::str::from_utf8(&self.buf[..head_end])
            .map_err(|_| Error::new(ErrorKind::InvalidData, "answer head is not text"))?;
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.strip_prefix("HTTP/1.1 "))
            .and_then(|l| l.get(..3))
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| Error::new(ErrorKind::InvalidData, "no HTTP/1.1 status line"))?;
        let mut length = None;
        let mut reusable = true;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(Error::new(ErrorKind::Unsupported, "chunked answers"));
            } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close")
            {
                reusable = false;
            }
        }
        let length =
            length.ok_or_else(|| Error::new(ErrorKind::InvalidData, "no content-length"))?;
        if length > MAX_ANSWER_BYTES {
            return Err(Error::new(ErrorKind::InvalidData, "answer too long"));
        }
        while self.buf.len() < head_end + length {
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(ErrorKind::UnexpectedEof.into());
            }
        }
        Ok((status, head_end..head_end + length, reusable))
    }

    /// Forgets the answer just read.
    fn consume(&mut self, up_to: usize) {
        self.buf.drain(..up_to);
    }
}

/// Sends `requests` requests to `addr` with `concurrency` in flight, each lane on
/// its own keep-alive connection (reopened if the server closes it).
pub async fn drive<R: Request>(
    addr: std::net::SocketAddr,
    requests: u64,
    concurrency: u64,
    request: Arc<R>,
) -> Run {
    drive_spread(&[addr], requests, concurrency, request).await
}

/// As [`drive`], the connections spread evenly over `addrs` (several gateways).
pub async fn drive_spread<R: Request>(
    addrs: &[std::net::SocketAddr],
    requests: u64,
    concurrency: u64,
    request: Arc<R>,
) -> Run {
    let lanes = concurrency.max(1);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for lane in 0..lanes {
        let addr = addrs[lane as usize % addrs.len().max(1)];
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity((requests / lanes + 1) as usize);
            let mut failures = 0u64;
            let mut connection: Option<Connection> = None;
            let mut out = Vec::with_capacity(2048);
            let mut n = lane;
            while n < requests {
                let t = Instant::now();
                out.clear();
                request.write(n, &mut out);
                let conn = match connection.take() {
                    Some(conn) => Ok(conn),
                    None => Connection::open(addr).await,
                };
                let ok = match conn {
                    Ok(mut conn) => match conn.exchange(&out).await {
                        Ok((status, body, reusable)) => {
                            let ok = request.accepted(status, &conn.buf[body.clone()]);
                            conn.consume(body.end);
                            if reusable {
                                connection = Some(conn);
                            }
                            ok
                        }
                        Err(_) => false,
                    },
                    Err(_) => false,
                };
                if !ok {
                    failures += 1;
                }
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                n += lanes;
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
    Run {
        per_s: (requests - failures) as f64 / seconds,
        seconds,
        p50_ms: percentile(&all, 0.50),
        p99_ms: percentile(&all, 0.99),
        failures,
    }
}

/// The latency below which `fraction` of the `sorted` ones fall (0 when none).
pub fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 * fraction) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0.0)
}

/// Appends a POST with a JSON body and the given extra header lines.
pub fn write_post(out: &mut Vec<u8>, host: &str, path: &str, headers: &str, body: &[u8]) {
    use std::io::Write;
    let _ = write!(
        out,
        "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n{headers}\r\n",
        body.len()
    );
    out.extend_from_slice(body);
}

/// A signed SendMe transfer, as the SDKs send it.
struct Bare {
    host: String,
    path: &'static str,
    body: Vec<u8>,
}

impl Request for Bare {
    fn write(&self, _n: u64, out: &mut Vec<u8>) {
        write_post(out, &self.host, self.path, "", &self.body);
    }

    fn accepted(&self, status: u16, _body: &[u8]) -> bool {
        (200..300).contains(&status)
    }
}

/// A trivial handler on this machine answering `answer` to POSTs of `body` on
/// `path`: the ceiling of HTTP itself for requests of that size.
pub async fn bare_http_limit(
    path: &'static str,
    body: Vec<u8>,
    answer: serde_json::Value,
    requests: u64,
    concurrency: u64,
) -> anyhow::Result<Run> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let router = axum::Router::new().route(
        path,
        axum::routing::post(move || {
            let answer = answer.clone();
            async move { axum::Json(answer) }
        }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let bare = Arc::new(Bare {
        host: addr.to_string(),
        path,
        body,
    });
    let run = drive(addr, requests, concurrency, bare).await;
    server.abort();
    Ok(run)
}

/// `GET /healthz`: answered through the gateway's whole HTTP edge (request id,
/// body limit, routing, per-route metrics) and nothing else.
struct Health {
    host: String,
}

impl Request for Health {
    fn write(&self, _n: u64, out: &mut Vec<u8>) {
        use std::io::Write;
        let _ = write!(out, "GET /healthz HTTP/1.1\r\nhost: {}\r\n\r\n", self.host);
    }

    fn accepted(&self, status: u16, _body: &[u8]) -> bool {
        status == 200
    }
}

/// What the gateway's HTTP edge alone allows: `requests` that do no work sent to
/// the same gateway process, and the gateway's CPU time per request, in µs.
pub async fn edge_alone(gateway: &Gateway, requests: u64, concurrency: u64) -> (Run, f64) {
    let pid = gateway.child.id().to_string();
    let health = Arc::new(Health {
        host: gateway.addr.to_string(),
    });
    let cpu = cpu_seconds(&pid);
    let run = drive(gateway.addr, requests, concurrency, health).await;
    let cpu_us = (cpu_seconds(&pid) - cpu) / requests.max(1) as f64 * 1e6;
    (run, cpu_us)
}

/// CPU seconds of every process whose command is `name` (PostgreSQL's server
/// processes: `postgres`), from /proc.
pub fn cpu_seconds_of_command(name: &str) -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == name)
        })
        .map(|pid| cpu_seconds(&pid))
        .sum()
}

/// CPU time (user + system) process `pid` (or `self`) has used so far, in seconds.
pub fn cpu_seconds(pid: &str) -> f64 {
    // Fields 14 and 15 of /proc/PID/stat, in clock ticks (USER_HZ, 100 on Linux).
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after_name = &stat[stat.rfind(')')? + 2..];
            let fields: Vec<&str> = after_name.split_whitespace().collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        })
        .unwrap_or(0.0)
}
