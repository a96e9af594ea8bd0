//! The Debit API's one signature formula (spec §1.3): the lowercase hex of SHA-1
//! over the lowercase hex of MD5 over `user_id + password + …` — SHA-1 of the
//! 32-character MD5 text, not of its bytes. What follows the password depends on
//! the message: nothing (channel inquiry), `bill_no` (post data, redirect, status
//! inquiry, cancel, refund), `bill_no + payment_status_code` (payment
//! notification), `bill_no + status` (return URL), `trx_id` (OVO push to pay).

use md5::{Digest, Md5};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// `sha1(md5(user_id + password + parts…))`, both as lowercase hex.
pub fn sign(user_id: &str, password: &str, parts: &[&str]) -> String {
    let mut md5 = Md5::new();
    md5.update(user_id.as_bytes());
    md5.update(password.as_bytes());
    for part in parts {
        md5.update(part.as_bytes());
    }
    let inner = hex::encode(md5.finalize());
    hex::encode(Sha1::digest(inner.as_bytes()))
}

/// Whether `given` is the signature of `parts`; letter case does not matter
/// (clients print hex either way), and the comparison takes constant time.
pub fn verify(given: &str, user_id: &str, password: &str, parts: &[&str]) -> bool {
    let expected = sign(user_id, password, parts);
    let given = given.trim().to_ascii_lowercase();
    given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's vectors for the sandbox merchant 99999 (bot99999 / p@ssw0rd).
    #[test]
    fn the_published_vectors_reproduce() {
        let cases: &[(&[&str], &str)] = &[
            (&[], "1ac4d5a611ec5376d8da43bbe33aaea1719076b6"),
            (&["AGS/2997"], "a2f94b8c673ea11d9fbf9a7baa1af4d1996515ce"),
            (
                &["8987984789977873"],
                "84b8efda38630ce85fbdf886edcf16569a1da5de",
            ),
            (&["776781331"], "35b5cde57c64ce943a16634f0f315c46be1bcc01"),
            (&["407"], "e7d3315cd8c132f18441109bd07d41dcce932c7e"),
            (&["14143135"], "05bcad0dc7cc6538c4bcd76ed884243931575752"),
            (&["999333"], "b4ea7bd1a7fcaddd3a65e78072d88065c6333cb6"),
            (&["141431359"], "bb5e34c98eb13b5a7bc1418403a8220f70b80f08"),
            (&["4370", "0"], "0da33ad07fe9980f7b7ff70a964803e821a86866"),
        ];
        for (parts, expected) in cases {
            assert_eq!(sign("bot99999", "p@ssw0rd", parts), *expected, "{parts:?}");
            assert!(verify(
                &expected.to_uppercase(),
                "bot99999",
                "p@ssw0rd",
                parts
            ));
        }
        assert_eq!(
            sign("bot33660", "p@ssw0rd", &["1612782267", "2"]),
            "ebebca6942f75a3c1fd72120c3ebbad384c973c0"
        );
        assert!(!verify("1ac4d5a6", "bot99999", "p@ssw0rd", &[]));
    }
}
