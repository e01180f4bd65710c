-- bench/plans_round.sql, one pass (:pass set), starting and ending connected to :db: clients 11 and 12
-- billed and 12 undone there (never analyzed; 11 undone afterwards, untimed, for the next pass), then the
-- baseline's pass in :dba.
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
SELECT pg_temp.completed(status) AS s FROM backout.run_billing(11, '2026-04-01') \gset
SELECT pg_temp.took(:'t0') AS bill1_p:pass \gset
SELECT clock_timestamp() AS t0 \gset
SELECT pg_temp.completed(status) AS s FROM backout.run_billing(12, '2026-04-01') \gset
SELECT pg_temp.took(:'t0') AS bill2_p:pass \gset
SELECT status AS s FROM backout.undo_job_schedule('2026-04-01', 12) \gset
CHECKPOINT;  -- the two billings' writes are not the undo's (the baseline's undo follows one billing)
SELECT clock_timestamp() AS t0 \gset
CALL backout.run_pending_batches(12);
SELECT pg_temp.took(:'t0') AS undo2_p:pass \gset
SELECT pg_temp.completed(status) AS s FROM backout.undo_batch WHERE client_id = 12 ORDER BY create_date DESC LIMIT 1 \gset
SELECT status AS s FROM backout.undo_job_schedule('2026-04-01', 11) \gset
CALL backout.run_pending_batches(11);
SELECT pg_temp.completed(status) AS s FROM backout.undo_batch WHERE client_id = 11 ORDER BY create_date DESC LIMIT 1 \gset
\c :dba
SET client_min_messages = warning;
SET pg_backout.start_runners = off;
\ir fixture_clients.sql
\ir plans_round_baseline.sql
\c :db
SET client_min_messages = warning;
SET pg_backout.start_runners = off;
\ir fixture_clients.sql
