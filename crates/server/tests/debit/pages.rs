//! The hosted checkout (spec §4, §7.2): the redirect link shows the page of the
//! bill's channel family; in the sandbox its forms pay or decline as the channel
//! would — online credit with the published test accounts and plan rules — and
//! the browser is sent to the merchant's return URL with the signed parameters.

use crate::common::*;
use crate::support::*;
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn page(url: &str, lang: Option<&str>) -> (u16, String) {
    let url = match lang {
        Some(l) => format!("{url}&lang={l}"),
        None => url.to_string(),
    };
    let r = browser().get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Submits the page's form; the status and where it sends the browser.
async fn submit(url: &str, form: &[(&str, &str)]) -> (u16, Option<String>, String) {
    let r = browser().post(url).form(form).send().await.unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    (status, location, r.text().await.unwrap())
}

/// Approves an online-credit bill on its page with `plan` and the account
/// `phone` / `pin` / `otp`.
async fn approve(
    url: &str,
    plan: &str,
    phone: &str,
    pin: &str,
    otp: &str,
) -> (u16, Option<String>, String) {
    submit(
        url,
        &[
            ("action", "approve"),
            ("plan", plan),
            ("phone", phone),
            ("pin", pin),
            ("otp", otp),
        ],
    )
    .await
}

/// The return URL's query as a map.
fn returned(location: &str) -> HashMap<String, String> {
    let url = reqwest::Url::parse(location).expect("a URL");
    assert_eq!(url.host_str(), Some("shop.example"), "{location}");
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Independent CRC-16/CCITT-FALSE, as QRIS wallets check it.
fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

async fn each_family_pays_and_returns_to_the_shop(db: TestDatabase) {
    let receiver = Receiver::start(Behaviour::Body(200, r#"{"response_code":"00"}"#)).await;
    let gw = gateway(&db, &receiver.url(), "json").await;

    // A VA: the number and the steps; a wrong signature shows nothing.
    let va = posted(&gw, "PG-VA", "801", 1_500_000, None).await;
    let url = va["redirect_url"].as_str().unwrap().to_string();
    let (status, html) = page(&url, None).await;
    assert_eq!(status, 200);
    assert!(html.contains(va["trx_id"].as_str().unwrap()), "{html}");
    assert!(
        html.contains("Rp 15.000") && html.contains("Nomor Virtual Account"),
        "{html}"
    );
    assert!(
        html.contains(r#"<meta http-equiv="refresh" content="15; url="#)
            && html.contains("&amp;lang=id\">"),
        "a VA page looks again by itself: {html}"
    );
    let (_, english) = page(&url, Some("en")).await;
    assert!(english.contains("Virtual account number"), "{english}");
    let forged = url.replace(&sign(&["PG-VA"]), &sign(&["other"]));
    assert_eq!(page(&forged, None).await.0, 404);
    // A VA has nothing to decline, and an action the page does not offer changes nothing.
    for action in ["decline", "launch"] {
        let (status, location, html) = submit(&url, &[("action", action)]).await;
        assert_eq!((status, location), (200, None), "{action}");
        assert!(html.contains("Pilih tindakan di halaman ini"), "{html}");
    }
    let (status, location, _) = submit(&url, &[("action", "pay")]).await;
    assert_eq!(status, 303);
    let back = returned(&location.expect("a return URL"));
    assert_eq!(back["trx_id"], va["trx_id"].as_str().unwrap());
    assert_eq!(back["bill_no"], "PG-VA");
    assert_eq!(back["bill_ref"], "PG-VA");
    assert_eq!(back["merchant_id"], MERCHANT);
    assert_eq!(back["bill_total"], "15000");
    assert_eq!(back["status"], "2");
    assert_eq!(back["bank_user_name"], "Budi Santoso");
    assert_eq!(back["signature"], sign(&["PG-VA", "2"]));
    assert!(!back["payment_reff"].is_empty());
    // Paid: the page says so, with the way back to the shop, and paying again
    // changes nothing.
    let (_, html) = page(&url, Some("en")).await;
    assert!(html.contains("Payment received"), "{html}");
    assert!(
        !html.contains("http-equiv"),
        "a paid bill's page stays: {html}"
    );
    assert!(
        html.contains("Bill amount") && html.contains("Payment reference"),
        "a paid bill's page says what was paid and how: {html}"
    );
    assert!(
        !html.contains("Pay before"),
        "no deadline once paid: {html}"
    );
    let link = html
        .split("href=\"")
        .find(|rest| rest.contains("data-testid=\"back\""))
        .and_then(|rest| rest.split('"').next())
        .expect("a link back to the shop")
        .replace("&amp;", "&");
    let back_link = returned(&link);
    assert_eq!(back_link["status"], "2");
    assert_eq!(back_link["signature"], sign(&["PG-VA", "2"]));
    // Refunded in full: the page no longer says the payment was received.
    let refunded = call(
        &gw,
        Syntax::Json,
        "300013",
        &json!({
            "request": "Pembatalan Pembelian Barang", "merchant_id": MERCHANT, "merchant": "FASPAY STORE",
            "bill_no": "PG-VA", "cancellation_type": "FULL", "cancellation_reason": "returned",
            "cancelled_by": "admin", "signature": sign(&["PG-VA"]),
        }),
    )
    .await;
    assert_eq!(refunded["payment_status_code"], "4", "{refunded}");
    let (_, html) = page(&url, Some("en")).await;
    assert!(
        html.contains("The payment was refunded") && !html.contains("Payment received"),
        "{html}"
    );
    assert!(
        html.contains("<dt>Refunded</dt><dd>Rp 15.000</dd>"),
        "{html}"
    );
    let (_, html) = page(&url, Some("id")).await;
    assert!(html.contains("Pembayaran telah dikembalikan"), "{html}");

    // A store code.
    let retail = posted(&gw, "PG-ALFA", "707", 2_000_000, None).await;
    let (_, html) = page(retail["redirect_url"].as_str().unwrap(), None).await;
    assert!(html.contains("Kode pembayaran") && html.contains(retail["trx_id"].as_str().unwrap()));

    // QRIS: the payload (checksummed) in the answer and as an image.
    let qr = posted(&gw, "PG-QR", "711", 1_500_000, None).await;
    let content = qr["qr_content"].as_str().expect("qr_content");
    let (body, crc) = content.split_at(content.len() - 4);
    assert_eq!(format!("{:04X}", crc16(body.as_bytes())), crc, "{content}");
    assert!(content.contains("540515000"), "{content}");
    let image = browser()
        .get(qr["web_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(image.headers()["content-type"], "image/png");
    // The PNG is the payload's code: a QR reader of its own reads it back.
    let png = image.bytes().await.unwrap();
    let mut reader = png::Decoder::new(std::io::Cursor::new(png.to_vec()))
        .read_info()
        .expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).expect("a frame");
    let (w, h) = (frame.width as usize, frame.height as usize);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one code in the image");
    let (_, decoded) = grids[0].decode().expect("a readable code");
    assert_eq!(decoded, content);
    let svg_url = qr["web_url"].as_str().unwrap().replace(".png?", ".svg?");
    let svg = browser().get(svg_url).send().await.unwrap();
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(svg.text().await.unwrap().contains("<svg"));
    let unsigned = qr["web_url"]
        .as_str()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(browser().get(unsigned).send().await.unwrap().status(), 404);
    let (_, html) = page(qr["redirect_url"].as_str().unwrap(), None).await;
    assert!(html.contains(content), "the page shows the payload");

    // Internet banking: the simulator's login.
    let ib = posted(&gw, "PG-IB", "401", 1_000_000, None).await;
    let url = ib["redirect_url"].as_str().unwrap();
    let (status, location, html) = submit(
        url,
        &[
            ("action", "pay"),
            ("user", "faspay"),
            ("password", "nope"),
            ("otp", "101010"),
        ],
    )
    .await;
    assert_eq!((status, location), (200, None));
    assert!(html.contains("Login atau OTP salah"), "{html}");
    let (status, location, _) = submit(
        url,
        &[
            ("action", "pay"),
            ("user", "faspay"),
            ("password", "password"),
            ("otp", "101010"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(returned(&location.unwrap())["status"], "2");

    // Every bill paid here reached the merchant (and the VA's refund too).
    let got = receiver.wait_for(3, Duration::from_secs(10)).await;
    let notified: Vec<String> = got
        .iter()
        .map(|r| r.json()["bill_no"].as_str().unwrap().to_string())
        .collect();
    for b in ["PG-VA", "PG-IB"] {
        assert!(notified.contains(&b.to_string()), "{notified:?}");
    }
    gw.stop().await;
}

async fn online_credit_follows_the_providers_rules(db: TestDatabase) {
    let receiver = Receiver::start(Behaviour::Body(200, r#"{"response_code":"00"}"#)).await;
    let gw = gateway(&db, &receiver.url(), "json").await;
    // Kredivo's guide writes the plan `30_Days`: the page offers it chosen.
    let guide = posted(&gw, "PG-KRD-G", "709", 200_000_000, Some("30_Days")).await;
    let guide_url = guide["redirect_url"].as_str().unwrap();
    let (_, html) = page(guide_url, Some("en")).await;
    assert!(
        html.contains(r#"<option value="30_days" selected>"#),
        "{html}"
    );
    // A plan the provider has not is no plan: nothing is approved.
    let (status, location, html) =
        approve(guide_url, "bogus", "081291891818", "414141", "4567").await;
    assert_eq!((status, location), (200, None));
    assert!(html.contains("Pilih salah satu cara bayar"), "{html}");
    // Rp 2.000.000 on Kredivo, 3 months asked for by the shop.
    let kredivo = posted(&gw, "PG-KRD", "709", 200_000_000, Some("3_months")).await;
    let url = kredivo["redirect_url"].as_str().unwrap();
    let (_, html) = page(url, Some("en")).await;
    assert!(
        html.contains(r#"<option value="3_months" selected>"#),
        "{html}"
    );
    // Each instalment plan says what a month costs (Rp 2.156.000 over 3 months).
    assert!(
        html.contains("3 monthly instalments — Rp 718.666"),
        "{html}"
    );
    // The full-payment-only account cannot take instalments.
    let (status, location, html) = approve(url, "3_months", "081513114262", "663482", "4567").await;
    assert_eq!((status, location), (200, None));
    assert!(html.contains("hanya bisa bayar penuh"), "{html}");
    // A wrong PIN or OTP.
    let (_, _, html) = approve(url, "3_months", "081291891818", "000000", "4567").await;
    assert!(html.contains("Nomor ponsel atau PIN salah"), "{html}");
    let (_, _, html) = approve(url, "3_months", "081291891818", "414141", "1111").await;
    assert!(html.contains("Kode OTP salah"), "{html}");
    // In English, in English only.
    let (_, _, html) = submit(
        url,
        &[
            ("action", "approve"),
            ("plan", "3_months"),
            ("phone", "081291891818"),
            ("pin", "414141"),
            ("otp", "1111"),
            ("lang", "en"),
        ],
    )
    .await;
    assert!(
        html.contains("Wrong OTP") && !html.contains("Kode OTP salah"),
        "{html}"
    );
    // The instalment account approves.
    let (status, location, _) =
        approve(url, "3_months", "+62 812-9189-1818", "414141", "4567").await;
    assert_eq!(status, 303);
    let back = returned(&location.unwrap());
    assert_eq!(back["status"], "2");
    assert_eq!(back["signature"], sign(&["PG-KRD", "2"]));

    // Under Rp 1.500.000 the customer cannot switch to instalments on the page
    // (the shop could not post one); paying in full is fine.
    let small = posted(&gw, "PG-KRD-S", "709", 100_000_000, Some("30_days")).await;
    let url = small["redirect_url"].as_str().unwrap();
    let (_, _, html) = approve(url, "6_months", "081291891818", "414141", "4567").await;
    assert!(html.contains("Rp 1.500.000"), "{html}");
    let (status, _, _) = approve(url, "30_days", "081513114262", "663482", "4567").await;
    assert_eq!(status, 303);

    // A declined one fails, and the shop hears status 3.
    let declined = posted(&gw, "PG-KRD-D", "807", 50_000_000, None).await;
    let (status, location, _) = submit(
        declined["redirect_url"].as_str().unwrap(),
        &[("action", "decline")],
    )
    .await;
    assert_eq!(status, 303);
    let back = returned(&location.unwrap());
    assert_eq!(back["status"], "3");
    assert_eq!(back["signature"], sign(&["PG-KRD-D", "3"]));
    let status = call(
        &gw,
        Syntax::Json,
        "100004",
        &json!({"merchant_id": MERCHANT, "bill_no": "PG-KRD-D", "signature": sign(&["PG-KRD-D"])}),
    )
    .await;
    assert_eq!(status["payment_status_code"], "3", "{status}");
    let notice = eventually("the decline notice", Duration::from_secs(10), || async {
        receiver
            .received()
            .iter()
            .map(|r| r.json())
            .find(|n| n["bill_no"] == "PG-KRD-D")
    })
    .await;
    assert_eq!(notice["payment_status_code"], "3");
    let check = gw.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");
    gw.stop().await;
}

async fn ovo_push_and_kredivo_plans(db: TestDatabase) {
    let receiver = Receiver::start(Behaviour::Body(200, r#"{"response_code":"00"}"#)).await;
    let gw = gateway(&db, &receiver.url(), "json").await;
    // OVO: the shop posts the customer's number; the test number approves.
    let ovo = posted(&gw, "PG-OVO", "812", 5_000_000, None).await;
    let trx_id = ovo["trx_id"].as_str().unwrap();
    let push = |number: &'static str, signed: String| {
        let url = gw.url("/pws/ovo_direct");
        let trx_id = trx_id.to_string();
        async move {
            let r = browser()
                .post(url)
                .form(&[
                    ("trx_id", trx_id.as_str()),
                    ("ovo_number", number),
                    ("signature", signed.as_str()),
                ])
                .send()
                .await
                .unwrap();
            (
                r.status().as_u16(),
                r.headers()
                    .get("location")
                    .map(|l| l.to_str().unwrap().to_string()),
                r.text().await.unwrap(),
            )
        }
    };
    // Not a form, or a form without its fields: a page that says so, not a bare error.
    let json = browser()
        .post(gw.url("/pws/ovo_direct"))
        .json(&json!({"trx_id": trx_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 400);
    assert_eq!(
        json.headers()["x-frame-options"],
        "DENY",
        "guarded as the checkout"
    );
    assert_eq!(json.headers()["cache-control"], "no-store");
    assert!(json.text().await.unwrap().contains("<html"));
    let (status, _, _) = push("081234567890", sign(&["PG-OVO"])).await;
    assert_eq!(status, 403, "signed over the trx_id, not the bill_no");
    // A number with no OVO account: the bill's own page says so, with its form
    // to try another.
    let (status, location, html) = push("089999999999", sign(&[trx_id])).await;
    assert_eq!((status, location), (200, None));
    assert!(html.contains("Nomor OVO tidak terdaftar"), "{html}");
    assert!(
        html.contains("<form") && html.contains("Rp 50.000"),
        "{html}"
    );
    let (status, location, _) = push("081234567890", sign(&[trx_id])).await;
    assert_eq!(status, 303);
    let back = returned(&location.unwrap());
    assert_eq!(back["status"], "2");
    assert_eq!(back["signature"], sign(&["PG-OVO", "2"]));

    // Kredivo's plan inquiry: instalments from Rp 1.500.000, at 2.6 % a month.
    let ask = |total: &str| {
        json!({"request": "Pengecekan Payment Type Kredivo", "merchant_id": MERCHANT, "merchant": "FASPAY STORE",
        "bill_total": total, "item": [{"id": "A", "product": "Kaos", "qty": 1, "amount": total}], "signature": sign(&[])})
    };
    for syntax in [Syntax::Json, Syntax::Xml] {
        let plans = call(&gw, syntax, "300012", &ask("200000000")).await;
        assert_eq!(plans["response_code"], "00", "{plans}");
        let payments = plans["payments"].as_array().expect("payments");
        let ids: Vec<&str> = payments.iter().map(|p| p["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["30_days", "3_months", "6_months", "12_months"]);
        let three = &payments[1];
        assert_eq!(three["amount"], "215600000");
        assert_eq!(three["monthly_installment"], "71866667");
        assert_eq!(three["tenure"], "3");
    }
    let small = call(&gw, Syntax::Json, "300012", &ask("100000000")).await;
    assert_eq!(small["payments"].as_array().unwrap().len(), 1);
    let mut forged = ask("100000000");
    forged["signature"] = sign(&["x"]).into();
    assert_eq!(
        refusal(&call(&gw, Syntax::Json, "300012", &forged).await).0,
        "55"
    );
    gw.stop().await;
}

/// Each channel takes its own published test account (§13), asks only for what
/// that account has, and its pages may not be framed or cached.
async fn each_channel_takes_its_published_test_account(db: TestDatabase) {
    let receiver = Receiver::start(Behaviour::Body(200, r#"{"response_code":"00"}"#)).await;
    let gw = gateway(&db, &receiver.url(), "json").await;
    // Cards are a merchant's only when named.
    let plan = gerbang_app::provision::plan(
        &format!(
            "[[merchant]]\nmerchant_id = \"{MERCHANT}\"\n\
             channels = [\"500\", \"814\", \"405\", \"700\", \"819\", \"302\", \"812\"]\n"
        ),
        std::path::Path::new("."),
    )
    .expect("a plan");
    gerbang_app::provision::apply(&*gw.app().store, gw.app().now(), plan)
        .await
        .expect("provisioned");
    let paid = |location: Option<String>| returned(&location.expect("a redirect"))["status"] == "2";
    // (channel, form that pays, a form it refuses, a field its page does not ask for)
    type Form = Vec<(&'static str, &'static str)>;
    let cases: [(&str, Form, Form, Option<&str>); 7] = [
        (
            "500",
            vec![
                ("card_number", "4440 0000 0990 0010"),
                ("card_name", "FASPAY"),
                ("card_expiry", "01/39"),
                ("card_cvv", "100"),
            ],
            vec![
                ("card_number", "5123450000000008"),
                ("card_name", "faspay"),
                ("card_expiry", "01/39"),
                ("card_cvv", "999"),
            ],
            Some("name=\"phone\""),
        ),
        (
            "814",
            vec![
                ("user", "faspay"),
                ("password", "Faspay123!@#"),
                ("otp", "10101010"),
            ],
            vec![
                ("user", "faspay"),
                ("password", "password"),
                ("otp", "10101010"),
            ],
            None,
        ),
        (
            "405",
            vec![("password", "password"), ("otp", "101010")],
            vec![("password", "password"), ("otp", "999999")],
            Some("name=\"user\""),
        ),
        (
            "700",
            vec![("user", "faspay"), ("otp", "101010")],
            vec![("user", "someone"), ("otp", "101010")],
            Some("name=\"password\""),
        ),
        (
            "819",
            vec![("phone", "0817345545"), ("pin", "123321")],
            vec![("phone", "0817345545"), ("pin", "000000")],
            Some("name=\"otp\""),
        ),
        (
            "302",
            vec![
                ("phone", "081234567890"),
                ("pin", "000000"),
                ("otp", "000000"),
            ],
            vec![
                ("phone", "081234567890"),
                ("pin", "000000"),
                ("otp", "123456"),
            ],
            None,
        ),
        (
            "812",
            vec![("phone", "081234567890")],
            vec![("phone", "089999999999")],
            Some("name=\"pin\""),
        ),
    ];
    for (n, (channel, good, bad, not_asked)) in cases.into_iter().enumerate() {
        let bill_no = format!("PG-ACC-{n}");
        let bill = posted(&gw, &bill_no, channel, 1_000_000, None).await;
        let url = bill["redirect_url"].as_str().unwrap();
        let r = browser().get(url).send().await.unwrap();
        let headers = r.headers().clone();
        let html = r.text().await.unwrap();
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["cache-control"], "no-store");
        assert!(headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
        for (field, _) in &good {
            assert!(
                html.contains(&format!("name=\"{field}\"")),
                "{channel} asks for {field}"
            );
        }
        if let Some(field) = not_asked {
            assert!(!html.contains(field), "{channel} does not ask for {field}");
        }
        let with_action = |form: &[(&'static str, &'static str)]| {
            let mut all = vec![("action", "pay")];
            all.extend_from_slice(form);
            all
        };
        let mut bad_in_english = with_action(&bad);
        bad_in_english.push(("lang", "en"));
        let (status, location, html) = submit(url, &bad_in_english).await;
        assert_eq!((status, location), (200, None), "{channel} refuses {bad:?}");
        assert!(html.contains("Wrong"), "{html}");
        let (status, location, _) = submit(url, &with_action(&good)).await;
        assert_eq!(status, 303, "{channel} takes {good:?}");
        assert!(paid(location), "{channel}");
    }
    gw.stop().await;
}

on_both_backends!(
    each_family_pays_and_returns_to_the_shop,
    online_credit_follows_the_providers_rules,
    ovo_push_and_kredivo_plans,
    each_channel_takes_its_published_test_account,
);
