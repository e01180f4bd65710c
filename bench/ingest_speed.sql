-- Ingest at the speed of the table (issue 22): the same 200,000 usage records entered three ways, three
-- repetitions interleaved, each into a fresh client of 10,000 accounts:
--   floor: the records already rated, COPY'd straight into usage_txn (its indexes and day-count triggers:
--          what the table itself costs);
--   bulk:  COPY into usage_staging, then process_staged_usage_file (validation, pricing, balances, stats);
--   jsonb: process_usage_file with the records as one jsonb array.
-- Prints each run and the medians' ratios: bulk / floor (target 2.0) and jsonb / bulk (target 1.3).
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
CREATE EXTENSION pg_backout;
\set n 200000
CREATE TEMP TABLE runs (way text, rep int, ms numeric);
CREATE FUNCTION pg_temp.client(c bigint) RETURNS void LANGUAGE sql AS $$
    INSERT INTO backout.client (client_id, name) VALUES (c, 'Ingest ' || c);
    INSERT INTO backout.account SELECT c, a, 'A-' || a FROM generate_series(1, 10000) a;
    INSERT INTO backout.billing_profile SELECT c, a, '2026-03-01', '2026-04-01' FROM generate_series(1, 10000) a;
    INSERT INTO backout.usage_type VALUES (c, 1, 'VOICE', 'Voice', 'minute'), (c, 2, 'DATA', 'Data', 'GB');
    INSERT INTO backout.price_offer (client_id, usage_type_no, acct_no, unit_price) VALUES (c, 1, NULL, 0.02), (c, 2, NULL, 1.5);
    INSERT INTO backout.commitment_contract SELECT c, a, '2026-03-01', '2026-04-01', 'AMOUNT', 100, NULL FROM generate_series(1, 10000, 2) a;
$$;
CREATE FUNCTION pg_temp.took(t0 timestamptz) RETURNS numeric LANGUAGE sql AS $$
    SELECT round(extract(epoch FROM clock_timestamp() - t0) * 1000) $$;
-- the records: (account, usage type, date, units) round-robin over accounts and types, spread over March
CREATE TEMP VIEW records AS
SELECT i, 1 + i % 10000 AS acct_no, CASE WHEN i % 3 = 0 THEN 'DATA' ELSE 'VOICE' END AS usage_type_code,
       timestamp '2026-03-01' + (i % 2678400) * interval '1 second' AS usage_date, 1 + i % 97 AS units
FROM generate_series(1, :n) i;
SELECT jsonb_agg(jsonb_build_object('acct_no', acct_no, 'usage_type_code', usage_type_code,
                 'usage_date', to_char(usage_date, 'YYYY-MM-DD HH24:MI:SS'), 'units', units)) AS doc FROM records \gset
CHECKPOINT;

\set rep 1
\ir ingest_speed_round.sql
\set rep 2
\ir ingest_speed_round.sql
\set rep 3
\ir ingest_speed_round.sql

\echo
\echo 'Ingest of 200,000 records, three ways (ms per run)'
SELECT way, string_agg(ms::text, ' / ' ORDER BY rep) AS runs_ms,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY ms) AS median_ms,
       round(:n / (percentile_disc(0.5) WITHIN GROUP (ORDER BY ms)) * 1000) AS records_per_s
FROM runs GROUP BY way ORDER BY median_ms;
WITH m AS (SELECT way, percentile_disc(0.5) WITHIN GROUP (ORDER BY ms) AS ms FROM runs GROUP BY way)
SELECT 'bulk (COPY to staging + process_staged_usage_file) / floor (COPY of rated rows into usage_txn)' AS ratio,
       round((SELECT ms FROM m WHERE way = 'bulk') / (SELECT ms FROM m WHERE way = 'floor'), 2) AS value, 2.0 AS target
UNION ALL
SELECT 'jsonb (process_usage_file) / bulk',
       round((SELECT ms FROM m WHERE way = 'jsonb') / (SELECT ms FROM m WHERE way = 'bulk'), 2), 1.3;
