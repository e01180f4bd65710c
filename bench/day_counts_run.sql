-- Included by day_counts.sql with :c (client) and :mode set: each step timed into timings.
SELECT pg_temp.count_triggers(:'mode'), pg_temp.bench_client(:c, '2026-04-01'), pg_temp.bench_month(:c, '2026-04-01') \gset
INSERT INTO backout.usage_staging (client_id, file_name, acct_no, usage_type_code, usage_date, units)
SELECT :c, 'big.csv', (1 + i % 10000)::text, CASE WHEN i % 3 = 0 THEN 'DATA' ELSE 'VOICE' END,
       to_char(timestamp '2026-03-01' + (i % 2419200) * interval '1 second', 'YYYY-MM-DD HH24:MI:SS'), (1 + i % 97)::text
FROM generate_series(1, 200000) i;
ANALYZE;
SELECT clock_timestamp() AS t0 \gset
SELECT status FROM backout.process_staged_usage_file(:c, 'big.csv') \gset
INSERT INTO timings SELECT :'mode', '1 ingest 200,000 staged records', pg_temp.took(:'t0');
ANALYZE;  -- as autovacuum would after the load: every step after it is planned on current statistics
SELECT clock_timestamp() AS t0 \gset
SELECT status FROM backout.run_billing(:c, '2026-04-01') \gset
INSERT INTO timings SELECT :'mode', '2 run_billing (300,000 records)', pg_temp.took(:'t0');
SELECT clock_timestamp() AS t0 \gset
SELECT undo_batch_id FROM backout.undo_job_schedule('2026-04-01', :c) \gset
SELECT backout.wait_for_batch(:'undo_batch_id', '1 hour') AS st \gset
INSERT INTO timings SELECT :'mode', '3 undo_job_schedule', pg_temp.took(:'t0');
SELECT clock_timestamp() AS t0 \gset
SELECT error_code FROM backout.discard_usage(:c, usage_record_no => (
    SELECT array_agg(txn_id) FROM (SELECT txn_id FROM backout.usage_txn WHERE client_id = :c ORDER BY txn_id LIMIT 10000) t)) \gset
INSERT INTO timings SELECT :'mode', '4 discard_usage 10,000 records', pg_temp.took(:'t0');
SELECT clock_timestamp() AS t0 \gset
SELECT backout_batch_id FROM backout.backout_usage_file_transactions('202604_5.csv', :c, 'bench') \gset
SELECT backout.wait_for_batch(:'backout_batch_id', '1 hour') AS st \gset
INSERT INTO timings SELECT :'mode', '5 backout 1 file (10,000 records)', pg_temp.took(:'t0');
