//! A gateway with two SendMe partners provisioned from a file: one with the
//! public development credentials of the spec (§3.6), one with others; the first
//! is funded through the sandbox top-up. A variant has the first partner's
//! transfers wait for approval.

pub use crate::client::confirm_body;
use crate::client::{gateway_now, jakarta, Body, Client, Credentials, CONFIRM, REGISTER};
use crate::common::*;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// The partner under test (not the demo partner 9920015307).
pub const VA: &str = "9920017777";
pub const OTHER_VA: &str = "9920018888";
/// Seconds between accepting a transfer and the simulated bank's answer.
pub const LATENCY: i64 = 30;
/// What the partner is funded with: Rp 1.000.000,00.
pub const FUNDING_MINOR: i64 = 100_000_000;
pub const PARTNER_NAME: &str = "Lentera Payouts";

pub fn dev_credentials() -> Credentials {
    Credentials {
        virtual_account: VA.into(),
        faspay_key: "7a1c54f2-0b8e-4d3a-9c61-2f5e8d9b0a17".into(),
        faspay_secret: "19c887a3-49af-4087-8e82-58a1875b1452".into(),
        iv: "faspay2018xAuth".into(),
        app_key: "8e734017-d7c1-49f2-8202-377faaff6a1c".into(),
        app_secret: "f26a4e84-cbba-4023-b3d9-40892c5638d4".into(),
        client_key: "e5d7e3be-3f44-4da2-918d-3b98db499ed3".into(),
        client_secret: "0afd3f5b-b20e-4dc2-8222-d7a571a31c4c".into(),
    }
}

pub fn other_credentials() -> Credentials {
    Credentials {
        virtual_account: OTHER_VA.into(),
        faspay_key: "3f0d2b6e-5a4c-4e1f-8b7a-c9d8e7f6a5b4".into(),
        faspay_secret: "b2e4c6a8-1d3f-4a5b-9c7e-0f1a2b3c4d5e".into(),
        iv: "otherPartnerIv".into(),
        app_key: "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f".into(),
        app_secret: "d4c3b2a1-f6e5-4d7c-9b8a-5f4e3d2c1b0a".into(),
        client_key: "e9f8a7b6-c5d4-4e3f-a2b1-c0d9e8f7a6b5".into(),
        client_secret: "f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b".into(),
    }
}

/// A `[[sendme_partner]]` provisioning entry with exactly these credentials, and
/// an opening balance when one is given.
pub fn partner_toml(
    c: &Credentials,
    name: &str,
    opening: Option<&str>,
    require_approval: bool,
) -> String {
    let opening = opening
        .map(|o| format!("opening_balance = \"{o}\"\n"))
        .unwrap_or_default();
    format!(
        r#"
[[sendme_partner]]
virtual_account = "{}"
name = "{name}"
require_approval = {require_approval}
faspay_key = "{}"
faspay_secret = "{}"
iv = "{}"
app_key = "{}"
app_secret = "{}"
client_key = "{}"
client_secret = "{}"
{opening}"#,
        c.virtual_account,
        c.faspay_key,
        c.faspay_secret,
        c.iv,
        c.app_key,
        c.app_secret,
        c.client_key,
        c.client_secret
    )
}

fn provisioning_file(require_approval: bool) -> String {
    partner_toml(&dev_credentials(), PARTNER_NAME, None, require_approval)
        + &partner_toml(&other_credentials(), "Other Partner", None, false)
}

pub struct Sandbox {
    pub gw: Gateway,
    /// The partner under test.
    pub client: Client,
    /// Another partner.
    pub other: Client,
    _db: TestDatabase,
}

impl std::ops::Deref for Sandbox {
    type Target = Gateway;
    fn deref(&self) -> &Gateway {
        &self.gw
    }
}

/// Starts a gateway, provisions both partners and funds the first.
pub async fn start(db: TestDatabase) -> Sandbox {
    start_with(db, false).await
}

/// Like [`start`], but the partner under test (not the other one) has its
/// transfers wait for approval.
pub async fn start_requiring_approval(db: TestDatabase) -> Sandbox {
    start_with(db, true).await
}

async fn start_with(db: TestDatabase, require_approval: bool) -> Sandbox {
    let mut config = test_config(&db);
    config.simulator.bank_latency_seconds = LATENCY as u64;
    let gw = Gateway::start(config).await;
    let plan = gerbang_app::provision::plan(&provisioning_file(require_approval), Path::new("."))
        .expect("the provisioning file is valid");
    let report = gerbang_app::provision::apply(&*gw.app().store, gw.app().now(), plan)
        .await
        .expect("provisioning applies");
    assert_eq!(report.created.len(), 2, "{:?}", report.lines());
    assert!(report.generated.is_empty(), "{:?}", report.lines());
    let funded = gw
        .topup(VA, &rupiah(FUNDING_MINOR), "FUND-1")
        .await
        .expect(200);
    assert_eq!(funded["available_balance"], rupiah(FUNDING_MINOR));
    let client = Client::new(gw.api.clone(), dev_credentials());
    let other = Client::new(gw.api.clone(), other_credentials());
    Sandbox {
        gw,
        client,
        other,
        _db: db,
    }
}

impl Sandbox {
    pub async fn stop(self) {
        self.gw.stop().await;
    }

    /// The Jakarta timestamp of the gateway's clock plus `seconds`.
    pub async fn jakarta_in(&self, seconds: i64) -> String {
        jakarta(gateway_now(&self.gw.api).await + time::Duration::seconds(seconds))
    }

    /// Waits until `inquiry_status` of `trx_no` answers `status`.
    pub async fn wait_status(&self, trx_no: &str, status: &str) -> Value {
        wait_status_of(&self.client, trx_no, status).await
    }

    /// Waits until the bank has taken `trx_no` (its answer has a bank message)
    /// and checks it is still on process (status "1"); returns that answer.
    pub async fn wait_pending(&self, trx_no: &str) -> Value {
        let pending = eventually(
            &format!("the bank to take {trx_no}"),
            Duration::from_secs(10),
            || async {
                let answer = self.client.status(trx_no, None).await;
                let asked = answer["bank_response_msg"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty());
                asked.then_some(answer)
            },
        )
        .await;
        assert_eq!(pending["status"], "1", "{pending}");
        pending
    }

    /// `(balance, available_balance)` in minor units, through SendMe.
    pub async fn balances(&self) -> (i64, i64) {
        balances_of(&self.client).await
    }

    /// Registers and confirms a beneficiary.
    pub async fn beneficiary(&self, account: &str, name: &str) -> Beneficiary {
        beneficiary_of(&self.client, account, name).await
    }

    /// A transfer body as the doc sample has it, dated now.
    pub async fn transfer_body(
        &self,
        to: &Beneficiary,
        trx_no: &str,
        amount_minor: i64,
        callback_url: &str,
    ) -> Body {
        Body::new()
            .with("virtual_account", VA)
            .with("beneficiary_virtual_account", to.virtual_account.as_str())
            .with("beneficiary_account", to.account.as_str())
            .with("beneficiary_name", to.name.as_str())
            .with("beneficiary_bank_code", to.bank_code.as_str())
            .with("beneficiary_region_code", "0391")
            .with("beneficiary_country_code", "ID")
            .with("beneficiary_purpose_code", "1")
            .with("beneficiary_email", "finance@example.com")
            .with("trx_no", trx_no)
            .with("trx_date", self.jakarta_in(0).await)
            .with("instruct_date", "")
            .with("trx_amount", amount_minor.to_string())
            .with("trx_desc", "Payout")
            .with("callback_url", callback_url)
    }
}

/// A registered and confirmed beneficiary.
#[derive(Clone, Debug)]
pub struct Beneficiary {
    pub virtual_account: String,
    pub account: String,
    pub name: String,
    pub bank_code: String,
}

/// `(balance, available_balance)` of `client`'s partner in minor units, through
/// SendMe.
pub async fn balances_of(client: &Client) -> (i64, i64) {
    let (balance, available) = client.balance().await;
    (minor(&balance), minor(&available))
}

/// Registers and confirms a beneficiary of `client`'s partner at BCA.
pub async fn beneficiary_of(client: &Client, account: &str, name: &str) -> Beneficiary {
    let va = client.creds.virtual_account.as_str();
    let registered = client
        .post(REGISTER, &register_body(va, account, name, "014"))
        .await;
    assert_eq!(registered["status"], "1", "{registered}");
    let confirmed = client.post(CONFIRM, &confirm_body(&registered)).await;
    assert_eq!(confirmed["status"], "2", "{confirmed}");
    Beneficiary {
        virtual_account: confirmed["beneficiary_virtual_account"]
            .as_str()
            .expect("beneficiary_virtual_account")
            .to_string(),
        account: account.to_string(),
        name: name.to_string(),
        bank_code: "014".into(),
    }
}

pub fn register_body(va: &str, account: &str, name: &str, bank_code: &str) -> Body {
    Body::new()
        .with("virtual_account", va)
        .with("beneficiary_account", account)
        .with("beneficiary_account_name", name)
        .with("beneficiary_va_name", name)
        .with("beneficiary_bank_code", bank_code)
        .with("beneficiary_bank_branch", "KCP Pasar Baru")
        .with("beneficiary_region_code", "0102")
        .with("beneficiary_country_code", "ID")
        .with("beneficiary_purpose_code", "1")
}

#[allow(unused_imports)]
pub use crate::common::{assert_ledger, assert_ledger_clean, minor, rupiah};

/// An approve or reject request for these `trx_no`s of the partner under test.
pub fn by_nos(nos: &[&str]) -> Body {
    Body::new()
        .with("virtual_account", VA)
        .with("trx_no", serde_json::json!(nos))
}

/// Waits until `inquiry_status` of `trx_no` (asked by `client`) answers `status`.
pub async fn wait_status_of(client: &Client, trx_no: &str, status: &str) -> Value {
    eventually(
        &format!("{trx_no} to reach status {status}"),
        Duration::from_secs(10),
        || async move {
            let answer = client.status(trx_no, None).await;
            (answer["status"] == status).then_some(answer)
        },
    )
    .await
}

/// The callbacks `receiver` got for `trx_no` of `client`'s partner, each checked
/// with that partner's credentials.
pub fn callbacks_for(client: &Client, receiver: &Receiver, trx_no: &str) -> Vec<Value> {
    receiver
        .received()
        .iter()
        .filter(|r| {
            let body = r.json();
            body["trx_no"] == trx_no
                && body["virtual_account"] == client.creds.virtual_account.as_str()
        })
        .map(|r| {
            assert_eq!(r.method, "POST");
            assert!(
                r.header("content-type")
                    .is_some_and(|c| c.starts_with("application/json")),
                "{:?}",
                r.headers
            );
            client
                .creds
                .verify_callback(&r.body)
                .unwrap_or_else(|e| panic!("callback signature: {e}: {}", r.body))
        })
        .collect()
}

/// Waits for a callback of `trx_no`; returns the last one.
pub async fn callback_for(client: &Client, receiver: &Receiver, trx_no: &str) -> Value {
    eventually(
        &format!("the callback of {trx_no}"),
        Duration::from_secs(10),
        || async { callbacks_for(client, receiver, trx_no).pop() },
    )
    .await
}
