//! The SNAP services that move money, each a payout of the shared domain funded
//! by the partner's SendMe source account (so SNAP and SendMe v1 spend one
//! balance): transfer interbank (18), e-money top-up (38) and transfer-to-VA
//! payment (33). A new request answers `200xx00` with `latestTransactionStatus`
//! `03` (or `01` awaiting approval); its final state goes to the partner as a
//! signed notice.

use super::{field, internal, source, Answer, Caller, Shared};
use gerbang_app::payout::{self, AcceptError, AccountPayee, Disbursement, NewPayout, Payee};
use gerbang_app::principals::SendmePartner;
use gerbang_channels::bank::directory;
use gerbang_channels::ewallet;
use gerbang_core::mask::Masked;
use gerbang_core::Document;
use gerbang_protocol::fingerprint::fingerprint;
use gerbang_protocol::snap::code::{Case, Outcome, Service};
use gerbang_protocol::snap::render::{self, Echo};
use gerbang_protocol::snap::request::{EmoneyTopup, Instruction, TransferInterbank, VaPayment};
use serde_json::{Map, Value};

/// What a payout of a SNAP request shares, whatever its service.
struct Common<'a> {
    service: Service,
    caller: &'a Caller,
    source: SendmePartner,
    reference: String,
    amount_minor: i64,
    instruction: &'a Instruction,
}

impl Common<'_> {
    /// The payout to `payee`, accepted; answered with `render`.
    async fn submit(
        self,
        snap: &Shared,
        payee: Payee,
        print: &[&str],
        echo: Echo,
        render: fn(&Disbursement) -> Map<String, Value>,
    ) -> Result<Answer, Outcome> {
        let service = self.service;
        accept(snap, service, self.payout(payee, print, echo), render).await
    }

    fn payout(self, payee: Payee, print: &[&str], echo: Echo) -> NewPayout {
        let amount = self.amount_minor.to_string();
        let mut parts = vec![
            self.caller.partner.partner_id.as_str(),
            &self.reference,
            &amount,
            &self.instruction.description,
        ];
        parts.extend_from_slice(print);
        NewPayout {
            requester: self.caller.partner.requester(),
            funding_account: self.caller.partner.account_code(),
            needs_approval: self.source.require_approval,
            reference: self.reference.clone(),
            fingerprint: fingerprint(&parts),
            payee,
            amount_minor: self.amount_minor,
            description: self.instruction.description.clone(),
            notice_url: self
                .instruction
                .callback_url
                .as_ref()
                .map(|u| u.as_str().to_string()),
            request: Document::of(&Echo {
                service_code: format!("{:02}", self.service.code()),
                external_id: self.caller.headers.external_id.clone(),
                source_account: self.source.virtual_account.clone(),
                instruct_date: self
                    .instruction
                    .instruct_date
                    .as_ref()
                    .map(|(text, _)| text.clone()),
                ..echo
            }),
            instruct_at: self.instruction.instruct_date.as_ref().map(|(_, at)| *at),
            claim: self.caller.claim.clone(),
        }
    }
}

/// Accepts `request`: a new payout answers with `render`; a retry with the same
/// content is `409xx01`, with other content `404xx18`.
async fn accept(
    snap: &Shared,
    service: Service,
    request: NewPayout,
    render: fn(&Disbursement) -> Map<String, Value>,
) -> Result<Answer, Outcome> {
    let refused = |case| Outcome::new(service, case);
    match payout::submit(&snap.app, request).await {
        Ok(s) if s.first_time => Ok(Answer::new(Case::SUCCESSFUL, render(&s.disbursement))),
        Ok(_) => Err(refused(Case::DUPLICATE_REFERENCE).about("partnerReferenceNo")),
        Err(AcceptError::DuplicateReference) => {
            Err(refused(Case::INCONSISTENT).about("partnerReferenceNo"))
        }
        Err(AcceptError::InsufficientBalance) => Err(refused(Case::INSUFFICIENT_FUNDS)),
        Err(AcceptError::Claimed) => Err(refused(Case::CONFLICT)),
        Err(AcceptError::InternalNoticeUrl) => {
            Err(refused(Case::INVALID_FIELD_FORMAT).about("additionalInfo.callbackUrl"))
        }
        Err(AcceptError::ScheduledTooFar { .. }) => {
            Err(refused(Case::INVALID_FIELD_FORMAT).about("additionalInfo.instructDate"))
        }
        Err(AcceptError::AwaitingRestoreConfirmation) => Err(refused(
            Case::NOT_ALLOWED_AT_THIS_TIME,
        )
        .about("the gateway was restored from a backup; new transfers wait for the operator")),
        Err(AcceptError::Store(e)) => Err(internal(service, e)),
    }
}

pub async fn interbank(snap: Shared, c: Caller) -> Result<Answer, Outcome> {
    let service = Service::TRANSFER_INTERBANK;
    let t = TransferInterbank::read(&c.body).map_err(|e| field(service, e))?;
    let bank = directory::by_code(&t.beneficiary_bank_code)
        .ok_or_else(|| Outcome::new(service, Case::BANK_NOT_SUPPORTED))?;
    let source = source(&snap, service, &c, &t.source_account, "sourceAccountNo").await?;
    let payee = Payee::BankAccount(AccountPayee {
        channel: bank.code.to_string(),
        channel_name: bank.name.to_string(),
        account: Masked(t.beneficiary_account.clone()),
        holder: t.beneficiary_name.to_uppercase(),
        beneficiary: None,
    });
    let print = [
        bank.code,
        t.beneficiary_account.as_str(),
        t.beneficiary_name.as_str(),
        t.source_account.as_str(),
    ];
    let echo = Echo {
        transaction_date: Some(t.transaction_date.clone()),
        beneficiary_name: Some(t.beneficiary_name.clone()),
        beneficiary_email: t.beneficiary_email.clone(),
        originator_infos: t.originator_infos.clone(),
        ..Echo::default()
    };
    Common {
        service,
        caller: &c,
        source,
        reference: t.partner_reference.clone(),
        amount_minor: t.amount_minor,
        instruction: &t.instruction,
    }
    .submit(&snap, payee, &print, echo, render::transfer)
    .await
}

pub async fn topup(snap: Shared, c: Caller) -> Result<Answer, Outcome> {
    let service = Service::EMONEY_TOPUP;
    let t = EmoneyTopup::read(&c.body).map_err(|e| field(service, e))?;
    let wallet = ewallet::by_code(&t.platform_code).ok_or_else(|| {
        Outcome::new(service, Case::INVALID_FIELD_FORMAT).about("additionalInfo.platformCode")
    })?;
    gerbang_protocol::snap::fields::within_limit(t.amount_minor, "amount.value")
        .map_err(|e| field(service, e))?;
    let source = source(
        &snap,
        service,
        &c,
        &t.source_account,
        "additionalInfo.sourceAccount",
    )
    .await?;
    let name = t.customer_name.clone().unwrap_or_default();
    let payee = Payee::EWallet(AccountPayee {
        channel: wallet.code.to_string(),
        channel_name: wallet.name.to_string(),
        account: Masked(t.customer_number.clone()),
        holder: name.to_uppercase(),
        beneficiary: None,
    });
    let print = [wallet.code, t.customer_number.as_str(), name.as_str()];
    let echo = Echo {
        // A date the partner left out is the time the gateway took the request.
        transaction_date: Some(
            t.transaction_date
                .clone()
                .unwrap_or_else(|| render::instant(snap.app.now())),
        ),
        beneficiary_email: t.beneficiary_email.clone(),
        customer_name: t.customer_name.clone(),
        ..Echo::default()
    };
    Common {
        service,
        caller: &c,
        source,
        reference: t.partner_reference.clone(),
        amount_minor: t.amount_minor,
        instruction: &t.instruction,
    }
    .submit(&snap, payee, &print, echo, render::topup)
    .await
}

pub async fn va_payment(snap: Shared, c: Caller) -> Result<Answer, Outcome> {
    let service = Service::TRANSFER_VA_PAYMENT_INTRABANK;
    let p = VaPayment::read(&c.body).map_err(|e| field(service, e))?;
    let bank = directory::by_code(&p.biller_code)
        .ok_or_else(|| Outcome::new(service, Case::BANK_NOT_SUPPORTED))?;
    let source = source(&snap, service, &c, &p.source_account, "sourceAccount").await?;
    let va = &p.virtual_account;
    let payee = Payee::BankAccount(AccountPayee {
        channel: bank.code.to_string(),
        channel_name: bank.name.to_string(),
        account: Masked(va.number.clone()),
        holder: p.name.to_uppercase(),
        beneficiary: None,
    });
    let print = [bank.code, va.number.as_str(), p.name.as_str()];
    // A time the partner left out is the time the gateway took the request.
    let trx_date_time = p
        .trx_date_time
        .clone()
        .unwrap_or_else(|| render::instant(snap.app.now()));
    let echo = Echo {
        transaction_date: Some(trx_date_time.clone()),
        beneficiary_name: Some(p.name.clone()),
        partner_service_id: Some(va.partner_service_id.clone()),
        customer_no: Some(va.customer_no.clone()),
        virtual_account_no: Some(va.sent.clone()),
        trx_date_time: Some(trx_date_time),
        ..Echo::default()
    };
    Common {
        service,
        caller: &c,
        source,
        reference: p.partner_reference.clone(),
        amount_minor: p.amount_minor,
        instruction: &p.instruction,
    }
    .submit(&snap, payee, &print, echo, render::va_payment)
    .await
}
