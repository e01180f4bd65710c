-- pg_backout benchmark: does a run cost more once the database holds billing history?
-- Billing, undo, backout with undo_billing and clear of one client (10,000 accounts, 100,000 usage records
-- in 10 files) are timed in a fresh database, then again for a client of the same shape after another
-- client's 12 monthly cycles of history (10,000 accounts each: 120,000 invoices, 1,200,000 usage records),
-- side by side.  Ingest (200,000 staged records) is timed with the staging table's statistics current and
-- analyzed while empty (as autovacuum leaves it between loads).  Target: every ratio at most 1.2.
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
CREATE EXTENSION pg_backout;
-- the benchmark decides when statistics are taken
ALTER TABLE backout.usage_staging SET (autovacuum_enabled = off);
CREATE TEMP TABLE timings (phase text, step text, ms numeric);

\ir fixture_clients.sql

-- Billing, undo (keep usage), billing, backout of one file with undo_billing, billing, clear: each timed.
\echo '== fresh database: client 1'
SELECT pg_temp.bench_client(1, '2026-04-01');
SELECT pg_temp.bench_month(1, '2026-04-01');
VACUUM ANALYZE;
\set c 1
\set phase fresh
\ir history_run.sql

\echo '== 12 cycles of client 2 history (10,000 accounts, 100,000 usage records and a billing run each)'
SELECT pg_temp.bench_client(2, '2025-04-01');
SELECT clock_timestamp() AS h0 \gset
-- one month a transaction, statistics taken after each (as autovacuum would between billing runs)
SELECT format('SELECT pg_temp.bench_month(2, %L)', d::date), format('SELECT status FROM backout.run_billing(2, %L)', d::date),
       'ANALYZE'
FROM generate_series(date '2025-04-01', date '2026-03-01', interval '1 month') d \gexec
SELECT round(extract(epoch FROM clock_timestamp() - :'h0'::timestamptz)) AS history_written_in_s;
SELECT count(*) AS invoices, (SELECT count(*) FROM backout.usage_txn) AS usage_records FROM backout.invoice;

\echo '== after the history: client 3, same shape as client 1'
SELECT pg_temp.bench_client(3, '2026-04-01');
SELECT pg_temp.bench_month(3, '2026-04-01');
ANALYZE;
\set c 3
\set phase history
\ir history_run.sql

\echo
\echo 'pg_backout history benchmark (ms): fresh database vs after 12 cycles of 10,000 accounts; target ratio <= 1.2'
SELECT f.step, f.ms AS fresh_ms, h.ms AS history_ms, round(h.ms / nullif(f.ms, 0), 2) AS ratio,
       CASE WHEN h.ms <= 1.2 * f.ms THEN 'met' ELSE 'MISSED' END AS target
FROM timings f JOIN timings h ON h.step = f.step AND h.phase = 'history'
WHERE f.phase = 'fresh'
ORDER BY f.step;

-- Ingest of 200,000 staged records: statistics current vs analyzed while the table was empty.
\echo '== ingest: staging statistics current, then analyzed while empty'
SELECT pg_temp.bench_client(4, '2026-04-01'), pg_temp.bench_client(5, '2026-04-01');
INSERT INTO backout.usage_staging (client_id, file_name, acct_no, usage_type_code, usage_date, units)
SELECT 4, 'big.csv', (1 + i % 10000)::text, CASE WHEN i % 3 = 0 THEN 'DATA' ELSE 'VOICE' END,
       to_char(timestamp '2026-03-01' + (i % 2419200) * interval '1 second', 'YYYY-MM-DD HH24:MI:SS'), (1 + i % 97)::text
FROM generate_series(1, 200000) i;
ANALYZE backout.usage_staging;
SELECT clock_timestamp() AS t0 \gset
SELECT status, records_processed FROM backout.process_staged_usage_file(4, 'big.csv');
INSERT INTO timings SELECT 'ingest', 'process_staged_usage_file 200,000', pg_temp.took(:'t0');
ANALYZE backout.usage_staging;  -- now empty: the statistics say so
INSERT INTO backout.usage_staging (client_id, file_name, acct_no, usage_type_code, usage_date, units)
SELECT 5, 'big.csv', (1 + i % 10000)::text, CASE WHEN i % 3 = 0 THEN 'DATA' ELSE 'VOICE' END,
       to_char(timestamp '2026-03-01' + (i % 2419200) * interval '1 second', 'YYYY-MM-DD HH24:MI:SS'), (1 + i % 97)::text
FROM generate_series(1, 200000) i;
SELECT clock_timestamp() AS t0 \gset
SELECT status, records_processed FROM backout.process_staged_usage_file(5, 'big.csv');
INSERT INTO timings SELECT 'ingest (stale)', 'process_staged_usage_file 200,000', pg_temp.took(:'t0');

\echo
\echo 'pg_backout ingest benchmark (ms): 200,000 staged records, statistics current vs analyzed while empty; target ratio <= 1.2'
SELECT a.ms AS analyzed_ms, s.ms AS stale_empty_ms, round(s.ms / nullif(a.ms, 0), 2) AS ratio,
       CASE WHEN s.ms <= 1.2 * a.ms THEN 'met' ELSE 'MISSED' END AS target
FROM timings a, timings s WHERE a.phase = 'ingest' AND s.phase = 'ingest (stale)';
