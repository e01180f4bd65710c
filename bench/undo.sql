-- pg_backout benchmark: undo of a billing run (10,000 accounts, 1,000,000 usage records), both modes,
-- as a ratio to the billing run itself; and how soon a submitted batch starts.  Prints timings.
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
-- 1M usage records in 10 files
\set files 10
\ir fixture_usage.sql
INSERT INTO backout.client (client_id, name) VALUES (2, 'Latency');

CREATE TEMP TABLE timings (step text, ms numeric);

-- billing run, then undo keeping usage (situation 2), submit to COMPLETED
SELECT clock_timestamp() AS t0 \gset
SELECT status FROM backout.run_billing(1, '2026-04-01') \gset
INSERT INTO timings SELECT 'run_billing (1st)', round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000);
VACUUM ANALYZE;
SELECT clock_timestamp() AS t0 \gset
SELECT undo_batch_id FROM backout.undo_job_schedule('2026-04-01', 1) \gset
SELECT backout.wait_for_batch(:'undo_batch_id', '1 hour') AS undo_status \gset
INSERT INTO timings SELECT 'undo_job_schedule, discard_usage false (' || :'undo_status' || ')',
       round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000);

-- billing again, then undo discarding usage (situation 1)
VACUUM ANALYZE;
SELECT clock_timestamp() AS t0 \gset
SELECT status FROM backout.run_billing(1, '2026-04-01') \gset
INSERT INTO timings SELECT 'run_billing (2nd)', round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000);
VACUUM ANALYZE;
SELECT clock_timestamp() AS t0 \gset
SELECT undo_batch_id FROM backout.undo_job_schedule('2026-04-01', 1, discard_usage => true) \gset
SELECT backout.wait_for_batch(:'undo_batch_id', '1 hour') AS undo_status \gset
INSERT INTO timings SELECT 'undo_job_schedule, discard_usage true (' || :'undo_status' || ')',
       round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000);

\echo
\echo 'pg_backout undo benchmark: 10,000 accounts, 1,000,000 usage records'
SELECT step, ms FROM timings;
SELECT round((SELECT ms FROM timings WHERE step LIKE '%discard_usage false%') / (SELECT ms FROM timings WHERE step = 'run_billing (1st)'), 2) AS undo_keep_vs_billing,
       round((SELECT ms FROM timings WHERE step LIKE '%discard_usage true%') / (SELECT ms FROM timings WHERE step = 'run_billing (2nd)'), 2) AS undo_discard_vs_billing,
       (SELECT count(*) FROM backout.usage_txn) AS usage_left_after_discard;

-- start latency: 25 small undos, each submitted (autocommit) and waited for; start_date - create_date is
-- from the submitting transaction's start to the runner's claim (an upper bound of commit-to-start)
INSERT INTO backout.account VALUES (2, 1, 'L');
INSERT INTO backout.billing_profile VALUES (2, 1, '2026-03-01', '2026-04-01');
\o /dev/null
SELECT 'SELECT status FROM backout.run_billing(2, ''2026-04-01'')',
       'SELECT status FROM backout.undo_job_schedule(''2026-04-01'', 2)',
       'SELECT backout.wait_for_batch((SELECT undo_batch_id FROM backout.undo_batch WHERE client_id = 2 '
       'ORDER BY create_date DESC LIMIT 1), ''1 minute'')'
FROM generate_series(1, 25) \gexec
\o
SELECT count(*) AS undos, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS median_start_ms,
       max(ms) AS max_start_ms, min(ms) AS min_start_ms
FROM (SELECT round(extract(epoch FROM start_date - create_date) * 1000, 1) AS ms
      FROM backout.undo_batch WHERE client_id = 2 AND status = 'COMPLETED') s;
