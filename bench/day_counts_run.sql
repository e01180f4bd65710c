-- Included by day_counts.sql with :mode (with / without) and :c (client) set: one round in database
-- bench_:mode, in a new session; the timings go to day_count_timings of database :home.
\c bench_:mode
SET client_min_messages = warning;
\ir fixture_clients.sql
SELECT pg_temp.bench_client(:c, '2026-04-01'), pg_temp.bench_month(:c, '2026-04-01') \gset
INSERT INTO backout.usage_staging (client_id, file_name, acct_no, usage_type_code, usage_date, units)
SELECT :c, 'big.csv', (1 + i % 10000)::text, CASE WHEN i % 3 = 0 THEN 'DATA' ELSE 'VOICE' END,
       to_char(timestamp '2026-03-01' + (i % 2419200) * interval '1 second', 'YYYY-MM-DD HH24:MI:SS'), (1 + i % 97)::text
FROM generate_series(1, 200000) i;
ANALYZE;
SELECT clock_timestamp() AS t0 \gset
SELECT status FROM backout.process_staged_usage_file(:c, 'big.csv') \gset
SELECT pg_temp.took(:'t0') AS ms1 \gset
ANALYZE;  -- as autovacuum would after the load: every step after it is planned on current statistics
SELECT clock_timestamp() AS t0 \gset
SELECT status FROM backout.run_billing(:c, '2026-04-01') \gset
SELECT pg_temp.took(:'t0') AS ms2 \gset
SELECT clock_timestamp() AS t0 \gset
SELECT undo_batch_id FROM backout.undo_job_schedule('2026-04-01', :c) \gset
SELECT backout.wait_for_batch(:'undo_batch_id', '1 hour') AS st \gset
SELECT pg_temp.took(:'t0') AS ms3 \gset
SELECT clock_timestamp() AS t0 \gset
SELECT error_code FROM backout.discard_usage(:c, usage_record_no => (
    SELECT array_agg(txn_id) FROM (SELECT txn_id FROM backout.usage_txn WHERE client_id = :c ORDER BY txn_id LIMIT 10000) t)) \gset
SELECT pg_temp.took(:'t0') AS ms4 \gset
SELECT clock_timestamp() AS t0 \gset
SELECT backout_batch_id FROM backout.backout_usage_file_transactions('202604_5.csv', :c, 'bench') \gset
SELECT backout.wait_for_batch(:'backout_batch_id', '1 hour') AS st \gset
SELECT pg_temp.took(:'t0') AS ms5 \gset
\c :home
INSERT INTO day_count_timings VALUES
    (:'mode', :c, '1 ingest 200,000 staged records', :ms1),
    (:'mode', :c, '2 run_billing (300,000 records)', :ms2),
    (:'mode', :c, '3 undo_job_schedule', :ms3),
    (:'mode', :c, '4 discard_usage 10,000 records', :ms4),
    (:'mode', :c, '5 backout 1 file (10,000 records)', :ms5);
