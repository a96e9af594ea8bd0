//! `transfer`: a disbursement to a registered beneficiary's bank account.

use super::codes::{add_fields, PartnerCodes};
use super::request::{callback_url, echo};
use super::{call, error, Answer, Shared};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::Json;
use gerbang_app::beneficiary;
use gerbang_app::payout::{self, AcceptError, AccountPayee, Disbursement, NewPayout, Payee};
use gerbang_app::principals::SendmePartner;
use gerbang_channels::bank::directory;
use gerbang_channels::ewallet;
use gerbang_core::mask::Masked;
use gerbang_core::values::Amount;
use gerbang_protocol::sendme::auth::{parse_timestamp, Endpoint};
use gerbang_protocol::sendme::envelope::{self, SendmeError};
use gerbang_protocol::sendme::fields::{fingerprint, Fields};
use gerbang_protocol::sendme::render::{cash_network_by_code, status_of, trx_id};
use serde_json::{Map, Value};

const TRANSFER: Endpoint = Endpoint::Service {
    path: "/account/api/transfer",
    method: "POST",
};

/// `trx_desc` is cut to this many characters.
pub const DESCRIPTION_CHARS: usize = 15;

/// The transfer answer: the request echoed, amounts as numbers, the ids, and the
/// transaction's status as it is now (a retry of a settled transfer says so).
pub async fn answer(codes: &PartnerCodes<'_>, d: &Disbursement) -> Result<Value, SendmeError> {
    let mut m: Map<String, Value> = d.request.decode().unwrap_or_default();
    m.insert(
        "virtual_account".into(),
        d.requester.principal.clone().into(),
    );
    m.insert("trx_amount".into(), d.amount_minor.into());
    m.insert("trx_desc".into(), d.description.clone().into());
    m.insert("trx_id".into(), trx_id(d));
    m.insert("trx_reff".into(), d.gateway_reference.clone().into());
    add_fields(codes, d, &mut m).await?;
    let (code, word) = status_of(d.status);
    Ok(envelope::success(m, code, word))
}

/// Checks a transfer request and resolves its beneficiary.
async fn prepare(sendme: &Shared, c: &super::Call) -> Result<NewPayout, SendmeError> {
    let f: &Fields = &c.fields;
    let va = c.own_virtual_account(usize::MAX)?;
    let amount_text = f
        .get("trx_amount")
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .ok_or(SendmeError::AMOUNT_MANDATORY)?;
    let amount = Amount::parse_minor_digits(&amount_text)
        .map_err(|_| {
            SendmeError::INVALID_BODY
                .with_detail("trx_amount: a positive whole number of cents (Rp 10.000 = 1000000)")
        })?
        .minor();
    let description = f.optional("trx_desc", 255)?;
    if description
        .as_deref()
        .is_some_and(|d| d.trim().eq_ignore_ascii_case("fee"))
    {
        return Err(SendmeError::FEE_DESCRIPTION);
    }
    let bank_code = f.required("beneficiary_bank_code", 10)?;
    if let Some(network) = cash_network_by_code(&bank_code) {
        return super::cashout::prepare(sendme, c, va, amount, description, network).await;
    }
    let description: String = f
        .required("trx_desc", 255)?
        .chars()
        .take(DESCRIPTION_CHARS)
        .collect();
    if let Some(wallet) = ewallet::by_code(&bank_code) {
        return prepare_wallet(&c.partner, f, amount, description, wallet);
    }
    let bank = directory::by_code(&bank_code).ok_or(SendmeError::INVALID_BENEFICIARY_VA)?;
    let beneficiary_va = f
        .optional("beneficiary_virtual_account", 20)?
        .ok_or(SendmeError::INVALID_BENEFICIARY_VA)?;
    let registered = beneficiary::beneficiary(&sendme.app, &va, &beneficiary_va)
        .await
        .map_err(super::internal)?
        .ok_or(SendmeError::INVALID_BENEFICIARY_VA)?;
    if registered.bank_code != bank.code {
        return Err(SendmeError::INVALID_BENEFICIARY_VA);
    }
    let account = f.required("beneficiary_account", 128)?;
    if account != registered.bank_account_number {
        return Err(SendmeError::ACCOUNT_NOT_MATCH);
    }
    let name = f.required("beneficiary_name", 255)?;
    if !name.eq_ignore_ascii_case(registered.details.account_name.trim())
        && !name.eq_ignore_ascii_case(&registered.bank_account_name)
    {
        return Err(SendmeError::NAME_NOT_MATCH);
    }
    let when = When::read(f)?;
    let to = To {
        wallet: false,
        code: bank.code,
        network_name: registered.bank_name.clone(),
        account,
        name,
        holder: registered.bank_account_name.clone(),
        beneficiary_va: Some(beneficiary_va),
    };
    Ok(to.payout(&c.partner, f, amount, description, when))
}

/// Who is paid: the network (bank or wallet), the account, the names.
struct To {
    wallet: bool,
    code: &'static str,
    network_name: String,
    account: String,
    /// The name the partner gave.
    name: String,
    /// The holder's name as the network has it.
    holder: String,
    beneficiary_va: Option<String>,
}

impl To {
    fn payout(
        self,
        partner: &SendmePartner,
        f: &Fields,
        amount: i64,
        description: String,
        when: When,
    ) -> NewPayout {
        let print = fingerprint(&[
            &partner.virtual_account,
            self.beneficiary_va.as_deref().unwrap_or(""),
            &self.account,
            &self.name,
            self.code,
            &amount.to_string(),
            &description,
            &when.trx_date,
            when.instruct.as_deref().unwrap_or(""),
            &when.callback_url,
        ]);
        let account = AccountPayee {
            channel: self.code.to_string(),
            channel_name: self.network_name,
            account: Masked(self.account),
            holder: self.holder,
            beneficiary: self.beneficiary_va,
        };
        NewPayout {
            requester: partner.requester(),
            funding_account: partner.account_code(),
            needs_approval: partner.require_approval,
            reference: when.reference,
            fingerprint: print,
            payee: if self.wallet {
                Payee::EWallet(account)
            } else {
                Payee::BankAccount(account)
            },
            amount_minor: amount,
            description,
            callback_url: Some(when.callback_url),
            request: echo(f),
            instruct_at: when.instruct_at,
        }
    }
}

/// The reference, dates and callback every transfer carries.
struct When {
    reference: String,
    trx_date: String,
    instruct: Option<String>,
    instruct_at: Option<gerbang_core::Timestamp>,
    callback_url: String,
}

impl When {
    fn read(f: &Fields) -> Result<When, SendmeError> {
        let reference = f.required("trx_no", 255)?;
        let trx_date = f.required("trx_date", 19)?;
        if parse_timestamp(&trx_date).is_none() {
            return Err(SendmeError::INVALID_BODY.with_detail("trx_date: Y-m-d H:i:s"));
        }
        let instruct = f.optional("instruct_date", 19)?;
        let instruct_at = match &instruct {
            None => None,
            Some(text) => Some(parse_timestamp(text).ok_or_else(|| {
                SendmeError::INVALID_BODY.with_detail("instruct_date: empty or Y-m-d H:i:s")
            })?),
        };
        let callback_url = callback_url(f, true)?.unwrap_or_default();
        Ok(When {
            reference,
            trx_date,
            instruct,
            instruct_at,
            callback_url,
        })
    }
}

/// An e-wallet top-up: the wallet is addressed by phone number or wallet id, with no
/// registration first.
fn prepare_wallet(
    partner: &SendmePartner,
    f: &Fields,
    amount: i64,
    description: String,
    wallet: &'static ewallet::Wallet,
) -> Result<NewPayout, SendmeError> {
    let account = f.required("beneficiary_account", 128)?;
    if !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SendmeError::ACCOUNT_NOT_MATCH);
    }
    let name = f.required("beneficiary_name", 255)?;
    let when = When::read(f)?;
    let to = To {
        wallet: true,
        code: wallet.code,
        network_name: wallet.name.to_string(),
        holder: name.to_uppercase(),
        account,
        name,
        beneficiary_va: None,
    };
    Ok(to.payout(partner, f, amount, description, when))
}

pub async fn transfer(
    State(sendme): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let c = match call(&sendme, TRANSFER, method, uri, headers, body).await {
        Ok(c) => c,
        Err(e) => return error(e),
    };
    let request = match prepare(&sendme, &c).await {
        Ok(r) => r,
        Err(e) => return error(e),
    };
    // An encrypted code needs the key: have it before anything is held.
    let codes = PartnerCodes::new(&sendme);
    if matches!(&request.payee, Payee::CashCode(c) if c.network.encrypts_code()) {
        if let Err(e) = codes.key().await {
            return error(e);
        }
    }
    match payout::accept(&sendme.app, request).await {
        Ok(d) => match answer(&codes, &d).await {
            Ok(body) => Json(body),
            Err(e) => error(e),
        },
        Err(AcceptError::DuplicateReference) => error(SendmeError::DUPLICATE_TRX_NO),
        Err(AcceptError::InsufficientBalance) => error(SendmeError::INSUFFICIENT_BALANCE),
        Err(AcceptError::Store(e)) => error(super::internal(e)),
    }
}
