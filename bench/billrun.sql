-- pg_backout benchmark: BillRun's reset_lines and query_aggregate against hand-written SQL doing the same
-- work, in one run.  Twin clients 1 and 2 hold 1,000,000 lines each (10,000 accounts, 100 lines each, half
-- the accounts with an AMOUNT commitment); after a price change, 100,000 lines (1,000 accounts) are
-- re-rated: client 1 with reset_lines, submitted and waited for until COMPLETED (a background runner runs
-- it), client 2 with a hand-written UPDATE ... FROM and the same balance correction.  Three passes, the
-- price going 0.02 -> 0.03 -> 0.02 -> 0.03, the order of the sides alternating; each side's fastest pass
-- counts.  Then query_aggregate grouped by usage type over client 3's account of 1,000,000 lines against
-- the hand-written GROUP BY, three passes each, interleaved.  Targets: reset at most 1.5x and under 10 s;
-- aggregate at most 1.2x.  Run by scripts/bench.sh billrun (a throwaway cluster).
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
CREATE EXTENSION pg_backout;
\set accounts 10000
\set per_account 100

INSERT INTO backout.client (client_id, name) VALUES (1, 'Reset'), (2, 'By hand'), (3, 'Big account');
INSERT INTO backout.account SELECT c, n, 'A-' || n FROM generate_series(1, :accounts) n, generate_series(1, 2) c;
INSERT INTO backout.account VALUES (3, 1, 'BIG');
INSERT INTO backout.billing_profile SELECT c, n, '2026-03-01', '2026-04-01' FROM generate_series(1, :accounts) n, generate_series(1, 2) c;
INSERT INTO backout.billing_profile VALUES (3, 1, '2026-03-01', '2026-04-01');
INSERT INTO backout.usage_type SELECT c, t, code, code, 'unit' FROM generate_series(1, 3) c, (VALUES (1, 'VOICE'), (2, 'DATA')) AS v(t, code);
INSERT INTO backout.price_offer (client_id, usage_type_no, acct_no, unit_price)
SELECT c, t, NULL, CASE t WHEN 1 THEN 0.02 ELSE 1.5 END FROM generate_series(1, 3) c, generate_series(1, 2) t;
INSERT INTO backout.commitment_contract
SELECT c, n, '2026-03-01', '2026-04-01', 'AMOUNT', 100, NULL FROM generate_series(1, :accounts, 2) n, generate_series(1, 2) c;
INSERT INTO backout.usage_txn (client_id, acct_no, usage_type_no, usage_date, units, unit_price, amount, file_name, record_key)
SELECT c, 1 + i % :accounts, 1 + (i % 3 = 0)::int, timestamp '2026-03-01' + (i % 2678400) * interval '1 second',
       1 + i % 97, CASE WHEN i % 3 = 0 THEN 1.5 ELSE 0.02 END, (1 + i % 97) * CASE WHEN i % 3 = 0 THEN 1.5 ELSE 0.02 END,
       format('file_%s.csv', i / 100000), i::text
FROM generate_series(1, :accounts * :per_account) i, generate_series(1, 2) c;
INSERT INTO backout.usage_txn (client_id, acct_no, usage_type_no, usage_date, units, unit_price, amount, file_name, record_key)
SELECT 3, 1, 1 + (i % 3 = 0)::int, timestamp '2026-03-01' + (i % 2678400) * interval '1 second',
       1 + i % 97, CASE WHEN i % 3 = 0 THEN 1.5 ELSE 0.02 END, (1 + i % 97) * CASE WHEN i % 3 = 0 THEN 1.5 ELSE 0.02 END,
       format('big_%s.csv', i / 100000), i::text
FROM generate_series(1, 1000000) i;
INSERT INTO backout.commitment_balance (client_id, acct_no, period_start, consumed_amount, consumed_units)
SELECT u.client_id, u.acct_no, c.period_start, sum(u.amount), sum(u.units)
FROM backout.usage_txn u
JOIN backout.commitment_contract c ON c.client_id = u.client_id AND c.acct_no = u.acct_no
 AND u.usage_date >= c.period_start AND u.usage_date < c.period_end
GROUP BY 1, 2, 3;
VACUUM ANALYZE;

CREATE TEMP TABLE timings (side text, pass int, ms numeric, lines bigint);
CREATE FUNCTION pg_temp.took(t0 text) RETURNS numeric LANGUAGE sql AS $$
    SELECT round(extract(epoch FROM clock_timestamp() - t0::timestamptz) * 1000, 1) $$;
SELECT string_agg(n::text, ',') AS aids FROM generate_series(1, 1000) n \gset

\set pass 1
\set price 0.03
\ir billrun_pass.sql
\set pass 2
\set price 0.02
\ir billrun_pass.sql
\set pass 3
\set price 0.03
\ir billrun_pass.sql

-- the twins agree: the same lines and the same balances after the same re-rating
SELECT (SELECT count(*) FROM (SELECT acct_no, usage_date, units, unit_price, amount FROM backout.usage_txn WHERE client_id = 1
                              EXCEPT ALL
                              SELECT acct_no, usage_date, units, unit_price, amount FROM backout.usage_txn WHERE client_id = 2) d) AS lines_differing,
       (SELECT count(*) FROM (SELECT acct_no, period_start, consumed_amount FROM backout.commitment_balance WHERE client_id = 1
                              EXCEPT ALL
                              SELECT acct_no, period_start, consumed_amount FROM backout.commitment_balance WHERE client_id = 2) d) AS balances_differing;
SELECT side, min(ms) AS fastest_ms, round(avg(ms)) AS mean_ms, max(lines) AS lines
FROM timings GROUP BY side ORDER BY side DESC;
SELECT round((SELECT min(ms) FROM timings WHERE side = 'reset_lines (submit to COMPLETED)')
             / (SELECT min(ms) FROM timings WHERE side = 'UPDATE ... FROM by hand'), 2) AS ratio_reset_to_hand,
       round((SELECT min(ms) FROM timings WHERE side = 'query_aggregate by usaget')
             / (SELECT min(ms) FROM timings WHERE side = 'GROUP BY by hand'), 2) AS ratio_aggregate_to_hand;
