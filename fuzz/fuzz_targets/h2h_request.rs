//! A host-to-host request body, decoded as each operation decodes it, and the
//! request signature check.
#![no_main]
use gerbang_protocol::h2h::request::{ByReference, Inquiry, Payment};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let _ = Inquiry::parse(body);
    if let Ok(p) = Payment::parse(body) {
        assert!(p.amount.minor() > 0);
    }
    let _ = ByReference::parse(body);
    let text = String::from_utf8_lossy(body);
    let _ = gerbang_protocol::h2h::verify(
        "secret",
        "POST",
        "/h2h/v1/alfamart/payment",
        "t",
        body,
        &text,
    );
});
