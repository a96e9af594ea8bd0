//! The host-to-host protocol cash-out networks (a store's point of sale, an ATM
//! switch) speak to gerbang: request signing and the response codes. Documented
//! in docs/cashout-networks.md.
//!
//! `X-Gerbang-Signature` = lowercase hex HMAC-SHA256(secret,
//! `METHOD \n PATH \n TIMESTAMP \n hex(SHA-256(body))`).

pub mod request;

use gerbang_core::payout::CodeRefusal;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const KEY_HEADER: &str = "x-gerbang-key";
pub const TIMESTAMP_HEADER: &str = "x-gerbang-timestamp";
pub const SIGNATURE_HEADER: &str = "x-gerbang-signature";
/// Largest difference accepted between a request's timestamp and the system clock.
pub const MAX_SKEW_SECONDS: i64 = 300;

/// Response codes besides the business refusals (those come with their refusal).
pub mod codes {
    pub const APPROVED: &str = "00";
    pub const FORMAT_ERROR: &str = "30";
    pub const SECURITY_VIOLATION: &str = "63";
    pub const SYSTEM_MALFUNCTION: &str = "96";
}

/// The response code and message of each refusal.
pub fn refusal(r: CodeRefusal) -> (&'static str, &'static str) {
    match r {
        CodeRefusal::UnknownCode => ("14", "Unknown code"),
        CodeRefusal::Expired => ("54", "Code expired"),
        CodeRefusal::WrongAmount => ("13", "Amount does not match the code"),
        CodeRefusal::AlreadyUsed => ("88", "Code already used"),
        CodeRefusal::DuplicateReference => ("94", "Reference already used"),
        CodeRefusal::NoSuchPayment => ("25", "No such payment"),
        CodeRefusal::NotAllowed => ("12", "Not allowed in the payment's state"),
    }
}

pub fn string_to_sign(method: &str, path: &str, timestamp: &str, body: &[u8]) -> String {
    format!(
        "{method}\n{path}\n{timestamp}\n{}",
        hex::encode(Sha256::digest(body))
    )
}

/// The signature a request with these parts carries.
pub fn sign(secret: &str, method: &str, path: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(string_to_sign(method, path, timestamp, body).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `signature` is right, compared in constant time.
pub fn verify(
    secret: &str,
    method: &str,
    path: &str,
    timestamp: &str,
    body: &[u8],
    signature: &str,
) -> bool {
    let expected = sign(secret, method, path, timestamp, body);
    // Lowercase hex, as documented: another spelling of the same bytes is refused.
    let given = signature.trim();
    expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_covers_every_part() {
        let s = sign(
            "k",
            "POST",
            "/h2h/v1/alfamart/payment",
            "2026-11-22T10:00:00+07:00",
            b"{}",
        );
        assert_eq!(s.len(), 64);
        assert!(verify(
            "k",
            "POST",
            "/h2h/v1/alfamart/payment",
            "2026-11-22T10:00:00+07:00",
            b"{}",
            &s
        ));
        // Lowercase hex only, as documented.
        assert!(!verify(
            "k",
            "POST",
            "/h2h/v1/alfamart/payment",
            "2026-11-22T10:00:00+07:00",
            b"{}",
            &s.to_uppercase()
        ));
        assert!(!verify(
            "k",
            "POST",
            "/h2h/v1/alfamart/payment",
            "2026-11-22T10:00:00+07:00",
            b"{ }",
            &s
        ));
        assert!(!verify(
            "k",
            "POST",
            "/h2h/v1/indomaret/payment",
            "2026-11-22T10:00:00+07:00",
            b"{}",
            &s
        ));
        assert!(!verify(
            "x",
            "POST",
            "/h2h/v1/alfamart/payment",
            "2026-11-22T10:00:00+07:00",
            b"{}",
            &s
        ));
        // The string to sign, spelled out: a client can check its own against it.
        assert_eq!(
            string_to_sign("POST", "/p", "t", b""),
            "POST\n/p\nt\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
