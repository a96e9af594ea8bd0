//! Reports: transactions counted per day (Jakarta) and channel, with how many
//! succeeded and what they moved, for the bills and payouts a scope sees.
//! Counted by the store in one pass over the range, not read row by row.

use super::{owners, Kind};
use crate::App;
use gerbang_core::user::Scope;
use gerbang_core::Timestamp;
use gerbang_store::{RecordTotals, StoreError};
use std::collections::BTreeMap;
use time::Date;

/// Jakarta's offset from UTC, in seconds.
const JAKARTA_SECONDS: i64 = 7 * 3600;
/// The Julian day of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// One day's transactions of one kind on one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRow {
    pub day: Date,
    pub kind: Kind,
    pub channel: String,
    pub count: i64,
    pub succeeded: i64,
    /// What the succeeded ones moved, in sen.
    pub succeeded_minor: i64,
}

impl ReportRow {
    /// The share that succeeded, 0 to 1.
    pub fn success_rate(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.succeeded as f64 / self.count as f64
        }
    }
}

/// The states in which a transaction of `kind` counts as succeeded.
fn succeeded(kind: Kind, state: &str) -> bool {
    match kind {
        Kind::Bill => matches!(state, "paid" | "refunded" | "partly_refunded"),
        Kind::Payout => state == "succeeded",
        Kind::CashInBulk => state == "done",
    }
}

/// Where a kind's channel is in its documents.
fn channel_paths(kind: Kind) -> Vec<String> {
    match kind {
        Kind::Bill => vec!["$.channel".into()],
        Kind::Payout => vec![
            "$.payee.bank_account.channel".into(),
            "$.payee.e_wallet.channel".into(),
            "$.payee.cash_code.network".into(),
        ],
        Kind::CashInBulk => vec!["$.none".into()],
    }
}

fn amount_path(kind: Kind) -> String {
    match kind {
        Kind::CashInBulk => "$.total_minor".into(),
        _ => "$.amount_minor".into(),
    }
}

/// The report of what `scope` sees created in `[from, until)`, by day, kind and
/// channel; bills and payouts unless `kind` names one.
pub async fn daily(
    app: &App,
    scope: &Scope,
    kind: Option<Kind>,
    from: Timestamp,
    until: Timestamp,
) -> Result<Vec<ReportRow>, StoreError> {
    let kinds = match kind {
        Some(k) => vec![k],
        None => vec![Kind::Bill, Kind::Payout],
    };
    let mut rows: BTreeMap<(Date, &'static str, String), ReportRow> = BTreeMap::new();
    for kind in kinds {
        for owner in owners(app, scope, kind).await? {
            let totals = app
                .store
                .record_totals(RecordTotals {
                    kind: kind.record().into(),
                    owner,
                    from,
                    until,
                    day_offset_seconds: JAKARTA_SECONDS,
                    group_paths: channel_paths(kind),
                    amount_path: amount_path(kind),
                    // A partner's figures are what its balance funded, whoever
                    // the owner: a SNAP partner may have moved to another balance.
                    matching: match scope {
                        Scope::Partner(va) => Some((
                            "$.funding_account".into(),
                            gerbang_core::ledger::codes::partner_balance(va),
                        )),
                        _ => None,
                    },
                })
                .await?;
            for t in totals {
                let julian = i32::try_from(t.day + UNIX_EPOCH_JULIAN_DAY)
                    .map_err(|_| StoreError(format!("day {} out of range", t.day)))?;
                let day = Date::from_julian_day(julian)
                    .map_err(|e| StoreError(format!("day {}: {e}", t.day)))?;
                let row = rows
                    .entry((day, kind.as_str(), t.group.clone()))
                    .or_insert_with(|| ReportRow {
                        day,
                        kind,
                        channel: t.group.clone(),
                        count: 0,
                        succeeded: 0,
                        succeeded_minor: 0,
                    });
                row.count += t.count;
                if succeeded(kind, &t.state) {
                    row.succeeded += t.count;
                    row.succeeded_minor += t.amount;
                }
            }
        }
    }
    Ok(rows.into_values().collect())
}
