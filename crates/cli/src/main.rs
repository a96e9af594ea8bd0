//! The `gerbang` binary: one executable with a subcommand per role.

mod bench;
mod commands;
mod sim;
mod users;

use clap::{Args, Parser, Subcommand};

/// A faster allocator than the system's for a server that allocates per request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "gerbang",
    version,
    about = "Self-hosted payment gateway and disbursement switch"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the database is and how the gateway runs; flags beat environment
/// variables, which beat the config file, which beats the defaults.
#[derive(Args, Clone, Debug)]
pub struct Common {
    /// A TOML config file (see README).
    #[arg(long, env = "GERBANG_CONFIG", global = true)]
    config: Option<String>,
    /// sqlite://PATH (default sqlite://gerbang.db) or postgres://USER@HOST/DB.
    #[arg(long, env = "GERBANG_DATABASE_URL", global = true)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway: HTTP APIs, notifier and scheduler.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long, env = "GERBANG_LISTEN")]
        listen: Option<String>,
        /// sandbox (default) or production.
        #[arg(long, env = "GERBANG_MODE")]
        mode: Option<String>,
        /// Apply this provisioning file before serving.
        #[arg(long, env = "GERBANG_PROVISION")]
        provision: Option<String>,
        /// api (answer requests), worker (run the notifier and the scheduler:
        /// dispatch, timers) or all (default). Nodes of different roles share one
        /// PostgreSQL database.
        #[arg(long, env = "GERBANG_ROLE")]
        role: Option<String>,
    },
    /// Copy a running gateway's SQLite database into PATH (a new file) without
    /// stopping it, and check the copy.
    Backup {
        path: String,
        #[command(flatten)]
        common: Common,
    },
    /// A database restored from a backup: its state, and the operator's
    /// confirmation that the time since the backup was reconciled.
    Restore {
        #[command(subcommand)]
        command: RestoreCommand,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate {
        /// Say which migrations would run, and change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Create or update merchants and partners from a TOML file.
    Provision {
        file: String,
        #[command(flatten)]
        common: Common,
    },
    /// Ledger tools.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Look at and resend notifications.
    Notifications {
        #[command(subcommand)]
        command: NotificationsCommand,
    },
    /// Approve or reject payouts waiting for approval.
    Payout {
        #[command(subcommand)]
        command: PayoutCommand,
    },
    /// Print one of the gateway's public keys (PEM, on stdout): by default the one
    /// that decrypts Permata cash-out codes; `--for snap` the one SNAP partners
    /// verify the gateway's notifications with.
    Keys {
        /// Which key pair: `cashout` (Permata cash-out codes) or `snap` (SNAP signatures).
        #[arg(long = "for", value_enum, default_value = "cashout")]
        of: commands::KeyFor,
        /// Make a new key pair first; what the old one encrypted or signed no longer checks.
        #[arg(long)]
        rotate: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Dashboard users: add, list, disable, reset a TOTP secret.
    Users {
        #[command(subcommand)]
        command: users::UsersCommand,
    },
    /// Act as a cash-out network against a running gateway: a store cashier or an ATM.
    Sim {
        #[command(subcommand)]
        command: sim::SimCommand,
    },
    /// Benchmarks; each ends with one JSON line of its figures.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Verify every ledger invariant; exits 1 with a report if one fails.
    Check {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum RestoreCommand {
    /// Whether the database is a restored backup, and whether it was confirmed.
    Status {
        #[command(flatten)]
        common: Common,
    },
    /// Mark a database restored by other means (a PostgreSQL point-in-time
    /// recovery) as a copy of TAKEN_AT: gateways started afterwards refuse references it does not
    /// know until `gerbang restore confirm`.
    Mark {
        /// When the copy's data ends (RFC 3339, e.g. the recovery target time).
        #[arg(long)]
        taken_at: String,
        /// How the database was restored, kept with the mark.
        #[arg(long)]
        note: String,
        #[command(flatten)]
        common: Common,
    },
    /// Confirm that the transfers made after the backup was taken have been
    /// reconciled with the channels; new references are accepted again.
    Confirm {
        /// What was reconciled, kept with the confirmation.
        #[arg(long)]
        note: String,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum PayoutCommand {
    /// Send waiting payouts to their banks (one batch per bank).
    Approve {
        #[command(flatten)]
        whose: commands::Whose,
        /// Transaction ids (`trx_id`).
        #[arg(required = true)]
        ids: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Refuse waiting payouts: their funds are released and the partner told.
    Reject {
        #[command(flatten)]
        whose: commands::Whose,
        #[arg(required = true)]
        ids: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Cancel payouts not sent yet (waiting, scheduled later, or an unclaimed
    /// cash-out code): their funds are released and the partner told.
    Cancel {
        #[command(flatten)]
        whose: commands::Whose,
        #[arg(required = true)]
        ids: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum NotificationsCommand {
    /// The newest notifications.
    List {
        #[command(flatten)]
        common: Common,
        /// pending, delivered or failed.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// One notification with every delivery attempt.
    Show {
        id: i64,
        #[command(flatten)]
        common: Common,
    },
    /// Send a notification again now (a running gateway delivers it).
    Resend {
        id: i64,
        #[command(flatten)]
        common: Common,
    },
}

/// Logs go to stderr: `GERBANG_LOG_FORMAT=json` writes one JSON object per line
/// (for log shippers), otherwise text, coloured only on a terminal. `GERBANG_LOG`
/// filters (default `info`).
fn init_logs() -> Result<(), String> {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("GERBANG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match std::env::var("GERBANG_LOG_FORMAT").as_deref() {
        Ok("json") => logs
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        Ok("text") | Err(_) => logs
            .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
            .init(),
        Ok(other) => return Err(format!("GERBANG_LOG_FORMAT={other}: expected json or text")),
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    if let Err(e) = init_logs() {
        eprintln!("error: {e}");
        return std::process::ExitCode::from(2);
    }
    let cli = Cli::parse();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    match &cli.command {
        // A bench drives the gateway from one thread and leaves the other cores to
        // what it measures.
        Command::Bench { .. } => {
            runtime.worker_threads(1);
        }
        // A configuration that does not load is reported by `serve` itself.
        Command::Serve { common, .. } => {
            if let Ok(config) = commands::load_config(common) {
                runtime.worker_threads(config.worker_threads());
            }
        }
        _ => {}
    }
    let runtime = runtime.enable_all().build().expect("tokio runtime");
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve {
                common,
                listen,
                mode,
                provision,
                role,
            } => commands::serve(common, listen, mode, provision, role).await,
            Command::Backup { path, common } => commands::backup(common, &path).await,
            Command::Migrate { common, dry_run } => commands::migrate(common, dry_run).await,
            Command::Provision { file, common } => commands::provision(common, &file).await,
            Command::Ledger {
                command: LedgerCommand::Check { common },
            } => commands::ledger_check(common).await,
            Command::Notifications { command } => match command {
                NotificationsCommand::List {
                    common,
                    status,
                    limit,
                } => commands::notifications_list(common, status, limit).await,
                NotificationsCommand::Show { id, common } => {
                    commands::notifications_show(common, id).await
                }
                NotificationsCommand::Resend { id, common } => {
                    commands::notifications_resend(common, id).await
                }
            },
            Command::Restore { command } => match command {
                RestoreCommand::Status { common } => commands::restore_status(common).await,
                RestoreCommand::Mark {
                    taken_at,
                    note,
                    common,
                } => commands::restore_mark(common, &taken_at, &note).await,
                RestoreCommand::Confirm { note, common } => {
                    commands::restore_confirm(common, &note).await
                }
            },
            Command::Payout { command } => match command {
                PayoutCommand::Approve { whose, ids, common } => {
                    commands::payout(common, &whose, &ids, commands::Decide::Approve).await
                }
                PayoutCommand::Reject { whose, ids, common } => {
                    commands::payout(common, &whose, &ids, commands::Decide::Reject).await
                }
                PayoutCommand::Cancel { whose, ids, common } => {
                    commands::payout(common, &whose, &ids, commands::Decide::Cancel).await
                }
            },
            Command::Keys { of, rotate, common } => commands::keys(common, of, rotate).await,
            Command::Users { command } => users::run(command).await,
            Command::Sim { command } => sim::run(command).await,
            Command::Bench { command } => bench::run(command).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
