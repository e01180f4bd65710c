-- The API calls of client 1002 on the coordinator, as they stand.  Run twice by probe.sh: before the
-- functions are distributed (pass 1: they run on the coordinator against the shards) and after (pass 2:
-- each call is delegated to 1002's worker).  Each call's outcome is printed; errors do not stop the file.
\set VERBOSITY terse
SET datestyle = 'ISO, YMD';
\echo ==== process_usage_file(1002)
SELECT file_name, status, error_code, error_message FROM backout.process_usage_file(1002, 'f9.json', '[{"acct_no": 501, "usage_type_code": "VOICE", "usage_date": "2026-03-09 09:15:00", "units": 10}]');
\echo ==== process_staged_usage_file(1002)
INSERT INTO backout.usage_staging (client_id, file_name, acct_no, usage_type_code, usage_date, units) VALUES (1002, 'staged.csv', '502', 'DATA', '2026-03-20 10:00:00', '40');
SELECT file_name, status, error_code, error_message FROM backout.process_staged_usage_file(1002, 'staged.csv');
\echo ==== run_billing(1002)
SELECT status, error_code, error_message, accounts_billed FROM backout.run_billing(1002, '2026-04-01');
\echo ==== preview_undo_job_schedule(1002) / undo_job_schedule(1002) (nothing billed: refused)
SELECT count(*) AS preview_rows FROM backout.preview_undo_job_schedule('2026-04-01', 1002);
SELECT status, error_code, error_message FROM backout.undo_job_schedule('2026-04-01', 1002, user_id => 'ops');
\echo ==== preview_backout_usage_file_transactions(1002)
SELECT file_name, found, transactions, action FROM backout.preview_backout_usage_file_transactions('late.json', 1002);
\echo ==== backout_usage_file_transactions(1002): pass 2 must be refused (the file is claimed by the backout of pass 1)
SELECT backout_batch_id, status, error_code, error_message FROM backout.backout_usage_file_transactions('late.json', 1002, 'ops');
SELECT count(*) AS backouts_processing_of_late_json FROM backout.backout_batch WHERE client_id = 1002 AND status = 'PROCESSING';
\echo ==== run_next_batch(1002) / CALL run_pending_batches(1002)
SELECT * FROM backout.run_next_batch(1002);
CALL backout.run_pending_batches(1002);
\echo ==== discard_usage(1002)
SELECT * FROM backout.discard_usage(1002, client_record_id => ARRAY['CDR-2'], exclusion_reason_cd => 12, exclusion_comment => 'dup', alt_caller_id => 'ops');
\echo ==== get_usage_history(1002)
SELECT error_code, error_msg, jsonb_array_length(usage_history_recs) AS records FROM backout.get_usage_history(1002, acct_no => 501, date_range_start => '2026-03-01');
\echo ==== post_usage_events(1002)
SELECT backout.post_usage_events(1002, '[{"service_resource_identifier": "NW-ALPHA", "usage_type_code": "VOICE", "start_time": "2026-04-05 09:00:00", "usage_amount": 30, "reference_id": "call-77", "sequence_id": "1"}]', posted_by => 'mediation') -> 'rated_events' AS rated;
\echo ==== void_usage_events(1002) / get_voided_usage_events(1002)
SELECT backout.void_usage_events(1002, 'BY_REF_SEQ', '[{"reference_id": "call-77", "sequence_id": "1"}]', voided_by => 'ops') ->> 'num_voided' AS num_voided;
SELECT backout.get_voided_usage_events(1002, reference_id => 'call-77', sequence_id => '1') AS voided;
\echo ==== reset_lines(1002): dry run, then submitted
SELECT backout.reset_lines(1002, '501,502', dry_run => true) ->> 'lines_reset' AS would_reset;
SELECT backout.reset_lines(1002, '501,502', user_id => 'ops') ->> 'desc' AS reset;
\echo ==== query_lines(1002) / query_aggregate(1002)
SELECT backout.query_lines(1002, aid => '501,502') ->> 'status' AS status, jsonb_array_length(backout.query_lines(1002, aid => '501,502') -> 'details') AS lines;
SELECT backout.query_aggregate(1002, aid => '501,502', groupby => '{"usaget": "$usaget"}', aggregate => '{"lines": {"$sum": 1}}') ->> 'status' AS status;
\echo ==== clear_job_schedule(1002) dry run
SELECT status, error_code, left(error_message, 60) AS error_message FROM backout.clear_job_schedule(1002, '2026-04-01', dry_run => true);
\echo ==== check_usage_day_counts(1002) (no row: the counts are exact)
SELECT * FROM backout.check_usage_day_counts(1002);
\echo ==== operations (multi-shard, from the coordinator)
SELECT client_id, operation, status, error_code, queue_seq FROM backout.operations WHERE client_id = 1002 ORDER BY created_at;
