//! Reports over HTTP: per day and channel, how many transactions, how many
//! succeeded and what they moved, as each scope sees them; the SVG charts and
//! the CSV download carry the same figures; a bad range is refused.

use crate::common::*;
use crate::support::*;
use gerbang_core::payout::Face;
use gerbang_core::user::{Role, Scope};

on_both_backends!(reports_count_per_day_and_channel);

async fn reports_count_per_day_and_channel(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    let ops = user(&gw, "olga", Scope::Operator, Role::Viewer).await;
    let shop = user(&gw, "mira", Scope::Merchant("99999".into()), Role::Viewer).await;
    let paid = bill(&gw, "99999", "ORDER-1").await;
    bill(&gw, "99999", "ORDER-2").await;
    bill(&gw, "99999", "ORDER-3").await;
    gerbang_app::payin::pay(gw.app(), &paid, "SIM00000000001", 5_000_000)
        .await
        .expect("paid");
    waiting(&gw, Face::SendmeV1, DEMO_VA, "PAY-1").await;

    let mut o = Browser::signed_in(&gw, &ops).await;
    let page = o.get("/dashboard/reports").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let (_, table) = page.body.split_once("data-testid=\"report\"").unwrap();
    // The bills on channel 801: 3, of which 1 succeeded (Rp 50.000); the payout on 014: waiting.
    assert!(
        table.contains("<td>bill</td><td>801</td><td class=\"num\">3</td><td class=\"num\">1</td><td class=\"num\">33.3%</td><td class=\"num\">Rp 50.000</td>"),
        "{table}"
    );
    assert!(
        table.contains(
            "<td>payout</td><td>014</td><td class=\"num\">1</td><td class=\"num\">0</td>"
        ),
        "{table}"
    );
    let query = page
        .body
        .split_once("/dashboard/reports.csv?")
        .unwrap()
        .1
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let csv = String::from_utf8(
        o.get_bytes(&format!("/dashboard/reports.csv?{query}"))
            .await,
    )
    .unwrap();
    assert!(
        csv.starts_with("day,kind,channel,transactions,succeeded,success_rate,succeeded_amount\n"),
        "{csv}"
    );
    assert!(csv.contains(",bill,801,3,1,0.3333,50000.00\n"), "{csv}");
    let audit = audit_rows(&mut o).await;
    assert!(
        audit
            .iter()
            .any(|(who, action, _)| who == "olga" && action == "report_download"),
        "{audit:?}"
    );
    for chart in ["volume", "success"] {
        let page = o
            .get(&format!("/dashboard/reports/{chart}.svg?{query}"))
            .await;
        assert_eq!(page.status, 200, "{chart}");
        assert_eq!(
            page.headers["content-type"].to_str().unwrap(),
            "image/svg+xml; charset=utf-8"
        );
        assert!(
            page.body.starts_with("<svg"),
            "{chart}: {}",
            &page.body[..80.min(page.body.len())]
        );
        assert!(page.body.contains("bill 801"), "{chart}");
        assert!(!page.body.contains("<script"), "{chart}");
    }

    // The merchant's report holds its bills only.
    let mut m = Browser::signed_in(&gw, &shop).await;
    let page = m.get("/dashboard/reports?kind=").await;
    let (_, table) = page.body.split_once("data-testid=\"report\"").unwrap();
    assert!(table.contains("<td>801</td>"), "{table}");
    assert!(!table.contains("<td>payout</td>"), "{table}");
    let page = m.get("/dashboard/reports?kind=payout").await;
    assert!(
        page.body.contains("No transaction in this range."),
        "{}",
        page.body
    );

    for q in [
        "from=2026-13-01",
        "kind=loan",
        "from=2025-01-01&to=2026-12-01",
    ] {
        let page = o.get(&format!("/dashboard/reports?{q}")).await;
        assert_eq!(page.status, 400, "{q}");
    }
}
