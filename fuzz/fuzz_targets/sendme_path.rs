//! A request path: normalised as SendMe's routes are, each value percent-decoded.
#![no_main]
use gerbang_protocol::sendme::path::{normalise_path, percent_decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = String::from_utf8_lossy(data);
    if let Some(normalised) = normalise_path(&path) {
        // Normalising is idempotent.
        assert_eq!(normalise_path(&normalised), None);
    }
    for segment in path.split('/') {
        let _ = percent_decode(segment);
    }
});
