-- One round of bench/plans.sql section 2 (\ir, :round set): a database never analyzed, where two clients are
-- billed and the second undone back to back, and beside it a database of the same clients, analyzed, where a
-- third client of the same shape is billed and undone (the baseline).  Each piece of work runs three times
-- (undone in between, the first database still never analyzed) and counts its fastest run; the two
-- databases' runs alternate, so that both sides of a ratio are measured minutes apart at most (one run
-- alone moved by a quarter from round to round on this shared machine, whichever plan it had).
SELECT format('plans_round_%s', :round) AS db, format('plans_round_%s_analyzed', :round) AS dba \gset
\c postgres
CREATE DATABASE :"db";
CREATE DATABASE :"dba";
\c :dba
SET client_min_messages = warning;
SET pg_backout.start_runners = off;
CREATE EXTENSION pg_backout;
\ir fixture_clients.sql
SELECT pg_temp.bench_client(c, '2026-04-01'), pg_temp.bench_month(c, '2026-04-01') FROM unnest(ARRAY[11, 12, 13]) c;
ANALYZE;
\c :db
SET client_min_messages = warning;
SET pg_backout.start_runners = off;
CREATE EXTENSION pg_backout;
\ir fixture_clients.sql
SELECT pg_temp.bench_client(11, '2026-04-01'), pg_temp.bench_month(11, '2026-04-01');
SELECT pg_temp.bench_client(12, '2026-04-01'), pg_temp.bench_month(12, '2026-04-01');
\set pass 1
\ir plans_round_pass.sql
\set pass 2
\ir plans_round_pass.sql
\set pass 3
\ir plans_round_pass.sql
SELECT least(:bill1_p1, :bill1_p2, :bill1_p3) AS bill1_:round, least(:bill2_p1, :bill2_p2, :bill2_p3) AS bill2_:round,
       least(:undo2_p1, :undo2_p2, :undo2_p3) AS undo2_:round,
       least(:billa_p1, :billa_p2, :billa_p3) AS billa_:round, least(:undoa_p1, :undoa_p2, :undoa_p3) AS undoa_:round \gset
SELECT status, count(*) FROM backout.operations GROUP BY 1 ORDER BY 1;
