-- Shared by bench/history.sql and bench/day_counts.sql (\ir): clients of the benchmarks' shape and a timer.

-- A client of the benchmark's shape: 10,000 accounts due on :'day', half with an AMOUNT commitment for the
-- month before it; usage of that month written directly (ingest is measured on its own) with the balances
-- and file stats ingest would write.
CREATE FUNCTION pg_temp.bench_client(c bigint, day date) RETURNS void LANGUAGE sql AS $$
    INSERT INTO backout.client (client_id, name) VALUES (c, 'Bench ' || c);
    INSERT INTO backout.account SELECT c, n, 'A-' || n FROM generate_series(1, 10000) n;
    INSERT INTO backout.billing_profile SELECT c, n, (day - interval '1 month')::date, day FROM generate_series(1, 10000) n;
    INSERT INTO backout.usage_type VALUES (c, 1, 'VOICE', 'Voice', 'minute'), (c, 2, 'DATA', 'Data', 'GB');
    INSERT INTO backout.price_offer (client_id, usage_type_no, acct_no, unit_price) VALUES (c, 1, NULL, 0.02), (c, 2, NULL, 1.5);
$$;
CREATE FUNCTION pg_temp.bench_month(c bigint, day date) RETURNS void LANGUAGE sql AS $$
    INSERT INTO backout.commitment_contract
    SELECT c, n, (day - interval '1 month')::date, day, 'AMOUNT', 100, NULL FROM generate_series(1, 10000, 2) n;
    INSERT INTO backout.usage_txn (client_id, acct_no, usage_type_no, usage_date, units, unit_price, amount, file_name, record_key)
    SELECT c, 1 + i % 10000, 1 + (i % 3 = 0)::int, (day - interval '1 month') + (i % 2419200) * interval '1 second',
           1 + i % 97, CASE WHEN i % 3 = 0 THEN 1.5 ELSE 0.02 END, (1 + i % 97) * CASE WHEN i % 3 = 0 THEN 1.5 ELSE 0.02 END,
           format('%s_%s.csv', to_char(day, 'YYYYMM'), (i - 1) / 10000), i::text
    FROM generate_series(1, 100000) i;
    INSERT INTO backout.usage_file (client_id, file_name, records_received, records_processed, records_skipped, total_units, total_amount)
    SELECT c, file_name, count(*), count(*), 0, sum(units), sum(amount) FROM backout.usage_txn
    WHERE client_id = c AND file_name LIKE to_char(day, 'YYYYMM') || '\_%' GROUP BY file_name;
    INSERT INTO backout.commitment_balance (client_id, acct_no, period_start, consumed_amount, consumed_units)
    SELECT c, k.acct_no, k.period_start, sum(t.amount), sum(t.units)
    FROM backout.commitment_contract k
    JOIN backout.usage_txn t ON t.client_id = c AND t.acct_no = k.acct_no AND t.usage_date >= k.period_start AND t.usage_date < k.period_end
    WHERE k.client_id = c AND k.period_end = day
    GROUP BY k.acct_no, k.period_start;
$$;

-- Milliseconds since t0.
CREATE FUNCTION pg_temp.took(t0 timestamptz) RETURNS numeric LANGUAGE sql AS $$
    SELECT round(extract(epoch FROM clock_timestamp() - t0) * 1000) $$;


-- A timed step's status, checked: a step that failed at once must not pass for a fast one.
CREATE FUNCTION pg_temp.completed(status text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    IF status IS DISTINCT FROM 'COMPLETED' THEN RAISE EXCEPTION 'a timed step ended %', status; END IF;
    RETURN status;
END $$;
