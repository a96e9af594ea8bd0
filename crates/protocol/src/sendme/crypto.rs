//! The AES primitive every SendMe SDK uses for both `faspay-authorization` and
//! `faspay-signature`:
//!
//! ```text
//! key   = SHA-256(secret)                       (32 raw bytes)
//! ivhex = lowercase hex MD5(secret || iv_seed)  (32 hex characters)
//! iv    = ASCII bytes of ivhex[16..32]
//! out   = Base64(AES-256-CBC(key, iv, PKCS#7(plaintext)))
//! ```

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use md5::{Digest as _, Md5};
use sha2::Sha256;

type Encryptor = cbc::Encryptor<aes::Aes256>;
type Decryptor = cbc::Decryptor<aes::Aes256>;

/// The key and IV derived from a partner's `faspay_secret` and `iv`.
#[derive(Clone)]
pub struct AesKey {
    key: [u8; 32],
    iv: [u8; 16],
}

impl std::fmt::Debug for AesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AesKey(***)")
    }
}

impl AesKey {
    pub fn derive(secret: &str, iv_seed: &str) -> Self {
        let key: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let mut md5 = Md5::new();
        md5.update(secret.as_bytes());
        md5.update(iv_seed.as_bytes());
        let ivhex = hex::encode(md5.finalize());
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&ivhex.as_bytes()[16..32]);
        AesKey { key, iv }
    }

    pub fn encrypt_b64(&self, plaintext: &str) -> String {
        let ct = Encryptor::new(&self.key.into(), &self.iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(plaintext.as_bytes());
        STANDARD.encode(ct)
    }

    /// The plaintext of a Base64 blob; `None` if it is not Base64, not whole blocks,
    /// badly padded or not UTF-8 (as any blob made with another key will be).
    pub fn decrypt_b64(&self, blob: &str) -> Option<String> {
        let ct = STANDARD.decode(blob.trim()).ok()?;
        if ct.is_empty() || ct.len() % 16 != 0 {
            return None;
        }
        let pt = Decryptor::new(&self.key.into(), &self.iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(&ct)
            .ok()?;
        String::from_utf8(pt).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The public development credentials of faspay-sendme-php's config.php.
    const SECRET: &str = "19c887a3-49af-4087-8e82-58a1875b1452";
    const IV: &str = "faspay2018xAuth";

    #[test]
    fn derives_the_documented_key_and_iv() {
        let k = AesKey::derive(SECRET, IV);
        assert_eq!(
            hex::encode(k.key),
            "c5ed24efc3138a2ea45b13fdd60f6b695c541a1c499007188f311001bf056f86"
        );
        assert_eq!(&k.iv, b"55159238675fa5c9");
    }

    #[test]
    fn authorization_vector() {
        let k = AesKey::derive(SECRET, IV);
        let auth = k.encrypt_b64(
            "8e734017-d7c1-49f2-8202-377faaff6a1c:f26a4e84-cbba-4023-b3d9-40892c5638d4",
        );
        assert_eq!(
            auth,
            "kG3YuBPfkj4TtuAQZCaqN50VZGgnyYPOajxJwnVLlSWlin3UO8plp9sOqPHNjbji0sCktO4a9GLzkfz0v52I7u9hKBTQmBUyshQa7z1I0Xc="
        );
        assert_eq!(
            k.decrypt_b64(&auth).as_deref(),
            Some("8e734017-d7c1-49f2-8202-377faaff6a1c:f26a4e84-cbba-4023-b3d9-40892c5638d4")
        );
    }

    #[test]
    fn other_keys_and_garbage_do_not_decrypt() {
        let k = AesKey::derive(SECRET, IV);
        let other = AesKey::derive("another-secret", IV);
        let blob = k.encrypt_b64("GET:/account/api/tokens:2020-06-16 16:06:00:abc:");
        assert_ne!(
            other.decrypt_b64(&blob).as_deref(),
            Some("GET:/account/api/tokens:2020-06-16 16:06:00:abc:")
        );
        for bad in ["", "not base64!", "AAAA", "AAAAAAAAAAAAAAAAAAAAAA=="] {
            assert_eq!(k.decrypt_b64(bad), None, "{bad:?}");
        }
    }
}
