//! Mass transfer over HTTP: a file with bad lines is refused line by line and
//! stores nothing; broken, huge, zip-bomb and forged uploads are refused; a good XLSX file
//! is submitted by a maker, recognised when sent again, refused to its own
//! submitter as a checker, approved by another checker with a TOTP code, and
//! its lines go out as the partner's payouts, each outcome shown and downloaded.

use crate::common::*;
use crate::support::*;
use gerbang_core::user::{Role, Scope};
use std::time::Duration;

on_both_backends!(a_mass_transfer_is_checked_submitted_approved_and_sent);

/// Uploads `bytes` as `name` from the mass transfer page, with its token (or
/// `csrf`); `None` when the gateway closed the connection instead of answering.
async fn try_upload(
    b: &mut Browser,
    name: &str,
    bytes: Vec<u8>,
    csrf: Option<&str>,
) -> Option<Page> {
    let token = match csrf {
        Some(t) => t.to_string(),
        None => b.get("/dashboard/mass-transfers").await.hidden("csrf"),
    };
    let form = reqwest::multipart::Form::new().text("csrf", token).part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
    );
    b.try_post_multipart("/dashboard/mass-transfers", form)
        .await
}

async fn upload(b: &mut Browser, name: &str, bytes: Vec<u8>, csrf: Option<&str>) -> Page {
    try_upload(b, name, bytes, csrf).await.expect("an answer")
}

fn good_xlsx() -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let rows = [
        [
            "reference",
            "bank_code",
            "account",
            "account_name",
            "amount",
            "description",
        ],
        ["GAJI-001", "014", "1234567890", "JOHN DOE", "", "salary"],
        [
            "GAJI-002",
            "ovo",
            "081234567890",
            "SITI AMINAH",
            "",
            "salary",
        ],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, text) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *text).unwrap();
        }
    }
    sheet.write_number(1, 4, 150000.0).unwrap();
    sheet.write_number(2, 4, 75000.5).unwrap();
    book.save_to_buffer().unwrap()
}

/// An XLSX-looking archive of a few dozen KiB whose sheet unpacks to 40 MiB.
fn bomb() -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
    let zeros = vec![b'0'; 1024 * 1024];
    for _ in 0..40 {
        zip.write_all(&zeros).unwrap();
    }
    zip.finish().unwrap();
    out.into_inner()
}

fn listed(page: &Page) -> usize {
    page.body
        .matches("href=\"/dashboard/mass-transfers/MT")
        .count()
}

async fn a_mass_transfer_is_checked_submitted_approved_and_sent(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    let partner = Scope::Partner(DEMO_VA.into());
    let maker = user(&gw, "mia", partner.clone(), Role::Maker).await;
    let checker = user(&gw, "chen", partner.clone(), Role::Checker).await;
    let other = user(&gw, "cleo", partner.clone(), Role::Checker).await;
    let mut m = Browser::signed_in(&gw, &maker).await;

    // Bad lines: each named with its row; nothing stored.
    let bad = "reference,bank_code,account,account_name,amount\n\
               OK-1,014,1234567890,JOHN DOE,100000\n\
               BAD-1,999,1234567890,JOHN DOE,100000\n\
               BAD-2,014,12,JOHN DOE,abc\n\
               BAD-3,014,1234567890,=HYPERLINK(\"http://evil\"),100\n\
               OK-1,014,1234567890,JOHN DOE,5\n";
    let page = upload(&mut m, "bad.csv", bad.as_bytes().to_vec(), None).await;
    assert_eq!(page.status, 422, "{}", page.body);
    let (_, problems) = page
        .body
        .split_once("data-testid=\"line-problems\"")
        .unwrap();
    for (row, says) in [
        ("3", "no bank or e-wallet known"),
        ("4", "account is 5 to 20 digits"),
        ("5", "spreadsheet formula"),
        ("6", "on an earlier line"),
    ] {
        let cell = format!("<td class=\"num\">{row}</td><td>");
        let (_, rest) = problems
            .split_once(&cell)
            .unwrap_or_else(|| panic!("row {row}: {problems}"));
        assert!(
            rest.split("</td>").next().unwrap().contains(says),
            "row {row}: {rest}"
        );
    }
    assert!(
        !problems.contains("<td class=\"num\">2</td>"),
        "the good line is not listed"
    );
    assert_eq!(listed(&m.get("/dashboard/mass-transfers").await), 0);

    // Broken, huge, zip-bomb and forged uploads.
    let page = upload(
        &mut m,
        "broken.xlsx",
        b"PK\x03\x04not really".to_vec(),
        None,
    )
    .await;
    assert_eq!(page.status, 400);
    assert!(
        page.body.contains("neither UTF-8 CSV nor XLSX"),
        "{}",
        page.body
    );
    // Over the limit: refused before it is read (413), or the connection closed.
    if let Some(page) = try_upload(&mut m, "huge.csv", vec![b'a'; 3 * 1024 * 1024], None).await {
        assert!(matches!(page.status, 400 | 413), "{}", page.status);
    }
    let page = upload(&mut m, "bomb.xlsx", bomb(), None).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("unpacks to more than"), "{}", page.body);
    let page = upload(
        &mut m,
        "forged.csv",
        bad.as_bytes().to_vec(),
        Some("forged"),
    )
    .await;
    assert_eq!(page.status, 403);
    assert_eq!(listed(&m.get("/dashboard/mass-transfers").await), 0);

    // A good file, submitted; the same file again is recognised.
    let page = upload(&mut m, "payroll.xlsx", good_xlsx(), None).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let detail = page.location.clone().unwrap();
    // The same lines, saved as CSV: the same file.
    let same = "reference;bank_code;account;account_name;amount;description\n\
                GAJI-001;014;1234567890;JOHN DOE;150000.00;salary\n\
                GAJI-002;ovo;081234567890;SITI AMINAH;75000.50;salary\n";
    let again = upload(&mut m, "payroll.csv", same.as_bytes().to_vec(), None).await;
    assert_eq!(again.status, 409);
    assert!(again.body.contains("submitted before"), "{}", again.body);
    assert_eq!(listed(&m.get("/dashboard/mass-transfers").await), 1);
    let page = m.get(&detail).await;
    assert!(page.body.contains("Waits for a checker"), "{}", page.body);
    assert!(page.body.contains("Rp 75.000"), "{}", page.body);

    // A checker may not approve what it submitted itself.
    let mut c = Browser::signed_in(&gw, &checker).await;
    let own = "reference,bank_code,account,account_name,amount\nOWN-1,008,1234567890,BUDI,1000\n";
    let page = upload(&mut c, "own.csv", own.as_bytes().to_vec(), None).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let own_detail = page.location.clone().unwrap();
    let page = c.get(&own_detail).await;
    assert!(
        !page.body.contains("Approve and send"),
        "no button for its own file"
    );
    let code = totp_at(checker.totp.as_deref().unwrap(), unix_now());
    let csrf = page.hidden("csrf");
    let refused = c
        .post(
            &format!("{own_detail}/decide"),
            &[("csrf", &csrf), ("code", &code), ("decision", "approve")],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("may not decide"), "{}", refused.body);

    // Another checker approves the maker's file with a code.
    let mut o = Browser::signed_in(&gw, &other).await;
    let page = o.get(&detail).await;
    assert!(page.body.contains("Approve and send"));
    let csrf = page.hidden("csrf");
    let wrong = o
        .post(
            &format!("{detail}/decide"),
            &[("csrf", &csrf), ("code", "000000"), ("decision", "approve")],
        )
        .await;
    assert_eq!(wrong.status, 401);
    let code = totp_at(other.totp.as_deref().unwrap(), unix_now() + 30);
    let done = o
        .post(
            &format!("{detail}/decide"),
            &[("csrf", &csrf), ("code", &code), ("decision", "approve")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);

    // Its lines go out as payouts and succeed at the simulated bank and wallet.
    let mut page = o.get(&detail).await;
    for _ in 0..200 {
        if page.body.contains("dispatched") && page.body.matches(">succeeded<").count() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        page = o.get(&detail).await;
    }
    assert_eq!(page.body.matches(">succeeded<").count(), 2, "{}", page.body);
    assert!(
        page.body.contains("/dashboard/transactions/payout/"),
        "{}",
        page.body
    );
    let csv = String::from_utf8(o.get_bytes(&format!("{detail}/outcome.csv")).await).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1].starts_with("2,GAJI-001,014,1234567890,JOHN DOE,150000.00,succeeded,"),
        "{csv}"
    );
    assert!(
        lines[2].contains("GAJI-002,ovo,081234567890,SITI AMINAH,75000.50,succeeded"),
        "{csv}"
    );
    let audit = audit_rows(&mut o).await;
    for action in [
        "mass_transfer_submitted",
        "mass_transfer_approved",
        "mass_transfer_downloaded",
    ] {
        assert!(
            audit.iter().any(|(_, a, _)| a == action),
            "{action} in {audit:?}"
        );
    }
}
