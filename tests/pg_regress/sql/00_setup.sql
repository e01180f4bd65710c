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

-- nothing is granted to PUBLIC: the schema has the default (owner-only) ACL
SELECT nspacl IS NULL AS owner_only FROM pg_namespace WHERE nspname = 'backout';
