//! [`Document`]: a JSON document kept as its text. Records and what they embed
//! travel between the layers and the database as text, so a document is
//! serialised once when it is written and decoded once, straight into its type,
//! when it is read — never through an intermediate tree of values.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A JSON document as text; serialises as the JSON it holds, not as a string.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Document(Box<RawValue>);

impl Document {
    /// `value` as a document.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Document {
        // Only maps with non-string keys fail to serialise; no document has one.
        Document(serde_json::value::to_raw_value(value).expect("serialisable as JSON"))
    }

    /// Text read back from the database (written by [`Document::of`]); text that is
    /// not JSON (a hand-edited row) reads as `null`.
    pub fn from_stored(text: String) -> Document {
        RawValue::from_string(text)
            .map(Document)
            .unwrap_or_else(|_| Document::of(&serde_json::Value::Null))
    }

    /// The document decoded as `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_str(self.0.get())
    }

    /// The document as a tree of values, for readers that pick single fields.
    pub fn value(&self) -> serde_json::Value {
        self.decode().unwrap_or(serde_json::Value::Null)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }
}

impl From<serde_json::Value> for Document {
    fn from(value: serde_json::Value) -> Document {
        Document::of(&value)
    }
}

/// Equal when they hold the same JSON, whatever the spacing or key order.
impl PartialEq for Document {
    fn eq(&self, other: &Document) -> bool {
        self.as_str() == other.as_str() || self.value() == other.value()
    }
}

impl PartialEq<serde_json::Value> for Document {
    fn eq(&self, other: &serde_json::Value) -> bool {
        &self.value() == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_the_json_it_was_given_and_decodes_it() {
        let d = Document::of(&json!({"b": 1, "a": [true, null]}));
        assert_eq!(d.as_str(), r#"{"a":[true,null],"b":1}"#);
        assert_eq!(d.value(), json!({"a": [true, null], "b": 1}));
        let embedded = serde_json::to_string(&json!({ "doc": d })).unwrap();
        assert_eq!(embedded, r#"{"doc":{"a":[true,null],"b":1}}"#);
    }

    #[test]
    fn equal_whatever_the_spacing() {
        let stored = Document::from_stored(r#"{ "a" : 1, "b": "x" }"#.into());
        assert_eq!(stored, Document::of(&json!({"b": "x", "a": 1})));
        assert_ne!(stored, Document::of(&json!({"a": 2, "b": "x"})));
    }

    #[test]
    fn text_that_is_not_json_reads_as_null() {
        assert_eq!(
            Document::from_stored("{broken".into()),
            serde_json::Value::Null
        );
    }
}
