//! `transfer`: a disbursement to a registered beneficiary's bank account.

use super::codes::{add_fields, PartnerCodes};
use super::request::echo;
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
use gerbang_core::values::AccountNumber;
use gerbang_protocol::sendme::auth::Endpoint;
use gerbang_protocol::sendme::envelope::{self, SendmeError};
use gerbang_protocol::sendme::fields::{fingerprint, Fields};
use gerbang_protocol::sendme::render::{code_is_encrypted, status_of, trx_id};
use gerbang_protocol::sendme::request::{AccountTransfer, Timing, Transfer, TransferTo};
use serde_json::{Map, Value};

const TRANSFER: Endpoint = Endpoint::Service {
    path: "/account/api/transfer",
    method: "POST",
};

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

/// Decodes a transfer request and resolves its beneficiary.
async fn prepare(sendme: &Shared, c: &super::Call) -> Result<NewPayout, SendmeError> {
    let va = c.own_virtual_account(usize::MAX)?;
    let transfer = Transfer::parse(&c.input.fields)?;
    let amount = transfer.amount.minor();
    let t = match transfer.to {
        TransferTo::Cash(cash) => return super::cashout::prepare(sendme, c, amount, cash).await,
        TransferTo::Account(t) => t,
    };
    let f: &Fields = &c.input.fields;
    if let Some(wallet) = ewallet::by_code(&t.bank_code) {
        return prepare_wallet(&c.partner, f, amount, &t, wallet);
    }
    let bank = directory::by_code(&t.bank_code).ok_or(SendmeError::INVALID_BENEFICIARY_VA)?;
    let beneficiary_va = t
        .beneficiary_virtual_account()?
        .ok_or(SendmeError::INVALID_BENEFICIARY_VA)?;
    let registered = beneficiary::beneficiary(&sendme.app, &va, beneficiary_va)
        .await
        .map_err(super::internal)?
        .ok_or(SendmeError::INVALID_BENEFICIARY_VA)?;
    if registered.bank_code != bank.code {
        return Err(SendmeError::INVALID_BENEFICIARY_VA);
    }
    let account = t.account()?;
    if account != registered.bank_account_number {
        return Err(SendmeError::ACCOUNT_NOT_MATCH);
    }
    let name = t.name()?;
    if !name.eq_ignore_ascii_case(registered.details.account_name.trim())
        && !name.eq_ignore_ascii_case(&registered.bank_account_name)
    {
        return Err(SendmeError::NAME_NOT_MATCH);
    }
    let to = To {
        wallet: false,
        code: bank.code,
        network_name: registered.bank_name.clone(),
        account: account.to_string(),
        name: name.to_string(),
        holder: registered.bank_account_name.clone(),
        beneficiary_va: Some(beneficiary_va.to_string()),
    };
    Ok(to.payout(&c.partner, f, amount, &t.description, t.timing()?))
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
        description: &str,
        when: &Timing,
    ) -> NewPayout {
        let print = fingerprint(&[
            &partner.virtual_account,
            self.beneficiary_va.as_deref().unwrap_or(""),
            &self.account,
            &self.name,
            self.code,
            &amount.to_string(),
            description,
            &when.trx_date,
            when.instruct.as_ref().map_or("", |i| i.text.as_str()),
            when.callback_url.as_str(),
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
            reference: when.reference.clone(),
            fingerprint: print,
            payee: if self.wallet {
                Payee::EWallet(account)
            } else {
                Payee::BankAccount(account)
            },
            amount_minor: amount,
            description: description.to_string(),
            notice_url: Some(when.callback_url.as_str().to_string()),
            request: echo(f),
            instruct_at: when.instruct.as_ref().map(|i| i.at),
            claim: None,
        }
    }
}

/// An e-wallet top-up: the wallet is addressed by phone number or wallet id, with no
/// registration first.
fn prepare_wallet(
    partner: &SendmePartner,
    f: &Fields,
    amount: i64,
    t: &AccountTransfer,
    wallet: &'static ewallet::Wallet,
) -> Result<NewPayout, SendmeError> {
    let account = AccountNumber::parse(t.account()?, 128)
        .map_err(|_| SendmeError::ACCOUNT_NOT_MATCH)?
        .into_string();
    let name = t.name()?;
    let to = To {
        wallet: true,
        code: wallet.code,
        network_name: wallet.name.to_string(),
        holder: name.to_uppercase(),
        account,
        name: name.to_string(),
        beneficiary_va: None,
    };
    Ok(to.payout(partner, f, amount, &t.description, t.timing()?))
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
    if matches!(&request.payee, Payee::CashCode(c) if code_is_encrypted(c.network)) {
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
        Err(AcceptError::InternalNoticeUrl) => error(
            SendmeError::INVALID_BODY
                .with_detail("callback_url: an internal address this gateway does not call"),
        ),
        Err(AcceptError::ScheduledTooFar { max_seconds }) => {
            error(SendmeError::INVALID_BODY.with_detail(format!(
                "instruct_date: at most {} days ahead",
                max_seconds / 86_400
            )))
        }
        Err(AcceptError::InsufficientBalance) => error(SendmeError::INSUFFICIENT_BALANCE),
        // The documented "contact the operator" answer: nothing was taken, and the
        // partner may retry once the operator has reconciled the restore.
        Err(AcceptError::AwaitingRestoreConfirmation) => error(SendmeError::INTERNAL.with_detail(
            "the gateway was restored from a backup; new transfers wait for the operator",
        )),
        // SendMe claims nothing besides its reference.
        Err(AcceptError::Claimed) => error(super::internal("an unexpected claim")),
        Err(AcceptError::Store(e)) => error(super::internal(e)),
    }
}
