-- A new session of the size benchmark (plans_sizes.sql): its settings and helper functions (pg_temp).
SET client_min_messages = warning;
SET pg_backout.start_runners = off;
\ir fixture_clients.sql
-- filler usage of client 900 (of 2025, never billed) up to :upto rows in usage_txn
CREATE FUNCTION pg_temp.filler(upto bigint) RETURNS void LANGUAGE sql AS $$
    INSERT INTO backout.usage_txn (client_id, acct_no, usage_type_no, usage_date, units, unit_price, amount, file_name, record_key)
    SELECT 900, 1 + i % 10000, 1, timestamp '2025-01-01' + (i % 31536000) * interval '1 second', 1, 0.02, 0.02,
           'filler_' || (i / 100000), i::text
    FROM generate_series((SELECT count(*) FROM backout.usage_txn) + 1, upto) i $$;
-- the table grown to :upto rows, the last 100,000 of them client c's month to bill
CREATE FUNCTION pg_temp.size_round(c bigint, upto bigint) RETURNS void LANGUAGE sql AS $$
    SELECT pg_temp.filler(upto - 100000);
    SELECT pg_temp.bench_client(c, '2026-04-01');
    SELECT pg_temp.bench_month(c, '2026-04-01');
$$;
