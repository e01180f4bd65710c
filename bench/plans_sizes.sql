-- bench/plans.sql section 3 (\ir): one client's billing and undo (100,000 records, 10,000 accounts) at about
-- 1M, 5M and 10M rows in usage_txn, each after ANALYZE; then a client billed right after its load against
-- one billed after ANALYZE.  The other rows belong to a filler client (usage of 2025, never billed).  A
-- CHECKPOINT before each timed run: right after a multi-million-row load the first run otherwise pays for
-- writing out the load (full-page images of every page it touches), 3 to 7 times its plan's cost here.
-- Each billing and undo runs three times (undone in between) and counts its fastest run (plans_bill_once.sql).
-- Sizes are minutes apart, and this shared machine's speed drifts over minutes by more than the 1.2 the
-- target allows; so each size's runs alternate with the same work in a reference database of about 1M rows
-- (plans_reference), and the ratio compares the two side by side.  The buffers each run touched are printed
-- too: the work itself, which the machine's load does not change.
\c postgres
CREATE DATABASE plans_reference;
CREATE DATABASE plans_sizes;
-- the reference: the same client's month in a table of about 1M rows (900,000 filler rows, then a fresh
-- client of 100,000 records for each size), billed beside every size
\c plans_reference
SET client_min_messages = warning;
CREATE EXTENSION pg_backout;
\ir plans_session.sql
SELECT pg_temp.bench_client(900, '2026-04-01');
SELECT pg_temp.filler(900000);
\c plans_sizes
SET client_min_messages = warning;
CREATE EXTENSION pg_backout;
\ir plans_session.sql
SELECT pg_temp.bench_client(900, '2026-04-01');

-- A client's billing and undo timed three times at one size, beside the reference (plans_size.sql).
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
