//! A date range as the dashboard's forms give it: `from` and `to` as Jakarta
//! dates (`2026-12-05`), `to` included; by default the 30 days up to today.

use gerbang_core::Timestamp;
use serde::Deserialize;
use time::macros::{format_description, offset};
use time::{Date, Duration, PrimitiveDateTime, Time};

/// Longest range taken, in days.
pub const MAX_DAYS: i64 = 366;
const DEFAULT_DAYS: i64 = 30;

#[derive(Deserialize, Default)]
pub struct Dates {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// A checked range: the first and last day, and the instants `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub first: Date,
    pub last: Date,
}

fn parse(text: &str) -> Result<Date, String> {
    Date::parse(text.trim(), format_description!("[year]-[month]-[day]"))
        .map_err(|_| format!("{text:?} is not a date written YYYY-MM-DD"))
}

fn midnight(day: Date) -> Timestamp {
    Timestamp::from_offset_date_time(
        PrimitiveDateTime::new(day, Time::MIDNIGHT).assume_offset(offset!(+7)),
    )
}

pub fn text(day: Date) -> String {
    day.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

impl Window {
    /// The range `dates` asks for, `today` (in Jakarta) filling what is left out.
    pub fn of(dates: &Dates, today: Date) -> Result<Window, String> {
        let blank = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
        };
        let last = match blank(&dates.to) {
            Some(t) => parse(&t)?,
            None => today,
        };
        let first = match blank(&dates.from) {
            Some(f) => parse(&f)?,
            None => last - Duration::days(DEFAULT_DAYS - 1),
        };
        if first > last {
            return Err("the range starts after it ends".into());
        }
        if (last - first).whole_days() >= MAX_DAYS {
            return Err(format!("a range is at most {MAX_DAYS} days"));
        }
        Ok(Window { first, last })
    }

    /// `[start, end)` as instants.
    pub fn instants(&self) -> (Timestamp, Timestamp) {
        let end = self
            .last
            .next_day()
            .map_or(Timestamp::from_micros(i64::MAX), midnight);
        (midnight(self.first), end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn ranges() {
        let today = date!(2026 - 12 - 05);
        let w = Window::of(&Dates::default(), today).unwrap();
        assert_eq!((w.first, w.last), (date!(2026 - 11 - 06), today));
        let d = |f: &str, t: &str| Dates {
            from: Some(f.into()),
            to: Some(t.into()),
        };
        let w = Window::of(&d("2026-12-01", "2026-12-01"), today).unwrap();
        let (start, end) = w.instants();
        assert_eq!(
            (start.jakarta().date(), start.jakarta().hour()),
            (date!(2026 - 12 - 01), 0)
        );
        assert_eq!(end.unix_seconds() - start.unix_seconds(), 86_400);
        assert!(Window::of(&d("2026-12-02", "2026-12-01"), today).is_err());
        assert!(Window::of(&d("2025-01-01", "2026-12-01"), today).is_err());
        assert!(Window::of(&d("01/12/2026", ""), today).is_err());
    }
}
