-- bench/plans.sql section 3 (\ir): one client's billing and undo (100,000 records, 10,000 accounts) at about
-- 1M, 5M and 10M rows in usage_txn, each after ANALYZE; then a client billed right after its load against
-- one billed after ANALYZE.  The other rows belong to a filler client (usage of 2025, never billed).  A
-- CHECKPOINT before each timed run: right after a multi-million-row load the first run otherwise pays for
-- writing out the load (full-page images of every page it touches), 3 to 7 times its plan's cost here.
-- Each billing and undo runs three times (undone in between) and counts its fastest run (plans_bill_once.sql).
\c postgres
CREATE DATABASE plans_sizes;
\c plans_sizes
SET client_min_messages = warning;
SET pg_backout.start_runners = off;
CREATE EXTENSION pg_backout;
\ir fixture_clients.sql
SELECT pg_temp.bench_client(900, '2026-04-01');
CREATE FUNCTION pg_temp.filler(upto bigint) RETURNS void LANGUAGE sql AS $$
    INSERT INTO backout.usage_txn (client_id, acct_no, usage_type_no, usage_date, units, unit_price, amount, file_name, record_key)
    SELECT 900, 1 + i % 10000, 1, timestamp '2025-01-01' + (i % 31536000) * interval '1 second', 1, 0.02, 0.02,
           'filler_' || (i / 100000), i::text
    FROM generate_series((SELECT count(*) FROM backout.usage_txn) + 1, upto) i $$;
CREATE FUNCTION pg_temp.size_round(c bigint, upto bigint) RETURNS void LANGUAGE sql AS $$
    SELECT pg_temp.filler(upto - 100000);
    SELECT pg_temp.bench_client(c, '2026-04-01');
    SELECT pg_temp.bench_month(c, '2026-04-01');
$$;

-- A client's billing and undo timed three times at one size (:c, :upto, :size set), the fastest run of each kept.
\set c 21
\set upto 1000000
\set size 1m
\ir plans_size.sql
\set c 22
\set upto 5000000
\set size 5m
\ir plans_size.sql
\set c 23
\set upto 10000000
\set size 10m
\ir plans_size.sql

-- right after a load (the statistics know 10M rows but none of this client's), then after ANALYZE; the
-- later runs of each follow an undo, with the statistics as they were
SELECT pg_temp.bench_client(24, '2026-04-01'), pg_temp.bench_month(24, '2026-04-01');
\set c 24
\set pass 1
\ir plans_bill_once.sql
\set pass 2
\ir plans_bill_once.sql
\set pass 3
\ir plans_bill_once.sql
SELECT least(:bill_p1, :bill_p2, :bill_p3) AS bill_loaded \gset
SELECT pg_temp.bench_client(25, '2026-04-01'), pg_temp.bench_month(25, '2026-04-01');
ANALYZE;
\set c 25
\set pass 1
\ir plans_bill_once.sql
\set pass 2
\ir plans_bill_once.sql
\set pass 3
\ir plans_bill_once.sql
SELECT least(:bill_p1, :bill_p2, :bill_p3) AS bill_after_analyze \gset
SELECT status, count(*) FROM backout.operations GROUP BY 1 ORDER BY 1;
