//! The Payment Notification (spec §7.1): what a bill's end tells its merchant, in
//! the syntax the merchant chose, signed `sha1(md5(user_id + password + bill_no +
//! payment_status_code))`; a merchant acknowledges with `response_code` `00` in
//! either syntax. Also how a bill's state reads on the wire (§8.2).

use super::answer::Answer;
use super::message::{self, Syntax};
use super::signature;
use crate::face::{NoticeFace, RenderedNotice};
use gerbang_core::payin::{find_channel, Bill, BillStatus};
use gerbang_core::payout::{Disbursement, Face};
use gerbang_core::Timestamp;

pub struct DebitV1;

/// What a notice needs of its merchant.
#[derive(Clone, Debug)]
pub struct MerchantKeys {
    pub merchant_id: String,
    pub name: String,
    pub user_id: String,
    pub password: String,
    /// The syntax the merchant reads notifications in.
    pub syntax: Syntax,
}

/// `payment_status_code` and `payment_status_desc` of a bill (§8.2).
pub fn payment_status(status: BillStatus) -> (&'static str, &'static str) {
    match status {
        BillStatus::Pending => ("0", "Belum diproses"),
        BillStatus::Paid | BillStatus::PartlyRefunded => ("2", "Payment Sukses"),
        BillStatus::Failed => ("3", "Payment Gagal"),
        BillStatus::Refunded | BillStatus::Reversed => ("4", "Payment Reversal"),
        BillStatus::Expired => ("7", "Payment Expired"),
        BillStatus::Cancelled => ("8", "Payment Cancelled"),
    }
}

/// A Jakarta wall-clock time as the Debit API writes it.
pub fn wib(at: Timestamp) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    at.jakarta().format(&f).unwrap_or_default()
}

/// Minor units as the notification's plain rupiah (§1.5): whole rupiah without
/// decimals, otherwise two decimals.
pub fn rupiah(minor: i64) -> String {
    if minor % 100 == 0 {
        (minor / 100).to_string()
    } else {
        format!("{}.{:02}", minor / 100, (minor % 100).abs())
    }
}

impl NoticeFace for DebitV1 {
    const FACE: Face = Face::Debit;
    const CONTENT_TYPE: &'static str = "application/json";
    type Requester = MerchantKeys;
    /// Faspay sends a notification again 3 times when it is not acknowledged
    /// (§7.1): the first attempt and 3 retries.
    const MAX_ATTEMPTS: Option<i32> = Some(4);

    /// Debit merchants request no payouts.
    fn payout_notice(_d: &Disbursement, _m: &MerchantKeys) -> Option<RenderedNotice> {
        None
    }

    fn bill_notice(b: &Bill, m: &MerchantKeys) -> Option<RenderedNotice> {
        if b.status == BillStatus::Pending {
            return None;
        }
        let url = b.notice_url.clone()?;
        let (code, desc) = payment_status(b.status);
        let channel = find_channel(&b.channel);
        let payment = b.payment.as_ref();
        let answer = Answer::default()
            .text("request", "Payment Notification")
            .text("trx_id", b.id.as_str())
            .text("merchant_id", m.merchant_id.as_str())
            .text("merchant", m.name.as_str())
            .text("bill_no", b.reference.as_str())
            .text(
                "payment_reff",
                payment.map(|p| p.reference.clone()).unwrap_or_default(),
            )
            .text(
                "payment_date",
                wib(payment.map_or(b.status_at, |p| p.paid_at)),
            )
            .text("payment_status_code", code)
            .text("payment_status_desc", desc)
            .text("bill_total", rupiah(b.amount_minor))
            .text(
                "payment_total",
                // Mandatory and numeric (§7.1): nothing paid is 0.
                rupiah(payment.map_or(0, |p| p.amount_minor)),
            )
            .text("payment_channel_uid", b.channel.as_str())
            .text("payment_channel", channel.map_or("", |c| c.name))
            .text(
                "signature",
                signature::sign(&m.user_id, &m.password, &[&b.reference, code]),
            );
        Some(RenderedNotice {
            url,
            body: answer.render(m.syntax).1,
        })
    }

    fn content_type(body: &str) -> &'static str {
        match message::sniff(body.as_bytes()) {
            Some(Syntax::Xml) => "text/xml",
            _ => "application/json",
        }
    }

    /// `response_code` `00` in a JSON or XML answer (merchants answer in either,
    /// whatever they were sent).
    fn acknowledged(http_status: u16, body: &str) -> bool {
        (200..300).contains(&http_status)
            && message::read(body.as_bytes())
                .is_ok_and(|(_, m)| m.get("response_code") == Some("00"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledgements_in_either_syntax() {
        assert!(DebitV1::acknowledged(
            200,
            r#"{"response":"Payment Notification","response_code":"00"}"#
        ));
        assert!(DebitV1::acknowledged(
            200,
            "<faspay><response>Payment Notification</response><response_code>00</response_code></faspay>"
        ));
        assert!(!DebitV1::acknowledged(200, r#"{"response_code":"01"}"#));
        assert!(!DebitV1::acknowledged(200, "Signature Not Match"));
        assert!(!DebitV1::acknowledged(500, r#"{"response_code":"00"}"#));
        assert_eq!(rupiah(689_400), "6894");
        assert_eq!(rupiah(689_450), "6894.50");
    }
}
