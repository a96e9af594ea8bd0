-- The dashboard's transaction list and detail page. Each index is written once
-- per row inserted and never on update (none of its columns change):
-- records of a kind newest first, across owners;
CREATE INDEX records_by_time ON records (kind, created_at);
-- a transaction's journal entries, and each entry's postings.
CREATE INDEX entries_by_reference ON entries (reference);
CREATE INDEX postings_by_entry ON postings (entry_id);
