-- Disbursements written before the payout domain knew no protocol take its shape:
-- the requester (face and principal) and funding account, one payee (bank
-- account, e-wallet or cash code), a failure reason and the channel's own answer
-- instead of SendMe's bank_response fields. Cash codes point at what they settle.
-- References move to their face's and requester's scope. Only rows in the old
-- shape are touched, so running this on a new database changes nothing.
UPDATE records SET data = json_object(
    'id', data ->> '$.id',
    'requester', json_object('face', data ->> '$.origin', 'principal', data ->> '$.partner_va'),
    'funding_account', 'partner:' || (data ->> '$.partner_va'),
    'reference', data ->> '$.reference',
    'gateway_reference', data ->> '$.gateway_reference',
    'payee', json(CASE
        WHEN json_type(data, '$.cashout') = 'object' THEN json_object('cash_code', json_object(
            'network', data ->> '$.cashout.network',
            'phone', data ->> '$.cashout.phone',
            'holder', data ->> '$.account_name',
            'code', json(data -> '$.cashout.code'),
            'expires_at', json(data -> '$.cashout.expires_at'),
            'lifetime_seconds', json(data -> '$.cashout.lifetime_seconds'),
            'payment', json(data -> '$.cashout.payment'),
            'advised_at', json(data -> '$.cashout.advised_at'),
            'reversed_at', json(data -> '$.cashout.reversed_at')))
        ELSE json_object(
            CASE WHEN lower(data ->> '$.bank_code') IN ('ovo', 'gpy', 'dna', 'lkj')
                 THEN 'e_wallet' ELSE 'bank_account' END,
            json_object(
                'channel', data ->> '$.bank_code',
                'channel_name', data ->> '$.bank_name',
                'account', data ->> '$.account',
                'holder', data ->> '$.account_name',
                'beneficiary', data ->> '$.beneficiary_va'))
    END),
    'amount_minor', json(data -> '$.amount_minor'),
    'description', data ->> '$.description',
    'notice_url', data ->> '$.callback_url',
    'request', json(data -> '$.request'),
    'status', data ->> '$.status',
    'failure', CASE
        WHEN data ->> '$.status' <> 'failed' THEN NULL
        WHEN json_type(data, '$.cashout') = 'object' AND data ->> '$.bank_response_code' = '54'
            THEN 'code_expired'
        WHEN data ->> '$.bank_response_message' = 'Rejected by the approver' THEN 'rejected'
        ELSE 'declined'
    END,
    'channel_answer', json(CASE
        WHEN json_type(data, '$.cashout') = 'object' OR data ->> '$.bank_response_code' IS NULL
            THEN NULL
        ELSE json_object(
            'code', data ->> '$.bank_response_code',
            'message', coalesce(data ->> '$.bank_response_message', ''))
    END),
    'channel_attempts', json(data -> '$.bank_attempts'),
    'created_at', json(data -> '$.created_at'),
    'dispatch_at', json(data -> '$.dispatch_at'),
    'status_at', json(data -> '$.status_at')
)
WHERE kind = 'disbursement' AND json_type(data, '$.partner_va') IS NOT NULL;

UPDATE records SET data = json_object(
    'subject', json_object('payout', data ->> '$.id'),
    'network', data ->> '$.network'
)
WHERE kind = 'cashout.code' AND json_type(data, '$.id') IS NOT NULL;

UPDATE idempotency SET scope = 'payout:sendme:' || substr(scope, 14)
WHERE scope LIKE 'disbursement:%';
