//! SNAP's notices (spec §4.4): the final state of a SNAP disbursement, POSTed to
//! the request's `callbackUrl` (or the partner's notification URL) as JSON shaped
//! like a transfer-status answer, signed with the gateway's RSA key in the
//! asymmetric form over the `/v1.0/…` form of the receiver's path. The partner
//! verifies it with the key `gerbang keys --for snap` prints.

use super::body;
use super::render;
use super::signature::{asymmetric_string, endpoints};
use crate::face::{NoticeFace, Outgoing, RenderedNotice};
use gerbang_core::cashin::{CashInBulk, CashInChunk};
use gerbang_core::payout::{Disbursement, Face};
use serde_json::Value;

/// The SNAP face's notices.
pub struct Snap;

/// Who receives a SNAP partner's notices.
pub struct PartnerAddress {
    /// Where notices go when a request named no `callbackUrl`.
    pub notification_url: Option<String>,
}

/// `CHANNEL-ID` of the gateway's calls: SendMe SNAP's.
pub const CHANNEL_ID: &str = "88001";

/// The path of `url` a receiver checks the signature against: from its `/v1.0`
/// segment on when it has one (as receivers cut it), else the whole path.
pub fn signed_path(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = match after_scheme.split_once('/') {
        Some((_, rest)) => format!("/{}", rest.split('#').next().unwrap_or_default()),
        None => "/".to_string(),
    };
    endpoints(&path).pop().unwrap_or(path)
}

/// The headers of a SNAP call the gateway makes: `X-TIMESTAMP`, `X-SIGNATURE`
/// (asymmetric, gateway's key), `X-PARTNER-ID`, `X-EXTERNAL-ID`, `CHANNEL-ID`.
pub fn signed_headers(attempt: &Outgoing<'_>) -> Vec<(String, String)> {
    let timestamp = render::instant(attempt.now);
    let hash = body::hash(&body::minify(attempt.body.as_bytes()));
    let string = asymmetric_string("POST", &signed_path(attempt.url), &hash, &timestamp);
    let external_id = format!(
        "{}{:03}",
        attempt.now.as_micros(),
        rand::random::<u16>() % 1000
    );
    vec![
        ("X-TIMESTAMP".into(), timestamp),
        ("X-SIGNATURE".into(), (attempt.sign)(string.as_bytes())),
        ("X-PARTNER-ID".into(), attempt.owner.to_string()),
        ("X-EXTERNAL-ID".into(), external_id),
        ("CHANNEL-ID".into(), CHANNEL_ID.into()),
    ]
}

impl NoticeFace for Snap {
    const FACE: Face = Face::Snap;
    const CONTENT_TYPE: &'static str = "application/json";
    const SIGNED_BY_GATEWAY: bool = true;
    type Requester = PartnerAddress;

    fn payout_notice(d: &Disbursement, partner: &PartnerAddress) -> Option<RenderedNotice> {
        if !d.status.is_final() {
            return None;
        }
        let url = d
            .notice_url
            .clone()
            .or_else(|| partner.notification_url.clone())?;
        Some(RenderedNotice {
            url,
            body: Value::Object(render::status(d)).to_string(),
        })
    }

    fn cashin_notice(
        bulk: &CashInBulk,
        chunk: &CashInChunk,
        partner: &PartnerAddress,
    ) -> Option<RenderedNotice> {
        let url = bulk
            .notice_url
            .clone()
            .or_else(|| partner.notification_url.clone())?;
        Some(RenderedNotice {
            url,
            body: super::bulk::notify_page(bulk, chunk),
        })
    }

    fn headers(attempt: &Outgoing<'_>) -> Vec<(String, String)> {
        signed_headers(attempt)
    }

    /// Any 2xx, unless the body is SNAP JSON whose `responseCode` (a string, or
    /// a number as sloppy receivers write it) is not a success.
    fn acknowledged(http_status: u16, body: &str) -> bool {
        if !(200..300).contains(&http_status) {
            return false;
        }
        match serde_json::from_str::<Value>(body) {
            Ok(v) => match &v["responseCode"] {
                Value::String(code) => code.starts_with('2'),
                Value::Number(code) => code.to_string().starts_with('2'),
                _ => true,
            },
            Err(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receivers_check_the_path_from_its_version_on() {
        assert_eq!(
            signed_path("https://partner.example/openapi/v1.0/transfer/notify?a=1"),
            "/v1.0/transfer/notify?a=1"
        );
        assert_eq!(signed_path("http://127.0.0.1:9/cb"), "/cb");
        assert_eq!(signed_path("http://127.0.0.1:9"), "/");
    }

    #[test]
    fn answers_that_say_failure_are_not_acknowledgements() {
        assert!(Snap::acknowledged(200, r#"{"responseCode":"2003600"}"#));
        assert!(Snap::acknowledged(200, "OK"));
        assert!(!Snap::acknowledged(200, r#"{"responseCode":"5003600"}"#));
        assert!(!Snap::acknowledged(200, r#"{"responseCode":5003600}"#));
        assert!(Snap::acknowledged(200, r#"{"responseCode":2003600}"#));
        assert!(!Snap::acknowledged(500, ""));
    }
}
