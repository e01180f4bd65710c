-- bench/citus.sh: helpers, created in both databases (the Citus one and the plain one).  PL/pgSQL in a real
-- schema: on Citus a helper must exist on the workers too, and must not be a pg_temp function or a
-- LANGUAGE sql function with parameters that writes tables.  None of them is timed.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS bench;

-- Master data of a client, the shape of the other benchmarks (bench/fixture_usage.sql): `accounts` accounts
-- due on 2026-04-01 for [2026-03-01, 2026-04-01), usage types VOICE and DATA with a standard price each, and a
-- commitment on every other account (one in four of those QUANTITY on VOICE, the others AMOUNT), all ending
-- on 2026-04-01, so the billing run computes a true-up for half of the accounts.
CREATE OR REPLACE FUNCTION bench.master(c bigint, accounts int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO backout.client (client_id, name) VALUES (c, 'bench ' || c);
    INSERT INTO backout.account SELECT c, n, 'A-' || n FROM generate_series(1, accounts) n;
    INSERT INTO backout.billing_profile (client_id, acct_no, last_bill_date, next_bill_date)
    SELECT c, n, '2026-03-01', '2026-04-01' FROM generate_series(1, accounts) n;
    INSERT INTO backout.usage_type VALUES (c, 1, 'VOICE', 'Voice', 'minute'), (c, 2, 'DATA', 'Data', 'GB');
    INSERT INTO backout.price_offer (client_id, usage_type_no, acct_no, unit_price)
    VALUES (c, 1, NULL, 0.02), (c, 2, NULL, 1.5);
    INSERT INTO backout.commitment_contract
    SELECT c, n, '2026-03-01', '2026-04-01', CASE WHEN n % 8 = 1 THEN 'QUANTITY' ELSE 'AMOUNT' END,
           CASE WHEN n % 8 = 1 THEN 5000 ELSE 100 END, CASE WHEN n % 8 = 1 THEN 1 END
    FROM generate_series(1, accounts, 2) n;
END $$;

-- The usage file number k (1-based) of `n` records: records (k-1)*n+1 .. k*n of one stream, spread over
-- every account, both usage types (one in three DATA) and the whole of March.  The same k gives the same
-- file for every client and both databases.
CREATE OR REPLACE FUNCTION bench.usage_file(k int, n int, accounts int) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT jsonb_agg(jsonb_build_object(
                       'acct_no', 1 + i % accounts,
                       'usage_type_code', CASE WHEN i % 3 = 0 THEN 'DATA' ELSE 'VOICE' END,
                       'usage_date', to_char(timestamp '2026-03-01' + ((i * 7919) % 2678400) * interval '1 second',
                                             'YYYY-MM-DD HH24:MI:SS'),
                       'units', 1 + i % 97) ORDER BY i)
            FROM generate_series((k - 1)::bigint * n + 1, k::bigint * n) i);
END $$;

-- Raise unless `good`: a step that failed must not pass for a fast one.
CREATE OR REPLACE FUNCTION bench.ok(good boolean, what text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    IF good IS NOT TRUE THEN RAISE EXCEPTION 'bench: %', what; END IF;
    RETURN 'ok';
END $$;

-- Milliseconds since t0 (clock_timestamp: the coordinator's clock, the same machine for every node).
CREATE OR REPLACE FUNCTION bench.ms(t0 timestamptz) RETURNS numeric LANGUAGE plpgsql AS $$
BEGIN
    RETURN round(extract(epoch FROM clock_timestamp() - t0) * 1000, 1);
END $$;
