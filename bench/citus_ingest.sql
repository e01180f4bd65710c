-- bench/citus.sh: master data and usage of one client in the database psql is connected to (the Citus one
-- or the plain one).  Variables: target (cluster | plain, for the output), rep, c (client id), accounts,
-- files, file_records.  Prints one line "RESULT <target> <rep> ingest <ms> - -": the time of the
-- process_usage_file calls alone (the files are built before the clock starts).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
\pset tuples_only on
\pset format unaligned

SELECT bench.master(:c, :accounts) \gset
-- the files, built in a temporary table (local to this session, also on the coordinator): untimed
CREATE TEMP TABLE bench_file AS
SELECT k, bench.usage_file(k, :file_records, :accounts)::text AS records FROM generate_series(1, :files) k;

-- Each file is passed as a constant (\gexec writes it into the statement), so that on Citus the call is
-- delegated to the client's worker: one round trip, the whole ingest on the worker.
SELECT clock_timestamp() AS t0 \gset
\o /dev/null
SELECT format('SELECT status FROM backout.process_usage_file(%s, %L, %L)', :c, 'usage_' || k || '.json', records)
FROM bench_file ORDER BY k \gexec
\o
SELECT bench.ms(:'t0') AS ms \gset
SELECT bench.ok(count(*) = :files AND sum(records_processed) = :files::bigint * :file_records,
                format('ingest of client %s: %s files, %s records', :c, count(*), sum(records_processed)))
FROM backout.usage_file WHERE client_id = :c \gset
\echo RESULT :target :rep ingest :ms - -
DROP TABLE bench_file;
-- statistics of the tables the timed steps read, as autovacuum would soon have them (untimed; on Citus the
-- coordinator's ANALYZE goes to every shard)
ANALYZE backout.usage_txn;
ANALYZE backout.usage_day_count;
ANALYZE backout.commitment_balance;
