-- Clear a job schedule (SPEC §3 clear_job_schedule): new accounts billed after a clear, dry run, audit
-- record, other dates and clients untouched, and every rejection.
SET datestyle = 'ISO, YMD';
INSERT INTO backout.client (client_id, name) VALUES (6001, 'Clear Co'), (6002, 'Other Co');
INSERT INTO backout.account VALUES (6001, 1, 'A'), (6001, 2, 'B'), (6002, 1, 'A');
INSERT INTO backout.billing_profile VALUES (6001, 1, '2026-03-01', '2026-04-01'), (6001, 2, '2026-03-01', '2026-04-01'),
    (6002, 1, '2026-03-01', '2026-04-01');
INSERT INTO backout.usage_type VALUES (6001, 10, 'CALL', 'Calls', 'minute');
INSERT INTO backout.price_offer (client_id, usage_type_no, unit_price) VALUES (6001, 10, 0.10);
SELECT status FROM backout.process_usage_file(6001, 'm.json', '[
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-10 10:00:00", "units": 100},
  {"acct_no": 2, "usage_type_code": "CALL", "usage_date": "2026-03-11 10:00:00", "units": 50}]');
SELECT status, accounts_billed FROM backout.run_billing(6001, '2026-04-01');
SELECT status, accounts_billed FROM backout.run_billing(6001, '2026-06-01');
SELECT status, accounts_billed FROM backout.run_billing(6002, '2026-04-01');

-- a new account onboarded after the run, due on the same date: billing refuses until the schedule is cleared
INSERT INTO backout.account VALUES (6001, 3, 'NEW');
INSERT INTO backout.billing_profile VALUES (6001, 3, '2026-03-01', '2026-04-01');
SELECT status, error_code FROM backout.run_billing(6001, '2026-04-01');

-- dry run: what would be deleted, nothing changed, nothing recorded
SELECT * FROM backout.clear_job_schedule(6001, '2026-04-01', dry_run => true);
SELECT count(*) AS schedules_left FROM backout.job_schedule WHERE client_id = 6001 AND schedule_date = '2026-04-01';

-- clear (the date form with a time is normalised to midnight)
SELECT * FROM backout.clear_job_schedule(6001, '2026-04-01 00:00:00');
SELECT client_id, schedule_date, count(*) FROM backout.job_schedule WHERE client_id IN (6001, 6002) GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) AS items, (SELECT count(*) FROM backout.job_schedule_list WHERE client_id = 6001) AS list_entries
FROM backout.job_schedule_item WHERE client_id = 6001;
-- the audit record: who, when, counts, and what was deleted (work-unit payloads included)
SELECT client_id, schedule_date, requested_schedule_date, user_id = session_user AS by_session_user, status,
       job_schedules_deleted, items_deleted, list_entries_deleted,
       json_array_length(deleted->'job_schedules') AS schedules, deleted->'job_schedules'->0->>'job_type' AS job_type,
       json_array_length(deleted->'list_entries') AS entries,
       (SELECT array_agg((e->'payload'->>'acct_no')::int ORDER BY 1) FROM json_array_elements(deleted->'list_entries') e) AS accounts
FROM backout.job_schedule_clear WHERE client_id = 6001;

-- the re-run bills only the new account (the others' pointers had moved on)
SELECT status, accounts_billed FROM backout.run_billing(6001, '2026-04-01');
SELECT b.billing_date, b.status, i.acct_no FROM backout.billing_batch b JOIN backout.invoice i USING (client_id, billing_batch_id)
WHERE b.client_id = 6001 AND b.billing_date = '2026-04-01' ORDER BY b.billing_batch_id, i.acct_no;

-- nothing to clear: COMPLETED all the same
SELECT status, job_schedules, job_schedule_items, job_schedule_list_entries FROM backout.clear_job_schedule(6001, '2026-07-01');

-- rejections
SELECT * FROM backout.clear_job_schedule(NULL, '2026-04-01');
SELECT status, error_code, error_message FROM backout.clear_job_schedule(6001, '2026-4-1');
SELECT status, error_code, error_message FROM backout.clear_job_schedule(6001, NULL);
SELECT status, error_code, error_message FROM backout.clear_job_schedule(999999, '2026-04-01');
INSERT INTO backout.job_schedule (client_id, schedule_date, job_type, status) VALUES (6001, '2026-08-01', 'USAGE', 'RUNNING');
SELECT status, error_code, error_message FROM backout.clear_job_schedule(6001, '2026-08-01');
BEGIN;
SET LOCAL pg_backout.start_runners = off;
SELECT status FROM backout.undo_job_schedule('2026-06-01', 6001);
SELECT status, error_code, error_message LIKE 'an undo % of client 6001 is PROCESSING; clear the schedule after it completes' AS message_ok
FROM backout.clear_job_schedule(6001, '2026-06-01');
ROLLBACK;
SELECT requested_schedule_date, status, error_code FROM backout.job_schedule_clear WHERE client_id IN (6001, 999999)
ORDER BY clear_id;
SELECT count(*) AS schedules_of_6001 FROM backout.job_schedule WHERE client_id = 6001;
