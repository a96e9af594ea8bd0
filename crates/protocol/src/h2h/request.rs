//! The host-to-host requests, decoded from their JSON bodies into typed values:
//! a request that decodes is valid; one that does not gets the format error
//! (`30`) with the reason.

use gerbang_core::values::{Amount, Reference};
use serde::Deserialize;

/// Longest network reference.
pub const MAX_REFERENCE_CHARS: usize = 64;
/// Longest terminal id.
pub const MAX_TERMINAL_CHARS: usize = 64;

/// Why a body is not a request of its kind.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FormatError(pub String);

/// The body as `T`; a body that repeats a key anywhere is refused first.
fn json<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, FormatError> {
    let value = crate::json::parse(body).map_err(|e| FormatError(e.to_string()))?;
    serde_json::from_value(value).map_err(|e| FormatError(e.to_string()))
}

fn reference(text: &str) -> Result<Reference, FormatError> {
    Reference::parse(text, MAX_REFERENCE_CHARS).map_err(|_| {
        FormatError(format!(
            "reference: 1 to {MAX_REFERENCE_CHARS} printable ASCII characters"
        ))
    })
}

/// Inquiry: is this code claimable, for how much.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inquiry {
    pub reference: Option<Reference>,
    pub code: String,
    /// The phone a cash-out code was issued for; a bill's code needs none.
    pub phone: String,
}

/// Payment: the network claims the code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment {
    pub reference: Reference,
    pub code: String,
    pub phone: String,
    pub amount: Amount,
    pub terminal: String,
}

/// Reversal or advice: a payment named by the network's reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByReference {
    pub reference: Reference,
}

impl Inquiry {
    pub fn parse(body: &[u8]) -> Result<Inquiry, FormatError> {
        #[derive(Deserialize)]
        struct Body {
            reference: Option<String>,
            code: String,
            #[serde(default)]
            phone: String,
        }
        let b: Body = json(body)?;
        Ok(Inquiry {
            reference: b.reference.as_deref().map(reference).transpose()?,
            code: b.code.trim().to_string(),
            phone: b.phone,
        })
    }
}

impl Payment {
    pub fn parse(body: &[u8]) -> Result<Payment, FormatError> {
        #[derive(Deserialize)]
        struct Body {
            reference: String,
            code: String,
            #[serde(default)]
            phone: String,
            amount: i64,
            #[serde(default)]
            terminal: String,
        }
        let b: Body = json(body)?;
        let reference = reference(&b.reference)?;
        let amount = Amount::from_rupiah(b.amount)
            .map_err(|_| FormatError("amount: a positive number of rupiah".into()))?;
        if b.terminal.chars().count() > MAX_TERMINAL_CHARS {
            return Err(FormatError(format!(
                "terminal: at most {MAX_TERMINAL_CHARS} characters"
            )));
        }
        Ok(Payment {
            reference,
            code: b.code.trim().to_string(),
            phone: b.phone,
            amount,
            terminal: b.terminal,
        })
    }
}

impl ByReference {
    pub fn parse(body: &[u8]) -> Result<ByReference, FormatError> {
        #[derive(Deserialize)]
        struct Body {
            reference: String,
        }
        let b: Body = json(body)?;
        Ok(ByReference {
            reference: reference(&b.reference)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_decode_into_valid_requests_or_say_why_not() {
        let p = Payment::parse(
            br#"{"reference":"R1","code":" 1234567890 ","phone":"0812","amount":50000}"#,
        )
        .unwrap();
        assert_eq!(p.amount.minor(), 5_000_000);
        assert_eq!(p.code, "1234567890");
        assert!(
            Payment::parse(br#"{"reference":"R1","code":"1","phone":"0","amount":0}"#).is_err()
        );
        assert!(
            Payment::parse(br#"{"reference":"R 1","code":"1","phone":"0","amount":1}"#).is_err()
        );
        assert!(ByReference::parse(br#"{"reference":""}"#).is_err());
        assert!(ByReference::parse(b"\xff").is_err());
        let i = Inquiry::parse(br#"{"code":"1","phone":"2"}"#).unwrap();
        assert_eq!(i.reference, None);
    }
}
