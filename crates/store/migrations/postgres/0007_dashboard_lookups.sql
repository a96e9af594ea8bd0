-- The dashboard's transaction detail page: a transaction's journal entries, and
-- each entry's postings. Each index is written once per row inserted and never on
-- update. (Records of a kind newest first use records_by_time of 0001.)
CREATE INDEX entries_by_reference ON entries (reference);
CREATE INDEX postings_by_entry ON postings (entry_id);
-- Records of a kind (and owner) newest first, in the order the keyset pages walk
-- (creation time, then key byte by byte): read in index order, never sorted,
-- whatever the planner's statistics say. Each index replaces one of the same
-- columns without the key, so a write updates as many indexes as before.
DROP INDEX records_by_owner;
CREATE INDEX records_by_owner ON records (kind, owner, created_at, key COLLATE "C");
DROP INDEX records_by_time;
CREATE INDEX records_by_time ON records (kind, created_at, key COLLATE "C");
