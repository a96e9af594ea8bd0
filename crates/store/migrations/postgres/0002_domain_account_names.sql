-- Clearing accounts are named by the domain, not by a protocol's codes: cash
-- networks and e-wallets by their names (postings and holds refer to accounts by
-- id, so only the name changes).
UPDATE accounts SET code = 'channel:cashout:alfamart' WHERE code = 'channel:cashout:alf';
UPDATE accounts SET code = 'channel:cashout:indomaret' WHERE code = 'channel:cashout:imr';
UPDATE accounts SET code = 'channel:cashout:permata' WHERE code = 'channel:cashout:C013';
UPDATE accounts SET code = 'channel:wallet:gopay' WHERE code = 'channel:wallet:gpy';
UPDATE accounts SET code = 'channel:wallet:dana' WHERE code = 'channel:wallet:dna';
UPDATE accounts SET code = 'channel:wallet:linkaja' WHERE code = 'channel:wallet:lkj';
