//! Scripting the simulated banks through the sandbox API, seen through SendMe:
//! `POST /sandbox/banks/accounts` adds (or replaces) an account that name inquiry
//! answers with its holder (or as closed), `POST /sandbox/banks/next-outcome`
//! makes the next transfer to an account end as asked, once. Bad requests are
//! refused with a JSON error and leave nothing behind.

use crate::client::*;
use crate::common::*;
use crate::fixture::{
    self, assert_ledger_clean, callback_for, callbacks_for, confirm_body, register_body,
    Beneficiary, Sandbox, FUNDING_MINOR, LATENCY, VA,
};
use gerbang_channels::bank::simulator::{ACCOUNT_RECORD, FORCED_RECORD, LATE_FAILURE_SECONDS};
use serde_json::{json, Value};

const ACCOUNTS: &str = "/sandbox/banks/accounts";
const NEXT_OUTCOME: &str = "/sandbox/banks/next-outcome";

async fn add_account(s: &Sandbox, bank_code: &str, account: &str, name: &str, closed: bool) {
    let answer = s
        .post_json(
            ACCOUNTS,
            &json!({
                "bank_code": bank_code,
                "account": account,
                "name": name,
                "closed": closed,
            }),
        )
        .await
        .expect(200);
    assert_eq!(answer["bank_code"], bank_code, "{answer}");
    assert_eq!(answer["account"], account, "{answer}");
    assert_eq!(answer["name"], name.to_uppercase(), "{answer}");
    assert_eq!(answer["closed"], closed, "{answer}");
}

async fn force(s: &Sandbox, account: &str, outcome: &str) {
    let answer = s
        .post_json(
            NEXT_OUTCOME,
            &json!({ "bank_code": "014", "account": account, "outcome": outcome }),
        )
        .await
        .expect(200);
    assert_eq!(answer["account"], account, "{answer}");
    assert_eq!(answer["outcome"], outcome, "{answer}");
}

/// Registers `account` at `bank_code` claiming `name`; returns the answer.
async fn register(s: &Sandbox, bank_code: &str, account: &str, name: &str) -> Value {
    s.client
        .post(REGISTER, &register_body(VA, account, name, bank_code))
        .await
}

/// Sends a transfer and checks it is on process.
async fn send(s: &Sandbox, to: &Beneficiary, trx_no: &str, amount: i64, url: &str) {
    let answer = s
        .client
        .post(TRANSFER, &s.transfer_body(to, trx_no, amount, url).await)
        .await;
    assert_eq!(answer["status"], "1", "{answer}");
}

/// Waits for the final status and checks the one callback says the same.
async fn settled(s: &Sandbox, receiver: &Receiver, trx_no: &str, status: &str) -> Value {
    let done = s.wait_status(trx_no, status).await;
    let callback = callback_for(&s.client, receiver, trx_no).await;
    assert_eq!(callback["trx_status"], status, "{callback}");
    assert_eq!(callback["trx_status_date"], done["trx_status_date"]);
    assert_eq!(callbacks_for(&s.client, receiver, trx_no).len(), 1);
    done
}

async fn added_accounts_answer_their_holder(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let url = receiver.url();
    add_account(&s, "014", "5550001111", "Siti Aminah", false).await;

    // Name inquiry answers the bank's holder, whatever the partner claimed.
    let registered = register(&s, "014", "5550001111", "S. Aminah").await;
    assert_eq!(registered["status"], "1", "{registered}");
    assert_eq!(registered["bank_account_number"], "5550001111");
    assert_eq!(
        registered["bank_account_name"], "SITI AMINAH",
        "{registered}"
    );
    assert_eq!(registered["beneficiary_bank_name"], "BANK BCA");
    let confirmed = s.client.post(CONFIRM, &confirm_body(&registered)).await;
    assert_eq!(confirmed["status"], "2", "{confirmed}");
    let siti = Beneficiary {
        virtual_account: confirmed["beneficiary_virtual_account"]
            .as_str()
            .expect("beneficiary_virtual_account")
            .to_string(),
        account: "5550001111".into(),
        name: "Siti Aminah".into(),
        bank_code: "014".into(),
    };
    let named = s
        .client
        .query(
            Style::Java,
            Query::InquiryName,
            &[("beneficiary_virtual_account", &siti.virtual_account)],
        )
        .await;
    assert_success(&named);
    assert_eq!(named["beneficiary_account_name"], "SITI AMINAH", "{named}");

    // The same number at another bank is another account.
    let elsewhere = register(&s, "008", "5550001111", "Someone Else").await;
    assert_eq!(elsewhere["status"], "1", "{elsewhere}");
    assert_eq!(
        elsewhere["bank_account_name"], "SOMEONE ELSE",
        "{elsewhere}"
    );
    // An added account exists even with a magic "not found" ending.
    add_account(&s, "014", "5550009901", "Ada Orangnya", false).await;
    let found = register(&s, "014", "5550009901", "Whoever").await;
    assert_eq!(found["status"], "1", "{found}");
    assert_eq!(found["bank_account_name"], "ADA ORANGNYA", "{found}");

    // Transfers to it succeed.
    send(&s, &siti, "SITI-1", 1_000_000, &url).await;
    s.advance_clock(LATENCY + 1).await;
    settled(&s, &receiver, "SITI-1", "2").await;

    // Replaced by a closed account: the next transfer fails and is released.
    add_account(&s, "014", "5550001111", "Siti Aminah", true).await;
    send(&s, &siti, "SITI-2", 2_000_000, &url).await;
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - 1_000_000, FUNDING_MINOR - 3_000_000)
    );
    s.advance_clock(LATENCY + 1).await;
    let closed = settled(&s, &receiver, "SITI-2", "4").await;
    assert_eq!(closed["bank_response_code"], 52, "{closed}");
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - 1_000_000, FUNDING_MINOR - 1_000_000)
    );

    // Closed from the start: registration fails with status 4, and there is
    // nothing to confirm.
    add_account(&s, "014", "5550002222", "Tutup Selamanya", true).await;
    let refused = register(&s, "014", "5550002222", "Tutup Selamanya").await;
    assert_eq!(refused["status"], "4", "{refused}");
    assert_eq!(refused["message"], "Account Closed", "{refused}");
    assert!(
        refused.get("beneficiary_virtual_account").is_none(),
        "{refused}"
    );
    let confirm = s
        .client
        .post(
            CONFIRM,
            &register_body(VA, "5550002222", "Tutup Selamanya", "014")
                .with("bank_account_number", "5550002222")
                .with("bank_account_name", "TUTUP SELAMANYA")
                .with("confirm", "2"),
        )
        .await;
    assert_eq!(confirm["status"], "9", "{confirm}");
    assert_ledger_clean(&s.api).await;
    s.stop().await;
}

async fn forced_outcomes_apply_to_the_next_transfer_once(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let url = receiver.url();
    let rejecting = s.beneficiary("10000011", "Reject Once").await;
    let pending = s.beneficiary("10000022", "Pending Once").await;
    let late = s.beneficiary("10000033", "Fail Later Once").await;
    // Normally refused by the bank (magic 9904): forced to succeed once.
    let lucky = s.beneficiary("1234569904", "Lucky Once").await;
    force(&s, "10000011", "reject").await;
    force(&s, "10000022", "pending").await;
    force(&s, "10000033", "fail_later").await;
    force(&s, "1234569904", "success").await;

    send(&s, &rejecting, "REJ-1", 1_000_000, &url).await;
    send(&s, &pending, "PEN-1", 2_000_000, &url).await;
    send(&s, &late, "LATE-1", 3_000_000, &url).await;
    send(&s, &lucky, "LUCKY-1", 4_000_000, &url).await;
    s.advance_clock(LATENCY + 1).await;
    let rejected = settled(&s, &receiver, "REJ-1", "4").await;
    assert_eq!(rejected["bank_response_code"], 5, "{rejected}");
    settled(&s, &receiver, "LUCKY-1", "2").await;
    for no in ["PEN-1", "LATE-1"] {
        let pending = s.wait_pending(no).await;
        assert_eq!(pending["trx_status_date"], "", "{pending}");
    }
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - 4_000_000, FUNDING_MINOR - 9_000_000)
    );

    // Once: the next transfers behave as the accounts normally do.
    send(&s, &rejecting, "REJ-2", 100_000, &url).await;
    send(&s, &pending, "PEN-2", 100_000, &url).await;
    send(&s, &late, "LATE-2", 100_000, &url).await;
    send(&s, &lucky, "LUCKY-2", 100_000, &url).await;
    s.advance_clock(LATENCY + 1).await;
    settled(&s, &receiver, "REJ-2", "2").await;
    settled(&s, &receiver, "PEN-2", "2").await;
    settled(&s, &receiver, "LATE-2", "2").await;
    let refused = settled(&s, &receiver, "LUCKY-2", "4").await;
    assert_eq!(refused["bank_response_code"], 5, "{refused}");
    for no in ["PEN-1", "LATE-1"] {
        assert_eq!(s.client.status(no, None).await["status"], "1", "{no}");
        assert!(callbacks_for(&s.client, &receiver, no).is_empty(), "{no}");
    }

    // The late failure comes a minute after the bank took it; the pending one
    // succeeds an hour after.
    s.advance_clock(LATE_FAILURE_SECONDS + 1).await;
    settled(&s, &receiver, "LATE-1", "4").await;
    assert_eq!(s.client.status("PEN-1", None).await["status"], "1");
    s.advance_clock(3600).await;
    settled(&s, &receiver, "PEN-1", "2").await;

    // Armed again, it applies again.
    force(&s, "10000011", "reject").await;
    send(&s, &rejecting, "REJ-3", 100_000, &url).await;
    s.advance_clock(LATENCY + 1).await;
    settled(&s, &receiver, "REJ-3", "4").await;

    let paid = 4_000_000 + 3 * 100_000 + 2_000_000;
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - paid, FUNDING_MINOR - paid)
    );
    assert_ledger_clean(&s.api).await;
    s.stop().await;
}

fn account_request(bank_code: &str, account: &str, name: &str) -> Value {
    json!({
        "bank_code": bank_code,
        "account": account,
        "name": name,
        "closed": false,
    })
}

fn outcome_request(bank_code: &str, account: &str, outcome: &str) -> Value {
    json!({
        "bank_code": bank_code,
        "account": account,
        "outcome": outcome,
    })
}

async fn bad_bank_scripting_requests_store_nothing(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    for bad in [
        account_request("999", "5550003333", "Nama Palsu"),
        account_request("", "5550003333", "Nama Palsu"),
        account_request("014", "5550-3333", "Nama Palsu"),
        account_request("014", "1234", "Nama Palsu"),
        account_request("014", "123456789012345678901", "Nama Palsu"),
        account_request("014", "", "Nama Palsu"),
        account_request("014", "5550003333", ""),
        account_request("014", "5550003333", "   "),
    ] {
        let message = s.post_json(ACCOUNTS, &bad).await.expect_error(400);
        assert!(!message.is_empty(), "{bad}");
    }
    for bad in [
        outcome_request("999", "10000044", "reject"),
        outcome_request("", "10000044", "reject"),
        outcome_request("014", "1000-0044", "reject"),
        outcome_request("014", "1234", "reject"),
        outcome_request("014", "123456789012345678901", "reject"),
        outcome_request("014", "", "reject"),
        outcome_request("014", "10000044", "explode"),
        outcome_request("014", "10000044", "REJECT"),
        outcome_request("014", "10000044", ""),
    ] {
        let message = s.post_json(NEXT_OUTCOME, &bad).await.expect_error(400);
        assert!(!message.is_empty(), "{bad}");
    }
    for path in [ACCOUNTS, NEXT_OUTCOME] {
        for text in [
            &b"{\"bank_code\": \"014\", \"account\": "[..],
            b"bank_code=014&account=10000044",
            b"",
        ] {
            s.post_raw(path, "application/json", text.to_vec())
                .await
                .expect_error(400);
        }
    }

    // Nothing was stored.
    let store = &s.app().store;
    for kind in [ACCOUNT_RECORD, FORCED_RECORD] {
        let records = store.records(kind, None, None, 100).await.expect("records");
        assert!(records.is_empty(), "{kind}: {records:?}");
    }
    // The accounts named behave as they always do.
    let registered = register(&s, "014", "5550003333", "Nama Sendiri").await;
    assert_eq!(registered["status"], "1", "{registered}");
    assert_eq!(
        registered["bank_account_name"], "NAMA SENDIRI",
        "{registered}"
    );
    let b = s.beneficiary("10000044", "Normal Holder").await;
    send(&s, &b, "NORMAL-1", 1_000_000, &receiver.url()).await;
    s.advance_clock(LATENCY + 1).await;
    settled(&s, &receiver, "NORMAL-1", "2").await;
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - 1_000_000, FUNDING_MINOR - 1_000_000)
    );
    assert_ledger_clean(&s.api).await;
    s.stop().await;
}

on_both_backends!(
    added_accounts_answer_their_holder,
    forced_outcomes_apply_to_the_next_transfer_once,
    bad_bank_scripting_requests_store_nothing,
);
