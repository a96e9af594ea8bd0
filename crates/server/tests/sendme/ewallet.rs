//! E-wallet top-ups through `transfer` (spec §11): `beneficiary_bank_code` `ovo`,
//! `gpy`, `dna` or `lkj` in any case, the customer's phone number in
//! `beneficiary_account`, no register/confirm first. The wallet simulator's magic
//! numbers, and `inquiry_name` for a wallet.

use crate::client::*;
use crate::common::*;
use crate::fixture::{
    self, assert_ledger_clean, callback_for, callbacks_for, Sandbox, FUNDING_MINOR, LATENCY, VA,
};
use serde_json::{json, Value};

/// A top-up as the spec's e-wallet request lists it, dated now.
async fn top_up_body(
    s: &Sandbox,
    code: &str,
    phone: &str,
    name: &str,
    trx_no: &str,
    amount_minor: i64,
    callback_url: &str,
) -> Body {
    Body::new()
        .with("virtual_account", VA)
        .with("beneficiary_account", phone)
        .with("beneficiary_name", name)
        .with("beneficiary_bank_code", code)
        .with("beneficiary_region_code", "0102")
        .with("beneficiary_country_code", "ID")
        .with("beneficiary_purpose_code", "1")
        .with("beneficiary_phone", phone)
        .with("beneficiary_email", "finance@example.com")
        .with("trx_no", trx_no)
        .with("trx_date", s.jakarta_in(0).await)
        .with("instruct_date", "")
        .with("trx_amount", amount_minor.to_string())
        .with("trx_desc", "Topup")
        .with("callback_url", callback_url)
}

/// Sends a top-up and checks it is on process; returns its trx_id.
async fn send(s: &Sandbox, body: &Body) -> u64 {
    let answer = s.client.post(TRANSFER, body).await;
    assert_eq!(answer["status"], "1", "{answer}");
    assert_eq!(answer["response_code"], "00", "{answer}");
    for field in [
        "beneficiary_account",
        "beneficiary_name",
        "beneficiary_bank_code",
        "trx_no",
    ] {
        assert_eq!(
            answer[field],
            body.get(field).unwrap().clone(),
            "{field}: {answer}"
        );
    }
    assert_eq!(
        answer["trx_amount"].as_i64().map(|a| a.to_string()),
        Some(body.text("trx_amount")),
        "{answer}"
    );
    answer["trx_id"]
        .as_u64()
        .unwrap_or_else(|| panic!("trx_id is not a number: {answer}"))
}

/// Checks the one callback of `trx_no` against its final status.
async fn assert_one_callback(s: &Sandbox, receiver: &Receiver, trx_no: &str, final_status: &Value) {
    let callback = callback_for(&s.client, receiver, trx_no).await;
    assert_eq!(callback["trx_status"], final_status["status"], "{callback}");
    assert_eq!(
        callback["trx_id"],
        final_status["trx_id"].to_string(),
        "{callback}"
    );
    assert_eq!(callback["trx_status_date"], final_status["trx_status_date"]);
    assert_eq!(
        callback["beneficiary_account"], final_status["beneficiary_account"],
        "{callback}"
    );
    assert_eq!(callback["bank_code"], final_status["beneficiary_bank_code"]);
    assert_eq!(callback["bank_name"], final_status["beneficiary_bank_name"]);
    assert_eq!(callback["beneficiary_virtual_account"], "", "{callback}");
    assert_eq!(callbacks_for(&s.client, receiver, trx_no).len(), 1);
}

async fn wallet_top_ups_need_no_registration(db: TestDatabase) {
    let s = fixture::start(db).await;
    let funded_on = jakarta_date(gateway_now(&s.api).await);
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let url = receiver.url();
    let ovo = top_up_body(
        &s,
        "ovo",
        "081234567890",
        "Budi Santoso",
        "OVO-1",
        1_500_000,
        &url,
    )
    .await;
    let gopay = top_up_body(
        &s,
        "GPY",
        "085712340000",
        "Sari Dewi",
        "GPY-1",
        700_000,
        &url,
    )
    .await;
    let ovo_id = send(&s, &ovo).await;
    let gopay_id = send(&s, &gopay).await;
    let held = (FUNDING_MINOR, FUNDING_MINOR - 2_200_000);
    assert_eq!(s.balances().await, held);
    // A retry is the same top-up.
    let again = s.client.post_as(Style::Php, TRANSFER, TRANSFER, &ovo).await;
    assert_eq!(again["trx_id"], json!(ovo_id), "{again}");
    assert_eq!(s.balances().await, held);
    // The same trx_no to another wallet is another request.
    let answer = s
        .client
        .post(TRANSFER, &ovo.clone().with("beneficiary_bank_code", "dna"))
        .await;
    assert_error(&answer, "Your Transaction Number already exists");

    for (no, id, code, name, phone) in [
        ("OVO-1", ovo_id, "ovo", "OVO", "081234567890"),
        ("GPY-1", gopay_id, "gpy", "GOPAY", "085712340000"),
    ] {
        let status = s.client.status(no, Some(&id.to_string())).await;
        assert_eq!(status["status"], "1", "{status}");
        assert_eq!(status["beneficiary_bank_code"], code, "{status}");
        assert_eq!(status["beneficiary_bank_name"], name, "{status}");
        assert_eq!(status["beneficiary_account"], phone, "{status}");
        assert_eq!(status["beneficiary_virtual_account"], "", "{status}");
        assert_eq!(status["trx_status_date"], "", "{status}");
    }

    s.advance_clock(LATENCY + 1).await;
    for (no, id, name) in [
        ("OVO-1", ovo_id, "Budi Santoso"),
        ("GPY-1", gopay_id, "Sari Dewi"),
    ] {
        let done = s.wait_status(no, "2").await;
        assert_eq!(done["trx_id"], json!(id), "{done}");
        assert_eq!(done["bank_response_code"], 0, "{done}");
        assert_ne!(done["trx_status_date"], "", "{done}");
        assert_one_callback(&s, &receiver, no, &done).await;
        let callback = callback_for(&s.client, &receiver, no).await;
        assert_eq!(callback["beneficiary_name"], name, "{callback}");
        assert_eq!(callback["virtual_account"], VA, "{callback}");
    }
    let paid = 2_200_000;
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - paid, FUNDING_MINOR - paid)
    );
    // The statement shows both debits.
    let today = jakarta_date(gateway_now(&s.api).await);
    let statement = s
        .client
        .query(
            Style::Php,
            Query::Mutasi,
            &[("start_date", &funded_on), ("end_date", &today)],
        )
        .await;
    assert_success(&statement);
    let debits: Vec<&Value> = statement["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|l| l["transaction_type"] == "D")
        .collect();
    let mut amounts: Vec<&str> = debits
        .iter()
        .map(|l| l["transaction_amount"].as_str().expect("amount"))
        .collect();
    amounts.sort();
    assert_eq!(amounts, ["15000.00", "7000.00"], "{statement}");
    assert_ledger_clean(&s.api).await;
    s.stop().await;
}

async fn wallet_magic_numbers(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let url = receiver.url();
    let cases = [
        ("W-9901", "ovo", "081200009901", 100_000),
        ("W-9904", "dna", "081200009904", 200_000),
        ("W-9905", "lkj", "081200009905", 300_000),
        ("W-9906", "gpy", "081200009906", 400_000),
        ("W-OK", "ovo", "081200001234", 500_000),
    ];
    for (no, code, phone, amount) in cases {
        let body = top_up_body(&s, code, phone, "Wallet Holder", no, amount, &url).await;
        send(&s, &body).await;
    }
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR, FUNDING_MINOR - 1_500_000)
    );

    // After the latency: no wallet (9901) and a refused top-up (9904) fail and are
    // released; 9905 and 9906 are taken but not answered; the plain number succeeds.
    s.advance_clock(LATENCY + 1).await;
    let ok = s.wait_status("W-OK", "2").await;
    assert_one_callback(&s, &receiver, "W-OK", &ok).await;
    let no_wallet = s.wait_status("W-9901", "4").await;
    assert_eq!(no_wallet["bank_response_code"], 76, "{no_wallet}");
    assert_one_callback(&s, &receiver, "W-9901", &no_wallet).await;
    let refused = s.wait_status("W-9904", "4").await;
    assert_eq!(refused["bank_response_code"], 61, "{refused}");
    assert_one_callback(&s, &receiver, "W-9904", &refused).await;
    for no in ["W-9905", "W-9906"] {
        let pending = s.wait_pending(no).await;
        assert_eq!(pending["trx_status_date"], "", "{pending}");
        assert!(callbacks_for(&s.client, &receiver, no).is_empty(), "{no}");
    }
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - 500_000, FUNDING_MINOR - 500_000 - 700_000)
    );
    let check = s.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");
    assert_eq!(check["holds_pending"], 2, "{check}");

    // A minute later the accepted 9906 fails and is released; 9905 still waits.
    s.advance_clock(61).await;
    let failed_later = s.wait_status("W-9906", "4").await;
    assert_one_callback(&s, &receiver, "W-9906", &failed_later).await;
    let still = s.client.status("W-9905", None).await;
    assert_eq!(still["status"], "1", "{still}");
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - 500_000, FUNDING_MINOR - 800_000)
    );

    // An hour later 9905 succeeds.
    s.advance_clock(3600).await;
    let late = s.wait_status("W-9905", "2").await;
    assert_one_callback(&s, &receiver, "W-9905", &late).await;
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - 800_000, FUNDING_MINOR - 800_000)
    );
    assert_ledger_clean(&s.api).await;
    s.stop().await;
}

async fn wallet_inquiry_name_and_refused_numbers(db: TestDatabase) {
    let s = fixture::start(db).await;
    let inquiry = |style: Style, values: Vec<(&'static str, &'static str)>| {
        let client = s.client.clone();
        async move { client.query(style, Query::InquiryName, &values).await }
    };
    for style in [Style::Php, Style::Python] {
        // No name given: the wallet's own.
        let answer = inquiry(
            style,
            vec![
                ("beneficiary_bank_code", "dna"),
                ("beneficiary_account", "081234561234"),
            ],
        )
        .await;
        assert_success(&answer);
        assert_eq!(answer["virtual_account"], VA, "{answer}");
        assert_eq!(
            answer["beneficiary_account_name"], "DANA CUSTOMER 1234",
            "{style:?}: {answer}"
        );
        assert_eq!(answer["beneficiary_account_number"], "081234561234");
        assert_eq!(answer["beneficiary_bank_code"], "dna", "{answer}");

        // A name given: upper-cased; any case of the code.
        let answer = inquiry(
            style,
            vec![
                ("beneficiary_bank_code", "DNA"),
                ("beneficiary_account", "081298765555"),
                ("beneficiary_name", "Rina Wati"),
            ],
        )
        .await;
        assert_success(&answer);
        assert_eq!(
            answer["beneficiary_account_name"], "RINA WATI",
            "{style:?}: {answer}"
        );
        assert_eq!(answer["beneficiary_account_number"], "081298765555");

        for (code, holder) in [
            ("ovo", "OVO CUSTOMER 4321"),
            ("gpy", "GOPAY CUSTOMER 4321"),
            ("lkj", "LINKAJA CUSTOMER 4321"),
        ] {
            let answer = inquiry(
                style,
                vec![
                    ("beneficiary_bank_code", code),
                    ("beneficiary_account", "0877000054321"),
                ],
            )
            .await;
            assert_success(&answer);
            assert_eq!(answer["beneficiary_account_name"], holder, "{answer}");
        }

        // No wallet behind 9901; too short a number.
        for phone in ["081200009901", "1234567"] {
            let answer = inquiry(
                style,
                vec![
                    ("beneficiary_bank_code", "dna"),
                    ("beneficiary_account", phone),
                ],
            )
            .await;
            assert_eq!(answer["status"], "9", "{phone}: {answer}");
            assert!(answer["message"].is_string(), "{answer}");
            assert!(answer.get("beneficiary_account_name").is_none(), "{answer}");
        }
    }

    // A top-up to something that is not a phone number or wallet id is refused at
    // once and holds nothing.
    let url = "https://partner.example.com/callback";
    for (no, phone) in [("BAD-1", "+6281234567890"), ("BAD-2", "0812-3456-7890")] {
        let body = top_up_body(&s, "ovo", phone, "Budi", no, 100_000, url).await;
        let answer = s.client.post(TRANSFER, &body).await;
        assert_eq!(answer["status"], "9", "{answer}");
        assert!(answer.get("trx_id").is_none(), "{answer}");
        assert_error(&s.client.status(no, None).await, "Transaction not found");
    }
    let body = top_up_body(&s, "ovo", "081234567890", "Budi", "BAD-3", 100_000, url)
        .await
        .without("beneficiary_account");
    let answer = s.client.post(TRANSFER, &body).await;
    assert_eq!(answer["status"], "9", "{answer}");
    assert_error(
        &s.client.status("BAD-3", None).await,
        "Transaction not found",
    );
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR));
    assert_ledger_clean(&s.api).await;
    s.stop().await;
}

on_both_backends!(
    wallet_top_ups_need_no_registration,
    wallet_magic_numbers,
    wallet_inquiry_name_and_refused_numbers,
);
