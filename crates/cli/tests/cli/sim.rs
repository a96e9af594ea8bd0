//! `gerbang sim`: the cash-out network simulators against a real `gerbang serve`.
//! A SendMe transfer to Alfamart issues a code; the simulated cashier pays it out
//! (inquiry, payment, advice) and the transfer succeeds; when the payment's answer
//! is lost, the cashier reverses it and the partner's balance is whole again; a
//! wrong code is refused. The ledger is clean afterwards.

use crate::client::{Body, Client, Credentials, TRANSFER};
use crate::common::*;
use crate::fixture::{balances_of, partner_toml, wait_status_of};
use crate::support::*;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

const VA: &str = "9920018888";
/// Rp 1.000.000,00.
const OPENING_MINOR: i64 = 100_000_000;
/// Rp 100.000 with two implied decimals.
const AMOUNT_MINOR: i64 = 10_000_000;
const PHONE: &str = "081234567890";

fn credentials() -> Credentials {
    let uuid = |n: char| format!("5{n}4c1d2e-7a3b-4c5d-9e8f-a1b2c3d4e5f6");
    Credentials {
        virtual_account: VA.into(),
        faspay_key: uuid('1'),
        faspay_secret: uuid('2'),
        iv: "simIv2026".into(),
        app_key: uuid('3'),
        app_secret: uuid('4'),
        client_key: uuid('5'),
        client_secret: uuid('6'),
    }
}

/// A gateway serving `db` with the partner provisioned, and its scratch directory.
struct Setup {
    dir: tempfile::TempDir,
    serving: Serving,
    client: Client,
}

async fn setup(db: &TestDatabase) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), 5);
    let provision = dir.path().join("provision.toml");
    std::fs::write(
        &provision,
        partner_toml(&credentials(), "Kasir Payouts", Some("1000000.00"), false),
    )
    .unwrap();
    let serving = Serving::start(serve_command(
        dir.path(),
        &db.url,
        Some(&config),
        Some(provision.to_str().unwrap()),
    ))
    .await;
    let client = Client::new(serving.api.clone(), credentials());
    Setup {
        dir,
        serving,
        client,
    }
}

/// A transfer to Alfamart; its cash-out code.
async fn cashout_transfer(client: &Client, trx_no: &str) -> String {
    let body = Body::new()
        .with("virtual_account", VA)
        .with("beneficiary_bank_code", "alf")
        .with("beneficiary_phone", PHONE)
        .with("beneficiary_name", "BUDI SANTOSO")
        .with("trx_no", trx_no)
        .with("trx_date", client.timestamp().await)
        .with("trx_amount", AMOUNT_MINOR.to_string())
        .with("trx_desc", "Cash out");
    let answer = client.post(TRANSFER, &body).await;
    assert_eq!(answer["status"], "1", "{answer}");
    let code = answer["cashout_code"]
        .as_str()
        .unwrap_or_else(|| panic!("no cashout_code: {answer}"))
        .to_string();
    assert!(
        code.len() == 10 && code.bytes().all(|b| b.is_ascii_digit()),
        "{answer}"
    );
    code
}

/// What `gerbang sim` printed: one JSON value per call, then the summary.
struct Sim {
    ran: Ran,
    calls: Vec<Value>,
    summary: Value,
}

impl Sim {
    fn operations(&self) -> Vec<&str> {
        self.calls
            .iter()
            .map(|c| c["operation"].as_str().expect("operation"))
            .collect()
    }
}

/// Runs `gerbang sim alfamart pay CODE --phone PHONE --url … ARGS…` to the end,
/// with the sandbox's credentials whatever the caller's environment says.
async fn sim(dir: &Path, url: &str, code: &str, args: &[&str]) -> Sim {
    let mut all = vec!["--phone", PHONE];
    all.extend_from_slice(args);
    sim_as(dir, url, &["alfamart", "pay"], code, &all).await
}

/// Runs `gerbang sim NETWORK… CODE --url … ARGS…` to the end.
async fn sim_as(dir: &Path, url: &str, network: &[&str], code: &str, args: &[&str]) -> Sim {
    let mut command = gerbang(dir);
    command
        .env_remove("GERBANG_SIM_KEY")
        .env_remove("GERBANG_SIM_SECRET")
        .arg("sim")
        .args(network)
        .args([code, "--url", url, "--timeout-seconds", "10"])
        .args(args)
        .stdin(Stdio::null());
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("gerbang sim finishes within 60 s")
        .expect("gerbang sim runs");
    let ran = Ran {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    let mut lines: Vec<Value> = ran
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}\nstderr:\n{}", ran.stderr))
        })
        .collect();
    let summary = lines
        .pop()
        .unwrap_or_else(|| panic!("gerbang sim printed nothing\nstderr:\n{}", ran.stderr));
    assert!(summary["outcome"].is_string(), "{}", ran.stdout);
    Sim {
        ran,
        calls: lines,
        summary,
    }
}

/// Stops the gateway and checks its database's ledger.
async fn stop_and_check(setup: Setup, db: &TestDatabase) {
    let Setup { dir, serving, .. } = setup;
    serving.stop().await;
    assert_ledger_clean_at(dir.path(), &db.url).await;
}

async fn sim_alfamart_pays_out_a_code(db: TestDatabase) {
    let setup = setup(&db).await;
    let (client, url) = (&setup.client, setup.serving.api.base.clone());
    let code = cashout_transfer(client, "SIM-PAY-1").await;
    assert_eq!(
        balances_of(client).await,
        (OPENING_MINOR, OPENING_MINOR - AMOUNT_MINOR),
        "the amount is held"
    );

    let out = sim(setup.dir.path(), &url, &code, &[]).await;
    out.ran.expect_code(0);
    assert_eq!(out.summary["outcome"], "paid", "{}", out.ran.stdout);
    assert_eq!(out.summary["amount"], 100_000, "{}", out.ran.stdout);
    assert_eq!(
        out.operations(),
        ["inquiry", "payment", "advice"],
        "{}",
        out.ran.stdout
    );
    for call in &out.calls {
        assert_eq!(call["http_status"], 200, "{call}");
        assert_eq!(call["answer"]["response_code"], "00", "{call}");
    }
    let (inquiry, payment) = (&out.calls[0], &out.calls[1]);
    assert_eq!(inquiry["answer"]["amount"], 100_000, "{inquiry}");
    assert_eq!(inquiry["answer"]["beneficiary_name"], "BUDI SANTOSO");
    let reference = payment["request"]["reference"].as_str().unwrap();
    assert!(reference.starts_with("ALF"), "{payment}");
    assert_eq!(
        inquiry["request"]["reference"],
        format!("{reference}-INQ"),
        "{inquiry}"
    );
    assert_eq!(payment["request"]["amount"], 100_000, "{payment}");
    assert_eq!(payment["request"]["terminal"], "ALFA-SIM-01", "{payment}");
    assert_eq!(out.calls[2]["request"], json!({ "reference": reference }));

    wait_status_of(client, "SIM-PAY-1", "2").await;
    assert_eq!(
        balances_of(client).await,
        (OPENING_MINOR - AMOUNT_MINOR, OPENING_MINOR - AMOUNT_MINOR),
        "paid out once"
    );

    // The code is single-use: a second cashier is refused.
    let again = sim(setup.dir.path(), &url, &code, &[]).await;
    again.ran.expect_code(1);
    assert_eq!(again.summary["outcome"], "refused", "{}", again.ran.stdout);
    stop_and_check(setup, &db).await;
}

async fn sim_alfamart_reverses_a_payment_whose_answer_was_lost(db: TestDatabase) {
    let setup = setup(&db).await;
    let (client, api) = (&setup.client, &setup.serving.api);
    let code = cashout_transfer(client, "SIM-LOST-1").await;
    let armed = api
        .post_json(
            "/sandbox/cashout/faults",
            &json!({"network": "alfamart", "operation": "payment", "mode": "lost", "count": 1}),
        )
        .await;
    assert_eq!(armed.status, 200, "{}", armed.text);

    let out = sim(
        setup.dir.path(),
        &api.base,
        &code,
        &["--reversal-interval-seconds", "0"],
    )
    .await;
    out.ran.expect_code(1);
    assert_eq!(out.summary["outcome"], "reversed", "{}", out.ran.stdout);
    assert_eq!(
        out.operations(),
        ["inquiry", "payment", "reversal"],
        "{}",
        out.ran.stdout
    );
    let (payment, reversal) = (&out.calls[1], &out.calls[2]);
    assert!(payment["answer"].is_null(), "{payment}");
    assert!(
        payment["note"]
            .as_str()
            .is_some_and(|n| n.starts_with("connection dropped")),
        "{payment}"
    );
    assert_eq!(
        reversal["request"],
        json!({ "reference": payment["request"]["reference"] }),
        "{reversal}"
    );
    assert_eq!(reversal["answer"]["response_code"], "00", "{reversal}");
    assert_eq!(reversal["answer"]["was_paid"], true, "{reversal}");

    wait_status_of(client, "SIM-LOST-1", "5").await;
    assert_eq!(
        balances_of(client).await,
        (OPENING_MINOR, OPENING_MINOR),
        "the partner's balance is whole again"
    );

    // The code stays dead after the reversal.
    let again = sim(setup.dir.path(), &api.base, &code, &[]).await;
    again.ran.expect_code(1);
    assert_eq!(again.summary["outcome"], "refused", "{}", again.ran.stdout);
    stop_and_check(setup, &db).await;
}

async fn sim_alfamart_is_refused_a_wrong_code(db: TestDatabase) {
    let setup = setup(&db).await;
    let (client, url) = (&setup.client, setup.serving.api.base.clone());
    let code = cashout_transfer(client, "SIM-WRONG-1").await;
    // The same code with its last digit changed.
    let last = code.as_bytes()[9] - b'0';
    let wrong = format!("{}{}", &code[..9], (last + 1) % 10);

    let out = sim(setup.dir.path(), &url, &wrong, &[]).await;
    out.ran.expect_code(1);
    assert_eq!(out.summary["outcome"], "refused", "{}", out.ran.stdout);
    assert_eq!(out.operations(), ["inquiry"], "{}", out.ran.stdout);
    assert_eq!(out.calls[0]["http_status"], 200);
    assert_eq!(
        out.calls[0]["answer"]["response_code"], "14",
        "{}",
        out.ran.stdout
    );

    // Nothing was claimed: the transfer still waits and its amount is held.
    assert_eq!(client.status("SIM-WRONG-1", None).await["status"], "1");
    assert_eq!(
        balances_of(client).await,
        (OPENING_MINOR, OPENING_MINOR - AMOUNT_MINOR)
    );
    stop_and_check(setup, &db).await;
}

/// The Debit signature over `bill_no` of the sandbox merchant (Faspay's
/// published 99999 / bot99999 / p@ssw0rd).
fn debit_signature(bill_no: &str) -> String {
    use md5::{Digest, Md5};
    use sha1::Sha1;
    let md5 = hex::encode(Md5::digest(format!("bot99999p@ssw0rd{bill_no}").as_bytes()));
    hex::encode(Sha1::digest(md5.as_bytes()))
}

/// Posts a bill of the sandbox merchant for `channel` through the Debit API, as
/// a shop plugin would; its `trx_id`.
async fn debit_bill(api: &Api, bill_no: &str, channel: &str) -> String {
    let signature = debit_signature(bill_no);
    let wib = |days: i64| {
        (time::OffsetDateTime::now_utc() + time::Duration::days(days))
            .to_offset(time::macros::offset!(+7))
            .format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]"
            ))
            .unwrap()
    };
    let body = json!({
        "request": "Post Data Transaction", "merchant_id": "99999", "merchant": "FASPAY STORE",
        "bill_no": bill_no, "bill_date": wib(0), "bill_expired": wib(1),
        "bill_desc": "Sepatu", "bill_currency": "IDR", "bill_total": "7500000",
        "cust_no": "C-9", "cust_name": "Siti Aminah", "payment_channel": channel,
        "pay_type": "1", "msisdn": "081298765432", "email": "siti@example.com",
        "terminal": "10", "item": {"product": "Sepatu", "qty": "1", "amount": "7500000"},
        "signature": signature,
    });
    let answer = api.post_json("/cvr/300011/10", &body).await;
    let posted: Value = serde_json::from_str(&answer.text).unwrap();
    posted["trx_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no trx_id: {posted}"))
        .to_string()
}

/// A Debit bill's payment status, asked as a plugin asks.
async fn debit_status(api: &Api, bill_no: &str, trx_id: &str) -> Value {
    let body = json!({
        "request": "Inquiry Status Payment", "trx_id": trx_id, "merchant_id": "99999",
        "bill_no": bill_no, "signature": debit_signature(bill_no),
    });
    let answer = api.post_json("/cvr/100004/10", &body).await;
    serde_json::from_str::<Value>(&answer.text).unwrap()["payment_status_code"].clone()
}

async fn sim_store_and_bank_take_bill_payments(db: TestDatabase) {
    let setup = setup(&db).await;
    let api = &setup.serving.api;
    // An Alfamart cashier takes a retail bill's payment code; no phone is asked.
    let alfa = debit_bill(api, "SHOE-1", "707").await;
    let out = sim_as(
        setup.dir.path(),
        &api.base,
        &["alfamart", "pay"],
        &alfa,
        &[],
    )
    .await;
    out.ran.expect_code(0);
    assert_eq!(out.summary["outcome"], "paid", "{}", out.ran.stdout);
    assert_eq!(out.summary["amount"], 75_000, "{}", out.ran.stdout);
    assert_eq!(out.operations(), ["inquiry", "payment", "advice"]);
    assert_eq!(out.calls[0]["answer"]["beneficiary_name"], "Siti Aminah");
    assert_eq!(debit_status(api, "SHOE-1", &alfa).await, "2");
    // Paid is paid: the code is used now.
    let again = sim_as(
        setup.dir.path(),
        &api.base,
        &["alfamart", "pay"],
        &alfa,
        &[],
    )
    .await;
    again.ran.expect_code(1);
    assert_eq!(again.calls[0]["answer"]["response_code"], "88");

    // A BNI teller takes a payment into a virtual account: the bank is the
    // account's, read from its number.
    let va = debit_bill(api, "SHOE-2", "801").await;
    let out = sim_as(setup.dir.path(), &api.base, &["bank", "pay"], &va, &[]).await;
    out.ran.expect_code(0);
    assert_eq!(out.summary["network"], "bni", "{}", out.ran.stdout);
    let reference = out.calls[1]["request"]["reference"].as_str().unwrap();
    assert!(reference.starts_with("BNI"), "{}", out.ran.stdout);
    assert_eq!(debit_status(api, "SHOE-2", &va).await, "2");
    // Another bank does not know it.
    let va = debit_bill(api, "SHOE-3", "801").await;
    let wrong = sim_as(
        setup.dir.path(),
        &api.base,
        &["bank", "pay"],
        &va,
        &["--bank", "bri"],
    )
    .await;
    wrong.ran.expect_code(1);
    assert_eq!(wrong.calls[0]["answer"]["response_code"], "14");
    assert_eq!(debit_status(api, "SHOE-3", &va).await, "0");
    stop_and_check(setup, &db).await;
}

on_both_backends!(
    sim_store_and_bank_take_bill_payments,
    sim_alfamart_pays_out_a_code,
    sim_alfamart_reverses_a_payment_whose_answer_was_lost,
    sim_alfamart_is_refused_a_wrong_code,
);
