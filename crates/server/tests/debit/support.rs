//! The suite's Debit client: signatures computed here from the spec (§1.3), bodies
//! written as the plugins write them, answers read in either syntax.

use crate::common::*;
use md5::{Digest, Md5};
use serde_json::{json, Map, Value};
use sha1::Sha1;

pub const MERCHANT: &str = "99999";
pub const USER: &str = "bot99999";
pub const PASSWORD: &str = "p@ssw0rd";

/// `sha1(hex(md5(user + password + parts)))` in lowercase hex.
pub fn sign(parts: &[&str]) -> String {
    let mut text = format!("{USER}{PASSWORD}");
    for p in parts {
        text.push_str(p);
    }
    let md5 = hex::encode(Md5::digest(text.as_bytes()));
    hex::encode(Sha1::digest(md5.as_bytes()))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    Json,
    Xml,
}

/// The path of `operation` (`"300011"`, …) in `syntax`'s family.
pub fn path(syntax: Syntax, operation: &str) -> String {
    match syntax {
        Syntax::Json => format!("/cvr/{operation}/10"),
        Syntax::Xml => format!("/pws/{operation}/183xx00010100000"),
    }
}

/// A flat JSON object as an XML `<faspay>` document (arrays of objects become
/// repeated elements).
pub fn to_xml(body: &Value) -> String {
    fn escape(t: &str) -> String {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }
    fn scalar(v: &Value) -> String {
        match v {
            Value::String(s) => escape(s),
            other => other.to_string(),
        }
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<faspay>\n");
    for (k, v) in body.as_object().expect("an object") {
        match v {
            Value::Array(items) => {
                for item in items {
                    out.push_str(&format!("<{k}>"));
                    for (ik, iv) in item.as_object().expect("item object") {
                        out.push_str(&format!("<{ik}>{}</{ik}>", scalar(iv)));
                    }
                    out.push_str(&format!("</{k}>\n"));
                }
            }
            other => out.push_str(&format!("<{k}>{}</{k}>\n", scalar(other))),
        }
    }
    out.push_str("</faspay>");
    out
}

/// An XML answer as JSON: scalars as strings, repeated elements as arrays.
pub fn xml_to_json(text: &str) -> Value {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut top = Map::new();
    let mut stack: Vec<(String, Map<String, Value>)> = Vec::new();
    let mut current_text = String::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                stack.push((name, Map::new()));
                current_text.clear();
            }
            Event::Text(t) => current_text.push_str(&t.unescape().expect("text")),
            Event::End(_) => {
                let (name, children) = stack.pop().expect("open element");
                if name == "faspay" {
                    top = children;
                    break;
                }
                let value = if children.is_empty() {
                    Value::String(std::mem::take(&mut current_text))
                } else {
                    Value::Object(children)
                };
                let parent = &mut stack.last_mut().expect("a parent").1;
                match parent.get_mut(&name) {
                    Some(Value::Array(list)) => list.push(value),
                    Some(existing) => {
                        let first = existing.take();
                        *existing = Value::Array(vec![first, value]);
                    }
                    // Lists, even of one: records of bill items and channels.
                    None if matches!(name.as_str(), "bill_items" | "payment_channel")
                        && value.is_object() =>
                    {
                        parent.insert(name, Value::Array(vec![value]));
                    }
                    None => {
                        parent.insert(name, value);
                    }
                }
                current_text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Value::Object(top)
}

/// Posts `body` in `syntax` to `operation`; the answer read as JSON.
pub async fn call(gw: &Api, syntax: Syntax, operation: &str, body: &Value) -> Value {
    let (content_type, bytes) = match syntax {
        Syntax::Json => ("application/json", body.to_string()),
        Syntax::Xml => ("text/xml", to_xml(body)),
    };
    let reply = gw
        .post_raw(&path(syntax, operation), content_type, bytes.into_bytes())
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    match syntax {
        Syntax::Json => reply.json(),
        Syntax::Xml => {
            assert!(reply.text.starts_with("<?xml"), "{}", reply.text);
            xml_to_json(&reply.text)
        }
    }
}

/// A gateway with the sandbox merchant's notifications going to `url` in
/// `format` (`json` or `xml`).
pub async fn gateway(
    db: &gerbang_store::testing::TestDatabase,
    url: &str,
    format: &str,
) -> Gateway {
    let gw = Gateway::start(test_config(db)).await;
    let plan = gerbang_app::provision::plan(
        &format!(
            "[[merchant]]\nmerchant_id = \"{MERCHANT}\"\nnotification_url = \"{url}\"\n\
             notification_format = \"{format}\"\nreturn_url = \"https://shop.example/thanks\"\n"
        ),
        std::path::Path::new("."),
    )
    .expect("a plan");
    gerbang_app::provision::apply(&*gw.app().store, gw.app().now(), plan)
        .await
        .expect("provisioned");
    gw
}

/// The gateway's time in Jakarta, `seconds` from now, as the Debit API writes it.
pub fn wib_in(gw: &Gateway, seconds: i64) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    gw.app()
        .now()
        .plus_seconds(seconds)
        .jakarta()
        .format(&f)
        .expect("formatted")
}

/// A Post Data body as a shop plugin sends it, payable for a day; `bill_no` signed.
pub fn post_data(gw: &Gateway, bill_no: &str, channel: &str, total_minor: i64) -> Value {
    let mut body = post_data_at(bill_no, channel, total_minor);
    body["bill_date"] = wib_in(gw, 0).into();
    body["bill_expired"] = wib_in(gw, 86_400).into();
    body
}

/// A Post Data body with fixed dates.
pub fn post_data_at(bill_no: &str, channel: &str, total_minor: i64) -> Value {
    json!({
        "request": "Post Data Transaction",
        "merchant_id": MERCHANT,
        "merchant": "FASPAY STORE",
        "bill_no": bill_no,
        "bill_reff": bill_no,
        "bill_date": "2026-12-04 10:00:00",
        "bill_expired": "2026-12-31 10:00:00",
        "bill_desc": "Pembayaran #".to_string() + bill_no,
        "bill_currency": "IDR",
        "bill_gross": "0",
        "bill_miscfee": "0",
        "bill_total": total_minor.to_string(),
        "cust_no": "C-1",
        "cust_name": "Budi Santoso",
        "payment_channel": channel,
        "pay_type": "1",
        "msisdn": "081234567890",
        "email": "budi@example.com",
        "terminal": "10",
        "item": [
            {"product": "Kaos", "qty": "1", "amount": total_minor.to_string(), "payment_plan": "01", "tenor": "00", "merchant_id": MERCHANT}
        ],
        "signature": sign(&[bill_no]),
    })
}

/// Posts a bill in JSON (with Kredivo's plan in `reserve2` when given); the
/// accepted answer.
pub async fn posted(
    gw: &Gateway,
    bill_no: &str,
    channel: &str,
    total_minor: i64,
    reserve2: Option<&str>,
) -> Value {
    let mut body = post_data(gw, bill_no, channel, total_minor);
    if let Some(plan) = reserve2 {
        body["reserve2"] = plan.into();
    }
    let answer = call(gw, Syntax::Json, "300011", &body).await;
    assert_eq!(answer["response_code"], "00", "{answer}");
    answer
}

/// A refusal's `(response_code, response_desc)`.
#[track_caller]
pub fn refusal(answer: &Value) -> (String, String) {
    let e = &answer["response_error"];
    assert!(e.is_object(), "not a refusal: {answer}");
    (
        e["response_code"].as_str().expect("code").to_string(),
        e["response_desc"].as_str().expect("desc").to_string(),
    )
}
