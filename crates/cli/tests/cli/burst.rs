//! A burst of signed SendMe transfers as SDKs send them, tolerating the gateway
//! dying mid-exchange; shared by the crash and restore tests.

use crate::client::{Body, Client, Query, Style, TRANSFER};
use crate::fixture::{beneficiary_of, dev_credentials, partner_toml, rupiah, VA};
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Rp 1.000.000.000,00: far more than the burst needs.
pub const OPENING_MINOR: i64 = 100_000_000_000;
/// Every fifth transfer goes to an account the bank rejects.
pub const REJECTED_EVERY: usize = 5;
/// Requests in flight at once outside the burst.
pub const PARALLEL: usize = 32;

pub const GOOD_ACCOUNT: &str = "10000006";
pub const GOOD_NAME: &str = "PT. Florist Lentera Abadi";
pub const REJECTED_ACCOUNT: &str = "5550009904";
pub const REJECTED_NAME: &str = "CV Sumber Tolak";

/// One transfer of the burst.
pub struct Transfer {
    pub trx_no: String,
    pub amount_minor: i64,
    pub rejected: bool,
    pub body: Body,
}

impl Transfer {
    /// The trx_status its callback and inquiry end with.
    pub fn final_status(&self) -> &'static str {
        if self.rejected {
            "4"
        } else {
            "2"
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Token,
    Transfer,
}

/// What the burst got for one transfer.
pub enum Outcome {
    /// Status "1" and this trx_id.
    Accepted(String),
    /// The process died before the answer came, in the token exchange or the
    /// transfer exchange.
    Lost(Stage),
    /// Anything else: a failure of the test.
    Unexpected(String),
}

#[track_caller]
pub fn trx_id_of(answer: &Value) -> String {
    answer["trx_id"]
        .as_u64()
        .unwrap_or_else(|| panic!("trx_id is not a JSON number: {answer}"))
        .to_string()
}

/// A token and a transfer as an SDK sends them, tolerating the process dying.
pub async fn burst_transfer(client: &Client, timestamp: &str, body: &Body) -> Outcome {
    let json = body.to_json();
    let token = client.token_request(Style::Python, timestamp, TRANSFER, Some(&json));
    let token = match client
        .try_send(&token)
        .await
        .ok()
        .map(|r| (r.status, r.text))
    {
        None => return Outcome::Lost(Stage::Token),
        Some((200, text)) => match serde_json::from_str::<Value>(&text) {
            Ok(answer) if answer["access_token"].is_string() => {
                answer["access_token"].as_str().unwrap().to_string()
            }
            _ => return Outcome::Unexpected(format!("token answer: {text}")),
        },
        Some((status, text)) => {
            return Outcome::Unexpected(format!("token: HTTP {status}: {text}"))
        }
    };
    let request = client.service_request(
        reqwest::Method::POST,
        TRANSFER,
        "POST",
        TRANSFER,
        timestamp,
        &token,
        Some(json),
    );
    match client
        .try_send(&request)
        .await
        .ok()
        .map(|r| (r.status, r.text))
    {
        None => Outcome::Lost(Stage::Transfer),
        Some((200, text)) => match serde_json::from_str::<Value>(&text) {
            Ok(answer) if answer["status"] == "1" && answer["trx_id"].is_u64() => {
                Outcome::Accepted(trx_id_of(&answer))
            }
            _ => Outcome::Unexpected(format!("transfer answer: {text}")),
        },
        Some((status, text)) => Outcome::Unexpected(format!("transfer: HTTP {status}: {text}")),
    }
}

/// Runs `f` on every item, at most [`PARALLEL`] at once; the results in order.
pub async fn in_parallel<T, R, F, Fut>(items: Vec<T>, f: F) -> Vec<R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(PARALLEL));
    let tasks: Vec<_> = items
        .into_iter()
        .map(|item| {
            let permits = permits.clone();
            let work = f(item);
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await.expect("semaphore open");
                work.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(task.await.expect("task completes"));
    }
    out
}

/// Asks `client` for every transfer's status, stamped `timestamp`: each must have
/// ended as [`Transfer::final_status`] says. What the successes moved, in sen.
pub async fn settled_minor(
    client: &Client,
    transfers: &Arc<Vec<Transfer>>,
    timestamp: &str,
) -> i64 {
    let statuses = in_parallel((0..transfers.len()).collect(), |i| {
        let (client, transfers, timestamp) =
            (client.clone(), transfers.clone(), timestamp.to_string());
        async move { inquiry(&client, &timestamp, &transfers[i].trx_no).await }
    })
    .await;
    let mut succeeded_minor = 0;
    for (t, status) in transfers.iter().zip(&statuses) {
        let (_, status) = status
            .as_ref()
            .unwrap_or_else(|| panic!("{} unknown", t.trx_no));
        assert_eq!(status, t.final_status(), "{}", t.trx_no);
        if !t.rejected {
            succeeded_minor += t.amount_minor;
        }
    }
    succeeded_minor
}

/// `inquiry_status` of `trx_no` as the Java SDK asks (a token, then a bodiless
/// GET), stamped `timestamp`: its trx_id and status, or `None` when the gateway
/// does not know it.
pub async fn inquiry(client: &Client, timestamp: &str, trx_no: &str) -> Option<(String, String)> {
    let values = [("trx_no", trx_no)];
    let query = Query::InquiryStatus;
    let token = client
        .token(Style::Java, timestamp, query.path(), None)
        .await;
    let request = client.query_request(Style::Java, query, timestamp, &token, VA, &values);
    let answer = client.exchange(&request).await;
    if answer["status"] == "9" {
        assert_eq!(answer["message"], "Transaction not found", "{answer}");
        return None;
    }
    assert_eq!(answer["trx_no"], trx_no, "{answer}");
    let id = match &answer["trx_id"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("trx_id {other} in {answer}"),
    };
    let status = answer["status"].as_str().expect("status").to_string();
    Some((id, status))
}

/// Writes into `dir` a config file with `config` and a provisioning file with the
/// development partner holding [`OPENING_MINOR`]; their paths.
pub fn burst_files(dir: &std::path::Path, config: &str) -> (String, String) {
    let config_path = dir.join("gerbang.toml");
    std::fs::write(&config_path, config).expect("config written");
    let provision = dir.join("provision.toml");
    let partner = partner_toml(
        &dev_credentials(),
        "Lentera Payouts",
        Some(&rupiah(OPENING_MINOR)),
        false,
    );
    std::fs::write(&provision, partner).expect("provisioning written");
    (
        config_path.display().to_string(),
        provision.display().to_string(),
    )
}

/// `count` transfers of Rp 10.000 plus i rupiah (every amount different), named
/// `{prefix}-{i:04}`, every [`REJECTED_EVERY`]th to an account the bank rejects,
/// each calling back `callback_url`; registers the two beneficiaries first.
pub async fn transfers(
    client: &Client,
    prefix: &str,
    count: usize,
    callback_url: &str,
) -> Vec<Transfer> {
    let good_va = beneficiary_of(client, GOOD_ACCOUNT, GOOD_NAME)
        .await
        .virtual_account;
    let rejected_va = beneficiary_of(client, REJECTED_ACCOUNT, REJECTED_NAME)
        .await
        .virtual_account;
    let trx_date = client.timestamp().await;
    (0..count)
        .map(|i| {
            let rejected = i % REJECTED_EVERY == REJECTED_EVERY - 1;
            let (va, account, name) = if rejected {
                (&rejected_va, REJECTED_ACCOUNT, REJECTED_NAME)
            } else {
                (&good_va, GOOD_ACCOUNT, GOOD_NAME)
            };
            let trx_no = format!("{prefix}-{i:04}");
            let amount_minor = 1_000_000 + 100 * i as i64;
            let body = Body::new()
                .with("virtual_account", VA)
                .with("beneficiary_virtual_account", va.as_str())
                .with("beneficiary_account", account)
                .with("beneficiary_name", name)
                .with("beneficiary_bank_code", "014")
                .with("beneficiary_region_code", "0391")
                .with("beneficiary_country_code", "ID")
                .with("beneficiary_purpose_code", "1")
                .with("beneficiary_email", "finance@example.com")
                .with("trx_no", trx_no.as_str())
                .with("trx_date", trx_date.as_str())
                .with("instruct_date", "")
                .with("trx_amount", amount_minor.to_string())
                .with("trx_desc", "Payout")
                .with("callback_url", callback_url);
            Transfer {
                trx_no,
                amount_minor,
                rejected,
                body,
            }
        })
        .collect()
}

/// An exact retry of a transfer (a fresh token, the same body): the answer.
pub async fn retry(client: &Client, timestamp: &str, body: &Body) -> Value {
    let json = body.to_json();
    let token = client
        .token(Style::Python, timestamp, TRANSFER, Some(&json))
        .await;
    let request = client.service_request(
        reqwest::Method::POST,
        TRANSFER,
        "POST",
        TRANSFER,
        timestamp,
        &token,
        Some(json),
    );
    client.exchange(&request).await
}
