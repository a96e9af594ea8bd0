//! SNAP's transactional signatures (spec §4.2, §4.3). Both sign
//! `METHOD:EndpointUrl[:AccessToken]:bodyHash:X-TIMESTAMP`; the symmetric one
//! (with a B2B token) as base64 HMAC-SHA512 under the partner's client secret, the
//! asymmetric one (without) as base64 SHA256withRSA under the partner's private
//! key. `EndpointUrl` is the path and query as sent, or — as SDKs sign Faspay's
//! `/account/v1.0/…` paths and partners cut callback paths — from the `/v1.0`
//! segment on: a receiver accepts either ([`endpoints`]), with any body hash a
//! sender may have signed ([`super::body::candidates`]).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha512;

/// What a signed request is made of, as received.
#[derive(Clone, Copy, Debug)]
pub struct Signed<'a> {
    /// Upper case, as sent.
    pub method: &'a str,
    /// The path with its query, if any (`/v1.0/transfer-interbank?x=1`).
    pub path_and_query: &'a str,
    pub body: &'a [u8],
    /// `X-TIMESTAMP` as sent: it is signed verbatim.
    pub timestamp: &'a str,
}

/// Which forms of the request a signature was made over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matched {
    pub endpoint: String,
    /// 0: the minified body; 1: minified with `\/` unescaped; 2: as received.
    pub body_form: usize,
}

/// The `EndpointUrl`s a sender may have signed for `path_and_query`: as received,
/// then from its version segment (`v1.0`) on, when that is not the start.
pub fn endpoints(path_and_query: &str) -> Vec<String> {
    let mut forms = vec![path_and_query.to_string()];
    let segments: Vec<&str> = path_and_query.split('/').collect();
    if let Some(at) = segments.iter().position(|s| is_version(s)) {
        let from_version = format!("/{}", segments[at..].join("/"));
        if from_version != path_and_query {
            forms.push(from_version);
        }
    }
    forms
}

/// `v1.0`, `v2.1`, …: a `v`, digits, a dot, digits.
pub(super) fn is_version(segment: &str) -> bool {
    let Some(rest) = segment.strip_prefix('v') else {
        return false;
    };
    let mut parts = rest.split('.');
    let digits =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    digits(parts.next()) && digits(parts.next()) && parts.next().is_none()
}

/// The string the symmetric signature signs.
pub fn symmetric_string(
    method: &str,
    endpoint: &str,
    token: &str,
    body_hash: &str,
    timestamp: &str,
) -> String {
    format!("{method}:{endpoint}:{token}:{body_hash}:{timestamp}")
}

/// The string the asymmetric signature signs.
pub fn asymmetric_string(method: &str, endpoint: &str, body_hash: &str, timestamp: &str) -> String {
    format!("{method}:{endpoint}:{body_hash}:{timestamp}")
}

fn hmac_sha512(secret: &[u8], message: &str) -> Hmac<Sha512> {
    let mut mac = Hmac::<Sha512>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(message.as_bytes());
    mac
}

/// The base64 HMAC-SHA512 of `string` under `secret`.
pub fn sign_symmetric(secret: &[u8], string: &str) -> String {
    STANDARD.encode(hmac_sha512(secret, string).finalize().into_bytes())
}

/// The first form of `request` — body form, then endpoint — that `signed` says
/// a signature was made over. A body form is hashed only when the ones before it
/// matched no endpoint.
pub fn first_match(request: &Signed<'_>, signed: impl Fn(&str, &str) -> bool) -> Option<Matched> {
    let endpoints = endpoints(request.path_and_query);
    for (body_form, form) in super::body::forms(request.body).iter().enumerate() {
        let hash = super::body::hash(form);
        if let Some(endpoint) = endpoints.iter().find(|e| signed(e, &hash)) {
            return Some(Matched {
                endpoint: endpoint.clone(),
                body_form,
            });
        }
    }
    None
}

/// The form of `request` that `signature` (base64) signs with `secret` and the
/// bearer `token`, if any; each comparison in constant time.
pub fn verify_symmetric(
    secret: &[u8],
    token: &str,
    request: &Signed<'_>,
    signature: &str,
) -> Option<Matched> {
    let given = STANDARD.decode(signature.trim()).ok()?;
    first_match(request, |endpoint, body_hash| {
        let string = symmetric_string(
            request.method,
            endpoint,
            token,
            body_hash,
            request.timestamp,
        );
        hmac_sha512(secret, &string).verify_slice(&given).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRETTY: &str = "{\n  \"partnerReferenceNo\": \"2020102900000000000001\",\n  \"amount\": {\n    \"value\": \"10000.00\",\n    \"currency\": \"IDR\"\n  },\n  \"beneficiaryAccountName\": \"JOHN DOE\"\n}";
    const VECTOR: &str =
        "v1tsoLNbjcgyIMFznsfVyU4h51hgfe+klNPiphaV46KxV/+hZ2JFou5abIpn7OAxGJ1RUSPt6vyqf2vlYsbByw==";

    /// The spec's vector (§4.2).
    #[test]
    fn the_symmetric_vector_reproduces() {
        let hash = super::super::body::hash(&super::super::body::minify(PRETTY.as_bytes()));
        let string = symmetric_string(
            "POST",
            "/v1.0/transfer-interbank",
            "TOKEN123",
            &hash,
            "2020-12-17T10:55:00+07:00",
        );
        assert_eq!(sign_symmetric(b"SECRET456", &string), VECTOR);
    }

    #[test]
    fn either_path_form_and_any_body_form_verify() {
        let request = |path, body| Signed {
            method: "POST",
            path_and_query: path,
            body,
            timestamp: "2020-12-17T10:55:00+07:00",
        };
        // Sent pretty, signed minified, on a path with a prefix before /v1.0.
        let got = verify_symmetric(
            b"SECRET456",
            "TOKEN123",
            &request("/account/v1.0/transfer-interbank", PRETTY.as_bytes()),
            VECTOR,
        );
        assert_eq!(
            got,
            Some(Matched {
                endpoint: "/v1.0/transfer-interbank".into(),
                body_form: 0
            })
        );
        // Another secret, token or timestamp: refused.
        for (secret, token) in [
            (&b"SECRET457"[..], "TOKEN123"),
            (&b"SECRET456"[..], "TOKEN124"),
        ] {
            assert_eq!(
                verify_symmetric(
                    secret,
                    token,
                    &request("/v1.0/transfer-interbank", PRETTY.as_bytes()),
                    VECTOR
                ),
                None
            );
        }
        assert_eq!(
            verify_symmetric(
                b"SECRET456",
                "TOKEN123",
                &request("/v1.0/transfer-interbank", PRETTY.as_bytes()),
                "not base64!"
            ),
            None
        );
        // Signed with `\/` unescaped, sent escaped.
        let sent = br#"{"url": "https:\/\/example.com"}"#;
        let signed_hash = super::super::body::hash(br#"{"url":"https://example.com"}"#);
        let signature = sign_symmetric(
            b"k",
            &symmetric_string(
                "POST",
                "/v1.0/x",
                "t",
                &signed_hash,
                "2020-12-17T10:55:00+07:00",
            ),
        );
        assert_eq!(
            verify_symmetric(b"k", "t", &request("/v1.0/x", sent), &signature).map(|m| m.body_form),
            Some(1)
        );
    }

    #[test]
    fn endpoint_forms() {
        assert_eq!(endpoints("/v1.0/a"), vec!["/v1.0/a"]);
        assert_eq!(
            endpoints("/account/v1.0/account-inquiry-external?x=1"),
            vec![
                "/account/v1.0/account-inquiry-external?x=1",
                "/v1.0/account-inquiry-external?x=1"
            ]
        );
        assert_eq!(endpoints("/account/vx/a"), vec!["/account/vx/a"]);
        assert_eq!(endpoints(""), vec![""]);
    }
}
