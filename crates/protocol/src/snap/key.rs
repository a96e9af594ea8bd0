//! A partner's RSA public key, and the SHA256withRSA (RSASSA-PKCS1-v1_5) signatures
//! it verifies: the B2B access-token request (`clientKey|X-TIMESTAMP`, spec §3.1)
//! and the asymmetric transactional signature (§4.3). The key is read once, from
//! PEM in either form partners hold it (`BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC
//! KEY`); each signature is checked by ring.

use super::signature::{asymmetric_string, first_match, Matched, Signed};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use rsa::pkcs1::{DecodeRsaPublicKey, EncodeRsaPublicKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::RsaPublicKey;

/// An RSA public key of 2,048 to 8,192 bits, as PKCS#1 DER.
#[derive(Clone, PartialEq, Eq)]
pub struct PartnerKey(Vec<u8>);

impl std::fmt::Debug for PartnerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PartnerKey({} bytes)", self.0.len())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not an RSA public key in PEM (BEGIN PUBLIC KEY or BEGIN RSA PUBLIC KEY)")]
pub struct NotAKey;

impl PartnerKey {
    pub fn from_pem(pem: &str) -> Result<PartnerKey, NotAKey> {
        let pem = pem.trim();
        let key = RsaPublicKey::from_public_key_pem(pem)
            .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
            .map_err(|_| NotAKey)?;
        let der = key.to_pkcs1_der().map_err(|_| NotAKey)?;
        Ok(PartnerKey(der.as_bytes().to_vec()))
    }

    /// Whether `signature` (base64) signs `message` with this key's private half.
    pub fn verifies(&self, message: &[u8], signature: &str) -> bool {
        STANDARD
            .decode(signature.trim())
            .is_ok_and(|signature| self.signs(message, &signature))
    }

    /// Whether the raw `signature` signs `message`.
    fn signs(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.0)
            .verify(message, signature)
            .is_ok()
    }

    /// Whether `signature` signs a B2B access-token request of `client_key` at
    /// `timestamp` (both as sent).
    pub fn verifies_token_request(
        &self,
        client_key: &str,
        timestamp: &str,
        signature: &str,
    ) -> bool {
        self.verifies(format!("{client_key}|{timestamp}").as_bytes(), signature)
    }

    /// The form of `request` that `signature` signs asymmetrically, if any.
    pub fn verifies_request(&self, request: &Signed<'_>, signature: &str) -> Option<Matched> {
        let signature = STANDARD.decode(signature.trim()).ok()?;
        first_match(request, |endpoint, body_hash| {
            let string = asymmetric_string(request.method, endpoint, body_hash, request.timestamp);
            self.signs(string.as_bytes(), &signature)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1v15::SigningKey;
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    use rsa::signature::{SignatureEncoding, Signer};
    use rsa::RsaPrivateKey;

    /// A key pair, and a signer independent of the verifier under test.
    fn pair() -> (RsaPrivateKey, RsaPublicKey) {
        let private = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let public = private.to_public_key();
        (private, public)
    }

    fn sign(private: &RsaPrivateKey, message: &str) -> String {
        let signer = SigningKey::<sha2::Sha256>::new(private.clone());
        STANDARD.encode(signer.sign(message.as_bytes()).to_vec())
    }

    #[test]
    fn both_pem_forms_verify_token_requests_and_requests() {
        let (private, public) = pair();
        let spki =
            PartnerKey::from_pem(&public.to_public_key_pem(LineEnding::LF).unwrap()).unwrap();
        let pkcs1 = PartnerKey::from_pem(&public.to_pkcs1_pem(LineEnding::LF).unwrap()).unwrap();
        assert_eq!(spki, pkcs1);

        let at = "2024-08-01T07:07:21+07:00";
        let signature = sign(&private, &format!("99999|{at}"));
        assert!(spki.verifies_token_request("99999", at, &signature));
        assert!(!spki.verifies_token_request("99998", at, &signature));
        assert!(!spki.verifies_token_request("99999", "2024-08-01T07:07:22+07:00", &signature));
        assert!(!spki.verifies_token_request("99999", at, "AAAA"));
        assert!(!spki.verifies_token_request("99999", at, "not base64!"));

        // A Faspay SDK signs the /account path and the minified body, and sends it pretty.
        let body = "{\n  \"partnerReferenceNo\": \"1\",\n  \"note\": \"a b\"\n}";
        let hash = super::super::body::hash(br#"{"partnerReferenceNo":"1","note":"a b"}"#);
        let string = asymmetric_string("POST", "/account/v1.0/transfer-interbank", &hash, at);
        let signature = sign(&private, &string);
        let request = |path| Signed {
            method: "POST",
            path_and_query: path,
            body: body.as_bytes(),
            timestamp: at,
        };
        assert_eq!(
            spki.verifies_request(&request("/account/v1.0/transfer-interbank"), &signature),
            Some(Matched {
                endpoint: "/account/v1.0/transfer-interbank".into(),
                body_form: 0
            })
        );
        // Signed over the path cut at /v1.0, received with the prefix.
        let cut = sign(
            &private,
            &asymmetric_string("POST", "/v1.0/transfer-interbank", &hash, at),
        );
        assert_eq!(
            spki.verifies_request(&request("/account/v1.0/transfer-interbank"), &cut)
                .map(|m| m.endpoint),
            Some("/v1.0/transfer-interbank".into())
        );
        // Another key does not verify it.
        let (_, other) = pair();
        let other =
            PartnerKey::from_pem(&other.to_public_key_pem(LineEnding::LF).unwrap()).unwrap();
        assert_eq!(
            other.verifies_request(&request("/account/v1.0/transfer-interbank"), &signature),
            None
        );
    }

    #[test]
    fn what_is_not_a_key_is_refused() {
        for pem in [
            "",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
            "ssh-rsa AAAA",
        ] {
            assert_eq!(PartnerKey::from_pem(pem), Err(NotAKey), "{pem}");
        }
    }
}
