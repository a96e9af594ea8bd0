//! Account inquiry against the bank simulator's magic accounts, and the reads'
//! refusals.

use crate::common::*;
use crate::fixture::{self, VA};
use serde_json::json;

on_both_backends!(account_inquiry_asks_the_bank);

async fn account_inquiry_asks_the_bank(db: TestDatabase) {
    let s = fixture::start(db).await;
    let ask = |bank: &str, account: &str| {
        json!({
            "beneficiaryBankCode": bank,
            "beneficiaryAccountNo": account,
            "partnerReferenceNo": "INQ-1",
            "additionalInfo": {"sourceAccount": VA}
        })
    };
    let reply = s
        .faspay
        .call("/account-inquiry-external", &ask("002", "888801000157508"))
        .await;
    let answer = reply.expect("2001600");
    assert_eq!(answer["beneficiaryAccountName"], "ACCOUNT HOLDER 7508");
    assert_eq!(answer["beneficiaryBankName"], "BANK BRI");
    assert_eq!(answer["partnerReferenceNo"], "INQ-1");
    assert_eq!(answer["currency"], "IDR");
    for (bank, account, code, message) in [
        (
            "002",
            "1234569901",
            "4041611",
            "Invalid Card/Account/Customer [beneficiaryAccountNo]",
        ),
        (
            "002",
            "1234569902",
            "4031618",
            "Inactive Card/Account/Customer",
        ),
        ("002", "1234569903", "5041600", "Timeout"),
        (
            "999",
            "1234567890",
            "4041603",
            "Bank Not Supported By Switch",
        ),
    ] {
        let reply = s
            .faspay
            .call("/account-inquiry-external", &ask(bank, account))
            .await;
        reply.expect(code);
        assert_eq!(reply.message(), message);
    }
    // Another partner's source account is not this one's to name.
    let mut foreign = ask("002", "888801000157508");
    foreign["additionalInfo"]["sourceAccount"] = "9920000001".into();
    let reply = s.faspay.call("/account-inquiry-external", &foreign).await;
    reply.expect("4041611");
    assert_eq!(
        reply.message(),
        "Invalid Card/Account/Customer [additionalInfo.sourceAccount]"
    );
    // Faspay's account inquiry names the source account (spec §7.1.1).
    let mut unnamed = ask("002", "888801000157508");
    unnamed["additionalInfo"] = json!({});
    let reply = s.faspay.call("/account-inquiry-external", &unnamed).await;
    reply.expect("4001602");
    assert_eq!(
        reply.message(),
        "Invalid Mandatory Field [additionalInfo.sourceAccount]"
    );
    s.faspay
        .call("/balance-inquiry", &json!({"accountNo": "9920000001"}))
        .await
        .expect("4041111");
    let now = crate::client::gateway_now(&s.api).await;
    let long = json!({
        "fromDateTime": crate::client::jakarta(now - time::Duration::days(100)),
        "toDateTime": crate::client::jakarta(now),
        "additionalInfo": {"accountNo": VA}
    });
    let reply = s.faspay.call("/transaction-history-list", &long).await;
    reply.expect("4001201");
    assert_eq!(reply.message(), "Invalid Field Format [fromDateTime]");
    s.stop().await;
}
