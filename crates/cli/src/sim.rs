//! `gerbang sim alfamart|indomaret pay`, `gerbang sim permata withdraw|pay` and
//! `gerbang sim bank pay`: a store cashier, an ATM or a bank teller paying a code
//! over the host-to-host API of a running gateway, in real time — a cash-out code
//! handed out as cash, or a bill's payment code or virtual account paid by its
//! customer. One JSON line per call on stdout, then the outcome.

use clap::{Args, Subcommand};
use gerbang_app::config::{Config, Mode};
use gerbang_app::h2h::{self, CounterNetwork};
use gerbang_channels::cashout_sim::{CallRecord, Cashier, Habits, Outcome, RealTime};
use gerbang_core::payin::find_channel;
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
    /// A bank teller taking a payment into a virtual account.
    Bank {
        #[command(subcommand)]
        action: BankAction,
    },
}

#[derive(Subcommand)]
pub enum StoreAction {
    /// Pay out a 10-digit cash-out code, or take the payment of a bill's
    /// 16-digit payment code: inquiry, payment, advice (a reversal when the
    /// payment's answer does not come).
    Pay(SimArgs),
}

#[derive(Subcommand)]
pub enum AtmAction {
    /// Withdraw with a cash-out code: inquiry, payment, advice (a reversal when the
    /// payment's answer does not come).
    Withdraw(SimArgs),
    /// Pay a Permata virtual account (a bill's 16-digit id).
    Pay(SimArgs),
}

#[derive(Subcommand)]
pub enum BankAction {
    /// Pay a virtual account (a bill's 16-digit id): inquiry, payment, advice.
    Pay {
        #[command(flatten)]
        args: SimArgs,
        /// The bank (bca, bni, bri, mandiri, maybank, danamon, sinarmas, cimb);
        /// default: the bank of the account's channel.
        #[arg(long)]
        bank: Option<String>,
    },
}

#[derive(Args)]
pub struct SimArgs {
    /// The 10-digit cash-out code, or a bill's 16-digit payment code or VA number.
    code: String,
    /// The phone number a cash-out code was issued for (a bill needs none).
    #[arg(long, default_value = "")]
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

/// The bank named, or else the one whose virtual account `code` is: a bill's id
/// carries its channel's code in its sixth to eighth digits.
fn bank_of(bank: Option<String>, code: &str) -> anyhow::Result<String> {
    if let Some(bank) = bank {
        return Ok(bank.to_ascii_lowercase());
    }
    let digits: String = code.trim().chars().skip(5).take(3).collect();
    let channel = find_channel(&digits);
    match channel.and_then(|c| c.counter()) {
        Some(CounterNetwork::Bank(b)) => Ok(b.slug().to_string()),
        _ => anyhow::bail!("{code} is no bank's virtual account: name the bank with --bank"),
    }
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
        } => ("alfamart".to_string(), args),
        SimCommand::Indomaret {
            action: StoreAction::Pay(args),
        } => ("indomaret".to_string(), args),
        SimCommand::Permata {
            action: AtmAction::Withdraw(args) | AtmAction::Pay(args),
        } => ("permata".to_string(), args),
        SimCommand::Bank {
            action: BankAction::Pay { args, bank },
        } => (bank_of(bank, &args.code)?, args),
    };
    let network = CounterNetwork::by_slug(&slug)
        .ok_or_else(|| anyhow::anyhow!("--bank: no collecting bank {slug}"))?;
    let mut habits = Habits::of(&slug).expect("a known network");
    if let Some(seconds) = args.reversal_interval_seconds {
        habits.reversal_interval_seconds = seconds;
    }
    if let Some(amount) = args.amount {
        anyhow::ensure!(amount > 0, "--amount: a positive number of rupiah");
    }
    // Without a key or secret of its own it signs as a sandbox gateway expects.
    let sandbox = h2h::access(
        &Config {
            mode: Mode::Sandbox,
            ..Config::default()
        },
        network,
    );
    let cashier = Cashier {
        base_url: args.url.clone(),
        key: args.key.unwrap_or(sandbox.key),
        secret: args.secret.or(sandbox.secret).unwrap_or_default(),
        terminal: args.terminal.unwrap_or_else(|| habits.default_terminal()),
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
    Ok(if outcome == Outcome::Paid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
