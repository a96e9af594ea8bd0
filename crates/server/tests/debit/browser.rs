//! The hosted checkout in a real browser: Debian's Chromium, headless, driven over
//! WebDriver by its chromedriver. A Kredivo instalment is approved by typing the
//! published test account into the page and pressing Approve; the browser lands
//! on the shop's return URL with a valid signature. A screenshot of each channel
//! family's page is kept in `target/debit-pages/` as a test artefact.
//!
//! Without chromedriver the test says so and passes; with
//! `GERBANG_REQUIRE_CHROMIUM=1` (as CI sets it) a missing browser is a failure.

use crate::chromium::{browser, click, driver, shot, type_into, PHONE_ID};
use crate::common::*;
use crate::support::*;
use fantoccini::Locator;
use std::time::Duration;

/// Where this suite's screenshots go, below `target/`.
const SHOTS: &str = "debit-pages";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kredivo_instalment_is_approved_in_chromium() {
    let Some(driver) = driver().await else {
        return;
    };
    let db = gerbang_store::testing::sqlite_database();
    let shop = Receiver::start(Behaviour::Body(
        200,
        "<html><body>Terima kasih</body></html>",
    ))
    .await;
    let gw = gateway(&db, &shop.url(), "json").await;
    // The shop's return page is the receiver too.
    let plan = gerbang_app::provision::plan(
        &format!(
            "[[merchant]]\nmerchant_id = \"{MERCHANT}\"\nreturn_url = \"{}/thanks\"\n",
            shop.url()
        ),
        std::path::Path::new("."),
    )
    .expect("a plan");
    gerbang_app::provision::apply(&*gw.app().store, gw.app().now(), plan)
        .await
        .expect("provisioned");
    tokio::time::sleep(Duration::from_millis(2100)).await; // the merchant cache's time
    let client = browser(&driver, PHONE_ID).await;

    // One page per family, photographed.
    for (name, channel, total, reserve2) in [
        ("va", "801", 15_000_000, None),
        ("retail", "707", 15_000_000, None),
        ("qris", "711", 15_000_000, None),
        ("ewallet", "819", 15_000_000, None),
        ("banking", "401", 15_000_000, None),
        ("credit", "709", 200_000_000, Some("3_months")),
    ] {
        let bill = posted(&gw, &format!("SHOT-{name}"), channel, total, reserve2).await;
        client
            .goto(bill["redirect_url"].as_str().unwrap())
            .await
            .expect("the page opens");
        let amount = client
            .find(Locator::Css("[data-testid=amount]"))
            .await
            .expect("the amount")
            .text()
            .await
            .expect("its text");
        assert!(amount.starts_with("Rp "), "{name}: {amount}");
        shot(&client, SHOTS, name).await;
    }

    // The Kredivo instalment: the instalment account approves three months.
    let kredivo = posted(&gw, "KRD-CHROME", "709", 200_000_000, Some("3_months")).await;
    client
        .goto(kredivo["redirect_url"].as_str().unwrap())
        .await
        .expect("the page opens");
    let selected = client
        .find(Locator::Css("#plan option[selected]"))
        .await
        .expect("a chosen plan")
        .attr("value")
        .await
        .expect("its value");
    assert_eq!(selected.as_deref(), Some("3_months"));
    for (field, value) in [
        ("#phone", "081291891818"),
        ("#pin", "414141"),
        ("#otp", "4567"),
    ] {
        type_into(&client, field, value).await;
    }
    click(&client, Locator::Css("button[value=approve]")).await;
    let landed = eventually("the return URL", Duration::from_secs(15), || async {
        client
            .current_url()
            .await
            .ok()
            .filter(|u| u.path() == "/notify/thanks")
    })
    .await;
    let query: std::collections::HashMap<String, String> = landed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(query["bill_no"], "KRD-CHROME");
    assert_eq!(query["status"], "2");
    assert_eq!(query["signature"], sign(&["KRD-CHROME", "2"]));
    shot(&client, SHOTS, "return").await;
    client.close().await.expect("closed");
    let check = gw.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");
    gw.stop().await;
}
