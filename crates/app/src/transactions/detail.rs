//! One transaction in full: what it is, the timeline of its steps, the journal
//! entries that moved its money, and every notification sent of it with each
//! delivery attempt; and the resending of one of those notifications.

use super::{find, Kind, Subject};
use crate::App;
use gerbang_core::cashin::CashInChunk;
use gerbang_core::payin::{BillStatus, RefundState};
use gerbang_core::payout::{Payee, Status};
use gerbang_core::user::Scope;
use gerbang_core::Timestamp;
use gerbang_store::{
    Attempt, JournalEntry, Notification, NotificationQuery, RecordWrite, Step, StoreError,
};

/// Most journal entries and notifications a detail page shows.
const MAX_SHOWN: u32 = 100;
/// Most notify pages of a bulk that are looked up.
const MAX_BULK_PAGES: u32 = 100;

/// Something that happened to a transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub at: Timestamp,
    pub what: String,
}

pub struct Detail {
    pub subject: Subject,
    /// A bulk's part asked for, with its items and their outcomes.
    pub part: Option<CashInChunk>,
    /// Oldest first.
    pub timeline: Vec<Event>,
    pub entries: Vec<JournalEntry>,
    pub notifications: Vec<(Notification, Vec<Attempt>)>,
}

/// The transaction `kind`/`id` in full (and, of a bulk, its items of part
/// `part`), if `scope` sees it.
pub async fn detail(
    app: &App,
    scope: &Scope,
    kind: Kind,
    id: &str,
    part: u32,
) -> Result<Option<Detail>, StoreError> {
    let Some(subject) = find(app, scope, kind, id).await? else {
        return Ok(None);
    };
    let part = match &subject {
        Subject::CashInBulk(b) if part < b.chunks => {
            crate::cashin::load_chunk(&app.store, &b.id, part)
                .await?
                .map(|(c, _)| c)
        }
        _ => None,
    };
    let entries = entries(app, &subject).await?;
    let mut notifications = Vec::new();
    for source in sources(&subject) {
        let query = NotificationQuery {
            owner: None,
            source: Some(source),
            status: None,
            before_id: None,
            limit: MAX_SHOWN,
        };
        for n in app.store.notifications(query).await? {
            let attempts = app.store.attempts(n.id).await?;
            notifications.push((n, attempts));
        }
    }
    notifications.sort_by_key(|(n, _)| n.id);
    let mut timeline = steps(app, &subject).await?;
    for e in &entries {
        timeline.push(Event {
            at: e.created_at,
            what: format!("Journal entry {} ({})", e.id, e.kind),
        });
    }
    for (n, attempts) in &notifications {
        timeline.push(Event {
            at: n.created_at,
            what: format!("Notification {} queued for {}", n.id, n.url),
        });
        for a in attempts {
            let answer = a
                .http_status
                .map_or_else(|| "no answer".to_string(), |s| format!("HTTP {s}"));
            timeline.push(Event {
                at: a.at,
                what: format!("Notification {} attempt {}: {answer}", n.id, a.attempt_no),
            });
        }
    }
    timeline.sort_by_key(|e| e.at);
    Ok(Some(Detail {
        subject,
        part,
        timeline,
        entries,
        notifications,
    }))
}

/// What caused its notifications, as the outbox names it.
fn sources(subject: &Subject) -> Vec<String> {
    match subject {
        Subject::Bill(b) => vec![format!("bill:{}", b.id)],
        Subject::Payout(d) => vec![format!("disbursement:{}", d.id)],
        Subject::CashInBulk(b) => (1..=b.chunks.min(MAX_BULK_PAGES))
            .map(|page| format!("cashin:{}:page:{page}", b.id))
            .collect(),
    }
}

/// The journal entries of its money: filed under its id or the requester's
/// reference, and (for a reference a requester may reuse across faces) moving
/// money on the requester's own account no earlier than it was made.
async fn entries(app: &App, subject: &Subject) -> Result<Vec<JournalEntry>, StoreError> {
    let row = subject.row();
    let mut names = vec![row.id.clone()];
    if !row.reference.is_empty() && row.reference != row.id {
        names.push(row.reference.clone());
    }
    let mut all = Vec::new();
    for name in names {
        for e in app.store.entries(&name, MAX_SHOWN).await? {
            let ours = match subject.own_account() {
                None => e.reference == row.id,
                Some(account) => {
                    e.created_at >= row.created_at
                        && e.postings.iter().any(|p| p.account == account)
                }
            };
            if ours && !all.iter().any(|a: &JournalEntry| a.id == e.id) {
                all.push(e);
            }
        }
    }
    all.sort_by_key(|e| e.id);
    Ok(all)
}

/// The steps its own record tells of.
async fn steps(app: &App, subject: &Subject) -> Result<Vec<Event>, StoreError> {
    let event = |at, what: String| Event { at, what };
    let mut steps = Vec::new();
    match subject {
        Subject::Bill(b) => {
            steps.push(event(
                b.created_at,
                format!(
                    "Posted through {} by {} on channel {}",
                    b.requester.face.as_str(),
                    b.requester.principal,
                    b.channel
                ),
            ));
            if let Some(p) = &b.payment {
                steps.push(event(
                    p.paid_at,
                    format!("Paid, channel reference {}", p.reference),
                ));
                if let Some(at) = p.advised_at {
                    steps.push(event(at, "Payment confirmed final by its network".into()));
                }
            }
            for r in &b.refunds {
                let state = match r.state {
                    RefundState::Requested => "requested",
                    RefundState::Refunded => "refunded",
                    RefundState::Refused => "refused",
                };
                steps.push(event(
                    r.requested_at,
                    format!("Refund {} of {} sen: {state}", r.reference, r.amount_minor),
                ));
            }
            if !matches!(b.status, BillStatus::Pending | BillStatus::Paid) {
                steps.push(event(b.status_at, format!("Now {}", b.status.as_str())));
            }
        }
        Subject::Payout(d) => {
            steps.push(event(
                d.created_at,
                format!(
                    "Asked for through {} by {}",
                    d.requester.face.as_str(),
                    d.requester.principal
                ),
            ));
            if let Some(h) = app.store.hold(&crate::payout::hold_key(d)).await? {
                steps.push(event(
                    h.created_at,
                    format!("{} sen held on {}", h.amount, h.account),
                ));
                if let Some(at) = h.ended_at {
                    steps.push(event(at, format!("Hold {}", h.state.as_str())));
                }
            }
            if d.status != Status::WaitingApproval && d.channel_attempts > 0 {
                let to = match &d.payee {
                    Payee::BankAccount(a) | Payee::EWallet(a) => a.channel_name.clone(),
                    Payee::CashCode(c) => c.network.display_name().to_string(),
                };
                steps.push(event(d.dispatch_at, format!("Sent to {to}")));
            }
            if let Some(c) = d.cash_code() {
                if let Some(p) = &c.payment {
                    steps.push(event(p.paid_at, "Cash handed out against its code".into()));
                }
                if let Some(at) = c.reversed_at {
                    steps.push(event(at, "Cash-out reversed".into()));
                }
            }
            let mut end = format!("Now {}", d.status.as_str());
            if let Some(a) = &d.channel_answer {
                end.push_str(&format!(" (channel answered {} {})", a.code, a.message));
            }
            steps.push(event(d.status_at, end));
        }
        Subject::CashInBulk(b) => {
            steps.push(event(
                b.created_at,
                format!(
                    "Submitted through {} by {}: {} items in {} parts",
                    b.requester.face.as_str(),
                    b.requester.principal,
                    b.items,
                    b.chunks
                ),
            ));
            if let Some(at) = b.finished_at {
                steps.push(event(at, "Every item has its outcome".into()));
            }
        }
    }
    Ok(steps)
}

/// Why a notification was not resent.
#[derive(Debug, thiserror::Error)]
pub enum ResendError {
    #[error("no such transaction")]
    UnknownTransaction,
    #[error("notification {0} is not one of this transaction's")]
    NotItsNotification(i64),
    #[error("storage failure: {0}")]
    Store(#[from] StoreError),
}

/// Sends notification `notification` of transaction `kind`/`id` again (due now),
/// after writing `audit` (what the dashboard records of the action).
pub async fn resend(
    app: &App,
    scope: &Scope,
    kind: Kind,
    id: &str,
    notification: i64,
    audit: impl FnOnce(&Subject) -> RecordWrite,
) -> Result<(), ResendError> {
    let subject = find(app, scope, kind, id)
        .await?
        .ok_or(ResendError::UnknownTransaction)?;
    let n = app
        .store
        .notification(notification)
        .await?
        .filter(|n| sources(&subject).contains(&n.source))
        .ok_or(ResendError::NotItsNotification(notification))?;
    let step = Step {
        records: vec![audit(&subject)],
        ..Step::default()
    };
    app.store
        .commit(app.now(), step)
        .await
        .map_err(|e| StoreError(e.to_string()))?;
    app.store.resend_notification(n.id, app.now()).await?;
    Ok(())
}
