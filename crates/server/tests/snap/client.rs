//! A SNAP partner written from the spec, not from gerbang's code: its own
//! minifier, body hash, HMAC-SHA512 and SHA256withRSA (the `rsa` crate), sending
//! bodies the way the SDKs do (pretty-printed like the Java SDK, or with Python's
//! `", "` separators) while signing their compact form.

use crate::common::*;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::Value;
use sha2::{Digest, Sha256, Sha512};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use time::OffsetDateTime;

pub use crate::sendme_client::gateway_now;

/// `X-TIMESTAMP`'s form: `yyyy-MM-ddTHH:mm:ss+07:00`.
pub fn jakarta(at: OffsetDateTime) -> String {
    use time::macros::{format_description, offset};
    at.to_offset(offset!(+7))
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]+07:00"
        ))
        .expect("formats")
}

/// The partner's private key (PKCS#1 PEM), made for these tests.
pub const PRIVATE_KEY_PEM: &str = include_str!("partner_key.pem");

pub fn private_key() -> RsaPrivateKey {
    RsaPrivateKey::from_pkcs1_pem(PRIVATE_KEY_PEM).expect("test key")
}

pub fn public_key_pem() -> String {
    RsaPublicKey::from(&private_key())
        .to_public_key_pem(LineEnding::LF)
        .expect("public key PEM")
}

/// Whitespace outside string literals removed, nothing else touched.
pub fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

pub fn body_hash(minified: &str) -> String {
    hex::encode(Sha256::digest(minified.as_bytes()))
}

pub fn hmac_sha512(secret: &str, message: &str) -> String {
    let mut mac = Hmac::<Sha512>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

pub fn rsa_sign(key: &RsaPrivateKey, message: &str) -> String {
    let signing = SigningKey::<Sha256>::new(key.clone());
    STANDARD.encode(signing.sign(message.as_bytes()).to_bytes())
}

/// Whether `signature` (base64) signs `message` with the key in `public_pem`.
pub fn rsa_verifies(public_pem: &str, message: &str, signature: &str) -> bool {
    let key = RsaPublicKey::from_public_key_pem(public_pem).expect("public key");
    let Ok(raw) = STANDARD.decode(signature) else {
        return false;
    };
    let Ok(signature) = Signature::try_from(raw.as_slice()) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key)
        .verify(message.as_bytes(), &signature)
        .is_ok()
}

/// A SNAP answer: status, body, and the gateway's `X-TIMESTAMP`.
#[derive(Debug)]
pub struct SnapReply {
    pub status: u16,
    pub body: Value,
    pub timestamp: Option<String>,
}

impl SnapReply {
    /// Asserts the response code (and that the HTTP status is its first three
    /// digits); returns the body.
    #[track_caller]
    pub fn expect(&self, code: &str) -> &Value {
        assert_eq!(self.body["responseCode"], code, "{}", self.body);
        assert_eq!(
            self.status.to_string(),
            code[..3],
            "HTTP status is the code's first three digits: {}",
            self.body
        );
        &self.body
    }

    pub fn message(&self) -> &str {
        self.body["responseMessage"].as_str().unwrap_or_default()
    }
}

/// How a request's body goes on the wire (it is always signed compact).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    /// As signed.
    Compact,
    /// Java SDK: pretty-printed.
    Pretty,
}

/// One SNAP partner.
pub struct Partner {
    pub api: Api,
    pub partner_id: String,
    pub key: RsaPrivateKey,
    /// Set for a symmetric partner.
    pub secret: Option<String>,
    /// `"/account"` (SendMe SDKs) or `""`.
    pub prefix: &'static str,
    pub token: Mutex<Option<String>>,
    next_external_id: AtomicU64,
}

impl Partner {
    pub fn new(api: Api, partner_id: &str, secret: Option<&str>, prefix: &'static str) -> Partner {
        Partner {
            api,
            partner_id: partner_id.into(),
            key: private_key(),
            secret: secret.map(str::to_string),
            prefix,
            token: Mutex::new(None),
            next_external_id: AtomicU64::new(
                OffsetDateTime::now_utc().unix_timestamp() as u64 * 1000,
            ),
        }
    }

    pub fn external_id(&self) -> String {
        format!(
            "{}{}",
            self.partner_id,
            self.next_external_id.fetch_add(1, Ordering::Relaxed)
        )
    }

    pub async fn timestamp(&self) -> String {
        jakarta(gateway_now(&self.api).await)
    }

    /// Sends `headers` and `body` to `path` as is.
    pub async fn send(&self, path: &str, headers: &[(String, String)], body: String) -> SnapReply {
        let mut request = self
            .api
            .http
            .post(self.api.url(path))
            .timeout(Duration::from_secs(20))
            .body(body);
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request.send().await.expect("SNAP answer");
        let status = response.status().as_u16();
        let timestamp = response
            .headers()
            .get("x-timestamp")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = response.text().await.expect("answer body");
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("SNAP answer is not JSON ({e}): {status} {text}"));
        SnapReply {
            status,
            body,
            timestamp,
        }
    }

    /// The token request's headers and body.
    pub async fn token_request(&self) -> (Vec<(String, String)>, String) {
        let timestamp = self.timestamp().await;
        let signature = rsa_sign(&self.key, &format!("{}|{timestamp}", self.partner_id));
        (
            vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-TIMESTAMP".into(), timestamp),
                ("X-CLIENT-KEY".into(), self.partner_id.clone()),
                ("X-SIGNATURE".into(), signature),
            ],
            r#"{"grantType":"client_credentials","additionalInfo":{}}"#.into(),
        )
    }

    /// Asks for a B2B token and keeps it.
    pub async fn get_token(&self) -> String {
        let (headers, body) = self.token_request().await;
        let reply = self.send("/v1.0/access-token/b2b", &headers, body).await;
        let body = reply.expect("2007300");
        assert_eq!(body["expiresIn"], "900");
        assert_eq!(body["tokenType"], "Bearer");
        let token = body["accessToken"].as_str().expect("token").to_string();
        *self.token.lock().unwrap() = Some(token.clone());
        token
    }

    /// The signed headers of a request to `path` (as on the wire) with `body`.
    pub async fn signed_headers(&self, path: &str, body: &Value) -> Vec<(String, String)> {
        self.signed_text_headers(path, &body.to_string()).await
    }

    /// The signed headers of a request to `path` whose body is `text`.
    pub async fn signed_text_headers(&self, path: &str, text: &str) -> Vec<(String, String)> {
        let timestamp = self.timestamp().await;
        let hash = body_hash(&minify(text));
        let mut headers = vec![
            ("Content-Type".into(), "application/json".into()),
            ("X-TIMESTAMP".into(), timestamp.clone()),
            ("X-PARTNER-ID".into(), self.partner_id.clone()),
            ("X-EXTERNAL-ID".into(), self.external_id()),
            ("CHANNEL-ID".into(), "88001".into()),
        ];
        let signature = match &self.secret {
            Some(secret) => {
                let token = self.token.lock().unwrap().clone().unwrap_or_default();
                headers.push(("Authorization".into(), format!("Bearer {token}")));
                hmac_sha512(secret, &format!("POST:{path}:{token}:{hash}:{timestamp}"))
            }
            None => rsa_sign(&self.key, &format!("POST:{path}:{hash}:{timestamp}")),
        };
        headers.push(("X-SIGNATURE".into(), signature));
        headers
    }

    /// Calls service `suffix` (`/transfer-interbank`) with `body`, signed, as `wire`.
    pub async fn call_as(&self, suffix: &str, body: &Value, wire: Wire) -> SnapReply {
        let path = format!("{}/v1.0{suffix}", self.prefix);
        let headers = self.signed_headers(&path, body).await;
        let text = match wire {
            Wire::Compact => body.to_string(),
            Wire::Pretty => serde_json::to_string_pretty(body).unwrap(),
        };
        self.send(&path, &headers, text).await
    }

    pub async fn call(&self, suffix: &str, body: &Value) -> SnapReply {
        self.call_as(suffix, body, Wire::Pretty).await
    }
}
