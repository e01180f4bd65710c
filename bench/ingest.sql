-- pg_backout benchmark: ingest (staged and JSON) and a billing run on generated data.  Prints timings.
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
CREATE EXTENSION pg_backout;
\set accounts 10000
INSERT INTO backout.client (client_id, name) VALUES (1, 'Bench');
INSERT INTO backout.account SELECT 1, n, 'A-' || n FROM generate_series(1, :accounts) n;
INSERT INTO backout.billing_profile SELECT 1, n, '2026-03-01', '2026-04-01' FROM generate_series(1, :accounts) n;
INSERT INTO backout.usage_type VALUES (1, 1, 'VOICE', 'Voice', 'minute'), (1, 2, 'DATA', 'Data', 'GB');
INSERT INTO backout.price_offer (client_id, usage_type_no, acct_no, unit_price) VALUES (1, 1, NULL, 0.02), (1, 2, NULL, 1.5);
INSERT INTO backout.price_offer (client_id, usage_type_no, acct_no, unit_price)
SELECT 1, 1, n, 0.015 FROM generate_series(1, :accounts, 10) n;
INSERT INTO backout.commitment_contract
SELECT 1, n, '2026-03-01', '2026-04-01', CASE WHEN n % 4 = 0 THEN 'QUANTITY' ELSE 'AMOUNT' END,
       CASE WHEN n % 4 = 0 THEN 5000 ELSE 100 END, CASE WHEN n % 4 = 0 THEN 1 END
FROM generate_series(1, :accounts, 2) n;

-- stage one file of :n records (round-robin over accounts and types, spread over March)
\set stage 'INSERT INTO backout.usage_staging (client_id, file_name, acct_no, usage_type_code, usage_date, units) SELECT 1, :''f'', (1 + i % :accounts)::text, CASE WHEN i % 3 = 0 THEN ''DATA'' ELSE ''VOICE'' END, to_char(timestamp ''2026-03-01'' + (i % 2678400) * interval ''1 second'', ''YYYY-MM-DD HH24:MI:SS''), (1 + i % 97)::text FROM generate_series(1, :n) i'

CREATE TEMP TABLE timings (step text, records bigint, ms numeric);

\set f staged_200k.csv
\set n 200000
:stage;
SELECT clock_timestamp() AS t0 \gset
SELECT status FROM backout.process_staged_usage_file(1, :'f') \gset
INSERT INTO timings SELECT 'process_staged_usage_file, 200k records, empty table', :n, round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000);

SELECT jsonb_agg(jsonb_build_object('acct_no', 1 + i % :accounts, 'usage_type_code', 'VOICE',
                 'usage_date', to_char(timestamp '2026-03-01' + (i % 2678400) * interval '1 second', 'YYYY-MM-DD HH24:MI:SS'),
                 'units', 1 + i % 50)) AS doc
FROM generate_series(1, 50000) i \gset
SELECT clock_timestamp() AS t0 \gset
SELECT status FROM backout.process_usage_file(1, 'json_50k.json', :'doc') \gset
INSERT INTO timings SELECT 'process_usage_file (jsonb), 50k records', 50000, round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000);

-- cost per file must not grow with the table: the same 20k-record file, first and tenth time
\set n 20000
\set f f20k_01.csv
:stage;
SELECT clock_timestamp() AS t0 \gset
SELECT status FROM backout.process_staged_usage_file(1, :'f') \gset
INSERT INTO timings SELECT 'process_staged_usage_file, 20k records, table at 250k', :n, round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000);
-- files 2..9, staged and ingested the same way (a loop over files, not over records)
\o /dev/null
SELECT format('INSERT INTO backout.usage_staging (client_id, file_name, acct_no, usage_type_code, usage_date, units) '
              'SELECT 1, %L, (1 + i %% %s)::text, CASE WHEN i %% 3 = 0 THEN ''DATA'' ELSE ''VOICE'' END, '
              'to_char(timestamp ''2026-03-01'' + (i %% 2678400) * interval ''1 second'', ''YYYY-MM-DD HH24:MI:SS''), '
              '(1 + i %% 97)::text FROM generate_series(1, %s) i; '
              'SELECT status FROM backout.process_staged_usage_file(1, %L)',
              format('f20k_%s.csv', lpad(k::text, 2, '0')), :accounts, :n, format('f20k_%s.csv', lpad(k::text, 2, '0')))
FROM generate_series(2, 9) k \gexec
\o
\set f f20k_10.csv
:stage;
SELECT clock_timestamp() AS t0 \gset
SELECT status FROM backout.process_staged_usage_file(1, :'f') \gset
INSERT INTO timings SELECT 'process_staged_usage_file, 20k records, table at 430k', :n, round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000);

VACUUM ANALYZE backout.usage_txn;
SELECT clock_timestamp() AS t0 \gset
SELECT accounts_billed, records_written, status AS billing_status FROM backout.run_billing(1, '2026-04-01') \gset
INSERT INTO timings SELECT format('run_billing, %s accounts (%s records written)', :accounts_billed, :records_written),
       (SELECT count(*) FROM backout.usage_txn WHERE billing_batch_id IS NOT NULL),
       round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000);

\echo
\echo 'pg_backout benchmark (records = usage records ingested or billed)'
SELECT step, records, ms, round(records / nullif(ms, 0) * 1000) AS records_per_s FROM timings;
SELECT count(*) AS usage_rows, pg_size_pretty(pg_total_relation_size('backout.usage_txn')) AS usage_txn_size
FROM backout.usage_txn;
