//! SendMe requests decoded into typed values. A request that decodes holds only
//! valid values; one that does not gets the documented error naming the field.
//! What needs the gateway's state (is the beneficiary registered, is the amount
//! within the network's configured rules) is the route's to check afterwards.

use super::auth::parse_timestamp;
use super::envelope::SendmeError;
use super::fields::{mandatory, Fields};
use super::render::cash_network_by_code;
use gerbang_core::payout::CashNetwork;
use gerbang_core::values::{AccountNumber, Amount, HttpUrl, Phone};
use gerbang_core::Timestamp;
use serde_json::Value;

/// `trx_desc` of a transfer to an account is cut to this many characters.
pub const DESCRIPTION_CHARS: usize = 15;

/// A `Y-m-d H:i:s` field as given and the instant it names (Jakarta time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub text: String,
    pub at: Timestamp,
}

/// An optional `Y-m-d H:i:s` field; empty counts as absent.
fn stamp(f: &Fields, name: &str) -> Result<Option<Stamp>, SendmeError> {
    match f.optional(name, 19)? {
        None => Ok(None),
        Some(text) => match parse_timestamp(&text) {
            Some(at) => Ok(Some(Stamp { text, at })),
            None => Err(SendmeError::INVALID_BODY.with_detail(format!("{name}: Y-m-d H:i:s"))),
        },
    }
}

/// A given `callback_url` as an http(s) URL.
fn http_url(text: &str) -> Result<HttpUrl, SendmeError> {
    HttpUrl::parse(text, 255).map_err(|_| {
        SendmeError::INVALID_BODY.with_detail("callback_url: an http:// or https:// URL")
    })
}

/// `callback_url`: an http(s) URL; `required` or else optional.
fn callback_url(f: &Fields, required: bool) -> Result<Option<HttpUrl>, SendmeError> {
    if required {
        return http_url(&f.required("callback_url", 255)?).map(Some);
    }
    f.optional("callback_url", 255)?
        .as_deref()
        .map(http_url)
        .transpose()
}

/// `transfer`: to a bank account, an e-wallet, or as cash against a code. (Its
/// `virtual_account` is the caller's own, which the route checks first.)
#[derive(Clone, Debug)]
pub struct Transfer {
    pub amount: Amount,
    pub to: TransferTo,
}

#[derive(Clone, Debug)]
pub enum TransferTo {
    /// A bank account or an e-wallet (`beneficiary_bank_code` names which).
    Account(AccountTransfer),
    Cash(CashTransfer),
}

/// A transfer to an account. Its fields are decoded at once; a field's error is
/// kept with it and given when the route reads the field, so that the errors come
/// in SendMe's order (an unknown bank or beneficiary before a malformed later field).
#[derive(Clone, Debug)]
pub struct AccountTransfer {
    pub bank_code: String,
    /// `trx_desc`, cut to [`DESCRIPTION_CHARS`].
    pub description: String,
    beneficiary_virtual_account: Result<Option<String>, SendmeError>,
    account: Result<String, SendmeError>,
    name: Result<String, SendmeError>,
    timing: Result<Timing, SendmeError>,
}

/// The reference, dates and callback every transfer to an account carries, once
/// the beneficiary is known to be right.
#[derive(Clone, Debug)]
pub struct Timing {
    pub reference: String,
    pub trx_date: String,
    pub instruct: Option<Stamp>,
    pub callback_url: HttpUrl,
}

impl AccountTransfer {
    /// `beneficiary_virtual_account`, if given.
    pub fn beneficiary_virtual_account(&self) -> Result<Option<&str>, SendmeError> {
        self.beneficiary_virtual_account
            .as_ref()
            .map(Option::as_deref)
            .map_err(Clone::clone)
    }

    /// `beneficiary_account`, mandatory.
    pub fn account(&self) -> Result<&str, SendmeError> {
        self.account.as_deref().map_err(Clone::clone)
    }

    /// `beneficiary_name`, mandatory.
    pub fn name(&self) -> Result<&str, SendmeError> {
        self.name.as_deref().map_err(Clone::clone)
    }

    /// The reference, dates and callback.
    pub fn timing(&self) -> Result<&Timing, SendmeError> {
        self.timing.as_ref().map_err(Clone::clone)
    }
}

/// A cash-out transfer (`beneficiary_bank_code` `alf`, `imr`, `C013`).
#[derive(Clone, Debug)]
pub struct CashTransfer {
    pub network: CashNetwork,
    /// `trx_desc` as given (each network cuts it to its own length).
    pub description: Option<String>,
    pub phone: Phone,
    pub name: String,
    pub reference: String,
    pub trx_date: Option<Stamp>,
    pub instruct: Option<Stamp>,
    pub expires: Option<Stamp>,
    /// Mandatory for Permata.
    pub callback_url: Option<HttpUrl>,
}

impl Transfer {
    pub fn parse(f: &Fields) -> Result<Transfer, SendmeError> {
        let amount_text = f
            .get("trx_amount")
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .ok_or(SendmeError::AMOUNT_MANDATORY)?;
        let amount = Amount::parse_minor_digits(&amount_text).map_err(|_| {
            SendmeError::INVALID_BODY
                .with_detail("trx_amount: a positive whole number of cents (Rp 10.000 = 1000000)")
        })?;
        let description = f.optional("trx_desc", 255)?;
        if description
            .as_deref()
            .is_some_and(|d| d.trim().eq_ignore_ascii_case("fee"))
        {
            return Err(SendmeError::FEE_DESCRIPTION);
        }
        let bank_code = f.required("beneficiary_bank_code", 10)?;
        let to = match cash_network_by_code(&bank_code) {
            Some(network) => TransferTo::Cash(CashTransfer::parse(f, network, description)?),
            None => TransferTo::Account(AccountTransfer::parse(f, bank_code)?),
        };
        Ok(Transfer { amount, to })
    }
}

impl AccountTransfer {
    fn parse(f: &Fields, bank_code: String) -> Result<AccountTransfer, SendmeError> {
        let description: String = f
            .required("trx_desc", 255)?
            .chars()
            .take(DESCRIPTION_CHARS)
            .collect();
        let timing = (|| {
            let reference = f.required("trx_no", 255)?;
            let trx_date = f.required("trx_date", 19)?;
            if parse_timestamp(&trx_date).is_none() {
                return Err(SendmeError::INVALID_BODY.with_detail("trx_date: Y-m-d H:i:s"));
            }
            let instruct = match f.optional("instruct_date", 19)? {
                None => None,
                Some(text) => Some(Stamp {
                    at: parse_timestamp(&text).ok_or_else(|| {
                        SendmeError::INVALID_BODY.with_detail("instruct_date: empty or Y-m-d H:i:s")
                    })?,
                    text,
                }),
            };
            let callback_url = http_url(&f.required("callback_url", 255)?)?;
            Ok(Timing {
                reference,
                trx_date,
                instruct,
                callback_url,
            })
        })();
        Ok(AccountTransfer {
            bank_code,
            description,
            beneficiary_virtual_account: f.optional("beneficiary_virtual_account", 20),
            account: f.required("beneficiary_account", 128),
            name: f.required("beneficiary_name", 255),
            timing,
        })
    }
}

impl CashTransfer {
    fn parse(
        f: &Fields,
        network: CashNetwork,
        description: Option<String>,
    ) -> Result<CashTransfer, SendmeError> {
        let phone =
            Phone::parse(&f.required("beneficiary_phone", Phone::MAX_CHARS)?).map_err(|_| {
                SendmeError::INVALID_BODY.with_detail("beneficiary_phone: a phone number")
            })?;
        let name = match f.optional("beneficiary_name", 255)? {
            Some(name) => name,
            None => f.required("beneficiary_account_name", 255)?,
        };
        let reference = f.required("trx_no", 255)?;
        let trx_date = stamp(f, "trx_date")?;
        let instruct = stamp(f, "instruct_date")?;
        let callback_url = callback_url(f, network == CashNetwork::Permata)?;
        let expires = stamp(f, "trx_expired")?;
        Ok(CashTransfer {
            network,
            description,
            phone,
            name,
            reference,
            trx_date,
            instruct,
            expires,
            callback_url,
        })
    }
}

/// `approve` and `reject`: the transfers named by `trx_id` and `trx_no`, each one
/// value or a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub ids: Vec<String>,
    pub references: Vec<String>,
}

/// The values of a field that may be one value or a list.
fn values(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| match i {
                Value::String(s) => Some(s.trim().to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
            .collect(),
        Some(Value::String(s)) if !s.trim().is_empty() => vec![s.trim().to_string()],
        Some(Value::Number(n)) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

impl Decision {
    pub fn parse(f: &Fields) -> Decision {
        Decision {
            ids: values(f.raw().get("trx_id")),
            references: values(f.raw().get("trx_no")),
        }
    }
}

/// The bank account a `register` or `register/confirm` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountDetails {
    pub account: String,
    pub account_name: String,
    pub va_name: String,
    pub bank_code: String,
    pub branch: String,
    pub region_code: String,
    pub country_code: String,
    pub purpose_code: String,
}

impl AccountDetails {
    pub fn parse(f: &Fields) -> Result<AccountDetails, SendmeError> {
        let account =
            AccountNumber::parse(&f.required("beneficiary_account", 128)?, 128).map_err(|_| {
                SendmeError::INVALID_BODY
                    .with_detail("Parameter 'beneficiary_account' must be numeric")
            })?;
        Ok(AccountDetails {
            account: account.into_string(),
            account_name: f.required("beneficiary_account_name", 255)?,
            va_name: f.required("beneficiary_va_name", 255)?,
            bank_code: f.required("beneficiary_bank_code", 10)?,
            branch: f.required("beneficiary_bank_branch", 255)?,
            region_code: f.digits("beneficiary_region_code", 4)?,
            country_code: f.required("beneficiary_country_code", 2)?,
            purpose_code: f
                .optional("beneficiary_purpose_code", 1)?
                .unwrap_or_default(),
        })
    }
}

/// What a service reads: the body's fields and the values appended to its path
/// (`/account/api/inquiry_status/{va}/{trx_no}`), percent-decoded, in order.
pub struct Input {
    pub fields: Fields,
    pub path: Vec<String>,
}

impl Input {
    /// `path_values` is what follows the service's own path.
    pub fn new(fields: Fields, path_values: &str) -> Input {
        Input {
            fields,
            path: path_values
                .split('/')
                .filter(|s| !s.is_empty())
                .map(super::path::percent_decode)
                .collect(),
        }
    }

    /// A value from the body, else the `index`th value on the path (the body wins:
    /// Python may reorder the path's values).
    pub fn value(&self, name: &str, index: usize) -> Option<String> {
        self.fields
            .get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .or_else(|| self.path.get(index).cloned())
    }
}

/// `register/confirm`: the account again, the bank's answer, and `confirm` = 2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirmation {
    pub details: AccountDetails,
    pub bank_account_number: String,
    pub bank_account_name: String,
}

impl Confirmation {
    pub fn parse(f: &Fields) -> Result<Confirmation, SendmeError> {
        let details = AccountDetails::parse(f)?;
        let bank_account_number = f.required("bank_account_number", 128)?;
        let bank_account_name = f.required("bank_account_name", 255)?;
        match f.get("confirm").as_deref().map(str::trim) {
            Some("2") => Ok(Confirmation {
                details,
                bank_account_number,
                bank_account_name,
            }),
            _ => Err(SendmeError::INVALID_BODY.with_detail("Parameter 'confirm' must be 2")),
        }
    }
}

/// `inquiry_name`: a registered beneficiary, or an e-wallet's holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameQuery {
    /// `beneficiary_bank_code`, when the body names one (an e-wallet's).
    pub bank_code: Option<String>,
    /// `beneficiary_virtual_account`, or the path's second value.
    pub beneficiary_virtual_account: Option<String>,
    /// `beneficiary_account` (a wallet's phone number or id), or the path's second value.
    pub account: Option<String>,
    /// `beneficiary_name` as the partner believes it.
    pub claimed_name: String,
}

impl NameQuery {
    pub fn parse(input: &Input) -> NameQuery {
        NameQuery {
            bank_code: input.fields.get("beneficiary_bank_code"),
            beneficiary_virtual_account: input.value("beneficiary_virtual_account", 1),
            account: input.value("beneficiary_account", 1),
            claimed_name: input.fields.get("beneficiary_name").unwrap_or_default(),
        }
    }
}

/// `inquiry_status`: a transfer by the partner's `trx_no`, optionally with its `trx_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusQuery {
    pub reference: String,
    pub id: Option<String>,
}

impl StatusQuery {
    pub fn parse(input: &Input) -> Result<StatusQuery, SendmeError> {
        Ok(StatusQuery {
            reference: input.value("trx_no", 1).ok_or(SendmeError::NOT_FOUND)?,
            id: input.value("trx_id", 2),
        })
    }
}

/// `mutasi`: a statement from `start_date` to `end_date` (`YYYY-MM-DD`, Jakarta
/// days, at most [`MutasiQuery::MAX_SPAN_DAYS`] apart).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MutasiQuery {
    pub start_text: String,
    pub end_text: String,
    pub start: time::Date,
    pub end: time::Date,
}

impl MutasiQuery {
    pub const MAX_SPAN_DAYS: i64 = 31;

    pub fn parse(input: &Input) -> Result<MutasiQuery, SendmeError> {
        fn date(text: &str, field: &str) -> Result<time::Date, SendmeError> {
            let f = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(text, &f)
                .map_err(|_| SendmeError::INVALID_BODY.with_detail(format!("{field}: YYYY-MM-DD")))
        }
        let start_text = input
            .value("start_date", 1)
            .ok_or_else(|| mandatory("start_date"))?;
        let end_text = input
            .value("end_date", 2)
            .ok_or_else(|| mandatory("end_date"))?;
        let (start, end) = (
            date(&start_text, "start_date")?,
            date(&end_text, "end_date")?,
        );
        if end < start {
            return Err(SendmeError::INVALID_BODY.with_detail("end_date is before start_date"));
        }
        if (end - start).whole_days() > Self::MAX_SPAN_DAYS {
            return Err(
                SendmeError::INVALID_BODY.with_detail("the period may span one month at most")
            );
        }
        Ok(MutasiQuery {
            start_text,
            end_text,
            start,
            end,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: &str) -> Fields {
        Fields::parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn a_transfer_decodes_into_values() {
        let t = Transfer::parse(&fields(
            r#"{"virtual_account":"99","trx_amount":"2500000","trx_desc":"a long description here",
                "beneficiary_bank_code":"014","beneficiary_virtual_account":"99001",
                "beneficiary_account":"123","beneficiary_name":"Budi","trx_no":"T1",
                "trx_date":"2024-01-01 10:00:00","callback_url":"https://example.test/cb"}"#,
        ))
        .unwrap();
        assert_eq!(t.amount.minor(), 2_500_000);
        let TransferTo::Account(a) = t.to else {
            panic!("an account transfer")
        };
        assert_eq!(a.description, "a long descript");
        assert_eq!(a.timing().unwrap().reference, "T1");
        assert_eq!(a.account().unwrap(), "123");
    }

    #[test]
    fn a_cash_transfer_needs_a_phone_and_permata_a_callback() {
        let base = r#""trx_amount":5000000,"beneficiary_phone":"081234567890","beneficiary_name":"S","trx_no":"C1""#;
        let t = Transfer::parse(&fields(&format!(
            r#"{{{base},"beneficiary_bank_code":"ALF"}}"#
        )))
        .unwrap();
        assert!(matches!(t.to, TransferTo::Cash(ref c) if c.network == CashNetwork::Alfamart));
        assert!(Transfer::parse(&fields(&format!(
            r#"{{{base},"beneficiary_bank_code":"C013"}}"#
        )))
        .is_err());
        assert!(Transfer::parse(&fields(
            r#"{"trx_amount":5000000,"beneficiary_bank_code":"alf","beneficiary_phone":"08x","trx_no":"C1"}"#
        ))
        .is_err());
    }

    #[test]
    fn bad_amounts_and_fee_descriptions_are_refused() {
        for amount in ["0", "-1", "1.5", "1e3", "99999999999999999999"] {
            let f = fields(&format!(
                r#"{{"trx_amount":"{amount}","beneficiary_bank_code":"014"}}"#
            ));
            assert!(Transfer::parse(&f).is_err(), "{amount}");
        }
        assert_eq!(
            Transfer::parse(&fields(r#"{"beneficiary_bank_code":"014"}"#)).unwrap_err(),
            SendmeError::AMOUNT_MANDATORY
        );
        assert_eq!(
            Transfer::parse(&fields(
                r#"{"trx_amount":1,"trx_desc":" FEE ","beneficiary_bank_code":"014"}"#
            ))
            .unwrap_err(),
            SendmeError::FEE_DESCRIPTION
        );
    }

    #[test]
    fn queries_read_the_body_then_the_path() {
        let input = Input::new(fields(r#"{"trx_no":"B"}"#), "/99/A%2F1/7");
        assert_eq!(input.path, ["99", "A/1", "7"]);
        let q = StatusQuery::parse(&input).unwrap();
        assert_eq!((q.reference.as_str(), q.id.as_deref()), ("B", Some("7")));
        let m = MutasiQuery::parse(&Input::new(fields(""), "/99/2024-01-01/2024-01-31")).unwrap();
        assert_eq!((m.end - m.start).whole_days(), 30);
        assert!(MutasiQuery::parse(&Input::new(fields(""), "/99/2024-01-01/2024-03-01")).is_err());
        assert!(MutasiQuery::parse(&Input::new(fields(""), "/99/2024-02-01/2024-01-01")).is_err());
        assert!(MutasiQuery::parse(&Input::new(fields(""), "/99/01-01-2024/2024-01-02")).is_err());
    }

    #[test]
    fn decisions_take_one_value_or_a_list() {
        let d = Decision::parse(&fields(r#"{"trx_id":[1," 2 ",""],"trx_no":"A"}"#));
        assert_eq!(d.ids, ["1", "2"]);
        assert_eq!(d.references, ["A"]);
    }
}
