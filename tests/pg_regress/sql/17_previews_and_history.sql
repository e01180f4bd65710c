-- Issue 22: a preview before every irreversible step (preview_undo_job_schedule, discard_usage dry runs),
-- what was reversed stays visible (reversed_invoice, reversed_billing_record, the view reversed_invoices),
-- batches in the server log (pg_backout.log_run; the lines themselves: tests/crash/restart.sh).
SET datestyle = 'ISO, YMD';

------------------------------------------------------------------------------------------------------------
-- preview_undo_job_schedule: what the undo would reverse, changing nothing
------------------------------------------------------------------------------------------------------------
SELECT regress.make_client(1701, 0.10, 40);
SELECT status FROM backout.process_usage_file(1701, 'march.json', regress.march_file());
SELECT status, accounts_billed, records_written, total_amount FROM backout.run_billing(1701, '2026-04-01');
CREATE TEMP TABLE billed_1701 AS
SELECT i.invoice_no, i.acct_no, i.total_amount, r.billing_record_id, r.record_type, r.units, r.amount, r.consumed
FROM backout.invoice i JOIN backout.billing_record r USING (client_id, invoice_no) WHERE i.client_id = 1701;
CREATE TEMP TABLE state_before AS SELECT * FROM regress.billing_state(1701);

SELECT billing_batch_id IS NOT NULL AS batch, invoices, accounts, invoice_amount, billing_records, usage_records,
       usage_units, usage_amount, usage_files, job_schedules_to_delete, action
FROM backout.preview_undo_job_schedule('2026-04-01', 1701);
SELECT usage_records, usage_files, action FROM backout.preview_undo_job_schedule('2026-04-01', 1701, discard_usage => true);
-- the preview's totals are the invoices'
SELECT (SELECT invoice_amount FROM backout.preview_undo_job_schedule('2026-04-01', 1701))
     = (SELECT sum(total_amount) FROM backout.invoice WHERE client_id = 1701) AS amounts_agree;
-- nothing changed, nothing recorded
SELECT count(*) AS differences FROM (
    (SELECT * FROM regress.billing_state(1701) EXCEPT ALL SELECT * FROM state_before)
    UNION ALL (SELECT * FROM state_before EXCEPT ALL SELECT * FROM regress.billing_state(1701))) d;
SELECT count(*) AS undo_batches FROM backout.undo_batch WHERE client_id = 1701;
-- a date without a completed run: no row
SELECT count(*) AS rows FROM backout.preview_undo_job_schedule('2026-05-01', 1701);
-- an account billed again since: the preview says the undo would be refused, and why
SELECT regress.make_client(1704, 0.10, 40);
SELECT status FROM backout.process_usage_file(1704, 'march.json', regress.march_file());
SELECT status FROM backout.run_billing(1704, '2026-04-01');
SELECT status FROM backout.run_billing(1704, '2026-05-01');
SELECT invoices, action FROM backout.preview_undo_job_schedule('2026-04-01', 1704);
SELECT invoices, action FROM backout.preview_undo_job_schedule('2026-05-01', 1704);
-- bad input raises 22023 with the submission's message
SELECT regress.error_of($$SELECT * FROM backout.preview_undo_job_schedule('2026-4-1', 1701)$$);
SELECT regress.error_of($$SELECT * FROM backout.preview_undo_job_schedule('2026-04-01', NULL)$$);
SELECT regress.error_of($$SELECT * FROM backout.preview_undo_job_schedule('2026-04-01', 1701, NULL)$$);
SELECT regress.error_of($$SELECT * FROM backout.preview_undo_job_schedule('2026-04-01', 999999)$$);

------------------------------------------------------------------------------------------------------------
-- Reversed invoices are kept: the undo deletes them from invoice and billing_record, a copy stays
------------------------------------------------------------------------------------------------------------
SELECT undo_batch_id AS undo1 FROM backout.undo_job_schedule('2026-04-01', 1701, user_id => 'ops.kim') \gset
SELECT backout.wait_for_batch(:'undo1', '60 seconds');
SELECT (SELECT count(*) FROM backout.invoice WHERE client_id = 1701) AS invoices_left,
       (SELECT count(*) FROM backout.reversed_invoice WHERE client_id = 1701) AS invoices_kept,
       (SELECT count(*) FROM backout.reversed_billing_record WHERE client_id = 1701) AS lines_kept;
-- exactly what had been billed, line for line (TRUE_UP lines with what they consumed)
SELECT count(*) AS differences FROM (
    (SELECT * FROM billed_1701
     EXCEPT ALL
     SELECT i.invoice_no, i.acct_no, i.total_amount, r.billing_record_id, r.record_type, r.units, r.amount, r.consumed
     FROM backout.reversed_invoice i JOIN backout.reversed_billing_record r USING (client_id, invoice_no)
     WHERE i.client_id = 1701)
    UNION ALL
    (SELECT i.invoice_no, i.acct_no, i.total_amount, r.billing_record_id, r.record_type, r.units, r.amount, r.consumed
     FROM backout.reversed_invoice i JOIN backout.reversed_billing_record r USING (client_id, invoice_no)
     WHERE i.client_id = 1701
     EXCEPT ALL
     SELECT * FROM billed_1701)) d;
SELECT acct_no, total_amount, reversal_kind, reversal_batch_id = :'undo1' AS by_this_undo, reversed_by,
       reversed_at IS NOT NULL AS at, jsonb_array_length(lines) AS lines,
       jsonb_path_query_array(lines, '$[*].record_type') AS record_types
FROM backout.reversed_invoices WHERE client_id = 1701 ORDER BY acct_no;
-- by batch id
SELECT count(*) AS invoices_of_this_undo FROM backout.reversed_invoices WHERE client_id = 1701 AND reversal_batch_id = :'undo1';

-- a re-run, then a backout with undo_billing keeps the invoices it reverses too (kind backout)
SELECT status FROM backout.run_billing(1701, '2026-04-01');
SELECT backout_batch_id AS backout1 FROM backout.backout_usage_file_transactions('march.json', 1701, 'ops.lee', undo_billing => true) \gset
SELECT backout.wait_for_batch(:'backout1', '60 seconds');
SELECT reversal_kind, reversed_by, count(*) AS invoices, sum(jsonb_array_length(lines)) AS lines
FROM backout.reversed_invoices WHERE client_id = 1701 GROUP BY 1, 2 ORDER BY 1;

-- operators cannot write reversal history; readers read only their clients'
CREATE ROLE regress_17_reader IN ROLE backout_reader;
CREATE ROLE regress_17_operator IN ROLE backout_operator;
SELECT backout.grant_client('regress_17_reader', 1701, 'reader');
SELECT backout.grant_client('regress_17_operator', 1701, 'operator');
SELECT regress.make_client(1702, 0.10, 40);
SELECT status FROM backout.process_usage_file(1702, 'march.json', regress.march_file());
SELECT status FROM backout.run_billing(1702, '2026-04-01');
SELECT undo_batch_id AS undo2 FROM backout.undo_job_schedule('2026-04-01', 1702) \gset
SELECT backout.wait_for_batch(:'undo2', '60 seconds');
SET ROLE regress_17_reader;
SELECT client_id, count(*) FROM backout.reversed_invoices GROUP BY 1 ORDER BY 1;
SELECT client_id, count(*) FROM backout.reversed_billing_record GROUP BY 1 ORDER BY 1;
RESET ROLE;
SET ROLE regress_17_operator;
SELECT regress.error_of($$INSERT INTO backout.reversed_invoice (client_id, invoice_no, billing_batch_id, acct_no, period_start, period_end,
    usage_amount, true_up_amount, total_amount, reversal_kind, reversal_batch_id, reversed_by)
    VALUES (1701, -1, 1, 1, '2026-03-01', '2026-04-01', 0, 0, 0, 'undo', gen_random_uuid(), 'forged')$$);
SELECT regress.error_of($$DELETE FROM backout.reversed_invoice WHERE client_id = 1701$$);
RESET ROLE;

-- prune_audit's retention applies to them
UPDATE backout.reversed_invoice SET reversed_at = now() - interval '100 days' WHERE client_id = 1702;
UPDATE backout.reversed_billing_record SET reversed_at = now() - interval '100 days' WHERE client_id = 1702;
SELECT audit_table, rows_deleted FROM backout.prune_audit('90 days')
WHERE audit_table IN ('reversed_invoice', 'reversed_billing_record') ORDER BY 1;
SELECT client_id, count(*) FROM backout.reversed_invoice WHERE client_id IN (1701, 1702) GROUP BY 1 ORDER BY 1;

------------------------------------------------------------------------------------------------------------
-- discard_usage(..., dry_run => true): the same answer, nothing changed, nothing recorded
------------------------------------------------------------------------------------------------------------
SELECT regress.make_client(1703, 0.10, 40);
SELECT status FROM backout.process_usage_file(1703, 'a.json', '[
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-02 10:00:00", "units": 1, "client_record_id": "DUP"},
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-03 10:00:00", "units": 2, "client_record_id": "DUP"},
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-04 10:00:00", "units": 3, "client_record_id": "ONE"}]');
CREATE TEMP TABLE state_1703 AS SELECT * FROM regress.billing_state(1703);
CREATE TEMP TABLE dry AS
SELECT error_code, error_msg, failed_records
FROM backout.discard_usage(1703, client_record_id => ARRAY['DUP', 'NOPE', 'ONE'], exclusion_reason_cd => 3, dry_run => true);
SELECT error_code, error_msg, jsonb_path_query_array(failed_records, '$[*].record_error_code') AS codes FROM dry;
SELECT count(*) AS excluded FROM backout.usage_txn WHERE client_id = 1703 AND is_excluded;
SELECT count(*) AS differences FROM (
    (SELECT * FROM regress.billing_state(1703) EXCEPT ALL SELECT * FROM state_1703)
    UNION ALL (SELECT * FROM state_1703 EXCEPT ALL SELECT * FROM regress.billing_state(1703))) d;
SELECT count(*) AS recorded FROM backout.discard_request WHERE client_id = 1703;
-- the real call answers the same
SELECT (SELECT row(error_code, error_msg, failed_records) FROM dry)
     = (SELECT row(error_code, error_msg, failed_records)
        FROM backout.discard_usage(1703, client_record_id => ARRAY['DUP', 'NOPE', 'ONE'], exclusion_reason_cd => 3)) AS same_answer;
SELECT count(*) AS excluded FROM backout.usage_txn WHERE client_id = 1703 AND is_excluded;
-- bad input in a dry run: the same answer as without
SELECT error_code, error_msg FROM backout.discard_usage(1703, dry_run => true);

------------------------------------------------------------------------------------------------------------
-- pg_backout.log_run: on by default, superuser-only
------------------------------------------------------------------------------------------------------------
SHOW pg_backout.log_run;
SET ROLE regress_17_operator;
SELECT regress.error_of($$SET pg_backout.log_run = off$$);
RESET ROLE;

------------------------------------------------------------------------------------------------------------
-- psql documents the extension (\d+, \df+): a COMMENT on every table, view, column and function of schema
-- backout; a missing one is listed here
------------------------------------------------------------------------------------------------------------
SELECT 'relation ' || c.relname AS missing_comment
FROM pg_class c WHERE c.relnamespace = 'backout'::regnamespace AND c.relkind IN ('r', 'v', 'p')
  AND obj_description(c.oid, 'pg_class') IS NULL
UNION ALL
SELECT 'column ' || c.relname || '.' || a.attname
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'backout'::regnamespace AND c.relkind IN ('r', 'v', 'p')
  AND col_description(c.oid, a.attnum) IS NULL
UNION ALL
SELECT 'function ' || p.oid::regprocedure
FROM pg_proc p WHERE p.pronamespace = 'backout'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL
ORDER BY 1;
SELECT count(*) FILTER (WHERE c.relkind = 'r') AS tables, count(*) FILTER (WHERE c.relkind = 'v') AS views
FROM pg_class c WHERE c.relnamespace = 'backout'::regnamespace AND obj_description(c.oid, 'pg_class') IS NOT NULL;
