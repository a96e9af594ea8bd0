//! The payout domain's records, as pure data: a disbursement moves money from a
//! funding account to a payee — a bank account, an e-wallet, or cash handed out
//! against a code at a store or ATM network — for whoever asked for it. The
//! workflow that moves them lives in the application; each protocol face renders
//! them for its own partners. Nothing here knows a wire protocol's field names or
//! codes.

use crate::mask::{Masked, Secret};
use crate::{Document, Timestamp};
use serde::{Deserialize, Serialize};

/// The faces through which a domain operation can be asked for. Fixed at compile
/// time: every `match` over it names them all, so a face added here does not
/// compile until each place that renders, signs or acknowledges for a face knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Face {
    /// Faspay SendMe v1 (`/account/api/…`).
    #[serde(rename = "sendme")]
    SendmeV1,
    /// Faspay Debit (`/cvr/…`, `/pws/…`): merchants' bills.
    #[serde(rename = "debit")]
    Debit,
    /// SNAP, Bank Indonesia's open-API standard (`/v1.0/…`, `/account/v1.0/…`).
    #[serde(rename = "snap")]
    Snap,
}

impl Face {
    pub const ALL: [Face; 3] = [Face::SendmeV1, Face::Debit, Face::Snap];

    /// Its name in stored records and notifications.
    pub fn as_str(self) -> &'static str {
        match self {
            Face::SendmeV1 => "sendme",
            Face::Debit => "debit",
            Face::Snap => "snap",
        }
    }

    pub fn parse(text: &str) -> Option<Face> {
        Self::ALL.into_iter().find(|f| f.as_str() == text)
    }
}

/// Who asked for something: the face it came through and the principal's id
/// there (a SendMe partner's virtual account).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Requester {
    pub face: Face,
    pub principal: String,
}

impl Requester {
    /// The scope in which this requester's own references must be unique: one per
    /// face and requester, so two faces of one partner never collide.
    pub fn reference_scope(&self) -> String {
        format!("payout:{}:{}", self.face.as_str(), self.principal)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Held; waits for the requester's approval.
    WaitingApproval,
    /// Held; on its way to (or at) the channel, or a code waiting to be claimed.
    Processing,
    Succeeded,
    Failed,
    /// Undone after it had succeeded (a cash-out reversal).
    Reversed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::WaitingApproval => "waiting_approval",
            Status::Processing => "processing",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Reversed => "reversed",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed | Status::Reversed)
    }
}

/// Why a payout failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// The bank or wallet refused it (its answer is in `channel_answer`).
    Declined,
    /// The approver rejected it.
    Rejected,
    /// Its cash code was not claimed in time.
    CodeExpired,
    /// Its requester (or an operator) cancelled it before it was sent.
    Cancelled,
}

/// A channel's own answer, kept verbatim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelAnswer {
    pub code: String,
    pub message: String,
}

/// Whom a payout pays. Stored externally tagged (`{"bank_account": {…}}`): it
/// decodes in one pass, without buffering the record as an internal tag would.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payee {
    BankAccount(AccountPayee),
    EWallet(AccountPayee),
    /// Cash against a single-use code at a store or ATM network.
    CashCode(CashCode),
}

/// A bank account or an e-wallet, at the channel its code names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountPayee {
    /// The channel's code: a bank's clearing code (`014`), a wallet's (`ovo`).
    pub channel: String,
    pub channel_name: String,
    pub account: Masked,
    /// The holder's name as the channel has it.
    pub holder: String,
    /// The registered beneficiary it was addressed through, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beneficiary: Option<String>,
}

/// The networks that hand out cash against a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CashNetwork {
    Alfamart,
    Indomaret,
    Permata,
}

impl CashNetwork {
    pub const ALL: [CashNetwork; 3] = [
        CashNetwork::Alfamart,
        CashNetwork::Indomaret,
        CashNetwork::Permata,
    ];

    /// Its name in host-to-host paths, configuration and ledger accounts.
    pub fn slug(self) -> &'static str {
        match self {
            CashNetwork::Alfamart => "alfamart",
            CashNetwork::Indomaret => "indomaret",
            CashNetwork::Permata => "permata",
        }
    }

    pub fn by_slug(slug: &str) -> Option<CashNetwork> {
        Self::ALL.into_iter().find(|n| n.slug() == slug)
    }

    pub fn display_name(self) -> &'static str {
        match self {
            CashNetwork::Alfamart => "Alfamart",
            CashNetwork::Indomaret => "Indomaret",
            CashNetwork::Permata => "Permata ATM",
        }
    }

    /// The ledger account its claimed codes are posted to.
    pub fn clearing_account(self) -> String {
        crate::ledger::codes::channel_clearing(&format!("cashout:{}", self.slug()))
    }
}

/// A cash code payee: who may claim it where, and what became of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CashCode {
    pub network: CashNetwork,
    /// The phone number the code was issued for, as the requester gave it.
    pub phone: Masked,
    pub holder: String,
    /// The plain code; absent until issued.
    pub code: Option<Secret>,
    pub expires_at: Timestamp,
    /// When the request named no expiry: the code's life, counted from its issue
    /// (which approval may delay).
    #[serde(default)]
    pub lifetime_seconds: Option<i64>,
    pub payment: Option<CodePayment>,
    pub advised_at: Option<Timestamp>,
    pub reversed_at: Option<Timestamp>,
}

/// The claim of a code by its network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CodePayment {
    /// The network's own reference of the payment.
    pub reference: String,
    pub terminal: String,
    pub paid_at: Timestamp,
}

/// Why a network's request about a cash code is refused; each face that a
/// network speaks maps every one to its own code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeRefusal {
    UnknownCode,
    Expired,
    WrongAmount,
    AlreadyUsed,
    /// The reference was used with other content, or voided by a reversal.
    DuplicateReference,
    NoSuchPayment,
    /// A reversal after settlement or past the window; an advice after a reversal.
    NotAllowed,
}

/// A disbursement as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Disbursement {
    pub id: String,
    pub requester: Requester,
    /// The ledger account that funds it (held on acceptance).
    pub funding_account: String,
    /// The requester's own reference, unique per face and requester.
    pub reference: String,
    /// The gateway's reference shown to the requester.
    pub gateway_reference: String,
    pub payee: Payee,
    /// Rupiah in minor units (sen).
    pub amount_minor: i64,
    pub description: String,
    pub notice_url: Option<String>,
    /// What the requester sent, as its face echoes it back.
    pub request: Document,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// The bank's or wallet's final answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_answer: Option<ChannelAnswer>,
    /// How often the channel was asked (a pending answer asks again).
    pub channel_attempts: u32,
    /// The id of the HTTP request that asked for it, named in later log lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub created_at: Timestamp,
    pub dispatch_at: Timestamp,
    pub status_at: Timestamp,
}

impl Disbursement {
    pub fn cash_code(&self) -> Option<&CashCode> {
        match &self.payee {
            Payee::CashCode(c) => Some(c),
            _ => None,
        }
    }

    pub fn cash_code_mut(&mut self) -> Option<&mut CashCode> {
        match &mut self.payee {
            Payee::CashCode(c) => Some(c),
            _ => None,
        }
    }

    /// The bank or wallet account it pays, if it pays one.
    pub fn account_payee(&self) -> Option<&AccountPayee> {
        match &self.payee {
            Payee::BankAccount(a) | Payee::EWallet(a) => Some(a),
            Payee::CashCode(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faces_round_trip_and_scopes_differ_per_face_and_requester() {
        for face in Face::ALL {
            assert_eq!(Face::parse(face.as_str()), Some(face));
        }
        let a = Requester {
            face: Face::SendmeV1,
            principal: "9920015307".into(),
        };
        let b = Requester {
            principal: "9920015308".into(),
            ..a.clone()
        };
        assert_ne!(a.reference_scope(), b.reference_scope());
    }

    #[test]
    fn networks_by_slug_and_clearing_accounts_named_by_the_domain() {
        for n in CashNetwork::ALL {
            assert_eq!(CashNetwork::by_slug(n.slug()), Some(n));
        }
        assert_eq!(
            CashNetwork::Alfamart.clearing_account(),
            "channel:cashout:alfamart"
        );
    }
}
