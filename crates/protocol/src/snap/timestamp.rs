//! `X-TIMESTAMP` (spec §4.5): `yyyy-MM-ddTHH:mm:ss±HH:MM`, read leniently (`Z`,
//! a fraction of a second, or no seconds at all, as some clients send them: Java's
//! `OffsetDateTime.toString()` leaves out seconds that are zero) and signed
//! verbatim; gerbang writes it in Jakarta time without a fraction.

use gerbang_core::Timestamp;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The instant an `X-TIMESTAMP` names, if it is one.
pub fn parse(header: &str) -> Option<Timestamp> {
    let text = header.trim();
    let at = OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .or_else(|| without_seconds(text))?;
    let micros = at.unix_timestamp_nanos() / 1_000;
    i64::try_from(micros).ok().map(Timestamp::from_micros)
}

/// `yyyy-MM-ddTHH:mm±HH:MM` or `yyyy-MM-ddTHH:mmZ`: the instant at 0 seconds.
fn without_seconds(text: &str) -> Option<OffsetDateTime> {
    use time::macros::format_description;
    let with_offset = format_description!(
        "[year]-[month]-[day]T[hour]:[minute][offset_hour sign:mandatory]:[offset_minute]"
    );
    let utc = format_description!("[year]-[month]-[day]T[hour]:[minute]Z");
    OffsetDateTime::parse(text, &with_offset).ok().or_else(|| {
        time::PrimitiveDateTime::parse(text, &utc)
            .ok()
            .map(time::PrimitiveDateTime::assume_utc)
    })
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
        assert_eq!(
            parse("2020-12-17T10:55+07:00"),
            Some(jakarta),
            "no seconds, as Java's OffsetDateTime prints them when they are zero"
        );
        assert_eq!(parse("2020-12-17T03:55Z"), Some(jakarta));
        for bad in [
            "",
            "2020-12-17 10:55:00",
            "2020-12-17T10+07:00",
            "2020-12-17T10:55",
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
