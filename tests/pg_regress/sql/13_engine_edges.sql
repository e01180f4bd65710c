-- Engine edge cases: a retried backout gets a fresh attempt budget and is judged on its own run; a
-- submitter that left the operator group ends NOT_ENTITLED (not SYSTEM_ERROR).  (The batch timeout, a
-- cancel of a running batch and a database without runner slots are in tests/crash/restart.sh; claims
-- that outlive an error in tests/isolation/specs/engine_claim.spec.)
SET datestyle = 'ISO, YMD';
SET pg_backout.start_runners = off;
SELECT regress.make_client(9701, 0.10, 100);
SELECT status FROM backout.process_usage_file(9701, 'march.json', regress.march_file());
SELECT status FROM backout.run_billing(9701, '2026-04-01');

-- 1. A backout of billed usage without undo_billing fails in its run; its runners then "died" three times
--    (the attempts are spent).  Retried under the same id with undo_billing, it runs afresh and completes.
SELECT status FROM backout.backout_usage_file_transactions('march.json', 9701, 'ops', false,
                                                            'd0000000-0000-4000-8000-000000009701');
CALL backout.run_pending_batches(9701);
SELECT status, error_code, run_attempts FROM backout.backout_batch WHERE backout_batch_id = 'd0000000-0000-4000-8000-000000009701';
UPDATE backout.backout_batch SET run_attempts = 3, last_error = 'its runner ended without finishing'
WHERE backout_batch_id = 'd0000000-0000-4000-8000-000000009701';
SELECT status, error_code FROM backout.backout_usage_file_transactions('march.json', 9701, 'ops', true,
                                                                        'd0000000-0000-4000-8000-000000009701');
SELECT status, run_attempts, last_error, attempts AS submissions
FROM backout.backout_batch WHERE backout_batch_id = 'd0000000-0000-4000-8000-000000009701';
CALL backout.run_pending_batches(9701);
SELECT status, error_code, error_message, run_attempts, transactions_deleted
FROM backout.backout_batch WHERE backout_batch_id = 'd0000000-0000-4000-8000-000000009701';

-- 2. The submitter leaves the operator group before its batch runs: ERROR / NOT_ENTITLED with the reason.
SELECT status FROM backout.process_usage_file(9701, 'march.json', regress.march_file());
SELECT status FROM backout.run_billing(9701, '2026-04-01');
CREATE ROLE regress_leaver;
SELECT backout.grant_client('regress_leaver', 9701, 'operator');
SET ROLE regress_leaver;
SELECT status FROM backout.undo_job_schedule('2026-04-01', 9701);
RESET ROLE;
REVOKE backout_operator FROM regress_leaver;
CALL backout.run_pending_batches(9701);
SELECT status, error_code, error_message FROM backout.undo_batch WHERE client_id = 9701;
-- nothing was undone
SELECT count(*) AS completed_runs FROM backout.billing_batch WHERE client_id = 9701 AND status = 'COMPLETED';

-- 3. A backout id answers the same for every client but its own: an operator of 9702 naming 9701's
--    completed, failed or waiting request's id, or an id never used, submits a request of its own each
--    time, with the same answer; 9701's requests are untouched.
SELECT status FROM backout.backout_usage_file_transactions('march.json', 9701, 'ops', false,
                                                            'e0000000-0000-4000-8000-000000009701');
CALL backout.run_pending_batches(9701);
SELECT status FROM backout.backout_usage_file_transactions('no-such.json', 9701, 'ops', false,
                                                            'f0000000-0000-4000-8000-000000009701');
SELECT backout_batch_id, status, error_code FROM backout.backout_batch WHERE client_id = 9701 ORDER BY 1;
CREATE TABLE regress.rows_9701 AS SELECT b::text AS r FROM backout.backout_batch b WHERE client_id = 9701;
SELECT regress.make_client(9702, 0.10, 100);
CREATE ROLE regress_op9702;
SELECT backout.grant_client('regress_op9702', 9702, 'operator');
SET ROLE regress_op9702;
SELECT given.kind, a.backout_batch_id = given.id AS answered_with_the_id, a.status, a.error_code, a.error_message,
       a.files_not_found
FROM (VALUES ('completed of 9701', 'd0000000-0000-4000-8000-000000009701'::uuid, 'x1.json'),
             ('failed of 9701', 'e0000000-0000-4000-8000-000000009701', 'x2.json'),
             ('waiting of 9701', 'f0000000-0000-4000-8000-000000009701', 'x3.json'),
             ('never used', '10000000-0000-4000-8000-000000009702', 'x4.json')) AS given(kind, id, file),
     LATERAL backout.backout_usage_file_transactions(given.file, 9702, 'ops', false, given.id) AS a
ORDER BY 1;
RESET ROLE;
SELECT count(*) AS rows_of_9701_changed
FROM (SELECT b::text AS r FROM backout.backout_batch b WHERE client_id = 9701) now
FULL JOIN regress.rows_9701 before USING (r) WHERE now.r IS NULL OR before.r IS NULL;
SELECT client_id, count(*) AS requests FROM backout.backout_batch WHERE client_id IN (9701, 9702) GROUP BY 1 ORDER BY 1;
