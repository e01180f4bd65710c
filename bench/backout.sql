-- pg_backout benchmark: back out 10 files holding 100,000 usage transactions from a table of 1,000,000,
-- submit to COMPLETED, as a ratio to a hand-written DELETE of the same kind of rows with the same balance
-- correction; and clear_job_schedule of a date with 10,000 work-unit entries.  Prints timings.
-- Two rounds, alternating which goes first, each on its own 10 files, so neither profits from the cache.
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
-- 1M usage records in 100 files of 10,000
\set files 100
\ir fixture_usage.sql

CREATE TEMP TABLE timings (round int, step text, ms numeric, rows bigint);

-- The hand-written equivalent: delete the files' usage, take it out of the balance buckets, delete the
-- files' stats rows.
CREATE FUNCTION pg_temp.handwritten(files text[]) RETURNS bigint LANGUAGE sql AS $$
    WITH gone AS (
        DELETE FROM backout.usage_txn WHERE client_id = 1 AND file_name = ANY(files)
        RETURNING acct_no, usage_type_no, usage_date, units, amount),
    per_bucket AS (
        SELECT c.acct_no, c.period_start, sum(g.amount) AS amount, sum(g.units) AS units
        FROM gone g
        JOIN backout.commitment_contract c
          ON c.client_id = 1 AND c.acct_no = g.acct_no AND g.usage_date >= c.period_start
         AND g.usage_date < c.period_end AND (c.usage_type_no IS NULL OR c.usage_type_no = g.usage_type_no)
        GROUP BY 1, 2),
    fix AS (
        UPDATE backout.commitment_balance cb
           SET consumed_amount = cb.consumed_amount - p.amount, consumed_units = cb.consumed_units - p.units
          FROM per_bucket p
         WHERE cb.client_id = 1 AND cb.acct_no = p.acct_no AND cb.period_start = p.period_start
        RETURNING 1),
    stats AS (DELETE FROM backout.usage_file WHERE client_id = 1 AND file_name = ANY(files) RETURNING 1)
    SELECT count(*) FROM gone
$$;

-- round 1: hand-written first (files 0-9), then the backout (files 10-19)
SELECT array_agg(format('file_%s.csv', n)) AS files FROM generate_series(0, 9) n \gset
SELECT clock_timestamp() AS t0 \gset
SELECT pg_temp.handwritten(:'files') AS n \gset
INSERT INTO timings SELECT 1, 'hand-written DELETE + balance correction', round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000), :n;
VACUUM ANALYZE;
SELECT string_agg(format('file_%s.csv', n), ',') AS list FROM generate_series(10, 19) n \gset
SELECT clock_timestamp() AS t0 \gset
SELECT backout_batch_id FROM backout.backout_usage_file_transactions(:'list', 1, 'bench', false) \gset
SELECT backout.wait_for_batch(:'backout_batch_id', '1 hour') AS status \gset
INSERT INTO timings SELECT 1, 'backout_usage_file_transactions (' || :'status' || ')',
       round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000),
       (SELECT transactions_deleted FROM backout.backout_batch WHERE backout_batch_id = :'backout_batch_id');
VACUUM ANALYZE;

-- round 2: the backout first (files 20-29), then hand-written (files 30-39)
SELECT string_agg(format('file_%s.csv', n), ',') AS list FROM generate_series(20, 29) n \gset
SELECT clock_timestamp() AS t0 \gset
SELECT backout_batch_id FROM backout.backout_usage_file_transactions(:'list', 1, 'bench', false) \gset
SELECT backout.wait_for_batch(:'backout_batch_id', '1 hour') AS status \gset
INSERT INTO timings SELECT 2, 'backout_usage_file_transactions (' || :'status' || ')',
       round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000),
       (SELECT transactions_deleted FROM backout.backout_batch WHERE backout_batch_id = :'backout_batch_id');
VACUUM ANALYZE;
SELECT array_agg(format('file_%s.csv', n)) AS files FROM generate_series(30, 39) n \gset
SELECT clock_timestamp() AS t0 \gset
SELECT pg_temp.handwritten(:'files') AS n \gset
INSERT INTO timings SELECT 2, 'hand-written DELETE + balance correction', round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000), :n;

-- both took the same amount out of the balances: what is left equals the 60 remaining files' usage
SELECT count(*) AS buckets_off
FROM backout.commitment_balance cb
JOIN (SELECT c.acct_no, c.period_start, sum(t.amount) AS amount
      FROM backout.commitment_contract c
      JOIN backout.usage_txn t ON t.client_id = 1 AND t.acct_no = c.acct_no
       AND (c.usage_type_no IS NULL OR t.usage_type_no = c.usage_type_no)
      GROUP BY 1, 2) want USING (acct_no, period_start)
WHERE cb.consumed_amount <> want.amount \gset

-- clear of a date with 10,000 work-unit entries (one job, one item)
INSERT INTO backout.job_schedule (client_id, schedule_date, job_type, status) VALUES (1, '2026-05-01', 'BILLING', 'COMPLETED');
INSERT INTO backout.job_schedule_item (client_id, job_schedule_id, item_type, status, work_units)
SELECT 1, job_schedule_id, 'ACCOUNTS', 'COMPLETED', 10000 FROM backout.job_schedule WHERE client_id = 1;
INSERT INTO backout.job_schedule_list (client_id, job_schedule_item_id, acct_no, status, payload)
SELECT 1, i.job_schedule_item_id, n, 'COMPLETED', jsonb_build_object('acct_no', n, 'invoice_no', 100000 + n)
FROM backout.job_schedule_item i, generate_series(1, 10000) n WHERE i.client_id = 1;
VACUUM ANALYZE;
SELECT clock_timestamp() AS t0 \gset
SELECT status, job_schedule_list_entries AS n FROM backout.clear_job_schedule(1, '2026-05-01') \gset
INSERT INTO timings SELECT 1, 'clear_job_schedule (' || :'status' || ')',
       round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000, 1), :n;

\echo
\echo 'pg_backout backout benchmark: 10 files of 10,000 transactions out of 1,000,000; clear of 10,000 entries'
SELECT round, step, ms, rows FROM timings ORDER BY step LIKE 'clear%', round, step;
SELECT round((SELECT sum(ms) FROM timings WHERE step LIKE 'backout%')
             / (SELECT sum(ms) FROM timings WHERE step LIKE 'hand-written%'), 2) AS backout_vs_handwritten,
       :buckets_off AS balances_off;
