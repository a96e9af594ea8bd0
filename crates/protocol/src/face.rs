//! What every protocol face does with the notices the domains emit: render
//! one from the domain record for the requester it names, sign it, say its content
//! type, and read a receiver's answer as an acknowledgement or not. The faces are
//! the variants of `gerbang_core::payout::Face`; the application picks the
//! implementation with an exhaustive `match`, so a face without one does not build.

use gerbang_core::cashin::{CashInBulk, CashInChunk};
use gerbang_core::payin::Bill;
use gerbang_core::payout::{Disbursement, Face};

/// A notice ready to be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedNotice {
    pub url: String,
    pub body: String,
}

/// One attempt at sending a notice, as its headers are made.
pub struct Outgoing<'a> {
    pub url: &'a str,
    pub body: &'a str,
    /// Whom it is for: the requester's id on its face.
    pub owner: &'a str,
    /// When it is sent.
    pub now: gerbang_core::Timestamp,
    /// Base64 SHA256withRSA of a message with the gateway's own key.
    pub sign: &'a (dyn Fn(&[u8]) -> String + Sync),
}

pub trait NoticeFace {
    /// The face this implements.
    const FACE: Face;
    /// The content type of its notice bodies.
    const CONTENT_TYPE: &'static str;
    /// What the face needs to know of the requester to address and sign a notice
    /// (names and keys, looked up by the application from the requester's id).
    type Requester;

    /// The notice a payout's new state sends, if this face sends one for it.
    fn payout_notice(d: &Disbursement, requester: &Self::Requester) -> Option<RenderedNotice>;

    /// The notice a bill's new state sends, if this face sends one for it.
    fn bill_notice(_b: &Bill, _requester: &Self::Requester) -> Option<RenderedNotice> {
        None
    }

    /// The notice a settled chunk of a bulk cash-in sends: one page of its
    /// items' outcomes.
    fn cashin_notice(
        _bulk: &CashInBulk,
        _chunk: &CashInChunk,
        _requester: &Self::Requester,
    ) -> Option<RenderedNotice> {
        None
    }

    /// The content type of one notice body (a face whose requesters choose a syntax
    /// tells it from the body).
    fn content_type(_body: &str) -> &'static str {
        Self::CONTENT_TYPE
    }

    /// Whether its attempts are signed with the gateway's own key (then
    /// [`Outgoing::sign`] signs; otherwise it is never called).
    const SIGNED_BY_GATEWAY: bool = false;

    /// The most attempts (the first and its retries) the protocol makes of one
    /// notice, when it says; the notifier's own cap applies too.
    const MAX_ATTEMPTS: Option<i32> = None;

    /// Headers an attempt carries besides the content type.
    fn headers(_attempt: &Outgoing<'_>) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Whether a receiver's answer means "got it, stop sending".
    fn acknowledged(http_status: u16, _body: &str) -> bool {
        (200..300).contains(&http_status)
    }
}
