//! The dashboard in headless Chromium: a checker signs in with its password and
//! a TOTP code typed into the page, sees the overview and the audit log, and
//! signs out. Screenshots of each page are kept in `target/dashboard-pages/`.

use crate::chromium::{browser, driver, DESKTOP_EN, PHONE_ID};
use crate::common::*;
use crate::support::*;
use fantoccini::Locator;
use gerbang_core::user::{Role, Scope};
use std::path::PathBuf;
use std::time::Duration;

fn artefacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/dashboard-pages");
    std::fs::create_dir_all(&dir).expect("the artefact folder");
    dir
}

async fn shot(client: &fantoccini::Client, name: &str) {
    let png = client.screenshot().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "{name}");
    std::fs::write(artefacts().join(format!("{name}.png")), png).expect("saved");
}

async fn type_into(client: &fantoccini::Client, css: &str, text: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .expect("typed");
}

async fn at(client: &fantoccini::Client, path: &str) {
    eventually(path, Duration::from_secs(10), || async {
        client.current_url().await.ok().filter(|u| u.path() == path)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_checker_signs_in_with_a_totp_code_in_chromium() {
    let Some(driver) = driver().await else {
        return;
    };
    let db = gerbang_store::testing::sqlite_database();
    let gw = Gateway::start(test_config(&db)).await;
    let checker = user(&gw, "chen", Scope::Operator, Role::Checker).await;
    let secret = checker.totp.expect("a TOTP secret");
    let base = format!("http://{}", gw.addr());

    // On a phone, the sign-in page.
    let phone = browser(&driver, PHONE_ID).await;
    phone
        .goto(&format!("{base}/dashboard"))
        .await
        .expect("opens");
    at(&phone, "/dashboard/sign-in").await;
    shot(&phone, "sign-in-phone").await;
    phone.close().await.expect("closed");

    let client = browser(&driver, DESKTOP_EN).await;
    client
        .goto(&format!("{base}/dashboard"))
        .await
        .expect("opens");
    at(&client, "/dashboard/sign-in").await;
    type_into(&client, "input[name=username]", "chen").await;
    type_into(&client, "input[name=password]", PASSWORD).await;
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .expect("Sign in")
        .click()
        .await
        .expect("clicked");
    at(&client, "/dashboard/sign-in/code").await;
    shot(&client, "code").await;
    type_into(&client, "input[name=code]", &totp_at(&secret, unix_now())).await;
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .expect("Verify")
        .click()
        .await
        .expect("clicked");
    at(&client, "/dashboard").await;
    let heading = client
        .find(Locator::Css("main h1"))
        .await
        .expect("a heading")
        .text()
        .await
        .expect("its text");
    assert_eq!(heading, "Overview");
    shot(&client, "overview").await;

    client
        .find(Locator::LinkText("Audit log"))
        .await
        .expect("the audit link")
        .click()
        .await
        .expect("clicked");
    at(&client, "/dashboard/audit").await;
    let first = client
        .find(Locator::Css("tbody tr td:nth-child(4)"))
        .await
        .expect("an entry")
        .text()
        .await
        .expect("its action");
    assert_eq!(first, "sign_in");
    shot(&client, "audit").await;

    client
        .find(Locator::LinkText("Balances"))
        .await
        .expect("the balances link")
        .click()
        .await
        .expect("clicked");
    at(&client, "/dashboard/balances").await;
    shot(&client, "balances").await;
    client
        .find(Locator::LinkText("partner:9920015307"))
        .await
        .expect("the demo partner's account")
        .click()
        .await
        .expect("clicked");
    at(&client, "/dashboard/statement").await;
    let first = client
        .find(Locator::Css("tbody tr td:nth-child(3)"))
        .await
        .expect("a posting")
        .text()
        .await
        .expect("its reference");
    assert_eq!(first, "opening-balance-9920015307");
    shot(&client, "statement").await;

    // A payout waits for approval; the checker approves it with the next code.
    let d = waiting(
        &gw,
        gerbang_core::payout::Face::SendmeV1,
        DEMO_VA,
        "PAYROLL-CHROME",
    )
    .await;
    client
        .find(Locator::LinkText("Approvals"))
        .await
        .expect("the approvals link")
        .click()
        .await
        .expect("clicked");
    at(&client, "/dashboard/approvals").await;
    client
        .find(Locator::Css(&format!("input[value='{}']", d.id)))
        .await
        .expect("its checkbox")
        .click()
        .await
        .expect("ticked");
    type_into(
        &client,
        "input[name=code]",
        &totp_at(&secret, unix_now() + 30),
    )
    .await;
    shot(&client, "approvals").await;
    client
        .find(Locator::Css("button[value=approve]"))
        .await
        .expect("Approve")
        .click()
        .await
        .expect("clicked");
    let landed = eventually("the decision", Duration::from_secs(10), || async {
        client
            .current_url()
            .await
            .ok()
            .filter(|u| u.query() == Some("decided=1"))
    })
    .await;
    assert_eq!(landed.path(), "/dashboard/approvals");
    let (now, _) = gerbang_app::payout::load(&gw.app().store, &d.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.status, gerbang_core::payout::Status::Processing);

    client
        .find(Locator::LinkText("Sandbox"))
        .await
        .expect("the sandbox link")
        .click()
        .await
        .expect("clicked");
    at(&client, "/dashboard/sandbox").await;
    type_into(&client, "input[name=seconds]", "0").await;
    client
        .find(Locator::Css(
            "form[action='/dashboard/sandbox/clock'] button",
        ))
        .await
        .expect("Move it")
        .click()
        .await
        .expect("clicked");
    let said = client
        .find(Locator::Css("p[role=alert]"))
        .await
        .expect("an answer")
        .text()
        .await
        .expect("its text");
    assert_eq!(
        said, "The clock moved 36000 s forward.",
        "3600 with a 0 typed after it"
    );
    shot(&client, "sandbox").await;

    client
        .find(Locator::Css("header form button"))
        .await
        .expect("Sign out")
        .click()
        .await
        .expect("clicked");
    at(&client, "/dashboard/sign-in").await;
    // Signed out for good: the dashboard asks again.
    client
        .goto(&format!("{base}/dashboard"))
        .await
        .expect("opens");
    at(&client, "/dashboard/sign-in").await;
    client.close().await.expect("closed");
    gw.stop().await;
}
