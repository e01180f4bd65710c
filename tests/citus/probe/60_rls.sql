-- A non-superuser operator of client 1002 (alice) against the distributed tables.
\set VERBOSITY terse
\timing off
SET ROLE alice;
\echo == alice: entitled(1002), entitled(1001), entitled_clients on the coordinator
SELECT backout.entitled(1002, 'operator') AS e1002, backout.entitled(1001, 'operator') AS e1001, backout.entitled_clients('reader');
\echo == alice reads the accounts of 1002 (policy evaluated on the shard, on the worker)
SELECT client_id, count(*) FROM backout.account WHERE client_id = 1002 GROUP BY 1;
\echo == alice reads every account (multi-shard): only 1002 may show
SELECT client_id, count(*) FROM backout.account GROUP BY 1;
\echo == alice writes 1001 (refused by the policy) and 1002
INSERT INTO backout.usage_type VALUES (1001, 9, 'X', 'x', 'x');
INSERT INTO backout.usage_type VALUES (1002, 9, 'X', 'x', 'x');
DELETE FROM backout.usage_type WHERE client_id = 1002 AND usage_type_no = 9;
\echo == alice calls an API function of 1002 and one of 1001 (refused, recorded)
SELECT file_name, found, action FROM backout.preview_backout_usage_file_transactions('f1.json', 1002);
SELECT status, error_code, error_message FROM backout.undo_job_schedule('2026-04-01', 1001, user_id => 'alice');
RESET ROLE;
SELECT client_id, role_name, function_name, refusals FROM backout.access_refusal ORDER BY 1;
