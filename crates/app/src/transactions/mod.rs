//! Every transaction of every face in one list: bills (money in), payouts (bank,
//! e-wallet and cash-out) and bulk cash-ins (money out), newest first, as a
//! user's scope sees them, searched by reference, status, channel, date range and
//! amount. Pages are keyset-paged on (creation time, id) through the store's
//! time indexes; the filters the indexes do not carry (channel, amount) are
//! applied to what they read, at most [`SCAN_BUDGET`] records per page, so a
//! page costs the same at a million rows as at a thousand: a page the budget
//! ends early says how far back it searched, and goes on from there.

pub mod detail;
pub mod report;

use crate::{cashin, payin, payout, principals, App};
use gerbang_core::cashin::CashInBulk;
use gerbang_core::ledger::codes;
use gerbang_core::payin::Bill;
use gerbang_core::payout::{Disbursement, Face, Payee, Requester};
use gerbang_core::user::Scope;
use gerbang_core::Timestamp;
use gerbang_store::{Record, RecordsByTime, StoreError};

/// Most records one page reads to fill itself.
pub const SCAN_BUDGET: usize = 2_000;
/// Records read from one source at a time.
const BATCH: u32 = 200;
/// Fewest records read from one source at a time, however many sources.
const MIN_BATCH: usize = 10;
/// Most principals a reference is looked up under.
const MAX_PRINCIPALS: usize = 5_000;

/// What a transaction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Bill,
    Payout,
    CashInBulk,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Bill, Kind::Payout, Kind::CashInBulk];

    /// Its name in addresses and forms.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Bill => "bill",
            Kind::Payout => "payout",
            Kind::CashInBulk => "bulk",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    pub(crate) fn record(self) -> &'static str {
        match self {
            Kind::Bill => payin::RECORD,
            Kind::Payout => payout::RECORD,
            Kind::CashInBulk => cashin::BULK_RECORD,
        }
    }

    /// The statuses a transaction of this kind can be in.
    pub fn statuses(self) -> &'static [&'static str] {
        match self {
            Kind::Bill => &[
                "pending",
                "paid",
                "failed",
                "expired",
                "cancelled",
                "reversed",
                "refunded",
                "partly_refunded",
            ],
            Kind::Payout => &[
                "waiting_approval",
                "processing",
                "succeeded",
                "failed",
                "reversed",
            ],
            Kind::CashInBulk => &["processing", "done"],
        }
    }
}

/// One transaction as the list shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub kind: Kind,
    pub id: String,
    /// The requester's own reference.
    pub reference: String,
    pub requester: Requester,
    /// The channel's code: a bill's payment channel, a payout's bank or wallet,
    /// a cash network; empty for a bulk (each item names its wallet).
    pub channel: String,
    /// What is shown of the other party: a payee, a customer, a bulk's size.
    pub counterparty: String,
    pub status: String,
    pub amount_minor: i64,
    pub created_at: Timestamp,
}

impl Row {
    fn position(&self) -> Position {
        Position {
            at: self.created_at,
            id: self.id.clone(),
        }
    }

    fn of_bill(b: &Bill) -> Row {
        Row {
            kind: Kind::Bill,
            id: b.id.clone(),
            reference: b.reference.clone(),
            requester: b.requester.clone(),
            channel: b.channel.clone(),
            counterparty: b.customer.name.clone(),
            status: b.status.as_str().to_string(),
            amount_minor: b.amount_minor,
            created_at: b.created_at,
        }
    }

    fn of_payout(d: &Disbursement) -> Row {
        let (channel, counterparty) = match &d.payee {
            Payee::BankAccount(a) | Payee::EWallet(a) => (
                a.channel.clone(),
                format!("{} {} · {}", a.channel_name, a.account, a.holder),
            ),
            Payee::CashCode(c) => (
                c.network.slug().to_string(),
                format!("cash at {} · {}", c.network.display_name(), c.holder),
            ),
        };
        Row {
            kind: Kind::Payout,
            id: d.id.clone(),
            reference: d.reference.clone(),
            requester: d.requester.clone(),
            channel,
            counterparty,
            status: d.status.as_str().to_string(),
            amount_minor: d.amount_minor,
            created_at: d.created_at,
        }
    }

    fn of_bulk(b: &CashInBulk) -> Row {
        Row {
            kind: Kind::CashInBulk,
            id: b.id.clone(),
            reference: b.reference.clone().unwrap_or_default(),
            requester: b.requester.clone(),
            channel: String::new(),
            counterparty: format!("{} e-money credits", b.items),
            status: b.status.as_str().to_string(),
            amount_minor: b.total_minor,
            created_at: b.created_at,
        }
    }
}

/// Where a page starts: after the transaction created at `at` with id `id`
/// (newest first).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub at: Timestamp,
    pub id: String,
}

impl Position {
    /// As it travels in an address: `{micros}.{id}`.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.at.as_micros(), self.id)
    }

    pub fn decode(text: &str) -> Option<Position> {
        let (micros, id) = text.split_once('.')?;
        let at = Timestamp::from_micros(micros.parse().ok()?);
        plain_id(id).then(|| Position {
            at,
            id: id.to_string(),
        })
    }
}

/// Whether `id` may name a transaction: 1 to 64 letters, digits or `-_:`
/// (what an address or a page link is taken with).
pub fn plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_:".contains(c))
}

/// What to search for. Dates bound the creation time: `from <= at < until`.
#[derive(Clone, Debug)]
pub struct Filter {
    pub kind: Option<Kind>,
    pub status: Option<String>,
    pub channel: Option<String>,
    /// A requester's own reference (of a bill, a payout, a bulk or a bulk's
    /// item) or the gateway's id, exactly.
    pub reference: Option<String>,
    pub from: Timestamp,
    pub until: Timestamp,
    pub min_minor: Option<i64>,
    pub max_minor: Option<i64>,
}

impl Filter {
    fn kinds(&self) -> Vec<Kind> {
        match self.kind {
            Some(k) => vec![k],
            None => Kind::ALL.to_vec(),
        }
    }

    /// Whether a row read from a time index passes the filters the index does not carry.
    fn keeps(&self, row: &Row) -> bool {
        self.channel
            .as_deref()
            .is_none_or(|c| row.channel.eq_ignore_ascii_case(c))
            && self.min_minor.is_none_or(|m| row.amount_minor >= m)
            && self.max_minor.is_none_or(|m| row.amount_minor <= m)
            && self.status.as_deref().is_none_or(|s| row.status == s)
            && row.created_at >= self.from
            && row.created_at < self.until
    }
}

/// A page of the list.
#[derive(Clone, Debug, Default)]
pub struct Page {
    pub rows: Vec<Row>,
    /// Where the next page starts, when there may be one.
    pub next: Option<Position>,
    /// Set when the scan budget ended the page before it was full: everything
    /// created after this instant was searched.
    pub searched_back_to: Option<Timestamp>,
    /// Records read for this page.
    pub scanned: usize,
}

/// A transaction as its kind stores it.
pub enum Subject {
    Bill(Bill),
    Payout(Disbursement),
    CashInBulk(CashInBulk),
}

impl Subject {
    fn decode(kind: Kind, record: &Record) -> Result<Subject, StoreError> {
        let bad = |e: serde_json::Error| StoreError(format!("{} {}: {e}", record.kind, record.key));
        Ok(match kind {
            Kind::Bill => Subject::Bill(record.data.decode().map_err(bad)?),
            Kind::Payout => Subject::Payout(record.data.decode().map_err(bad)?),
            Kind::CashInBulk => Subject::CashInBulk(record.data.decode().map_err(bad)?),
        })
    }

    pub fn row(&self) -> Row {
        match self {
            Subject::Bill(b) => Row::of_bill(b),
            Subject::Payout(d) => Row::of_payout(d),
            Subject::CashInBulk(b) => Row::of_bulk(b),
        }
    }

    /// Whether `scope` sees it: the operator everything, a merchant its bills, a
    /// partner the payouts and bulks its balance funds.
    pub fn visible_to(&self, scope: &Scope) -> bool {
        match (scope, self) {
            (Scope::Operator, _) => true,
            (Scope::Merchant(id), Subject::Bill(b)) => b.requester.principal == *id,
            (Scope::Partner(_), Subject::Payout(d)) => payout::approval::visible_to(scope, d),
            (Scope::Partner(va), Subject::CashInBulk(b)) => {
                b.funding_account == codes::partner_balance(va)
            }
            _ => false,
        }
    }

    /// The ledger account its money moves through on the requester's side.
    pub fn own_account(&self) -> Option<&str> {
        match self {
            Subject::Bill(_) => None,
            Subject::Payout(d) => Some(&d.funding_account),
            Subject::CashInBulk(b) => Some(&b.funding_account),
        }
    }
}

/// The transaction `kind`/`id`, if `scope` sees it (one it does not see reads as
/// unknown).
pub async fn find(
    app: &App,
    scope: &Scope,
    kind: Kind,
    id: &str,
) -> Result<Option<Subject>, StoreError> {
    let Some(record) = app.store.record(kind.record(), id).await? else {
        return Ok(None);
    };
    let subject = Subject::decode(kind, &record)?;
    Ok(subject.visible_to(scope).then_some(subject))
}

/// The owners whose records of `kind` `scope` may see: `None` for all of them.
pub(crate) async fn owners(
    app: &App,
    scope: &Scope,
    kind: Kind,
) -> Result<Vec<Option<String>>, StoreError> {
    Ok(match (scope, kind) {
        (Scope::Operator, _) => vec![None],
        (Scope::Merchant(id), Kind::Bill) => vec![Some(id.clone())],
        (Scope::Partner(va), Kind::Payout | Kind::CashInBulk) => {
            payout::principals_funded_by(&app.store, va)
                .await?
                .into_iter()
                .map(Some)
                .collect()
        }
        _ => Vec::new(),
    })
}

/// One page of what `scope` sees that `filter` keeps, after `before`, at most
/// `limit` rows.
pub async fn search(
    app: &App,
    scope: &Scope,
    filter: &Filter,
    before: Option<&Position>,
    limit: usize,
) -> Result<Page, StoreError> {
    if let Some(reference) = filter.reference.as_deref() {
        return by_reference(app, scope, filter, reference, limit).await;
    }
    // One source per kind and owner, each read newest first in batches.
    struct Source {
        kind: Kind,
        owner: Option<String>,
        /// Where its next batch starts; `None` once it has nothing more.
        cursor: Option<Position>,
        started: bool,
    }
    let mut sources = Vec::new();
    // A partner's principals, read once for every kind.
    let funded = match scope {
        Scope::Partner(va) => payout::principals_funded_by(&app.store, va).await?,
        _ => Vec::new(),
    };
    for kind in filter.kinds() {
        // A status this kind never has: nothing of it to read.
        if let Some(status) = filter.status.as_deref() {
            if !kind.statuses().contains(&status) {
                continue;
            }
        }
        let owners = match (scope, kind) {
            (Scope::Partner(_), Kind::Payout | Kind::CashInBulk) => {
                funded.iter().cloned().map(Some).collect()
            }
            _ => owners(app, scope, kind).await?,
        };
        for owner in owners {
            sources.push(Source {
                kind,
                owner,
                cursor: before.cloned(),
                started: false,
            });
        }
    }
    // Every source reads at least once per page; many sources (a partner funding
    // many SNAP partners) read smaller batches, so the budget still holds.
    let batch = (SCAN_BUDGET / sources.len().max(1)).clamp(MIN_BATCH, BATCH as usize) as u32;
    let mut page = Page::default();
    let mut kept: Vec<Row> = Vec::new();
    loop {
        // Read from each source that has not read as far back as the others.
        let frontier = sources
            .iter()
            .filter(|s| s.started)
            .filter_map(|s| s.cursor.clone())
            .max();
        for s in sources.iter_mut() {
            let behind = s.started && s.cursor.is_some() && s.cursor != frontier;
            if behind || (s.started && s.cursor.is_none()) {
                continue;
            }
            let query = RecordsByTime {
                kind: s.kind.record().to_string(),
                owner: s.owner.clone(),
                from: filter.from,
                until: filter.until,
                before: s.cursor.clone().map(|p| (p.at, p.id)),
                limit: batch,
            };
            let records = app.store.records_by_time(query).await?;
            s.started = true;
            page.scanned += records.len();
            s.cursor = if records.len() < batch as usize {
                None
            } else {
                records.last().map(|r| Position {
                    at: r.created_at,
                    id: r.key.clone(),
                })
            };
            for record in &records {
                // The state is a column: a record in another is not decoded.
                if filter
                    .status
                    .as_deref()
                    .is_some_and(|st| record.state != st)
                {
                    continue;
                }
                let subject = Subject::decode(s.kind, record)?;
                if !subject.visible_to(scope) {
                    continue;
                }
                // Placed by the record's own creation time, the one its index
                // pages on (the document's may be a moment earlier).
                let row = Row {
                    created_at: record.created_at,
                    ..subject.row()
                };
                if filter.keeps(&row) {
                    kept.push(row);
                }
            }
        }
        // Everything newer than the newest position a source stopped at is read.
        let frontier = sources.iter().filter_map(|s| s.cursor.clone()).max();
        kept.sort_by_key(|r| std::cmp::Reverse(r.position()));
        let complete = kept
            .iter()
            .take_while(|r| frontier.as_ref().is_none_or(|f| r.position() >= *f))
            .count();
        if complete >= limit {
            kept.truncate(limit);
            page.next = kept.last().map(Row::position);
            page.rows = kept;
            return Ok(page);
        }
        let Some(frontier) = frontier else {
            page.rows = kept;
            return Ok(page);
        };
        if page.scanned >= SCAN_BUDGET {
            kept.truncate(complete);
            page.rows = kept;
            page.searched_back_to = Some(frontier.at);
            page.next = Some(frontier);
            return Ok(page);
        }
    }
}

/// The transactions whose requester's own reference, or whose gateway id, is
/// `reference`, of the principals `scope` covers.
async fn by_reference(
    app: &App,
    scope: &Scope,
    filter: &Filter,
    reference: &str,
    limit: usize,
) -> Result<Page, StoreError> {
    let mut found: Vec<Subject> = Vec::new();
    for kind in filter.kinds() {
        if let Some(s) = find(app, scope, kind, reference).await? {
            found.push(s);
        }
    }
    for requester in requesters(app, scope).await? {
        if let Some((b, _)) = payin::by_reference(&app.store, &requester, reference).await? {
            found.push(Subject::Bill(b));
        }
        if let Some(d) = payout::by_reference(&app.store, &requester, reference).await? {
            found.push(Subject::Payout(d));
        }
        if let Some(b) = cashin::by_reference(&app.store, &requester, reference).await? {
            found.push(Subject::CashInBulk(b));
        }
        // An item's own reference finds the bulk that carried it.
        if let Some(id) = cashin::bulk_of_item(&app.store, &requester, reference).await? {
            if let Some((b, _)) = cashin::load_bulk(&app.store, &id).await? {
                found.push(Subject::CashInBulk(b));
            }
        }
    }
    let mut rows: Vec<Row> = found
        .iter()
        .filter(|s| s.visible_to(scope))
        .map(Subject::row)
        .filter(|r| filter.kind.is_none_or(|k| r.kind == k) && filter.keeps(r))
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.position()));
    rows.dedup_by(|a, b| a.kind == b.kind && a.id == b.id);
    rows.truncate(limit);
    Ok(Page {
        scanned: found.len(),
        rows,
        ..Page::default()
    })
}

/// Every requester whose references `scope` may look up.
async fn requesters(app: &App, scope: &Scope) -> Result<Vec<Requester>, StoreError> {
    let of = |face, principal: String| Requester { face, principal };
    Ok(match scope {
        Scope::Merchant(id) => vec![of(Face::Debit, id.clone())],
        Scope::Partner(va) => {
            let mut all = vec![of(Face::SendmeV1, va.clone())];
            let principals = payout::principals_funded_by(&app.store, va).await?;
            all.extend(principals.into_iter().skip(1).map(|p| of(Face::Snap, p)));
            all
        }
        Scope::Operator => {
            let mut all = Vec::new();
            for (kind, face) in [
                (principals::MERCHANT, Face::Debit),
                (principals::SENDME_PARTNER, Face::SendmeV1),
                (principals::SNAP_PARTNER, Face::Snap),
            ] {
                let mut after: Option<String> = None;
                while all.len() < MAX_PRINCIPALS {
                    let page = app.store.records(kind, None, after.as_deref(), 500).await?;
                    let Some(last) = page.last() else { break };
                    after = Some(last.key.clone());
                    all.extend(page.iter().map(|r| of(face, r.key.clone())));
                }
            }
            all
        }
    })
}
