-- bench/plans.sql section 1, repetition :k (\ir): the first ingest of a fresh install (staging and usage never
-- analyzed) and the same after ANALYZE, each in a database of its own (plans_first_ingest_db.sql); on even
-- repetitions the analyzed database goes first.
\c postgres
SELECT format('plans_staged_fresh_%s', :k) AS db_sf, format('plans_staged_analyzed_%s', :k) AS db_sa,
       format('plans_json_fresh_%s', :k) AS db_jf, format('plans_json_analyzed_%s', :k) AS db_ja,
       :k % 2 = 1 AS fresh_first \gset
CREATE DATABASE :"db_sf";
CREATE DATABASE :"db_sa";
CREATE DATABASE :"db_jf";
CREATE DATABASE :"db_ja";
-- the staged file, then the jsonb one; each pair fresh first or analyzed first
SELECT CASE WHEN :'fresh_first'::boolean THEN :'db_sf' ELSE :'db_sa' END AS db, NOT :'fresh_first'::boolean AS analyze, true AS is_staged,
       format('staged_%s_%s', CASE WHEN :'fresh_first'::boolean THEN 'fresh' ELSE 'analyzed' END, :k) AS result \gset
\ir plans_first_ingest_db.sql
SELECT CASE WHEN :'fresh_first'::boolean THEN :'db_sa' ELSE :'db_sf' END AS db, :'fresh_first'::boolean AS analyze, true AS is_staged,
       format('staged_%s_%s', CASE WHEN :'fresh_first'::boolean THEN 'analyzed' ELSE 'fresh' END, :k) AS result \gset
\ir plans_first_ingest_db.sql
SELECT CASE WHEN :'fresh_first'::boolean THEN :'db_jf' ELSE :'db_ja' END AS db, NOT :'fresh_first'::boolean AS analyze, false AS is_staged,
       format('json_%s_%s', CASE WHEN :'fresh_first'::boolean THEN 'fresh' ELSE 'analyzed' END, :k) AS result \gset
\ir plans_first_ingest_db.sql
SELECT CASE WHEN :'fresh_first'::boolean THEN :'db_ja' ELSE :'db_jf' END AS db, :'fresh_first'::boolean AS analyze, false AS is_staged,
       format('json_%s_%s', CASE WHEN :'fresh_first'::boolean THEN 'analyzed' ELSE 'fresh' END, :k) AS result \gset
\ir plans_first_ingest_db.sql
