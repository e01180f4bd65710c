-- Undo of client 1001's billing run (billed by hand by probe.sh), delegated submission and delegated CALL.
\set VERBOSITY terse
SET datestyle = 'ISO, YMD';
SELECT undo_batch_id AS undo_id, status FROM backout.undo_job_schedule('2026-04-01', 1001, user_id => 'ops') \gset
\echo submitted undo :undo_id :status
CALL backout.run_pending_batches(1001);
SELECT status, error_code, error_message, total_count FROM backout.get_undo_job_schedule_status(:'undo_id', 1001);
SELECT (SELECT count(*) FROM backout.invoice WHERE client_id = 1001) AS invoices_left,
       (SELECT count(*) FROM backout.reversed_invoice WHERE client_id = 1001) AS reversed_invoices,
       (SELECT count(*) FROM backout.usage_txn WHERE client_id = 1001 AND invoice_no IS NOT NULL) AS billed_usage,
       (SELECT string_agg(DISTINCT next_bill_date::text, ',') FROM backout.billing_profile WHERE client_id = 1001) AS next_bill_date;
SELECT * FROM backout.check_usage_day_counts(1001);
