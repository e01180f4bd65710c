-- One round of bench/plans.sql section 2 (\ir, :round set): a fresh database never analyzed, two clients
-- billed and the second undone back to back; then a third client of the same shape after ANALYZE.
SELECT format('plans_round_%s', :round) AS db \gset
\c postgres
CREATE DATABASE :"db";
\c :db
SET client_min_messages = warning;
SET pg_backout.start_runners = off;
CREATE EXTENSION pg_backout;
\ir fixture_clients.sql
SELECT pg_temp.bench_client(11, '2026-04-01'), pg_temp.bench_month(11, '2026-04-01');
SELECT pg_temp.bench_client(12, '2026-04-01'), pg_temp.bench_month(12, '2026-04-01');
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
SELECT status AS s FROM backout.run_billing(11, '2026-04-01') \gset
SELECT pg_temp.took(:'t0') AS bill1_:round \gset
SELECT clock_timestamp() AS t0 \gset
SELECT status AS s FROM backout.run_billing(12, '2026-04-01') \gset
SELECT pg_temp.took(:'t0') AS bill2_:round \gset
SELECT status AS s FROM backout.undo_job_schedule('2026-04-01', 12) \gset
SELECT clock_timestamp() AS t0 \gset
CALL backout.run_pending_batches(12);
SELECT pg_temp.took(:'t0') AS undo2_:round \gset
-- the baseline: the same shape, with statistics that know the tables
SELECT pg_temp.bench_client(13, '2026-04-01'), pg_temp.bench_month(13, '2026-04-01');
ANALYZE;
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
SELECT status AS s FROM backout.run_billing(13, '2026-04-01') \gset
SELECT pg_temp.took(:'t0') AS billa_:round \gset
SELECT status AS s FROM backout.undo_job_schedule('2026-04-01', 13) \gset
ANALYZE;
SELECT clock_timestamp() AS t0 \gset
CALL backout.run_pending_batches(13);
SELECT pg_temp.took(:'t0') AS undoa_:round \gset
SELECT status, count(*) FROM backout.operations GROUP BY 1 ORDER BY 1;
