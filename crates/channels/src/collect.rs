//! Money coming in: what the gateway asks of the channel a bill is paid through
//! — open the bill there (the number to pay to, the QR code to scan, the push or
//! the page the customer confirms in) and give money back — behind
//! [`Collector`], which a real adapter (a bank's virtual-account API, a QRIS
//! acquirer, a wallet, an online-credit provider) implements. Payments
//! themselves come from the channel: over the host-to-host API (banks, store
//! counters), through the hosted pages (wallets, providers, internet banking) or
//! the sandbox API.
//!
//! The simulator ([`SimulatedCollectors`]) opens every bill as its channel's
//! family does, and:
//!
//! | when                                      | it                                           |
//! |-------------------------------------------|----------------------------------------------|
//! | a QRIS bill is above Rp10.000.000         | refuses to open it (QRIS's transaction cap)   |
//! | a virtual-account, store or QRIS bill has sen | refuses to open it: the bank, the counter and the QR code take whole rupiah |
//! | the customer's phone ends with `9909`     | refuses refunds: the customer's account is closed |

use crate::qris;
use async_trait::async_trait;
use gerbang_core::payin::{Channel, ChannelFamily, Opening};

/// Largest QRIS payment, in minor units: Rp10.000.000.
pub const QRIS_MAX_MINOR: i64 = 1_000_000_000;

/// A bill as its channel is asked to open it.
#[derive(Clone, Debug)]
pub struct Collection<'a> {
    pub bill_id: &'a str,
    pub channel: &'a Channel,
    pub amount_minor: i64,
    /// The merchant's id and name, as a QR code names the payee.
    pub merchant_id: &'a str,
    pub merchant_name: &'a str,
    pub customer_phone: &'a str,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CollectError {
    /// The channel does not take this amount.
    #[error("{0}")]
    Amount(String),
    /// The channel could not be reached or failed: nothing was opened.
    #[error("the channel is unavailable: {0}")]
    Unavailable(String),
}

/// Money of a paid bill going back to its customer.
#[derive(Clone, Debug)]
pub struct RefundOrder<'a> {
    pub bill_id: &'a str,
    pub channel: &'a Channel,
    /// The gateway's reference of this refund: the channel answers it
    /// idempotently, so a retry is never a second refund.
    pub reference: &'a str,
    pub amount_minor: i64,
    pub customer_phone: &'a str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefundOutcome {
    /// Given back; the channel's own reference.
    Refunded { reference: String },
    /// The channel would not give it back.
    Refused { reason: String },
}

#[async_trait]
pub trait Collector: Send + Sync {
    /// Opens `bill` at its channel: what the customer pays with. It may be
    /// asked for a request that turns out to repeat a bill already stored (the
    /// store knows a repeat only when it commits): an opening whose bill was
    /// never stored is never paid, and lapses at the channel.
    async fn open(&self, bill: &Collection<'_>) -> Result<Opening, CollectError>;
    /// Gives back part or all of a paid bill through its channel.
    async fn refund(&self, order: &RefundOrder<'_>) -> RefundOutcome;
}

/// Every pay-in channel as simulated: no state of its own, so any number of
/// gateways may share it.
pub struct SimulatedCollectors;

fn digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

#[async_trait]
impl Collector for SimulatedCollectors {
    async fn open(&self, bill: &Collection<'_>) -> Result<Opening, CollectError> {
        let whole_rupiah = matches!(
            bill.channel.family,
            ChannelFamily::VirtualAccount | ChannelFamily::Retail | ChannelFamily::Qris
        );
        if whole_rupiah && bill.amount_minor % 100 != 0 {
            return Err(CollectError::Amount(format!(
                "{} takes whole rupiah; this bill has sen",
                bill.channel.name
            )));
        }
        Ok(match bill.channel.family {
            ChannelFamily::VirtualAccount | ChannelFamily::Retail => Opening::PayTo {
                number: bill.bill_id.to_string(),
            },
            ChannelFamily::Qris if bill.amount_minor > QRIS_MAX_MINOR => {
                return Err(CollectError::Amount(
                    "QRIS takes at most Rp10.000.000 a payment".into(),
                ))
            }
            ChannelFamily::Qris => Opening::Qr {
                content: qris::Payload {
                    merchant_id: bill.merchant_id,
                    merchant_name: bill.merchant_name,
                    bill_id: bill.bill_id,
                    amount_rupiah: bill.amount_minor / 100,
                }
                .encode(),
            },
            // OVO pushes to the customer's app; other wallets take them to theirs.
            ChannelFamily::EWallet if bill.channel.code == "812" => Opening::Push,
            ChannelFamily::EWallet
            | ChannelFamily::OnlineCredit
            | ChannelFamily::InternetBanking
            | ChannelFamily::Card => Opening::Redirect,
        })
    }

    async fn refund(&self, order: &RefundOrder<'_>) -> RefundOutcome {
        if digits(order.customer_phone).ends_with("9909") {
            return RefundOutcome::Refused {
                reason: "the customer's account is closed".into(),
            };
        }
        RefundOutcome::Refunded {
            reference: format!("RF{}", order.reference),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gerbang_core::payin::find_channel;

    fn bill<'a>(channel: &'a Channel, amount_minor: i64) -> Collection<'a> {
        Collection {
            bill_id: "9999980100000001",
            channel,
            amount_minor,
            merchant_id: "99999",
            merchant_name: "FASPAY STORE",
            customer_phone: "081234567890",
        }
    }

    #[tokio::test]
    async fn each_family_opens_its_way() {
        async fn open(code: &str, amount: i64) -> Result<Opening, CollectError> {
            let channel = find_channel(code).unwrap();
            SimulatedCollectors.open(&bill(channel, amount)).await
        }
        assert_eq!(
            open("801", 100).await,
            Ok(Opening::PayTo {
                number: "9999980100000001".into()
            })
        );
        assert!(
            matches!(open("711", 1_500_000).await, Ok(Opening::Qr { content }) if content.contains("540515000"))
        );
        assert!(matches!(
            open("711", QRIS_MAX_MINOR + 100).await,
            Err(CollectError::Amount(_))
        ));
        for whole_rupiah in ["801", "707", "711"] {
            assert!(
                matches!(open(whole_rupiah, 1_500_050).await, Err(CollectError::Amount(why)) if why.contains("whole rupiah")),
                "{whole_rupiah}"
            );
        }
        assert_eq!(open("812", 1_500_050).await, Ok(Opening::Push));
        assert_eq!(open("812", 100).await, Ok(Opening::Push));
        assert_eq!(open("709", 100).await, Ok(Opening::Redirect));
    }

    #[tokio::test]
    async fn a_closed_account_refuses_refunds() {
        let channel = find_channel("819").unwrap();
        let order = |phone| RefundOrder {
            bill_id: "1",
            channel,
            reference: "1-R0",
            amount_minor: 100,
            customer_phone: phone,
        };
        assert!(matches!(
            SimulatedCollectors
                .refund(&order("+62 812-0000-9909"))
                .await,
            RefundOutcome::Refused { .. }
        ));
        assert!(matches!(
            SimulatedCollectors.refund(&order("081200001234")).await,
            RefundOutcome::Refunded { .. }
        ));
    }
}
