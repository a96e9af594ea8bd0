-- Payouts waiting for approval, found without reading the others: few records
-- are in this state at once, so the index stays small and costs nothing to
-- records that never enter it.
CREATE INDEX records_waiting_approval ON records (kind, owner, key) WHERE state = 'waiting_approval';
