//! `X-TIMESTAMP` (spec §4.5): `yyyy-MM-ddTHH:mm:ss±HH:MM`, read leniently (`Z`
//! and a fraction of a second as some clients send them) and signed verbatim;
//! gerbang writes it in Jakarta time without a fraction.

use gerbang_core::Timestamp;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The instant an `X-TIMESTAMP` names, if it is one.
pub fn parse(header: &str) -> Option<Timestamp> {
    let at = OffsetDateTime::parse(header.trim(), &Rfc3339).ok()?;
    let micros = at.unix_timestamp_nanos() / 1_000;
    i64::try_from(micros).ok().map(Timestamp::from_micros)
}

/// Whether `at` lies within `window_seconds` of `now`, either side.
pub fn within(at: Timestamp, now: Timestamp, window_seconds: i64) -> bool {
    (at.as_micros() - now.as_micros()).abs() <= window_seconds.saturating_mul(1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_forms_clients_send() {
        let jakarta = parse("2020-12-17T10:55:00+07:00").unwrap();
        assert_eq!(parse("2020-12-17T03:55:00Z"), Some(jakarta));
        assert_eq!(
            parse("2020-12-17T03:55:00.000Z"),
            Some(jakarta),
            "a fraction, as DOKU sends"
        );
        for bad in [
            "",
            "2020-12-17 10:55:00",
            "2020-12-17T10:55+07:00",
            "17/12/2020",
            "2020-13-17T10:55:00+07:00",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert!(within(jakarta, jakarta.plus_seconds(300), 300));
        assert!(!within(jakarta, jakarta.plus_seconds(301), 300));
        assert!(!within(jakarta.plus_seconds(301), jakarta, 300));
    }
}
