//! Expiry: at `trx_expired` an unclaimed code dies — the hold is released, the
//! partner is called back with status 4, and every network refuses the code
//! (its own with 54, the others with 14). The sandbox clock is moved, never
//! waited for.

use crate::common::*;
use crate::fixture::{self, FUNDING_MINOR};
use crate::h2h::{assert_code, H2h};
use crate::support::*;

async fn an_unclaimed_code_expires(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let url = receiver.url();
    let alfamart = H2h::sandbox(&s.api, "alfamart");
    let indomaret = H2h::sandbox(&s.api, "indomaret");

    // One code with the default life (24 h), one that expires in two hours.
    let daily = issue_alfamart(&s, "ALF-7001", RP_100K, &url).await;
    let trx_expired = s.jakarta_in(2 * 3600).await;
    let body = store_body(&s, "alf", "ALF-7002", 5_000_000, &url)
        .await
        .with("trx_expired", trx_expired.as_str());
    let short = issue(&s, &body).await;
    assert_eq!(short.answer["trx_expired"], trx_expired, "{}", short.answer);
    let held = RP_100K + 5_000_000;
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR - held));

    // Two hours and a minute later the short one has expired, the other not.
    s.advance_clock(2 * 3600 + 60).await;
    let status = s.wait_status("ALF-7002", "4").await;
    assert_eq!(status["response_code"], "00", "{status}");
    let callback = wait_callback(&s, &receiver, "ALF-7002", "4").await;
    assert_callback(&callback, &short, "4", "alf");
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR - RP_100K));
    assert_code(
        &alfamart.inquiry("ALF-7002-INQ", &short.code, PHONE).await,
        "54",
    );
    assert_code(
        &alfamart.inquiry("ALF-7001-INQ", &daily.code, PHONE).await,
        "00",
    );
    assert_on_process(&s.client.status("ALF-7001", None).await);

    // Past the default day, the other one expires too.
    s.advance_clock(22 * 3600).await;
    let status = s.wait_status("ALF-7001", "4").await;
    assert_eq!(status["response_code"], "00", "{status}");
    let callback = wait_callback(&s, &receiver, "ALF-7001", "4").await;
    assert_callback(&callback, &daily, "4", "alf");
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR));

    // Its own network: expired (54), for inquiry and payment alike.
    assert_code(
        &alfamart.inquiry("ALF-7001-INQ2", &daily.code, PHONE).await,
        "54",
    );
    assert_code(
        &alfamart
            .payment("ALF-7001-PAY", &daily.code, PHONE, 100_000)
            .await,
        "54",
    );
    // Another network: not its code (14).
    assert_code(
        &indomaret.inquiry("IMR-7001-INQ", &daily.code, PHONE).await,
        "14",
    );
    assert_code(
        &indomaret
            .payment("IMR-7001-PAY", &daily.code, PHONE, 100_000)
            .await,
        "14",
    );

    // Nothing moved; one callback each.
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR));
    assert_eq!(notified_statuses(&s.api, &daily.trx_id).await, ["4"]);
    assert_eq!(notified_statuses(&s.api, &short.trx_id).await, ["4"]);
    assert_ledger(&s.api, 0).await;
    s.stop().await;
}

on_both_backends!(an_unclaimed_code_expires);
