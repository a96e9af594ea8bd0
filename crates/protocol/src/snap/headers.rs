//! The common headers of a transactional SNAP request (spec §2, §8 step 2), read
//! into typed values; a missing one is `400xx02 Invalid Mandatory Field [name]`, a
//! malformed one `400xx01 Invalid Field Format [name]`. Header names are matched
//! without regard to case, as HTTP requires (the Java SDK sends `X-Signature`).

use super::code::{Case, Outcome, Service};
use super::timestamp;
use gerbang_core::Timestamp;

/// Longest `X-EXTERNAL-ID` (String(36) of digits).
pub const MAX_EXTERNAL_ID: usize = 36;
/// Longest `X-PARTNER-ID`.
pub const MAX_PARTNER_ID: usize = 36;
/// Longest `CHANNEL-ID`.
pub const MAX_CHANNEL_ID: usize = 5;
/// Longest signature accepted for checking (base64 of an 8,192-bit RSA signature,
/// with room to spare).
pub const MAX_SIGNATURE: usize = 2048;

/// The headers every transactional request carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Common {
    /// As sent: it is signed verbatim.
    pub timestamp_text: String,
    pub timestamp: Timestamp,
    pub signature: String,
    pub partner_id: String,
    /// Digits only.
    pub external_id: String,
    pub channel_id: String,
    /// The bearer token, without `Bearer `, if one came.
    pub token: Option<String>,
}

impl Common {
    /// Reads the headers through `get` (a case-insensitive lookup by name) for a
    /// request of `service`.
    pub fn read<'a>(
        service: Service,
        get: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Common, Outcome> {
        let mandatory = |name: &str| -> Result<String, Outcome> {
            match get(name).map(str::trim) {
                Some(value) if !value.is_empty() => Ok(value.to_string()),
                _ => Err(Outcome::new(service, Case::INVALID_MANDATORY_FIELD).about(name)),
            }
        };
        let malformed = |name: &str| Outcome::new(service, Case::INVALID_FIELD_FORMAT).about(name);
        let timestamp_text = mandatory("X-TIMESTAMP")?;
        let timestamp =
            timestamp::parse(&timestamp_text).ok_or_else(|| malformed("X-TIMESTAMP"))?;
        let signature = mandatory("X-SIGNATURE")?;
        if signature.len() > MAX_SIGNATURE {
            return Err(malformed("X-SIGNATURE"));
        }
        let partner_id = mandatory("X-PARTNER-ID")?;
        if partner_id.chars().count() > MAX_PARTNER_ID || partner_id.chars().any(char::is_control) {
            return Err(malformed("X-PARTNER-ID"));
        }
        let external_id = mandatory("X-EXTERNAL-ID")?;
        if external_id.len() > MAX_EXTERNAL_ID || !external_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed("X-EXTERNAL-ID"));
        }
        let channel_id = mandatory("CHANNEL-ID")?;
        if channel_id.len() > MAX_CHANNEL_ID || !channel_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed("CHANNEL-ID"));
        }
        let token = match get("Authorization").map(str::trim) {
            None | Some("") => None,
            Some(value) => {
                let (scheme, token) = value
                    .split_once(' ')
                    .ok_or_else(|| malformed("Authorization"))?;
                if !scheme.eq_ignore_ascii_case("Bearer") || token.trim().is_empty() {
                    return Err(malformed("Authorization"));
                }
                Some(token.trim().to_string())
            }
        };
        Ok(Common {
            timestamp_text,
            timestamp,
            signature,
            partner_id,
            external_id,
            channel_id,
            token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(headers: &[(&str, &str)]) -> Result<Common, Outcome> {
        Common::read(Service::TRANSFER_INTERBANK, |name| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        })
    }

    const GOOD: &[(&str, &str)] = &[
        ("X-TIMESTAMP", "2020-12-17T10:55:00+07:00"),
        ("X-Signature", "c2lnbmVk"),
        ("X-Partner-Id", "99999"),
        ("X-EXTERNAL-ID", "9999917026364870001"),
        ("CHANNEL-ID", "88001"),
    ];

    fn with(name: &str, value: Option<&str>) -> Vec<(String, String)> {
        let mut headers: Vec<(String, String)> = GOOD
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        if let Some(value) = value {
            headers.push((name.to_string(), value.to_string()));
        }
        headers
    }

    fn code_of(headers: Vec<(String, String)>) -> String {
        let pairs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        match read(&pairs) {
            Ok(_) => "ok".into(),
            Err(o) => format!("{} {}", o.response_code(), o.response_message()),
        }
    }

    #[test]
    fn the_headers_clients_send_are_read() {
        let common = read(GOOD).unwrap();
        assert_eq!(common.timestamp_text, "2020-12-17T10:55:00+07:00");
        assert_eq!(
            (common.partner_id.as_str(), common.channel_id.as_str()),
            ("99999", "88001")
        );
        assert_eq!(common.token, None);
        let mut bearer = GOOD.to_vec();
        bearer.push(("authorization", "Bearer abc.def"));
        assert_eq!(read(&bearer).unwrap().token.as_deref(), Some("abc.def"));
    }

    #[test]
    fn each_header_is_named_when_missing_or_malformed() {
        for name in [
            "X-TIMESTAMP",
            "X-SIGNATURE",
            "X-PARTNER-ID",
            "X-EXTERNAL-ID",
            "CHANNEL-ID",
        ] {
            assert_eq!(
                code_of(with(name, None)),
                format!("4001802 Invalid Mandatory Field [{name}]")
            );
            assert_eq!(
                code_of(with(name, Some("  "))),
                format!("4001802 Invalid Mandatory Field [{name}]")
            );
        }
        for (name, bad) in [
            ("X-TIMESTAMP", "2020-12-17 10:55:00"),
            ("X-EXTERNAL-ID", "12ab"),
            ("X-EXTERNAL-ID", &"1".repeat(37)),
            ("CHANNEL-ID", "880011"),
            ("X-PARTNER-ID", &"p".repeat(37)),
            ("Authorization", "Basic abc"),
            ("Authorization", "Bearer"),
        ] {
            assert_eq!(
                code_of(with(name, Some(bad))),
                format!("4001801 Invalid Field Format [{name}]"),
                "{name}: {bad}"
            );
        }
    }
}
