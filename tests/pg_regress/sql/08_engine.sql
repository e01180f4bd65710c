-- The batch engine as a DBA sees it (SPEC §1, §5): cancel, an ingest racing a backout of the same file,
-- the operations view's engine columns, audit retention, and arguments the engine functions refuse.
-- Crashes, kills, retries and timeouts are in tests/crash/restart.sh; interleavings in tests/isolation.
SET datestyle = 'ISO, YMD';
SELECT regress.make_client(9101, 0.10, 100);
SELECT status FROM backout.process_usage_file(9101, 'march.json', regress.march_file());
SELECT status FROM backout.run_billing(9101, '2026-04-01');

-- A file claimed by a PROCESSING backout cannot be ingested (the backout would delete it right after).
-- Runners are off and the batch is not committed: nothing runs it meanwhile.
BEGIN;
SET LOCAL pg_backout.start_runners = off;
SELECT status FROM backout.backout_usage_file_transactions('late.json', 9101, 'ops');
SELECT status, error_code, regexp_replace(error_message, '[0-9a-f-]{36}', '<uuid>') AS error_message
FROM backout.process_usage_file(9101, 'late.json', regress.late_file());
-- cancel it while it waits: ERROR / CANCELLED at once, its file claim released
SELECT status, error_code, error_message
FROM backout.cancel_batch((SELECT backout_batch_id FROM backout.backout_batch WHERE client_id = 9101), 9101);
SELECT count(*) AS claims FROM backout.backout_file_claim WHERE client_id = 9101;
SELECT status, records_processed FROM backout.process_usage_file(9101, 'late.json', regress.late_file());
COMMIT;
SELECT status, error_code, error_message FROM backout.backout_batch WHERE client_id = 9101;

-- cancelling a batch that already ended, or someone else's, or nothing
SELECT status, error_code, regexp_replace(error_message, '[0-9a-f-]{36}', '<uuid>') AS error_message
FROM backout.cancel_batch((SELECT backout_batch_id FROM backout.backout_batch WHERE client_id = 9101), 9101);
SELECT status, error_code, regexp_replace(error_message, '[0-9a-f-]{36}', '<uuid>') AS error_message
FROM backout.cancel_batch((SELECT backout_batch_id FROM backout.backout_batch WHERE client_id = 9101), 5001);
SELECT status, error_code, error_message FROM backout.cancel_batch(NULL, 9101);
SELECT status, error_code, error_message FROM backout.cancel_batch(gen_random_uuid(), NULL);

-- a batch runs once, in the background, and says so in the operations view
SELECT undo_batch_id AS undo FROM backout.undo_job_schedule('2026-04-01', 9101) \gset
SELECT backout.wait_for_batch(:'undo', '60 seconds');
SELECT operation, status, run_attempts, runner_pid, last_error, error_sqlstate
FROM backout.operations WHERE client_id = 9101 ORDER BY queue_seq NULLS LAST, operation;

-- Reads are read-only: a status check, a wait and a preview take no transaction id (they work on a hot
-- standby, tests/crash/restart.sh, and write no WAL)
BEGIN;
SELECT status FROM backout.get_undo_job_schedule_status(:'undo', 9101);
SELECT backout.wait_for_batch(:'undo', '1 second');
SELECT count(*) FROM backout.preview_backout_usage_file_transactions('march.json', 9101);
SELECT status FROM backout.get_usage_file_txns_backout_status(gen_random_uuid(), 9101);
SELECT pg_current_xact_id_if_assigned() IS NULL AS no_transaction_id;
COMMIT;

-- wait_for_batch and run_next_batch refuse what they cannot answer
SELECT regress.error_of($$SELECT backout.wait_for_batch(NULL)$$);
SELECT regress.error_of($$SELECT backout.wait_for_batch(gen_random_uuid(), NULL)$$);
SELECT kind, status FROM backout.run_next_batch(424242);

-- audit retention: finished rows older than the cutoff go, PROCESSING ones never
SELECT audit_table, rows_deleted FROM backout.prune_audit('100 years');
UPDATE backout.backout_batch SET create_date = create_date - interval '200 days', update_date = update_date - interval '200 days'
WHERE client_id = 9101;
SELECT audit_table, rows_deleted FROM backout.prune_audit('90 days');
SELECT count(*) AS backouts_left FROM backout.backout_batch WHERE client_id = 9101;
SELECT regress.error_of($$SELECT * FROM backout.prune_audit(NULL)$$);
