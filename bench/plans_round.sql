-- One round of bench/plans.sql section 2 (\ir, :round set): a fresh database never analyzed, two clients
-- billed and the second undone back to back; then a third client of the same shape after ANALYZE.  Each
-- piece of work runs three times (undone in between, still without ANALYZE) and counts its fastest run: one
-- run alone moved by a quarter from round to round on this shared machine, whichever plan it had, and the
-- faster of two still missed by up to 1.27 against a baseline that itself ranged 3.3-4.6 s.
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
\set pass 1
\ir plans_round_pass.sql
SELECT status AS s FROM backout.undo_job_schedule('2026-04-01', 11) \gset
CALL backout.run_pending_batches(11);
SELECT pg_temp.completed(status) AS s FROM backout.undo_batch WHERE client_id = 11 ORDER BY create_date DESC LIMIT 1 \gset
\set pass 2
\ir plans_round_pass.sql
SELECT status AS s FROM backout.undo_job_schedule('2026-04-01', 11) \gset
CALL backout.run_pending_batches(11);
SELECT pg_temp.completed(status) AS s FROM backout.undo_batch WHERE client_id = 11 ORDER BY create_date DESC LIMIT 1 \gset
\set pass 3
\ir plans_round_pass.sql
SELECT least(:bill1_p1, :bill1_p2, :bill1_p3) AS bill1_:round, least(:bill2_p1, :bill2_p2, :bill2_p3) AS bill2_:round,
       least(:undo2_p1, :undo2_p2, :undo2_p3) AS undo2_:round \gset
-- the baseline: the same shape, with statistics that know the tables
SELECT pg_temp.bench_client(13, '2026-04-01'), pg_temp.bench_month(13, '2026-04-01');
\set pass 1
\ir plans_round_baseline.sql
\set pass 2
\ir plans_round_baseline.sql
\set pass 3
\ir plans_round_baseline.sql
SELECT least(:billa_p1, :billa_p2, :billa_p3) AS billa_:round, least(:undoa_p1, :undoa_p2, :undoa_p3) AS undoa_:round \gset
SELECT status, count(*) FROM backout.operations GROUP BY 1 ORDER BY 1;
