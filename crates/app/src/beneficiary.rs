//! Beneficiaries: bank accounts a partner registered (the bank confirmed the
//! holder's name) and confirmed, each identified by a beneficiary virtual account.

use crate::remembered::Remembered;
use crate::App;
use gerbang_channels::bank::{directory, InquiryError};
use gerbang_store::{Document, Expect, RecordWrite, Step, StepError, StoreError};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Registration records, key `PARTNER_VA:BANK_CODE:ACCOUNT`.
pub const REGISTRATION: &str = "beneficiary.registration";
/// Beneficiary records, key = beneficiary virtual account, owner = partner VA.
pub const BENEFICIARY: &str = "beneficiary";

/// What a partner says about the account it registers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// A registration as stored: the partner's details and the bank's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub partner_va: String,
    pub details: AccountDetails,
    /// The bank's three-digit code and name.
    pub bank_code: String,
    pub bank_name: String,
    /// The account number and holder name as the bank answered.
    pub bank_account_number: String,
    pub bank_account_name: String,
    /// Set once confirmed.
    pub beneficiary_va: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("unknown bank code")]
    UnknownBank,
    #[error("{0}")]
    Bank(InquiryError),
    #[error("storage: {0}")]
    Store(String),
}

#[derive(Debug)]
pub enum RegisterOutcome {
    /// The bank knows the account: confirm next.
    Inquired(Registration),
    /// Confirmed before.
    AlreadyRegistered(Registration),
}

#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error("the account was not registered first")]
    NotRegistered,
    #[error("bank_account_number or bank_account_name differs from the bank's answer")]
    Mismatch,
    #[error("storage: {0}")]
    Store(String),
}

#[derive(Debug)]
pub enum ConfirmOutcome {
    Confirmed(Registration),
    AlreadyRegistered(Registration),
}

fn registration_key(partner_va: &str, bank_code: &str, account: &str) -> String {
    format!("{partner_va}:{bank_code}:{account}")
}

fn store_err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

async fn load_registration(
    app: &App,
    key: &str,
) -> Result<Option<(Registration, i64)>, StoreError> {
    crate::stored::load(&*app.store, REGISTRATION, key).await
}

/// Asks the account's bank who holds it and remembers the answer.
pub async fn register(
    app: &App,
    partner_va: &str,
    details: AccountDetails,
) -> Result<RegisterOutcome, RegisterError> {
    let bank = directory::by_code(&details.bank_code).ok_or(RegisterError::UnknownBank)?;
    let key = registration_key(partner_va, bank.code, &details.account);
    let existing = load_registration(app, &key)
        .await
        .map_err(|e| RegisterError::Store(store_err(e)))?;
    if let Some((registration, _)) = &existing {
        if registration.beneficiary_va.is_some() {
            return Ok(RegisterOutcome::AlreadyRegistered(registration.clone()));
        }
    }
    let holder = app
        .banks
        .inquiry(bank.code, &details.account, &details.account_name)
        .await
        .map_err(RegisterError::Bank)?;
    let registration = Registration {
        partner_va: partner_va.to_string(),
        bank_code: bank.code.to_string(),
        bank_name: bank.name.to_string(),
        bank_account_number: details.account.clone(),
        bank_account_name: holder.name,
        details,
        beneficiary_va: None,
    };
    app.commit(Step {
        records: vec![RecordWrite {
            kind: REGISTRATION.into(),
            key,
            owner: partner_va.to_string(),
            state: "inquired".into(),
            data: Document::of(&registration),
            expect: existing.map_or(Expect::Absent, |(_, v)| Expect::Version(v)),
        }],
        ..Step::default()
    })
    .await
    .map_err(|e| RegisterError::Store(store_err(e)))?;
    Ok(RegisterOutcome::Inquired(registration))
}

/// A new beneficiary virtual account number: the partner's first six digits and
/// four random ones.
fn new_beneficiary_va(partner_va: &str) -> String {
    let prefix: String = partner_va.chars().take(6).collect();
    let mut rng = rand::thread_rng();
    let mut va = prefix;
    while va.len() < 10 {
        va.push(char::from(b'0' + rng.gen_range(0..10u8)));
    }
    va
}

/// Confirms a registration: creates the beneficiary and its virtual account.
pub async fn confirm(
    app: &App,
    partner_va: &str,
    bank_code: &str,
    account: &str,
    bank_account_number: &str,
    bank_account_name: &str,
) -> Result<ConfirmOutcome, ConfirmError> {
    let bank = directory::by_code(bank_code).ok_or(ConfirmError::NotRegistered)?;
    let key = registration_key(partner_va, bank.code, account);
    for _ in 0..8 {
        let (mut registration, version) = load_registration(app, &key)
            .await
            .map_err(|e| ConfirmError::Store(store_err(e)))?
            .ok_or(ConfirmError::NotRegistered)?;
        if registration.beneficiary_va.is_some() {
            return Ok(ConfirmOutcome::AlreadyRegistered(registration));
        }
        if bank_account_number.trim() != registration.bank_account_number
            || !bank_account_name
                .trim()
                .eq_ignore_ascii_case(&registration.bank_account_name)
        {
            return Err(ConfirmError::Mismatch);
        }
        let va = new_beneficiary_va(partner_va);
        registration.beneficiary_va = Some(va.clone());
        let data = Document::of(&registration);
        let step = Step {
            records: vec![
                RecordWrite {
                    kind: REGISTRATION.into(),
                    key: key.clone(),
                    owner: partner_va.to_string(),
                    state: "confirmed".into(),
                    data: data.clone(),
                    expect: Expect::Version(version),
                },
                RecordWrite {
                    kind: BENEFICIARY.into(),
                    key: va,
                    owner: partner_va.to_string(),
                    state: "active".into(),
                    data,
                    expect: Expect::Absent,
                },
            ],
            ..Step::default()
        };
        match app.commit(step).await {
            Ok(_) => return Ok(ConfirmOutcome::Confirmed(registration)),
            // Another confirm won, or the new number was taken: look again.
            Err(StepError::RecordConflict { .. }) => continue,
            Err(e) => return Err(ConfirmError::Store(store_err(e))),
        }
    }
    Err(ConfirmError::Store(
        "could not allocate a beneficiary virtual account".into(),
    ))
}

/// A partner's beneficiary by its virtual account.
pub async fn beneficiary(
    app: &App,
    partner_va: &str,
    beneficiary_va: &str,
) -> Result<Option<Registration>, StoreError> {
    let found = match app.beneficiaries.by_va.recall(beneficiary_va) {
        Some(found) => found,
        None => {
            let Some((registration, _)) =
                crate::stored::load::<Registration>(&*app.store, BENEFICIARY, beneficiary_va)
                    .await?
            else {
                return Ok(None);
            };
            app.beneficiaries
                .by_va
                .remember(beneficiary_va, registration.clone());
            registration
        }
    };
    Ok((found.partner_va == partner_va).then_some(found))
}

/// Beneficiaries by virtual account, remembered for good: a beneficiary record is
/// written once, at confirmation, and never changes, so what was read stays true.
pub struct BeneficiaryCache {
    by_va: Remembered<Registration>,
}

impl Default for BeneficiaryCache {
    fn default() -> Self {
        BeneficiaryCache {
            by_va: Remembered::new(None, Self::MAX_ENTRIES),
        }
    }
}

impl BeneficiaryCache {
    /// Most beneficiaries remembered; past that the cache starts over.
    const MAX_ENTRIES: usize = 100_000;
}
