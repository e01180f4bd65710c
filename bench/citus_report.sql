-- bench/citus.sh: the tables of the report, from the lines the runs printed.  Variables: results (a file of
-- "RESULT <target> <rep> <step> <ms> <batch id> <amount>" and "SCALE <target> <round> <mode> <ms> - <cores
-- busy>" lines), batches (a file of "<batch id> <ms>": each batch's own run time, from the servers' logs).
-- Runs in a database of its own (temporary tables only).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
\pset footer off
CREATE TEMP TABLE r (tag text, target text, rep int, step text, ms numeric, batch text, amount text);
COPY r FROM :'results' (FORMAT text, DELIMITER ' ');
CREATE TEMP TABLE b (batch text, ms numeric);
COPY b FROM :'batches' (FORMAT text, DELIMITER ' ');

-- the steps of one client, and for the batches their own run time (submission to COMPLETED minus that is
-- the queueing: the runner's start or wake-up, the claim, and wait_for_batch's polling)
CREATE TEMP VIEW step_ms AS
SELECT target, rep, step, ms FROM r WHERE tag = 'RESULT'
UNION ALL
SELECT r.target, r.rep, r.step || ': the batch itself (log)', b.ms
FROM r JOIN b USING (batch) WHERE r.tag = 'RESULT';

\echo
\echo '== 1. one client, the same data on the cluster (delegated to its worker) and on one node (plain database), ms'
SELECT step AS "step",
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE target = 'cluster') AS "cluster (median)",
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE target = 'plain') AS "one node (median)",
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE target = 'cluster')
              / nullif(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE target = 'plain'), 0))::numeric, 2)
           AS "cluster / one node",
       string_agg(ms::text, ' / ' ORDER BY rep) FILTER (WHERE target = 'cluster') AS "cluster runs",
       string_agg(ms::text, ' / ' ORDER BY rep) FILTER (WHERE target = 'plain') AS "one node runs"
FROM step_ms
GROUP BY step
ORDER BY min(CASE split_part(step, ':', 1) WHEN 'ingest' THEN 1 WHEN 'run_billing' THEN 2 WHEN 'undo_job_schedule' THEN 3
                                           WHEN 'run_billing_again' THEN 4 ELSE 5 END), step;

-- the same data gives the same invoices: every billing run, cluster or one node, first or again, of every
-- repetition bills the same total (the script fails otherwise)
SELECT count(DISTINCT amount) = 1 AND count(DISTINCT target) = 2 AS same,
       CASE WHEN count(DISTINCT amount) = 1 THEN format('check: every billing run, on the cluster and on one node, billed %s', min(amount))
            ELSE format('check FAILED: the totals differ: %s', string_agg(DISTINCT format('%s rep %s: %s', target, rep, amount), ', ')) END
       AS check_line
FROM r WHERE tag = 'RESULT' AND step IN ('run_billing', 'run_billing_again') \gset
\echo :check_line
\if :same
\else
DO $$ BEGIN RAISE EXCEPTION 'bench: the billing totals differ between the runs'; END $$;
\endif

\if :{?scale}
\echo
\echo '== 2. scale-out: billing runs of several clients (half on each worker), one after another vs all at once, wall-clock ms'
SELECT target AS "target",
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE step = 'sequential') AS "sequential (median)",
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE step = 'parallel') AS "parallel (median)",
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE step = 'sequential')
              / nullif(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE step = 'parallel'), 0))::numeric, 2)
           AS "speedup",
       string_agg(ms::text, ' / ' ORDER BY rep) FILTER (WHERE step = 'sequential') AS "sequential runs",
       string_agg(ms::text, ' / ' ORDER BY rep) FILTER (WHERE step = 'parallel') AS "parallel runs",
       percentile_cont(0.5) WITHIN GROUP (ORDER BY amount::numeric) FILTER (WHERE step = 'sequential') AS "cores busy, seq.",
       percentile_cont(0.5) WITHIN GROUP (ORDER BY amount::numeric) FILTER (WHERE step = 'parallel') AS "cores busy, par."
FROM r WHERE tag = 'SCALE'
GROUP BY target ORDER BY target;
\endif
