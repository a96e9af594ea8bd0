//! A SNAP request body read field by field (spec §5, §6, §7): each field named by
//! its dotted path (`amount.value`, `additionalInfo.sourceAccount`), so an error
//! says which one — missing (`400xx02`) or malformed (`400xx01`). An empty string
//! is an absent field, as the Go SDK sends every optional field as `""`.

use gerbang_core::values::HttpUrl;
use gerbang_core::Timestamp;
use serde_json::{Map, Value};

/// Why a field was refused, with its path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldError {
    /// Absent, empty or `null`: `400xx02`.
    Missing(String),
    /// Present but not of the field's form: `400xx01`.
    Format(String),
    /// An amount of the right form above what the gateway moves at once: `403xx02`.
    AboveLimit(String),
}

/// Longest amount value: `"99999999999999.99"` is 16 characters with its dot.
pub const MAX_AMOUNT_CHARS: usize = 16;

/// A request body: a JSON object.
#[derive(Clone, Debug)]
pub struct Body(Map<String, Value>);

impl Body {
    /// The object `bytes` hold; `None` when they are not JSON, not an object, or
    /// an object in them repeats a key (which copy counts is not agreed on).
    pub fn parse(bytes: &[u8]) -> Option<Body> {
        match crate::json::parse(bytes).ok()? {
            Value::Object(m) => Some(Body(m)),
            _ => None,
        }
    }

    /// The value at `path`, unless absent, `null` or `""`.
    fn get(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let mut at = self.0.get(parts.next()?)?;
        for part in parts {
            at = at.as_object()?.get(part)?;
        }
        match at {
            Value::Null => None,
            Value::String(s) if s.is_empty() => None,
            v => Some(v),
        }
    }

    /// An optional text of at most `max_chars` characters, without control characters.
    pub fn text(&self, path: &str, max_chars: usize) -> Result<Option<String>, FieldError> {
        match self.get(path) {
            None => Ok(None),
            Some(Value::String(s))
                if s.chars().count() <= max_chars && !s.chars().any(char::is_control) =>
            {
                Ok(Some(s.clone()))
            }
            Some(_) => Err(FieldError::Format(path.into())),
        }
    }

    /// A mandatory text.
    pub fn required(&self, path: &str, max_chars: usize) -> Result<String, FieldError> {
        self.text(path, max_chars)?
            .ok_or_else(|| FieldError::Missing(path.into()))
    }

    /// A mandatory text of digits only.
    pub fn digits(&self, path: &str, max_chars: usize) -> Result<String, FieldError> {
        let text = self.required(path, max_chars)?;
        if text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(text)
        } else {
            Err(FieldError::Format(path.into()))
        }
    }

    /// An optional whole number in `1..=max`, sent as a JSON integer or as a text
    /// of digits (clients do both).
    pub fn count(&self, path: &str, max: u32) -> Result<Option<u32>, FieldError> {
        let n = match self.get(path) {
            None => return Ok(None),
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) if s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse::<u64>().ok()
            }
            Some(_) => None,
        };
        match n {
            Some(n) if (1..=u64::from(max)).contains(&n) => Ok(Some(n as u32)),
            _ => Err(FieldError::Format(path.into())),
        }
    }

    /// An optional ISO-8601 instant, read leniently (`Z`, fractions, no seconds),
    /// written back as SNAP writes one (`2020-12-17T10:55:00+07:00`, spec §6.2)
    /// beside the instant itself.
    pub fn instant(&self, path: &str) -> Result<Option<(String, Timestamp)>, FieldError> {
        match self.text(path, 40)? {
            None => Ok(None),
            Some(text) => match super::timestamp::parse(&text) {
                Some(at) => Ok(Some((super::render::instant(at), at))),
                None => Err(FieldError::Format(path.into())),
            },
        }
    }

    /// An optional http(s) URL.
    pub fn url(&self, path: &str, max_chars: usize) -> Result<Option<HttpUrl>, FieldError> {
        match self.text(path, max_chars)? {
            None => Ok(None),
            Some(text) => HttpUrl::parse(&text, max_chars)
                .map(Some)
                .map_err(|_| FieldError::Format(path.into())),
        }
    }

    /// A mandatory amount object `{"value": "10000.00", "currency": "IDR"}`, in sen:
    /// more than nothing (its limit is [`within_limit`]'s, a later rule).
    pub fn amount(&self, path: &str) -> Result<i64, FieldError> {
        let value_path = format!("{path}.value");
        let currency_path = format!("{path}.currency");
        match self.get(path) {
            None => return Err(FieldError::Missing(path.into())),
            Some(Value::Object(_)) => {}
            Some(_) => return Err(FieldError::Format(path.into())),
        }
        let value = match self.get(&value_path) {
            None => return Err(FieldError::Missing(value_path)),
            Some(Value::String(s)) => s,
            Some(_) => return Err(FieldError::Format(value_path)),
        };
        // Above zero; whether the gateway moves that much is a rule checked once
        // the whole body is read ([`within_limit`]).
        let minor = parse_amount(value)
            .filter(|m| *m >= 1)
            .ok_or(FieldError::Format(value_path))?;
        match self.get(&currency_path) {
            None => Err(FieldError::Missing(currency_path)),
            Some(Value::String(c)) if c == "IDR" => Ok(minor),
            Some(_) => Err(FieldError::Format(currency_path)),
        }
    }

    /// The length of the array at `path` and its items as bodies of their own;
    /// `None` when absent.
    pub fn items(&self, path: &str) -> Result<Option<Vec<Body>>, FieldError> {
        match self.get(path) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::Object(m) => Ok(Body(m.clone())),
                    _ => Err(FieldError::Format(format!("{path}[{i}]"))),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(FieldError::Format(path.into())),
        }
    }

    /// The object at `path`, or an array of objects (as `originatorInfos` comes
    /// both ways), kept as sent; `None` when absent.
    pub fn object_or_array(&self, path: &str) -> Result<Option<Value>, FieldError> {
        match self.get(path) {
            None => Ok(None),
            Some(v @ Value::Object(_)) => Ok(Some(v.clone())),
            Some(Value::Array(items)) if items.iter().all(Value::is_object) => {
                Ok(Some(Value::Array(items.clone())))
            }
            Some(_) => Err(FieldError::Format(path.into())),
        }
    }
}

/// Whether the gateway moves `minor` (the amount the field at `path` names, or
/// a sum of amounts) at once; above it is `403xx02`, checked once the body's
/// form is known to be good (spec §8).
pub fn within_limit(minor: i64, path: &str) -> Result<(), FieldError> {
    if minor > gerbang_core::values::Amount::MAX_MINOR {
        Err(FieldError::AboveLimit(path.to_string()))
    } else {
        Ok(())
    }
}

/// An amount value with exactly two decimals and no leading zeros
/// (`^(0|[1-9][0-9]{0,13})\.[0-9]{2}$`), in sen.
pub fn parse_amount(text: &str) -> Option<i64> {
    if text.len() > MAX_AMOUNT_CHARS {
        return None;
    }
    let (whole, cents) = text.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || cents.len() != 2 || !digits(cents) {
        return None;
    }
    if whole.len() > 1 && whole.starts_with('0') {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let cents: i64 = cents.parse().ok()?;
    whole.checked_mul(100)?.checked_add(cents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_two_decimal_strings() {
        for (text, minor) in [
            ("10000.00", Some(1_000_000)),
            ("0.01", Some(1)),
            ("0.00", Some(0)),
            ("99999999999999.99", None),
            ("9999999999999.99", Some(999_999_999_999_999)),
            ("10000", None),
            ("10000.0", None),
            ("10000.000", None),
            ("010.00", None),
            ("-1.00", None),
            ("1e3.00", None),
            (" 1.00", None),
            ("", None),
            (".50", None),
        ] {
            assert_eq!(parse_amount(text), minor, "{text:?}");
        }
    }

    #[test]
    fn fields_are_named_by_path() {
        let body = Body::parse(
            br#"{"amount":{"value":10000,"currency":"IDR"},"a":"","b":null,"c":{"d":"x"},"n":5}"#,
        )
        .unwrap();
        assert_eq!(
            body.amount("amount"),
            Err(FieldError::Format("amount.value".into()))
        );
        assert_eq!(body.text("a", 5), Ok(None));
        assert_eq!(body.text("b", 5), Ok(None));
        assert_eq!(body.required("a", 5), Err(FieldError::Missing("a".into())));
        assert_eq!(body.required("c.d", 5), Ok("x".into()));
        assert_eq!(body.text("c.d.e", 5), Ok(None));
        assert_eq!(body.text("n", 5), Err(FieldError::Format("n".into())));
        assert_eq!(
            body.required("c.d", 0),
            Err(FieldError::Format("c.d".into()))
        );
        let body = Body::parse(br#"{"amount":{"value":"1.00","currency":"USD"}}"#).unwrap();
        assert_eq!(
            body.amount("amount"),
            Err(FieldError::Format("amount.currency".into()))
        );
        let body = Body::parse(br#"{"amount":{"currency":"IDR"}}"#).unwrap();
        assert_eq!(
            body.amount("amount"),
            Err(FieldError::Missing("amount.value".into()))
        );
        let body = Body::parse(br#"{"a":"2020-12-17T03:55:00.123Z","b":"2020-12-17T10:55+07:00"}"#)
            .unwrap();
        for path in ["a", "b"] {
            assert_eq!(
                body.instant(path).unwrap().unwrap().0,
                "2020-12-17T10:55:00+07:00",
                "{path}"
            );
        }
        assert!(Body::parse(b"[1]").is_none());
        assert!(Body::parse(b"{").is_none());
        // A key given twice, at the top or inside: which copy counts is not agreed on.
        assert!(Body::parse(br#"{"a":"1","a":"2"}"#).is_none());
        assert!(Body::parse(br#"{"amount":{"value":"1.00","value":"5.00"}}"#).is_none());
    }
}
