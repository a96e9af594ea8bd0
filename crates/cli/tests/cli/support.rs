//! Running the real `gerbang` binary.

use crate::common::Api;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const BIN: &str = env!("CARGO_BIN_EXE_gerbang");

/// A `gerbang` command run in `dir`, unaffected by the caller's GERBANG_* settings.
pub fn gerbang(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir).kill_on_drop(true);
    for var in [
        "GERBANG_CONFIG",
        "GERBANG_DATABASE_URL",
        "GERBANG_LISTEN",
        "GERBANG_MODE",
        "GERBANG_PROVISION",
    ] {
        command.env_remove(var);
    }
    command.env("GERBANG_LOG", "warn");
    command
}

/// `gerbang serve` in `dir` on a free port, on `db_url`, with a config file and a
/// provisioning file when given.
pub fn serve_command(
    dir: &Path,
    db_url: &str,
    config: Option<&str>,
    provision: Option<&str>,
) -> Command {
    let mut command = gerbang(dir);
    command.args(["serve", "--listen", "127.0.0.1:0"]);
    if let Some(config) = config {
        command.args(["--config", config]);
    }
    command.args(["--database-url", db_url]);
    if let Some(provision) = provision {
        command.args(["--provision", provision]);
    }
    command
}

/// What a finished command printed.
pub struct Ran {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Ran {
        assert_eq!(
            self.status.code(),
            Some(code),
            "exit status {:?}\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Runs `gerbang ARGS…` in `dir` to the end.
pub async fn run(dir: &Path, args: &[&str]) -> Ran {
    let Output {
        status,
        stdout,
        stderr,
    } = tokio::time::timeout(
        Duration::from_secs(30),
        gerbang(dir).args(args).stdin(Stdio::null()).output(),
    )
    .await
    .unwrap_or_else(|_| panic!("gerbang {args:?} did not finish in 30 s"))
    .expect("gerbang runs");
    Ran {
        status,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// `gerbang ledger check` on the database at `url` exits 0 and calls the ledger clean.
pub async fn assert_ledger_clean_at(dir: &Path, url: &str) {
    let checked = run(dir, &["ledger", "check", "--database-url", url]).await;
    checked.expect_code(0);
    assert!(
        checked.stdout.contains("ledger is clean"),
        "{}",
        checked.stdout
    );
}

/// Runs `gerbang provision` with a file holding `toml`, in `dir`, on `url`; it must succeed.
pub async fn provision_with(dir: &Path, url: &str, toml: &str) {
    let file = dir.join("provision-with.toml");
    std::fs::write(&file, toml).expect("provisioning file written");
    run(
        dir,
        &[
            "provision",
            file.to_str().expect("a UTF-8 path"),
            "--database-url",
            url,
        ],
    )
    .await
    .expect_code(0);
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A `gerbang serve` process, killed when dropped.
pub struct Serving {
    child: Child,
    pub pid: u32,
    pub api: Api,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

fn collect(
    stream: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    into: Arc<Mutex<Vec<String>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            into.lock().unwrap().push(line);
        }
    })
}

impl Serving {
    /// Spawns `command` (a `gerbang serve …`) and waits until it listens.
    pub async fn start(mut command: Command) -> Serving {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gerbang serve spawns");
        let pid = child.id().expect("pid");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let readers = [
            collect(child.stdout.take().unwrap(), stdout.clone()),
            collect(child.stderr.take().unwrap(), stderr.clone()),
        ];
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = loop {
            let found = stdout
                .lock()
                .unwrap()
                .iter()
                .find_map(|l| l.strip_prefix("gerbang listening on ").map(str::to_string));
            if let Some(url) = found {
                break url;
            }
            if let Some(status) = child.try_wait().expect("child status") {
                for reader in readers {
                    let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
                }
                panic!(
                    "gerbang serve exited with {status} before listening\nstdout:\n{}\nstderr:\n{}",
                    stdout.lock().unwrap().join("\n"),
                    stderr.lock().unwrap().join("\n")
                );
            }
            assert!(
                Instant::now() < deadline,
                "gerbang serve did not listen within 30 s\nstderr:\n{}",
                stderr.lock().unwrap().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let serving = Serving {
            child,
            pid,
            api: Api::new(url),
            stdout,
            stderr,
        };
        serving.api.wait_ready().await;
        serving
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().join("\n")
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// Sends a signal (`TERM`, `KILL`, …) with kill(1).
    pub fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid.to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {} failed", self.pid);
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("child status").is_none()
    }

    /// Waits for the process to end.
    pub async fn wait(&mut self, timeout: Duration) -> ExitStatus {
        match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => status.expect("child status"),
            Err(_) => panic!(
                "gerbang serve still running after {timeout:?}\nstderr:\n{}",
                self.stderr()
            ),
        }
    }

    /// SIGTERM, then expects a clean exit within a few seconds.
    pub async fn stop(mut self) {
        self.signal("TERM");
        let status = self.wait(Duration::from_secs(10)).await;
        assert_eq!(
            status.code(),
            Some(0),
            "gerbang serve ended with {status}\nstderr:\n{}",
            self.stderr()
        );
    }

    /// SIGKILL: the process dies on the spot.
    pub async fn kill9(mut self) {
        self.signal("KILL");
        let status = self.wait(Duration::from_secs(10)).await;
        assert_eq!(status.code(), None, "{status}");
    }
}

/// A config file in `dir` with a notifier and scheduler suited to tests.
pub fn write_config(dir: &Path, notifier_timeout_seconds: u64) -> String {
    let path = dir.join("gerbang.toml");
    std::fs::write(
        &path,
        format!(
            "[notifier]\ntimeout_seconds = {notifier_timeout_seconds}\nfirst_retry_seconds = 30\n\
             poll_millis = 50\n\n[scheduler]\npoll_millis = 50\n"
        ),
    )
    .expect("config written");
    path.display().to_string()
}
