-- Ledger: accounts with their running balances, append-only entries and postings, holds.
CREATE TABLE accounts (
    id              BIGSERIAL PRIMARY KEY,
    code            TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,
    currency        TEXT    NOT NULL,
    may_go_negative BOOLEAN NOT NULL,
    balance         BIGINT  NOT NULL DEFAULT 0,
    pending         BIGINT  NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL
);

CREATE TABLE entries (
    id          BIGSERIAL PRIMARY KEY,
    kind        TEXT   NOT NULL,
    reference   TEXT   NOT NULL,
    description TEXT   NOT NULL,
    currency    TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE postings (
    id            BIGSERIAL PRIMARY KEY,
    entry_id      BIGINT NOT NULL,
    account_id    BIGINT NOT NULL,
    amount        BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX postings_by_account ON postings (account_id, created_at, id);

CREATE TABLE holds (
    key        TEXT   PRIMARY KEY,
    account_id BIGINT NOT NULL,
    amount     BIGINT NOT NULL,
    currency   TEXT   NOT NULL,
    state      TEXT   NOT NULL,
    expires_at BIGINT,
    created_at BIGINT NOT NULL,
    ended_at   BIGINT,
    entry_id   BIGINT
);

CREATE TABLE idempotency (
    scope       TEXT   NOT NULL,
    key         TEXT   NOT NULL,
    fingerprint TEXT   NOT NULL,
    response    TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE records (
    kind       TEXT   NOT NULL,
    key        TEXT   NOT NULL,
    owner      TEXT   NOT NULL,
    state      TEXT   NOT NULL,
    version    BIGINT NOT NULL,
    data       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX records_by_owner ON records (kind, owner, created_at);
CREATE INDEX records_by_time ON records (kind, created_at);

CREATE TABLE notifications (
    id              BIGSERIAL PRIMARY KEY,
    protocol        TEXT    NOT NULL,
    owner           TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    lease_until     BIGINT,
    created_at      BIGINT  NOT NULL,
    delivered_at    BIGINT
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_by_owner ON notifications (owner, id);
CREATE INDEX notifications_by_source ON notifications (source, id);

CREATE TABLE notification_attempts (
    notification_id BIGINT  NOT NULL,
    attempt_no      INTEGER NOT NULL,
    at              BIGINT  NOT NULL,
    http_status     INTEGER,
    latency_ms      BIGINT  NOT NULL,
    excerpt         TEXT    NOT NULL,
    PRIMARY KEY (notification_id, attempt_no)
);

CREATE TABLE timers (
    key         TEXT    PRIMARY KEY,
    kind        TEXT    NOT NULL,
    due_at      BIGINT  NOT NULL,
    payload     TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_until BIGINT,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX timers_due ON timers (due_at);
