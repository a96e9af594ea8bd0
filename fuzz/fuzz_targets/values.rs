//! The shared validated values and SendMe's timestamps, from any text.
#![no_main]
use gerbang_core::values::{AccountNumber, Amount, HttpUrl, Phone, Reference};
use gerbang_protocol::sendme::auth::parse_timestamp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(r) = Reference::parse(&text, 64) {
        assert_eq!(r.as_str(), text);
    }
    if let Ok(a) = Amount::parse_minor_digits(&text) {
        assert!(a.minor() > 0 && a.minor() <= Amount::MAX_MINOR);
    }
    let _ = Phone::parse(&text);
    if let Ok(n) = AccountNumber::parse(&text, 34) {
        assert!(n.as_str().bytes().all(|b| b.is_ascii_digit()));
    }
    let _ = HttpUrl::parse(&text, 255);
    let _ = parse_timestamp(&text);
});
