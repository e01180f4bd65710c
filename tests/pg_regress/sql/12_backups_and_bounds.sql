-- Backups keep every row (the tables pg_dump dumps), day counts an admin can check and rebuild, and a
-- refusal log no role can grow without bound.  tests/backup/dump_restore.sh dumps and restores for real.
SET datestyle = 'ISO, YMD';

-- 1. Every table and sequence of the schema is dumped by pg_dump (an extension configuration table), but
--    the two left out on purpose: the derived day counts and the per-installation lock salt.  A table
--    added later without the mark fails here.
SELECT c.relname AS not_dumped, c.relkind
FROM pg_class c
WHERE c.relnamespace = 'backout'::regnamespace AND c.relkind IN ('r', 'S')
  AND c.oid <> ALL (coalesce((SELECT extconfig FROM pg_extension WHERE extname = 'pg_backout'), '{}'))
ORDER BY 1;
-- and nothing else is marked
SELECT count(*) AS dumped_tables_and_sequences,
       count(*) FILTER (WHERE c.relkind = 'S') AS of_them_sequences
FROM pg_extension e, unnest(e.extconfig) AS x(oid) JOIN pg_class c ON c.oid = x.oid
WHERE e.extname = 'pg_backout';

-- 2. Day counts: exact after every test so far; drift where the triggers do not fire (replica mode, disabled
--    triggers) is found by check_usage_day_counts and corrected by rebuild_usage_day_counts.
SELECT regress.make_client(9601, 0.10, 100);
SELECT status, records_processed FROM backout.process_usage_file(9601, 'march.json', regress.march_file());
SELECT count(*) AS drift FROM backout.check_usage_day_counts(9601);
SET session_replication_role = replica;
INSERT INTO backout.usage_txn (client_id, acct_no, usage_type_no, usage_date, units, unit_price, amount)
VALUES (9601, 3, 10, '2026-03-13 11:00:00', 1, 0.10, 0.10), (9601, 3, 20, '2026-03-14 11:00:00', 1, 0.05, 0.05);
RESET session_replication_role;
ALTER TABLE backout.usage_txn DISABLE TRIGGER count_deleted;
DELETE FROM backout.usage_txn WHERE client_id = 9601 AND acct_no = 2;
ALTER TABLE backout.usage_txn ENABLE TRIGGER count_deleted;
SELECT * FROM backout.check_usage_day_counts(9601);
SELECT backout.rebuild_usage_day_counts(9601) AS keys_corrected;
SELECT count(*) AS drift_after_rebuild FROM backout.check_usage_day_counts(9601);
SELECT backout.rebuild_usage_day_counts(9601) AS nothing_left_to_correct;
-- other clients' counts untouched, and still exact
SELECT count(*) AS drifted FROM regress.day_count_drift();
SELECT regress.error_of($$SELECT * FROM backout.check_usage_day_counts(NULL)$$);
SELECT regress.error_of($$SELECT backout.rebuild_usage_day_counts(NULL)$$);
-- admins only
CREATE ROLE regress_op12;
GRANT backout_operator TO regress_op12;
SELECT backout.grant_client('regress_op12', 9601, 'operator');
SET ROLE regress_op12;
SELECT regress.error_of($$SELECT * FROM backout.check_usage_day_counts(9601)$$);
SELECT regress.error_of($$SELECT backout.rebuild_usage_day_counts(9601)$$);
RESET ROLE;

-- 3. A flood of refusals cannot grow the log past one row per existing client, function and minute: 3,000
--    refused calls on 1,000 client ids that do not exist and on one that does (9601), by a role with the
--    operator group's privileges and no entitlement.  Every refusal is counted.
CREATE ROLE regress_flood;
GRANT backout_operator TO regress_flood;
SET ROLE regress_flood;
SELECT count(*) AS calls, count(*) FILTER (WHERE error_code = 'NOT_FOUND') AS answered_unknown
FROM generate_series(1, 3000) AS i,
     LATERAL backout.run_billing(CASE WHEN i % 3 = 0 THEN 9601 ELSE 1000000 + i % 1000 END, '2026-04-01') AS r;
RESET ROLE;
SELECT sum(refusals) AS refusals_counted,
       count(*) <= 2 * (SELECT count(DISTINCT date_trunc('minute', refused_at)) FROM backout.access_refusal
                        WHERE role_name = 'regress_flood') AS at_most_two_rows_a_minute,
       array_agg(DISTINCT client_id ORDER BY client_id) AS filed_under
FROM backout.access_refusal WHERE role_name = 'regress_flood';
-- and it wrote nothing else: no billing row, schedule or audit row of 9601
SELECT (SELECT count(*) FROM backout.billing_batch WHERE client_id = 9601) AS runs,
       (SELECT count(*) FROM backout.job_schedule WHERE client_id = 9601) AS schedules;

-- 4. A refused call in a read-only transaction answers (the refusal goes to the server log).
BEGIN TRANSACTION READ ONLY;
SET LOCAL ROLE regress_flood;
SELECT status, error_code FROM backout.get_undo_job_schedule_status(gen_random_uuid(), 9601);
COMMIT;

-- wait_for_batch takes no transaction id on any path, and another client's batch reads like an unknown one
SELECT status FROM backout.backout_usage_file_transactions('nothing.json', 9601, 'ops', false,
                                                            '12000000-0000-4000-8000-000000009601');
BEGIN;
SET LOCAL ROLE regress_flood;
SAVEPOINT unknown_id;
SELECT backout.wait_for_batch('12000000-0000-4000-8000-000000000000', '1 second');
ROLLBACK TO unknown_id;
SAVEPOINT foreign_id;
SELECT backout.wait_for_batch('12000000-0000-4000-8000-000000009601', '1 second');
ROLLBACK TO foreign_id;
SELECT pg_current_xact_id_if_assigned() IS NULL AS no_transaction_id;
COMMIT;

-- 5. prune_audit covers every audit table: discard requests and refusals too.
SELECT backout.grant_client('regress_op12', 9601, 'operator');
SET ROLE regress_op12;
SELECT error_code, error_msg FROM backout.discard_usage(9601, usage_record_no => ARRAY[-1]);
RESET ROLE;
SELECT count(*) AS discard_rows FROM backout.discard_request WHERE client_id = 9601;
UPDATE backout.discard_request SET created_at = created_at - interval '400 days' WHERE client_id = 9601;
UPDATE backout.access_refusal SET last_refused_at = last_refused_at - interval '400 days' WHERE role_name = 'regress_flood';
SELECT audit_table, rows_deleted > 0 AS pruned FROM backout.prune_audit('365 days') ORDER BY 1;
SELECT (SELECT count(*) FROM backout.discard_request WHERE client_id = 9601) AS discard_rows_left,
       (SELECT count(*) FROM backout.access_refusal WHERE role_name = 'regress_flood') AS flood_rows_left;
