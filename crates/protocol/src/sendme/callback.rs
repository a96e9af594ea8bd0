//! The transfer notification SendMe POSTs to a partner's `callback_url`, and its
//! signature:
//!
//! ```text
//! body_hash     = UPPER(hex(SHA-256(body without '\r' '\n' '\t' ' ')))   (body without "signature")
//! authorization = Base64(client_key ":" client_secret)
//! StringToSign  = app_key ":" "POST" ":" authorization ":" body_hash
//! signature     = lowercase hex(HMAC-SHA256(StringToSign, app_secret))
//! ```

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The signature of a callback body serialised without its `signature` field.
pub fn signature(
    body_without_signature: &str,
    app_key: &str,
    app_secret: &str,
    client_key: &str,
    client_secret: &str,
) -> String {
    // Whitespace is ASCII: dropping its bytes keeps the rest whole.
    let compact: Vec<u8> = body_without_signature
        .bytes()
        .filter(|b| !matches!(b, b'\r' | b'\n' | b'\t' | b' '))
        .collect();
    let body_hash = hex::encode_upper(Sha256::digest(&compact));
    let authorization = STANDARD.encode(format!("{client_key}:{client_secret}"));
    let string_to_sign = format!("{app_key}:POST:{authorization}:{body_hash}");
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).expect("any key length");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The body with its `signature` field added last.
pub fn signed_body(
    mut fields: Map<String, Value>,
    app_key: &str,
    app_secret: &str,
    client_key: &str,
    client_secret: &str,
) -> String {
    fields.remove("signature");
    let unsigned = serde_json::to_string(&fields).expect("a JSON object serialises");
    let sig = signature(&unsigned, app_key, app_secret, client_key, client_secret);
    fields.insert("signature".into(), sig.into());
    Value::Object(fields).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_does_not_change_the_signature() {
        let a = signature(r#"{"a":"1","b":"x"}"#, "k", "s", "ck", "cs");
        let b = signature("{ \"a\": \"1\",\n \"b\":\t\"x\" }", "k", "s", "ck", "cs");
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(a, signature(r#"{"a":"2","b":"x"}"#, "k", "s", "ck", "cs"));
    }
}
