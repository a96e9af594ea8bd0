-- Ledger: accounts with their running balances, append-only entries and postings, holds.
CREATE TABLE accounts (
    id              INTEGER PRIMARY KEY,
    code            TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,
    currency        TEXT    NOT NULL,
    may_go_negative INTEGER NOT NULL,
    balance         INTEGER NOT NULL DEFAULT 0,
    pending         INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);

CREATE TABLE entries (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,
    reference   TEXT    NOT NULL,
    description TEXT    NOT NULL,
    currency    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE postings (
    id            INTEGER PRIMARY KEY,
    entry_id      INTEGER NOT NULL,
    account_id    INTEGER NOT NULL,
    amount        INTEGER NOT NULL,
    balance_after INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX postings_by_account ON postings (account_id, created_at, id);

CREATE TABLE holds (
    key        TEXT    PRIMARY KEY,
    account_id INTEGER NOT NULL,
    amount     INTEGER NOT NULL,
    currency   TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    expires_at INTEGER,
    created_at INTEGER NOT NULL,
    ended_at   INTEGER,
    entry_id   INTEGER
) WITHOUT ROWID;

-- Remembered answers to externally supplied references.
CREATE TABLE idempotency (
    scope       TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    response    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;

-- Workflow instances, principals and settings.
CREATE TABLE records (
    kind       TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    owner      TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    data       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE INDEX records_by_owner ON records (kind, owner, created_at);
CREATE INDEX records_by_time ON records (kind, created_at);

-- Outbox of signed notifications and every delivery attempt.
CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    protocol        TEXT    NOT NULL,
    owner           TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_by_owner ON notifications (owner, id);
CREATE INDEX notifications_by_source ON notifications (source, id);

CREATE TABLE notification_attempts (
    notification_id INTEGER NOT NULL,
    attempt_no      INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    http_status     INTEGER,
    latency_ms      INTEGER NOT NULL,
    excerpt         TEXT    NOT NULL,
    PRIMARY KEY (notification_id, attempt_no)
) WITHOUT ROWID;

-- Durable timers: run this step at that instant.
CREATE TABLE timers (
    key         TEXT    PRIMARY KEY,
    kind        TEXT    NOT NULL,
    due_at      INTEGER NOT NULL,
    payload     TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_until INTEGER,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX timers_due ON timers (due_at);
