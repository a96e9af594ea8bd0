//! Money flowing in: a bill a merchant posts for one payment channel, paid (or
//! not) by its customer. Knows no protocol: the face that created a bill is named
//! in its [`Requester`], and what that face echoes back lives in its `request`.

use crate::counter::CounterNetwork;
use crate::mask::Masked;
use crate::payout::{CashNetwork, Requester};
use crate::{Document, Timestamp};
use serde::{Deserialize, Serialize};

/// How a channel's customer pays, which decides the bill's path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelFamily {
    /// A bank virtual account: the bill's id is the number the customer pays to.
    VirtualAccount,
    /// A store counter: the bill's id is the payment code shown at the till.
    Retail,
    /// An e-wallet the customer confirms a push in, or is redirected to.
    EWallet,
    /// A QRIS code any wallet scans.
    Qris,
    /// An online-credit provider where the customer chooses a plan.
    OnlineCredit,
    /// Internet banking or online debit: a login at the bank's site.
    InternetBanking,
    /// A card payment.
    Card,
}

/// A payment channel a bill can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Channel {
    pub code: &'static str,
    pub name: &'static str,
    pub family: ChannelFamily,
}

const fn channel(code: &'static str, name: &'static str, family: ChannelFamily) -> Channel {
    Channel { code, name, family }
}

use ChannelFamily::*;

/// Every channel the gateway knows (Faspay's codes, spec faspay-debit §8.3).
pub const CHANNELS: &[Channel] = &[
    channel("302", "LinkAja", EWallet),
    channel("303", "XL Tunai", EWallet),
    channel("305", "Mandiri e-Cash", EWallet),
    channel("307", "Indosat Dompetku", EWallet),
    channel("400", "BRI MoCash", InternetBanking),
    channel("401", "BRI e-Pay", InternetBanking),
    channel("402", "Permata Virtual Account", VirtualAccount),
    channel("405", "BCA KlikPay", InternetBanking),
    channel("406", "Mandiri ClickPay", InternetBanking),
    channel("408", "Maybank Virtual Account", VirtualAccount),
    channel("500", "Credit Card", Card),
    channel("700", "CIMB Clicks", InternetBanking),
    channel("701", "Danamon Online Banking", InternetBanking),
    channel("702", "BCA Virtual Account", VirtualAccount),
    channel("703", "Mandiri Bill Payment", VirtualAccount),
    channel("704", "BCA Sakuku", EWallet),
    channel("706", "Indomaret Payment Point", Retail),
    channel("707", "Alfagroup", Retail),
    channel("708", "Danamon Virtual Account", VirtualAccount),
    channel("709", "Kredivo", OnlineCredit),
    channel("711", "ShopeePay QRIS", Qris),
    channel("713", "ShopeePay App", EWallet),
    channel("715", "LinkAja QRIS", Qris),
    channel("716", "LinkAja AppLink", EWallet),
    channel("800", "BRI Virtual Account", VirtualAccount),
    channel("801", "BNI Virtual Account", VirtualAccount),
    channel("802", "Mandiri Virtual Account", VirtualAccount),
    channel("807", "Akulaku", OnlineCredit),
    channel("810", "B-Secure", InternetBanking),
    channel("812", "OVO", EWallet),
    channel("814", "Maybank2U", InternetBanking),
    channel("818", "Sinarmas Virtual Account", VirtualAccount),
    channel("819", "DANA", EWallet),
    channel("820", "Indodana", OnlineCredit),
    channel("825", "CIMB Niaga Virtual Account", VirtualAccount),
    channel("836", "Paydia QRIS", Qris),
];

/// The channel with this code.
pub fn find_channel(code: &str) -> Option<&'static Channel> {
    CHANNELS.iter().find(|c| c.code == code)
}

impl Channel {
    /// The network whose counters or tellers take this channel's payments over
    /// the host-to-host API, the bill's id as payment code or VA number.
    pub fn counter(&self) -> Option<CounterNetwork> {
        use crate::counter::VaBank::*;
        use CounterNetwork::{Bank, Cash};
        Some(match self.code {
            "707" => Cash(CashNetwork::Alfamart),
            "706" => Cash(CashNetwork::Indomaret),
            "402" => Cash(CashNetwork::Permata),
            "702" => Bank(Bca),
            "801" => Bank(Bni),
            "800" => Bank(Bri),
            "802" | "703" => Bank(Mandiri),
            "408" => Bank(Maybank),
            "708" => Bank(Danamon),
            "818" => Bank(Sinarmas),
            "825" => Bank(Cimb),
            _ => return None,
        })
    }

    /// Where money paid through this channel arrives before the merchant is credited.
    pub fn clearing_account(&self) -> String {
        crate::ledger::codes::channel_clearing(&format!("payin:{}", self.code))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillStatus {
    /// Waiting for the customer.
    Pending,
    Paid,
    /// The channel declined it (an online-credit provider said no).
    Failed,
    Expired,
    Cancelled,
    /// The network that took the payment undid it (its answer never reached the
    /// counter): the money went back, the bill is over.
    Reversed,
    Refunded,
    PartlyRefunded,
}

impl BillStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BillStatus::Pending => "pending",
            BillStatus::Paid => "paid",
            BillStatus::Failed => "failed",
            BillStatus::Expired => "expired",
            BillStatus::Cancelled => "cancelled",
            BillStatus::Reversed => "reversed",
            BillStatus::Refunded => "refunded",
            BillStatus::PartlyRefunded => "partly_refunded",
        }
    }
}

/// Who pays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub number: String,
    pub name: String,
    pub email: Masked,
    pub phone: Masked,
}

/// One line of what is bought.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillItem {
    pub product: String,
    pub quantity: u32,
    pub amount_minor: i64,
}

/// What the channel gave the customer to pay a bill with, when the bill was
/// opened there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Opening {
    /// A number to pay to: a virtual account, a store's payment code.
    PayTo { number: String },
    /// A QRIS payload any wallet scans.
    Qr { content: String },
    /// The customer confirms a push in the wallet's app.
    Push,
    /// The customer is sent to the channel's own page (a credit provider, a
    /// wallet's web checkout, internet banking).
    Redirect,
}

/// How a bill was paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillPayment {
    /// The channel's own reference of the payment.
    pub reference: String,
    pub paid_at: Timestamp,
    pub amount_minor: i64,
    /// What the operator kept.
    pub fee_minor: i64,
    /// The counter's terminal, when paid at one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal: Option<String>,
    /// When the counter's network confirmed the payment final.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advised_at: Option<Timestamp>,
}

/// Where a refund stands at its channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundState {
    /// Taken from the merchant; the channel is giving it back.
    Requested,
    /// The channel gave it back.
    Refunded,
    /// The channel would not: the merchant has it again.
    Refused,
}

/// Part or all of a paid bill given back to its customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillRefund {
    /// The gateway's reference of the refund at the channel (one per refund).
    pub reference: String,
    pub amount_minor: i64,
    /// The operator's fee given back with it.
    pub fee_minor: i64,
    pub state: RefundState,
    pub requested_at: Timestamp,
    /// The channel's own reference, once it gave the money back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_reference: Option<String>,
    /// Why the channel would not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused_because: Option<String>,
}

/// A bill and where it stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bill {
    /// The gateway's id (Debit's `trx_id`; the number a VA or store customer pays to).
    pub id: String,
    pub requester: Requester,
    /// The merchant's reference (Debit's `bill_no`), unique per requester.
    pub reference: String,
    pub channel: String,
    pub amount_minor: i64,
    /// What the operator keeps when it is paid (the merchant's fee for the channel
    /// when the bill was posted).
    #[serde(default)]
    pub fee_minor: i64,
    pub description: String,
    pub customer: Customer,
    pub items: Vec<BillItem>,
    pub expires_at: Timestamp,
    /// What its channel gave the customer to pay with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening: Option<Opening>,
    pub status: BillStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<BillPayment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
    /// Refunded, or being refunded, so far.
    #[serde(default)]
    pub refunded_minor: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refunds: Vec<BillRefund>,
    /// Where the requester is told of the bill's end, if anywhere.
    pub notice_url: Option<String>,
    /// The request as its face decoded it, for the face's answers.
    pub request: Document,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub created_at: Timestamp,
    pub status_at: Timestamp,
}

impl Bill {
    /// Where the bill stands at `now`: a pending bill past its expiry is expired,
    /// even before its expiry timer has run.
    pub fn status_at(&self, now: Timestamp) -> BillStatus {
        match self.status {
            BillStatus::Pending if now >= self.expires_at => BillStatus::Expired,
            status => status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_bill_past_its_expiry_is_expired_before_its_timer_runs() {
        let mut bill: Bill = serde_json::from_str(
            r#"{"id":"8888880152628843","requester":{"face":"debit","principal":"88888"},
            "reference":"B-1","channel":"801","amount_minor":1500000,"description":"d",
            "customer":{"number":"C-1","name":"Budi","email":"","phone":""},"items":[],
            "expires_at":1000,"status":"pending","notice_url":null,"request":{},
            "created_at":0,"status_at":0}"#,
        )
        .unwrap();
        let (before, at) = (Timestamp::from_micros(999), Timestamp::from_micros(1000));
        assert_eq!(bill.status_at(before), BillStatus::Pending);
        assert_eq!(bill.status_at(at), BillStatus::Expired);
        bill.status = BillStatus::Paid;
        assert_eq!(bill.status_at(at), BillStatus::Paid);
    }

    #[test]
    fn every_va_and_retail_channel_has_a_counter() {
        for c in CHANNELS {
            let collects = matches!(
                c.family,
                ChannelFamily::VirtualAccount | ChannelFamily::Retail
            );
            assert_eq!(c.counter().is_some(), collects, "{}", c.code);
        }
    }

    #[test]
    fn channel_codes_are_unique_and_known() {
        let mut codes: Vec<&str> = CHANNELS.iter().map(|c| c.code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), CHANNELS.len());
        assert_eq!(
            find_channel("709").unwrap().family,
            ChannelFamily::OnlineCredit
        );
        assert_eq!(
            find_channel("801").unwrap().clearing_account(),
            "channel:payin:801"
        );
        assert!(find_channel("999").is_none());
    }
}
