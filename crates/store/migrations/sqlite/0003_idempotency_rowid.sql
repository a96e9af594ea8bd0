-- Partners' references arrive in no particular order: keyed by them, every new
-- idempotency row landed on a leaf page of its own and each commit rewrote dozens
-- of half-full pages. In a rowid table new rows are appended to the last page; only
-- the narrow (scope, key) index is written at scattered places.
CREATE TABLE idempotency_rowid (
    id          INTEGER PRIMARY KEY,
    scope       TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    response    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (scope, key)
);
INSERT INTO idempotency_rowid (scope, key, fingerprint, response, created_at)
    SELECT scope, key, fingerprint, response, created_at FROM idempotency ORDER BY created_at;
DROP TABLE idempotency;
ALTER TABLE idempotency_rowid RENAME TO idempotency;
