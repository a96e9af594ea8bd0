-- The dashboard's transaction detail page: a transaction's journal entries, and
-- each entry's postings. Each index is written once per row inserted and never on
-- update. (Records of a kind newest first use records_by_time of 0001.)
CREATE INDEX entries_by_reference ON entries (reference);
CREATE INDEX postings_by_entry ON postings (entry_id);
