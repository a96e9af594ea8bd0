//! Reading request fields the way clients send them: strings or numbers, names in
//! any case, unknown fields ignored.

use super::envelope::SendmeError;
use serde_json::{Map, Value};

/// Longest value accepted in any field.
pub const MAX_FIELD_CHARS: usize = 1024;

/// A request body: a JSON object (an empty or absent body reads as no fields).
pub struct Fields(Map<String, Value>);

impl Fields {
    pub fn parse(body: &[u8]) -> Result<Self, SendmeError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Fields(Map::new()));
        }
        match crate::json::parse(body) {
            Ok(Value::Object(map)) => Ok(Fields(map)),
            // A key given twice: which value would count is not for the gateway to guess.
            Err(e) if e.is_data() => Err(SendmeError::INVALID_BODY.with_detail(e.to_string())),
            _ => Err(SendmeError::INVALID_BODY.with_detail("the body is not a JSON object")),
        }
    }

    pub fn raw(&self) -> &Map<String, Value> {
        &self.0
    }

    /// A field as text: strings as they are, numbers and booleans printed; null or
    /// missing is `None`.
    pub fn get(&self, name: &str) -> Option<String> {
        let value = self.0.get(name).or_else(|| {
            self.0
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })?;
        match value {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A mandatory, non-empty field of at most `max` characters.
    pub fn required(&self, name: &str, max: usize) -> Result<String, SendmeError> {
        match self.get(name).map(|v| v.trim().to_string()) {
            Some(v) if !v.is_empty() => check_len(name, v, max),
            _ => Err(mandatory(name)),
        }
    }

    /// An optional field; empty counts as absent.
    pub fn optional(&self, name: &str, max: usize) -> Result<Option<String>, SendmeError> {
        match self.get(name).map(|v| v.trim().to_string()) {
            Some(v) if !v.is_empty() => check_len(name, v, max).map(Some),
            _ => Ok(None),
        }
    }

    /// A mandatory field made of digits only.
    pub fn digits(&self, name: &str, max: usize) -> Result<String, SendmeError> {
        let v = self.required(name, max)?;
        if !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SendmeError::INVALID_BODY
                .with_detail(format!("Parameter '{name}' must be numeric")));
        }
        Ok(v)
    }
}

/// The error of a mandatory field that is missing or empty.
pub fn mandatory(name: &str) -> SendmeError {
    SendmeError::INVALID_BODY.with_detail(format!("Parameter '{name}' is mandatory"))
}

/// A text field's value: at most `max` characters, and no control character but
/// a tab or a line break (a NUL, say, which no database column takes).
fn check_len(name: &str, v: String, max: usize) -> Result<String, SendmeError> {
    if v.chars().count() > max.min(MAX_FIELD_CHARS) {
        return Err(SendmeError::INVALID_BODY.with_detail(format!(
            "Parameter '{name}' is longer than {max} characters"
        )));
    }
    if v.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(SendmeError::INVALID_BODY
            .with_detail(format!("Parameter '{name}' contains a control character")));
    }
    Ok(v)
}

pub use crate::fingerprint::fingerprint;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_strings_and_numbers_alike() {
        let f = Fields::parse(
            br#"{"trx_amount": 2500000, "trx_no": "87643666", "Virtual_Account": "99", "x": null}"#,
        )
        .unwrap();
        assert_eq!(f.get("trx_amount").as_deref(), Some("2500000"));
        assert_eq!(f.get("virtual_account").as_deref(), Some("99"));
        assert_eq!(f.get("x"), None);
        assert_eq!(f.digits("trx_no", 20).unwrap(), "87643666");
        assert!(f.required("missing", 10).is_err());
        assert!(Fields::parse(b"[1]").is_err());
        assert!(Fields::parse(b"").unwrap().raw().is_empty());
    }

    #[test]
    fn control_characters_are_refused() {
        let f = Fields::parse(br#"{"trx_no": "8764\u00003666", "remark": "line\nbreak"}"#).unwrap();
        let refused = f.required("trx_no", 20).unwrap_err();
        assert!(
            format!("{refused:?}").contains("control character"),
            "{refused:?}"
        );
        assert_eq!(f.required("remark", 20).unwrap(), "line\nbreak");
    }
}
