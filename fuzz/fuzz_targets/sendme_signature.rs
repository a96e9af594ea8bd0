//! SendMe's header authentication. The fuzzer writes the plain text of
//! `faspay-signature` (and the timestamp header); it is encrypted with the
//! partner's key as a client would, so the parser of the decrypted signature is
//! reached, not just the AES layer.
#![no_main]
use gerbang_core::Timestamp;
use gerbang_protocol::sendme::auth::{Credentials, Endpoint, Headers, Verifier};
use gerbang_protocol::sendme::crypto::AesKey;
use gerbang_protocol::sendme::token::TokenKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (timestamp, plain) = text
        .split_once('\n')
        .unwrap_or(("2024-01-01 10:00:00", &text));
    let creds = Credentials {
        virtual_account: "9920015307",
        faspay_secret: "secret",
        iv: "iv-seed",
        app_key: "app-key",
        app_secret: "app-secret",
        client_key: "client-key",
        client_secret: "client-secret",
    };
    let aes = AesKey::derive(creds.faspay_secret, creds.iv);
    let authorization = aes.encrypt_b64(&format!("{}:{}", creds.app_key, creds.app_secret));
    let signature = aes.encrypt_b64(plain);
    let token_key = TokenKey::from_hex(&"ab".repeat(32)).expect("a key");
    let verifier = Verifier {
        token_key: &token_key,
        max_skew_seconds: None,
    };
    let headers = Headers {
        authorization: Some(&authorization),
        timestamp: Some(timestamp),
        signature: Some(&signature),
    };
    let now = Timestamp::from_unix_seconds(1_704_067_200);
    for endpoint in [
        Endpoint::Tokens,
        Endpoint::Service {
            path: "/account/api/transfer",
            method: "POST",
        },
    ] {
        let _ = verifier.verify(
            &creds,
            &headers,
            endpoint,
            "POST",
            "/account/api/transfer",
            now,
        );
    }
    // And the raw header as it arrives, not encrypted by us.
    let raw = Headers {
        signature: Some(&text),
        ..headers
    };
    let _ = verifier.verify(
        &creds,
        &raw,
        Endpoint::Tokens,
        "GET",
        "/account/api/tokens",
        now,
    );
    let _ = aes.decrypt_b64(&text);
});
