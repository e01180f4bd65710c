-- Usage written under the old version, before ALTER EXTENSION UPDATE: two accounts, 500 records over 10 days,
-- some excluded (works with every released schema).
INSERT INTO backout.client (client_id, name) VALUES (1, 'Upgrade');
INSERT INTO backout.account (client_id, acct_no, client_acct_id) VALUES (1, 1, 'A-1'), (1, 2, 'A-2');
INSERT INTO backout.usage_type (client_id, usage_type_no, usage_type_code, name, unit) VALUES (1, 1, 'VOICE', 'Voice', 'minute');
INSERT INTO backout.usage_txn (client_id, acct_no, usage_type_no, usage_date, units, unit_price, amount, is_excluded)
SELECT 1, 1 + i % 2, 1, timestamp '2026-03-01' + i * interval '29 minutes', 1, 0.1, 0.1, i % 7 = 0
FROM generate_series(1, 500) i;
