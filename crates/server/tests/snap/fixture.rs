//! A gateway with one SendMe partner (funded) and two SNAP partners spending its
//! balance: one signing asymmetrically without a token (Faspay's way, calling
//! `/account/v1.0/…`), one with a B2B token and HMAC-SHA512 (the standard's,
//! calling `/v1.0/…`).

use crate::client::{public_key_pem, Partner};
use crate::common::*;
use crate::sendme_client::{Client, Credentials};
use serde_json::{json, Value};
use std::path::Path;

pub const VA: &str = "9920017777";
pub const ASYMMETRIC_ID: &str = "31001";
pub const SYMMETRIC_ID: &str = "31002";
pub const SECRET: &str = "snap-client-secret-0123456789abcdef";
/// What the SendMe partner is funded with: Rp 1.000.000,00.
/// The SendMe v1 credentials of the partner whose balance the SNAP partners spend.
pub fn sendme_credentials() -> Credentials {
    Credentials {
        virtual_account: VA.into(),
        faspay_key: "4d5e6f7a-8b9c-4d0e-1f2a-3b4c5d6e7f8a".into(),
        faspay_secret: "5b0f8c1e-2d4a-4e6b-9c3f-7a8d9e0f1b2c".into(),
        iv: "snapSuiteIv2026".into(),
        app_key: "0c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e5f".into(),
        app_secret: "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d".into(),
        client_key: "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e".into(),
        client_secret: "3c4d5e6f-7a8b-4c9d-0e1f-2a3b4c5d6e7f".into(),
    }
}

pub const FUNDING_MINOR: i64 = 100_000_000;
/// The suite's limits of one bulk cash-in.
pub const MAX_BULK_ITEMS: usize = 10_000;
pub const MAX_BULK_BYTES: usize = 4 * 1024 * 1024;
/// Seconds between accepting a transfer and the simulated bank's answer.
pub const LATENCY: i64 = 30;

pub struct Sandbox {
    pub gw: Gateway,
    /// Asymmetric, `/account/v1.0/…`.
    pub faspay: Partner,
    /// Symmetric with a token, `/v1.0/…`.
    pub standard: Partner,
    /// The SendMe v1 partner whose balance both spend.
    pub sendme: Client,
    _db: TestDatabase,
}

impl std::ops::Deref for Sandbox {
    type Target = Gateway;
    fn deref(&self) -> &Gateway {
        &self.gw
    }
}

fn provisioning(require_approval: bool) -> String {
    let pem = public_key_pem();
    let c = sendme_credentials();
    format!(
        r#"
[[sendme_partner]]
virtual_account = "{VA}"
name = "Lentera Payouts"
require_approval = {require_approval}
faspay_key = "{}"
faspay_secret = "{}"
iv = "{}"
app_key = "{}"
app_secret = "{}"
client_key = "{}"
client_secret = "{}"

[[snap_partner]]
partner_id = "{ASYMMETRIC_ID}"
channel_id = "88001"
source_account = "{VA}"
public_key = """{pem}"""

[[snap_partner]]
partner_id = "{SYMMETRIC_ID}"
source_account = "{VA}"
signature_mode = "symmetric"
client_secret = "{SECRET}"
public_key = """{pem}"""
"#,
        c.faspay_key, c.faspay_secret, c.iv, c.app_key, c.app_secret, c.client_key, c.client_secret,
    )
}

pub async fn start(db: TestDatabase) -> Sandbox {
    start_with(db, false).await
}

pub async fn start_requiring_approval(db: TestDatabase) -> Sandbox {
    start_with(db, true).await
}

async fn start_with(db: TestDatabase, require_approval: bool) -> Sandbox {
    let mut config = test_config(&db);
    config.simulator.bank_latency_seconds = LATENCY as u64;
    // Bulks of this suite stay small enough to refuse an oversized one cheaply.
    config.snap.max_bulk_items = MAX_BULK_ITEMS;
    config.snap.max_bulk_body_bytes = MAX_BULK_BYTES;
    let gw = Gateway::start(config).await;
    let plan = gerbang_app::provision::plan(&provisioning(require_approval), Path::new("."))
        .expect("the provisioning file is valid");
    gerbang_app::provision::apply(&*gw.app().store, gw.app().now(), plan)
        .await
        .expect("provisioning applies");
    gw.topup(VA, &rupiah(FUNDING_MINOR), "FUND-1")
        .await
        .expect(200);
    let faspay = Partner::new(gw.api.clone(), ASYMMETRIC_ID, None, "/account");
    let standard = Partner::new(gw.api.clone(), SYMMETRIC_ID, Some(SECRET), "");
    let sendme = Client::new(gw.api.clone(), sendme_credentials());
    Sandbox {
        gw,
        faspay,
        standard,
        sendme,
        _db: db,
    }
}

impl Sandbox {
    pub async fn stop(self) {
        self.gw.stop().await;
    }

    /// `(balance, available)` of the shared source account, in sen.
    pub async fn balances(&self) -> (i64, i64) {
        let b = self.gw.balance(VA).await;
        (
            minor(b["balance"].as_str().expect("balance")),
            minor(b["available_balance"].as_str().expect("available_balance")),
        )
    }

    /// A transfer-interbank body as the SDK samples have it.
    pub async fn transfer(&self, reference: &str, amount: &str, account: &str) -> Value {
        json!({
            "partnerReferenceNo": reference,
            "amount": {"value": amount, "currency": "IDR"},
            "beneficiaryAccountName": "JOHN DOE",
            "beneficiaryAccountNo": account,
            "beneficiaryBankCode": "014",
            "beneficiaryEmail": "",
            "sourceAccountNo": VA,
            "transactionDate": self.faspay.timestamp().await,
            "additionalInfo": {
                "instructDate": "",
                "transactionDescription": "Payout https://shop.example/order/1",
                "callbackUrl": "",
            }
        })
    }

    /// Moves the sandbox clock past the bank's latency and waits for
    /// `reference` of `partner` to be final; returns its status answer.
    pub async fn settle(&self, partner: &Partner, reference: &str, service: &str) -> Value {
        self.gw.advance_clock(LATENCY + 1).await;
        let suffix = if service == "38" {
            "/emoney/topup-status"
        } else {
            "/transfer/status"
        };
        eventually(
            "the payout to be final",
            std::time::Duration::from_secs(10),
            || async {
                let reply = partner
                    .call(
                        suffix,
                        &json!({"originalPartnerReferenceNo": reference, "serviceCode": service}),
                    )
                    .await;
                let status = reply.body["latestTransactionStatus"].as_str()?.to_string();
                (status != "03").then_some(reply.body)
            },
        )
        .await
    }
}

/// Sen from a SNAP amount `{"value": "10000.00", "currency": "IDR"}`.
#[track_caller]
pub fn amount_minor(v: &Value) -> i64 {
    assert_eq!(v["currency"], "IDR", "{v}");
    minor(v["value"].as_str().expect("an amount value"))
}
