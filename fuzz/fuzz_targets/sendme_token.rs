//! An access token as a partner presents it.
#![no_main]
use gerbang_core::Timestamp;
use gerbang_protocol::token::{TokenKey, SENDME, SNAP_B2B};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    let key = TokenKey::from_hex(&"cd".repeat(32)).expect("a key");
    for purpose in [SENDME, SNAP_B2B] {
        let _ = key.verify(
            &purpose,
            &token,
            "9920015307",
            Timestamp::from_unix_seconds(1_704_067_200),
        );
    }
    let _ = TokenKey::from_hex(&token);
});
