//! Balances and statements over HTTP: what each scope sees, another scope's
//! account by URL, date ranges, paging, and the CSV and XLSX downloads (a
//! description that a spreadsheet would run as a formula stays text).

use crate::common::*;
use crate::support::*;
use gerbang_core::ledger::{LedgerOp, NewEntry, Posting};
use gerbang_core::user::{Role, Scope};
use gerbang_core::Currency;
use gerbang_store::Step;

on_both_backends!(
    each_scope_sees_its_own_balances,
    a_statement_pages_and_downloads,
);

const PARTNER_ACCOUNT: &str = "partner:9920015307";

/// Moves `minor` from the operator's funding to the demo partner, described so.
async fn top_up(gw: &Gateway, reference: &str, description: &str, minor: i64) {
    gw.app()
        .commit(Step {
            ledger: vec![LedgerOp::Transfer(NewEntry {
                kind: "topup".into(),
                reference: reference.into(),
                description: description.into(),
                currency: Currency::Idr,
                postings: vec![
                    Posting {
                        account: "operator:funding".into(),
                        amount: -minor,
                    },
                    Posting {
                        account: PARTNER_ACCOUNT.into(),
                        amount: minor,
                    },
                ],
            })],
            ..Step::default()
        })
        .await
        .expect("a top-up");
}

fn accounts_listed(body: &str) -> Vec<String> {
    body.split("<code>")
        .skip(1)
        .filter_map(|c| c.split("</code>").next())
        .map(str::to_string)
        .collect()
}

async fn each_scope_sees_its_own_balances(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    let ops = user(&gw, "olga", Scope::Operator, Role::Viewer).await;
    let partner = user(&gw, "pat", Scope::Partner(DEMO_VA.into()), Role::Viewer).await;
    let merchant = user(&gw, "mira", Scope::Merchant("99999".into()), Role::Viewer).await;

    let mut o = Browser::signed_in(&gw, &ops).await;
    let page = o.get("/dashboard/balances").await;
    let listed = accounts_listed(&page.body);
    for code in [
        "merchant:99999",
        "operator:fees",
        "operator:funding",
        PARTNER_ACCOUNT,
    ] {
        assert!(listed.iter().any(|l| l == code), "{code} in {listed:?}");
    }
    assert!(
        page.body.contains("Rp 100.000.000"),
        "the demo partner's opening balance"
    );

    let mut p = Browser::signed_in(&gw, &partner).await;
    let page = p.get("/dashboard/balances").await;
    assert_eq!(accounts_listed(&page.body), [PARTNER_ACCOUNT]);
    // Another account by URL reads as none at all, on every view of it.
    for path in [
        "/dashboard/statement?account=operator%3Afunding",
        "/dashboard/statement?account=merchant%3A99999",
        "/dashboard/statement.csv?account=merchant%3A99999",
        "/dashboard/statement.xlsx?account=operator%3Afees",
        "/dashboard/statement?account=nobody",
    ] {
        let page = p.get(path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(!page.body.contains("Rp "), "{path} shows no figure");
    }
    assert_eq!(
        p.get("/dashboard/statement?account=partner%3A9920015307")
            .await
            .status,
        200
    );

    // What the operator does with the partner's data shows in the partner's log.
    o.get_bytes("/dashboard/statement.csv?account=partner%3A9920015307")
        .await;
    let seen = audit_rows(&mut p).await;
    assert!(
        seen.iter()
            .any(|r| r.0 == "olga" && r.1 == "statement_download"),
        "{seen:?}"
    );

    let mut m = Browser::signed_in(&gw, &merchant).await;
    assert_eq!(
        accounts_listed(&m.get("/dashboard/balances").await.body),
        ["merchant:99999"]
    );
    assert_eq!(
        m.get("/dashboard/statement?account=partner%3A9920015307")
            .await
            .status,
        404
    );
    gw.stop().await;
}

async fn a_statement_pages_and_downloads(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    let partner = user(&gw, "pat", Scope::Partner(DEMO_VA.into()), Role::Viewer).await;
    top_up(
        &gw,
        "TOPUP-FORMULA",
        "=HYPERLINK(\"http://evil.example\",\"x\")",
        12_345,
    )
    .await;
    for i in 0..105 {
        top_up(&gw, &format!("TOPUP-{i:03}"), "payroll float", 100).await;
    }
    let mut b = Browser::signed_in(&gw, &partner).await;

    // Dates that are not dates, a range backwards, a range too long.
    for (from, to) in [
        ("2026-13-01", ""),
        ("2026-12-05", "2026-12-01"),
        ("2024-01-01", "2026-01-01"),
    ] {
        let page = b
            .get(&format!(
                "/dashboard/statement?account=partner%3A9920015307&from={from}&to={to}"
            ))
            .await;
        assert_eq!(page.status, 400, "{from}..{to}");
    }

    // Today's postings, a hundred a page: the opening balance, the formula, 105 top-ups.
    let first = b
        .get("/dashboard/statement?account=partner%3A9920015307")
        .await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body.matches("<td class=\"nowrap\">").count(), 100);
    assert!(first.body.contains("opening balance"));
    // The description is shown as text, escaped.
    assert!(first
        .body
        .contains("=HYPERLINK(&quot;http://evil.example&quot;"));
    let next = first
        .body
        .split("href=\"")
        .filter_map(|h| h.split('"').next())
        .find(|h| h.contains("after="))
        .expect("a link to the next page")
        .replace("&amp;", "&");
    let second = b.get(&next).await;
    assert_eq!(second.body.matches("<td class=\"nowrap\">").count(), 7);
    assert!(second.body.contains("TOPUP-104"));

    let csv = b
        .get("/dashboard/statement.csv?account=partner%3A9920015307")
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains(".csv"));
    let mut reader = csv::Reader::from_reader(csv.body.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 107);
    let formula = rows
        .iter()
        .find(|r| &r[2] == "TOPUP-FORMULA")
        .expect("the row");
    assert!(formula[3].starts_with("'="), "{:?}", &formula[3]);
    assert_eq!(&formula[4], "123.45");
    assert_eq!(
        &rows[106][5], "100000228.45",
        "the balance after the last line"
    );

    let xlsx = b
        .get_bytes("/dashboard/statement.xlsx?account=partner%3A9920015307")
        .await;
    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).expect("an XLSX");
    let sheet = book.worksheet_range("Statement").expect("the sheet");
    assert_eq!(sheet.height(), 108);
    let row = sheet
        .rows()
        .find(|r| r[2] == Data::String("TOPUP-FORMULA".into()))
        .expect("the row");
    assert!(
        matches!(&row[3], Data::String(s) if s.starts_with("=HYPERLINK")),
        "kept as text: {:?}",
        row[3]
    );
    assert_eq!(row[4], Data::Float(123.45));

    let downloads: Vec<(String, String, String)> = audit_rows(&mut b)
        .await
        .into_iter()
        .filter(|r| r.1 == "statement_download")
        .collect();
    assert_eq!(downloads.len(), 2);
    assert!(
        downloads[0].2.contains("107 lines as xlsx"),
        "{}",
        downloads[0].2
    );
    gw.stop().await;
}
