-- The extension installs into schema "backout" with the fixed names of SPEC §2.
CREATE EXTENSION pg_backout;
SELECT extname, extnamespace::regnamespace AS schema FROM pg_extension WHERE extname = 'pg_backout';

-- Every fixed table/column of SPEC §2 exists (lists what is missing: expect no rows).
SELECT t.table_name, t.column_name
FROM (VALUES
    ('client', '{client_id,name,retain_voided_usage}'),
    ('account', '{client_id,acct_no,client_acct_id}'),
    ('billing_profile', '{client_id,acct_no,last_bill_date,next_bill_date}'),
    ('usage_type', '{client_id,usage_type_no,usage_type_code,name,unit}'),
    ('price_offer', '{client_id,usage_type_no,acct_no,unit_price}'),
    ('commitment_contract', '{client_id,acct_no,period_start,period_end,kind,commitment_value,usage_type_no}'),
    ('commitment_balance', '{client_id,acct_no,period_start,consumed_amount,consumed_units}'),
    ('usage_file', '{client_id,file_name}'),
    ('usage_txn', '{client_id,txn_id,acct_no,usage_type_no,usage_date,units,unit_price,amount,file_name,client_record_id,qualifier_1,qualifier_2,qualifier_3,qualifier_4,reference_id,sequence_id,billing_batch_id,is_excluded,exclude_reason_cd,exclusion_comment}'),
    ('billing_batch', '{client_id,billing_batch_id,billing_date,status}'),
    ('billing_record', '{client_id,billing_batch_id,acct_no,record_type,amount,period_start,period_end}'),
    ('job_schedule', '{client_id,job_schedule_id,schedule_date,job_type,status}'),
    ('job_schedule_item', '{client_id}'),
    ('job_schedule_list', '{client_id}'),
    ('undo_batch', '{client_id,undo_batch_id,status}'),
    ('backout_batch', '{client_id,backout_batch_id,status}')
) AS want(table_name, columns),
LATERAL unnest(want.columns::text[]) AS t0(column_name),
LATERAL (SELECT want.table_name, t0.column_name) AS t
WHERE NOT EXISTS (SELECT FROM information_schema.columns c
                  WHERE c.table_schema = 'backout' AND c.table_name = t.table_name AND c.column_name = t.column_name);

-- Fixed column types that users rely on.
SELECT table_name, column_name, data_type
FROM information_schema.columns
WHERE table_schema = 'backout'
  AND (table_name, column_name) IN (('usage_txn', 'txn_id'), ('usage_txn', 'usage_date'), ('usage_txn', 'units'),
                                    ('job_schedule', 'schedule_date'), ('billing_batch', 'billing_date'),
                                    ('client', 'retain_voided_usage'))
ORDER BY 1, 2;

-- Every primary key and unique constraint leads with client_id.
SELECT conrelid::regclass AS tbl, conname
FROM pg_constraint
WHERE connamespace = 'backout'::regnamespace AND contype IN ('p', 'u')
  AND (SELECT attname FROM pg_attribute WHERE attrelid = conrelid AND attnum = conkey[1]) <> 'client_id';

-- nothing is granted to PUBLIC on the schema (07_privileges checks every object)
SELECT count(*) AS public_grants FROM pg_namespace, aclexplode(nspacl) WHERE nspname = 'backout' AND grantee = 0;

-- Helpers shared by the operation suites (04_undo, 06_backout): a schema of their own, kept for the run.
CREATE SCHEMA regress;
-- An error's message with batch ids masked (they are random).
CREATE FUNCTION regress.error_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN regexp_replace(SQLERRM, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g');
END $$;

-- A client's billing state, in a form comparable across clients: output lines, balances, pointers, usage.
CREATE FUNCTION regress.billing_state(p_client bigint)
RETURNS TABLE (what text, acct_no bigint, k1 text, k2 text, v1 numeric, v2 numeric, v3 numeric)
LANGUAGE sql AS $$
    SELECT 'record', r.acct_no, r.record_type || ':' || coalesce(r.usage_type_no::text, '-'),
           r.period_start || '..' || r.period_end || ' ' || coalesce(r.commitment_kind || ' ' || r.commitment_value, ''),
           r.units, r.amount, r.consumed
    FROM backout.billing_record r JOIN backout.billing_batch b USING (client_id, billing_batch_id)
    WHERE r.client_id = p_client AND b.status = 'COMPLETED'
    UNION ALL
    SELECT 'balance', acct_no, period_start::text, (true_up_batch_id IS NOT NULL)::text,
           consumed_amount, consumed_units, true_up_amount
    FROM backout.commitment_balance WHERE client_id = p_client
    UNION ALL
    SELECT 'pointers', acct_no, last_bill_date::text, next_bill_date::text, NULL, NULL, NULL
    FROM backout.billing_profile WHERE client_id = p_client
    UNION ALL
    SELECT 'usage', acct_no, file_name || '/' || record_key, (billing_batch_id IS NOT NULL)::text, units, unit_price, amount
    FROM backout.usage_txn WHERE client_id = p_client
    UNION ALL
    SELECT 'file', NULL, file_name, NULL, records_processed, total_units, total_amount
    FROM backout.usage_file WHERE client_id = p_client
$$;
-- Rows of one client's state missing from the other's (expect none).
CREATE FUNCTION regress.state_diff(a bigint, b bigint) RETURNS TABLE (side text, what text, acct_no bigint, k1 text, k2 text,
                                                                     v1 numeric, v2 numeric, v3 numeric)
LANGUAGE sql AS $$
    (SELECT 'only in ' || a, * FROM regress.billing_state(a) EXCEPT ALL SELECT 'only in ' || a, * FROM regress.billing_state(b))
    UNION ALL
    (SELECT 'only in ' || b, * FROM regress.billing_state(b) EXCEPT ALL SELECT 'only in ' || b, * FROM regress.billing_state(a))
$$;
-- Same accounts, prices, contracts for a client (prices and commitments given).
CREATE FUNCTION regress.make_client(p_client bigint, call_price numeric, amount_commitment numeric) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO backout.client (client_id, name) VALUES (p_client, 'Undo client ' || p_client);
    INSERT INTO backout.account VALUES (p_client, 1, 'AMOUNT'), (p_client, 2, 'QUANTITY'), (p_client, 3, 'PLAIN');
    INSERT INTO backout.billing_profile VALUES (p_client, 1, '2026-03-01', '2026-04-01'),
        (p_client, 2, '2026-03-01', '2026-04-01'), (p_client, 3, '2026-03-01', '2026-04-01');
    INSERT INTO backout.usage_type VALUES (p_client, 10, 'CALL', 'Call minutes', 'minute'), (p_client, 20, 'SMS', 'Texts', 'message');
    INSERT INTO backout.price_offer (client_id, usage_type_no, acct_no, unit_price) VALUES
        (p_client, 10, NULL, call_price), (p_client, 20, NULL, 0.05);
    INSERT INTO backout.commitment_contract VALUES
        (p_client, 1, '2026-03-01', '2026-04-01', 'AMOUNT', amount_commitment, NULL),
        (p_client, 2, '2026-03-01', '2026-04-01', 'QUANTITY', 500, 10),
        (p_client, 1, '2026-04-01', '2026-05-01', 'AMOUNT', amount_commitment, NULL);
$$;
CREATE FUNCTION regress.march_file() RETURNS jsonb LANGUAGE sql AS $$ SELECT '[
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-10 10:00:00", "units": 100},
  {"acct_no": 1, "usage_type_code": "SMS",  "usage_date": "2026-03-11 10:00:00", "units": 10},
  {"acct_no": 2, "usage_type_code": "CALL", "usage_date": "2026-03-12 10:00:00", "units": 300},
  {"acct_no": 3, "usage_type_code": "CALL", "usage_date": "2026-03-13 10:00:00", "units": 50}]'::jsonb $$;
CREATE FUNCTION regress.late_file() RETURNS jsonb LANGUAGE sql AS $$ SELECT '[
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-30 10:00:00", "units": 200},
  {"acct_no": 2, "usage_type_code": "CALL", "usage_date": "2026-03-31 10:00:00", "units": 150},
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-04-02 10:00:00", "units": 7}]'::jsonb $$;

