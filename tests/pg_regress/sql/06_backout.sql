-- Back out usage files (SPEC §3 backout_usage_file_transactions): both situations of the reference end to
-- end, compared with a twin client that never saw the bad file; resubmission of a backed-out file; the
-- preview; retries; the operations view; every rejection.  Helpers (regress.*) come from 00_setup.
SET datestyle = 'ISO, YMD';

-- The file processed in error (March usage of accounts 1 and 2, and one April record of account 1) and
-- its corrected version.
CREATE FUNCTION pg_temp.bad_file() RETURNS jsonb LANGUAGE sql AS $$ SELECT '[
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-20 10:00:00", "units": 300},
  {"acct_no": 2, "usage_type_code": "CALL", "usage_date": "2026-03-21 10:00:00", "units": 100},
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-04-03 10:00:00", "units": 20}]'::jsonb $$;
CREATE FUNCTION pg_temp.fixed_file() RETURNS jsonb LANGUAGE sql AS $$ SELECT '[
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-20 10:00:00", "units": 30}]'::jsonb $$;
CREATE FUNCTION pg_temp.april_file() RETURNS jsonb LANGUAGE sql AS $$ SELECT '[
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-04-05 10:00:00", "units": 10}]'::jsonb $$;

------------------------------------------------------------------------------------------------------------
-- Situation 1: file processed in error, billing not yet run.  Back out (undo_billing false), resubmit the
-- corrected file under the same name, run billing.  Twin 7002 only ever had the corrected file.
------------------------------------------------------------------------------------------------------------
SELECT regress.make_client(7001, 0.10, 40);
SELECT status FROM backout.process_usage_file(7001, 'march.json', regress.march_file());
SELECT status FROM backout.process_usage_file(7001, 'dup.json', pg_temp.bad_file());
SELECT acct_no, period_start, consumed_amount, consumed_units
FROM backout.commitment_balance WHERE client_id = 7001 ORDER BY 1, 2;

SELECT backout_batch_id IS NOT NULL AS has_id, file_names, client_id, status, error_message, error_code, files_not_found
FROM backout.backout_usage_file_transactions('dup.json', 7001, 'ops.admin', false) \gset
\echo :has_id :file_names :status
SELECT backout_batch_id AS b1 FROM backout.backout_batch WHERE client_id = 7001 \gset
SELECT backout.wait_for_batch(:'b1', '60 seconds');
SELECT file_names, client_id, user_id, status, transactions_deleted, cdr_stats_deleted,
       create_date <= update_date AS dated, error_code, error_message, files_not_found,
       billing_records_reversed, accounts_reset
FROM backout.get_usage_file_txns_backout_status(:'b1', 7001);
-- the file's usage, its balance contribution and its stats row are gone; march.json is untouched
SELECT file_name, count(*) FROM backout.usage_txn WHERE client_id = 7001 GROUP BY 1 ORDER BY 1;
SELECT file_name FROM backout.usage_file WHERE client_id = 7001 ORDER BY 1;
SELECT acct_no, period_start, consumed_amount, consumed_units
FROM backout.commitment_balance WHERE client_id = 7001 ORDER BY 1, 2;
-- the claim on the file was released with the batch
SELECT count(*) AS claims FROM backout.backout_file_claim WHERE client_id = 7001;

-- resubmit the corrected file under the same name (no longer a duplicate), then bill
SELECT status, records_processed FROM backout.process_usage_file(7001, 'dup.json', pg_temp.fixed_file());
SELECT status, accounts_billed, total_amount FROM backout.run_billing(7001, '2026-04-01');

SELECT regress.make_client(7002, 0.10, 40);
SELECT status FROM backout.process_usage_file(7002, 'march.json', regress.march_file());
SELECT status FROM backout.process_usage_file(7002, 'dup.json', pg_temp.fixed_file());
SELECT status, accounts_billed, total_amount FROM backout.run_billing(7002, '2026-04-01');
SELECT * FROM regress.state_diff(7001, 7002) ORDER BY 1, 2, 3, 4;
SELECT count(*) AS compared_rows FROM regress.billing_state(7001);

------------------------------------------------------------------------------------------------------------
-- Situation 2: file processed in error and billing has run; April usage arrived after the run.  Back out
-- with undo_billing, resubmit the corrected file, re-run billing for the date.  Twin 7004: a clean run.
------------------------------------------------------------------------------------------------------------
SELECT regress.make_client(7003, 0.10, 40);
SELECT status FROM backout.process_usage_file(7003, 'march.json', regress.march_file());
SELECT status FROM backout.process_usage_file(7003, 'dup.json', pg_temp.bad_file());
SELECT status, accounts_billed, total_amount FROM backout.run_billing(7003, '2026-04-01');
SELECT status FROM backout.process_usage_file(7003, 'april.json', pg_temp.april_file());

-- the preview: per file, what would be deleted and reversed; nothing changes
SELECT * FROM backout.preview_backout_usage_file_transactions('dup.json,ghost.json', 7003, undo_billing => true);
SELECT file_name, transactions, billed_transactions, billing_records_to_reverse, action
FROM backout.preview_backout_usage_file_transactions('dup.json', 7003);
SELECT count(*) AS usage, count(billing_batch_id) AS billed FROM backout.usage_txn WHERE client_id = 7003;

-- without undo_billing: refused, nothing deleted (a retry id given: the same row is retried below)
SELECT backout_batch_id, status, error_message, error_code
FROM backout.backout_usage_file_transactions('dup.json', 7003, 'ops.admin', false,
                                             'b0000000-0000-4000-8000-000000000001');
SELECT backout.wait_for_batch('b0000000-0000-4000-8000-000000000001', '60 seconds');
SELECT status, error_code, error_message, transactions_deleted
FROM backout.get_usage_file_txns_backout_status('b0000000-0000-4000-8000-000000000001', 7003);
SELECT count(*) AS usage, count(billing_batch_id) AS billed FROM backout.usage_txn WHERE client_id = 7003;
SELECT count(*) AS claims FROM backout.backout_file_claim WHERE client_id = 7003;

-- retry the same id with undo_billing: the audit row is overwritten, not duplicated
SELECT backout_batch_id, file_names, status, error_message, error_code, files_not_found
FROM backout.backout_usage_file_transactions('dup.json', 7003, 'ops.lead', true,
                                             'b0000000-0000-4000-8000-000000000001');
SELECT backout.wait_for_batch('b0000000-0000-4000-8000-000000000001', '60 seconds');
SELECT file_names, user_id, status, transactions_deleted, cdr_stats_deleted, error_code, error_message,
       files_not_found, billing_records_reversed, accounts_reset
FROM backout.get_usage_file_txns_backout_status('b0000000-0000-4000-8000-000000000001', 7003);
SELECT count(*) AS rows, max(attempts) AS attempts FROM backout.backout_batch
WHERE backout_batch_id = 'b0000000-0000-4000-8000-000000000001';

-- accounts 1 and 2 (which the file's usage reached) are back to their period; account 3 stays billed;
-- their usage from march.json is unbilled again; the date's job schedule is gone
SELECT acct_no, last_bill_date, next_bill_date FROM backout.billing_profile WHERE client_id = 7003 ORDER BY 1;
SELECT file_name, count(*), count(billing_batch_id) AS billed FROM backout.usage_txn WHERE client_id = 7003 GROUP BY 1 ORDER BY 1;
SELECT i.acct_no, b.status FROM backout.invoice i JOIN backout.billing_batch b USING (client_id, billing_batch_id)
WHERE i.client_id = 7003 ORDER BY 1;
SELECT count(*) AS schedules FROM backout.job_schedule WHERE client_id = 7003;
-- the April record of april.json keeps counting in its bucket
SELECT acct_no, period_start, consumed_amount, consumed_units, true_up_amount
FROM backout.commitment_balance WHERE client_id = 7003 ORDER BY 1, 2;

-- a retry of the completed batch returns it as it is
SELECT backout_batch_id, status, error_message, error_code
FROM backout.backout_usage_file_transactions('dup.json', 7003, 'ops.lead', true,
                                             'b0000000-0000-4000-8000-000000000001');
-- with zero transactions found, billing is left untouched
SELECT count(*) AS records_before FROM backout.billing_record WHERE client_id = 7003 \gset
SELECT backout_batch_id AS b2, status, files_not_found
FROM backout.backout_usage_file_transactions('ghost.json', 7003, 'ops.admin', true) \gset
\echo :status :files_not_found
SELECT backout.wait_for_batch(:'b2', '60 seconds');
SELECT status, transactions_deleted, cdr_stats_deleted, files_not_found, billing_records_reversed, accounts_reset
FROM backout.get_usage_file_txns_backout_status(:'b2', 7003);
SELECT count(*) = :records_before AS billing_untouched FROM backout.billing_record WHERE client_id = 7003;

-- resubmit the corrected file and re-run billing for the date: only accounts 1 and 2 are billed
SELECT status, records_processed FROM backout.process_usage_file(7003, 'dup.json', pg_temp.fixed_file());
SELECT status, accounts_billed, total_amount FROM backout.run_billing(7003, '2026-04-01');

SELECT regress.make_client(7004, 0.10, 40);
SELECT status FROM backout.process_usage_file(7004, 'march.json', regress.march_file());
SELECT status FROM backout.process_usage_file(7004, 'dup.json', pg_temp.fixed_file());
SELECT status, accounts_billed, total_amount FROM backout.run_billing(7004, '2026-04-01');
SELECT status FROM backout.process_usage_file(7004, 'april.json', pg_temp.april_file());
SELECT * FROM regress.state_diff(7003, 7004) ORDER BY 1, 2, 3, 4;
SELECT count(*) AS compared_rows FROM regress.billing_state(7003);

-- the one place a DBA looks: every operation of the client, newest first
SELECT operation, request, user_id, status, error_code, counts, duration IS NOT NULL AS has_duration
FROM backout.operations WHERE client_id = 7003;
-- undos (04_undo) and clears (05_clear) are there too, and the whole view is newest first
SELECT operation, status, count(*) FROM backout.operations WHERE client_id IN (5001, 6001, 7003) GROUP BY 1, 2 ORDER BY 1, 2;
SELECT bool_and(created_at <= previous) AS newest_first
FROM (SELECT created_at, lag(created_at) OVER () AS previous FROM backout.operations) AS o;

------------------------------------------------------------------------------------------------------------
-- Rejections: a clear message, an ERROR row (when the client is given), nothing changed
------------------------------------------------------------------------------------------------------------
SELECT r.file_names, r.status, r.error_code, r.error_message
FROM (VALUES (1, 'a.json,,b.json'), (2, 'a.json, b.json'), (3, 'a.json,'), (4, ''), (5, 'in/a.json'),
             (6, 'C:\a.json'), (7, NULL)) AS bad(n, f)
CROSS JOIN LATERAL backout.backout_usage_file_transactions(bad.f, 7001, 'ops.admin', false) AS r
ORDER BY bad.n;
SELECT status, error_code, error_message FROM backout.backout_usage_file_transactions('dup.json', 7001, NULL, false);
SELECT status, error_code, error_message FROM backout.backout_usage_file_transactions('dup.json', 7001, '  ', false);
SELECT status, error_code, error_message FROM backout.backout_usage_file_transactions('dup.json', 7001, 'ops', NULL);
SELECT status, error_code, error_message FROM backout.backout_usage_file_transactions('dup.json', 999999, 'ops', false);
SELECT backout_batch_id, client_id, status, error_code, error_message
FROM backout.backout_usage_file_transactions('dup.json', NULL, 'ops', false);
-- every rejection with a client is recorded (the NULL-client one has nothing to be filed under)
SELECT client_id, file_names, status, error_code FROM backout.backout_batch
WHERE client_id IN (7001, 999999) AND status = 'ERROR' ORDER BY create_date, file_names;

-- one backout per (client, file), also within one transaction; disjoint files are accepted
BEGIN;
SET LOCAL pg_backout.start_runners = off;
SELECT status, files_not_found FROM backout.backout_usage_file_transactions('march.json,dup.json,march.json', 7001, 'ops', false);
-- duplicates collapse: the list as given is kept, the parsed list names each file once
SELECT file_names, file_list FROM backout.backout_batch WHERE client_id = 7001 AND status = 'PROCESSING';
SELECT status, error_code, error_message FROM backout.backout_usage_file_transactions('dup.json,other.json', 7001, 'ops', false);
SELECT status, error_code, error_message FROM backout.backout_usage_file_transactions('dup.json', 7001, 'ops', false);
SELECT status, error_code, files_not_found FROM backout.backout_usage_file_transactions('other.json', 7001, 'ops', false);
-- the same file of another client is another file
SELECT status FROM backout.backout_usage_file_transactions('dup.json', 7002, 'ops', false);
SELECT client_id, file_name FROM backout.backout_file_claim ORDER BY 1, 2;
-- clear and a retry are refused while it is PROCESSING
SELECT status, error_code FROM backout.clear_job_schedule(7001, '2026-04-01');
SELECT backout_batch_id AS running FROM backout.backout_batch WHERE client_id = 7001 AND status = 'PROCESSING'
ORDER BY create_date LIMIT 1 \gset
SELECT status, error_code, error_message = format('backout batch %s is still PROCESSING; retry it only after it ends in ERROR', :'running') AS message_ok
FROM backout.backout_usage_file_transactions('march.json,dup.json', 7001, 'ops', false, :'running');
ROLLBACK;

-- a batch id names one request of one client: another client giving the same id submits a request of its
-- own (answered as for an id never used), and the first client's request is untouched
SELECT backout_batch_id = 'b0000000-0000-4000-8000-000000000001' AS same_id, status, error_code, error_message
FROM backout.backout_usage_file_transactions('never-ingested.json', 7001, 'ops', false, 'b0000000-0000-4000-8000-000000000001');
SELECT client_id, file_names, status FROM backout.backout_batch
WHERE backout_batch_id = 'b0000000-0000-4000-8000-000000000001' ORDER BY client_id;
-- (a caller who sees both clients waits until neither is PROCESSING)
SELECT backout.wait_for_batch('b0000000-0000-4000-8000-000000000001', '60 seconds');
SELECT status, error_code, error_message
FROM backout.get_usage_file_txns_backout_status('b0000000-0000-4000-8000-000000000001', 7001);
SELECT status, error_code, error_message
FROM backout.get_usage_file_txns_backout_status('c0000000-0000-4000-8000-000000000009', 7003);
SELECT status, error_code, error_message FROM backout.get_usage_file_txns_backout_status(NULL, 7003);
-- a completed id retried for other files
SELECT status, error_code, error_message
FROM backout.backout_usage_file_transactions('march.json', 7003, 'ops', true, 'b0000000-0000-4000-8000-000000000001');

-- the preview checks its input like the submission
SELECT * FROM backout.preview_backout_usage_file_transactions('a.json,,b.json', 7001);
SELECT * FROM backout.preview_backout_usage_file_transactions('a.json', 999999);
