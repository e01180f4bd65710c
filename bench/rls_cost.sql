-- pg_backout benchmark: what the tenant row filter (row-level security) costs an operator, 0.7.0's policy
-- (backout.tenant_allows(client_id, level): the entitlements looked up once per statement, a search of a
-- sorted list per row, no subquery: the form Citus accepts) against 0.6.0's (two uncorrelated subqueries,
-- one InitPlan per statement), in one database of one cluster, the policies of every tenant table switched
-- between the two forms between rounds.  An operator entitled to 51 clients (one with the data) reads its
-- 200,000 records (a count by client, and a count of every visible row) and ingests a file of 20,000
-- records; the superuser's count (no row-level security) is the floor.  Six rounds alternate the forms;
-- the figure per step is the median of three (ms).
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
CREATE EXTENSION pg_backout;
CREATE TABLE rls_timings (form text, round int, step text, ms numeric);
GRANT ALL ON rls_timings TO PUBLIC;
CREATE ROLE bench_rls_op;
INSERT INTO backout.client (client_id, name) SELECT c, 'client ' || c FROM generate_series(1, 51) c;
INSERT INTO backout.account SELECT 1, a, 'ACC-' || a FROM generate_series(1, 100) a;
INSERT INTO backout.usage_type VALUES (1, 10, 'CALL', 'Calls', 'minute');
INSERT INTO backout.price_offer (client_id, usage_type_no, acct_no, unit_price) VALUES (1, 10, NULL, 0.10);
INSERT INTO backout.usage_staging (client_id, file_name, acct_no, usage_type_code, usage_date, units)
SELECT 1, 'load.csv', (1 + i % 100)::text, 'CALL', '2026-03-10 10:00:00', '1' FROM generate_series(1, 200000) i;
SELECT status FROM backout.process_staged_usage_file(1, 'load.csv');
SELECT count(*) AS granted FROM generate_series(1, 51) c, LATERAL backout.grant_client('bench_rls_op', c, 'operator') g;
VACUUM ANALYZE;
-- the policies of every tenant table in one form or the other
CREATE FUNCTION pg_temp.policies(form text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT p.polrelid::regclass FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
             WHERE p.polname = 'tenant_read' AND c.relnamespace = 'backout'::regnamespace
    LOOP
        EXECUTE format('DROP POLICY tenant_read ON %s; DROP POLICY tenant_write ON %s', t, t);
        IF form = 'tenant_allows (0.7.0)' THEN
            EXECUTE format($p$CREATE POLICY tenant_read ON %s FOR SELECT USING (backout.tenant_allows(client_id, 'reader'))$p$, t);
            EXECUTE format($p$CREATE POLICY tenant_write ON %s USING (backout.tenant_allows(client_id, 'operator'))$p$, t);
        ELSE
            EXECUTE format($p$CREATE POLICY tenant_read ON %s FOR SELECT USING (
                (SELECT backout.entitled_to_all('reader')) OR client_id = ANY (CAST((SELECT backout.entitled_clients('reader')) AS bigint[])))$p$, t);
            EXECUTE format($p$CREATE POLICY tenant_write ON %s USING (
                (SELECT backout.entitled_to_all('operator')) OR client_id = ANY (CAST((SELECT backout.entitled_clients('operator')) AS bigint[])))$p$, t);
        END IF;
    END LOOP;
END $$;
CREATE FUNCTION pg_temp.file(n int, r int) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_agg(jsonb_build_object('acct_no', 1 + i % 100, 'usage_type_code', 'CALL',
                                        'usage_date', '2026-03-11 10:00:00', 'units', 1, 'record_id', r || '-' || i))
    FROM generate_series(1, n) i $$;

\set form 'subqueries (0.6.0)'
\set r 1
\ir rls_cost_round.sql
\set form 'tenant_allows (0.7.0)'
\set r 2
\ir rls_cost_round.sql
\set form 'subqueries (0.6.0)'
\set r 3
\ir rls_cost_round.sql
\set form 'tenant_allows (0.7.0)'
\set r 4
\ir rls_cost_round.sql
\set form 'subqueries (0.6.0)'
\set r 5
\ir rls_cost_round.sql
\set form 'tenant_allows (0.7.0)'
\set r 6
\ir rls_cost_round.sql

\echo
\echo 'pg_backout row-level security cost (ms, median of 3 rounds per form; the superuser has no row filter)'
WITH m AS (SELECT form, step, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms FROM rls_timings GROUP BY 1, 2)
SELECT o.step, round(s.ms::numeric, 1) AS superuser_ms, round(o.ms::numeric, 1) AS subqueries_060_ms,
       round(n.ms::numeric, 1) AS tenant_allows_070_ms, round((n.ms / nullif(o.ms, 0))::numeric, 2) AS ratio_070_060
FROM m o JOIN m n ON n.step = o.step AND n.form = 'tenant_allows (0.7.0)'
LEFT JOIN m s ON s.step = o.step AND s.form = 'superuser'
WHERE o.form = 'subqueries (0.6.0)' ORDER BY o.step;
