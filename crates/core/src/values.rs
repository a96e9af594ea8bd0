//! Validated values every face shares. Each is built only through a constructor
//! that checks, so a value that exists is valid; faces turn untrusted text into
//! these at the edge and nothing below them checks again.

use std::fmt;

/// Why a text is not the value it should be.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("empty")]
    Empty,
    #[error("longer than {0} characters")]
    TooLong(usize),
    #[error("holds characters it may not")]
    BadCharacters,
    #[error("out of range")]
    OutOfRange,
}

/// A partner's or network's own reference: 1 to `max` printable ASCII characters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Reference(String);

impl Reference {
    pub fn parse(text: &str, max_chars: usize) -> Result<Reference, ValueError> {
        if text.is_empty() {
            return Err(ValueError::Empty);
        }
        if text.chars().count() > max_chars {
            return Err(ValueError::TooLong(max_chars));
        }
        if !text.chars().all(|c| c.is_ascii_graphic()) {
            return Err(ValueError::BadCharacters);
        }
        Ok(Reference(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// A positive amount of rupiah in minor units (sen), at most one trillion rupiah.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(i64);

impl Amount {
    /// One trillion rupiah, in sen.
    pub const MAX_MINOR: i64 = 100_000_000_000_000;

    pub fn from_minor(minor: i64) -> Result<Amount, ValueError> {
        if minor > 0 && minor <= Self::MAX_MINOR {
            Ok(Amount(minor))
        } else {
            Err(ValueError::OutOfRange)
        }
    }

    /// Whole rupiah, as some wires carry them.
    pub fn from_rupiah(rupiah: i64) -> Result<Amount, ValueError> {
        Self::from_minor(rupiah.checked_mul(100).ok_or(ValueError::OutOfRange)?)
    }

    /// Decimal digits of minor units, nothing else (`"2500000"` = Rp 25.000).
    pub fn parse_minor_digits(text: &str) -> Result<Amount, ValueError> {
        if text.is_empty() {
            return Err(ValueError::Empty);
        }
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValueError::BadCharacters);
        }
        Self::from_minor(text.parse().map_err(|_| ValueError::OutOfRange)?)
    }

    pub fn minor(self) -> i64 {
        self.0
    }
}

/// A phone number: 8 to 15 characters, digits with an optional leading `+`.
#[derive(Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub const MAX_CHARS: usize = 15;

    pub fn parse(text: &str) -> Result<Phone, ValueError> {
        let digits = text.strip_prefix('+').unwrap_or(text);
        if digits.is_empty() {
            return Err(ValueError::Empty);
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValueError::BadCharacters);
        }
        if text.len() > Self::MAX_CHARS {
            return Err(ValueError::TooLong(Self::MAX_CHARS));
        }
        if text.len() < 8 {
            return Err(ValueError::OutOfRange);
        }
        Ok(Phone(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", crate::mask::mask_tail(&self.0))
    }
}

/// A bank account number or an e-wallet's id: 1 to `max` decimal digits.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountNumber(String);

impl AccountNumber {
    pub fn parse(text: &str, max_chars: usize) -> Result<AccountNumber, ValueError> {
        if text.is_empty() {
            return Err(ValueError::Empty);
        }
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValueError::BadCharacters);
        }
        if text.len() > max_chars {
            return Err(ValueError::TooLong(max_chars));
        }
        Ok(AccountNumber(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", crate::mask::mask_tail(&self.0))
    }
}

/// An `http://` or `https://` URL of at most `max` characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpUrl(String);

impl HttpUrl {
    pub fn parse(text: &str, max_chars: usize) -> Result<HttpUrl, ValueError> {
        if text.is_empty() {
            return Err(ValueError::Empty);
        }
        if text.chars().count() > max_chars {
            return Err(ValueError::TooLong(max_chars));
        }
        let rest = text
            .strip_prefix("https://")
            .or_else(|| text.strip_prefix("http://"))
            .ok_or(ValueError::BadCharacters)?;
        if rest.is_empty() || text.len() <= 8 {
            return Err(ValueError::BadCharacters);
        }
        Ok(HttpUrl(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_exist_only_when_valid() {
        assert!(Reference::parse("TRX-1", 64).is_ok());
        assert_eq!(Reference::parse("", 64), Err(ValueError::Empty));
        assert_eq!(Reference::parse("a b", 64), Err(ValueError::BadCharacters));
        assert_eq!(Reference::parse("é", 64), Err(ValueError::BadCharacters));
        assert_eq!(Reference::parse("abc", 2), Err(ValueError::TooLong(2)));

        assert_eq!(
            Amount::parse_minor_digits("2500000").unwrap().minor(),
            2_500_000
        );
        assert!(Amount::parse_minor_digits("0").is_err());
        assert!(Amount::parse_minor_digits("-5").is_err());
        assert!(Amount::parse_minor_digits("1.5").is_err());
        assert!(Amount::parse_minor_digits("99999999999999999999999").is_err());
        assert!(Amount::from_rupiah(i64::MAX).is_err());
        assert_eq!(Amount::from_rupiah(50_000).unwrap().minor(), 5_000_000);

        assert!(Phone::parse("081234567890").is_ok());
        assert!(Phone::parse("+6281234567").is_ok());
        assert!(Phone::parse("0812").is_err());
        assert!(Phone::parse("08123456789012345").is_err());
        assert!(Phone::parse("0812-3456-78").is_err());
        assert_eq!(
            format!("{:?}", Phone::parse("081234567890").unwrap()),
            "\"********7890\""
        );

        assert!(AccountNumber::parse("1234567890", 20).is_ok());
        assert!(AccountNumber::parse("12-34", 20).is_err());
        assert!(AccountNumber::parse("", 20).is_err());
        assert!(AccountNumber::parse("123", 2).is_err());
        assert_eq!(
            format!("{:?}", AccountNumber::parse("1234567890", 20).unwrap()),
            "\"******7890\""
        );

        assert!(HttpUrl::parse("https://example.test/cb", 255).is_ok());
        assert!(HttpUrl::parse("ftp://example.test", 255).is_err());
        assert!(HttpUrl::parse("http://", 255).is_err());
    }
}
