//! A SendMe request body: parsed, then read the ways the services read it.
#![no_main]
use gerbang_protocol::sendme::fields::Fields;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Ok(f) = Fields::parse(body) {
        for name in [
            "trx_amount",
            "trx_no",
            "virtual_account",
            "callback_url",
            "trx_id",
        ] {
            let _ = f.get(name);
            let _ = f.required(name, 15);
            let _ = f.optional(name, 255);
            let _ = f.digits(name, 20);
        }
    }
});
