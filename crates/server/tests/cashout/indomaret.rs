//! Indomaret (`imr`, matched in any case — the Faspay documents write `Imr` too):
//! its amount rules (Rp 100.000 to 10.000.000 in multiples of Rp 50.000), an
//! optional `trx_desc`, and codes claimed at `/h2h/v1/indomaret/…`.

use crate::client::*;
use crate::common::*;
use crate::fixture::{self, FUNDING_MINOR};
use crate::h2h::{assert_code, H2h};
use crate::support::*;

async fn indomaret_codes_in_any_case(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let url = receiver.url();
    let indomaret = H2h::sandbox(&s.api, "indomaret");
    let alfamart = H2h::sandbox(&s.api, "alfamart");

    // Below Indomaret's minimum (Alfamart would take it), or not a multiple.
    for amount in [5_000_000, 12_500_000] {
        let body = store_body(&s, "imr", "IMR-AMT", amount, &url).await;
        let answer = s.client.post(TRANSFER, &body).await;
        assert_error(&answer, "Invalid Request body");
    }
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR));

    // `imr`, Rp 150.000.
    let lower = issue(
        &s,
        &store_body(&s, "imr", "IMR-11001", 15_000_000, &url).await,
    )
    .await;
    // `Imr` as the Faspay sample writes it, with no trx_desc at all.
    let capital = issue(
        &s,
        &store_body(&s, "Imr", "IMR-11002", RP_100K, &url)
            .await
            .without("trx_desc"),
    )
    .await;
    assert_eq!(capital.answer["trx_desc"], "", "{}", capital.answer);
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR, FUNDING_MINOR - 15_000_000 - RP_100K)
    );

    // Both are Indomaret codes: not Alfamart's.
    for issued in [&lower, &capital] {
        assert_code(
            &alfamart
                .inquiry(&format!("{}-ALF", issued.trx_no), &issued.code, PHONE)
                .await,
            "14",
        );
        let inquiry = indomaret
            .inquiry(&format!("{}-INQ", issued.trx_no), &issued.code, PHONE)
            .await;
        assert_code(&inquiry, "00");
        assert_eq!(inquiry["amount"], issued.rupiah(), "{inquiry}");
        let paid = indomaret
            .payment(
                &format!("{}-PAY", issued.trx_no),
                &issued.code,
                PHONE,
                issued.rupiah(),
            )
            .await;
        assert_code(&paid, "00");
        assert_code(
            &indomaret.advice(&format!("{}-PAY", issued.trx_no)).await,
            "00",
        );
        let callback = wait_callback(&s, &receiver, &issued.trx_no, "2").await;
        assert_callback(&callback, issued, "2", "imr");
        s.wait_status(&issued.trx_no, "2").await;
    }

    let spent = 15_000_000 + RP_100K;
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - spent, FUNDING_MINOR - spent)
    );
    let (lines, balance) = statement(&s.api, &clearing("imr")).await;
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(balance, "250000.00");
    assert_ledger(&s.api, 0).await;
    s.stop().await;
}

on_both_backends!(indomaret_codes_in_any_case);
