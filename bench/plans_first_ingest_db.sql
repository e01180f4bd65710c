-- bench/plans_first_ingest.sql, one database (:db, :analyze, :is_staged and :result set): a fresh install,
-- the master data, the first file (200k staged records or 50k jsonb records), ANALYZE or not; sets :result
-- to the file's ingest time (ms).
\c :db
SET client_min_messages = warning;
CREATE EXTENSION pg_backout;
:master;
\if :is_staged
:stage;
\endif
\if :analyze
ANALYZE;
\endif
\if :is_staged
SELECT clock_timestamp() AS t0 \gset
SELECT status AS s FROM backout.process_staged_usage_file(1, 'first.csv') \gset
\else
:make_doc \gset
SELECT clock_timestamp() AS t0 \gset
SELECT status AS s FROM backout.process_usage_file(1, 'first.json', :'doc') \gset
\endif
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000) AS :result \gset
