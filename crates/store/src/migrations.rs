//! Schema migrations, one numbered SQL file per change and backend, embedded in
//! the binary. Each backend records the versions it applied in `schema_migrations`.

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
];
