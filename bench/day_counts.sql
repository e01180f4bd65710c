-- pg_backout benchmark: what keeping backout.usage_day_count exact costs the writers of usage_txn.
-- The same steps on clients of the same shape (10,000 accounts, 100,000 usage records of March) in two
-- databases of one cluster: bench_with (the count triggers on) and bench_without (the baseline: triggers
-- disabled before any data): ingest of 200,000 staged records, billing, undo, a discard of 10,000 records,
-- a backout of one file.  Four rounds alternate the databases, each in a new session; the figure per step
-- is the best of two (ms): now and then the second client of a database bills 2x and undoes 8x slower in
-- either mode (billing's usage UPDATE planned as a nested loop over invoices estimated at one row), and
-- the best of two keeps that plan flip out of the comparison.
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
CREATE TABLE day_count_timings (mode text, round int, step text, ms numeric);
SELECT current_database() AS home \gset
CREATE DATABASE bench_with;
CREATE DATABASE bench_without;
\c bench_with
SET client_min_messages = warning;
CREATE EXTENSION pg_backout;
ALTER TABLE backout.usage_staging SET (autovacuum_enabled = off);
\c bench_without
SET client_min_messages = warning;
CREATE EXTENSION pg_backout;
ALTER TABLE backout.usage_staging SET (autovacuum_enabled = off);
ALTER TABLE backout.usage_txn DISABLE TRIGGER count_inserted;
ALTER TABLE backout.usage_txn DISABLE TRIGGER count_updated;
ALTER TABLE backout.usage_txn DISABLE TRIGGER count_deleted;
ALTER TABLE backout.usage_txn DISABLE TRIGGER count_truncated;

\set mode with
\set c 11
\ir day_counts_run.sql
\set mode without
\set c 12
\ir day_counts_run.sql
\set mode with
\set c 13
\ir day_counts_run.sql
\set mode without
\set c 14
\ir day_counts_run.sql

\echo
\echo 'every round (ms)'
SELECT step, string_agg(format('%s (client %s): %s', mode, round, ms), ', ' ORDER BY round) AS rounds
FROM day_count_timings GROUP BY step ORDER BY step;
\echo 'pg_backout day counts benchmark (ms, best of 2): writers with the count triggers vs without (baseline)'
SELECT w.step, b.ms AS without_ms, w.ms AS with_ms, round(w.ms / nullif(b.ms, 0), 2) AS ratio
FROM (SELECT step, min(ms) AS ms FROM day_count_timings WHERE mode = 'with' GROUP BY step) w
JOIN (SELECT step, min(ms) AS ms FROM day_count_timings WHERE mode = 'without' GROUP BY step) b USING (step)
ORDER BY w.step;
