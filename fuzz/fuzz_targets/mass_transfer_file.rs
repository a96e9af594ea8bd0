//! A mass transfer file (CSV or XLSX) from any bytes: never a panic, and every
//! line it keeps is within the limits the parser states.
#![no_main]
use gerbang_protocol::mass_transfer::{parse, MAX_AMOUNT_MINOR, MAX_LINES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = parse(data) {
        assert!(parsed.lines.len() + parsed.problems.len() <= MAX_LINES);
        for line in &parsed.lines {
            assert!((1..=MAX_AMOUNT_MINOR).contains(&line.amount_minor));
            assert!(line.account.bytes().all(|b| b.is_ascii_digit()));
        }
    }
});
