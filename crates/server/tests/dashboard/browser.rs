//! The dashboard in headless Chromium: a checker signs in with its password and
//! a TOTP code typed into the page, sees the overview and the audit log, and
//! finds a transaction and resends its notification, and signs out. Screenshots of each page are kept in `target/dashboard-pages/`.

use crate::chromium::{browser, click, driver, shot, text_of, type_into, DESKTOP_EN, PHONE_ID};
use crate::common::*;
use crate::support::*;
use fantoccini::Locator;
use gerbang_core::user::{Role, Scope};
use std::time::Duration;

/// Where this suite's screenshots go, below `target/`.
const SHOTS: &str = "dashboard-pages";

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
    shot(&phone, SHOTS, "sign-in-phone").await;
    phone.close().await.expect("closed");

    let client = browser(&driver, DESKTOP_EN).await;
    client
        .goto(&format!("{base}/dashboard"))
        .await
        .expect("opens");
    at(&client, "/dashboard/sign-in").await;
    type_into(&client, "input[name=username]", "chen").await;
    type_into(&client, "input[name=password]", PASSWORD).await;
    click(&client, Locator::Css("button[type=submit]")).await;
    at(&client, "/dashboard/sign-in/code").await;
    shot(&client, SHOTS, "code").await;
    type_into(&client, "input[name=code]", &totp_at(&secret, unix_now())).await;
    click(&client, Locator::Css("button[type=submit]")).await;
    at(&client, "/dashboard").await;
    let heading = text_of(&client, "main h1").await;
    assert_eq!(heading, "Overview");
    shot(&client, SHOTS, "overview").await;

    click(&client, Locator::LinkText("Audit log")).await;
    at(&client, "/dashboard/audit").await;
    let first = text_of(&client, "tbody tr td:nth-child(4)").await;
    assert_eq!(first, "sign_in");
    shot(&client, SHOTS, "audit").await;

    click(&client, Locator::LinkText("Balances")).await;
    at(&client, "/dashboard/balances").await;
    shot(&client, SHOTS, "balances").await;
    click(&client, Locator::LinkText("partner:9920015307")).await;
    at(&client, "/dashboard/statement").await;
    let first = text_of(&client, "tbody tr td:nth-child(3)").await;
    assert_eq!(first, "opening-balance-9920015307");
    shot(&client, SHOTS, "statement").await;

    // A payout waits for approval; the checker approves it with the next code.
    let d = waiting(
        &gw,
        gerbang_core::payout::Face::SendmeV1,
        DEMO_VA,
        "PAYROLL-CHROME",
    )
    .await;
    click(&client, Locator::LinkText("Approvals")).await;
    at(&client, "/dashboard/approvals").await;
    click(&client, Locator::Css(&format!("input[value='{}']", d.id))).await;
    type_into(
        &client,
        "input[name=code]",
        &totp_at(&secret, unix_now() + 30),
    )
    .await;
    shot(&client, SHOTS, "approvals").await;
    click(&client, Locator::Css("button[value=approve]")).await;
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

    // A paid bill told to a receiver: found by its reference, opened, and its
    // notification resent.
    let receiver = Receiver::start(Behaviour::Body(200, r#"{"response_code":"00"}"#)).await;
    let bill_id = bill_to(&gw, "99999", "ORDER-CHROME", Some(receiver.url())).await;
    gerbang_app::payin::pay(gw.app(), &bill_id, "SIM00000000001", 5_000_000)
        .await
        .expect("paid");
    receiver.wait_for(1, Duration::from_secs(10)).await;
    click(&client, Locator::LinkText("Transactions")).await;
    at(&client, "/dashboard/transactions").await;
    type_into(&client, "input[name=reference]", "ORDER-CHROME").await;
    click(&client, Locator::Css("form.search button[type=submit]")).await;
    // The results are replaced in place (htmx) and the address follows them.
    eventually("the search's address", Duration::from_secs(10), || async {
        let url = client.current_url().await.ok()?;
        url.query()?
            .contains("reference=ORDER-CHROME")
            .then_some(())
    })
    .await;
    let found = text_of(
        &client,
        "[data-testid=transactions] tbody tr td:nth-child(4)",
    )
    .await;
    assert_eq!(found, "ORDER-CHROME");
    shot(&client, SHOTS, "transactions").await;
    click(&client, Locator::LinkText(&bill_id)).await;
    at(&client, &format!("/dashboard/transactions/bill/{bill_id}")).await;
    assert_eq!(
        text_of(&client, "[data-testid=transaction-status]").await,
        "paid"
    );
    eventually(
        "the attempt on the page",
        Duration::from_secs(10),
        || async {
            client.refresh().await.ok()?;
            let text = text_of(&client, "[data-testid=notification] tbody").await;
            text.contains("HTTP 200").then_some(())
        },
    )
    .await;
    shot(&client, SHOTS, "transaction").await;
    click(&client, Locator::Css("[data-testid=notification] button")).await;
    let said = text_of(&client, "p[role=alert]").await;
    assert!(said.contains("will be sent again"), "{said}");
    receiver.wait_for(2, Duration::from_secs(10)).await;

    click(&client, Locator::LinkText("Reports")).await;
    at(&client, "/dashboard/reports").await;
    let summary = text_of(&client, "[data-testid=report-summary]").await;
    assert!(summary.contains("Succeeded"), "{summary}");
    shot(&client, SHOTS, "reports").await;

    click(&client, Locator::LinkText("Sandbox")).await;
    at(&client, "/dashboard/sandbox").await;
    type_into(&client, "input[name=seconds]", "0").await;
    click(
        &client,
        Locator::Css("form[action='/dashboard/sandbox/clock'] button"),
    )
    .await;
    let said = text_of(&client, "p[role=alert]").await;
    assert_eq!(
        said, "The clock moved 36000 s forward.",
        "3600 with a 0 typed after it"
    );
    shot(&client, SHOTS, "sandbox").await;

    click(&client, Locator::Css("header form button")).await;
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

/// Signs `name` in with its password (and `code` when it has a second factor).
async fn sign_in(client: &fantoccini::Client, base: &str, name: &str, code: Option<String>) {
    client
        .goto(&format!("{base}/dashboard"))
        .await
        .expect("opens");
    at(client, "/dashboard/sign-in").await;
    type_into(client, "input[name=username]", name).await;
    type_into(client, "input[name=password]", PASSWORD).await;
    click(client, Locator::Css("button[type=submit]")).await;
    if let Some(code) = code {
        at(client, "/dashboard/sign-in/code").await;
        type_into(client, "input[name=code]", &code).await;
        click(client, Locator::Css("button[type=submit]")).await;
    }
    at(client, "/dashboard").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_maker_uploads_a_mass_transfer_and_a_checker_approves_it_in_chromium() {
    let Some(driver) = driver().await else {
        return;
    };
    let db = gerbang_store::testing::sqlite_database();
    let gw = Gateway::start(test_config(&db)).await;
    let partner = Scope::Partner(DEMO_VA.into());
    user(&gw, "mia", partner.clone(), Role::Maker).await;
    let checker = user(&gw, "chen", partner, Role::Checker).await;
    let base = format!("http://{}", gw.addr());
    let files = tempfile::tempdir().unwrap();
    let bad = files.path().join("payroll-bad.csv");
    std::fs::write(
        &bad,
        "reference,bank_code,account,account_name,amount\n\
         GAJI-1,014,1234567890,JOHN DOE,150000\n\
         GAJI-2,014,1234567890,@SUM(A1),1\n",
    )
    .unwrap();
    let good = files.path().join("payroll.csv");
    std::fs::write(
        &good,
        "reference,bank_code,account,account_name,amount\n\
         GAJI-1,014,1234567890,JOHN DOE,150000\n\
         GAJI-2,008,9876543210,SITI AMINAH,250000.50\n",
    )
    .unwrap();

    // The maker: a bad line first, shown with its row; then the good file.
    let client = browser(&driver, DESKTOP_EN).await;
    sign_in(&client, &base, "mia", None).await;
    click(&client, Locator::LinkText("Mass transfers")).await;
    at(&client, "/dashboard/mass-transfers").await;
    type_into(&client, "input[name=file]", bad.to_str().unwrap()).await;
    click(&client, Locator::Css("form.filters button[type=submit]")).await;
    let problem = text_of(&client, "[data-testid=line-problems] tbody tr").await;
    assert!(
        problem.starts_with('3') && problem.contains("formula"),
        "{problem}"
    );
    shot(&client, SHOTS, "mass-transfer-problems").await;
    type_into(&client, "input[name=file]", good.to_str().unwrap()).await;
    click(&client, Locator::Css("form.filters button[type=submit]")).await;
    assert_eq!(
        text_of(&client, "[data-testid=mass-status]").await,
        "submitted"
    );
    let detail = client.current_url().await.unwrap().path().to_string();
    shot(&client, SHOTS, "mass-transfer-submitted").await;
    click(&client, Locator::Css("header form button")).await;
    at(&client, "/dashboard/sign-in").await;

    // The checker approves it with a code; its lines go out and succeed.
    let secret = checker.totp.expect("a TOTP secret");
    sign_in(&client, &base, "chen", Some(totp_at(&secret, unix_now()))).await;
    client
        .goto(&format!("{base}{detail}"))
        .await
        .expect("opens");
    type_into(
        &client,
        "input[name=code]",
        &totp_at(&secret, unix_now() + 30),
    )
    .await;
    shot(&client, SHOTS, "mass-transfer-approval").await;
    click(&client, Locator::Css("button[value=approve]")).await;
    eventually("the lines sent", Duration::from_secs(20), || async {
        client.refresh().await.ok()?;
        let status = text_of(&client, "[data-testid=mass-status]").await;
        let lines = text_of(&client, "[data-testid=mass-lines] tbody").await;
        (status == "dispatched" && lines.matches("succeeded").count() == 2).then_some(())
    })
    .await;
    shot(&client, SHOTS, "mass-transfer-sent").await;
    client.close().await.expect("closed");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_merchant_sees_its_own_bills_and_settings_but_not_another_merchants_in_chromium() {
    let Some(driver) = driver().await else {
        return;
    };
    let db = gerbang_store::testing::sqlite_database();
    let gw = Gateway::start(test_config(&db)).await;
    user(&gw, "mira", Scope::Merchant("99999".into()), Role::Viewer).await;
    let own = bill(&gw, "99999", "ORDER-OWN").await;
    let other = bill(&gw, "77777", "ORDER-OTHER").await;
    let base = format!("http://{}", gw.addr());

    let client = browser(&driver, PHONE_ID).await;
    sign_in(&client, &base, "mira", None).await;
    client
        .goto(&format!("{base}/dashboard/transactions"))
        .await
        .expect("opens");
    let listed = text_of(&client, "[data-testid=transactions] tbody").await;
    assert!(
        listed.contains("ORDER-OWN") && !listed.contains("ORDER-OTHER"),
        "{listed}"
    );
    shot(&client, SHOTS, "transactions-phone").await;
    client
        .goto(&format!("{base}/dashboard/transactions/bill/{own}"))
        .await
        .expect("opens");
    assert_eq!(text_of(&client, "[data-testid=transaction-id]").await, own);
    // Another merchant's bill, by its address: not there.
    client
        .goto(&format!("{base}/dashboard/transactions/bill/{other}"))
        .await
        .expect("opens");
    assert_eq!(text_of(&client, "main h1").await, "Not found");
    let said = text_of(&client, "main p").await;
    assert_eq!(said, "There is no such transaction.");
    shot(&client, SHOTS, "another-merchants-bill").await;

    click(&client, Locator::LinkText("Settings")).await;
    at(&client, "/dashboard/settings").await;
    shot(&client, SHOTS, "settings-phone").await;
    client
        .goto(&format!("{base}/api-reference"))
        .await
        .expect("opens");
    let heading = text_of(&client, "main h1").await;
    assert!(
        heading.starts_with("gerbang sandbox and operations API"),
        "{heading}"
    );
    shot(&client, SHOTS, "api-reference").await;
    client.close().await.expect("closed");
    gw.stop().await;
}
