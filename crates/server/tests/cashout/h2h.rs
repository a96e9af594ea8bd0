//! A host-to-host client as a store's point of sale or an ATM switch would write
//! it from docs/cashout-networks.md: every call a signed `POST
//! /h2h/v1/<network>/<operation>`. It shares no code with the gateway: the
//! signature is computed here with the RustCrypto crates.
//!
//! `X-Gerbang-Signature` = lowercase hex HMAC-SHA256 keyed with the network's
//! secret over `POST\n<path>\n<timestamp>\n<hex SHA-256 of the body>`;
//! `X-Gerbang-Timestamp` is RFC 3339 with an offset, from the system clock.

use crate::common::{Api, Reply};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::macros::offset;
use time::OffsetDateTime;

pub const KEY_HEADER: &str = "X-Gerbang-Key";
pub const TIMESTAMP_HEADER: &str = "X-Gerbang-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Gerbang-Signature";

/// The signature of one request.
pub fn signature(secret: &str, method: &str, path: &str, timestamp: &str, body: &[u8]) -> String {
    let body_hash = hex::encode(Sha256::digest(body));
    let text = format!("{method}\n{path}\n{timestamp}\n{body_hash}");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(text.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// RFC 3339 in Jakarta time, `seconds` from the system clock (which the gateway
/// checks the timestamp against, whatever its sandbox clock says).
pub fn timestamp_in(seconds: i64) -> String {
    (OffsetDateTime::now_utc() + time::Duration::seconds(seconds))
        .to_offset(offset!(+7))
        .replace_nanosecond(0)
        .expect("zero nanoseconds")
        .format(&Rfc3339)
        .expect("formats")
}

/// One network's client.
#[derive(Clone)]
pub struct H2h {
    pub api: Api,
    /// The path segment: `alfamart`, `indomaret`, `permata`.
    pub network: String,
    pub key: String,
    pub secret: String,
}

impl H2h {
    /// The network's built-in sandbox credential: key = the path segment,
    /// secret = `sandbox-<segment>-secret`.
    pub fn sandbox(api: &Api, network: &str) -> H2h {
        H2h {
            api: api.clone(),
            network: network.into(),
            key: network.into(),
            secret: format!("sandbox-{network}-secret"),
        }
    }

    pub fn path(&self, operation: &str) -> String {
        format!("/h2h/v1/{}/{operation}", self.network)
    }

    /// The three headers of a request to `path` with `body`, signed now.
    pub fn headers(&self, path: &str, body: &[u8]) -> Vec<(String, String)> {
        let timestamp = timestamp_in(0);
        vec![
            (KEY_HEADER.into(), self.key.clone()),
            (
                SIGNATURE_HEADER.into(),
                signature(&self.secret, "POST", path, &timestamp, body),
            ),
            (TIMESTAMP_HEADER.into(), timestamp),
        ]
    }

    /// Posts `body` to `path` with exactly these headers. `Err` when no usable
    /// answer came (the connection was cut before or while the body was read).
    pub async fn send_raw(
        &self,
        path: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<Reply, String> {
        let mut builder = self
            .api
            .http
            .post(self.api.url(path))
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        let response = builder
            .body(body)
            .send()
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        Api::try_read(response)
            .await
            .map_err(|e| format!("POST {path}: answer cut: {e}"))
    }

    /// A correctly signed call of `operation`; `Err` when no usable answer came.
    pub async fn try_call(&self, operation: &str, body: &Value) -> Result<Reply, String> {
        let path = self.path(operation);
        let bytes = body.to_string().into_bytes();
        let headers = self.headers(&path, &bytes);
        self.send_raw(&path, &headers, bytes).await
    }

    /// A correctly signed call of `operation`; panics when no answer came.
    pub async fn call(&self, operation: &str, body: &Value) -> Reply {
        self.try_call(operation, body)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A business call: HTTP 200 with a JSON body carrying a `response_code`.
    pub async fn business(&self, operation: &str, body: &Value) -> Value {
        let reply = self.call(operation, body).await;
        assert!(
            reply.content_type.starts_with("application/json"),
            "{} {operation} answered as {:?}: {}",
            self.network,
            reply.content_type,
            reply.text
        );
        let answer = reply.expect(200);
        assert!(
            answer["response_code"].is_string(),
            "{} {operation}: no response_code: {answer}",
            self.network
        );
        assert!(answer["message"].is_string(), "{answer}");
        answer
    }

    pub async fn inquiry(&self, reference: &str, code: &str, phone: &str) -> Value {
        self.business(
            "inquiry",
            &json!({ "reference": reference, "code": code, "phone": phone }),
        )
        .await
    }

    pub fn payment_body(reference: &str, code: &str, phone: &str, amount_rupiah: i64) -> Value {
        json!({
            "reference": reference,
            "code": code,
            "phone": phone,
            "amount": amount_rupiah,
            "terminal": "TERM-JKT-0042",
        })
    }

    pub async fn payment(
        &self,
        reference: &str,
        code: &str,
        phone: &str,
        amount_rupiah: i64,
    ) -> Value {
        self.business(
            "payment",
            &Self::payment_body(reference, code, phone, amount_rupiah),
        )
        .await
    }

    pub async fn reversal(&self, reference: &str) -> Value {
        self.business("reversal", &json!({ "reference": reference }))
            .await
    }

    pub async fn advice(&self, reference: &str) -> Value {
        self.business("advice", &json!({ "reference": reference }))
            .await
    }
}

/// Asserts a business answer's response code.
#[track_caller]
pub fn assert_code(answer: &Value, code: &str) {
    assert_eq!(answer["response_code"], code, "{answer}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_lowercase_hex_hmac_over_the_documented_text() {
        // h=$(printf '{}' | sha256sum | cut -d' ' -f1)
        // printf 'POST\n/h2h/v1/alfamart/payment\n2026-11-22T10:15:00+07:00\n%s' "$h" \
        //   | openssl dgst -sha256 -hmac sandbox-alfamart-secret
        let sig = signature(
            "sandbox-alfamart-secret",
            "POST",
            "/h2h/v1/alfamart/payment",
            "2026-11-22T10:15:00+07:00",
            b"{}",
        );
        assert_eq!(
            sig,
            "3ddd99110fe0d244a27e253d7365ce23b688135dd3afd1c0396e941dd224480e"
        );
    }
}
