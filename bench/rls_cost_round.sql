-- One round of bench/rls_cost.sql: the policies in form :form, then the operator's steps (and the
-- superuser's count, the floor), each timed.
SELECT pg_temp.policies(:'form') AS ignored \gset
SELECT pg_temp.file(20000, :r) AS file \gset
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS n FROM backout.usage_txn WHERE client_id = 1 \gset
INSERT INTO rls_timings SELECT 'superuser', :r, 'count of one client''s records', extract(epoch FROM clock_timestamp() - :'t0') * 1000;
SET ROLE bench_rls_op;
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS n FROM backout.usage_txn WHERE client_id = 1 \gset
INSERT INTO rls_timings SELECT :'form', :r, 'count of one client''s records', extract(epoch FROM clock_timestamp() - :'t0') * 1000;
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS n FROM backout.usage_txn \gset
INSERT INTO rls_timings SELECT :'form', :r, 'count of every visible record', extract(epoch FROM clock_timestamp() - :'t0') * 1000;
SELECT clock_timestamp() AS t0 \gset
SELECT status FROM backout.process_usage_file(1, 'file-' || :r || '.json', :'file') \gset
INSERT INTO rls_timings SELECT :'form', :r, 'ingest of 20,000 records (operator)', extract(epoch FROM clock_timestamp() - :'t0') * 1000;
RESET ROLE;
