\set VERBOSITY terse
INSERT INTO backout.usage_txn (client_id, acct_no, usage_type_no, usage_date, units, unit_price, amount)
SELECT 1002, 501 + (g % 4), 1, '2026-05-01'::timestamp + g * interval '1 minute', 1, 0.02, 0.02 FROM generate_series(1, 20000) g;
\timing on
\echo == count of the usage of 1002 as a superuser, then as alice (the policy functions run per row)
SELECT count(*) FROM backout.usage_txn WHERE client_id = 1002;
SET ROLE alice;
SELECT count(*) FROM backout.usage_txn WHERE client_id = 1002;
RESET ROLE;
\timing off
DELETE FROM backout.usage_txn WHERE client_id = 1002 AND usage_date >= '2026-05-01';
