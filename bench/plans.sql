-- Plans that do not depend on luck (issue 21): each piece of work timed in the state statistics cannot know
-- (a fresh install, a table grown by orders of magnitude, a load just before) and, as its baseline in the
-- same run, after ANALYZE.  Prints both sides of every ratio.  Autovacuum is off for the whole run, so that
-- "never analyzed" stays true.  Run by scripts/bench.sh plans (a throwaway cluster).
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
ALTER SYSTEM SET autovacuum = off;
SELECT pg_reload_conf() AS reloaded \gset
\set accounts 10000

-- master data of a client of 10,000 accounts (half with an AMOUNT commitment, a tenth with a custom price)
\set master 'INSERT INTO backout.client (client_id, name) VALUES (1, ''Bench''); INSERT INTO backout.account SELECT 1, n, ''A-'' || n FROM generate_series(1, :accounts) n; INSERT INTO backout.billing_profile SELECT 1, n, ''2026-03-01'', ''2026-04-01'' FROM generate_series(1, :accounts) n; INSERT INTO backout.usage_type VALUES (1, 1, ''VOICE'', ''Voice'', ''minute''), (1, 2, ''DATA'', ''Data'', ''GB''); INSERT INTO backout.price_offer (client_id, usage_type_no, acct_no, unit_price) VALUES (1, 1, NULL, 0.02), (1, 2, NULL, 1.5); INSERT INTO backout.price_offer (client_id, usage_type_no, acct_no, unit_price) SELECT 1, 1, n, 0.015 FROM generate_series(1, :accounts, 10) n; INSERT INTO backout.commitment_contract SELECT 1, n, ''2026-03-01'', ''2026-04-01'', ''AMOUNT'', 100, NULL FROM generate_series(1, :accounts, 2) n'
\set stage 'INSERT INTO backout.usage_staging (client_id, file_name, acct_no, usage_type_code, usage_date, units) SELECT 1, ''first.csv'', (1 + i % :accounts)::text, CASE WHEN i % 3 = 0 THEN ''DATA'' ELSE ''VOICE'' END, to_char(timestamp ''2026-03-01'' + (i % 2678400) * interval ''1 second'', ''YYYY-MM-DD HH24:MI:SS''), (1 + i % 97)::text FROM generate_series(1, 200000) i'
\set make_doc 'SELECT jsonb_agg(jsonb_build_object(''acct_no'', 1 + i % :accounts, ''usage_type_code'', ''VOICE'', ''usage_date'', to_char(timestamp ''2026-03-01'' + (i % 2678400) * interval ''1 second'', ''YYYY-MM-DD HH24:MI:SS''), ''units'', 1 + i % 50)) AS doc FROM generate_series(1, 50000) i'

------------------------------------------------------------------------------------------------------------
-- 1. The first ingest of a fresh install: 200,000 staged records, 50,000 jsonb records; staging and usage
--    never analyzed, against the same after ANALYZE.
------------------------------------------------------------------------------------------------------------
-- Three times, the fresh and the analyzed database alternating which goes first; each counts its fastest.
\set k 1
\ir plans_first_ingest.sql
\set k 2
\ir plans_first_ingest.sql
\set k 3
\ir plans_first_ingest.sql
SELECT least(:staged_fresh_1, :staged_fresh_2, :staged_fresh_3) AS staged_fresh,
       least(:staged_analyzed_1, :staged_analyzed_2, :staged_analyzed_3) AS staged_analyzed,
       least(:json_fresh_1, :json_fresh_2, :json_fresh_3) AS json_fresh,
       least(:json_analyzed_1, :json_analyzed_2, :json_analyzed_3) AS json_analyzed \gset

------------------------------------------------------------------------------------------------------------
-- 2. Two clients billed (and undone) back to back in a database never analyzed, four times; the baseline is
--    a third client of the same shape billed after ANALYZE in the same database.
------------------------------------------------------------------------------------------------------------
\set round 1
\ir plans_round.sql
\set round 2
\ir plans_round.sql
\set round 3
\ir plans_round.sql
\set round 4
\ir plans_round.sql

------------------------------------------------------------------------------------------------------------
-- 3. One client's billing and undo with about 1M, 5M and 10M rows in usage_txn (after ANALYZE), and a
--    client billed right after its load (autovacuum off, no ANALYZE) against one billed after ANALYZE.
------------------------------------------------------------------------------------------------------------
\ir plans_sizes.sql

\c postgres
ALTER SYSTEM RESET autovacuum;
SELECT pg_reload_conf() AS reloaded \gset
SELECT * FROM (VALUES
    ('first ingest, 200k staged records', :staged_fresh, :staged_analyzed),
    ('first ingest, 50k jsonb records', :json_fresh, :json_analyzed),
    ('billing, 1st client, no ANALYZE, round 1', :bill1_1, :billa_1),
    ('billing, 2nd client, no ANALYZE, round 1', :bill2_1, :billa_1),
    ('undo, 2nd client, no ANALYZE, round 1', :undo2_1, :undoa_1),
    ('billing, 1st client, no ANALYZE, round 2', :bill1_2, :billa_2),
    ('billing, 2nd client, no ANALYZE, round 2', :bill2_2, :billa_2),
    ('undo, 2nd client, no ANALYZE, round 2', :undo2_2, :undoa_2),
    ('billing, 1st client, no ANALYZE, round 3', :bill1_3, :billa_3),
    ('billing, 2nd client, no ANALYZE, round 3', :bill2_3, :billa_3),
    ('undo, 2nd client, no ANALYZE, round 3', :undo2_3, :undoa_3),
    ('billing, 1st client, no ANALYZE, round 4', :bill1_4, :billa_4),
    ('billing, 2nd client, no ANALYZE, round 4', :bill2_4, :billa_4),
    ('undo, 2nd client, no ANALYZE, round 4', :undo2_4, :undoa_4),
    ('billing, 1st client, no ANALYZE, four rounds', :bill1_1 + :bill1_2 + :bill1_3 + :bill1_4, :billa_1 + :billa_2 + :billa_3 + :billa_4),
    ('billing, 2nd client, no ANALYZE, four rounds', :bill2_1 + :bill2_2 + :bill2_3 + :bill2_4, :billa_1 + :billa_2 + :billa_3 + :billa_4),
    ('undo, 2nd client, no ANALYZE, four rounds', :undo2_1 + :undo2_2 + :undo2_3 + :undo2_4, :undoa_1 + :undoa_2 + :undoa_3 + :undoa_4),
    ('billing right after its load vs after ANALYZE', :bill_loaded, :bill_after_analyze),
    ('billing at 1M rows vs the ~1M reference beside it', :bill_1m, :ref_bill_1m),
    ('billing at 5M rows vs the ~1M reference beside it', :bill_5m, :ref_bill_5m),
    ('billing at 10M rows vs the ~1M reference beside it', :bill_10m, :ref_bill_10m),
    ('undo at 1M rows vs the ~1M reference beside it', :undo_1m, :ref_undo_1m),
    ('undo at 5M rows vs the ~1M reference beside it', :undo_5m, :ref_undo_5m),
    ('undo at 10M rows vs the ~1M reference beside it', :undo_10m, :ref_undo_10m),
    ('billing at 5M rows vs at 1M, minutes apart', :bill_5m, :bill_1m),
    ('billing at 10M rows vs at 1M, minutes apart', :bill_10m, :bill_1m),
    ('undo at 5M rows vs at 1M, minutes apart', :undo_5m, :undo_1m),
    ('undo at 10M rows vs at 1M, minutes apart', :undo_10m, :undo_1m)
) AS r(work, ms, baseline_ms), LATERAL (SELECT round(ms::numeric / greatest(baseline_ms, 1), 2) AS ratio) AS x;
\echo 'Buffers touched (shared hit + read; first round of each size): the work, whatever the machine''s load'
SELECT * FROM (VALUES
    ('billing at 5M rows vs at 1M', :blocks_bill_5m, :blocks_bill_1m),
    ('billing at 10M rows vs at 1M', :blocks_bill_10m, :blocks_bill_1m),
    ('undo at 5M rows vs at 1M', :blocks_undo_5m, :blocks_undo_1m),
    ('undo at 10M rows vs at 1M', :blocks_undo_10m, :blocks_undo_1m),
    ('billing at 10M rows vs its ~1M reference', :blocks_bill_10m, :ref_blocks_bill_10m),
    ('undo at 10M rows vs its ~1M reference', :blocks_undo_10m, :ref_blocks_undo_10m)
) AS r(work, blocks, baseline_blocks), LATERAL (SELECT round(blocks::numeric / greatest(baseline_blocks, 1), 2) AS ratio) AS x;
