//! TOTP second factor (RFC 6238: SHA-1, 6 digits, 30-second steps), as every
//! authenticator app reads it from an `otpauth://` address.

use gerbang_core::mask::Secret;
use gerbang_core::user::Username;
use gerbang_core::Timestamp;
use totp_rs::{Algorithm, TOTP};

const DIGITS: usize = 6;
const STEP_SECONDS: u64 = 30;
/// Codes of the step before and after the current one are taken too (clocks drift).
const SKEW_STEPS: u64 = 1;
const ISSUER: &str = "gerbang";

/// A new TOTP secret, shown once to be put into an authenticator app.
pub struct Enrolment {
    /// Base32, as apps take it typed in.
    pub secret: Secret,
    /// The `otpauth://totp/…` address a QR code carries.
    pub url: Secret,
}

fn totp(secret: &Secret, username: &Username) -> Option<TOTP> {
    let bytes = totp_rs::Secret::Encoded(secret.expose().to_string())
        .to_bytes()
        .ok()?;
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        SKEW_STEPS as u8,
        STEP_SECONDS,
        bytes,
        Some(ISSUER.to_string()),
        username.to_string(),
    )
    .ok()
}

impl Enrolment {
    pub fn new(username: &Username) -> Self {
        let secret = Secret::new(totp_rs::Secret::generate_secret().to_encoded().to_string());
        let url = totp(&secret, username).map_or_else(String::new, |t| t.get_url());
        Enrolment {
            secret,
            url: Secret::new(url),
        }
    }
}

/// The time step `code` belongs to, if it is right for `secret` at `now` (within
/// the skew), compared in constant time.
pub fn step_of(secret: &Secret, username: &Username, code: &str, now: Timestamp) -> Option<u64> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret, username)?;
    let seconds = u64::try_from(now.as_micros() / 1_000_000).ok()?;
    let current = seconds / STEP_SECONDS;
    (current.saturating_sub(SKEW_STEPS)..=current + SKEW_STEPS).find(|step| {
        let expected = totp.generate(step * STEP_SECONDS);
        subtle_eq(expected.as_bytes(), code.as_bytes())
    })
}

/// The code of `secret` at `now` (for tests and the sandbox's own checks).
pub fn code_at(secret: &Secret, username: &Username, now: Timestamp) -> Option<String> {
    let seconds = u64::try_from(now.as_micros() / 1_000_000).ok()?;
    Some(totp(secret, username)?.generate(seconds))
}

fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_vector_and_skew() {
        // RFC 6238's SHA-1 secret "12345678901234567890", at 59 s: 94287082 (8 digits),
        // so 287082 with 6.
        let secret = Secret::new("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let user = Username::parse("alice").unwrap();
        let at = |s: i64| Timestamp::from_micros(s * 1_000_000);
        assert_eq!(code_at(&secret, &user, at(59)).unwrap(), "287082");
        assert_eq!(step_of(&secret, &user, "287082", at(59)), Some(1));
        assert_eq!(step_of(&secret, &user, "287082", at(80)), Some(1));
        assert_eq!(step_of(&secret, &user, "287082", at(95)), None);
        assert_eq!(step_of(&secret, &user, "28708", at(59)), None);
        assert_eq!(step_of(&secret, &user, "28708x", at(59)), None);
    }

    #[test]
    fn an_enrolment_reads_back() {
        let user = Username::parse("bob@ops").unwrap();
        let e = Enrolment::new(&user);
        assert!(e
            .url
            .expose()
            .starts_with("otpauth://totp/gerbang:bob%40ops?"));
        let now = Timestamp::from_micros(1_700_000_000_000_000);
        let code = code_at(&e.secret, &user, now).unwrap();
        assert!(step_of(&e.secret, &user, &code, now).is_some());
    }
}
