//! Readers of request fields that several SendMe services share: the echo kept
//! for answers, `callback_url`, and optional timestamps.

use gerbang_core::values::HttpUrl;
use gerbang_core::Document;
use gerbang_protocol::sendme::auth::parse_timestamp;
use gerbang_protocol::sendme::envelope::SendmeError;
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

/// `callback_url`: an http(s) URL; `required` or else optional.
pub(super) fn callback_url(f: &Fields, required: bool) -> Result<Option<String>, SendmeError> {
    let url = if required {
        Some(f.required("callback_url", 255)?)
    } else {
        f.optional("callback_url", 255)?
    };
    url.map(|url| {
        HttpUrl::parse(&url, 255)
            .map(HttpUrl::into_string)
            .map_err(|_| {
                SendmeError::INVALID_BODY.with_detail("callback_url: an http:// or https:// URL")
            })
    })
    .transpose()
}

/// An optional `Y-m-d H:i:s` field (Jakarta time); empty counts as absent.
pub(super) fn timestamp_field(
    f: &Fields,
    name: &str,
) -> Result<Option<(String, gerbang_core::Timestamp)>, SendmeError> {
    match f.optional(name, 19)? {
        None => Ok(None),
        Some(text) => match parse_timestamp(&text) {
            Some(at) => Ok(Some((text, at))),
            None => Err(SendmeError::INVALID_BODY.with_detail(format!("{name}: Y-m-d H:i:s"))),
        },
    }
}
