//! SendMe partner helpers the binary's tests share: the provisioning entry, balances
//! and statuses through the test client.

use crate::client::{Client, Credentials};
use crate::common::eventually;
use serde_json::Value;
use std::time::Duration;

/// A `[[sendme_partner]]` provisioning entry with exactly these credentials.
pub fn partner_toml(c: &Credentials, name: &str, opening: &str, require_approval: bool) -> String {
    format!(
        "[[sendme_partner]]\nvirtual_account = \"{}\"\nname = \"{name}\"\n\
         faspay_key = \"{}\"\nfaspay_secret = \"{}\"\niv = \"{}\"\napp_key = \"{}\"\n\
         app_secret = \"{}\"\nclient_key = \"{}\"\nclient_secret = \"{}\"\n\
         opening_balance = \"{opening}\"\nrequire_approval = {require_approval}\n\n",
        c.virtual_account,
        c.faspay_key,
        c.faspay_secret,
        c.iv,
        c.app_key,
        c.app_secret,
        c.client_key,
        c.client_secret,
    )
}

/// Minor units from a rupiah string with exactly two decimals.
#[track_caller]
pub fn minor(rupiah: &str) -> i64 {
    let (whole, cents) = rupiah
        .split_once('.')
        .unwrap_or_else(|| panic!("{rupiah:?} has no decimals"));
    assert_eq!(cents.len(), 2, "{rupiah:?} does not have two decimals");
    whole.parse::<i64>().expect("rupiah") * 100 + cents.parse::<i64>().expect("cents")
}

/// (balance, available) of the client's partner, in minor units.
pub async fn balances(client: &Client) -> (i64, i64) {
    let (balance, available) = client.balance().await;
    (minor(&balance), minor(&available))
}

/// Waits until `inquiry_status` of `trx_no` answers `status`.
pub async fn wait_status(client: &Client, trx_no: &str, status: &str) -> Value {
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
