//! Payout requests the application's tests make, as a SendMe partner's face would
//! hand them to the domain.

use gerbang_app::payout::{AccountPayee, CashCode, CashNetwork, Face, NewPayout, Payee, Requester};
use gerbang_core::mask::Masked;
use gerbang_core::{Document, Timestamp};

/// The SendMe partner with virtual account `va`.
pub fn requester(va: &str) -> Requester {
    Requester {
        face: Face::SendmeV1,
        principal: va.into(),
    }
}

/// `amount_minor` from partner `va` to a BCA account, waiting for the partner's
/// approval when `needs_approval`.
pub fn bank_payout(
    va: &str,
    reference: &str,
    account: &str,
    amount_minor: i64,
    needs_approval: bool,
) -> NewPayout {
    NewPayout {
        requester: requester(va),
        funding_account: format!("partner:{va}"),
        needs_approval,
        reference: reference.into(),
        fingerprint: format!("{reference}:{account}:{amount_minor}"),
        payee: Payee::BankAccount(AccountPayee {
            channel: "014".into(),
            channel_name: "BCA".into(),
            account: Masked(account.into()),
            holder: "BUDI".into(),
            beneficiary: None,
        }),
        amount_minor,
        description: "payroll".into(),
        notice_url: Some("http://127.0.0.1:9/callback".into()),
        request: Document::of(&serde_json::json!({ "trx_no": reference })),
        instruct_at: None,
        claim: None,
    }
}

/// An Alfamart cash-out code instead of the bank account, living `lifetime_s`
/// from `now`.
pub fn cash_payout(bank: NewPayout, now: Timestamp, lifetime_s: i64) -> NewPayout {
    NewPayout {
        payee: Payee::CashCode(CashCode {
            network: CashNetwork::Alfamart,
            phone: Masked("081234567890".into()),
            holder: "SITI".into(),
            code: None,
            expires_at: now.plus_seconds(lifetime_s),
            lifetime_seconds: Some(lifetime_s),
            payment: None,
            advised_at: None,
            reversed_at: None,
        }),
        ..bank
    }
}
