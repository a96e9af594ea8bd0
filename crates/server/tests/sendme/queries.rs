//! The query services in the three SDKs' call styles: `balance_inquiry`,
//! `inquiry_name` and `mutasi`.

use crate::client::*;
use crate::common::*;
use crate::fixture::{self, minor, rupiah, FUNDING_MINOR, VA};

#[track_caller]
fn assert_rupiah(answer: &serde_json::Value, field: &str) -> i64 {
    let text = answer[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string: {answer}"));
    minor(text)
}

async fn balance_inquiry_in_every_style(db: TestDatabase) {
    let s = fixture::start(db).await;
    s.topup(VA, "0.55", "FUND-2").await.expect(200);
    let expected = FUNDING_MINOR + 55;
    for style in STYLES {
        let answer = s.client.query(style, Query::Balance, &[]).await;
        assert_success(&answer);
        assert_eq!(answer["virtual_account"], VA, "{style:?}: {answer}");
        assert_eq!(answer["balance"], rupiah(expected), "{style:?}: {answer}");
        assert_eq!(assert_rupiah(&answer, "available_balance"), expected);

        // Someone else's virtual account, with this partner's credentials.
        let answer = s
            .client
            .query_for(style, Query::Balance, fixture::OTHER_VA, &[])
            .await;
        assert_error(&answer, "Invalid Virtual Account");
    }
    // The doc's form: the signature names the relative URL with its values and
    // the verb used.
    let ts = s.client.timestamp().await;
    let token = s
        .client
        .token(Style::Java, &ts, Query::Balance.path(), None)
        .await;
    let url = format!("{}/{VA}", Query::Balance.path());
    let request =
        s.client
            .service_request(reqwest::Method::GET, &url, "GET", &url, &ts, &token, None);
    let answer = s.client.exchange(&request).await;
    assert_success(&answer);
    assert_eq!(answer["balance"], rupiah(expected));
    // The documented upper-case `API`, signed with the bare lower-case path.
    let upper = format!("/account/API/balance_inquiry/{VA}");
    let request = s.client.service_request(
        reqwest::Method::GET,
        &upper,
        "GET",
        Query::Balance.path(),
        &ts,
        &token,
        None,
    );
    let answer = s.client.exchange(&request).await;
    assert_success(&answer);
    assert_eq!(answer["virtual_account"], VA);
    // The other partner sees its own (empty) balance.
    let answer = s.other.query(Style::Php, Query::Balance, &[]).await;
    assert_success(&answer);
    assert_eq!(answer["virtual_account"], fixture::OTHER_VA);
    assert_eq!(answer["balance"], "0.00");
    assert_eq!(answer["available_balance"], "0.00");
    s.stop().await;
}

async fn inquiry_name_in_every_style(db: TestDatabase) {
    let s = fixture::start(db).await;
    let b = s.beneficiary("8720011234", "Andi Pratama").await;
    for style in STYLES {
        let answer = s
            .client
            .query(
                style,
                Query::InquiryName,
                &[("beneficiary_virtual_account", &b.virtual_account)],
            )
            .await;
        assert_success(&answer);
        assert_eq!(answer["virtual_account"], VA, "{style:?}: {answer}");
        assert_eq!(
            answer["beneficiary_virtual_account"], b.virtual_account,
            "{style:?}: {answer}"
        );
        assert_eq!(answer["beneficiary_account_number"], "8720011234");
        assert_eq!(answer["beneficiary_account_name"], "ANDI PRATAMA");

        let answer = s
            .client
            .query(
                style,
                Query::InquiryName,
                &[("beneficiary_virtual_account", "9920019999")],
            )
            .await;
        assert_error(&answer, "Beneficiary Virtual Account Invalid");
        let answer = s
            .client
            .query_for(
                style,
                Query::InquiryName,
                fixture::OTHER_VA,
                &[("beneficiary_virtual_account", &b.virtual_account)],
            )
            .await;
        assert_error(&answer, "Invalid Virtual Account");
    }
    s.stop().await;
}

async fn mutasi_in_every_style(db: TestDatabase) {
    let s = fixture::start(db).await;
    s.topup(VA, "250.00", "FUND-2").await.expect(200);
    let today = jakarta_date(gateway_now(&s.api).await);
    for style in STYLES {
        let answer = s
            .client
            .query(
                style,
                Query::Mutasi,
                &[("start_date", &today), ("end_date", &today)],
            )
            .await;
        assert_success(&answer);
        assert_eq!(answer["virtual_account"], VA, "{style:?}: {answer}");
        assert_eq!(answer["start_date"], today.as_str());
        assert_eq!(answer["end_date"], today.as_str());
        let data = answer["data"].as_array().expect("data");
        let amounts: Vec<(&str, &str, &str)> = data
            .iter()
            .map(|l| {
                (
                    l["transaction_type"].as_str().unwrap(),
                    l["transaction_amount"].as_str().unwrap(),
                    l["transaction_name"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            amounts,
            vec![
                ("K", rupiah(FUNDING_MINOR).as_str(), "topup"),
                ("K", "250.00", "topup")
            ],
            "{style:?}: {answer}"
        );
    }
    // Malformed dates are an error, not an empty statement.
    let answer = s
        .client
        .query(
            Style::Java,
            Query::Mutasi,
            &[("start_date", "01-02-2019"), ("end_date", &today)],
        )
        .await;
    assert_eq!(answer["status"], "9", "{answer}");
    // The last day of the calendar is a day like any other.
    let answer = s
        .client
        .query(
            Style::Java,
            Query::Mutasi,
            &[("start_date", "9999-12-01"), ("end_date", "9999-12-31")],
        )
        .await;
    assert_success(&answer);
    assert_eq!(answer["data"], serde_json::json!([]), "{answer}");
    s.stop().await;
}

on_both_backends!(
    balance_inquiry_in_every_style,
    inquiry_name_in_every_style,
    mutasi_in_every_style,
);
