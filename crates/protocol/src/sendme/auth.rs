//! Verification of the four `faspay-*` headers, accepting everything the official
//! SDKs send and nothing else:
//!
//! - `faspay-key` names the partner;
//! - `faspay-authorization` = AES(app_key ":" app_secret);
//! - `faspay-timestamp` = `Y-m-d H:i:s`, no zone (Asia/Jakarta);
//! - `faspay-signature` = AES(METHOD ":" PATH ":" TIMESTAMP ":" TOKEN ":" BODY) with
//!   TOKEN = Base64(client_key ":" client_secret [":" access_token]).
//!
//! What the SDKs really do, and this accepts: the token request's signature names the
//! path of the service about to be called (not `/account/api/tokens`) and `GET` even
//! when posted; services are signed with their canonical method and bare path even
//! when the request is a POST to a path with values appended; BODY is empty.

use super::crypto::AesKey;
use super::token::{TokenError, TokenKey, SENDME};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gerbang_core::timestamp::JAKARTA;
use gerbang_core::Timestamp;
use subtle::ConstantTimeEq;
use time::macros::format_description;
use time::PrimitiveDateTime;

/// A partner's secrets, as provisioned.
pub struct Credentials<'a> {
    pub virtual_account: &'a str,
    pub faspay_secret: &'a str,
    pub iv: &'a str,
    pub app_key: &'a str,
    pub app_secret: &'a str,
    pub client_key: &'a str,
    pub client_secret: &'a str,
}

/// What the request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `/account/api/tokens`.
    Tokens,
    /// A service, by its bare path and canonical method.
    Service {
        path: &'static str,
        method: &'static str,
    },
}

pub struct Headers<'a> {
    pub authorization: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// Why a request was refused. All of them answer "Unauthorized" on the wire; the
/// reason is for the gateway's log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("faspay-authorization does not match the partner's app key and secret")]
    BadAuthorization,
    #[error("faspay-timestamp is not Y-m-d H:i:s")]
    BadTimestamp,
    #[error("faspay-timestamp is too far from the gateway's clock")]
    StaleTimestamp,
    #[error("faspay-signature does not decrypt with the partner's secret")]
    UndecryptableSignature,
    #[error("faspay-signature is not METHOD:PATH:TIMESTAMP:TOKEN:BODY")]
    MalformedSignature,
    #[error("the signature's timestamp differs from faspay-timestamp")]
    TimestampMismatch,
    #[error("the signature's client key or secret is wrong")]
    BadClientCredentials,
    #[error("an access token was expected and none was given")]
    MissingToken,
    #[error("access token refused: {0}")]
    Token(#[from] TokenError),
    #[error("the signature names another service ({0})")]
    WrongPath(String),
    #[error("the signature names another method ({0})")]
    WrongMethod(String),
}

/// Parses `Y-m-d H:i:s` as Asia/Jakarta wall-clock time.
pub fn parse_timestamp(text: &str) -> Option<Timestamp> {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let local = PrimitiveDateTime::parse(text, &format).ok()?;
    Some(Timestamp::from_offset_date_time(
        local.assume_offset(JAKARTA),
    ))
}

fn normalise(path: &str) -> String {
    path.trim_end_matches('/').to_ascii_lowercase()
}

pub struct Verifier<'a> {
    pub token_key: &'a TokenKey,
    /// Largest difference allowed between `faspay-timestamp` and the gateway's clock;
    /// `None` accepts any (partners' clocks may run on UTC).
    pub max_skew_seconds: Option<i64>,
}

impl Verifier<'_> {
    /// Checks a request's headers for `endpoint`, received as `method` on `path`.
    pub fn verify(
        &self,
        creds: &Credentials<'_>,
        headers: &Headers<'_>,
        endpoint: Endpoint,
        method: &str,
        path: &str,
        now: Timestamp,
    ) -> Result<(), AuthError> {
        let aes = AesKey::derive(creds.faspay_secret, creds.iv);
        let authorization = headers
            .authorization
            .ok_or(AuthError::MissingHeader("faspay-authorization"))?;
        let expected = aes.encrypt_b64(&format!("{}:{}", creds.app_key, creds.app_secret));
        if !bool::from(expected.as_bytes().ct_eq(authorization.trim().as_bytes())) {
            return Err(AuthError::BadAuthorization);
        }

        let timestamp = headers
            .timestamp
            .ok_or(AuthError::MissingHeader("faspay-timestamp"))?
            .trim();
        let at = parse_timestamp(timestamp).ok_or(AuthError::BadTimestamp)?;
        if let Some(max) = self.max_skew_seconds {
            if (at.unix_seconds() - now.unix_seconds()).abs() > max {
                return Err(AuthError::StaleTimestamp);
            }
        }

        let signature = headers
            .signature
            .ok_or(AuthError::MissingHeader("faspay-signature"))?;
        let plain = aes
            .decrypt_b64(signature)
            .ok_or(AuthError::UndecryptableSignature)?;
        let (signed_method, rest) = plain.split_once(':').ok_or(AuthError::MalformedSignature)?;
        let (signed_path, rest) = rest.split_once(':').ok_or(AuthError::MalformedSignature)?;
        // The timestamp holds two colons of its own: take it by length.
        let signed_ts = rest.get(..19).ok_or(AuthError::MalformedSignature)?;
        let rest = match rest.get(19..) {
            Some(r) if r.starts_with(':') => &r[1..],
            _ => return Err(AuthError::MalformedSignature),
        };
        if signed_ts != timestamp {
            return Err(AuthError::TimestampMismatch);
        }
        // BODY is empty in every SDK; other values (doc variants) are not refused.
        let token_b64 = rest.split_once(':').map_or(rest, |(t, _body)| t);
        let token = STANDARD
            .decode(token_b64)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(AuthError::MalformedSignature)?;
        let mut parts = token.splitn(3, ':');
        let (client_key, client_secret, access_token) = (
            parts.next().unwrap_or_default(),
            parts.next().ok_or(AuthError::MalformedSignature)?,
            parts.next(),
        );
        let key_ok = client_key.as_bytes().ct_eq(creds.client_key.as_bytes());
        let secret_ok = client_secret
            .as_bytes()
            .ct_eq(creds.client_secret.as_bytes());
        if !bool::from(key_ok & secret_ok) {
            return Err(AuthError::BadClientCredentials);
        }

        match endpoint {
            // The path names the next service and the method is GET whatever the verb:
            // neither is checked. The token part holds the client key and secret only.
            Endpoint::Tokens if access_token.is_some() => Err(AuthError::MalformedSignature),
            Endpoint::Tokens => Ok(()),
            Endpoint::Service {
                path: service_path,
                method: canonical,
            } => {
                let access_token = access_token
                    .filter(|t| !t.is_empty())
                    .ok_or(AuthError::MissingToken)?;
                self.token_key
                    .verify(&SENDME, access_token, creds.virtual_account, now)?;
                let signed = normalise(signed_path);
                if signed != service_path && signed != normalise(path) {
                    return Err(AuthError::WrongPath(signed));
                }
                let signed_method = signed_method.trim().to_ascii_uppercase();
                if signed_method != canonical && signed_method != method.to_ascii_uppercase() {
                    return Err(AuthError::WrongMethod(signed_method));
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREDS: Credentials<'static> = Credentials {
        virtual_account: "9920015307",
        faspay_secret: "19c887a3-49af-4087-8e82-58a1875b1452",
        iv: "faspay2018xAuth",
        app_key: "8e734017-d7c1-49f2-8202-377faaff6a1c",
        app_secret: "f26a4e84-cbba-4023-b3d9-40892c5638d4",
        client_key: "e5d7e3be-3f44-4da2-918d-3b98db499ed3",
        client_secret: "0afd3f5b-b20e-4dc2-8222-d7a571a31c4c",
    };
    const AUTHORIZATION: &str = "kG3YuBPfkj4TtuAQZCaqN50VZGgnyYPOajxJwnVLlSWlin3UO8plp9sOqPHNjbji0sCktO4a9GLzkfz0v52I7u9hKBTQmBUyshQa7z1I0Xc=";
    const TS: &str = "2020-06-16 16:06:00";
    /// Spec §3.6: the token request before a register call.
    const TOKEN_SIGNATURE: &str = "rM5gFtHNsuYh8I0MOJvaXsx87BIVtvgU0kagKtK89ZfVHvC+KUT8wJgX1ienNyn2d7oUQCHSWEY7/9CA0jN26UWEVEbo883HV0Sr/wxAP8dyxu8e/7YgOtJQ3OpciagrGLp+tLbLM0q0VVXiy89S2whNclzUFY7riHqGZM2gctzSNNq5dcNlSEYgVX4VJFpYhuLW3o46vlY18S8T6OYebw==";
    /// Spec §3.6: a transfer with access token TESTACCESSTOKEN123.
    const TRANSFER_SIGNATURE: &str = "Yx70h2Uw+XYlDU2cWxCNitSrVEl+NIQz0mvHMR2bHV4U4CERKMaXsyQrFfVjPffdt7H8mQ287E9Anss6wlWi9RNExrfCaTmglvQYKHO7CMyH5m5nZJ2OwnntSTE67DwFSIaoSk2Gsr72Ael9o9hNKTtSmoGkDjSus6XFbKYiGUphQgDXOn7q1UlsKkQbe1TFH8Inq0gHwVI/5KfE+FQOFwZB2djR3oQg7dv0fw12xiM=";

    fn now() -> Timestamp {
        parse_timestamp(TS).unwrap()
    }

    fn headers<'a>(signature: &'a str) -> Headers<'a> {
        Headers {
            authorization: Some(AUTHORIZATION),
            timestamp: Some(TS),
            signature: Some(signature),
        }
    }

    const TRANSFER: Endpoint = Endpoint::Service {
        path: "/account/api/transfer",
        method: "POST",
    };

    #[test]
    fn the_documented_token_request_verifies() {
        let key = TokenKey::random();
        let v = Verifier {
            token_key: &key,
            max_skew_seconds: Some(300),
        };
        for method in ["GET", "POST"] {
            assert_eq!(
                v.verify(
                    &CREDS,
                    &headers(TOKEN_SIGNATURE),
                    Endpoint::Tokens,
                    method,
                    "/account/api/tokens",
                    now()
                ),
                Ok(())
            );
        }
        // The same signature is no good for a service: it carries no access token.
        assert_eq!(
            v.verify(
                &CREDS,
                &headers(TOKEN_SIGNATURE),
                TRANSFER,
                "POST",
                "/account/api/transfer",
                now()
            ),
            Err(AuthError::MissingToken)
        );
    }

    #[test]
    fn the_documented_transfer_signature_parses_but_its_token_is_not_ours() {
        let key = TokenKey::random();
        let v = Verifier {
            token_key: &key,
            max_skew_seconds: None,
        };
        assert_eq!(
            v.verify(
                &CREDS,
                &headers(TRANSFER_SIGNATURE),
                TRANSFER,
                "POST",
                "/account/api/transfer",
                now()
            ),
            Err(AuthError::Token(TokenError::Malformed))
        );
    }

    fn sign(method: &str, path: &str, ts: &str, token: Option<&str>) -> String {
        let aes = AesKey::derive(CREDS.faspay_secret, CREDS.iv);
        let t = match token {
            Some(t) => format!("{}:{}:{t}", CREDS.client_key, CREDS.client_secret),
            None => format!("{}:{}", CREDS.client_key, CREDS.client_secret),
        };
        aes.encrypt_b64(&format!("{method}:{path}:{ts}:{}:", STANDARD.encode(t)))
    }

    #[test]
    fn services_accept_the_sdk_forms_and_refuse_the_rest() {
        let key = TokenKey::random();
        let token = key.issue(&SENDME, "9920015307", now());
        let v = Verifier {
            token_key: &key,
            max_skew_seconds: Some(300),
        };
        let status = Endpoint::Service {
            path: "/account/api/inquiry_status",
            method: "GET",
        };
        let request_path = "/account/api/inquiry_status/9920015307/T1";
        let check = |sig: &str, method: &str| {
            v.verify(&CREDS, &headers(sig), status, method, request_path, now())
        };
        // Bare path, canonical method, whatever the verb (Python POSTs, PHP GETs with a body).
        let good = sign("GET", "/account/api/inquiry_status", TS, Some(&token));
        assert_eq!(check(&good, "POST"), Ok(()));
        assert_eq!(check(&good, "GET"), Ok(()));
        // The doc form: the relative URL with its values; the real verb.
        assert_eq!(
            check(&sign("GET", request_path, TS, Some(&token)), "GET"),
            Ok(())
        );
        assert_eq!(
            check(
                &sign("POST", "/account/api/inquiry_status", TS, Some(&token)),
                "POST"
            ),
            Ok(())
        );
        // Refused.
        assert!(matches!(
            check(
                &sign("GET", "/account/api/transfer", TS, Some(&token)),
                "GET"
            ),
            Err(AuthError::WrongPath(_))
        ));
        assert!(matches!(
            check(
                &sign("DELETE", "/account/api/inquiry_status", TS, Some(&token)),
                "GET"
            ),
            Err(AuthError::WrongMethod(_))
        ));
        assert_eq!(
            check(
                &sign(
                    "GET",
                    "/account/api/inquiry_status",
                    "2020-06-16 16:06:01",
                    Some(&token)
                ),
                "GET"
            ),
            Err(AuthError::TimestampMismatch)
        );
        let foreign = key.issue(&SENDME, "9920000001", now());
        assert_eq!(
            check(
                &sign("GET", "/account/api/inquiry_status", TS, Some(&foreign)),
                "GET"
            ),
            Err(AuthError::Token(TokenError::Foreign))
        );
        let expired = key.issue(&SENDME, "9920015307", now().plus_seconds(-40_000));
        assert_eq!(
            check(
                &sign("GET", "/account/api/inquiry_status", TS, Some(&expired)),
                "GET"
            ),
            Err(AuthError::Token(TokenError::Expired))
        );
        let mut tampered = good.clone();
        tampered.replace_range(10..12, "AB");
        assert!(check(&tampered, "GET").is_err());
        let wrong_auth = Headers {
            authorization: Some("AAAA"),
            ..headers(&good)
        };
        assert_eq!(
            v.verify(&CREDS, &wrong_auth, status, "GET", request_path, now()),
            Err(AuthError::BadAuthorization)
        );
        let other = Credentials {
            client_secret: "nope",
            ..CREDS
        };
        assert_eq!(
            v.verify(&other, &headers(&good), status, "GET", request_path, now()),
            Err(AuthError::BadClientCredentials)
        );
        let other = Credentials {
            faspay_secret: "another",
            ..CREDS
        };
        assert_eq!(
            v.verify(&other, &headers(&good), status, "GET", request_path, now()),
            Err(AuthError::BadAuthorization)
        );
        let late = Verifier {
            token_key: &key,
            max_skew_seconds: Some(300),
        };
        assert_eq!(
            late.verify(
                &CREDS,
                &headers(&good),
                status,
                "GET",
                request_path,
                now().plus_seconds(301)
            ),
            Err(AuthError::StaleTimestamp)
        );
        let no_ts = Headers {
            timestamp: None,
            ..headers(&good)
        };
        assert_eq!(
            v.verify(&CREDS, &no_ts, status, "GET", request_path, now()),
            Err(AuthError::MissingHeader("faspay-timestamp"))
        );
    }

    #[test]
    fn timestamps_are_jakarta_time() {
        let t = parse_timestamp("2020-06-16 16:06:00").unwrap();
        assert_eq!(t.rfc3339(), "2020-06-16T09:06:00Z");
        assert_eq!(parse_timestamp("2020-06-16T16:06:00"), None);
        assert_eq!(parse_timestamp("2020-13-16 16:06:00"), None);
    }
}
