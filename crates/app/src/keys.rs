//! The gateway's own RSA key pairs, one per use ([`KeyUse`]): the pair that
//! encrypts Permata ATM cash-out codes, and the pair that signs SNAP calls the
//! gateway makes (notifications, SHA256withRSA per SNAP §4.4).
//!
//! A code is encrypted with the private key the way `openssl_private_encrypt`
//! does it (PKCS#1 v1.5, block type 1) and Base64-encoded; the partner recovers
//! the digits with the public key (`openssl pkeyutl -verifyrecover`,
//! `openssl_public_decrypt`). Each pair is generated the first time it is needed
//! and stored as a setting record (`cashout.code_key`, `snap.signing_key`), so every
//! process on the database uses the same one; `gerbang keys --rotate` replaces it.

use base64::Engine;
use gerbang_core::Timestamp;
use gerbang_store::{Expect, Record, RecordWrite, SharedStore, Step, StepError, StoreError};
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use std::fmt;
use std::sync::{Arc, Mutex};

/// Size of the modulus; a code is 256 bytes, 344 Base64 characters.
pub const BITS: usize = 2048;

const KIND: &str = "setting";

/// What a key pair is for; each has a record of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyUse {
    /// Encrypts Permata ATM cash-out codes.
    CashoutCodes,
    /// Signs the SNAP calls the gateway makes.
    SnapSignatures,
}

impl KeyUse {
    fn record_key(self) -> &'static str {
        match self {
            KeyUse::CashoutCodes => "cashout.code_key",
            KeyUse::SnapSignatures => "snap.signing_key",
        }
    }

    fn owner(self) -> &'static str {
        match self {
            KeyUse::CashoutCodes => "cashout",
            KeyUse::SnapSignatures => "snap",
        }
    }

    /// What the pair is, in messages.
    pub fn describe(self) -> &'static str {
        match self {
            KeyUse::CashoutCodes => "cash-out code key",
            KeyUse::SnapSignatures => "SNAP signing key",
        }
    }
}

/// One RSA-2048 key pair.
pub struct KeyPair {
    private: RsaPrivateKey,
    /// The same private key for signing: ring's RSA is constant time and many
    /// times faster than the `rsa` crate's.
    signer: ring::rsa::KeyPair,
    public_pem: String,
    created_at: Timestamp,
}

/// ring's form of `private`.
fn signer_of(private: &RsaPrivateKey) -> Result<ring::rsa::KeyPair, StoreError> {
    let der = private
        .to_pkcs8_der()
        .map_err(|e| StoreError(format!("cannot encode a private key: {e}")))?;
    ring::rsa::KeyPair::from_pkcs8(der.as_bytes())
        .map_err(|e| StoreError(format!("the private key is not one ring signs with: {e}")))
}

impl KeyPair {
    /// A new random pair. Slow (tens of milliseconds to seconds): call it off the
    /// async threads.
    fn generate(now: Timestamp) -> Result<KeyPair, StoreError> {
        let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, BITS)
            .map_err(|e| StoreError(format!("cannot generate a key pair: {e}")))?;
        let public_pem = RsaPublicKey::from(&private)
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| StoreError(format!("cannot encode a public key: {e}")))?;
        Ok(KeyPair {
            signer: signer_of(&private)?,
            private,
            public_pem,
            created_at: now,
        })
    }

    /// The pair a stored record holds; the stored public key must belong to the
    /// private one.
    fn from_record(record: &Record) -> Result<KeyPair, StoreError> {
        let unreadable = |why: &str| {
            StoreError(format!(
                "stored key pair ({KIND}/{}) is unreadable: {why}",
                record.key
            ))
        };
        let data = record.data.value();
        let field = |name: &str| {
            data[name]
                .as_str()
                .ok_or_else(|| unreadable(&format!("no {name}")))
        };
        let private = RsaPrivateKey::from_pkcs8_pem(field("private_pkcs8_pem")?)
            .map_err(|e| unreadable(&format!("private key: {e}")))?;
        let public_pem = field("public_pem")?.to_string();
        let public = RsaPublicKey::from_public_key_pem(&public_pem)
            .map_err(|e| unreadable(&format!("public key: {e}")))?;
        if public != RsaPublicKey::from(&private) {
            return Err(unreadable("the public key does not match the private key"));
        }
        let created_at = Timestamp::parse_rfc3339(field("created_at")?)
            .ok_or_else(|| unreadable("created_at is not RFC 3339"))?;
        Ok(KeyPair {
            signer: signer_of(&private)?,
            private,
            public_pem,
            created_at,
        })
    }

    fn record_write(&self, of: KeyUse, expect: Expect) -> Result<RecordWrite, StoreError> {
        let private_pem = self
            .private
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| StoreError(format!("cannot encode a private key: {e}")))?;
        Ok(RecordWrite {
            kind: KIND.into(),
            key: of.record_key().into(),
            owner: of.owner().into(),
            state: "set".into(),
            data: serde_json::json!({
                "private_pkcs8_pem": private_pem.as_str(),
                "public_pem": self.public_pem,
                "created_at": self.created_at.rfc3339(),
            })
            .into(),
            expect,
        })
    }

    /// PKCS#1 v1.5 private-key encryption (block type 1: `00 01 FF…FF 00 digits`
    /// raised to the private exponent, as `openssl_private_encrypt` with
    /// `OPENSSL_PKCS1_PADDING` does), Base64 (standard alphabet, padded): 344
    /// characters. The same key and digits always give the same text.
    ///
    /// # Panics
    /// If `digits` is longer than 245 bytes (a cash-out code is 10).
    pub fn encrypt_code(&self, digits: &str) -> String {
        // Blinding hides the private exponent's timing; it does not change the result.
        let encrypted = self
            .private
            .sign_with_rng(
                &mut rand::rngs::OsRng,
                Pkcs1v15Sign::new_unprefixed(),
                digits.as_bytes(),
            )
            .expect("a cash-out code fits in one RSA-2048 block");
        base64::engine::general_purpose::STANDARD.encode(encrypted)
    }

    /// Base64 SHA256withRSA (PKCS#1 v1.5) of `message`: a SNAP signature.
    pub fn sign_sha256(&self, message: &[u8]) -> String {
        let mut signature = vec![0; self.signer.public().modulus_len()];
        self.signer
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                message,
                &mut signature,
            )
            .expect("an RSA-2048 key signs any message");
        base64::engine::general_purpose::STANDARD.encode(signature)
    }

    /// The public key as PEM (SubjectPublicKeyInfo, `-----BEGIN PUBLIC KEY-----`).
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }

    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }
}

impl fmt::Debug for KeyPair {
    /// Never the private key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// The stored key pair of one use, remembered by record version.
pub struct StoredKeys {
    of: KeyUse,
    /// The last pair read, with the version of the record it came from.
    cached: Mutex<Option<(i64, Arc<KeyPair>)>>,
}

impl StoredKeys {
    pub fn new(of: KeyUse) -> StoredKeys {
        StoredKeys {
            of,
            cached: Mutex::new(None),
        }
    }

    /// The current pair; generated and stored the first time. Two processes that
    /// find none at once both generate one, the first write wins and the other
    /// process uses it. The record is read on every call and parsed again only when
    /// its version changed, so a rotation by another process is seen at once.
    pub async fn current(
        &self,
        store: &SharedStore,
        now: Timestamp,
    ) -> Result<Arc<KeyPair>, StoreError> {
        let key_name = self.of.record_key();
        if let Some(record) = store.record(KIND, key_name).await? {
            return self.remember(&record);
        }
        let key = generate(now).await?;
        let write = key.record_write(self.of, Expect::Absent)?;
        match store.commit(now, step(write)).await {
            Ok(outcome) => Ok(self.keep(outcome.record_versions.first().copied(), key)),
            // Another process stored one first: use that.
            Err(StepError::RecordConflict { .. }) => match store.record(KIND, key_name).await? {
                Some(record) => self.remember(&record),
                None => Err(StoreError(format!(
                    "{KIND}/{key_name} conflicted on create but is not there"
                ))),
            },
            Err(e) => Err(StoreError(e.to_string())),
        }
    }

    /// Makes and stores a new pair, replacing the current one, and returns it.
    pub async fn rotate(
        &self,
        store: &SharedStore,
        now: Timestamp,
    ) -> Result<Arc<KeyPair>, StoreError> {
        let key = generate(now).await?;
        let write = key.record_write(self.of, Expect::Any)?;
        let outcome = store
            .commit(now, step(write))
            .await
            .map_err(|e| StoreError(e.to_string()))?;
        Ok(self.keep(outcome.record_versions.first().copied(), key))
    }

    /// The pair `record` holds, parsed unless it is the one remembered.
    fn remember(&self, record: &Record) -> Result<Arc<KeyPair>, StoreError> {
        if let Some((version, key)) = &*self.cached.lock().expect("key pair cache") {
            if *version == record.version {
                return Ok(key.clone());
            }
        }
        let key = KeyPair::from_record(record)?;
        Ok(self.keep(Some(record.version), key))
    }

    /// Remembers `key` as the pair of record version `version`, unless a newer
    /// version is remembered already.
    fn keep(&self, version: Option<i64>, key: KeyPair) -> Arc<KeyPair> {
        let key = Arc::new(key);
        if let Some(version) = version {
            let mut cached = self.cached.lock().expect("key pair cache");
            if !matches!(&*cached, Some((newer, _)) if *newer > version) {
                *cached = Some((version, key.clone()));
            }
        }
        key
    }
}

fn step(write: RecordWrite) -> Step {
    Step {
        records: vec![write],
        ..Step::default()
    }
}

async fn generate(now: Timestamp) -> Result<KeyPair, StoreError> {
    tokio::task::spawn_blocking(move || KeyPair::generate(now))
        .await
        .map_err(|e| StoreError(format!("key pair generation stopped: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};
    use rsa::BigUint;

    fn key() -> KeyPair {
        KeyPair::generate(Timestamp::from_unix_seconds(1_700_000_000)).unwrap()
    }

    /// The raw public operation `m = c^e mod n`, then the block type 1 padding
    /// taken off by hand: what `openssl_public_decrypt` does.
    fn public_decrypt(pem: &str, code: &str) -> Vec<u8> {
        let public = RsaPublicKey::from_public_key_pem(pem).unwrap();
        let c = base64::engine::general_purpose::STANDARD
            .decode(code)
            .unwrap();
        assert_eq!(c.len(), BITS / 8);
        let m = BigUint::from_bytes_be(&c).modpow(public.e(), public.n());
        let mut block = m.to_bytes_be();
        while block.len() < BITS / 8 {
            block.insert(0, 0);
        }
        assert_eq!(&block[..2], &[0x00, 0x01], "block type 1");
        let end = 2 + block[2..].iter().position(|&b| b != 0xFF).unwrap();
        assert!(end - 2 >= 8, "at least 8 padding bytes");
        assert_eq!(block[end], 0x00, "padding ends with a zero byte");
        block[end + 1..].to_vec()
    }

    #[test]
    fn the_public_key_recovers_the_digits() {
        let key = key();
        let code = key.encrypt_code("4820193375");
        assert_eq!(public_decrypt(key.public_pem(), &code), b"4820193375");
        // The library's own check agrees.
        let public = RsaPublicKey::from_public_key_pem(key.public_pem()).unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&code)
            .unwrap();
        public
            .verify(Pkcs1v15Sign::new_unprefixed(), b"4820193375", &raw)
            .unwrap();
        assert!(public
            .verify(Pkcs1v15Sign::new_unprefixed(), b"4820193376", &raw)
            .is_err());
    }

    #[test]
    fn codes_are_344_base64_characters_and_deterministic() {
        let key = key();
        let code = key.encrypt_code("0000000001");
        assert_eq!(code.len(), 344);
        assert!(code.ends_with('='));
        assert!(code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)));
        assert_eq!(key.encrypt_code("0000000001"), code);
        assert_ne!(key.encrypt_code("0000000002"), code);
        assert_ne!(self::key().encrypt_code("0000000001"), code);
    }

    #[test]
    fn signatures_verify_with_the_public_key() {
        use rsa::pkcs1v15::{Signature, VerifyingKey};
        use rsa::signature::Verifier;
        let key = key();
        let message = b"POST:/v1.0/emoney/bulk-cashin-notify:e3b0:2020-12-17T10:55:00+07:00";
        let signature = base64::engine::general_purpose::STANDARD
            .decode(key.sign_sha256(message))
            .unwrap();
        let public = RsaPublicKey::from_public_key_pem(key.public_pem()).unwrap();
        let verifying = VerifyingKey::<sha2::Sha256>::new(public);
        let signature = Signature::try_from(signature.as_slice()).unwrap();
        assert!(verifying.verify(message, &signature).is_ok());
        assert!(verifying.verify(b"another message", &signature).is_err());
    }

    #[test]
    fn public_pem_is_spki_and_debug_hides_the_private_key() {
        let key = key();
        assert!(key.public_pem().starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(key.public_pem().ends_with("-----END PUBLIC KEY-----\n"));
        let debug = format!("{key:?}");
        assert!(!debug.contains("PRIVATE"), "{debug}");
        assert!(!debug.contains(&key.private.d().to_string()), "{debug}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_pair_is_stored_once_and_rotation_is_seen_elsewhere() {
        for (_db, store) in gerbang_store::testing::each_backend().await {
            stored_once_and_rotation_seen(store).await;
        }
    }

    async fn stored_once_and_rotation_seen(store: SharedStore) {
        let now = Timestamp::from_unix_seconds(1_700_000_000);

        let here = StoredKeys::new(KeyUse::CashoutCodes);
        let first = here.current(&store, now).await.unwrap();
        assert_eq!(first.created_at(), now);
        let again = here.current(&store, now.plus_seconds(60)).await.unwrap();
        assert!(Arc::ptr_eq(&first, &again), "not parsed again");

        // Another process on the same database reads the same pair.
        let there = StoredKeys::new(KeyUse::CashoutCodes);
        let seen = there.current(&store, now).await.unwrap();
        assert_eq!(seen.public_pem(), first.public_pem());
        assert_eq!(seen.created_at(), now);
        let code = seen.encrypt_code("4820193375");
        assert_eq!(code, first.encrypt_code("4820193375"));
        assert_eq!(public_decrypt(first.public_pem(), &code), b"4820193375");

        let record = store
            .record(KIND, "cashout.code_key")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(record.owner, "cashout");
        assert!(record.data.value()["private_pkcs8_pem"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert_eq!(record.data.value()["public_pem"], first.public_pem());

        // A rotation there is seen here on the next call.
        let later = now.plus_seconds(3600);
        let rotated = there.rotate(&store, later).await.unwrap();
        assert_ne!(rotated.public_pem(), first.public_pem());
        assert_eq!(rotated.created_at(), later);
        let current = here.current(&store, later).await.unwrap();
        assert_eq!(current.public_pem(), rotated.public_pem());
        let code = current.encrypt_code("4820193375");
        assert_eq!(public_decrypt(rotated.public_pem(), &code), b"4820193375");
        assert!(Arc::ptr_eq(
            &rotated,
            &there.current(&store, later).await.unwrap()
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn processes_racing_for_the_first_pair_agree() {
        for (_db, store) in gerbang_store::testing::each_backend().await {
            racing_for_the_first_pair(store).await;
        }
    }

    async fn racing_for_the_first_pair(store: SharedStore) {
        let now = Timestamp::from_unix_seconds(1_700_000_000);
        let racers: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    StoredKeys::new(KeyUse::CashoutCodes)
                        .current(&store, now)
                        .await
                })
            })
            .collect();
        let mut pems = Vec::new();
        for racer in racers {
            pems.push(racer.await.unwrap().unwrap().public_pem().to_string());
        }
        let stored = store
            .record(KIND, "cashout.code_key")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.version, 1);
        for pem in pems {
            assert_eq!(pem, stored.data.value()["public_pem"].as_str().unwrap());
        }
    }
}
