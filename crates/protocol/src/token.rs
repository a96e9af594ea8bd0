//! The gateway's access tokens: SendMe's (`/account/api/tokens`, 36000 s) and SNAP's
//! B2B tokens (`/v1.0/access-token/b2b`, 900 s).
//!
//! A token is self-contained: `Base64(PRINCIPAL "." EXPIRES "." NONCE "." HMAC)`, where
//! the HMAC-SHA256 is keyed with the gateway's token key and tagged with the
//! token's [`Purpose`], so a token of one face is forged in the other's eyes.
//! Issuing one writes nothing, any number are valid at once for one principal, and
//! every gateway process sharing the key accepts them. The Base64 alphabet has no
//! `:`, which clients use as a separator around the token.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gerbang_core::Timestamp;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// What a token is for: the tag its HMAC is made with, and how long it lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Purpose {
    tag: &'static str,
    pub lifetime_seconds: i64,
}

/// A SendMe access token; its lifetime is what Faspay's `expired_in` says.
pub const SENDME: Purpose = Purpose {
    tag: "gerbang-sendme-token.",
    lifetime_seconds: 36_000,
};

/// A SNAP B2B access token; `expiresIn` is `"900"`.
pub const SNAP_B2B: Purpose = Purpose {
    tag: "gerbang-snap-b2b-token.",
    lifetime_seconds: 900,
};

/// Longest token accepted for checking.
const MAX_TOKEN_CHARS: usize = 512;

#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(***)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token was not issued by this gateway")]
    Forged,
    #[error("token has expired")]
    Expired,
    #[error("token belongs to another partner")]
    Foreign,
}

impl TokenKey {
    pub fn from_hex(text: &str) -> Option<Self> {
        let bytes = hex::decode(text).ok()?;
        Some(TokenKey(bytes.try_into().ok()?))
    }

    pub fn random() -> Self {
        TokenKey(rand::random())
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    fn mac(&self, purpose: &Purpose, payload: &str) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("any key length");
        mac.update(purpose.tag.as_bytes());
        mac.update(payload.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A token of `purpose` for `principal` (a SendMe virtual account, a SNAP
    /// client key), valid until `now` + the purpose's lifetime.
    pub fn issue(&self, purpose: &Purpose, principal: &str, now: Timestamp) -> String {
        let nonce: [u8; 12] = rand::random();
        let payload = format!(
            "{principal}.{}.{}",
            now.unix_seconds() + purpose.lifetime_seconds,
            hex::encode(nonce)
        );
        let mac = hex::encode(self.mac(purpose, &payload));
        STANDARD.encode(format!("{payload}.{mac}"))
    }

    /// Checks a token of `purpose` presented by `principal` at `now`.
    pub fn verify(
        &self,
        purpose: &Purpose,
        token: &str,
        principal: &str,
        now: Timestamp,
    ) -> Result<(), TokenError> {
        if token.len() > MAX_TOKEN_CHARS {
            return Err(TokenError::Malformed);
        }
        let decoded = STANDARD.decode(token).map_err(|_| TokenError::Malformed)?;
        let text = String::from_utf8(decoded).map_err(|_| TokenError::Malformed)?;
        let (payload, mac_hex) = text.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let mac = hex::decode(mac_hex).map_err(|_| TokenError::Malformed)?;
        if !bool::from(self.mac(purpose, payload).ct_eq(&mac)) {
            return Err(TokenError::Forged);
        }
        let mut parts = payload.split('.');
        let (Some(owner), Some(expires), Some(_nonce), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let expires: i64 = expires.parse().map_err(|_| TokenError::Malformed)?;
        if owner != principal {
            return Err(TokenError::Foreign);
        }
        if now.unix_seconds() >= expires {
            return Err(TokenError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_live_their_purpose_for_their_principal_only() {
        let key = TokenKey::random();
        let t0 = Timestamp::from_unix_seconds(1_700_000_000);
        for purpose in [SENDME, SNAP_B2B] {
            let life = purpose.lifetime_seconds;
            let token = key.issue(&purpose, "9920015307", t0);
            assert!(!token.contains(':'));
            assert_ne!(
                token,
                key.issue(&purpose, "9920015307", t0),
                "each token is new"
            );
            assert_eq!(key.verify(&purpose, &token, "9920015307", t0), Ok(()));
            assert_eq!(
                key.verify(&purpose, &token, "9920015307", t0.plus_seconds(life - 1)),
                Ok(())
            );
            assert_eq!(
                key.verify(&purpose, &token, "9920015307", t0.plus_seconds(life)),
                Err(TokenError::Expired)
            );
            assert_eq!(
                key.verify(&purpose, &token, "9920000001", t0),
                Err(TokenError::Foreign)
            );
            assert_eq!(
                TokenKey::random().verify(&purpose, &token, "9920015307", t0),
                Err(TokenError::Forged)
            );
            let restored = TokenKey::from_hex(&key.to_hex()).unwrap();
            assert_eq!(restored.verify(&purpose, &token, "9920015307", t0), Ok(()));
        }
        assert_eq!(
            key.verify(&SENDME, "TESTACCESSTOKEN123", "9920015307", t0),
            Err(TokenError::Malformed)
        );
        // A token of one face is no token of the other.
        let snap = key.issue(&SNAP_B2B, "9920015307", t0);
        assert_eq!(
            key.verify(&SENDME, &snap, "9920015307", t0),
            Err(TokenError::Forged)
        );
        let sendme = key.issue(&SENDME, "9920015307", t0);
        assert_eq!(
            key.verify(&SNAP_B2B, &sendme, "9920015307", t0),
            Err(TokenError::Forged)
        );
    }
}
