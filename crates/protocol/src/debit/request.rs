//! The Debit requests decoded from a [`Message`] into typed values (spec §2–§6).
//! Fields are checked in the order a merchant reads the documentation; the first
//! problem is the answer. Amounts keep the text the merchant sent, to be echoed
//! verbatim, beside their value in minor units (two implied decimals, §1.5).

use super::answer::DebitError;
use super::message::{Line, Message};
use gerbang_core::values::Reference;
use gerbang_core::Timestamp;

/// Longest `bill_no` (spec §3.1).
pub const BILL_NO_CHARS: usize = 32;
/// Longest description kept.
pub const DESCRIPTION_CHARS: usize = 128;
/// Longest a bill may stay payable (spec §3.1: `bill_expired` at most 30 days after `bill_date`).
pub const MAX_LIFETIME_SECONDS: i64 = 30 * 86_400;

/// A merchant id as sent: digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerchantId(pub String);

/// An amount as sent and its value in minor units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Amount {
    pub raw: String,
    pub minor: i64,
}

impl Amount {
    /// Digits, optionally followed by a PHP float's `.0…` (`"1000000"`, `"8000.00"`);
    /// the value carries two implied decimals, as the spec's clients send it.
    pub fn parse(raw: &str) -> Option<Amount> {
        let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
        if whole.is_empty()
            || whole.len() > 15
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b == b'0')
        {
            return None;
        }
        Some(Amount {
            raw: raw.to_string(),
            minor: whole.parse().ok()?,
        })
    }
}

fn mandatory<'a>(m: &'a Message, key: &'static str) -> Result<&'a str, DebitError> {
    m.get(key).ok_or_else(|| DebitError::mandatory(key))
}

fn merchant_id(m: &Message) -> Result<MerchantId, DebitError> {
    let id = mandatory(m, "merchant_id")?;
    if id.len() > 15 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DebitError::FORMAT.with_detail("merchant_id: digits"));
    }
    Ok(MerchantId(id.to_string()))
}

fn bill_no(m: &Message) -> Result<Reference, DebitError> {
    Reference::parse(mandatory(m, "bill_no")?, BILL_NO_CHARS)
        .map_err(|e| DebitError::FORMAT.with_detail(format!("bill_no: {e}")))
}

fn signature(m: &Message) -> Result<String, DebitError> {
    Ok(mandatory(m, "signature")?.to_string())
}

/// `YYYY-MM-DD HH:MM:SS`, ISO `YYYY-MM-DDTHH:MM:SS`, or `YYYY/M/D h:mm:ss AM`
/// (all seen on the wire), in Jakarta time.
pub fn datetime(text: &str) -> Option<Timestamp> {
    use time::macros::format_description as fd;
    use time::PrimitiveDateTime;
    let text = text.trim();
    let parsed = PrimitiveDateTime::parse(text, fd!("[year]-[month]-[day] [hour]:[minute]:[second]"))
        .or_else(|_| {
            PrimitiveDateTime::parse(text, fd!("[year]-[month]-[day]T[hour]:[minute]:[second]"))
        })
        .or_else(|_| {
            PrimitiveDateTime::parse(
                text,
                fd!("[year]/[month padding:none]/[day padding:none] [hour repr:12 padding:none]:[minute]:[second] [period]"),
            )
        })
        .ok()?;
    Some(Timestamp::from_offset_date_time(
        parsed.assume_offset(gerbang_core::timestamp::JAKARTA),
    ))
}

/// Payment Channel Inquiry (§2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelInquiry {
    pub merchant_id: MerchantId,
    pub signature: String,
}

impl ChannelInquiry {
    pub fn decode(m: &Message) -> Result<Self, DebitError> {
        Ok(ChannelInquiry {
            merchant_id: merchant_id(m)?,
            signature: signature(m)?,
        })
    }
}

/// One `item` line: what the bill shows, with the sent text kept for the echo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub product: String,
    pub quantity: u32,
    pub amount: Amount,
    /// Every field as sent (echoed in `bill_items`).
    pub sent: Line,
}

/// Post Data Transaction (§3): a bill for one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostData {
    pub merchant_id: MerchantId,
    pub bill_no: Reference,
    pub bill_reff: Option<String>,
    pub bill_date: Timestamp,
    pub bill_expired: Timestamp,
    pub bill_desc: String,
    pub bill_total: Amount,
    pub cust_no: String,
    pub cust_name: String,
    pub msisdn: String,
    pub email: String,
    pub payment_channel: String,
    pub items: Vec<Item>,
    /// Channel-specific free fields (Kredivo's tenor travels in `reserve2`).
    pub reserve1: Option<String>,
    pub reserve2: Option<String>,
    pub signature: String,
}

impl PostData {
    /// Whether `key`, a field of a Post Data request or of one of its item lines,
    /// makes the bill (§3.1, §3.2; `billing_…` and `shipping_…` too) — rather than
    /// the free-text `request`, the signature or keys a plugin adds of its own.
    pub fn makes_the_bill(key: &str) -> bool {
        matches!(
            key,
            "merchant_id"
                | "merchant"
                | "bill_no"
                | "bill_reff"
                | "bill_date"
                | "bill_expired"
                | "bill_desc"
                | "bill_currency"
                | "bill_gross"
                | "bill_tax"
                | "bill_miscfee"
                | "bill_total"
                | "cust_no"
                | "cust_name"
                | "cust_lastname"
                | "payment_channel"
                | "pay_type"
                | "bank_userid"
                | "msisdn"
                | "email"
                | "terminal"
                | "receiver_name_for_shipping"
                | "reserve1"
                | "reserve2"
                | "id"
                | "product"
                | "qty"
                | "amount"
                | "payment_plan"
                | "tenor"
        ) || key.starts_with("billing_")
            || key.starts_with("shipping_")
    }

    pub fn decode(m: &Message) -> Result<Self, DebitError> {
        let merchant_id = merchant_id(m)?;
        let bill_no = bill_no(m)?;
        let date = |key: &'static str| {
            datetime(mandatory(m, key)?).ok_or_else(|| {
                DebitError::FORMAT.with_detail(format!("{key}: YYYY-MM-DD HH:MM:SS"))
            })
        };
        let bill_date = date("bill_date")?;
        let bill_expired = date("bill_expired")?;
        let bill_desc: String = mandatory(m, "bill_desc")?
            .chars()
            .take(DESCRIPTION_CHARS)
            .collect();
        if let Some(currency) = m.get("bill_currency") {
            if !currency.eq_ignore_ascii_case("IDR") {
                return Err(DebitError::FORMAT.with_detail("bill_currency: IDR"));
            }
        }
        let bill_total = Amount::parse(mandatory(m, "bill_total")?)
            .filter(|a| a.minor > 0)
            .ok_or_else(|| DebitError::INVALID_AMOUNT.with_detail("bill_total"))?;
        // Documented as mandatory (§3.1), yet Faspay's own Magento plugin sends no
        // `cust_no` and its sandbox sample sends both empty: taken as they come.
        let cust_no = m.get("cust_no").unwrap_or_default().to_string();
        let cust_name = m.get("cust_name").unwrap_or_default().to_string();
        let payment_channel = mandatory(m, "payment_channel")?.to_string();
        if payment_channel.len() > 4 || !payment_channel.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DebitError::FORMAT.with_detail("payment_channel: a channel code"));
        }
        let msisdn = m.get("msisdn").unwrap_or_default().to_string();
        let email = m.get("email").unwrap_or_default().to_string();
        let mut items = Vec::with_capacity(m.items.len());
        for line in &m.items {
            let field = |k: &str| line.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
            let product = field("product")
                .ok_or_else(|| DebitError::mandatory("item.product"))?
                .to_string();
            // `"1"`, `1`, or a PHP float's `"1.00"`.
            let quantity = field("qty")
                .map(|q| {
                    Amount::parse(q)
                        .and_then(|a| u32::try_from(a.minor).ok())
                        .filter(|n| *n > 0)
                })
                .unwrap_or(Some(1))
                .ok_or_else(|| DebitError::FORMAT.with_detail("item.qty: a number"))?;
            // An empty amount is seen on the wire (§1.4): a line of nothing.
            let amount = match field("amount") {
                None if line.contains_key("amount") => Amount {
                    raw: String::new(),
                    minor: 0,
                },
                None => return Err(DebitError::mandatory("item.amount")),
                Some(text) => Amount::parse(text)
                    .ok_or_else(|| DebitError::INVALID_AMOUNT.with_detail("item.amount"))?,
            };
            items.push(Item {
                product,
                quantity,
                amount,
                sent: line.clone(),
            });
        }
        if items.is_empty() {
            return Err(DebitError::mandatory("item"));
        }
        Ok(PostData {
            merchant_id,
            bill_no,
            bill_reff: m.get("bill_reff").map(str::to_string),
            bill_date,
            bill_expired,
            bill_desc,
            bill_total,
            cust_no,
            cust_name,
            msisdn,
            email,
            payment_channel,
            items,
            reserve1: m.get("reserve1").map(str::to_string),
            reserve2: m.get("reserve2").map(str::to_string),
            signature: signature(m)?,
        })
    }
}

/// Inquiry Payment Status (§5). `trx_id` may be missing (one client sends it under
/// another key): the bill is then found by `bill_no`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusInquiry {
    pub merchant_id: MerchantId,
    pub bill_no: Reference,
    pub trx_id: Option<String>,
    pub signature: String,
}

impl StatusInquiry {
    pub fn decode(m: &Message) -> Result<Self, DebitError> {
        Ok(StatusInquiry {
            merchant_id: merchant_id(m)?,
            bill_no: bill_no(m)?,
            trx_id: m.get("trx_id").map(str::to_string),
            signature: signature(m)?,
        })
    }
}

/// Cancel Transaction (§6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cancel {
    pub merchant_id: MerchantId,
    pub bill_no: Reference,
    pub trx_id: Option<String>,
    pub reason: String,
    pub signature: String,
}

impl Cancel {
    pub fn decode(m: &Message) -> Result<Self, DebitError> {
        Ok(Cancel {
            merchant_id: merchant_id(m)?,
            bill_no: bill_no(m)?,
            trx_id: m.get("trx_id").map(str::to_string),
            reason: mandatory(m, "payment_cancel")?.chars().take(50).collect(),
            signature: signature(m)?,
        })
    }
}

/// Online-credit payment-type inquiry (Kredivo, `/cvr/300012/10`, §9.1): which
/// plans a basket of `bill_total` can be paid with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanInquiry {
    pub merchant_id: MerchantId,
    pub bill_total: Amount,
    pub signature: String,
}

impl PlanInquiry {
    pub fn decode(m: &Message) -> Result<Self, DebitError> {
        Ok(PlanInquiry {
            merchant_id: merchant_id(m)?,
            bill_total: Amount::parse(mandatory(m, "bill_total")?)
                .filter(|a| a.minor > 0)
                .ok_or_else(|| DebitError::INVALID_AMOUNT.with_detail("bill_total"))?,
            signature: signature(m)?,
        })
    }
}

/// How much a refund gives back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefundAmount {
    Full,
    Partial(Amount),
}

/// Refund / purchase cancellation (`/cvr/300013/10`, §6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refund {
    pub merchant_id: MerchantId,
    pub bill_no: Reference,
    pub trx_id: Option<String>,
    pub amount: RefundAmount,
    pub reason: String,
    pub signature: String,
}

impl Refund {
    pub fn decode(m: &Message) -> Result<Self, DebitError> {
        let merchant_id = merchant_id(m)?;
        let bill_no = bill_no(m)?;
        let amount = match m
            .get("cancellation_type")
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            None | Some("FULL") => RefundAmount::Full,
            Some("PARTIAL") => RefundAmount::Partial(
                Amount::parse(mandatory(m, "cancellation_amount")?)
                    .filter(|a| a.minor > 0)
                    .ok_or_else(|| DebitError::INVALID_AMOUNT.with_detail("cancellation_amount"))?,
            ),
            Some(_) => {
                return Err(DebitError::FORMAT.with_detail("cancellation_type: FULL or PARTIAL"))
            }
        };
        Ok(Refund {
            merchant_id,
            bill_no,
            trx_id: m.get("trx_id").map(str::to_string),
            amount,
            reason: m
                .get("cancellation_reason")
                .unwrap_or_default()
                .chars()
                .take(128)
                .collect(),
            signature: signature(m)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_as_clients_send_them() {
        assert_eq!(Amount::parse("1000000").unwrap().minor, 1_000_000);
        assert_eq!(Amount::parse("8000.00").unwrap().minor, 8000);
        assert_eq!(Amount::parse("000").unwrap().minor, 0);
        assert!(Amount::parse("10.5").is_none());
        assert!(Amount::parse("-1").is_none());
        assert!(Amount::parse("1e5").is_none());
        assert!(Amount::parse("").is_none());
        assert!(Amount::parse("1234567890123456").is_none());
    }

    #[test]
    fn dates_in_every_seen_form() {
        let a = datetime("2021-02-08 18:11:35").unwrap();
        assert_eq!(datetime("2021-02-08T18:11:35"), Some(a));
        assert_eq!(a.rfc3339(), "2021-02-08T11:11:35Z");
        assert_eq!(
            datetime("2017/7/19 11:25:53 PM").unwrap().rfc3339(),
            "2017-07-19T16:25:53Z"
        );
        assert!(datetime("yesterday").is_none());
    }
}
