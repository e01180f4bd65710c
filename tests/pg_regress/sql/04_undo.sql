-- Undo a billing run (SPEC §3 undo_job_schedule): both situations of the reference end to end, the
-- central property (undo + documented re-run = a clean run on the corrected inputs, compared with a twin
-- client), and every rejection.  Batches run in the background; wait_for_batch waits for them.
SET datestyle = 'ISO, YMD';

-- helpers (regress.*) are created by 00_setup

------------------------------------------------------------------------------------------------------------
-- Situation 1, price correction: CALL was priced 0.20 instead of 0.10 and the AMOUNT commitment was 60
-- instead of 40.  Undo with discard_usage, correct, re-process the file, re-run.  Twin 5002 is the clean run.
------------------------------------------------------------------------------------------------------------
SELECT regress.make_client(5001, 0.20, 60);
SELECT status FROM backout.process_usage_file(5001, 'march.json', regress.march_file());
SELECT status, accounts_billed, records_written, total_amount FROM backout.run_billing(5001, '2026-04-01');

-- step 1: correct pricing first
UPDATE backout.price_offer SET unit_price = 0.10 WHERE client_id = 5001 AND usage_type_no = 10 AND acct_no IS NULL;
UPDATE backout.commitment_contract SET commitment_value = 40 WHERE client_id = 5001 AND kind = 'AMOUNT';

-- step 2: submit; the response is immediate
SELECT undo_batch_id IS NOT NULL AS has_id, status, error_code, error_message, client_id
FROM backout.undo_job_schedule('2026-04-01 00:00:00', 5001, discard_usage => true, user_id => 'ops.admin') \gset
\echo :has_id :status
SELECT undo_batch_id AS undo1 FROM backout.undo_batch WHERE client_id = 5001 \gset
-- step 3: wait (or poll get_undo_job_schedule_status)
SELECT backout.wait_for_batch(:'undo1', '60 seconds');
SELECT status, total_count, error_code, error_message, client_id
FROM backout.get_undo_job_schedule_status(:'undo1', 5001);
SELECT user_id, discard_usage, billing_date, billing_batches, accounts_reset, usage_unbilled, usage_deleted,
       cdr_stats_deleted, start_date >= create_date AS started_after_submit, update_date IS NOT NULL AS updated
FROM backout.undo_batch WHERE undo_batch_id = :'undo1';

-- everything the run did is gone: output, schedule, pointers rolled back; with discard the usage and its
-- file's stats row too, and the balances no longer count it
SELECT (SELECT count(*) FROM backout.billing_record WHERE client_id = 5001) AS records,
       (SELECT count(*) FROM backout.invoice WHERE client_id = 5001) AS invoices,
       (SELECT count(*) FROM backout.job_schedule WHERE client_id = 5001) AS schedules,
       (SELECT count(*) FROM backout.usage_txn WHERE client_id = 5001) AS usage,
       (SELECT count(*) FROM backout.usage_file WHERE client_id = 5001) AS files,
       (SELECT count(*) FROM backout.billing_balance_snapshot WHERE client_id = 5001) AS snapshots;
SELECT acct_no, last_bill_date, next_bill_date FROM backout.billing_profile WHERE client_id = 5001 ORDER BY acct_no;
SELECT acct_no, period_start, consumed_amount, consumed_units, true_up_amount, true_up_batch_id
FROM backout.commitment_balance WHERE client_id = 5001 ORDER BY acct_no, period_start;
SELECT billing_date, status, undone_by_batch_id = :'undo1' AS undone_by_this, undone_at IS NOT NULL AS undone
FROM backout.billing_batch WHERE client_id = 5001;

-- steps 4-5: re-process the file under corrected pricing, re-run billing
SELECT status, records_processed FROM backout.process_usage_file(5001, 'march.json', regress.march_file());
SELECT status, accounts_billed, records_written, total_amount FROM backout.run_billing(5001, '2026-04-01');

-- the clean run on the corrected inputs
SELECT regress.make_client(5002, 0.10, 40);
SELECT status FROM backout.process_usage_file(5002, 'march.json', regress.march_file());
SELECT status, accounts_billed, records_written, total_amount FROM backout.run_billing(5002, '2026-04-01');
SELECT * FROM regress.state_diff(5001, 5002) ORDER BY 1, 2, 3, 4;
SELECT count(*) AS compared_rows FROM regress.billing_state(5001);

------------------------------------------------------------------------------------------------------------
-- Situation 2, missed usage: a late file arrived after the run (March usage, and April usage that must keep
-- counting).  Undo keeping usage, re-run.  Twin 5004 processed both files before its run.
------------------------------------------------------------------------------------------------------------
SELECT regress.make_client(5003, 0.10, 40);
SELECT status FROM backout.process_usage_file(5003, 'march.json', regress.march_file());
SELECT status, total_amount FROM backout.run_billing(5003, '2026-04-01');
SELECT status FROM backout.process_usage_file(5003, 'late.json', regress.late_file());

SELECT undo_batch_id AS undo2 FROM backout.undo_job_schedule('2026-04-01', 5003) \gset
SELECT backout.wait_for_batch(:'undo2', '60 seconds');
SELECT status, total_count, error_code, error_message FROM backout.get_undo_job_schedule_status(:'undo2', 5003);
-- usage kept and unbilled; user_id omitted = the session user
SELECT user_id = session_user AS session_user_recorded, discard_usage, accounts_reset, usage_unbilled, usage_deleted
FROM backout.undo_batch WHERE undo_batch_id = :'undo2';
SELECT count(*) AS usage, count(*) FILTER (WHERE billing_batch_id IS NOT NULL) AS billed
FROM backout.usage_txn WHERE client_id = 5003;
-- balances: consumption from both files (the April record keeps counting), no true-up
SELECT acct_no, period_start, consumed_amount, consumed_units, true_up_amount
FROM backout.commitment_balance WHERE client_id = 5003 ORDER BY acct_no, period_start;

SELECT status, total_amount FROM backout.run_billing(5003, '2026-04-01');
SELECT regress.make_client(5004, 0.10, 40);
SELECT status FROM backout.process_usage_file(5004, 'march.json', regress.march_file());
SELECT status FROM backout.process_usage_file(5004, 'late.json', regress.late_file());
SELECT status, total_amount FROM backout.run_billing(5004, '2026-04-01');
SELECT * FROM regress.state_diff(5003, 5004) ORDER BY 1, 2, 3, 4;

------------------------------------------------------------------------------------------------------------
-- Two runs in a row: the earlier one cannot be undone while the later one stands (it would corrupt the
-- pointers); undo the later first.  Undoing an undone date again finds no billing batch.
------------------------------------------------------------------------------------------------------------
SELECT status FROM backout.run_billing(5004, '2026-05-01');
SELECT undo_batch_id AS undo3 FROM backout.undo_job_schedule('2026-04-01', 5004) \gset
SELECT backout.wait_for_batch(:'undo3', '60 seconds');
SELECT status, total_count, error_code, error_message FROM backout.get_undo_job_schedule_status(:'undo3', 5004);
SELECT count(*) AS records_still_there FROM backout.billing_record WHERE client_id = 5004;
SELECT undo_batch_id AS undo4 FROM backout.undo_job_schedule('2026-05-01', 5004) \gset
SELECT backout.wait_for_batch(:'undo4', '60 seconds');
SELECT undo_batch_id AS undo5 FROM backout.undo_job_schedule('2026-04-01', 5004) \gset
SELECT backout.wait_for_batch(:'undo5', '60 seconds');
SELECT b.status, b.total_count FROM (VALUES (1, :'undo4'::uuid), (2, :'undo5'::uuid)) AS v(n, id),
     LATERAL backout.get_undo_job_schedule_status(v.id, 5004) AS b ORDER BY v.n;
SELECT acct_no, last_bill_date, next_bill_date FROM backout.billing_profile WHERE client_id = 5004 ORDER BY acct_no;
SELECT status, error_code, error_message FROM backout.undo_job_schedule('2026-04-01', 5004);

------------------------------------------------------------------------------------------------------------
-- Rejections: an ERROR row at once, recorded (with the client), nothing changed
------------------------------------------------------------------------------------------------------------
SELECT undo_batch_id IS NOT NULL AS recorded, status, error_code, error_message, client_id
FROM backout.undo_job_schedule('2026-06-01', 5003);
SELECT undo_batch_id IS NOT NULL AS recorded, status, error_code, error_message FROM backout.undo_job_schedule('2026-4-1', 5003);
SELECT undo_batch_id IS NOT NULL AS recorded, status, error_code, error_message FROM backout.undo_job_schedule('2026-04-01T00:00', 5003);
SELECT undo_batch_id IS NOT NULL AS recorded, status, error_code, error_message FROM backout.undo_job_schedule(NULL, 5003);
SELECT undo_batch_id IS NOT NULL AS recorded, status, error_code, error_message FROM backout.undo_job_schedule('2026-04-01', 5003, NULL);
SELECT undo_batch_id IS NOT NULL AS recorded, status, error_code, error_message FROM backout.undo_job_schedule('2026-04-01', 5003, user_id => ' ');
SELECT undo_batch_id IS NOT NULL AS recorded, status, error_code, error_message, client_id FROM backout.undo_job_schedule('2026-04-01', NULL);
SELECT undo_batch_id IS NOT NULL AS recorded, status, error_code, error_message, client_id FROM backout.undo_job_schedule('2026-04-01', 999999);
SELECT requested_billing_date, billing_date, status, error_code FROM backout.undo_batch
WHERE client_id IN (5003, 999999) AND status = 'ERROR' ORDER BY create_date, requested_billing_date;

-- one undo PROCESSING per client, also within one transaction (rolled back: nothing runs)
BEGIN;
SELECT status, error_code FROM backout.undo_job_schedule('2026-04-01', 5003);
SELECT status, error_code, error_message LIKE 'An undo is already PROCESSING for client 5003 (undo_batch_id %); wait for it to reach COMPLETED or ERROR' AS message_ok
FROM backout.undo_job_schedule('2026-04-01', 5003);
SELECT status, count(*) FROM backout.undo_batch WHERE client_id = 5003 GROUP BY status ORDER BY status;
ROLLBACK;

-- status: unknown id, another client's id, missing arguments
SELECT * FROM backout.get_undo_job_schedule_status('00000000-0000-0000-0000-000000000000', 5003);
SELECT undo_batch_id = :'undo2' AS same_id, status, total_count, error_code,
       error_message = format('undo batch %s does not exist for client 5001', :'undo2') AS message_ok, client_id
FROM backout.get_undo_job_schedule_status(:'undo2', 5001);
SELECT status, error_code, error_message FROM backout.get_undo_job_schedule_status(NULL, 5003);
SELECT status, error_code, error_message FROM backout.get_undo_job_schedule_status(:'undo2', NULL);

-- wait_for_batch refuses what it could never see
SELECT backout.wait_for_batch('00000000-0000-0000-0000-000000000000');
BEGIN;
SELECT undo_batch_id AS undo6 FROM backout.undo_job_schedule('2026-04-01', 5003) \gset
SELECT regress.error_of(format('SELECT backout.wait_for_batch(%L, %L)', :'undo6', '1 second'));
ROLLBACK;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT regress.error_of(format('SELECT backout.wait_for_batch(%L, %L)', :'undo2', '1 second'));
ROLLBACK;
