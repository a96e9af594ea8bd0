//! Runtime configuration: defaults, overridden by a config file, overridden by
//! environment variables and command-line flags (the CLI applies those).

use gerbang_core::payout::CashNetwork;
use serde::Deserialize;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The sandbox API is on and the clock can be advanced.
    #[default]
    Sandbox,
    /// No sandbox API, no clock travel, no demo principals.
    Production,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sandbox" => Ok(Mode::Sandbox),
            "production" => Ok(Mode::Production),
            other => Err(format!(
                "unknown mode {other:?} (expected sandbox or production)"
            )),
        }
    }
}

/// What one gateway process does: answer requests, run the workers (notifier,
/// scheduler: dispatch, timers, backups), or both. Processes of different roles
/// share one PostgreSQL database; leases decide which worker does what.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Requests and workers in one process.
    #[default]
    All,
    /// Requests only (and health and metrics).
    Api,
    /// Workers only; its HTTP port answers health and metrics.
    Worker,
}

impl Role {
    pub fn answers_requests(self) -> bool {
        self != Role::Worker
    }

    pub fn runs_workers(self) -> bool {
        self != Role::Api
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "all" => Ok(Role::All),
            "api" => Ok(Role::Api),
            "worker" => Ok(Role::Worker),
            other => Err(format!(
                "unknown role {other:?} (expected api, worker or all)"
            )),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifierConfig {
    /// How long one delivery attempt may take.
    pub timeout_seconds: u64,
    /// Wait before the first retry; each later retry waits twice as long.
    pub first_retry_seconds: u64,
    /// Stop retrying once a notification is this old.
    pub give_up_after_seconds: u64,
    /// Hard cap on attempts, whatever the schedule says.
    pub max_attempts: i32,
    /// Deliveries in flight at once.
    pub concurrency: u32,
    /// How often the outbox is polled when nothing wakes the notifier.
    pub poll_millis: u64,
    /// Whether notifications may go to loopback, private, link-local and other
    /// internal addresses. Unset: yes in sandbox mode, no in production.
    pub allow_internal_destinations: Option<bool>,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        NotifierConfig {
            timeout_seconds: 10,
            first_retry_seconds: 60,
            give_up_after_seconds: 24 * 3600,
            max_attempts: 30,
            concurrency: 64,
            poll_millis: 500,
            allow_internal_destinations: None,
        }
    }
}

impl NotifierConfig {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds.max(1))
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerConfig {
    pub poll_millis: u64,
    /// Timers taken per poll.
    pub batch: u32,
    /// Timers fired at once. More lets dispatch keep pace with a heavier load of
    /// new transfers, at the cost of the API's share of the machine.
    pub concurrency: u32,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            poll_millis: 250,
            batch: 100,
            concurrency: 32,
        }
    }
}

/// How the built-in simulators of upstream channels behave.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulatorConfig {
    /// Seconds between accepting a bank transfer and the bank's answer.
    pub bank_latency_seconds: u64,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            bank_latency_seconds: 2,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub listen: String,
    /// Where customers' browsers and merchants reach this gateway
    /// (`https://pay.example.com`): the base of payment-page and QR links. Unset:
    /// the address it listens on.
    pub public_url: Option<String>,
    pub database_url: String,
    pub mode: Mode,
    /// What this process does (`--role`).
    pub role: Role,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// A provisioning file applied at every start.
    pub provision: Option<String>,
    pub notifier: NotifierConfig,
    pub scheduler: SchedulerConfig,
    pub simulator: SimulatorConfig,
    pub sendme: SendmeConfig,
    pub snap: SnapConfig,
    pub cashout: CashoutConfig,
    /// Banks that take payments into virtual accounts over the host-to-host API,
    /// by name (`[banks.bni]`).
    pub banks: std::collections::BTreeMap<String, BankConfig>,
    pub payout: PayoutConfig,
    pub http: HttpConfig,
    pub backup: BackupConfig,
    pub dashboard: DashboardConfig,
}

/// The dashboard served at `/dashboard`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DashboardConfig {
    /// Session cookies are `Secure` (sent over HTTPS, and to `localhost` /
    /// `127.0.0.1`, only). Turn off only to reach the dashboard over plain HTTP
    /// on a trusted network.
    pub secure_cookies: bool,
    /// Sign-in attempts taken from one address per minute.
    pub sign_ins_per_minute: u32,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        DashboardConfig {
            secure_cookies: true,
            sign_ins_per_minute: 20,
        }
    }
}

/// A collecting bank's host-to-host settings; what is left out takes the default.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BankConfig {
    /// The key the bank sends in `X-Gerbang-Key`; default: the bank's name.
    pub key: Option<String>,
    /// The bank's HMAC secret; in sandbox mode a built-in one when unset.
    pub secret: Option<String>,
    /// How long after a payment a reversal is still accepted (default an hour).
    pub reversal_window_seconds: Option<u64>,
}

/// Backups the gateway takes of its own SQLite database.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    /// Folder the scheduled backups go to; unset: the gateway takes none.
    pub folder: Option<String>,
    /// Time between two backups.
    pub interval_seconds: u64,
    /// Backups kept in the folder; older ones are deleted after a new one is checked.
    pub keep: usize,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            folder: None,
            interval_seconds: 24 * 3600,
            keep: 7,
        }
    }
}

/// Limits on client connections, so slow or idle clients cannot hold the
/// gateway's sockets.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Longest wait for a request's headers — from the connection's start, and on
    /// a kept-alive connection from the end of the last answer (the idle timeout).
    pub header_read_timeout_seconds: u64,
    /// Longest time reading one request's body.
    pub body_read_timeout_seconds: u64,
    /// Connections open at once; past it, new ones wait in the listen backlog.
    pub max_connections: usize,
    /// Reverse proxies in front of the gateway (their addresses): a request from
    /// one of them is from the address its `X-Forwarded-For` names (the last one
    /// not itself a listed proxy). Used where the client's address matters: the
    /// dashboard's sign-in limit and audit log.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Threads that answer requests and run the workers; unset: see
    /// [`Config::worker_threads`].
    pub worker_threads: Option<usize>,
}

/// Most request threads `[http] worker_threads` may ask for.
pub const MAX_WORKER_THREADS: usize = 1024;

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_read_timeout_seconds: 30,
            body_read_timeout_seconds: 30,
            max_connections: 4096,
            trusted_proxies: Vec::new(),
            worker_threads: None,
        }
    }
}

/// Payouts, whatever face asks for them.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PayoutConfig {
    /// Furthest ahead a payout may be scheduled (SendMe `instruct_date`): its funds
    /// are held until then.
    pub max_schedule_ahead_seconds: u64,
}

impl Default for PayoutConfig {
    fn default() -> Self {
        PayoutConfig {
            max_schedule_ahead_seconds: 90 * 24 * 3600,
        }
    }
}

/// Cash-out at stores and ATMs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CashoutConfig {
    /// How long a code lives when neither the request nor the partner says.
    pub default_expiry_seconds: u64,
    /// Longest life a request may ask for.
    pub max_expiry_seconds: u64,
    pub alfamart: CashoutNetworkConfig,
    pub indomaret: CashoutNetworkConfig,
    pub permata: CashoutNetworkConfig,
}

impl CashoutConfig {
    /// The settings of one network.
    pub fn network(&self, network: CashNetwork) -> &CashoutNetworkConfig {
        match network {
            CashNetwork::Alfamart => &self.alfamart,
            CashNetwork::Indomaret => &self.indomaret,
            CashNetwork::Permata => &self.permata,
        }
    }
}

/// One cash-out network's settings; what is left out takes the network's default
/// (see `cashout::network`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CashoutNetworkConfig {
    pub min_rupiah: Option<i64>,
    pub max_rupiah: Option<i64>,
    /// Amounts must be a multiple of this.
    pub multiple_rupiah: Option<i64>,
    /// `trx_desc` is cut to this many characters.
    pub description_chars: Option<usize>,
    /// The key the network sends in `X-Gerbang-Key`; default: the network's name.
    pub key: Option<String>,
    /// The network's HMAC secret; in sandbox mode a built-in one when unset.
    pub secret: Option<String>,
    /// How long after a payment a reversal is still accepted.
    pub reversal_window_seconds: Option<u64>,
    /// Whether a reversal is accepted after the payment's advice.
    pub reversal_after_advice: Option<bool>,
}

impl Default for CashoutConfig {
    fn default() -> Self {
        CashoutConfig {
            default_expiry_seconds: 24 * 3600,
            max_expiry_seconds: 30 * 24 * 3600,
            alfamart: CashoutNetworkConfig::default(),
            indomaret: CashoutNetworkConfig::default(),
            permata: CashoutNetworkConfig::default(),
        }
    }
}

/// SendMe v1 settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SendmeConfig {
    /// Largest difference accepted between `faspay-timestamp` (Jakarta time) and the
    /// gateway's clock; 0 accepts any.
    pub max_timestamp_skew_seconds: u64,
}

impl Default for SendmeConfig {
    fn default() -> Self {
        SendmeConfig {
            max_timestamp_skew_seconds: 24 * 3600,
        }
    }
}

/// SNAP settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SnapConfig {
    /// Largest difference accepted between `X-TIMESTAMP` and the gateway's clock.
    pub max_timestamp_skew_seconds: u64,
    /// Most items in one bulk cash-in.
    pub max_bulk_items: usize,
    /// Largest bulk cash-in body, in bytes (the one route allowed more than
    /// `max_body_bytes`).
    pub max_bulk_body_bytes: usize,
}

impl Default for SnapConfig {
    fn default() -> Self {
        SnapConfig {
            max_timestamp_skew_seconds: 300,
            max_bulk_items: 100_000,
            max_bulk_body_bytes: 64 * 1024 * 1024,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            database_url: "sqlite://gerbang.db".into(),
            mode: Mode::Sandbox,
            role: Role::All,
            max_body_bytes: 1024 * 1024,
            provision: None,
            notifier: NotifierConfig::default(),
            scheduler: SchedulerConfig::default(),
            simulator: SimulatorConfig::default(),
            sendme: SendmeConfig::default(),
            snap: SnapConfig::default(),
            cashout: CashoutConfig::default(),
            banks: Default::default(),
            payout: PayoutConfig::default(),
            http: HttpConfig::default(),
            backup: BackupConfig::default(),
            dashboard: DashboardConfig::default(),
        }
    }
}

impl Config {
    /// Whether notifications may go to internal addresses (see
    /// [`NotifierConfig::allow_internal_destinations`]).
    pub fn internal_destinations_allowed(&self) -> bool {
        self.notifier
            .allow_internal_destinations
            .unwrap_or(self.mode == Mode::Sandbox)
    }

    /// Whether a notice URL a request names is one this gateway never calls: an
    /// internal address, where such are not allowed.
    pub fn refuses_notice_url(&self, url: Option<&str>) -> bool {
        !self.internal_destinations_allowed() && url.is_some_and(names_internal)
    }

    pub fn from_toml(text: &str) -> Result<Self, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check()?;
        Ok(config)
    }

    /// Whether the database is PostgreSQL (otherwise the embedded SQLite).
    fn on_postgres(&self) -> bool {
        ["postgres://", "postgresql://"]
            .iter()
            .any(|p| self.database_url.starts_with(p))
    }

    /// Threads that answer requests and run the workers: `[http] worker_threads`,
    /// or one per core — less one on SQLite, whose writer thread makes every commit
    /// and would otherwise compete with them for a core (on two cores, one thread
    /// of each answered 5–10 % more requests than two and the writer).
    pub fn worker_threads(&self) -> usize {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        match self.http.worker_threads {
            Some(n) => n,
            None if self.on_postgres() => cores,
            None => cores.saturating_sub(1).max(1),
        }
    }

    /// Settings that parse but cannot work together.
    pub fn check(&self) -> Result<(), String> {
        let postgres = self.on_postgres();
        if self.role != Role::All && !postgres {
            return Err(format!(
                "role {:?}: processes of different roles share a PostgreSQL database; \
                 a SQLite database is served by one process (role all)",
                self.role
            ));
        }
        if self
            .http
            .worker_threads
            .is_some_and(|n| !(1..=MAX_WORKER_THREADS).contains(&n))
        {
            return Err(format!(
                "http: worker_threads must be from 1 to {MAX_WORKER_THREADS}"
            ));
        }
        if self.backup.folder.is_some()
            && (self.backup.interval_seconds == 0 || self.backup.keep == 0)
        {
            return Err("backup: interval_seconds and keep must be at least 1".into());
        }
        let c = &self.cashout;
        if c.default_expiry_seconds == 0 || c.default_expiry_seconds > c.max_expiry_seconds {
            return Err(
                "cashout: default_expiry_seconds must be from 1 to max_expiry_seconds".into(),
            );
        }
        for (name, bank) in &self.banks {
            if !gerbang_core::counter::VaBank::ALL
                .iter()
                .any(|b| b.slug() == name)
            {
                return Err(format!("banks.{name}: no such collecting bank"));
            }
            if bank.secret.as_deref().is_some_and(|s| s.len() < 16) {
                return Err(format!(
                    "banks.{name}: secret must have at least 16 characters"
                ));
            }
        }
        for network in CashNetwork::ALL {
            let (name, n) = (network.slug(), c.network(network));
            let positive = |v: Option<i64>| !matches!(v, Some(v) if v <= 0);
            if !positive(n.min_rupiah) || !positive(n.max_rupiah) || !positive(n.multiple_rupiah) {
                return Err(format!(
                    "cashout.{name}: min_rupiah, max_rupiah and multiple_rupiah must be positive"
                ));
            }
            if let (Some(min), Some(max)) = (n.min_rupiah, n.max_rupiah) {
                if min > max {
                    return Err(format!("cashout.{name}: min_rupiah is above max_rupiah"));
                }
            }
            if n.description_chars == Some(0) {
                return Err(format!(
                    "cashout.{name}: description_chars must be positive"
                ));
            }
            if n.secret.as_deref().is_some_and(|s| s.len() < 16) {
                return Err(format!(
                    "cashout.{name}: secret must have at least 16 characters"
                ));
            }
        }
        Ok(())
    }

    pub fn load_file(path: &str) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        Self::from_toml(&text).map_err(|e| format!("{path}: {e}"))
    }
}

/// Whether a URL's host is an internal address literal or a `localhost` name
/// (the notifier never calls it unless internal destinations are allowed).
pub(crate) fn names_internal(url: &str) -> bool {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(gerbang_core::destination::names_internal_host)
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_apart_need_postgres() {
        let on = |db: &str, role: &str| {
            Config::from_toml(&format!("database_url = \"{db}\"\nrole = \"{role}\"\n"))
        };
        assert!(on("sqlite://g.db", "all").is_ok());
        for role in ["api", "worker"] {
            let refused = on("sqlite://g.db", role).unwrap_err();
            assert!(refused.contains("PostgreSQL"), "{refused}");
            assert_eq!(
                on("postgres://gerbang@127.0.0.1/g", role).unwrap().role,
                role.parse().unwrap()
            );
        }
        assert!(on("sqlite://g.db", "both").is_err());
        assert!(Role::Api.answers_requests() && !Role::Api.runs_workers());
        assert!(!Role::Worker.answers_requests() && Role::Worker.runs_workers());
    }

    #[test]
    fn worker_threads_leave_sqlite_writer_a_core() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let on = |toml: &str| Config::from_toml(toml);
        assert_eq!(
            on("").unwrap().worker_threads(),
            cores.saturating_sub(1).max(1)
        );
        assert_eq!(
            on("database_url = \"postgres://gerbang@127.0.0.1/g\"\n")
                .unwrap()
                .worker_threads(),
            cores
        );
        assert_eq!(
            on("[http]\nworker_threads = 3\n").unwrap().worker_threads(),
            3
        );
        assert!(on("[http]\nworker_threads = 0\n").is_err());
        assert!(on("[http]\nworker_threads = 1025\n").is_err());
    }

    #[test]
    fn file_overrides_defaults_and_rejects_unknown_keys() {
        let c = Config::from_toml(
            "listen = \"0.0.0.0:9\"\nmode = \"production\"\n[notifier]\ntimeout_seconds = 3\n",
        )
        .unwrap();
        assert_eq!(c.listen, "0.0.0.0:9");
        assert_eq!(c.mode, Mode::Production);
        assert_eq!(c.notifier.timeout_seconds, 3);
        assert_eq!(c.notifier.first_retry_seconds, 60);
        assert_eq!(c.database_url, "sqlite://gerbang.db");
        let err = Config::from_toml("lisen = \"x\"").unwrap_err();
        assert!(err.contains("lisen"), "{err}");
        let err = Config::from_toml("[cashout.alfamart]\nmin_rupiah = 90000\nmax_rupiah = 50000\n")
            .unwrap_err();
        assert!(err.contains("cashout.alfamart"), "{err}");
        let err = Config::from_toml("[cashout.permata]\nsecret = \"short\"\n").unwrap_err();
        assert!(err.contains("secret"), "{err}");
        assert!(Config::from_toml("[cashout.indomaret]\nmax_rupiah = 2000000\n").is_ok());
    }

    #[test]
    fn scheduler_concurrency_defaults_to_32_and_is_read_from_the_file() {
        assert_eq!(Config::default().scheduler.concurrency, 32);
        let c = Config::from_toml("[scheduler]\nconcurrency = 128\n").unwrap();
        assert_eq!((c.scheduler.concurrency, c.scheduler.batch), (128, 100));
    }
}
