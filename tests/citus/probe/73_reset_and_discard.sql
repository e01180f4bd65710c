\set VERBOSITY terse
\echo == cancel the backouts of client 1002 (their runs need generic plans), then run its reset (delegated CALL)
SELECT b.backout_batch_id, c.status, c.error_code FROM backout.backout_batch b,
       LATERAL backout.cancel_batch(b.backout_batch_id, 1002) c WHERE b.client_id = 1002 AND b.status = 'PROCESSING';
CALL backout.run_pending_batches(1002);
SELECT status, error_code, error_message, lines_reset FROM backout.reset_batch WHERE client_id = 1002 ORDER BY create_date;
\echo == discard_usage(1002) (delegated)
SELECT * FROM backout.discard_usage(1002, client_record_id => ARRAY['CDR-2'], exclusion_reason_cd => 12, exclusion_comment => 'dup', alt_caller_id => 'ops');
SELECT * FROM backout.check_usage_day_counts(1002);
