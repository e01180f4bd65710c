-- Bad input: each case gets a specific error naming the offending record, and the whole file is
-- rejected atomically (nothing ingested, no stats row, balances untouched).
SET datestyle = 'ISO, YMD';
INSERT INTO backout.client (client_id, name) VALUES (3001, 'Bad Input Co');
INSERT INTO backout.account VALUES (3001, 1, 'B-1'), (3001, 2, 'B-2');
INSERT INTO backout.usage_type VALUES (3001, 10, 'CALL', 'Call minutes', 'minute'), (3001, 30, 'DATA', 'Data', 'MB');
INSERT INTO backout.price_offer (client_id, usage_type_no, unit_price) VALUES (3001, 10, 0.10);
INSERT INTO backout.commitment_contract VALUES (3001, 1, '2026-03-01', '2026-04-01', 'AMOUNT', 10, NULL);
SELECT * FROM backout.process_usage_file(3001, 'good.json',
  '[{"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-01 00:00:00", "units": 10}]');

CREATE TEMP TABLE before AS
SELECT (SELECT count(*) FROM backout.usage_txn) AS usage_rows,
       (SELECT count(*) FROM backout.usage_file) AS files,
       (SELECT sum(consumed_amount) FROM backout.commitment_balance) AS consumed;

-- helper: every call below uses a fresh file name and the same valid first record, so that each error is
-- about the second record
CREATE TEMP TABLE cases (n int, second_record jsonb);
INSERT INTO cases VALUES
 (1, '{"acct_no": 99, "usage_type_code": "CALL", "usage_date": "2026-03-02 00:00:00", "units": 1}'),
 (2, '{"client_acct_id": "NOPE", "usage_type_code": "CALL", "usage_date": "2026-03-02 00:00:00", "units": 1}'),
 (3, '{"acct_no": 1, "client_acct_id": "B-2", "usage_type_code": "CALL", "usage_date": "2026-03-02 00:00:00", "units": 1}'),
 (4, '{"acct_no": "1x", "usage_type_code": "CALL", "usage_date": "2026-03-02 00:00:00", "units": 1}'),
 (5, '{"acct_no": 1, "usage_type_code": "FAX", "usage_date": "2026-03-02 00:00:00", "units": 1}'),
 (6, '{"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-02 00:00:00", "units": -5}'),
 (7, '{"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-02 00:00:00", "units": "ten"}'),
 (8, '{"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-02 00:00:00", "units": true}'),
 (9, '{"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-02-30 00:00:00", "units": 1}'),
 (10, '{"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-02", "units": 1}'),
 (11, '{"acct_no": 1, "usage_type_code": "CALL", "usage_date": "03/02/2026 10:00:00", "units": 1}'),
 (12, '{"usage_type_code": "CALL", "usage_date": "2026-03-02 00:00:00", "units": 1}'),
 (13, '{"acct_no": 1, "usage_date": "2026-03-02 00:00:00", "units": 1}'),
 (14, '{"acct_no": 1, "usage_type_code": "CALL", "units": 1}'),
 (15, '{"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-02 00:00:00"}'),
 (16, '{"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-02 00:00:00", "units": 1, "unit": 1}'),
 (17, '"just a string"'),
 (18, '[1, 2]'),
 (19, '{"acct_no": 1, "usage_type_code": "DATA", "usage_date": "2026-03-02 00:00:00", "units": 1}'),
 (20, '{"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-02 00:00:00", "units": 1, "record_id": "1"}'),
 (21, '{"acct_no": null, "usage_type_code": "CALL", "usage_date": "2026-03-02 00:00:00", "units": 1}');
SELECT c.n, r.status, r.error_code, r.error_message, r.records_processed
FROM cases c,
LATERAL backout.process_usage_file(3001, 'bad_' || c.n || '.json',
    jsonb_build_array('{"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-02 00:00:00", "units": 1}'::jsonb,
                      c.second_record)) AS r
ORDER BY c.n;

-- several invalid records: the first is named, and the count is given
SELECT status, error_message FROM backout.process_usage_file(3001, 'many.json', '[
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-02 00:00:00", "units": 1},
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "bad", "units": 1},
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-02 00:00:00", "units": -1, "record_id": "r-3"},
  {"acct_no": 7, "usage_type_code": "CALL", "usage_date": "2026-03-02 00:00:00", "units": 1}]');

-- records that are not an array, empty, or NULL
SELECT status, error_code, error_message FROM backout.process_usage_file(3001, 'obj.json', '{"acct_no": 1}');
SELECT status, error_code, error_message FROM backout.process_usage_file(3001, 'num.json', '42');
SELECT status, error_code, error_message FROM backout.process_usage_file(3001, 'empty.json', '[]');
SELECT status, error_code, error_message FROM backout.process_usage_file(3001, 'null.json', NULL);
SELECT status, error_code, error_message FROM backout.process_usage_file(3001, 'jnull.json', 'null');

-- NULL and malformed arguments, unknown client
SELECT status, error_code, error_message FROM backout.process_usage_file(NULL, 'x.json',
  '[{"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-02 00:00:00", "units": 1}]');
SELECT status, error_code, error_message FROM backout.process_usage_file(3001, NULL,
  '[{"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-02 00:00:00", "units": 1}]');
SELECT status, error_code, error_message FROM backout.process_usage_file(424242, 'x.json',
  '[{"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-02 00:00:00", "units": 1}]');
SELECT f.name, r.status, r.error_message
FROM (VALUES (''), ('in/dir.json'), ('a,b.json'), (' lead.json'), ('trail.json ')) AS f(name),
LATERAL backout.process_usage_file(3001, f.name,
  '[{"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-02 00:00:00", "units": 1}]') AS r;

-- the staged path: nothing staged, and a bad staged row (kept for correction)
SELECT status, error_message FROM backout.process_staged_usage_file(3001, 'nothing.csv');
INSERT INTO backout.usage_staging (client_id, file_name, acct_no, usage_type_code, usage_date, units) VALUES
    (3001, 'bad.csv', '1', 'CALL', '2026-03-02 00:00:00', '1'),
    (3001, 'bad.csv', '1', 'CALL', '2026-03-02 00:00:00', '1e'),
    (3001, 'bad.csv', '2', 'CALL', '2026-03-02 25:00:00', '1');
SELECT status, error_message FROM backout.process_staged_usage_file(3001, 'bad.csv');
SELECT count(*) AS still_staged FROM backout.usage_staging WHERE client_id = 3001;
-- nothing of the rejected files reached the tables
SELECT (SELECT count(*) FROM backout.usage_txn) - b.usage_rows AS new_usage_rows,
       (SELECT count(*) FROM backout.usage_file) - b.files AS new_files,
       (SELECT sum(consumed_amount) FROM backout.commitment_balance) - b.consumed AS new_consumption
FROM before b;

-- corrected in place, the file goes in
UPDATE backout.usage_staging SET units = '1e1' WHERE client_id = 3001 AND units = '1e';
UPDATE backout.usage_staging SET usage_date = '2026-03-02 23:00:00' WHERE client_id = 3001 AND acct_no = '2';
SELECT file_name, records_processed, status, total_amount FROM backout.process_staged_usage_file(3001, 'bad.csv');

-- constraints guard the master data too
\set VERBOSITY terse
INSERT INTO backout.commitment_contract VALUES (3001, 1, '2026-03-15', '2026-04-15', 'AMOUNT', 10, NULL);
INSERT INTO backout.commitment_contract VALUES (3001, 2, '2026-03-01', '2026-04-01', 'QUANTITY', 10, NULL);
INSERT INTO backout.commitment_contract VALUES (3001, 2, '2026-03-01', '2026-04-01', 'VOLUME', 10, NULL);
INSERT INTO backout.price_offer (client_id, usage_type_no, unit_price) VALUES (3001, 10, -1);
INSERT INTO backout.price_offer (client_id, usage_type_no, unit_price) VALUES (3001, 10, 0.2);
INSERT INTO backout.billing_profile VALUES (3001, 1, '2026-04-01', '2026-03-01');
INSERT INTO backout.account VALUES (3001, 3, 'B-1');
