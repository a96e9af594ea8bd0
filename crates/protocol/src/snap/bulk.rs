//! Bulk cash-in (spec §7.5, seed 004): the submit request (service 40) read into
//! typed items, and the notify (service 41): one page of [`NOTIFY_PAGE_ITEMS`]
//! items' outcomes for each part of the bulk, sent as that part is settled.

use super::code::{Case, Outcome, Service};
use super::fields::{within_limit, Body, FieldError};
use super::render;
use gerbang_core::cashin::{CashInBulk, CashInChunk, CashInItem, CHUNK_ITEMS};
use gerbang_core::values::HttpUrl;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::HashSet;

/// Items in one notify call: a chunk of the bulk, sent as it is settled.
pub use gerbang_core::cashin::CHUNK_ITEMS as NOTIFY_PAGE_ITEMS;
/// The wallet an item is credited at when neither it nor its bulk names one.
pub const DEFAULT_PLATFORM: &str = "ovo";

/// One item as submitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkItem {
    pub account: String,
    pub name: Option<String>,
    pub amount_minor: i64,
    pub reference: String,
    /// `additionalInfo.platformCode`, if the item names its wallet.
    pub platform_code: Option<String>,
}

/// A submit request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkSubmit {
    pub partner_bulk_id: Option<String>,
    pub transaction_date: String,
    pub fee_type: Option<String>,
    /// `additionalInfo.platformCode`: the wallet of items that name none.
    pub platform_code: Option<String>,
    pub callback_url: Option<HttpUrl>,
    pub items: Vec<BulkItem>,
}

/// Why a submit is refused as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BulkRefusal {
    Field(FieldError),
    /// More items than the gateway takes in one bulk.
    TooMany {
        max: usize,
    },
    /// An item repeats an earlier item's reference (its path).
    RepeatedReference(String),
}

impl BulkRefusal {
    pub fn outcome(&self) -> Outcome {
        let service = Service::BULK_CASH_IN;
        match self {
            BulkRefusal::Field(FieldError::Missing(path)) => {
                Outcome::new(service, Case::INVALID_MANDATORY_FIELD).about(path.clone())
            }
            BulkRefusal::Field(FieldError::Format(path)) => {
                Outcome::new(service, Case::INVALID_FIELD_FORMAT).about(path.clone())
            }
            BulkRefusal::Field(FieldError::AboveLimit(path)) => {
                Outcome::new(service, Case::EXCEEDS_AMOUNT_LIMIT).about(path.clone())
            }
            BulkRefusal::TooMany { max } => Outcome::new(service, Case::INVALID_FIELD_FORMAT)
                .about(format!("bulkObject: at most {max} items")),
            BulkRefusal::RepeatedReference(path) => {
                Outcome::new(service, Case::DUPLICATE_REFERENCE).about(path.clone())
            }
        }
    }
}

impl From<FieldError> for BulkRefusal {
    fn from(e: FieldError) -> Self {
        BulkRefusal::Field(e)
    }
}

/// Prefixes a field error's path with the item's.
fn in_item(i: usize, e: FieldError) -> FieldError {
    match e {
        FieldError::Missing(p) => FieldError::Missing(format!("bulkObject[{i}].{p}")),
        FieldError::Format(p) => FieldError::Format(format!("bulkObject[{i}].{p}")),
        FieldError::AboveLimit(p) => FieldError::AboveLimit(format!("bulkObject[{i}].{p}")),
    }
}

impl BulkSubmit {
    /// Whether the gateway moves this much at once, in each item and in all:
    /// `403xx02` otherwise — a rule checked once the whole body is known good.
    pub fn within_limit(&self) -> Result<(), FieldError> {
        let mut total: i64 = 0;
        for (i, item) in self.items.iter().enumerate() {
            within_limit(item.amount_minor, &format!("bulkObject[{i}].amount.value"))?;
            // Each item is within the limit, so the sum cannot overflow first.
            total = total.saturating_add(item.amount_minor);
        }
        within_limit(total, "bulkObject")
    }

    pub fn read(body: &Body, max_items: usize) -> Result<BulkSubmit, BulkRefusal> {
        let partner_bulk_id = body.text("partnerBulkId", 64)?;
        let transaction_date = body
            .instant("transactionDate")?
            .map(|(text, _)| text)
            .ok_or_else(|| FieldError::Missing("transactionDate".into()))?;
        if let Some(currency) = body.text("currency", 3)? {
            if currency != "IDR" {
                return Err(FieldError::Format("currency".into()).into());
            }
        }
        let bulk = body
            .items("bulkObject")?
            .filter(|items| !items.is_empty())
            .ok_or_else(|| FieldError::Missing("bulkObject".into()))?;
        if bulk.len() > max_items {
            return Err(BulkRefusal::TooMany { max: max_items });
        }
        let mut seen = HashSet::with_capacity(bulk.len());
        let mut items = Vec::with_capacity(bulk.len());
        for (i, item) in bulk.iter().enumerate() {
            let read = |item: &Body| -> Result<BulkItem, FieldError> {
                Ok(BulkItem {
                    account: item.digits("accountNumber", 64)?,
                    name: item.text("accountName", 30)?,
                    amount_minor: item.amount("amount")?,
                    reference: item.required("partnerReferenceNo", 64)?,
                    platform_code: item.text("additionalInfo.platformCode", 8)?,
                })
            };
            let item = read(item).map_err(|e| in_item(i, e))?;
            if !seen.insert(item.reference.clone()) {
                return Err(BulkRefusal::RepeatedReference(format!(
                    "bulkObject[{i}].partnerReferenceNo"
                )));
            }
            items.push(item);
        }
        Ok(BulkSubmit {
            partner_bulk_id,
            transaction_date,
            fee_type: body.text("feeType", 25)?,
            platform_code: body.text("additionalInfo.platformCode", 8)?,
            callback_url: body.url("additionalInfo.callbackUrl", super::request::MAX_URL)?,
            items,
        })
    }
}

/// What a bulk's notices echo of its submit: stored as the bulk's `request`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkEcho {
    pub transaction_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_type: Option<String>,
}

/// An item's own outcome as notify says it (service 41).
pub fn item_outcome(item: &CashInItem) -> Outcome {
    let service = Service::BULK_CASH_IN_NOTIFY;
    match &item.outcome {
        Some(o) if o.credited => Outcome::new(service, Case::SUCCESSFUL),
        Some(o) => match o.answer.code.as_str() {
            // The simulated wallets' codes: no such wallet, balance limit.
            "76" => Outcome::new(service, Case::INVALID_ACCOUNT),
            "61" => Outcome::new(service, Case::ACCOUNT_LIMIT),
            _ => Outcome::new(service, Case::EXTERNAL_ERROR),
        },
        None => Outcome::new(service, Case::IN_PROGRESS),
    }
}

/// The notify body of one settled chunk of a bulk: page `index + 1` of as many
/// pages as the bulk has chunks, with each of its items' outcomes.
pub fn notify_page(bulk: &CashInBulk, chunk: &CashInChunk) -> String {
    let first = chunk.index as usize * CHUNK_ITEMS;
    let credited = chunk
        .items
        .iter()
        .filter(|i| i.outcome.as_ref().is_some_and(|o| o.credited))
        .count();
    let objects: Vec<Value> = chunk
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let outcome = item_outcome(item);
            let mut info = Map::new();
            info.insert("platformCode".into(), item.wallet.clone().into());
            if let Some(o) = &item.outcome {
                info.insert("walletResponseCode".into(), o.answer.code.clone().into());
                info.insert(
                    "walletResponseMessage".into(),
                    o.answer.message.clone().into(),
                );
            }
            json!({
                "customerNumber": item.account.expose(),
                "customerName": item.name,
                "amount": render::amount(item.amount_minor),
                "referenceNo": format!("{}{:06}", bulk.id, first + i + 1),
                "partnerReferenceNo": item.reference,
                "responseCode": outcome.response_code(),
                "responseMessage": outcome.response_message(),
                "additionalInfo": info,
            })
        })
        .collect();
    json!({
        "bulkId": bulk.id,
        "partnerBulkId": bulk.reference.clone().unwrap_or_default(),
        "bulkObject": objects,
        "additionalInfo": {
            "page": chunk.index + 1,
            "pages": bulk.chunks,
            "items": bulk.items,
            "pageItems": chunk.items.len(),
            "pageCredited": credited,
            "pageFailed": chunk.items.len() - credited,
        },
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"partnerBulkId":"2020102900000000000001","transactionDate":"2019-07-03T12:08:56-07:00","currency":"IDR","bulkObject":[{"accountNumber":"6281388370001","accountName":"Kades","amount":{"value":"12345678.00","currency":"IDR"},"partnerReferenceNo":"2020102900000000000990","additionalInfo":{"deviceId":"12345679237","channel":"mobilephone"}}],"feeType":"OUR","additionalInfo":{"deviceId":"12345679237","channel":"mobilephone"}}"#;

    #[test]
    fn the_seed_sample_reads() {
        let bulk = BulkSubmit::read(&Body::parse(SAMPLE.as_bytes()).unwrap(), 10).unwrap();
        assert_eq!(
            bulk.partner_bulk_id.as_deref(),
            Some("2020102900000000000001")
        );
        assert_eq!(bulk.items.len(), 1);
        assert_eq!(bulk.items[0].amount_minor, 1_234_567_800);
        assert_eq!(bulk.items[0].account, "6281388370001");
        assert_eq!(bulk.fee_type.as_deref(), Some("OUR"));
    }

    #[test]
    fn refusals_name_the_item() {
        let read = |text: &str, max: usize| {
            BulkSubmit::read(&Body::parse(text.as_bytes()).unwrap(), max)
                .map(|_| ())
                .map_err(|r| r.outcome().response_message())
        };
        assert_eq!(
            read(SAMPLE, 0),
            Err("Invalid Field Format [bulkObject: at most 0 items]".into())
        );
        let item = |reference: &str, value: &str| {
            format!(
                r#"{{"accountNumber":"081200000001","amount":{{"value":"{value}","currency":"IDR"}},"partnerReferenceNo":"{reference}"}}"#
            )
        };
        let bulk = |items: &[String]| {
            format!(
                r#"{{"transactionDate":"2024-01-01T10:00:00+07:00","bulkObject":[{}]}}"#,
                items.join(",")
            )
        };
        assert_eq!(
            read(&bulk(&[item("a", "1.00"), item("b", "1")]), 10),
            Err("Invalid Field Format [bulkObject[1].amount.value]".into())
        );
        assert_eq!(
            read(&bulk(&[item("a", "1.00"), item("a", "2.00")]), 10),
            Err("Duplicate partnerReferenceNo [bulkObject[1].partnerReferenceNo]".into())
        );
        assert_eq!(
            read(&bulk(&[]), 10),
            Err("Invalid Mandatory Field [bulkObject]".into())
        );
        assert_eq!(read(&bulk(&[item("a", "1.00")]), 10), Ok(()));
    }
}
