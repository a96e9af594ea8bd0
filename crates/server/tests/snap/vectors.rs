//! The test partner's own signing code against the spec's vectors (§4.1, §4.2).

use crate::client::{body_hash, hmac_sha512, minify};

const PRETTY: &str = "{\n  \"partnerReferenceNo\": \"2020102900000000000001\",\n  \"amount\": {\n    \"value\": \"10000.00\",\n    \"currency\": \"IDR\"\n  },\n  \"beneficiaryAccountName\": \"JOHN DOE\"\n}";

#[test]
fn the_body_hash_vector_reproduces() {
    let minified = minify(PRETTY);
    assert_eq!(
        minified,
        r#"{"partnerReferenceNo":"2020102900000000000001","amount":{"value":"10000.00","currency":"IDR"},"beneficiaryAccountName":"JOHN DOE"}"#
    );
    assert_eq!(
        body_hash(&minified),
        "cfac7985aa7eda03285e0546e79a4f09839649da433d2b34f66defbaffe5952b"
    );
    assert_eq!(
        body_hash(&minify("")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    // Spaces inside strings stay.
    assert_eq!(minify(r#"{ "a" : "b c" }"#), r#"{"a":"b c"}"#);
}

#[test]
fn the_symmetric_signature_vector_reproduces() {
    let string = format!(
        "POST:/v1.0/transfer-interbank:TOKEN123:{}:2020-12-17T10:55:00+07:00",
        body_hash(&minify(PRETTY))
    );
    assert_eq!(
        hmac_sha512("SECRET456", &string),
        "v1tsoLNbjcgyIMFznsfVyU4h51hgfe+klNPiphaV46KxV/+hZ2JFou5abIpn7OAxGJ1RUSPt6vyqf2vlYsbByw=="
    );
}
