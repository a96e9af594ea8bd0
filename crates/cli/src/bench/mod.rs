//! `gerbang bench …`: benchmarks that print their figures, ending with one JSON line.

mod dashboard;
mod debit;
mod ledger;
mod load;
mod notifier;
mod round_trips;
mod sendme;
mod snap;

use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Durable ledger transfers per second (a hold, then its post), next to the
    /// raw limit of the same machine.
    Ledger(ledger::LedgerBench),
    /// Signed SendMe transfers over HTTP against a gateway process, next to the
    /// bare-HTTP limit of the same machine.
    Sendme(sendme::SendmeBench),
    /// Debit Post Data requests over HTTP against a gateway process next to the
    /// bare-HTTP limit, and bills paid end to end per second.
    Debit(debit::DebitBench),
    /// Notifications delivered per second to a fast and to a slow local receiver,
    /// next to the bare-HTTP limit of the same machine.
    Notifier(notifier::NotifierBench),
    /// HMAC-signed SNAP transfers over HTTP next to the bare-HTTP limit, and a
    /// bulk cash-in from submit to its last notify next to as many durable
    /// ledger transfers.
    Snap(snap::SnapBench),
    /// The dashboard's transaction list on a million transactions: p50 and p99
    /// of filtered pages over HTTP.
    Dashboard(dashboard::DashboardBench),
}

pub async fn run(command: BenchCommand) -> anyhow::Result<ExitCode> {
    match command {
        BenchCommand::Ledger(args) => ledger::run(args).await,
        BenchCommand::Sendme(args) => sendme::run(args).await,
        BenchCommand::Notifier(args) => notifier::run(args).await,
        BenchCommand::Debit(args) => debit::run(args).await,
        BenchCommand::Snap(args) => snap::run(args).await,
        BenchCommand::Dashboard(args) => dashboard::run(args).await,
    }
}
