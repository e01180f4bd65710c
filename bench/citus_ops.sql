-- bench/citus.sh: the timed operations on one client (ingested by citus_ingest.sql, in the same session), in
-- the database psql is connected to.  Variables: target, rep, c, accounts, files, file_records, bdate.
-- Every call has constant arguments, so on Citus it is delegated to the client's worker.  Each step prints
-- "RESULT <target> <rep> <step> <ms> <batch id or -> <total_amount or ->"; ms runs from just before the
-- call to just after it (for a batch: submission, then wait_for_batch until it left PROCESSING), on the
-- coordinator's clock, round trips included.  Each step's outcome is checked after the clock stopped.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
\pset tuples_only on
\pset format unaligned

-- 1. the billing run: every account due on :bdate
SELECT clock_timestamp() AS t0 \gset
SELECT status, coalesce(accounts_billed, -1) AS billed, coalesce(total_amount, -1) AS total1,
       coalesce(error_message, '') AS err
FROM backout.run_billing(:c, :'bdate') \gset
SELECT bench.ms(:'t0') AS ms \gset
SELECT bench.ok(:'status' = 'COMPLETED' AND :billed = :accounts,
                format('run_billing of client %s: %s, %s accounts billed %s', :c, :'status', :billed, :'err')) \gset
\echo RESULT :target :rep run_billing :ms - :total1

-- 2. undo it, keeping the usage (situation 2 of the README: missed usage)
SELECT clock_timestamp() AS t0 \gset
SELECT undo_batch_id, status, coalesce(error_message, '') AS err
FROM backout.undo_job_schedule(:'bdate', :c, user_id => 'bench') \gset
SELECT bench.ok(:'status' = 'PROCESSING', format('undo of client %s submitted: %s %s', :c, :'status', :'err')) \gset
SELECT backout.wait_for_batch(:'undo_batch_id', '1 hour') AS status \gset
SELECT bench.ms(:'t0') AS ms \gset
SELECT bench.ok(:'status' = 'COMPLETED', format('undo %s of client %s ended %s', :'undo_batch_id', :c, :'status')) \gset
SELECT bench.ok(count(*) = 0, format('client %s has %s invoices after the undo', :c, count(*)))
FROM backout.invoice WHERE client_id = :c \gset
\echo RESULT :target :rep undo_job_schedule :ms :undo_batch_id -

-- 3. the same run again: the same usage, the same total
SELECT clock_timestamp() AS t0 \gset
SELECT status, coalesce(accounts_billed, -1) AS billed, coalesce(total_amount, -1) AS total2,
       coalesce(error_message, '') AS err
FROM backout.run_billing(:c, :'bdate') \gset
SELECT bench.ms(:'t0') AS ms \gset
SELECT bench.ok(:'status' = 'COMPLETED' AND :billed = :accounts AND :total2 = :total1,
                format('second run_billing of client %s: %s, %s accounts, total %s (first %s) %s',
                       :c, :'status', :billed, :total2, :total1, :'err')) \gset
\echo RESULT :target :rep run_billing_again :ms - :total2

-- 4. back out the first usage file with its billing (situation 2 of the backout: a file processed in error
--    and billed): every account's invoice is reversed (each file reaches every account), the file's
--    records are deleted
SELECT clock_timestamp() AS t0 \gset
SELECT backout_batch_id, status, coalesce(error_message, '') AS err
FROM backout.backout_usage_file_transactions('usage_1.json', :c, 'bench', undo_billing => true) \gset
SELECT bench.ok(:'status' = 'PROCESSING', format('backout of client %s submitted: %s %s', :c, :'status', :'err')) \gset
SELECT backout.wait_for_batch(:'backout_batch_id', '1 hour') AS status \gset
SELECT bench.ms(:'t0') AS ms \gset
SELECT bench.ok(:'status' = 'COMPLETED', format('backout %s of client %s ended %s', :'backout_batch_id', :c, :'status')) \gset
SELECT bench.ok((SELECT count(*) FROM backout.invoice WHERE client_id = :c) = 0
                AND (SELECT count(*) FROM backout.usage_txn WHERE client_id = :c) = (:files - 1)::bigint * :file_records,
                format('client %s after the backout: invoices or usage left over', :c)) \gset
\echo RESULT :target :rep backout_undo_billing :ms :backout_batch_id -
