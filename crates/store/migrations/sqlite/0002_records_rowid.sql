-- Records carry JSON documents of a kilobyte or more: a rowid table keeps them on
-- their own leaf pages instead of spilling them to overflow pages of an index.
CREATE TABLE records_rowid (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    owner      TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    data       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (kind, key)
);
INSERT INTO records_rowid (kind, key, owner, state, version, data, created_at, updated_at)
    SELECT kind, key, owner, state, version, data, created_at, updated_at FROM records;
DROP TABLE records;
ALTER TABLE records_rowid RENAME TO records;
CREATE INDEX records_by_owner ON records (kind, owner, created_at);
CREATE INDEX records_by_time ON records (kind, created_at);
