//! SNAP disbursement requests (spec §7.1) as typed values, read from a [`Body`]
//! with the field names and lengths of the standard and the quirks of Faspay's
//! SDKs (`sourceAccount` beside `sourceAccountNo`, `originatorInfos` as an object
//! or an array, `""` for an absent optional field).

use super::fields::{within_limit, Body, FieldError};
use gerbang_core::values::HttpUrl;
use gerbang_core::Timestamp;
use serde_json::Value;

pub const MAX_REFERENCE: usize = 64;
pub const MAX_ACCOUNT_NO: usize = 34;
pub const MAX_BANK_CODE: usize = 8;
pub const MAX_NAME: usize = 100;
pub const MAX_DESCRIPTION: usize = 255;
pub const MAX_URL: usize = 512;

/// When a transfer goes: the instruction date a request may carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instruction {
    /// `additionalInfo.instructDate` as sent, `None` when it was empty: at once.
    pub instruct_date: Option<(String, Timestamp)>,
    pub callback_url: Option<HttpUrl>,
    pub description: String,
}

fn instruction(body: &Body) -> Result<Instruction, FieldError> {
    Ok(Instruction {
        instruct_date: body.instant("additionalInfo.instructDate")?,
        callback_url: body.url("additionalInfo.callbackUrl", MAX_URL)?,
        description: body
            .text("additionalInfo.transactionDescription", MAX_DESCRIPTION)?
            .unwrap_or_default(),
    })
}

/// Transfer interbank (18).
#[derive(Clone, Debug, PartialEq)]
pub struct TransferInterbank {
    pub partner_reference: String,
    pub amount_minor: i64,
    pub beneficiary_name: String,
    pub beneficiary_account: String,
    pub beneficiary_bank_code: String,
    pub beneficiary_email: Option<String>,
    pub source_account: String,
    pub transaction_date: String,
    pub originator_infos: Option<Value>,
    pub instruction: Instruction,
}

impl TransferInterbank {
    pub fn read(body: &Body) -> Result<Self, FieldError> {
        let read = TransferInterbank {
            partner_reference: body.required("partnerReferenceNo", MAX_REFERENCE)?,
            amount_minor: body.amount("amount")?,
            beneficiary_name: body.required("beneficiaryAccountName", MAX_NAME)?,
            beneficiary_account: body.digits("beneficiaryAccountNo", MAX_ACCOUNT_NO)?,
            beneficiary_bank_code: body.digits("beneficiaryBankCode", MAX_BANK_CODE)?,
            beneficiary_email: body.text("beneficiaryEmail", 50)?,
            source_account: body.digits("sourceAccountNo", 19)?,
            transaction_date: body
                .instant("transactionDate")?
                .map(|(text, _)| text)
                .ok_or_else(|| FieldError::Missing("transactionDate".into()))?,
            originator_infos: body.object_or_array("originatorInfos")?,
            instruction: instruction(body)?,
        };
        within_limit(read.amount_minor, "amount.value")?;
        Ok(read)
    }
}

/// E-money customer top-up (38).
#[derive(Clone, Debug, PartialEq)]
pub struct EmoneyTopup {
    pub partner_reference: String,
    pub customer_number: String,
    pub customer_name: Option<String>,
    pub amount_minor: i64,
    pub transaction_date: Option<String>,
    pub source_account: String,
    /// The wallet's code (`gpy`, `ovo`, `dna`, `lkj`).
    pub platform_code: String,
    pub beneficiary_email: Option<String>,
    pub instruction: Instruction,
}

impl EmoneyTopup {
    /// The top-up; its amount's limit is checked by the face once the wallet is
    /// known ([`super::fields::within_limit`]).
    pub fn read(body: &Body) -> Result<Self, FieldError> {
        Ok(EmoneyTopup {
            partner_reference: body.required("partnerReferenceNo", MAX_REFERENCE)?,
            customer_number: body.digits("customerNumber", 20)?,
            customer_name: body.text("customerName", MAX_NAME)?,
            amount_minor: body.amount("amount")?,
            transaction_date: body.instant("transactionDate")?.map(|(text, _)| text),
            source_account: body.digits("additionalInfo.sourceAccount", 19)?,
            platform_code: body.required("additionalInfo.platformCode", 8)?,
            beneficiary_email: body.text("additionalInfo.beneficiaryEmail", 50)?,
            instruction: instruction(body)?,
        })
    }
}

/// Transfer status (36) and top-up status (39): the original request by its references.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusQuery {
    pub original_partner_reference: String,
    pub original_reference: Option<String>,
    /// The original request's service code as sent (`"18"`).
    pub service_code: String,
}

impl StatusQuery {
    pub fn read(body: &Body) -> Result<Self, FieldError> {
        let service_code = body.digits("serviceCode", 2)?;
        Ok(StatusQuery {
            original_partner_reference: body
                .required("originalPartnerReferenceNo", MAX_REFERENCE)?,
            original_reference: body.text("originalReferenceNo", MAX_REFERENCE)?,
            service_code,
        })
    }
}

/// Account inquiry external (16).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountInquiry {
    pub bank_code: String,
    pub account: String,
    pub partner_reference: Option<String>,
    /// Mandatory for Faspay (spec §7.1.1): the partner's own source account.
    pub source_account: String,
}

impl AccountInquiry {
    pub fn read(body: &Body) -> Result<Self, FieldError> {
        Ok(AccountInquiry {
            bank_code: body.digits("beneficiaryBankCode", MAX_BANK_CODE)?,
            account: body.digits("beneficiaryAccountNo", MAX_ACCOUNT_NO)?,
            partner_reference: body.text("partnerReferenceNo", MAX_REFERENCE)?,
            source_account: body.digits("additionalInfo.sourceAccount", 19)?,
        })
    }
}

/// Balance inquiry (11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BalanceInquiry {
    pub account: String,
}

impl BalanceInquiry {
    pub fn read(body: &Body) -> Result<Self, FieldError> {
        Ok(BalanceInquiry {
            account: body.digits("accountNo", 19)?,
        })
    }
}

/// Transaction history list (12).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryList {
    pub from: (String, Timestamp),
    pub to: (String, Timestamp),
    pub account: String,
    /// `pageSize` and `pageNumber` (from 1), when the client pages.
    pub page: Option<Page>,
}

/// One page of a list: `size` lines, the `number`th such (from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub size: u32,
    pub number: u32,
}

/// Most lines one history page holds.
pub const MAX_PAGE_SIZE: u32 = 1_000;

impl HistoryList {
    pub fn read(body: &Body) -> Result<Self, FieldError> {
        let mandatory = |path: &str| {
            body.instant(path)?
                .ok_or_else(|| FieldError::Missing(path.into()))
        };
        let from = mandatory("fromDateTime")?;
        let to = mandatory("toDateTime")?;
        if to.1 < from.1 {
            return Err(FieldError::Format("toDateTime".into()));
        }
        let size = body.count("pageSize", MAX_PAGE_SIZE)?;
        let number = body.count("pageNumber", u32::MAX)?;
        let page = match (size, number) {
            (None, None) => None,
            (Some(size), number) => Some(Page {
                size,
                number: number.unwrap_or(1),
            }),
            (None, Some(_)) => return Err(FieldError::Missing("pageSize".into())),
        };
        Ok(HistoryList {
            from,
            to,
            account: body.digits("additionalInfo.accountNo", 19)?,
            page,
        })
    }
}

/// A virtual account as transfer-to-VA requests name it: `partnerServiceId`
/// (space-padded to 8) + `customerNo` = `virtualAccountNo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualAccount {
    pub partner_service_id: String,
    pub customer_no: String,
    /// Without the padding: the number the bank knows.
    pub number: String,
    /// As the partner wrote it, padding and all: what answers echo, so that it
    /// is still `partnerServiceId` + `customerNo` there (spec §6.3).
    pub sent: String,
}

fn virtual_account(body: &Body) -> Result<VirtualAccount, FieldError> {
    let partner_service_id = body.required("partnerServiceId", 8)?;
    let customer_no = body.required("customerNo", 20)?;
    let number = body.required("virtualAccountNo", 28)?;
    let trimmed: String = number.chars().filter(|c| *c != ' ').collect();
    if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::Format("virtualAccountNo".into()));
    }
    let joined = format!("{}{}", partner_service_id.trim(), customer_no.trim());
    if joined != trimmed {
        return Err(FieldError::Format("virtualAccountNo".into()));
    }
    Ok(VirtualAccount {
        partner_service_id,
        customer_no,
        number: trimmed,
        sent: number,
    })
}

/// Transfer-to-VA inquiry, intrabank (32).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaInquiry {
    pub partner_reference: String,
    pub virtual_account: VirtualAccount,
    pub biller_code: String,
    pub source_account: String,
}

impl VaInquiry {
    pub fn read(body: &Body) -> Result<Self, FieldError> {
        Ok(VaInquiry {
            partner_reference: body.required("partnerReferenceNo", MAX_REFERENCE)?,
            virtual_account: virtual_account(body)?,
            biller_code: body.digits("additionalInfo.billerCode", MAX_BANK_CODE)?,
            source_account: body.digits("additionalInfo.sourceAccount", 19)?,
        })
    }
}

/// Transfer-to-VA payment, intrabank (33).
#[derive(Clone, Debug, PartialEq)]
pub struct VaPayment {
    pub partner_reference: String,
    pub virtual_account: VirtualAccount,
    pub name: String,
    /// `sourceAccount` as Faspay spells it, or the standard's `sourceAccountNo`.
    pub source_account: String,
    pub amount_minor: i64,
    pub trx_date_time: Option<String>,
    pub biller_code: String,
    pub instruction: Instruction,
}

impl VaPayment {
    pub fn read(body: &Body) -> Result<Self, FieldError> {
        let source_account = match (
            body.text("sourceAccount", 19)?,
            body.text("sourceAccountNo", 19)?,
        ) {
            (Some(_), _) => body.digits("sourceAccount", 19)?,
            (None, Some(_)) => body.digits("sourceAccountNo", 19)?,
            (None, None) => return Err(FieldError::Missing("sourceAccount".into())),
        };
        let read = VaPayment {
            partner_reference: body.required("partnerReferenceNo", MAX_REFERENCE)?,
            virtual_account: virtual_account(body)?,
            name: body.required("virtualAccountName", MAX_NAME)?,
            source_account,
            amount_minor: body.amount("paidAmount")?,
            trx_date_time: body.instant("trxDateTime")?.map(|(text, _)| text),
            biller_code: body.digits("additionalInfo.billerCode", MAX_BANK_CODE)?,
            instruction: instruction(body)?,
        };
        within_limit(read.amount_minor, "paidAmount.value")?;
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> Body {
        Body::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn the_sdk_samples_read() {
        let t = TransferInterbank::read(&body(
            r#"{"partnerReferenceNo":"2020102900000000000001","amount":{"value":"10000.00","currency":"IDR"},"beneficiaryAccountName":"JOHN DOE","beneficiaryAccountNo":"888801000157508","beneficiaryBankCode":"002","beneficiaryEmail":"","sourceAccountNo":"9920017573","transactionDate":"2024-01-01T10:00:00+07:00","originatorInfos":[{"originatorCustomerNo":"1"}],"additionalInfo":{"instructDate":"","transactionDescription":"gaji","callbackUrl":"https://partner.example/cb"}}"#,
        ))
        .unwrap();
        assert_eq!(t.amount_minor, 1_000_000);
        assert_eq!(t.beneficiary_email, None);
        assert_eq!(t.instruction.instruct_date, None);
        assert_eq!(t.instruction.description, "gaji");
        assert!(t.originator_infos.unwrap().is_array());

        let p = VaPayment::read(&body(
            r#"{"partnerReferenceNo":"r1","partnerServiceId":"    7008","customerNo":"08000047816","virtualAccountNo":"    700808000047816","virtualAccountName":"JOHN","sourceAccount":"9920017573","paidAmount":{"value":"15000.00","currency":"IDR"},"trxDateTime":"2024-01-01T10:00:00+07:00","additionalInfo":{"billerCode":"013"}}"#,
        ))
        .unwrap();
        assert_eq!(p.virtual_account.number, "700808000047816");
        assert_eq!(p.amount_minor, 1_500_000);
    }

    #[test]
    fn each_refusal_names_its_field() {
        assert_eq!(
            TransferInterbank::read(&body(r#"{"partnerReferenceNo":"r"}"#)),
            Err(FieldError::Missing("amount".into()))
        );
        assert_eq!(
            StatusQuery::read(&body(
                r#"{"originalPartnerReferenceNo":"r","serviceCode":"018"}"#
            )),
            Err(FieldError::Format("serviceCode".into()))
        );
        assert_eq!(
            HistoryList::read(&body(
                r#"{"fromDateTime":"2024-01-02T00:00:00+07:00","toDateTime":"2024-01-01T00:00:00+07:00","additionalInfo":{"accountNo":"1"}}"#
            )),
            Err(FieldError::Format("toDateTime".into()))
        );
        assert_eq!(
            VaInquiry::read(&body(
                r#"{"partnerReferenceNo":"r","partnerServiceId":"7008","customerNo":"1","virtualAccountNo":"70082","additionalInfo":{"billerCode":"013","sourceAccount":"1"}}"#
            )),
            Err(FieldError::Format("virtualAccountNo".into()))
        );
    }
}
