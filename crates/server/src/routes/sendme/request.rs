//! The echo of a request that SendMe answers repeat.

use gerbang_core::Document;
use gerbang_protocol::sendme::fields::Fields;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// Fields of the request that the transfer answer fills from the transfer itself
/// (the partner's own virtual account, the amount as a number, the description as
/// cut), so they are not stored with the echo.
const FILLED_IN: [&str; 3] = ["virtual_account", "trx_amount", "trx_desc"];

/// The request's fields as the answer echoes them, less those it fills in.
pub(super) fn echo(f: &Fields) -> Document {
    struct Echo<'a>(&'a Map<String, Value>);
    impl Serialize for Echo<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(None)?;
            for (k, v) in self
                .0
                .iter()
                .filter(|(k, _)| !FILLED_IN.contains(&k.as_str()))
            {
                map.serialize_entry(k, v)?;
            }
            map.end()
        }
    }
    Document::of(&Echo(f.raw()))
}
