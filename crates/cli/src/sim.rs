//! `gerbang sim alfamart|indomaret pay` and `gerbang sim permata withdraw`: a store
//! cashier or an ATM claiming a cash-out code over the host-to-host API of a running
//! gateway, in real time. One JSON line per call on stdout, then the outcome.

use clap::{Args, Subcommand};
use gerbang_app::cashout::{Network, NetworkRules};
use gerbang_app::config::{CashoutConfig, Mode};
use gerbang_channels::cashout_sim::{CallRecord, Cashier, Habits, Outcome, RealTime};
use serde_json::{json, Value};
use std::io::Write;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum SimCommand {
    /// An Alfamart cashier.
    Alfamart {
        #[command(subcommand)]
        action: StoreAction,
    },
    /// An Indomaret cashier.
    Indomaret {
        #[command(subcommand)]
        action: StoreAction,
    },
    /// A Permata ATM.
    Permata {
        #[command(subcommand)]
        action: AtmAction,
    },
}

#[derive(Subcommand)]
pub enum StoreAction {
    /// Pay out a cash-out code: inquiry, payment, advice (a reversal when the
    /// payment's answer does not come).
    Pay(SimArgs),
}

#[derive(Subcommand)]
pub enum AtmAction {
    /// Withdraw with a cash-out code: inquiry, payment, advice (a reversal when the
    /// payment's answer does not come).
    Withdraw(SimArgs),
}

#[derive(Args)]
pub struct SimArgs {
    /// The 10-digit cash-out code.
    code: String,
    /// The phone number the code was issued for.
    #[arg(long)]
    phone: String,
    /// The gateway.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Whole rupiah to claim (default: the amount the inquiry answers).
    #[arg(long)]
    amount: Option<i64>,
    /// The network's key (default: the network's name, as the sandbox has it).
    #[arg(long, env = "GERBANG_SIM_KEY")]
    key: Option<String>,
    /// The network's secret (default: the sandbox's, sandbox-<network>-secret).
    #[arg(long, env = "GERBANG_SIM_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// Seconds to wait for each answer (default: the network's habit — Alfamart
    /// 45–60, Indomaret 30, Permata 30).
    #[arg(long)]
    timeout_seconds: Option<u64>,
    /// Seconds between two reversals (default 60).
    #[arg(long)]
    reversal_interval_seconds: Option<u64>,
    /// The terminal named in the payment.
    #[arg(long)]
    terminal: Option<String>,
}

/// One line of JSON on stdout, flushed at once so a reader sees each call as it ends.
fn print_line(value: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

pub async fn run(command: SimCommand) -> anyhow::Result<ExitCode> {
    let (slug, args) = match command {
        SimCommand::Alfamart {
            action: StoreAction::Pay(args),
        } => ("alfamart", args),
        SimCommand::Indomaret {
            action: StoreAction::Pay(args),
        } => ("indomaret", args),
        SimCommand::Permata {
            action: AtmAction::Withdraw(args),
        } => ("permata", args),
    };
    let mut habits = Habits::of(slug).expect("a known network");
    if let Some(seconds) = args.reversal_interval_seconds {
        habits.reversal_interval_seconds = seconds;
    }
    if let Some(amount) = args.amount {
        anyhow::ensure!(amount > 0, "--amount: a positive number of rupiah");
    }
    // Without a key or secret of its own it signs as a sandbox gateway expects.
    let sandbox = Network::by_slug(slug)
        .expect("a known network")
        .rules(&CashoutConfig::default(), Mode::Sandbox);
    let cashier = Cashier {
        base_url: args.url.clone(),
        key: args.key.unwrap_or(sandbox.key),
        secret: args.secret.or(sandbox.secret).unwrap_or_default(),
        terminal: args
            .terminal
            .unwrap_or_else(|| habits.default_terminal().to_string()),
        habits,
    };
    let on_call = |call: &CallRecord| {
        print_line(&serde_json::to_value(call).expect("a call serialises"));
    };
    let session = cashier
        .pay(
            args.code.trim(),
            &args.phone,
            args.amount,
            &RealTime,
            args.timeout_seconds,
            &on_call,
        )
        .await;
    let payment = session
        .calls
        .iter()
        .find(|c| c.operation == "payment")
        .map(|c| &c.request);
    let outcome = session.outcome;
    print_line(&json!({
        "outcome": outcome,
        "network": slug,
        "reference": payment.map(|p| p["reference"].clone()),
        "amount": payment.map(|p| p["amount"].clone()),
        "calls": session.calls.len(),
    }));
    Ok(if outcome == Outcome::CashHandedOut {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
