-- bench/plans.sql section 1, repetition :k (\ir): the first ingest of a fresh install (staging and usage never
-- analyzed) and the same after ANALYZE, each in a database of its own; on even repetitions the analyzed
-- database goes first.
\c postgres
SELECT format('plans_staged_fresh_%s', :k) AS db_sf, format('plans_staged_analyzed_%s', :k) AS db_sa,
       format('plans_json_fresh_%s', :k) AS db_jf, format('plans_json_analyzed_%s', :k) AS db_ja \gset
CREATE DATABASE :"db_sf";
CREATE DATABASE :"db_sa";
CREATE DATABASE :"db_jf";
CREATE DATABASE :"db_ja";

SELECT :k % 2 = 1 AS fresh_first \gset
\if :fresh_first
\c :db_sf
SET client_min_messages = warning;
CREATE EXTENSION pg_backout;
:master;
:stage;
SELECT clock_timestamp() AS t0 \gset
SELECT status AS s FROM backout.process_staged_usage_file(1, 'first.csv') \gset
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000) AS staged_fresh_:k \gset

\c :db_sa
SET client_min_messages = warning;
CREATE EXTENSION pg_backout;
:master;
:stage;
ANALYZE;
SELECT clock_timestamp() AS t0 \gset
SELECT status AS s FROM backout.process_staged_usage_file(1, 'first.csv') \gset
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000) AS staged_analyzed_:k \gset

\c :db_jf
SET client_min_messages = warning;
CREATE EXTENSION pg_backout;
:master;
:make_doc \gset
SELECT clock_timestamp() AS t0 \gset
SELECT status AS s FROM backout.process_usage_file(1, 'first.json', :'doc') \gset
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000) AS json_fresh_:k \gset

\c :db_ja
SET client_min_messages = warning;
CREATE EXTENSION pg_backout;
:master;
ANALYZE;
:make_doc \gset
SELECT clock_timestamp() AS t0 \gset
SELECT status AS s FROM backout.process_usage_file(1, 'first.json', :'doc') \gset
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000) AS json_analyzed_:k \gset
\else
\c :db_sa
SET client_min_messages = warning;
CREATE EXTENSION pg_backout;
:master;
:stage;
ANALYZE;
SELECT clock_timestamp() AS t0 \gset
SELECT status AS s FROM backout.process_staged_usage_file(1, 'first.csv') \gset
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000) AS staged_analyzed_:k \gset

\c :db_sf
SET client_min_messages = warning;
CREATE EXTENSION pg_backout;
:master;
:stage;
SELECT clock_timestamp() AS t0 \gset
SELECT status AS s FROM backout.process_staged_usage_file(1, 'first.csv') \gset
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000) AS staged_fresh_:k \gset

\c :db_ja
SET client_min_messages = warning;
CREATE EXTENSION pg_backout;
:master;
ANALYZE;
:make_doc \gset
SELECT clock_timestamp() AS t0 \gset
SELECT status AS s FROM backout.process_usage_file(1, 'first.json', :'doc') \gset
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000) AS json_analyzed_:k \gset
\c :db_jf
SET client_min_messages = warning;
CREATE EXTENSION pg_backout;
:master;
:make_doc \gset
SELECT clock_timestamp() AS t0 \gset
SELECT status AS s FROM backout.process_usage_file(1, 'first.json', :'doc') \gset
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000) AS json_fresh_:k \gset
\endif
