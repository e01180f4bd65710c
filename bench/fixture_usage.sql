-- Shared by bench/undo.sql and bench/backout.sql (\ir): client 1 with 10,000 accounts due on 2026-04-01,
-- half with a commitment, and 1,000,000 rated usage records of March in :files files (set by the caller;
-- each file holds a consecutive block of records, so every file reaches every account),
-- written directly (ingest is measured by ingest.sql) with the balances and file stats ingest would write.
CREATE EXTENSION pg_backout;
\set accounts 10000
\set usage 1000000
INSERT INTO backout.client (client_id, name) VALUES (1, 'Bench');
INSERT INTO backout.account SELECT 1, n, 'A-' || n FROM generate_series(1, :accounts) n;
INSERT INTO backout.billing_profile SELECT 1, n, '2026-03-01', '2026-04-01' FROM generate_series(1, :accounts) n;
INSERT INTO backout.usage_type VALUES (1, 1, 'VOICE', 'Voice', 'minute'), (1, 2, 'DATA', 'Data', 'GB');
INSERT INTO backout.price_offer (client_id, usage_type_no, acct_no, unit_price) VALUES (1, 1, NULL, 0.02), (1, 2, NULL, 1.5);
INSERT INTO backout.commitment_contract
SELECT 1, n, '2026-03-01', '2026-04-01', CASE WHEN n % 4 = 0 THEN 'QUANTITY' ELSE 'AMOUNT' END,
       CASE WHEN n % 4 = 0 THEN 5000 ELSE 100 END, CASE WHEN n % 4 = 0 THEN 1 END
FROM generate_series(1, :accounts, 2) n;
INSERT INTO backout.usage_txn (client_id, acct_no, usage_type_no, usage_date, units, unit_price, amount, file_name, record_key)
SELECT 1, 1 + i % :accounts, 1 + (i % 3 = 0)::int, timestamp '2026-03-01' + (i % 2678400) * interval '1 second',
       1 + i % 97, CASE WHEN i % 3 = 0 THEN 1.5 ELSE 0.02 END, (1 + i % 97) * CASE WHEN i % 3 = 0 THEN 1.5 ELSE 0.02 END,
       format('file_%s.csv', (i - 1) / (:usage / :files)), i::text
FROM generate_series(1, :usage) i;
INSERT INTO backout.usage_file (client_id, file_name, records_received, records_processed, records_skipped, total_units, total_amount)
SELECT 1, file_name, count(*), count(*), 0, sum(units), sum(amount) FROM backout.usage_txn GROUP BY file_name;
-- statistics first: planned on empty-table estimates, this join did not finish in 15 minutes
ANALYZE backout.usage_txn, backout.commitment_contract;
INSERT INTO backout.commitment_balance (client_id, acct_no, period_start, consumed_amount, consumed_units)
SELECT 1, c.acct_no, c.period_start, sum(t.amount), sum(t.units)
FROM backout.commitment_contract c
JOIN backout.usage_txn t ON t.client_id = 1 AND t.acct_no = c.acct_no
 AND (c.usage_type_no IS NULL OR t.usage_type_no = c.usage_type_no)
GROUP BY c.acct_no, c.period_start;
VACUUM ANALYZE;
