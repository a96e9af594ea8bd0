//! `register` and `register/confirm`: beneficiaries and their virtual accounts.

use crate::client::*;
use crate::common::*;
use crate::fixture::{self, confirm_body, register_body, VA};
use serde_json::Value;

/// The register fields every register and confirm answer echoes.
const ECHOED: [&str; 9] = [
    "virtual_account",
    "beneficiary_account",
    "beneficiary_account_name",
    "beneficiary_va_name",
    "beneficiary_bank_code",
    "beneficiary_bank_branch",
    "beneficiary_region_code",
    "beneficiary_country_code",
    "beneficiary_purpose_code",
];

#[track_caller]
fn assert_echoes(answer: &Value, body: &Body) {
    for field in ECHOED {
        assert_eq!(
            answer[field],
            body.get(field).unwrap().clone(),
            "{field}: {answer}"
        );
    }
}

#[track_caller]
fn beneficiary_va(answer: &Value) -> String {
    let va = answer["beneficiary_virtual_account"]
        .as_str()
        .unwrap_or_else(|| panic!("no beneficiary_virtual_account: {answer}"));
    assert!(
        !va.is_empty() && va.bytes().all(|b| b.is_ascii_digit()),
        "{answer}"
    );
    va.to_string()
}

async fn register_then_confirm_creates_a_beneficiary(db: TestDatabase) {
    let s = fixture::start(db).await;
    let body = register_body(VA, "1020006137993", "Faspay Collection 1", "008")
        // Fields integrators add and the gateway does not know: ignored.
        .with("beneficiary_phone", "081234567890")
        .with("beneficiary_email", "ops@example.com")
        .with("x_internal_ref", "abc");
    let registered = s
        .client
        .post_as(Style::Php, REGISTER, REGISTER, &body)
        .await;
    assert_eq!(registered["status"], "1", "{registered}");
    assert_eq!(registered["response_code"], "00", "{registered}");
    assert!(registered["message"].is_string(), "{registered}");
    assert_echoes(&registered, &body);
    assert_eq!(registered["beneficiary_bank_name"], "BANK MANDIRI");
    assert_eq!(registered["bank_account_number"], "1020006137993");
    assert_eq!(registered["bank_account_name"], "FASPAY COLLECTION 1");
    assert!(
        registered.get("beneficiary_virtual_account").is_none(),
        "not confirmed yet: {registered}"
    );

    // Confirming with a name the bank did not answer is refused and creates nothing.
    let wrong = confirm_body(&registered).with("bank_account_name", "SOMEONE ELSE");
    let refused = s.client.post(CONFIRM, &wrong).await;
    assert_eq!(refused["status"], "9", "{refused}");
    assert!(
        refused.get("beneficiary_virtual_account").is_none(),
        "{refused}"
    );
    // So is a confirm without `confirm: 2`.
    let refused = s
        .client
        .post(CONFIRM, &confirm_body(&registered).without("confirm"))
        .await;
    assert_eq!(refused["status"], "9", "{refused}");

    // Integrators also send the bank name and contact fields with the confirm.
    let confirm = confirm_body(&registered)
        .with("beneficiary_bank_name", "BANK MANDIRI")
        .with("beneficiary_phone", "081234567890");
    let confirmed = s
        .client
        .post_as(Style::Java, CONFIRM, CONFIRM, &confirm)
        .await;
    assert_eq!(confirmed["status"], "2", "{confirmed}");
    assert_eq!(confirmed["response_code"], "00", "{confirmed}");
    assert_echoes(&confirmed, &body);
    assert_eq!(confirmed["beneficiary_bank_name"], "BANK MANDIRI");
    assert_eq!(confirmed["bank_account_name"], "FASPAY COLLECTION 1");
    let first = beneficiary_va(&confirmed);

    // Registering or confirming again: already registered, the same beneficiary.
    let again = s.client.post(REGISTER, &body).await;
    assert_eq!(again["status"], "6", "{again}");
    assert_eq!(beneficiary_va(&again), first);
    let again = s.client.post(CONFIRM, &confirm).await;
    assert_eq!(again["status"], "6", "{again}");
    assert_eq!(beneficiary_va(&again), first);

    // The Python 1.1 path `/account/api/confirm`, signed as that SDK signs it.
    let second_body = register_body(VA, "10000006", "PT. Florist Lentera Abadi", "014");
    let registered = s.client.post(REGISTER, &second_body).await;
    assert_eq!(registered["status"], "1", "{registered}");
    assert_eq!(registered["bank_account_name"], "PT. FLORIST LENTERA ABADI");
    assert_eq!(registered["beneficiary_bank_name"], "BANK BCA");
    let alias = "/account/api/confirm";
    let confirmed = s
        .client
        .post_as(Style::Python, alias, alias, &confirm_body(&registered))
        .await;
    assert_eq!(confirmed["status"], "2", "{confirmed}");
    let second = beneficiary_va(&confirmed);

    // The documented upper-case `API`, signed as written.
    let third_body = register_body(VA, "7001234567", "Siti Rahmawati", "002");
    let upper_register = "/account/API/register";
    let registered = s
        .client
        .post_as(Style::Php, upper_register, upper_register, &third_body)
        .await;
    assert_eq!(registered["status"], "1", "{registered}");
    assert_eq!(registered["beneficiary_bank_name"], "BANK BRI");
    let upper_confirm = "/account/API/register/confirm";
    let confirmed = s
        .client
        .post_as(
            Style::Java,
            upper_confirm,
            upper_confirm,
            &confirm_body(&registered),
        )
        .await;
    assert_eq!(confirmed["status"], "2", "{confirmed}");
    let third = beneficiary_va(&confirmed);

    let all: std::collections::HashSet<&String> = [&first, &second, &third].into_iter().collect();
    assert_eq!(all.len(), 3, "beneficiary VAs must differ: {all:?}");
    for (va, account, name) in [
        (&first, "1020006137993", "FASPAY COLLECTION 1"),
        (&second, "10000006", "PT. FLORIST LENTERA ABADI"),
        (&third, "7001234567", "SITI RAHMAWATI"),
    ] {
        let answer = s
            .client
            .query(
                Style::Java,
                Query::InquiryName,
                &[("beneficiary_virtual_account", va)],
            )
            .await;
        assert_success(&answer);
        assert_eq!(answer["beneficiary_account_number"], account, "{answer}");
        assert_eq!(answer["beneficiary_account_name"], name, "{answer}");
    }

    // Another partner registering the same account starts afresh, and cannot see
    // this partner's beneficiaries.
    let theirs = s
        .other
        .post(
            REGISTER,
            &body.clone().with("virtual_account", fixture::OTHER_VA),
        )
        .await;
    assert_eq!(theirs["status"], "1", "{theirs}");
    let answer = s
        .other
        .query(
            Style::Java,
            Query::InquiryName,
            &[("beneficiary_virtual_account", &first)],
        )
        .await;
    assert_error(&answer, "Beneficiary Virtual Account Invalid");
    s.stop().await;
}

async fn register_refuses_what_it_cannot_register(db: TestDatabase) {
    let s = fixture::start(db).await;
    // Confirming an account that was never registered.
    let never = register_body(VA, "5550001111", "Nobody", "014")
        .with("bank_account_number", "5550001111")
        .with("bank_account_name", "NOBODY")
        .with("confirm", "2");
    let answer = s.client.post(CONFIRM, &never).await;
    assert_eq!(answer["status"], "9", "{answer}");
    assert!(
        answer.get("beneficiary_virtual_account").is_none(),
        "{answer}"
    );
    // Another partner's virtual account in the body.
    let answer = s
        .client
        .post(
            REGISTER,
            &register_body(fixture::OTHER_VA, "5550001111", "Nobody", "014"),
        )
        .await;
    assert_error(&answer, "Invalid Virtual Account");
    // A bank code nobody knows, a missing field.
    let answer = s
        .client
        .post(REGISTER, &register_body(VA, "5550001111", "Nobody", "999"))
        .await;
    assert_eq!(answer["status"], "9", "{answer}");
    let answer = s
        .client
        .post(
            REGISTER,
            &register_body(VA, "5550001111", "Nobody", "014").without("beneficiary_account_name"),
        )
        .await;
    assert_eq!(answer["status"], "9", "{answer}");
    s.stop().await;
}

async fn magic_accounts_fail_registration(db: TestDatabase) {
    let s = fixture::start(db).await;
    for (account, why) in [
        ("1234569901", "account not found"),
        ("1234569902", "account closed"),
        ("1234569903", "bank inquiry timeout"),
    ] {
        let body = register_body(VA, account, "Rina Wijaya", "014");
        let answer = s.client.post(REGISTER, &body).await;
        assert_eq!(answer["status"], "4", "{why}: {answer}");
        assert!(
            answer["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{why}: {answer}"
        );
        assert!(answer["response_code"].is_string(), "{why}: {answer}");
        assert!(answer["response_desc"].is_string(), "{why}: {answer}");
        assert!(
            answer.get("beneficiary_virtual_account").is_none(),
            "{answer}"
        );
        // Nothing was registered: a confirm is refused.
        let confirm = body
            .with("bank_account_number", account)
            .with("bank_account_name", "RINA WIJAYA")
            .with("confirm", "2");
        let answer = s.client.post(CONFIRM, &confirm).await;
        assert_eq!(answer["status"], "9", "{why}: {answer}");
        assert!(
            answer.get("beneficiary_virtual_account").is_none(),
            "{answer}"
        );
    }
    // The same name at an ordinary account registers.
    let answer = s
        .client
        .post(
            REGISTER,
            &register_body(VA, "1234569900", "Rina Wijaya", "014"),
        )
        .await;
    assert_eq!(answer["status"], "1", "{answer}");
    s.stop().await;
}

on_both_backends!(
    register_then_confirm_creates_a_beneficiary,
    register_refuses_what_it_cannot_register,
    magic_accounts_fail_registration,
);
