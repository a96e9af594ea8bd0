//! Password hashes: argon2id with the crate's default cost, in PHC string form.
//! Hashing takes tens of milliseconds of CPU, so it runs off the async threads.

use super::UserError;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use gerbang_core::mask::Secret;

/// The PHC hash of `password`.
pub(super) async fn hash(password: Secret) -> Result<Secret, UserError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| Secret::new(h.to_string()))
            .map_err(|e| UserError::Invalid(format!("cannot hash the password: {e}")))
    })
    .await
    .map_err(|e| UserError::Store(e.to_string()))?
}

/// A hash no password matches, verified when the user does not exist so that a
/// wrong name takes as long as a wrong password.
const NOBODY: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$bm9ib2R5bm9ib2R5$3Jc0ZxQ8b3l7b3Vh0mJmV2ZxQ2xWb0p0b2hWbXpQa2c";

/// Whether `password` matches `stored` (the PHC string), or the dummy hash when
/// there is no stored one.
pub(super) async fn verify(password: Secret, stored: Option<Secret>) -> bool {
    tokio::task::spawn_blocking(move || {
        let real = stored.is_some();
        let phc = stored.map_or_else(|| NOBODY.to_string(), |s| s.expose().to_string());
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return false;
        };
        let matches = Argon2::default()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok();
        real && matches
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let stored = hash(Secret::new("correct horse battery")).await.unwrap();
        assert!(stored.expose().starts_with("$argon2id$"));
        assert!(verify(Secret::new("correct horse battery"), Some(stored.clone())).await);
        assert!(!verify(Secret::new("correct horse batterz"), Some(stored)).await);
        assert!(!verify(Secret::new("anything"), None).await);
        assert!(PasswordHash::new(NOBODY).is_ok());
    }
}
