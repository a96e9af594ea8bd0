//! SendMe access tokens (`/account/api/tokens`, 36000 s).
//!
//! A token is self-contained: `Base64(VA "." EXPIRES "." NONCE "." HMAC)`, where the
//! HMAC-SHA256 is keyed with the gateway's token key. Issuing one writes nothing,
//! any number are valid at once for one partner, and every gateway process sharing
//! the key accepts them. The Base64 alphabet has no `:`, which clients use as a
//! separator around the token.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gerbang_core::Timestamp;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Token lifetime, as Faspay's `expired_in` says.
pub const LIFETIME_SECONDS: i64 = 36_000;

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

    fn mac(&self, payload: &str) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("any key length");
        mac.update(b"gerbang-sendme-token.");
        mac.update(payload.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A token for `virtual_account`, valid until `now + LIFETIME_SECONDS`.
    pub fn issue(&self, virtual_account: &str, now: Timestamp) -> String {
        let nonce: [u8; 12] = rand::random();
        let payload = format!(
            "{virtual_account}.{}.{}",
            now.unix_seconds() + LIFETIME_SECONDS,
            hex::encode(nonce)
        );
        let mac = hex::encode(self.mac(&payload));
        STANDARD.encode(format!("{payload}.{mac}"))
    }

    /// Checks a token presented by `virtual_account` at `now`.
    pub fn verify(
        &self,
        token: &str,
        virtual_account: &str,
        now: Timestamp,
    ) -> Result<(), TokenError> {
        if token.len() > MAX_TOKEN_CHARS {
            return Err(TokenError::Malformed);
        }
        let decoded = STANDARD.decode(token).map_err(|_| TokenError::Malformed)?;
        let text = String::from_utf8(decoded).map_err(|_| TokenError::Malformed)?;
        let (payload, mac_hex) = text.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let mac = hex::decode(mac_hex).map_err(|_| TokenError::Malformed)?;
        if !bool::from(self.mac(payload).ct_eq(&mac)) {
            return Err(TokenError::Forged);
        }
        let mut parts = payload.split('.');
        let (Some(va), Some(expires), Some(_nonce), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let expires: i64 = expires.parse().map_err(|_| TokenError::Malformed)?;
        if va != virtual_account {
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
    fn tokens_live_ten_hours_for_their_partner_only() {
        let key = TokenKey::random();
        let t0 = Timestamp::from_unix_seconds(1_700_000_000);
        let token = key.issue("9920015307", t0);
        assert!(!token.contains(':'));
        assert_ne!(token, key.issue("9920015307", t0), "each token is new");
        assert_eq!(key.verify(&token, "9920015307", t0), Ok(()));
        assert_eq!(
            key.verify(&token, "9920015307", t0.plus_seconds(LIFETIME_SECONDS - 1)),
            Ok(())
        );
        assert_eq!(
            key.verify(&token, "9920015307", t0.plus_seconds(LIFETIME_SECONDS)),
            Err(TokenError::Expired)
        );
        assert_eq!(
            key.verify(&token, "9920000001", t0),
            Err(TokenError::Foreign)
        );
        assert_eq!(
            TokenKey::random().verify(&token, "9920015307", t0),
            Err(TokenError::Forged)
        );
        assert_eq!(
            key.verify("TESTACCESSTOKEN123", "9920015307", t0),
            Err(TokenError::Malformed)
        );
        let restored = TokenKey::from_hex(&key.to_hex()).unwrap();
        assert_eq!(restored.verify(&token, "9920015307", t0), Ok(()));
    }
}
