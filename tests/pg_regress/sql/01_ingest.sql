-- Usage ingest: resolution of accounts and usage types, rating with the price in force, commitment
-- balances, duplicate files, record-level idempotency, and the bulk (staged) path.
SET datestyle = 'ISO, YMD';
INSERT INTO backout.client (client_id, name) VALUES (2001, 'Ingest Co');
INSERT INTO backout.account VALUES (2001, 1, 'ACME-1'), (2001, 2, 'ACME-2'), (2001, 3, 'ACME-3');
INSERT INTO backout.usage_type VALUES (2001, 10, 'CALL', 'Call minutes', 'minute'),
                                      (2001, 20, 'SMS', 'Text messages', 'message');
-- standard CALL 0.10 (0.12 from April), custom CALL 0.07 for account 2, standard SMS 0.05
INSERT INTO backout.price_offer (client_id, usage_type_no, acct_no, unit_price, effective_from) VALUES
    (2001, 10, NULL, 0.10, '-infinity'), (2001, 10, NULL, 0.12, '2026-04-01'),
    (2001, 10, 2, 0.07, '-infinity'), (2001, 20, NULL, 0.05, '-infinity');
INSERT INTO backout.commitment_contract VALUES
    (2001, 1, '2026-03-01', '2026-04-01', 'AMOUNT', 50, NULL),
    (2001, 2, '2026-03-01', '2026-04-01', 'QUANTITY', 1000, 10);

SELECT * FROM backout.process_usage_file(2001, 'cdr_2026_03_a.json', '[
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-05 10:00:00", "units": 100, "client_record_id": "c-1"},
  {"client_acct_id": "ACME-2", "usage_type_code": "CALL", "usage_date": "2026-03-06 11:30:00", "units": 300},
  {"acct_no": "2", "client_acct_id": "ACME-2", "usage_type_code": "SMS", "usage_date": "2026-03-07 12:00:00", "units": "40"},
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-04-02 09:00:00", "units": 10, "record_id": "late-1",
   "qualifier_1": "from:+1555", "qualifier_4": "q4"}
]');

-- rated with the price in force on the usage date; custom beats standard
SELECT acct_no, usage_type_no, usage_date, units, unit_price, amount, record_key, client_record_id, qualifier_1,
       qualifier_4, billing_batch_id, is_excluded
FROM backout.usage_txn WHERE client_id = 2001 ORDER BY txn_id;

-- balances per commitment period; the QUANTITY commitment counts its own usage type only; April usage has
-- no contract and no bucket
SELECT acct_no, period_start, consumed_amount, consumed_units, true_up_amount
FROM backout.commitment_balance WHERE client_id = 2001 ORDER BY acct_no;

SELECT file_name, records_received, records_processed, records_skipped, total_units, total_amount
FROM backout.usage_file WHERE client_id = 2001;

-- the same file name again is rejected while it is present, and nothing changes
SELECT file_name, records_processed, status, error_code,
       regexp_replace(error_message, '\d{4}-\d\d-\d\d \d\d:\d\d:\d\d', '<processed_at>') AS error_message
FROM backout.process_usage_file(2001, 'cdr_2026_03_a.json',
  '[{"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-08 10:00:00", "units": 1}]');
SELECT count(*) AS usage_rows FROM backout.usage_txn WHERE client_id = 2001;
-- names are exact and case-sensitive: another case is another file
SELECT file_name, records_processed, status FROM backout.process_usage_file(2001, 'CDR_2026_03_A.json',
  '[{"acct_no": 3, "usage_type_code": "SMS", "usage_date": "2026-03-08 10:00:00", "units": 2}]');

-- the same file of another client is not a duplicate
INSERT INTO backout.client (client_id, name) VALUES (2002, 'Other Co');
INSERT INTO backout.account VALUES (2002, 1, 'ACME-1');
INSERT INTO backout.usage_type VALUES (2002, 10, 'CALL', 'Call minutes', 'minute');
INSERT INTO backout.price_offer (client_id, usage_type_no, unit_price) VALUES (2002, 10, 1);
SELECT file_name, records_processed, status, client_id FROM backout.process_usage_file(2002, 'cdr_2026_03_a.json',
  '[{"client_acct_id": "ACME-1", "usage_type_code": "CALL", "usage_date": "2026-03-05 10:00:00", "units": 5}]');

-- record-level idempotency: with the stats row gone (as after an undo that discards billed usage) and two
-- records removed, re-processing the file adds only the missing records
DELETE FROM backout.usage_txn WHERE client_id = 2001 AND file_name = 'cdr_2026_03_a.json' AND record_key IN ('1', '3');
UPDATE backout.commitment_balance SET consumed_amount = consumed_amount - 10, consumed_units = consumed_units - 100
 WHERE client_id = 2001 AND acct_no = 1;  -- record 1 counted there; record 3 (SMS) not in account 2's CALL commitment
DELETE FROM backout.usage_file WHERE client_id = 2001 AND file_name = 'cdr_2026_03_a.json';
SELECT file_name, records_processed, records_skipped, status FROM backout.process_usage_file(2001, 'cdr_2026_03_a.json', '[
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-05 10:00:00", "units": 100, "client_record_id": "c-1"},
  {"client_acct_id": "ACME-2", "usage_type_code": "CALL", "usage_date": "2026-03-06 11:30:00", "units": 300},
  {"acct_no": "2", "client_acct_id": "ACME-2", "usage_type_code": "SMS", "usage_date": "2026-03-07 12:00:00", "units": "40"},
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-04-02 09:00:00", "units": 10, "record_id": "late-1"}
]');
SELECT record_key, acct_no, units FROM backout.usage_txn
WHERE client_id = 2001 AND file_name = 'cdr_2026_03_a.json' ORDER BY record_key;

-- bulk path: COPY into the staging table, then one call
COPY backout.usage_staging (client_id, file_name, acct_no, client_acct_id, usage_type_code, usage_date, units, client_record_id) FROM stdin WITH (FORMAT csv);
2001,bulk_2026_03.csv,3,,CALL,2026-03-10 08:00:00,12.5,b-1
2001,bulk_2026_03.csv,,ACME-1,SMS,2026-03-10 08:01:00,3,b-2
2001,bulk_2026_03.csv,2,,CALL,2026-03-10 08:02:00,0,b-3
2002,bulk_2026_03.csv,1,,CALL,2026-03-10 08:02:00,7,x-1
\.
SELECT * FROM backout.process_staged_usage_file(2001, 'bulk_2026_03.csv');
SELECT record_key, acct_no, usage_type_no, units, amount, client_record_id FROM backout.usage_txn
WHERE client_id = 2001 AND file_name = 'bulk_2026_03.csv' ORDER BY record_key;
-- staged rows of the file are gone; other clients' rows stay
SELECT client_id, file_name, count(*) FROM backout.usage_staging GROUP BY 1, 2 ORDER BY 1;
-- the staged path rejects duplicates too
INSERT INTO backout.usage_staging (client_id, file_name, acct_no, usage_type_code, usage_date, units)
VALUES (2001, 'bulk_2026_03.csv', '3', 'CALL', '2026-03-11 08:00:00', '1');
SELECT file_name, records_processed, status, error_code FROM backout.process_staged_usage_file(2001, 'bulk_2026_03.csv');
DELETE FROM backout.usage_staging WHERE client_id = 2001;

SELECT acct_no, period_start, consumed_amount, consumed_units
FROM backout.commitment_balance WHERE client_id = 2001 ORDER BY acct_no;

-- the price rule on its own: custom beats standard even when the standard one is newer
SELECT d.acct_no, d.day, p.unit_price
FROM (VALUES (1::bigint, '2026-03-31'::date), (1, '2026-04-01'), (2, '2026-04-15'), (3, '2026-04-15')) AS d(acct_no, day),
LATERAL backout.price_offer_in_force(2001, d.acct_no, 10, d.day) AS p
ORDER BY 1, 2;
