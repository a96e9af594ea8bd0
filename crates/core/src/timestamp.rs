//! Instants as microseconds since the Unix epoch (UTC), with the Asia/Jakarta
//! (+07:00, no daylight saving) renderings the Indonesian protocols use.

use serde::{Deserialize, Serialize};
use std::fmt;
use time::{macros::offset, OffsetDateTime, UtcOffset};

/// Asia/Jakarta: UTC+07:00 all year.
pub const JAKARTA: UtcOffset = offset!(+7);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_micros(micros: i64) -> Self {
        Timestamp(micros)
    }

    pub const fn as_micros(self) -> i64 {
        self.0
    }

    pub fn from_unix_seconds(seconds: i64) -> Self {
        Timestamp(seconds.saturating_mul(1_000_000))
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    pub fn plus_seconds(self, seconds: i64) -> Self {
        Timestamp(self.0.saturating_add(seconds.saturating_mul(1_000_000)))
    }

    pub fn plus_millis(self, millis: i64) -> Self {
        Timestamp(self.0.saturating_add(millis.saturating_mul(1_000)))
    }

    pub fn to_offset_date_time(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    pub fn from_offset_date_time(at: OffsetDateTime) -> Self {
        Timestamp((at.unix_timestamp_nanos() / 1_000) as i64)
    }

    /// This instant on the Jakarta wall clock.
    pub fn jakarta(self) -> OffsetDateTime {
        self.to_offset_date_time().to_offset(JAKARTA)
    }

    /// RFC 3339 in UTC, for logs and the operator APIs.
    pub fn rfc3339(self) -> String {
        self.to_offset_date_time()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    }

    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .ok()
            .map(Self::from_offset_date_time)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jakarta_is_seven_hours_ahead() {
        let t = Timestamp::from_unix_seconds(0);
        assert_eq!(t.jakarta().hour(), 7);
        assert_eq!(t.rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Timestamp::parse_rfc3339("1970-01-01T07:00:00+07:00"),
            Some(t)
        );
    }
}
