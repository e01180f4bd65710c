\set VERBOSITY default
SET datestyle = 'ISO, YMD';
\echo == clients 1001 and 1002 (create_client_lock_row fires on the shard)
INSERT INTO backout.client (client_id, name) VALUES (1001, 'probe client A'), (1002, 'probe client B');
SELECT client_id, lock_kind FROM backout.lock_row ORDER BY 1;
-- PL/pgSQL, not SQL: a SQL function's parameters in a statement over distributed tables are refused
CREATE OR REPLACE FUNCTION probe.master(c bigint, voice_price numeric) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO backout.account VALUES (c, 501, 'NW-ALPHA'), (c, 502, 'NW-BRAVO'), (c, 503, 'NW-CHARLIE'), (c, 504, 'NW-DELTA');
    INSERT INTO backout.billing_profile (client_id, acct_no, last_bill_date, next_bill_date)
    SELECT c, acct_no, '2026-03-01', '2026-04-01' FROM backout.account WHERE client_id = c;
    INSERT INTO backout.usage_type VALUES (c, 1, 'VOICE', 'Voice minutes', 'minute'), (c, 2, 'DATA', 'Mobile data', 'GB');
    INSERT INTO backout.price_offer (client_id, usage_type_no, acct_no, unit_price) VALUES
        (c, 1, NULL, voice_price), (c, 2, NULL, 1.50), (c, 1, 503, 0.015);
    INSERT INTO backout.commitment_contract VALUES
        (c, 501, '2026-03-01', '2026-04-01', 'AMOUNT', 100.00, NULL),
        (c, 503, '2026-03-01', '2026-04-01', 'QUANTITY', 10000, 1);
END $$;
\echo == the same master data in a LANGUAGE sql function
CREATE OR REPLACE FUNCTION probe.master_sql(c bigint) RETURNS void LANGUAGE sql AS $$
    INSERT INTO backout.account VALUES (c, 599, 'X');
    INSERT INTO backout.billing_profile (client_id, acct_no, last_bill_date, next_bill_date)
    SELECT c, acct_no, '2026-03-01', '2026-04-01' FROM backout.account WHERE client_id = c;
$$;
BEGIN; SELECT probe.master_sql(1001); ROLLBACK;
SELECT probe.master(1001, 0.02), probe.master(1002, 0.02);
\echo == the rewritten exclusion constraint still refuses an overlap
INSERT INTO backout.commitment_contract VALUES (1001, 501, '2026-03-15', '2026-04-15', 'AMOUNT', 1, NULL);
