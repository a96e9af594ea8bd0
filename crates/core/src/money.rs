//! Money as an integer count of minor units with its currency.
//!
//! Protocol scales (SendMe's `trx_amount` with two implied decimals, SNAP's
//! `"10000.00"`, the rupiah strings of balances) are converted exactly once, at
//! the wire edge, with [`parse_decimal`] and [`format_decimal`].

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("amount is not a decimal number")]
    NotDecimal,
    #[error("amount has more than {0} decimals")]
    TooManyDecimals(u32),
    #[error("amount is out of range")]
    OutOfRange,
    #[error("unknown currency {0:?}")]
    UnknownCurrency(String),
}

/// An ISO 4217 currency the gateway handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Currency {
    #[serde(rename = "IDR")]
    Idr,
}

impl Currency {
    /// Number of decimals in one major unit (IDR: 2, as every Faspay and SNAP amount shows).
    pub fn minor_units(self) -> u32 {
        match self {
            Currency::Idr => 2,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Currency::Idr => "IDR",
        }
    }

    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        match code {
            "IDR" => Ok(Currency::Idr),
            other => Err(MoneyError::UnknownCurrency(other.to_string())),
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount of money: minor units and currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub const fn new(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    pub const fn idr(minor: i64) -> Self {
        Money::new(minor, Currency::Idr)
    }

    /// Parses a major-unit decimal string such as `"100000000.00"` or `"250"`.
    pub fn parse_major(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        Ok(Money::new(
            parse_decimal(text, currency.minor_units())?,
            currency,
        ))
    }

    /// The major-unit decimal string with exactly the currency's decimals: `"1000.50"`.
    pub fn to_major_string(self) -> String {
        format_decimal(self.minor, self.currency.minor_units())
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.currency, self.to_major_string())
    }
}

/// Parses a plain decimal (`-`? digits, optionally `.` and at most `scale` digits) into
/// an integer scaled by `10^scale`. No exponent, no grouping, no whitespace.
pub fn parse_decimal(text: &str, scale: u32) -> Result<i64, MoneyError> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, frac) = match body.split_once('.') {
        Some((w, f)) => (w, f),
        None => (body, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || !digits(whole)
        || !digits(frac)
        || (body.contains('.') && frac.is_empty())
    {
        return Err(MoneyError::NotDecimal);
    }
    if frac.len() > scale as usize {
        return Err(MoneyError::TooManyDecimals(scale));
    }
    let mut value: i64 = 0;
    for b in whole.bytes().chain(frac.bytes()) {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
            .ok_or(MoneyError::OutOfRange)?;
    }
    for _ in frac.len()..scale as usize {
        value = value.checked_mul(10).ok_or(MoneyError::OutOfRange)?;
    }
    Ok(if negative { -value } else { value })
}

/// Formats an integer scaled by `10^scale` as a decimal with exactly `scale` decimals.
pub fn format_decimal(value: i64, scale: u32) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let magnitude = value.unsigned_abs();
    if scale == 0 {
        return format!("{sign}{magnitude}");
    }
    let unit = 10u64.pow(scale);
    format!(
        "{sign}{}.{:0width$}",
        magnitude / unit,
        magnitude % unit,
        width = scale as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_rupiah_strings() {
        assert_eq!(parse_decimal("100000000.00", 2), Ok(10_000_000_000));
        assert_eq!(parse_decimal("250", 2), Ok(25_000));
        assert_eq!(parse_decimal("0.5", 2), Ok(50));
        assert_eq!(parse_decimal("-1.25", 2), Ok(-125));
        assert_eq!(
            parse_decimal("1.234", 2),
            Err(MoneyError::TooManyDecimals(2))
        );
        for bad in ["", ".5", "1.", "1e5", " 1", "1,000", "+1", "--1", "abc"] {
            assert_eq!(
                parse_decimal(bad, 2),
                Err(MoneyError::NotDecimal),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_decimal("99999999999999999999", 2),
            Err(MoneyError::OutOfRange)
        );
    }

    #[test]
    fn formats_with_exact_scale() {
        assert_eq!(format_decimal(789_700_000, 2), "7897000.00");
        assert_eq!(format_decimal(5, 2), "0.05");
        assert_eq!(format_decimal(-5, 2), "-0.05");
        assert_eq!(format_decimal(42, 0), "42");
        assert_eq!(Money::idr(100).to_string(), "IDR 1.00");
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(v in any::<i64>().prop_filter("not min", |v| *v != i64::MIN), scale in 0u32..4) {
            prop_assert_eq!(parse_decimal(&format_decimal(v, scale), scale), Ok(v));
        }
    }
}
