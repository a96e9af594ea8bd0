-- Disbursements written before the payout domain knew no protocol take its shape:
-- the requester (face and principal) and funding account, one payee (bank
-- account, e-wallet or cash code), a failure reason and the channel's own answer
-- instead of SendMe's bank_response fields. Cash codes point at what they settle.
-- References move to their face's and requester's scope. Only rows in the old
-- shape are touched, so running this on a new database changes nothing.
UPDATE records SET data = (
    SELECT jsonb_build_object(
        'id', d ->> 'id',
        'requester', jsonb_build_object('face', d ->> 'origin', 'principal', d ->> 'partner_va'),
        'funding_account', 'partner:' || (d ->> 'partner_va'),
        'reference', d ->> 'reference',
        'gateway_reference', d ->> 'gateway_reference',
        'payee', CASE
            WHEN jsonb_typeof(d -> 'cashout') = 'object' THEN jsonb_build_object('cash_code',
                jsonb_build_object(
                    'network', d -> 'cashout' ->> 'network',
                    'phone', d -> 'cashout' ->> 'phone',
                    'holder', d ->> 'account_name',
                    'code', d -> 'cashout' -> 'code',
                    'expires_at', d -> 'cashout' -> 'expires_at',
                    'lifetime_seconds', d -> 'cashout' -> 'lifetime_seconds',
                    'payment', d -> 'cashout' -> 'payment',
                    'advised_at', d -> 'cashout' -> 'advised_at',
                    'reversed_at', d -> 'cashout' -> 'reversed_at'))
            ELSE jsonb_build_object(
                CASE WHEN lower(d ->> 'bank_code') IN ('ovo', 'gpy', 'dna', 'lkj')
                     THEN 'e_wallet' ELSE 'bank_account' END,
                jsonb_build_object(
                    'channel', d ->> 'bank_code',
                    'channel_name', d ->> 'bank_name',
                    'account', d ->> 'account',
                    'holder', d ->> 'account_name',
                    'beneficiary', d ->> 'beneficiary_va'))
        END,
        'amount_minor', d -> 'amount_minor',
        'description', d ->> 'description',
        'notice_url', d ->> 'callback_url',
        'request', d -> 'request',
        'status', d ->> 'status',
        'failure', CASE
            WHEN d ->> 'status' <> 'failed' THEN NULL
            WHEN jsonb_typeof(d -> 'cashout') = 'object' AND d ->> 'bank_response_code' = '54'
                THEN 'code_expired'
            WHEN d ->> 'bank_response_message' = 'Rejected by the approver' THEN 'rejected'
            ELSE 'declined'
        END,
        'channel_answer', CASE
            WHEN jsonb_typeof(d -> 'cashout') = 'object' OR d ->> 'bank_response_code' IS NULL
                THEN NULL
            ELSE jsonb_build_object(
                'code', d ->> 'bank_response_code',
                'message', coalesce(d ->> 'bank_response_message', ''))
        END,
        'channel_attempts', d -> 'bank_attempts',
        'created_at', d -> 'created_at',
        'dispatch_at', d -> 'dispatch_at',
        'status_at', d -> 'status_at'
    )::text
    FROM (SELECT data::jsonb AS d) AS old
)
WHERE kind = 'disbursement' AND data::jsonb ? 'partner_va';

UPDATE records SET data = jsonb_build_object(
    'subject', jsonb_build_object('payout', data::jsonb ->> 'id'),
    'network', data::jsonb ->> 'network'
)::text
WHERE kind = 'cashout.code' AND data::jsonb ? 'id';

UPDATE idempotency SET scope = 'payout:sendme:' || substr(scope, 14)
WHERE scope LIKE 'disbursement:%';
