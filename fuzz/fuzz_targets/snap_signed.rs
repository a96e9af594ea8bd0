//! A SNAP request as received: its path, timestamp and body (the first two lines
//! of the input, then the rest). The body is minified and hashed in every form, the
//! path split into its endpoint forms, the timestamp read, a signature checked.
#![no_main]
use gerbang_protocol::snap::{body, code, headers, key, signature, timestamp};
use libfuzzer_sys::fuzz_target;

/// A partner's public key: every signature the input carries is checked with it.
const PARTNER_KEY: &str = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwtzyxa4+NEoSoismt+4E\nkcDtW4xzM30ysegBhMFGUSubfuii1SRxeExCmWc4hd/MW0RS5GiECFYL+O/eklY/\nyp1XFV0Ro8QEvxrcm7Kri8kHlLct/bS76Sl/5svphC1ywbyF8HabA1D6sxn6MF41\n+9YM/XAoa8EunGZCC35adLr6KR8elGLabvuThaQJ2lMjCThxeG13vWRswb/TL8E+\nRKZr12fSXjEeM+rqU/tej2yWcJnqTkhqFe+Wpu/Lecq8FmQoF50wXu4Cjfgi1n8H\nszL1uVZcL0ophcjrz9z9ExcbMaiVhx7XWzJQWejroe/4pNjsF+sKDDsbRrx7OBXE\nFwIDAQAB\n-----END PUBLIC KEY-----";

fuzz_target!(|data: &[u8]| {
    let mut lines = data.splitn(3, |b| *b == b'\n');
    let path = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let stamp = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let raw = lines.next().unwrap_or_default();

    let minified = body::minify(raw);
    assert_eq!(body::minify(&minified), minified, "minify is idempotent");
    assert!(minified.len() <= raw.len());
    // Whatever JSON the body was, its minified form is the same JSON.
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(raw) {
        let again: serde_json::Value =
            serde_json::from_slice(&minified).expect("minified JSON stays JSON");
        assert_eq!(value, again);
    }
    let hashes = body::candidates(raw);
    assert!(!hashes.is_empty() && hashes.len() <= 3);

    let endpoints = signature::endpoints(&path);
    assert_eq!(endpoints[0], path);
    let _ = timestamp::parse(&stamp);
    let _ = code::Service::for_path(&path);
    // Every header carrying the second line.
    if let Ok(common) = headers::Common::read(code::Service::TRANSFER_INTERBANK, |_| Some(&stamp)) {
        assert!(common.external_id.bytes().all(|b| b.is_ascii_digit()));
    }
    let request = signature::Signed {
        method: "POST",
        path_and_query: &path,
        body: raw,
        timestamp: &stamp,
    };
    let signed = signature::sign_symmetric(
        b"secret",
        &signature::symmetric_string("POST", &path, "token", &hashes[0], &stamp),
    );
    assert!(signature::verify_symmetric(b"secret", "token", &request, &signed).is_some());
    assert!(signature::verify_symmetric(b"other", "token", &request, &signed).is_none());
    // The second line as an asymmetric signature: never one this key made.
    let partner = key::PartnerKey::from_pem(PARTNER_KEY).expect("a key");
    assert!(partner.verifies_request(&request, &stamp).is_none());
    assert!(!partner.verifies_token_request(&path, &stamp, &stamp));
});
