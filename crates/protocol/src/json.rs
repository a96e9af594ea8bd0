//! JSON read strictly: a key repeated in any object of a body is refused. A proxy
//! or validator in front of the gateway that reads the first of two
//! `"trx_amount"`s would see another request than the one the gateway carries out
//! (JSON parsers disagree on which one wins), so such a body is no request at all.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// `bytes` as a JSON value, refused if any object in it repeats a key.
pub fn parse(bytes: &[u8]) -> serde_json::Result<Value> {
    serde_json::from_slice::<Unique>(bytes).map(|u| u.0)
}

/// A JSON value read strictly (no repeated keys), for readers of their own.
pub(crate) struct Unique(pub(crate) Value);

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor).map(Unique)
    }
}

/// The visitor of [`Unique`], for readers that meet a nested value themselves.
pub(crate) struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Unique::deserialize(d).map(|u| u.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Unique(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut m = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Unique(v) = map.next_value()?;
            if m.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "the key {key:?} is repeated"
                )));
            }
            m.insert(key, v);
        }
        Ok(Value::Object(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn repeated_keys_are_refused_at_any_depth() {
        assert_eq!(
            parse(br#"{"a": 1, "b": [1, {"c": null}], "d": 1.5, "e": "x"}"#).unwrap(),
            json!({"a": 1, "b": [1, {"c": null}], "d": 1.5, "e": "x"})
        );
        let e = parse(br#"{"trx_amount": 1, "trx_amount": 2}"#).unwrap_err();
        assert!(e.to_string().contains("\"trx_amount\" is repeated"), "{e}");
        assert!(parse(br#"{"a": {"b": 1, "b": 1}}"#).is_err());
        assert!(parse(br#"[{"a": 1, "a": 1}]"#).is_err());
        assert!(
            parse(br#"{"a": 1, "A": 2}"#).is_ok(),
            "keys are case-sensitive JSON"
        );
        assert!(parse(b"{\"a\":1").is_err());
    }
}
