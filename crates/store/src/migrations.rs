//! Schema migrations, one numbered SQL file per change and backend, embedded in
//! the binary. Each backend records the versions it applied in `schema_migrations`.

#[derive(Debug)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "records_rowid",
        sql: include_str!("../migrations/sqlite/0002_records_rowid.sql"),
    },
    Migration {
        version: 3,
        name: "idempotency_rowid",
        sql: include_str!("../migrations/sqlite/0003_idempotency_rowid.sql"),
    },
    Migration {
        version: 4,
        name: "drop_records_by_time",
        sql: include_str!("../migrations/sqlite/0004_drop_records_by_time.sql"),
    },
    Migration {
        version: 5,
        name: "domain_account_names",
        sql: include_str!("../migrations/sqlite/0005_domain_account_names.sql"),
    },
    Migration {
        version: 6,
        name: "payout_records",
        sql: include_str!("../migrations/sqlite/0006_payout_records.sql"),
    },
    Migration {
        version: 7,
        name: "notification_request_id",
        sql: include_str!("../migrations/sqlite/0007_notification_request_id.sql"),
    },
    Migration {
        version: 8,
        name: "records_waiting_approval",
        sql: include_str!("../migrations/sqlite/0008_records_waiting_approval.sql"),
    },
    Migration {
        version: 9,
        name: "dashboard_lookups",
        sql: include_str!("../migrations/sqlite/0009_dashboard_lookups.sql"),
    },
];

pub const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "domain_account_names",
        sql: include_str!("../migrations/postgres/0002_domain_account_names.sql"),
    },
    Migration {
        version: 3,
        name: "payout_records",
        sql: include_str!("../migrations/postgres/0003_payout_records.sql"),
    },
    Migration {
        version: 4,
        name: "records_key_bytewise",
        sql: include_str!("../migrations/postgres/0004_records_key_bytewise.sql"),
    },
    Migration {
        version: 5,
        name: "notification_request_id",
        sql: include_str!("../migrations/postgres/0005_notification_request_id.sql"),
    },
    Migration {
        version: 6,
        name: "records_waiting_approval",
        sql: include_str!("../migrations/postgres/0006_records_waiting_approval.sql"),
    },
    Migration {
        version: 7,
        name: "dashboard_lookups",
        sql: include_str!("../migrations/postgres/0007_dashboard_lookups.sql"),
    },
];

/// The migrations of `all` not among `applied` (the versions a database lists), in
/// order. A database that lists a version this binary does not know was written
/// by a newer gerbang: it is refused rather than run by older code.
pub fn pending<'a>(all: &'a [Migration], applied: &[i64]) -> Result<Vec<&'a Migration>, String> {
    let unknown: Vec<i64> = applied
        .iter()
        .copied()
        .filter(|v| !all.iter().any(|m| m.version == *v))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "the database has schema version(s) {unknown:?}, which this gerbang does not know \
             (it knows up to {}): it was upgraded by a newer gerbang; run that version",
            all.last().map_or(0, |m| m.version)
        ));
    }
    Ok(all
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_lists_what_is_missing_and_refuses_a_newer_database() {
        let all = SQLITE;
        assert_eq!(pending(all, &[]).unwrap().len(), all.len());
        let applied: Vec<i64> = all.iter().map(|m| m.version).collect();
        assert!(pending(all, &applied).unwrap().is_empty());
        assert_eq!(
            pending(all, &applied[..applied.len() - 1]).unwrap()[0].version,
            *applied.last().unwrap()
        );
        let mut newer = applied.clone();
        newer.push(applied.last().unwrap() + 1);
        assert!(pending(all, &newer).unwrap_err().contains("newer gerbang"));
    }
}
