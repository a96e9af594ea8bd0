//! The client reproduces the spec's test vectors (§3.6) before it is trusted with
//! anything else.

use crate::client::{aes_key_iv, Credentials};
use crate::fixture::dev_credentials;

const TS: &str = "2020-06-16 16:06:00";

#[test]
fn aes_key_and_iv_are_derived_as_documented() {
    let c = dev_credentials();
    let (key, iv) = aes_key_iv(&c.faspay_secret, &c.iv);
    assert_eq!(
        hex::encode(key),
        "c5ed24efc3138a2ea45b13fdd60f6b695c541a1c499007188f311001bf056f86"
    );
    assert_eq!(&iv, b"55159238675fa5c9");
}

#[test]
fn authorization_matches_the_vector() {
    assert_eq!(
        dev_credentials().authorization(),
        "kG3YuBPfkj4TtuAQZCaqN50VZGgnyYPOajxJwnVLlSWlin3UO8plp9sOqPHNjbji0sCktO4a9GLzkfz0v52I7u9hKBTQmBUyshQa7z1I0Xc="
    );
}

#[test]
fn token_request_signature_matches_the_vector() {
    let c = dev_credentials();
    assert_eq!(
        c.token_string_to_sign("/account/api/register", TS),
        "GET:/account/api/register:2020-06-16 16:06:00:ZTVkN2UzYmUtM2Y0NC00ZGEyLTkxOGQtM2I5OGRiNDk5ZWQzOjBhZmQzZjViLWIyMGUtNGRjMi04MjIyLWQ3YTU3MWEzMWM0Yw==:"
    );
    assert_eq!(
        c.token_signature("/account/api/register", TS),
        "rM5gFtHNsuYh8I0MOJvaXsx87BIVtvgU0kagKtK89ZfVHvC+KUT8wJgX1ienNyn2d7oUQCHSWEY7/9CA0jN26UWEVEbo883HV0Sr/wxAP8dyxu8e/7YgOtJQ3OpciagrGLp+tLbLM0q0VVXiy89S2whNclzUFY7riHqGZM2gctzSNNq5dcNlSEYgVX4VJFpYhuLW3o46vlY18S8T6OYebw=="
    );
}

#[test]
fn service_signature_matches_the_transfer_vector() {
    let c = dev_credentials();
    assert_eq!(
        c.service_string_to_sign("POST", "/account/api/transfer", TS, "TESTACCESSTOKEN123"),
        "POST:/account/api/transfer:2020-06-16 16:06:00:ZTVkN2UzYmUtM2Y0NC00ZGEyLTkxOGQtM2I5OGRiNDk5ZWQzOjBhZmQzZjViLWIyMGUtNGRjMi04MjIyLWQ3YTU3MWEzMWM0YzpURVNUQUNDRVNTVE9LRU4xMjM=:"
    );
    assert_eq!(
        c.service_signature("POST", "/account/api/transfer", TS, "TESTACCESSTOKEN123"),
        "Yx70h2Uw+XYlDU2cWxCNitSrVEl+NIQz0mvHMR2bHV4U4CERKMaXsyQrFfVjPffdt7H8mQ287E9Anss6wlWi9RNExrfCaTmglvQYKHO7CMyH5m5nZJ2OwnntSTE67DwFSIaoSk2Gsr72Ael9o9hNKTtSmoGkDjSus6XFbKYiGUphQgDXOn7q1UlsKkQbe1TFH8Inq0gHwVI/5KfE+FQOFwZB2djR3oQg7dv0fw12xiM="
    );
}

#[test]
fn callback_check_accepts_its_own_signature_and_refuses_changes() {
    let c: Credentials = dev_credentials();
    let unsigned = r#"{"trx_id":"1234","trx_amount":"2500000","trx_status":"2"}"#;
    let signature = c.callback_signature(unsigned);
    assert_eq!(signature.len(), 64);
    assert!(signature
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    // The signature member last, first, or with whitespace around: all verify.
    let last = format!(
        r#"{{"trx_id":"1234","trx_amount":"2500000","trx_status":"2","signature":"{signature}"}}"#
    );
    let first = format!(
        r#"{{"signature":"{signature}","trx_id":"1234","trx_amount":"2500000","trx_status":"2"}}"#
    );
    let spaced = format!(
        "{{ \"trx_id\": \"1234\",\n \"trx_amount\": \"2500000\",\t\"trx_status\": \"2\", \"signature\": \"{signature}\" }}"
    );
    for body in [&last, &first, &spaced] {
        c.verify_callback(body).unwrap();
    }
    let changed = last.replace("2500000", "2500001");
    assert!(c.verify_callback(&changed).is_err());
    let other = crate::fixture::other_credentials();
    assert!(other.verify_callback(&last).is_err());
}
