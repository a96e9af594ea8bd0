//! The subcommands that run or inspect a gateway.

use crate::Common;
use anyhow::{bail, Context};
use gerbang_app::config::Config;
use gerbang_app::keys::{KeyUse, StoredKeys};
use gerbang_app::{demo, provision, App};
use gerbang_core::Clock;
use gerbang_store::{NotificationQuery, NotificationStatus, SharedStore};
use std::path::Path;
use std::process::ExitCode;

pub(crate) fn load_config(common: &Common) -> anyhow::Result<Config> {
    let mut config = match &common.config {
        Some(path) => Config::load_file(path).map_err(anyhow::Error::msg)?,
        None => Config::default(),
    };
    if let Some(url) = &common.database_url {
        config.database_url = url.clone();
    }
    Ok(config)
}

async fn open_store(common: &Common) -> anyhow::Result<SharedStore> {
    let config = load_config(common)?;
    Ok(gerbang_store::connect(&config.database_url).await?)
}

fn print_report(report: &provision::Report) {
    for line in report.lines() {
        println!("{line}");
    }
}

pub async fn serve(
    common: Common,
    listen: Option<String>,
    mode: Option<String>,
    provision_file: Option<String>,
    role: Option<String>,
) -> anyhow::Result<ExitCode> {
    let mut config = load_config(&common)?;
    if let Some(role) = role {
        config.role = role.parse().map_err(anyhow::Error::msg)?;
    }
    if let Some(listen) = listen {
        config.listen = listen;
    }
    if let Some(mode) = mode {
        config.mode = mode.parse().map_err(anyhow::Error::msg)?;
    }
    if let Some(file) = provision_file {
        config.provision = Some(file);
    }
    config.check().map_err(anyhow::Error::msg)?;
    tracing::info!(
        database = %gerbang_store::redact_url(&config.database_url),
        mode = ?config.mode,
        role = ?config.role,
        "starting gerbang"
    );
    let app = App::open(config.clone()).await?;
    if app.is_sandbox() {
        if let Some(report) = demo::ensure(&app.store, app.now()).await? {
            println!("First start: demo principals created. Their credentials are shown only now:");
            print_report(&report);
        }
    }
    if let Some(file) = &config.provision {
        let report = provision::apply_file(&*app.store, app.now(), Path::new(file))
            .await
            .with_context(|| format!("provisioning {file}"))?;
        print_report(&report);
    }
    // The Permata cash-out code key: made at the first start, before the gateway
    // answers, so no request (and no benchmark) shares the cores with making it.
    app.code_keys
        .current(&app.store, app.now())
        .await
        .context("preparing the cash-out code key")?;
    // Listen for SIGTERM before serving: a signal that comes as soon as the first
    // answer went out still stops the gateway gracefully.
    let shutdown = shutdown_signal()?;
    let server = gerbang_server::start(app, &config.listen).await?;
    println!("gerbang listening on {}", server.url());
    tracing::info!(addr = %server.addr, "listening");
    shutdown.await;
    tracing::info!("shutting down: finishing in-flight requests and worker rounds");
    server.stop().await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Registers the handlers of Ctrl-C and SIGTERM now; the future ends at either.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    Ok(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
    })
}

pub async fn backup(common: Common, path: &str) -> anyhow::Result<ExitCode> {
    use gerbang_app::backup::{self, BackupError};
    let config = load_config(&common)?;
    let now = gerbang_core::SystemClock.now();
    match backup::take(&config.database_url, Path::new(path), now).await {
        Ok(report) => {
            let l = &report.ledger;
            println!(
                "backup of {} written to {}: {} bytes, schema version {}",
                gerbang_store::redact_url(&config.database_url),
                report.path.display(),
                report.bytes,
                report.schema_version
            );
            println!(
                "copy checked: integrity ok; ledger is clean ({} accounts, {} entries, {} postings, {} pending holds)",
                l.accounts, l.entries, l.postings, l.holds_pending
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(BackupError::Postgres) => {
            eprintln!("{}", backup::POSTGRES_NOTE);
            Ok(ExitCode::from(2))
        }
        Err(BackupError::Failed(e)) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

pub async fn restore_status(common: Common) -> anyhow::Result<ExitCode> {
    use gerbang_app::restore::{self, Restored};
    let store = open_store(&common).await?;
    match restore::status(&store).await? {
        Restored::No => println!("not a restored backup"),
        Restored::Unconfirmed { taken_at } => println!(
            "restored from a backup taken at {taken_at}; new references are refused until \
             `gerbang restore confirm`"
        ),
        Restored::Confirmed { taken_at } => {
            println!("restored from a backup taken at {taken_at}; confirmed")
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn restore_mark(common: Common, taken_at: &str, note: &str) -> anyhow::Result<ExitCode> {
    let Some(at) = gerbang_core::Timestamp::parse_rfc3339(taken_at) else {
        eprintln!(
            "error: --taken-at {taken_at}: expected an RFC 3339 time, e.g. 2026-12-04T10:00:00Z"
        );
        return Ok(ExitCode::from(2));
    };
    let app = App::open(load_config(&common)?).await?;
    gerbang_app::restore::mark(&app, &at.rfc3339(), note).await?;
    println!(
        "marked as restored from {}: gateways started now refuse references they do not know \
         until `gerbang restore confirm`",
        at.rfc3339()
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn restore_confirm(common: Common, note: &str) -> anyhow::Result<ExitCode> {
    let app = App::open(load_config(&common)?).await?;
    if gerbang_app::restore::confirm(&app, note).await? {
        println!("confirmed: new references are accepted again");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("nothing to confirm: not an unconfirmed restored backup");
        Ok(ExitCode::from(1))
    }
}

pub async fn migrate(common: Common, dry_run: bool) -> anyhow::Result<ExitCode> {
    let config = load_config(&common)?;
    let shown = gerbang_store::redact_url(&config.database_url);
    let pending = gerbang_store::pending_migrations(&config.database_url).await?;
    if dry_run {
        if pending.is_empty() {
            println!("{shown} is at the current schema: nothing would run");
        } else {
            println!("{} migration(s) would run on {shown}:", pending.len());
            for m in &pending {
                println!("  {:04} {}", m.version, m.name);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let store = gerbang_store::connect(&config.database_url).await?;
    for m in &pending {
        println!("applied {:04} {}", m.version, m.name);
    }
    println!("database is at the current schema ({})", store.backend());
    Ok(ExitCode::SUCCESS)
}

pub async fn provision(common: Common, file: &str) -> anyhow::Result<ExitCode> {
    let store = open_store(&common).await?;
    let now = gerbang_core::SystemClock.now();
    match provision::apply_file(&*store, now, Path::new(file)).await {
        Ok(report) => {
            print_report(&report);
            if !report.changed_anything() {
                println!("nothing changed");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("nothing was changed");
            Ok(ExitCode::from(1))
        }
    }
}

pub async fn ledger_check(common: Common) -> anyhow::Result<ExitCode> {
    let store = open_store(&common).await?;
    let report = store.check_ledger().await?;
    println!(
        "{} accounts, {} entries, {} postings, {} pending holds",
        report.accounts, report.entries, report.postings, report.holds_pending
    );
    if report.is_clean() {
        println!("ledger is clean: every entry balances, all postings sum to zero, stored balances match their postings, no account is below its floor");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("ledger check FAILED: {} problem(s)", report.problems.len());
        for p in &report.problems {
            println!("  - {p}");
        }
        Ok(ExitCode::from(1))
    }
}

pub async fn notifications_list(
    common: Common,
    status: Option<String>,
    limit: u32,
) -> anyhow::Result<ExitCode> {
    let status = match status.as_deref() {
        None => None,
        Some(s) => match NotificationStatus::parse(s) {
            Some(s) => Some(s),
            None => bail!("--status: one of pending, delivered, failed"),
        },
    };
    let store = open_store(&common).await?;
    let list = store
        .notifications(NotificationQuery {
            status,
            limit,
            ..Default::default()
        })
        .await?;
    for n in list {
        println!(
            "{:>8}  {:<9}  attempts={:<3} {}  {}  {}",
            n.id,
            n.status.as_str(),
            n.attempts,
            n.created_at,
            printable(&n.source),
            printable(&n.url)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `text` safe for a terminal: a control character (a receiver's answer may
/// hold escape sequences, NULs) is written as its escape, `\u{1b}`.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

pub async fn notifications_show(common: Common, id: i64) -> anyhow::Result<ExitCode> {
    let store = open_store(&common).await?;
    let Some(n) = store.notification(id).await? else {
        eprintln!("no notification {id}");
        return Ok(ExitCode::from(1));
    };
    println!("id:        {}", n.id);
    println!("status:    {}", n.status.as_str());
    println!("protocol:  {}", n.protocol);
    println!("source:    {}", printable(&n.source));
    println!("url:       {}", printable(&n.url));
    println!("created:   {}", n.created_at);
    println!("body:      {}", printable(&n.body));
    for a in store.attempts(id).await? {
        println!(
            "attempt {:>2} at {}: status {} in {} ms: {}",
            a.attempt_no,
            a.at,
            a.http_status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into()),
            a.latency_ms,
            printable(&a.excerpt)
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn notifications_resend(common: Common, id: i64) -> anyhow::Result<ExitCode> {
    let store = open_store(&common).await?;
    if store
        .resend_notification(id, gerbang_core::SystemClock.now())
        .await?
    {
        println!("notification {id} is pending again; a running gateway delivers it shortly");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("no notification {id}");
        Ok(ExitCode::from(1))
    }
}

/// Prints the public key of the cash-out code pair (made now if there is none),
/// or of a new pair with `rotate`. Only the PEM goes to stdout.
/// The key pairs `gerbang keys` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyFor {
    Cashout,
    Snap,
}

pub async fn keys(common: Common, of: KeyFor, rotate: bool) -> anyhow::Result<ExitCode> {
    let store = open_store(&common).await?;
    let now = gerbang_core::SystemClock.now();
    let of = match of {
        KeyFor::Cashout => KeyUse::CashoutCodes,
        KeyFor::Snap => KeyUse::SnapSignatures,
    };
    let keys = StoredKeys::new(of);
    let key = if rotate {
        let key = keys.rotate(&store, now).await?;
        eprintln!(
            "new {} pair made at {}; what the previous pair encrypted or signed no longer checks",
            of.describe(),
            key.created_at()
        );
        key
    } else {
        let key = keys.current(&store, now).await?;
        eprintln!(
            "{} public key (RSA {} bits, pair made at {})",
            of.describe(),
            gerbang_app::keys::BITS,
            key.created_at()
        );
        key
    };
    print!("{}", key.public_pem());
    Ok(ExitCode::SUCCESS)
}

/// What `gerbang payout` does to the named payouts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Decide {
    Approve,
    Reject,
    Cancel,
}

/// Whose payouts `gerbang payout` decides on: a SendMe partner's or a SNAP partner's.
#[derive(clap::Args, Debug)]
#[group(required = true, multiple = false)]
pub struct Whose {
    /// A SendMe partner's virtual account.
    #[arg(long)]
    virtual_account: Option<String>,
    /// A SNAP partner's id (`X-PARTNER-ID`).
    #[arg(long)]
    snap_partner: Option<String>,
}

impl Whose {
    fn requester(&self) -> gerbang_core::payout::Requester {
        use gerbang_core::payout::{Face, Requester};
        match (&self.virtual_account, &self.snap_partner) {
            (_, Some(partner)) => Requester {
                face: Face::Snap,
                principal: partner.clone(),
            },
            (va, None) => Requester {
                face: Face::SendmeV1,
                principal: va.clone().unwrap_or_default(),
            },
        }
    }
}

pub async fn payout(
    common: Common,
    whose: &Whose,
    ids: &[String],
    decide: Decide,
) -> anyhow::Result<ExitCode> {
    let config = load_config(&common)?;
    let app = App::open(config).await?;
    let requester = whose.requester();
    use gerbang_app::payout::{approval, cancel};
    let decided = match decide {
        Decide::Approve => approval::approve(&app, &requester, ids)
            .await
            .map_err(|e| e.to_string()),
        Decide::Reject => approval::reject(&app, &requester, ids)
            .await
            .map_err(|e| e.to_string()),
        Decide::Cancel => cancel::cancel(&app, &requester, ids)
            .await
            .map_err(|e| e.to_string()),
    };
    let done = match decide {
        Decide::Approve => "approved",
        Decide::Reject => "rejected",
        Decide::Cancel => "cancelled",
    };
    match decided {
        Ok(list) => {
            for d in list {
                println!("{done} {} ({}): {}", d.id, d.reference, d.status.as_str());
            }
            if decide == Decide::Approve {
                println!("a running gateway sends them to their banks");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}; nothing was changed");
            Ok(ExitCode::from(1))
        }
    }
}
