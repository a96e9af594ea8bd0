//! A Debit API body as the clients send it (spec §1.2, §1.4): JSON or XML,
//! whatever the Content-Type says — the first byte decides — with every scalar
//! read as text whether it came as a string, an integer or a PHP float, `item`
//! as one object, an array of them or repeated `<item>` elements, and unknown keys
//! kept aside unread. XML may not declare a DOCTYPE (no entity of its own can be
//! expanded), and a field may not be given twice — but for [`SENT_TWICE`].

use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Most `item` lines one message may carry.
pub const MAX_ITEMS: usize = 500;
/// Most characters kept of one value.
pub const MAX_VALUE_CHARS: usize = 2048;
/// Deepest XML nesting read.
const MAX_XML_DEPTH: usize = 8;
/// The scalar some clients send twice (spec §3.1): the last one is kept, as PHP
/// and JavaScript read a repeated key. No amount is computed from it; it only
/// counts in telling a repeated `bill_no` apart.
pub const SENT_TWICE: &str = "bill_gross";

/// The syntax a message came in; its answer goes back in the same one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    Json,
    Xml,
}

impl Syntax {
    /// The syntax a Content-Type names (`text/xml`, `application/xml`: XML;
    /// anything else, or none: JSON), for a body that does not tell its own.
    pub fn named_by(content_type: Option<&str>) -> Syntax {
        match content_type {
            Some(t) if t.contains("xml") => Syntax::Xml,
            _ => Syntax::Json,
        }
    }
}

/// One item line: its fields as text.
pub type Line = BTreeMap<String, String>;

/// A message's top-level scalars and its item lines, all as text. A JSON
/// scalar written without escapes is borrowed from the body rather than copied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message<'a> {
    pub scalars: BTreeMap<Cow<'a, str>, Cow<'a, str>>,
    pub items: Vec<Line>,
}

/// Why a body is no Debit message (answered with the format error).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

impl Message<'_> {
    /// A digest of the fields `counts` keeps (and of every item line's): two
    /// messages with the same digest ask for the same thing.
    pub fn fingerprint(&self, counts: &dyn Fn(&str) -> bool) -> String {
        use sha2::{Digest, Sha256};
        let mut digest = Sha256::new();
        // Lengths first, so no two different layouts hash alike.
        let mut field = |k: &str, v: &str| {
            digest.update((k.len() as u64).to_le_bytes());
            digest.update(k.as_bytes());
            digest.update((v.len() as u64).to_le_bytes());
            digest.update(v.as_bytes());
        };
        for (k, v) in self.scalars.iter().filter(|(k, _)| counts(k)) {
            field(k, v.trim());
        }
        for line in &self.items {
            field("\u{1}item", "");
            for (k, v) in line.iter().filter(|(k, _)| counts(k)) {
                field(k, v.trim());
            }
        }
        hex::encode(digest.finalize())
    }

    /// The field's text, trimmed; `None` when absent or empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.scalars
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// The syntax of `body`, from its first meaningful byte.
pub fn sniff(body: &[u8]) -> Option<Syntax> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    match body.iter().find(|b| !b.is_ascii_whitespace())? {
        b'{' => Some(Syntax::Json),
        b'<' => Some(Syntax::Xml),
        _ => None,
    }
}

/// Reads a body in the syntax it is written in.
pub fn read(body: &[u8]) -> Result<(Syntax, Message<'_>), Unreadable> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    match sniff(body) {
        Some(Syntax::Json) => read_json(body).map(|m| (Syntax::Json, m)),
        Some(Syntax::Xml) => read_xml(body).map(|m| (Syntax::Xml, m)),
        None => Err(Unreadable("the body is neither JSON nor XML".into())),
    }
}

fn clip<'a, T: Into<Cow<'a, str>>>(text: T) -> Cow<'a, str> {
    let text = text.into();
    // No more bytes than the limit is no more characters either.
    if text.len() > MAX_VALUE_CHARS && text.chars().count() > MAX_VALUE_CHARS {
        Cow::Owned(text.chars().take(MAX_VALUE_CHARS).collect())
    } else {
        text
    }
}

/// A PHP float as text: without its `.0` when it is a whole number.
fn float_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.0}")
    } else {
        serde_json::Number::from_f64(f).map_or_else(String::new, |n| n.to_string())
    }
}

/// A JSON scalar of an item line as text, by the rule of the top-level ones
/// ([`Field`]); an object or a list is none.
fn scalar_text(value: Value) -> Option<String> {
    match <Field as serde::Deserialize>::deserialize(value) {
        Ok(Field::Text(text)) => Some(text.into_owned()),
        Ok(Field::Inexact(f)) => Some(float_text(f)),
        Ok(Field::Nested(_)) | Err(_) => None,
    }
}

fn json_line(object: serde_json::Map<String, Value>) -> Line {
    object
        .into_iter()
        .filter_map(|(k, v)| scalar_text(v).map(|t| (k, t)))
        .collect()
}

/// A JSON text, borrowed from the body when it has no escapes.
#[derive(serde::Deserialize)]
#[serde(transparent)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// A JSON value: a scalar already as text, a number too large to be read
/// exactly (refused at the top level), or an object or a list (read strictly,
/// for `item`).
enum Field<'de> {
    Text(Cow<'de, str>),
    Inexact(f64),
    Nested(Value),
}

impl<'de> serde::Deserialize<'de> for Field<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> serde::de::Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Field<'de>, E> {
        Ok(Field::Text(clip(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Field<'de>, E> {
        Ok(Field::Text(clip(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Field<'de>, E> {
        Ok(Field::Text(clip(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Field<'de>, E> {
        Ok(Field::Text(Cow::Owned(v.to_string())))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Field<'de>, E> {
        Ok(Field::Text(Cow::Owned(v.to_string())))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Field<'de>, E> {
        Ok(if v.abs() >= 9.007_199_254_740_992e15 {
            Field::Inexact(v)
        } else {
            Field::Text(Cow::Owned(float_text(v)))
        })
    }

    fn visit_bool<E>(self, v: bool) -> Result<Field<'de>, E> {
        Ok(Field::Text(Cow::Borrowed(if v { "true" } else { "false" })))
    }

    fn visit_unit<E>(self) -> Result<Field<'de>, E> {
        Ok(Field::Text(Cow::Borrowed("")))
    }

    fn visit_none<E>(self) -> Result<Field<'de>, E> {
        Ok(Field::Text(Cow::Borrowed("")))
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Field<'de>, D::Error> {
        <Field as serde::Deserialize>::deserialize(d)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Field<'de>, A::Error> {
        crate::json::UniqueVisitor.visit_seq(seq).map(Field::Nested)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Field<'de>, A::Error> {
        crate::json::UniqueVisitor.visit_map(map).map(Field::Nested)
    }
}

fn read_json(body: &[u8]) -> Result<Message<'_>, Unreadable> {
    let mut reader = serde_json::Deserializer::from_slice(body);
    let message = serde::Deserializer::deserialize_any(&mut reader, MessageVisitor)
        .and_then(|m| reader.end().map(|()| m))
        .map_err(|e| Unreadable(format!("invalid JSON: {e}")))?;
    if message.items.len() > MAX_ITEMS {
        return Err(Unreadable(format!("more than {MAX_ITEMS} items")));
    }
    Ok(message)
}

/// Reads a JSON body's top-level object straight into a [`Message`]: scalars
/// as text, `item` as one object or a list of them; a repeated key anywhere is
/// refused, as [`crate::json`] does.
struct MessageVisitor;

impl<'de> serde::de::Visitor<'de> for MessageVisitor {
    type Value = Message<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("the JSON body as an object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Message<'de>, A::Error> {
        use serde::de::Error;
        let mut message = Message::default();
        // The keys that keep no scalar (an object or a list, `item`): repeating
        // one is refused as repeating a scalar's is.
        let mut unkept: std::collections::BTreeSet<Cow<'de, str>> = Default::default();
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            let value: Field<'de> = map.next_value()?;
            let again = key == SENT_TWICE && matches!(value, Field::Text(_));
            if (!again && message.scalars.contains_key(&key)) || unkept.contains(&key) {
                return Err(A::Error::custom(format_args!(
                    "the key {key:?} is repeated"
                )));
            }
            match value {
                Field::Inexact(_) => {
                    return Err(A::Error::custom(format_args!(
                        "{key}: a number too large to be read exactly; send it as a string"
                    )))
                }
                Field::Nested(value) => {
                    if key == "item" {
                        match value {
                            Value::Array(list) => {
                                message
                                    .items
                                    .extend(list.into_iter().filter_map(|v| match v {
                                        Value::Object(line) => Some(json_line(line)),
                                        _ => None,
                                    }))
                            }
                            Value::Object(one) => message.items.push(json_line(one)),
                            _ => {}
                        }
                    }
                    unkept.insert(key);
                }
                Field::Text(_) if key == "item" => {
                    unkept.insert(key);
                }
                Field::Text(text) => {
                    message.scalars.insert(key, text);
                }
            }
        }
        Ok(message)
    }
}

/// Whether scalar `name` comes after a top-level element of that name (a scalar,
/// or one holding elements); [`SENT_TWICE`] may come again as a scalar.
fn given(message: &Message, unkept: &std::collections::BTreeSet<String>, name: &str) -> bool {
    unkept.contains(name) || (name != SENT_TWICE && message.scalars.contains_key(name))
}

/// Reads what follows the root element: comments and processing instructions
/// only (white space is trimmed away), up to the end.
fn after_root(reader: &mut Reader<&[u8]>) -> Result<(), Unreadable> {
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => return Ok(()),
            Ok(Event::Comment(_) | Event::PI(_)) => {}
            Ok(_) => return Err(Unreadable("the XML goes on after </faspay>".into())),
            Err(e) => return Err(Unreadable(format!("invalid XML: {e}"))),
        }
    }
}

fn read_xml(body: &[u8]) -> Result<Message<'_>, Unreadable> {
    let text = std::str::from_utf8(body).map_err(|_| Unreadable("the XML is not UTF-8".into()))?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let bad = |e: &dyn std::fmt::Display| Unreadable(format!("invalid XML: {e}"));
    let mut message = Message::default();
    // The open elements below the root, and the text of the innermost one.
    let mut path: Vec<String> = Vec::new();
    let mut text_of = String::new();
    let mut line: Option<Line> = None;
    let mut seen_root = false;
    // Whether the top-level element being read holds elements (then it is no scalar).
    let mut nested = false;
    // The top-level elements that held elements. Repeated, they are a list (not
    // read); a scalar of the same name before or after them is refused.
    let mut unkept: std::collections::BTreeSet<String> = Default::default();
    let twice = |name: &str| Unreadable(format!("<{name}> is given twice"));
    loop {
        match reader.read_event().map_err(|e| bad(&e))? {
            Event::DocType(_) => return Err(Unreadable("a DOCTYPE is not accepted".into())),
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if !seen_root {
                    if name != "faspay" {
                        return Err(Unreadable(format!(
                            "the root element is <{name}>, not <faspay>"
                        )));
                    }
                    seen_root = true;
                    continue;
                }
                if path.len() >= MAX_XML_DEPTH {
                    return Err(Unreadable("the XML is nested too deep".into()));
                }
                nested = !path.is_empty();
                if path.is_empty() && name == "item" {
                    if message.items.len() >= MAX_ITEMS {
                        return Err(Unreadable(format!("more than {MAX_ITEMS} items")));
                    }
                    line = Some(Line::new());
                }
                path.push(name);
                text_of.clear();
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if !seen_root {
                    return Err(Unreadable("the <faspay> element is empty".into()));
                }
                nested |= !path.is_empty();
                match (path.len(), line.as_mut()) {
                    (0, _) if name != "item" => {
                        if given(&message, &unkept, &name) {
                            return Err(twice(&name));
                        }
                        message.scalars.insert(Cow::Owned(name), Cow::Borrowed(""));
                    }
                    (1, Some(l)) if l.contains_key(&name) => return Err(twice(&name)),
                    (1, Some(l)) => {
                        l.insert(name, String::new());
                    }
                    _ => {}
                }
            }
            Event::Text(t) => {
                let unescaped = t.unescape().map_err(|e| bad(&e))?;
                text_of.push_str(&unescaped);
            }
            Event::CData(c) => {
                text_of.push_str(&String::from_utf8_lossy(&c.into_inner()));
            }
            Event::End(_) => {
                let Some(name) = path.pop() else {
                    // The root closes: only comments may follow, nor a second root
                    // nor text that another reader might take for the message.
                    return after_root(&mut reader).map(|()| message);
                };
                let value = clip(std::mem::take(&mut text_of));
                match (path.len(), name.as_str()) {
                    (0, "item") => message.items.extend(line.take()),
                    // An element of elements other than `item` is not read.
                    (0, _) if nested && message.scalars.contains_key(name.as_str()) => {
                        return Err(twice(&name));
                    }
                    (0, _) if nested => {
                        unkept.insert(name);
                    }
                    // As in JSON, a field given twice is no request at all.
                    (0, _) if given(&message, &unkept, &name) => return Err(twice(&name)),
                    (0, _) => {
                        message.scalars.insert(Cow::Owned(name), value);
                    }
                    (1, _) if path[0] == "item" => match line.as_mut() {
                        Some(l) if l.contains_key(&name) => return Err(twice(&name)),
                        Some(l) => {
                            l.insert(name, value.into_owned());
                        }
                        None => {}
                    },
                    _ => {}
                }
            }
            Event::Eof => return Err(Unreadable("the XML ends before </faspay>".into())),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_scalars_of_every_type_read_as_text() {
        let (syntax, m) = read(
            br#" {"merchant_id":99999,"bill_total":1000000.0,"bill_no":"AGS/2997","bill_gross":"0.00",
                 "flag":true,"none":null,"payment_channel":["711"],"item":{"product":"A","qty":1,"amount":"100"}}"#,
        )
        .unwrap();
        assert_eq!(syntax, Syntax::Json);
        assert_eq!(m.get("merchant_id"), Some("99999"));
        assert_eq!(m.get("bill_total"), Some("1000000"));
        assert_eq!(m.get("bill_gross"), Some("0.00"));
        assert_eq!(m.get("none"), None);
        assert!(!m.scalars.contains_key("payment_channel"));
        assert_eq!(m.items.len(), 1);
        assert_eq!(m.items[0]["qty"], "1");
        let (_, arrays) = read(br#"{"item":[{"product":"A"},{"product":"B"}]}"#).unwrap();
        assert_eq!(arrays.items.len(), 2);
        assert!(read(br#"{"bill_no":"1","bill_no":"2"}"#).is_err());
        assert!(read(b"[1]").is_err());
        assert!(read(b"bill_no=1").is_err());
        let (_, bom) = read(b"\xEF\xBB\xBF{\"bill_no\":\"1\"}").unwrap();
        assert_eq!(bom.get("bill_no"), Some("1"));
    }

    #[test]
    fn fingerprints_tell_requests_apart() {
        let (_, a) =
            read(br#"{"bill_no":"1","bill_total":"100","signature":"x","item":[{"a":"1"}]}"#)
                .unwrap();
        let (_, b) = read(b"<faspay><bill_no>1</bill_no><bill_total>100</bill_total><signature>y</signature><item><a>1</a></item></faspay>").unwrap();
        let (_, c) = read(br#"{"bill_no":"1","bill_total":"101","item":[{"a":"1"}]}"#).unwrap();
        let (_, d) =
            read(br#"{"bill_no":"1","bill_total":"100","item":[{"a":"1"},{"a":"1"}]}"#).unwrap();
        let counts = |k: &str| k != "signature";
        assert_eq!(
            a.fingerprint(&counts),
            b.fingerprint(&counts),
            "the syntax does not matter"
        );
        assert_ne!(a.fingerprint(&counts), c.fingerprint(&counts));
        assert_ne!(a.fingerprint(&counts), d.fingerprint(&counts));
        assert_eq!(a.fingerprint(&counts).len(), 64);
    }

    #[test]
    fn a_json_key_given_twice_is_refused_whatever_its_values() {
        for body in [
            r#"{"bill_total": {}, "bill_total": "1"}"#,
            r#"{"payment_channel": ["711"], "payment_channel": "712"}"#,
            r#"{"bill_no": "A", "bill_no": "A"}"#,
            r#"{"item": {"product": "a"}, "item": [{"product": "b"}]}"#,
            r#"{"item": [{"product": "a", "product": "b"}]}"#,
        ] {
            let refused = read(body.as_bytes()).unwrap_err();
            assert!(refused.0.contains("repeated"), "{body}: {refused}");
        }
        assert!(read(br#"{"bill_no": "A", "item": {"product": "a"}}"#).is_ok());
    }

    #[test]
    fn json_keys_and_scalars_without_escapes_are_borrowed_from_the_body() {
        let (_, m) = read(br#"{"bill_no": "A-1", "bill_desc": "a\u0020b"}"#).unwrap();
        for (key, value) in &m.scalars {
            assert!(matches!(key, Cow::Borrowed(_)), "{key}");
            let escaped = key == "bill_desc";
            assert_eq!(matches!(value, Cow::Owned(_)), escaped, "{key}: {value}");
        }
        assert_eq!(m.get("bill_desc"), Some("a b"));
    }

    #[test]
    fn bill_gross_sent_twice_is_read_as_its_last() {
        let json = read(br#"{"bill_gross": "1", "bill_no": "A", "bill_gross": 2}"#).unwrap();
        assert_eq!(json.1.get("bill_gross"), Some("2"));
        let xml =
            read(b"<faspay><bill_gross>1</bill_gross><bill_gross>2</bill_gross></faspay>").unwrap();
        assert_eq!(xml.1.get("bill_gross"), Some("2"));
        // Not as an object, nor after one.
        assert!(read(br#"{"bill_gross": "1", "bill_gross": {}}"#).is_err());
        assert!(read(br#"{"bill_gross": [], "bill_gross": "1"}"#).is_err());
        assert!(
            read(b"<faspay><bill_gross><a/></bill_gross><bill_gross>1</bill_gross></faspay>")
                .is_err()
        );
    }

    #[test]
    fn nothing_but_comments_follows_the_root() {
        let one = "<faspay><bill_no>A</bill_no></faspay>";
        assert!(read(format!("{one}\n  <!-- sent by a plugin -->\n").as_bytes()).is_ok());
        for after in [
            "<faspay><bill_total>1</bill_total></faspay>",
            "<faspay></faspay>",
            "<x/>",
            "junk",
            "<![CDATA[x]]>",
        ] {
            let refused = read(format!("{one}{after}").as_bytes()).unwrap_err();
            assert!(refused.0.contains("after </faspay>"), "{after}: {refused}");
        }
    }

    #[test]
    fn an_xml_field_given_twice_is_refused_however_it_is_written() {
        for body in [
            "<faspay><bill_no>A</bill_no><bill_no>A</bill_no></faspay>",
            "<faspay><reserve2>3_months</reserve2><reserve2/></faspay>",
            "<faspay><reserve2/><reserve2>3_months</reserve2></faspay>",
            "<faspay><bill_total><a/></bill_total><bill_total>100</bill_total></faspay>",
            "<faspay><bill_total>100</bill_total><bill_total><a/></bill_total></faspay>",
            "<faspay><item><product>a</product><product>b</product></item></faspay>",
            "<faspay><item><product>a</product><product/></item></faspay>",
        ] {
            let refused = read(body.as_bytes()).unwrap_err();
            assert!(refused.0.contains("twice"), "{body}: {refused}");
        }
        // Repeated elements of elements are a list, as in answers.
        assert!(read(
            b"<faspay><item><product>a</product></item><item><product>b</product></item></faspay>"
        )
        .is_ok());
        assert!(read(b"<faspay><x><a>1</a></x><x><b/></x></faspay>").is_ok());
    }

    #[test]
    fn xml_with_repeated_items() {
        let (syntax, m) = read(
            br#"<?xml version="1.0" encoding="UTF-8"?>
<faspay><request>Post Data Transaction</request><merchant_id>99999</merchant_id>
<bill_no>8987984789977873</bill_no><bill_desc>Tom &amp; Jerry</bill_desc><bill_reff/>
<item><product>A</product><qty>1</qty><amount>100</amount></item>
<item><product><![CDATA[B <b>]]></product><qty>2</qty><amount>200</amount></item>
</faspay>"#,
        )
        .unwrap();
        assert_eq!(syntax, Syntax::Xml);
        assert_eq!(m.get("bill_no"), Some("8987984789977873"));
        assert_eq!(m.get("bill_desc"), Some("Tom & Jerry"));
        assert_eq!(m.get("bill_reff"), None);
        assert_eq!(m.items.len(), 2);
        assert_eq!(m.items[1]["product"], "B <b>");
    }

    #[test]
    fn hostile_xml_is_refused() {
        let doctype = br#"<?xml version="1.0"?><!DOCTYPE faspay [<!ENTITY a "aaaaaaaa">]>
<faspay><bill_no>&a;</bill_no></faspay>"#;
        assert!(read(doctype).unwrap_err().0.contains("DOCTYPE"));
        assert!(read(b"<faspay><bill_no>&a;</bill_no></faspay>").is_err());
        assert!(read(b"<other><bill_no>1</bill_no></other>").is_err());
        assert!(read(b"<faspay><bill_no>1</bill_no>").is_err());
        let deep = format!("<faspay>{}{}</faspay>", "<a>".repeat(20), "</a>".repeat(20));
        assert!(read(deep.as_bytes()).is_err());
    }
}
