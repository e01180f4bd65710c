-- pg_backout benchmark: what keeping backout.usage_day_count exact costs the writers of usage_txn.
-- The same steps on clients of the same shape (10,000 accounts, 100,000 usage records of March), with the
-- count triggers enabled and, as the baseline, disabled: ingest of 200,000 staged records, billing, undo,
-- a discard of 10,000 records, a backout of one file.  Four rounds alternate with and without, so that
-- neither mode runs on the smaller tables only; the figure per step and mode is the best of two (ms).
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
CREATE EXTENSION pg_backout;
ALTER TABLE backout.usage_staging SET (autovacuum_enabled = off);
CREATE TEMP TABLE timings (mode text, step text, ms numeric);
\ir fixture_clients.sql

CREATE FUNCTION pg_temp.count_triggers(mode text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['count_inserted', 'count_updated', 'count_deleted', 'count_truncated'] LOOP
        EXECUTE format('ALTER TABLE backout.usage_txn %s TRIGGER %I',
                       CASE mode WHEN 'with counts' THEN 'ENABLE' ELSE 'DISABLE' END, t);
    END LOOP;
END $$;

\set c 11
\set mode 'with counts'
\ir day_counts_run.sql
\set c 12
\set mode 'without (baseline)'
\ir day_counts_run.sql
\set c 13
\set mode 'with counts'
\ir day_counts_run.sql
\set c 14
\set mode 'without (baseline)'
\ir day_counts_run.sql

\echo
\echo 'every round (ms)'
SELECT step, string_agg(format('%s: %s', mode, ms), ', ' ORDER BY ctid) AS rounds FROM timings GROUP BY step ORDER BY step;
\echo 'pg_backout day counts benchmark (ms, best of 2): writers with the count triggers vs without (baseline)'
SELECT w.step, b.ms AS without_ms, w.ms AS with_ms, round(w.ms / nullif(b.ms, 0), 2) AS ratio
FROM (SELECT step, min(ms) AS ms FROM timings WHERE mode = 'with counts' GROUP BY step) w
JOIN (SELECT step, min(ms) AS ms FROM timings WHERE mode = 'without (baseline)' GROUP BY step) b USING (step)
ORDER BY w.step;
