-- Included by history.sql with :c (client) and :phase set: billing, undo, billing, backout with
-- undo_billing, billing, clear of client :c's 2026-04-01 run, each timed into timings.
SELECT clock_timestamp() AS t0 \gset
SELECT status FROM backout.run_billing(:c, '2026-04-01') \gset
INSERT INTO timings SELECT :'phase', '1 run_billing', pg_temp.took(:'t0');
SELECT clock_timestamp() AS t0 \gset
SELECT undo_batch_id FROM backout.undo_job_schedule('2026-04-01', :c) \gset
SELECT backout.wait_for_batch(:'undo_batch_id', '1 hour') AS st \gset
INSERT INTO timings SELECT :'phase', '2 undo_job_schedule (' || :'st' || ')', pg_temp.took(:'t0');
SELECT clock_timestamp() AS t0 \gset
SELECT status FROM backout.run_billing(:c, '2026-04-01') \gset
INSERT INTO timings SELECT :'phase', '3 run_billing again', pg_temp.took(:'t0');
SELECT clock_timestamp() AS t0 \gset
SELECT backout_batch_id FROM backout.backout_usage_file_transactions('202604_0.csv', :c, 'bench', true) \gset
SELECT backout.wait_for_batch(:'backout_batch_id', '1 hour') AS st \gset
INSERT INTO timings SELECT :'phase', '4 backout 1 file with undo_billing (' || :'st' || ')', pg_temp.took(:'t0');
SELECT clock_timestamp() AS t0 \gset
SELECT status FROM backout.run_billing(:c, '2026-04-01') \gset
INSERT INTO timings SELECT :'phase', '5 run_billing after the backout', pg_temp.took(:'t0');
-- the clear takes ~50 ms: the best of three (billing again between them) rather than one sample
SELECT clock_timestamp() AS t0 \gset
SELECT status FROM backout.clear_job_schedule(:c, '2026-04-01') \gset
INSERT INTO timings SELECT :'phase', 'clear', pg_temp.took(:'t0');
SELECT undo_batch_id FROM backout.undo_job_schedule('2026-04-01', :c) \gset
SELECT backout.wait_for_batch(:'undo_batch_id', '1 hour') AS st \gset
SELECT status FROM backout.run_billing(:c, '2026-04-01') \gset
SELECT clock_timestamp() AS t0 \gset
SELECT status FROM backout.clear_job_schedule(:c, '2026-04-01') \gset
INSERT INTO timings SELECT :'phase', 'clear', pg_temp.took(:'t0');
SELECT undo_batch_id FROM backout.undo_job_schedule('2026-04-01', :c) \gset
SELECT backout.wait_for_batch(:'undo_batch_id', '1 hour') AS st \gset
SELECT status FROM backout.run_billing(:c, '2026-04-01') \gset
SELECT clock_timestamp() AS t0 \gset
SELECT status FROM backout.clear_job_schedule(:c, '2026-04-01') \gset
INSERT INTO timings SELECT :'phase', 'clear', pg_temp.took(:'t0');
INSERT INTO timings SELECT :'phase', '6 clear_job_schedule (best of 3)', min(ms) FROM timings WHERE phase = :'phase' AND step = 'clear';
DELETE FROM timings WHERE phase = :'phase' AND step = 'clear';
