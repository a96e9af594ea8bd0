-- Every record write paid for this index; only the listing of all records of a kind
-- used it, which now sorts what it reads instead.
DROP INDEX records_by_time;
