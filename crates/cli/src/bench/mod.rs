//! `gerbang bench …`: benchmarks that print their figures, ending with one JSON line.

mod ledger;

use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Durable ledger transfers per second (a hold, then its post), next to the
    /// raw limit of the same machine.
    Ledger(ledger::LedgerBench),
}

pub async fn run(command: BenchCommand) -> anyhow::Result<ExitCode> {
    match command {
        BenchCommand::Ledger(args) => ledger::run(args).await,
    }
}
