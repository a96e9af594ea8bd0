//! Sandbox controls over HTTP: a bill paid and one failed, a cash-out code
//! asked for at the counter, a bank's next answer forced, the clock moved; each
//! audited; scopes and roles respected; nothing of it in production mode.

use crate::common::*;
use crate::support::*;
use gerbang_app::payin;
use gerbang_core::payin::BillStatus;
use gerbang_core::user::{Role, Scope};

on_both_backends!(the_sandbox_is_driven_from_the_dashboard);

async fn act(b: &mut Browser, path: &str, fields: &[(&str, &str)]) -> Page {
    let csrf = b.get("/dashboard/sandbox").await.hidden("csrf");
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    b.post(path, &all).await
}

async fn the_sandbox_is_driven_from_the_dashboard(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    let ops = user(&gw, "omar", Scope::Operator, Role::Maker).await;
    let shop = user(&gw, "mira", Scope::Merchant("99999".into()), Role::Maker).await;
    let viewer = user(&gw, "vera", Scope::Operator, Role::Viewer).await;
    let own = bill(&gw, "99999", "ORDER-1").await;
    let second = bill(&gw, "99999", "ORDER-2").await;

    // The merchant's maker pays its own bill; the operator fails another.
    let mut m = Browser::signed_in(&gw, &shop).await;
    let paid = act(
        &mut m,
        "/dashboard/sandbox/bill",
        &[("trx_id", &own), ("action", "pay")],
    )
    .await;
    assert_eq!(paid.status, 200, "{}", paid.body);
    assert!(paid.body.contains("is now paid"), "{}", paid.body);
    assert_eq!(
        payin::load(&gw.app().store, &own)
            .await
            .unwrap()
            .unwrap()
            .0
            .status,
        BillStatus::Paid
    );
    let twice = act(
        &mut m,
        "/dashboard/sandbox/bill",
        &[("trx_id", &own), ("action", "pay")],
    )
    .await;
    assert_eq!(twice.status, 409);
    // The merchant does not move the clock, nor name a bill that is not there.
    let clock = act(&mut m, "/dashboard/sandbox/clock", &[("seconds", "60")]).await;
    assert_eq!(clock.status, 403);
    let none = act(
        &mut m,
        "/dashboard/sandbox/bill",
        &[("trx_id", "nothing"), ("action", "pay")],
    )
    .await;
    assert_eq!(none.status, 404);

    let mut o = Browser::signed_in(&gw, &ops).await;
    let failed = act(
        &mut o,
        "/dashboard/sandbox/bill",
        &[("trx_id", &second), ("action", "fail")],
    )
    .await;
    assert_eq!(failed.status, 200, "{}", failed.body);
    assert_ne!(
        payin::load(&gw.app().store, &second)
            .await
            .unwrap()
            .unwrap()
            .0
            .status,
        BillStatus::Pending
    );

    // The clock: bad input, then an hour.
    for bad in ["", "-5", "ten", "99999999999"] {
        assert_eq!(
            act(&mut o, "/dashboard/sandbox/clock", &[("seconds", bad)])
                .await
                .status,
            400,
            "{bad:?}"
        );
    }
    let before = gw.app().clock.offset_seconds();
    let moved = act(&mut o, "/dashboard/sandbox/clock", &[("seconds", "3600")]).await;
    assert_eq!(moved.status, 200);
    assert_eq!(gw.app().clock.offset_seconds() - before, 3600);

    // A bank's next answer, and a code no payout has at the counter.
    let forced = act(
        &mut o,
        "/dashboard/sandbox/bank",
        &[
            ("bank_code", "014"),
            ("account", "1234567890"),
            ("outcome", "reject"),
        ],
    )
    .await;
    assert_eq!(forced.status, 200, "{}", forced.body);
    let wrong = act(
        &mut o,
        "/dashboard/sandbox/bank",
        &[("bank_code", "014"), ("account", "1"), ("outcome", "maybe")],
    )
    .await;
    assert_eq!(wrong.status, 400);
    let counter = act(
        &mut o,
        "/dashboard/sandbox/code",
        &[
            ("network", "alfamart"),
            ("code", "000011112222"),
            ("phone", "081234567890"),
        ],
    )
    .await;
    assert_eq!(counter.status, 200, "{}", counter.body);
    assert!(counter.body.contains("refused"), "{}", counter.body);

    // A viewer acts on nothing; a forged form changes nothing.
    let mut v = Browser::signed_in(&gw, &viewer).await;
    assert_eq!(
        act(&mut v, "/dashboard/sandbox/clock", &[("seconds", "60")])
            .await
            .status,
        403
    );
    let forged = o
        .post(
            "/dashboard/sandbox/clock",
            &[("csrf", "guess"), ("seconds", "60")],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(gw.app().clock.offset_seconds() - before, 3600);

    let actions: Vec<String> = audit_rows(&mut o)
        .await
        .into_iter()
        .map(|r| r.1)
        .filter(|a| a.starts_with("sandbox_"))
        .collect();
    assert_eq!(
        actions,
        [
            "sandbox_code_claimed",
            "sandbox_bank_outcome",
            "sandbox_clock_advanced",
            "sandbox_bill_failed",
            "sandbox_bill_paid"
        ]
    );
    let check = gw.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");
    gw.stop().await;

    // In production there is no sandbox page.
    let db2 = gerbang_store::testing::sqlite_database();
    let mut config = test_config(&db2);
    config.mode = gerbang_app::config::Mode::Production;
    let prod = Gateway::start(config).await;
    let ops = user(&prod, "omar", Scope::Operator, Role::Admin).await;
    let mut p = Browser::signed_in(&prod, &ops).await;
    let home = p.get("/dashboard").await;
    assert!(!home.body.contains("/dashboard/sandbox"));
    assert_eq!(p.get("/dashboard/sandbox").await.status, 404);
    prod.stop().await;
}
