//! `gerbang bench dashboard`: the transaction list of the dashboard on a
//! database of a million transactions. Bills and payouts of many merchants and
//! partners, in every status, spread over 90 days, are written through the
//! domain's own record mapping; then a gateway process serves that database and
//! a signed-in user asks for filtered pages over HTTP, one at a time, each search
//! many times (after three untimed asks): the latency of each search, p50 and
//! p99, and the p99 of them all.

use super::load::{percentile, Gateway};
use anyhow::Context;
use clap::Args;
use gerbang_app::config::Config;
use gerbang_app::{payin, payout, provision, users, App};
use gerbang_core::mask::{Masked, Secret};
use gerbang_core::payin::{Bill, BillPayment, BillStatus, Customer};
use gerbang_core::payout::{AccountPayee, Disbursement, Face, Payee, Requester, Status};
use gerbang_core::user::{Role, Scope, Username};
use gerbang_core::{Document, Timestamp};
use gerbang_store::{Expect, Step};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct DashboardBench {
    /// Transactions written before the run (bills and payouts, about half each).
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Times each search is asked.
    #[arg(long, default_value_t = 100)]
    repeats: u32,
    /// The database to fill and serve (default: SQLite in a temporary directory).
    /// It must be empty.
    #[arg(long)]
    database_url: Option<String>,
    /// The p99 a filtered page must stay under, in milliseconds.
    #[arg(long, default_value_t = 100.0)]
    limit_ms: f64,
}

const PASSWORD: &str = "bench dashboard password";
/// Untimed asks of each search before it is timed.
const WARM_UPS: u32 = 3;
const MERCHANTS: u64 = 20;
const PARTNERS: u64 = 10;
const DAYS: i64 = 90;
/// Transactions written in one step (and so at one instant).
const PER_STEP: u64 = 500;
const BILL_CHANNELS: [&str; 5] = ["801", "402", "708", "302", "812"];
const BANKS: [(&str, &str); 4] = [
    ("014", "BANK BCA"),
    ("008", "BANK MANDIRI"),
    ("009", "BANK BNI"),
    ("ovo", "OVO"),
];

fn merchant(n: u64) -> String {
    format!("7{n:04}")
}

fn partner(n: u64) -> String {
    format!("99200{n:05}")
}

/// The merchants and partners the transactions belong to, as provisioning.
fn principals() -> String {
    let mut text = String::new();
    for m in 0..MERCHANTS {
        let id = merchant(m);
        text.push_str(&format!(
            "[[merchant]]\nmerchant_id = \"{id}\"\nname = \"Bench Store {m}\"\n\
             user_id = \"bot{id}\"\npassword = \"bench-p@ssw0rd\"\n\n"
        ));
    }
    for p in 0..PARTNERS {
        let va = partner(p);
        text.push_str(&format!(
            "[[sendme_partner]]\nvirtual_account = \"{va}\"\nname = \"Bench Partner {p}\"\n\
             faspay_key = \"bench-key-{p}\"\nfaspay_secret = \"19c887a3-49af-4087-8e82-58a1875b14{p:02}\"\n\
             iv = \"faspay2018xAuth\"\napp_key = \"8e734017-d7c1-49f2-8202-377faaff6a{p:02}\"\n\
             app_secret = \"f26a4e84-cbba-4023-b3d9-40892c5638{p:02}\"\n\
             client_key = \"e5d7e3be-3f44-4da2-918d-3b98db499e{p:02}\"\n\
             client_secret = \"0afd3f5b-b20e-4dc2-8222-d7a571a31c{p:02}\"\n\n"
        ));
    }
    text
}

fn bill(n: u64, at: Timestamp, rng: &mut StdRng) -> Bill {
    let status = match rng.gen_range(0..100) {
        0..=69 => BillStatus::Paid,
        70..=89 => BillStatus::Expired,
        90..=94 => BillStatus::Pending,
        _ => BillStatus::Cancelled,
    };
    let amount_minor = rng.gen_range(10_000..5_000_000) * 100;
    Bill {
        id: format!("{:016}", 3_000_000_000_000_000 + n),
        requester: Requester {
            face: Face::Debit,
            principal: merchant(n / 2 % MERCHANTS),
        },
        reference: format!("ORDER-{n}"),
        channel: BILL_CHANNELS[(n / 2 % 5) as usize].to_string(),
        amount_minor,
        fee_minor: 0,
        description: "order".into(),
        customer: Customer {
            number: format!("C{}", n % 1000),
            name: "Budi Santoso".into(),
            email: Masked("budi@example.com".into()),
            phone: Masked("081234567890".into()),
        },
        items: Vec::new(),
        expires_at: at.plus_seconds(86_400),
        opening: None,
        payment: (status == BillStatus::Paid).then(|| BillPayment {
            reference: format!("SIM{n:011}"),
            paid_at: at.plus_seconds(600),
            amount_minor,
            fee_minor: 0,
            terminal: None,
            advised_at: None,
        }),
        status,
        cancel_reason: None,
        refunded_minor: 0,
        refunds: Vec::new(),
        notice_url: None,
        request: Document::of(&serde_json::json!({})),
        request_id: None,
        created_at: at,
        status_at: at.plus_seconds(600),
    }
}

fn disbursement(n: u64, at: Timestamp, rng: &mut StdRng) -> Disbursement {
    let status = match rng.gen_range(0..100) {
        0..=89 => Status::Succeeded,
        90..=97 => Status::Failed,
        _ => Status::Processing,
    };
    let va = partner(n / 2 % PARTNERS);
    let (channel, name) = BANKS[(n / 2 % 4) as usize];
    let payee = AccountPayee {
        channel: channel.into(),
        channel_name: name.into(),
        account: Masked(format!("{:010}", n % 10_000_000_000)),
        holder: "JOHN DOE".into(),
        beneficiary: None,
    };
    Disbursement {
        id: format!("{:016}", 4_000_000_000_000_000 + n),
        requester: Requester {
            face: Face::SendmeV1,
            principal: va.clone(),
        },
        funding_account: gerbang_core::ledger::codes::partner_balance(&va),
        reference: format!("PAY-{n}"),
        gateway_reference: format!("GW{n:012}"),
        payee: if channel == "ovo" {
            Payee::EWallet(payee)
        } else {
            Payee::BankAccount(payee)
        },
        amount_minor: rng.gen_range(10_000..50_000_000) * 100,
        description: "payroll".into(),
        notice_url: None,
        request: Document::of(&serde_json::json!({})),
        status,
        failure: None,
        channel_answer: None,
        channel_attempts: 1,
        request_id: None,
        created_at: at,
        dispatch_at: at,
        status_at: at.plus_seconds(5),
    }
}

/// Provisions the principals, writes `rows` transactions ending now, oldest
/// first, and adds the bench's users.
async fn fill(app: &App, rows: u64) -> anyhow::Result<()> {
    let plan = provision::plan(&principals(), std::path::Path::new("."))
        .map_err(|e| anyhow::anyhow!("the bench's principals: {e}"))?;
    provision::apply(&*app.store, app.now(), plan)
        .await
        .map_err(|e| anyhow::anyhow!("provisioning: {e}"))?;
    let mut rng = StdRng::seed_from_u64(7);
    let now = app.now();
    let start = now.plus_seconds(-DAYS * 86_400);
    let steps = rows.div_ceil(PER_STEP);
    let spacing_micros = (DAYS * 86_400 * 1_000_000) / steps.max(1) as i64;
    let begun = Instant::now();
    for s in 0..steps {
        let at = Timestamp::from_micros(start.as_micros() + s as i64 * spacing_micros);
        let mut step = Step::default();
        for n in s * PER_STEP..((s + 1) * PER_STEP).min(rows) {
            step.records.push(if n % 2 == 0 {
                payin::record_write(&bill(n, at, &mut rng), Expect::Absent)
            } else {
                payout::record_write(&disbursement(n, at, &mut rng), Expect::Absent)
            });
        }
        app.store
            .commit(at, step)
            .await
            .map_err(|e| anyhow::anyhow!("writing transactions: {e}"))?;
        if s % 200 == 199 {
            eprintln!(
                "  written {} of {rows} ({:.0} s)",
                (s + 1) * PER_STEP,
                begun.elapsed().as_secs_f64()
            );
        }
    }
    for (name, scope) in [
        ("bench-operator", Scope::Operator),
        ("bench-merchant", Scope::Merchant(merchant(3))),
        ("bench-partner", Scope::Partner(partner(4))),
    ] {
        users::add(
            app,
            Username::parse(name).map_err(|e| anyhow::anyhow!("{e}"))?,
            scope,
            Role::Viewer,
            Secret::new(PASSWORD),
        )
        .await
        .map_err(|e| anyhow::anyhow!("adding {name}: {e}"))?;
    }
    Ok(())
}

/// A signed-in dashboard user over HTTP: its cookies, kept by hand.
struct Client {
    http: reqwest::Client,
    base: String,
    cookies: Vec<(String, String)>,
}

impl Client {
    fn cookie(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, response: &reqwest::Response) {
        for line in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let Ok(line) = line.to_str() else { continue };
            let pair = line.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.retain(|(k, _)| k != name);
                self.cookies.push((name.to_string(), value.to_string()));
            }
        }
    }

    async fn sign_in(base: &str, name: &str) -> anyhow::Result<Client> {
        let mut c = Client {
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            base: base.to_string(),
            cookies: Vec::new(),
        };
        let form = c
            .http
            .get(format!("{base}/dashboard/sign-in"))
            .send()
            .await?;
        c.keep(&form);
        let text = form.text().await?;
        let csrf = text
            .split_once("name=\"csrf\" value=\"")
            .and_then(|(_, rest)| rest.split('"').next())
            .context("the sign-in form's token")?
            .to_string();
        let answer = c
            .http
            .post(format!("{base}/dashboard/sign-in"))
            .header("cookie", c.cookie())
            .form(&[
                ("csrf", csrf.as_str()),
                ("username", name),
                ("password", PASSWORD),
            ])
            .send()
            .await?;
        anyhow::ensure!(
            answer.status() == 303,
            "signing in {name}: {}",
            answer.status()
        );
        c.keep(&answer);
        Ok(c)
    }

    /// The page at `path`, and how long it took.
    async fn page(&self, path: &str) -> anyhow::Result<(String, Duration)> {
        let started = Instant::now();
        let answer = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie())
            .send()
            .await?;
        let status = answer.status();
        let body = answer.text().await?;
        let took = started.elapsed();
        anyhow::ensure!(status == 200, "{path}: {status}");
        Ok((body, took))
    }
}

/// The link to the next page of a list page, if it has one.
fn older(body: &str) -> Option<String> {
    let (_, rest) = body.split_once("rel=\"next\" href=\"")?;
    Some(rest.split('"').next()?.replace("&amp;", "&"))
}

pub async fn run(args: DashboardBench) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir()?;
    let database_url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("dashboard.db").display()));
    println!("writing {} transactions over {DAYS} days…", args.rows);
    let started = Instant::now();
    {
        let config = Config {
            database_url: database_url.clone(),
            ..Config::default()
        };
        let app = App::open(config).await?;
        fill(&app, args.rows).await?;
    }
    println!("written in {:.1} s", started.elapsed().as_secs_f64());
    let gateway = Gateway::start_on(Some(&database_url), &principals(), "warn", "text").await?;
    let base = format!("http://{}", gateway.addr);
    let operator = Client::sign_in(&base, "bench-operator").await?;
    let merchant_user = Client::sign_in(&base, "bench-merchant").await?;
    let partner_user = Client::sign_in(&base, "bench-partner").await?;

    let last_month = {
        let today = time::OffsetDateTime::now_utc().date();
        let from = today - time::Duration::days(30);
        format!("from={from}&to={today}")
    };
    let searches: Vec<(&str, &Client, String)> = vec![
        (
            "operator, newest",
            &operator,
            "/dashboard/transactions".into(),
        ),
        (
            "operator, failed in the last 30 days",
            &operator,
            format!("/dashboard/transactions?status=failed&{last_month}"),
        ),
        (
            "operator, bills on channel 402 over Rp 4.000.000",
            &operator,
            format!("/dashboard/transactions?kind=bill&channel=402&min=4000000&{last_month}"),
        ),
        (
            "operator, a gateway id",
            &operator,
            format!(
                "/dashboard/transactions?reference={:016}",
                4_000_000_000_000_000 + args.rows / 2 + 1
            ),
        ),
        (
            "merchant, expired bills",
            &merchant_user,
            "/dashboard/transactions?status=expired".into(),
        ),
        (
            "partner, BCA payouts from Rp 100.000 to Rp 200.000",
            &partner_user,
            "/dashboard/transactions?channel=014&min=100000&max=200000".into(),
        ),
    ];
    let mut all = Vec::new();
    let mut worst: f64 = 0.0;
    let mut report = serde_json::Map::new();
    for (name, client, path) in &searches {
        let mut took = Vec::new();
        let mut rows_shown = 0;
        // Untimed: the first asks open the gateway's database connections and
        // prepare its statements.
        for _ in 0..WARM_UPS {
            client.page(path).await?;
        }
        for _ in 0..args.repeats {
            let (body, t) = client.page(path).await?;
            rows_shown = body.matches("href=\"/dashboard/transactions/").count();
            took.push(t.as_secs_f64() * 1000.0);
        }
        took.sort_by(f64::total_cmp);
        let (p50, p99) = (percentile(&took, 0.50), percentile(&took, 0.99));
        worst = worst.max(p99);
        println!("{name}: {rows_shown} rows, p50 {p50:.1} ms, p99 {p99:.1} ms");
        report.insert(
            (*name).into(),
            serde_json::json!({"p50_ms": p50, "p99_ms": p99}),
        );
        all.extend(took);
    }
    // Deep paging: the operator follows "Older" twenty pages in, repeatedly.
    let mut took = Vec::new();
    for _ in 0..(args.repeats / 10).max(1) {
        let mut path = "/dashboard/transactions?status=succeeded".to_string();
        for _ in 0..20 {
            let (body, t) = operator.page(&path).await?;
            took.push(t.as_secs_f64() * 1000.0);
            match older(&body) {
                Some(next) => path = next,
                None => break,
            }
        }
    }
    took.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&took, 0.50), percentile(&took, 0.99));
    worst = worst.max(p99);
    println!("operator, 20 pages of succeeded payouts in: p50 {p50:.1} ms, p99 {p99:.1} ms");
    report.insert(
        "deep paging".into(),
        serde_json::json!({"p50_ms": p50, "p99_ms": p99}),
    );
    all.extend(took);
    all.sort_by(f64::total_cmp);
    let overall = percentile(&all, 0.99);
    println!(
        "all {} pages: p50 {:.1} ms, p99 {overall:.1} ms (limit {} ms); worst search p99 {worst:.1} ms",
        all.len(),
        percentile(&all, 0.50),
        args.limit_ms
    );
    report.insert("rows".into(), args.rows.into());
    report.insert("p99_ms".into(), overall.into());
    report.insert("worst_search_p99_ms".into(), worst.into());
    println!("{}", serde_json::Value::Object(report));
    drop(gateway);
    Ok(if worst <= args.limit_ms {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
