-- pg_backout benchmark: posting usage events (Gotransverse) against ingesting the same records as files, in
-- one run.  Two twin clients of 10,000 accounts each hold 1,000,000 live events; then 100,000 new records
-- arrive in ten batches of 10,000: client 1 posts them with post_usage_events in OVERWRITE_ON_EXISTING mode
-- (a tenth of them overwrite a live event, whose voided row is kept), client 2 ingests the same records with
-- process_usage_file (ten files).  The batches alternate (event call, file, event call, ...) so that drift
-- of this shared machine falls on both sides.  Prints both sides, events/s and the ratio (target: at most
-- 1.3).  Run by scripts/bench.sh events (a throwaway cluster).
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
CREATE EXTENSION pg_backout;
\set accounts 10000
\set live 1000000
\set batches 10
\set batch 10000

-- two twin clients: 10,000 accounts, half with an AMOUNT commitment for March, a tenth with a custom price
INSERT INTO backout.client (client_id, name, retain_voided_usage) VALUES (1, 'Events', true), (2, 'Files', true);
INSERT INTO backout.account SELECT c, n, 'A-' || n FROM generate_series(1, :accounts) n, generate_series(1, 2) c;
INSERT INTO backout.billing_profile SELECT c, n, '2026-03-01', '2026-04-01' FROM generate_series(1, :accounts) n, generate_series(1, 2) c;
INSERT INTO backout.usage_type SELECT c, 1, 'VOICE', 'Voice', 'minute' FROM generate_series(1, 2) c;
INSERT INTO backout.price_offer (client_id, usage_type_no, acct_no, unit_price) SELECT c, 1, NULL, 0.02 FROM generate_series(1, 2) c;
INSERT INTO backout.price_offer (client_id, usage_type_no, acct_no, unit_price)
SELECT c, 1, n, 0.015 FROM generate_series(1, :accounts, 10) n, generate_series(1, 2) c;
INSERT INTO backout.commitment_contract
SELECT c, n, '2026-03-01', '2026-04-01', 'AMOUNT', 100, NULL FROM generate_series(1, :accounts, 2) n, generate_series(1, 2) c;

-- 1,000,000 live events per client (loaded directly, rated at the standard price, and their balances
-- computed as ingest would have)
INSERT INTO backout.usage_txn (client_id, acct_no, usage_type_no, usage_date, units, unit_price, amount, reference_id, sequence_id, overwrite_counter)
SELECT c, 1 + i % :accounts, 1, timestamp '2026-03-01' + (i % 2678400) * interval '1 second', 1 + i % 50,
       0.02, (1 + i % 50) * 0.02, 'live', i::text, 0
FROM generate_series(1, :live) i, generate_series(1, 2) c;
INSERT INTO backout.commitment_balance (client_id, acct_no, period_start, consumed_amount, consumed_units)
SELECT u.client_id, u.acct_no, c.period_start, sum(u.amount), sum(u.units)
FROM backout.usage_txn u
JOIN backout.commitment_contract c ON c.client_id = u.client_id AND c.acct_no = u.acct_no
 AND u.usage_date >= c.period_start AND u.usage_date < c.period_end
GROUP BY 1, 2, 3;
VACUUM ANALYZE;

-- batch :k of 10,000 records: 9,000 new pairs and 1,000 pairs of live events (overwritten on client 1;
-- on client 2 they are new records of a new file)
\set batch_rows 'SELECT i AS n, 1 + (i * 7) % :accounts AS acct_no, to_char(timestamp ''2026-03-01'' + ((i * 13) % 2678400) * interval ''1 second'', ''YYYY-MM-DD HH24:MI:SS'') AS day, 1 + i % 40 AS units, CASE WHEN i % 10 = 0 THEN ''live'' ELSE ''new'' END AS ref, CASE WHEN i % 10 = 0 THEN (i * 37 % :live + 1)::text ELSE i::text END AS seq FROM generate_series((:k - 1) * :batch + 1, :k * :batch) i'
CREATE TEMP TABLE timings (side text, batch int, ms numeric, posted bigint, overwritten bigint);
CREATE FUNCTION pg_temp.took(t0 text) RETURNS numeric LANGUAGE sql AS $$
    SELECT round(extract(epoch FROM clock_timestamp() - t0::timestamptz) * 1000, 1) $$;

\set k 1
\ir events_batch.sql
\set k 2
\ir events_batch.sql
\set k 3
\ir events_batch.sql
\set k 4
\ir events_batch.sql
\set k 5
\ir events_batch.sql
\set k 6
\ir events_batch.sql
\set k 7
\ir events_batch.sql
\set k 8
\ir events_batch.sql
\set k 9
\ir events_batch.sql
\set k 10
\ir events_batch.sql

-- every overwrite voided one live event and kept it; both clients hold the same number of rows
SELECT (SELECT count(*) FROM backout.voided_usage_event WHERE client_id = 1 AND void_reason = 'OVERWRITE') AS events_overwritten,
       (SELECT count(*) FROM backout.usage_txn WHERE client_id = 1) AS client_1_rows,
       (SELECT count(*) FROM backout.usage_txn WHERE client_id = 2) - :batches * :batch * 0.1 AS client_2_rows_less_overwrites;
SELECT side, count(*) AS calls, sum(posted) AS records, sum(overwritten) AS overwritten, sum(ms) AS ms,
       round(sum(posted) / (sum(ms) / 1000)) AS records_per_s
FROM timings GROUP BY side ORDER BY side DESC;
SELECT round((SELECT sum(ms) FROM timings WHERE side = 'post_usage_events (OVERWRITE_ON_EXISTING)')
             / (SELECT sum(ms) FROM timings WHERE side = 'process_usage_file'), 2) AS ratio_events_to_files;
SELECT batch, max(ms) FILTER (WHERE side = 'process_usage_file') AS file_ms,
       max(ms) FILTER (WHERE side <> 'process_usage_file') AS events_ms
FROM timings GROUP BY batch ORDER BY batch;
