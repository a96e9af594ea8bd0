//! `gerbang payout approve|reject` against the database of a stopped gateway: a
//! partner provisioned with `require_approval = true` has its SendMe transfers
//! held; the command decides them in the database, and the gateway acts on the
//! decision when it runs again: the approved one goes to the bank after the
//! latency, the rejected one is failed, released and notified.

use crate::client::{Body, Client, Credentials, TRANSFER};
use crate::common::*;
use crate::fixture::{
    balances_of, beneficiary_of, callback_for, callbacks_for, partner_toml, wait_status_of,
};
use crate::support::*;

const VA: &str = "9920016666";
const OTHER_VA: &str = "9920016677";
/// Seconds between sending a transfer to the bank and its answer.
const LATENCY: i64 = 30;
/// Rp 1.000.000,00.
const OPENING_MINOR: i64 = 100_000_000;

fn credentials(virtual_account: &str, seed: char) -> Credentials {
    let uuid = |n: char| format!("{seed}{n}0d2b6e-5a4c-4e1f-8b7a-c9d8e7f6a5b4");
    Credentials {
        virtual_account: virtual_account.into(),
        faspay_key: uuid('1'),
        faspay_secret: uuid('2'),
        iv: format!("payoutIv{seed}"),
        app_key: uuid('3'),
        app_secret: uuid('4'),
        client_key: uuid('5'),
        client_secret: uuid('6'),
    }
}

async fn start(db: &TestDatabase) -> Gateway {
    let mut config = test_config(db);
    config.simulator.bank_latency_seconds = LATENCY as u64;
    Gateway::start(config).await
}

/// Sends a transfer and checks it is on process; returns its trx_id.
async fn transfer(client: &Client, to_va: &str, trx_no: &str, amount: i64, url: &str) -> String {
    let body = Body::new()
        .with("virtual_account", client.creds.virtual_account.as_str())
        .with("beneficiary_virtual_account", to_va)
        .with("beneficiary_account", "10000006")
        .with("beneficiary_name", "PT. Florist Lentera Abadi")
        .with("beneficiary_bank_code", "014")
        .with("beneficiary_region_code", "0391")
        .with("beneficiary_country_code", "ID")
        .with("beneficiary_purpose_code", "1")
        .with("trx_no", trx_no)
        .with("trx_date", client.timestamp().await)
        .with("instruct_date", "")
        .with("trx_amount", amount.to_string())
        .with("trx_desc", "Payout")
        .with("callback_url", url);
    let answer = client.post(TRANSFER, &body).await;
    assert_eq!(answer["status"], "1", "{answer}");
    answer["trx_id"]
        .as_u64()
        .unwrap_or_else(|| panic!("trx_id is not a number: {answer}"))
        .to_string()
}

async fn cli_decides_waiting_payouts_of_a_stopped_gateway(db: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    let (ours, theirs) = (credentials(VA, 'a'), credentials(OTHER_VA, 'b'));
    std::fs::write(
        dir.path().join("partners.toml"),
        partner_toml(
            &ours,
            &format!("Partner {}", ours.virtual_account),
            Some("1000000.00"),
            true,
        ) + &partner_toml(
            &theirs,
            &format!("Partner {}", theirs.virtual_account),
            Some("1000000.00"),
            false,
        ),
    )
    .unwrap();
    let provisioned = run(
        dir.path(),
        &["provision", "partners.toml", "--database-url", &db.url],
    )
    .await;
    provisioned.expect_code(0);

    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let url = receiver.url();
    let gw = start(&db).await;
    let client = Client::new(gw.api.clone(), ours.clone());
    let other = Client::new(gw.api.clone(), theirs.clone());
    let to = beneficiary_of(&client, "10000006", "PT. Florist Lentera Abadi")
        .await
        .virtual_account;
    let approve_id = transfer(&client, &to, "CLI-1", 2_500_000, &url).await;
    let reject_id = transfer(&client, &to, "CLI-2", 1_000_000, &url).await;
    let control_to = beneficiary_of(&other, "10000006", "PT. Florist Lentera Abadi")
        .await
        .virtual_account;
    transfer(&other, &control_to, "CONTROL-1", 100_000, &url).await;
    let held = (OPENING_MINOR, OPENING_MINOR - 3_500_000);
    assert_eq!(balances_of(&client).await, held);

    // The latency passes: the other partner's transfer settles, ours wait.
    gw.advance_clock(LATENCY + 1).await;
    wait_status_of(&other, "CONTROL-1", "2").await;
    for no in ["CLI-1", "CLI-2"] {
        let status = client.status(no, None).await;
        assert_eq!(status["status"], "1", "{status}");
        assert_eq!(status["bank_response_msg"], "", "{status}");
        assert!(callbacks_for(&client, &receiver, no).is_empty());
    }
    gw.stop().await;

    // Decided from the command line while the gateway is down.
    let approved = run(
        dir.path(),
        &[
            "payout",
            "approve",
            "--virtual-account",
            VA,
            &approve_id,
            "--database-url",
            &db.url,
        ],
    )
    .await;
    approved.expect_code(0);
    assert!(
        approved
            .stdout
            .contains(&format!("approved {approve_id} (CLI-1): processing")),
        "{}",
        approved.stdout
    );
    let rejected = run(
        dir.path(),
        &[
            "payout",
            "reject",
            "--virtual-account",
            VA,
            &reject_id,
            "--database-url",
            &db.url,
        ],
    )
    .await;
    rejected.expect_code(0);
    assert!(
        rejected
            .stdout
            .contains(&format!("rejected {reject_id} (CLI-2): failed")),
        "{}",
        rejected.stdout
    );
    // Refusals change nothing: decided already, unknown, another partner's.
    for args in [
        ["approve", VA, approve_id.as_str()],
        ["approve", VA, reject_id.as_str()],
        ["reject", VA, approve_id.as_str()],
        ["approve", VA, "1234567890123456"],
        ["approve", OTHER_VA, approve_id.as_str()],
    ] {
        let refused = run(
            dir.path(),
            &[
                "payout",
                args[0],
                "--virtual-account",
                args[1],
                args[2],
                "--database-url",
                &db.url,
            ],
        )
        .await;
        refused.expect_code(1);
        assert!(
            refused.stderr.contains("nothing was changed"),
            "{args:?}: {}",
            refused.stderr
        );
    }

    // The gateway runs again: the rejection is there at once, released and told.
    let gw = start(&db).await;
    let client = Client::new(gw.api.clone(), ours.clone());
    let status = client.status("CLI-2", Some(&reject_id)).await;
    assert_eq!(status["status"], "4", "{status}");
    let callback = callback_for(&client, &receiver, "CLI-2").await;
    assert_eq!(callback["trx_status"], "4", "{callback}");
    assert_eq!(callback["trx_id"], reject_id.as_str(), "{callback}");
    assert_eq!(
        balances_of(&client).await,
        (OPENING_MINOR, OPENING_MINOR - 2_500_000)
    );
    // The approved one goes to the bank after the latency.
    let waiting = client.status("CLI-1", Some(&approve_id)).await;
    assert_eq!(waiting["status"], "1", "{waiting}");
    gw.advance_clock(LATENCY + 1).await;
    let done = wait_status_of(&client, "CLI-1", "2").await;
    assert_eq!(done["trx_id"].to_string(), approve_id, "{done}");
    let callback = callback_for(&client, &receiver, "CLI-1").await;
    assert_eq!(callback["trx_status"], "2", "{callback}");
    assert_eq!(callback["trx_status_date"], done["trx_status_date"]);
    assert_eq!(
        balances_of(&client).await,
        (OPENING_MINOR - 2_500_000, OPENING_MINOR - 2_500_000)
    );
    for no in ["CLI-1", "CLI-2"] {
        assert_eq!(callbacks_for(&client, &receiver, no).len(), 1, "{no}");
    }
    let check = gw.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");
    assert_eq!(check["holds_pending"], 0, "{check}");
    gw.stop().await;
}

on_both_backends!(cli_decides_waiting_payouts_of_a_stopped_gateway);
