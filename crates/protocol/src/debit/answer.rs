//! What the Debit API answers, in the syntax it was asked in: one flat object of
//! strings (arrays of objects for lists) in JSON, the same names as elements under
//! `<faspay>` in XML (a list repeats its element). A refusal is the
//! `response_error` envelope (§1.6), always with HTTP 200. XML is written with a
//! real XML writer, so every value is escaped.

use super::message::Syntax;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use std::borrow::Cow;

/// A documented `response_code` (§8.1) with its description, and what exactly was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebitError {
    pub code: &'static str,
    pub desc: &'static str,
    pub detail: Option<String>,
}

impl DebitError {
    const fn new(code: &'static str, desc: &'static str) -> Self {
        DebitError {
            code,
            desc,
            detail: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// `83`, naming the missing field.
    pub fn mandatory(field: &str) -> Self {
        Self::MANDATORY.with_detail(format!("{field} is mandatory"))
    }

    /// The description as sent: the documented words, then the detail.
    pub fn description(&self) -> String {
        match &self.detail {
            Some(d) => format!("{}: {d}", self.desc),
            None => self.desc.to_string(),
        }
    }

    pub const INVALID_MERCHANT: DebitError = DebitError::new("03", "Invalid Merchant");
    pub const INVALID_AMOUNT: DebitError = DebitError::new("13", "Invalid Amount");
    pub const INVALID_ORDER: DebitError = DebitError::new("14", "Invalid Order");
    pub const ORDER_CANCELLED: DebitError =
        DebitError::new("17", "Order Cancelled by Merchant/Customer");
    pub const INVALID_CUSTOMER: DebitError =
        DebitError::new("18", "Invalid Customer or MSISDN is not found");
    pub const FORMAT: DebitError = DebitError::new("30", "Format Error");
    pub const NOT_SUPPORTED: DebitError = DebitError::new("40", "Requested Function not Supported");
    pub const EXPIRED: DebitError = DebitError::new("54", "Order is Expired");
    pub const BAD_SIGNATURE: DebitError = DebitError::new("55", "Incorrect User/Password");
    pub const INTERNAL: DebitError = DebitError::new("66", "internal Error");
    pub const ALREADY_PAID: DebitError = DebitError::new("81", "Already Been Paid");
    pub const UNREGISTERED: DebitError = DebitError::new("82", "Unregistered Entity");
    pub const MANDATORY: DebitError = DebitError::new("83", "Parameter is mandatory");
}

/// An answer as a JSON object, its fields in order.
struct JsonAnswer<'a>(&'a Answer);

/// A flat record as a JSON object.
struct JsonRecord<'a>(&'a [(String, String)]);

impl serde::Serialize for JsonRecord<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl serde::Serialize for JsonAnswer<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0 .0.len()))?;
        for (key, value) in &self.0 .0 {
            match value {
                Value::Text(t) => map.serialize_entry(key, t)?,
                // The error envelope is one object, not a list of one.
                Value::List(records) if key == "response_error" && records.len() == 1 => {
                    map.serialize_entry(key, &JsonRecord(&records[0]))?
                }
                Value::List(records) => {
                    let list: Vec<JsonRecord> = records.iter().map(|r| JsonRecord(r)).collect();
                    map.serialize_entry(key, &list)?
                }
            }
        }
        map.end()
    }
}

/// A value of an answer: text, or a list of flat records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Text(String),
    List(Vec<Vec<(String, String)>>),
}

/// An answer's fields in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer(pub Vec<(Cow<'static, str>, Value)>);

impl Answer {
    /// A field; its name is borrowed when it is a literal, as it nearly always is.
    pub fn text(mut self, key: impl Into<Cow<'static, str>>, value: impl Into<String>) -> Self {
        self.0.push((key.into(), Value::Text(value.into())));
        self
    }

    pub fn list(mut self, key: &'static str, records: Vec<Vec<(String, String)>>) -> Self {
        self.0.push((key.into(), Value::List(records)));
        self
    }

    /// The refusal envelope.
    pub fn refusal(e: &DebitError) -> Answer {
        Answer(vec![(
            "response_error".into(),
            Value::List(vec![vec![
                ("response_code".into(), e.code.into()),
                ("response_desc".into(), e.description()),
            ]]),
        )])
    }

    /// The body in `syntax`, and its content type.
    pub fn render(&self, syntax: Syntax) -> (&'static str, String) {
        match syntax {
            Syntax::Json => ("application/json", self.json()),
            Syntax::Xml => ("application/xml", self.xml()),
        }
    }

    /// The fields in their order, written straight out (no map built first).
    fn json(&self) -> String {
        serde_json::to_string(&JsonAnswer(self)).unwrap_or_default()
    }

    fn xml(&self) -> String {
        let mut w = Writer::new(Vec::new());
        let element = |w: &mut Writer<Vec<u8>>, name: &str, text: &str| {
            // Writing to a Vec cannot fail.
            let _ = w.write_event(Event::Start(BytesStart::new(name)));
            let _ = w.write_event(Event::Text(BytesText::new(text)));
            let _ = w.write_event(Event::End(BytesEnd::new(name)));
        };
        let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
        let _ = w.write_event(Event::Start(BytesStart::new("faspay")));
        for (key, value) in &self.0 {
            match value {
                Value::Text(t) => element(&mut w, key, t),
                Value::List(records) => {
                    for r in records {
                        let _ = w.write_event(Event::Start(BytesStart::new(key.as_ref())));
                        for (k, v) in r {
                            element(&mut w, k, v);
                        }
                        let _ = w.write_event(Event::End(BytesEnd::new(key.as_ref())));
                    }
                }
            }
        }
        let _ = w.write_event(Event::End(BytesEnd::new("faspay")));
        String::from_utf8(w.into_inner()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_in_both_syntaxes() {
        let e = DebitError::BAD_SIGNATURE;
        let (kind, json) = Answer::refusal(&e).render(Syntax::Json);
        assert_eq!(kind, "application/json");
        assert_eq!(
            json,
            r#"{"response_error":{"response_code":"55","response_desc":"Incorrect User/Password"}}"#
        );
        let (_, xml) = Answer::refusal(&e.with_detail("a < b")).render(Syntax::Xml);
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><faspay><response_error><response_code>55</response_code>\
             <response_desc>Incorrect User/Password: a &lt; b</response_desc></response_error></faspay>"
        );
    }

    #[test]
    fn lists_are_arrays_in_json_and_repeated_elements_in_xml() {
        let a = Answer::default().text("merchant_id", "99999").list(
            "payment_channel",
            vec![
                vec![
                    ("pg_code".into(), "801".into()),
                    ("pg_name".into(), "BNI".into()),
                ],
                vec![
                    ("pg_code".into(), "707".into()),
                    ("pg_name".into(), "Alfa".into()),
                ],
            ],
        );
        let (_, json) = a.render(Syntax::Json);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["payment_channel"][1]["pg_code"], "707");
        let (_, xml) = a.render(Syntax::Xml);
        assert_eq!(xml.matches("<payment_channel>").count(), 2);
        let (_, back) = super::super::message::read(xml.as_bytes()).unwrap();
        assert_eq!(back.get("merchant_id"), Some("99999"));
    }
}
