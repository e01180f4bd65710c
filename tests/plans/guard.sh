#!/usr/bin/env bash
# Plan guard (issue 21): bill two clients, and undo one, in a database whose statistics were taken while it
# was empty, then again with statistics taken after undoing both (tables with pages but no live row), then
# ingest, bill and undo a third client loaded after the statistics were taken, with auto_explain logging every statement's plan, nested ones (every
# foreign-key check) included; tests/plans/check_plans.py fails when any plan node removed by a filter more
# than 100 times the rows it kept, summed over its statement's executions.  Runs inside a throwaway cluster
# (scripts/test.sh uses run_in_cluster).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
work="$(mktemp -d /tmp/pg_backout-plans.XXXXXX)"
trap 'rm -rf "$work"' EXIT
createdb plans_guard
psql -X -q -v ON_ERROR_STOP=1 -d plans_guard > /dev/null 2> "$work/plans.txt" <<'SQL'
SET client_min_messages = warning;
SET pg_backout.start_runners = off;
CREATE EXTENSION pg_backout;
ANALYZE;  -- every table analyzed while empty
CREATE FUNCTION pg_temp.client(c bigint) RETURNS void LANGUAGE sql AS $$
    INSERT INTO backout.client (client_id, name) VALUES (c, 'Guard ' || c);
    INSERT INTO backout.account SELECT c, n, 'A-' || n FROM generate_series(1, 2000) n;
    INSERT INTO backout.billing_profile SELECT c, n, '2026-03-01', '2026-04-01' FROM generate_series(1, 2000) n;
    INSERT INTO backout.usage_type VALUES (c, 1, 'VOICE', 'Voice', 'minute'), (c, 2, 'DATA', 'Data', 'GB');
    INSERT INTO backout.price_offer (client_id, usage_type_no, acct_no, unit_price) VALUES (c, 1, NULL, 0.02), (c, 2, NULL, 1.5);
    INSERT INTO backout.commitment_contract SELECT c, n, '2026-03-01', '2026-04-01', 'AMOUNT', 100, NULL FROM generate_series(1, 2000, 2) n;
    INSERT INTO backout.usage_staging (client_id, file_name, acct_no, usage_type_code, usage_date, units)
    SELECT c, 'march.csv', (1 + i % 2000)::text, CASE WHEN i % 3 = 0 THEN 'DATA' ELSE 'VOICE' END,
           to_char(timestamp '2026-03-01' + (i % 2678400) * interval '1 second', 'YYYY-MM-DD HH24:MI:SS'), (1 + i % 97)::text
    FROM generate_series(1, 20000) i;
$$;
SELECT pg_temp.client(1), pg_temp.client(2);
SET client_min_messages = notice;
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_analyze = on;
SET auto_explain.log_timing = off;
SET auto_explain.log_nested_statements = on;
SET auto_explain.log_format = json;
SET auto_explain.log_level = notice;
SELECT status FROM backout.process_staged_usage_file(1, 'march.csv');
SELECT status FROM backout.process_staged_usage_file(2, 'march.csv');
SELECT status FROM backout.run_billing(1, '2026-04-01');
SELECT status FROM backout.run_billing(2, '2026-04-01');
SELECT status FROM backout.undo_job_schedule('2026-04-01', 2);
SELECT status FROM backout.run_next_batch(2);
-- Statistics taken after an undo: invoice and billing_record have pages but no live row, the state in which
-- the planner costs every index that leads with client_id alike (each foreign-key check of a billing line
-- then walked all of the client's invoices).  Bill both clients again in it and undo one.
SELECT status FROM backout.undo_job_schedule('2026-04-01', 1);
SELECT status FROM backout.run_next_batch(1);
SET client_min_messages = warning;
ANALYZE;
SET client_min_messages = notice;
SELECT status FROM backout.run_billing(1, '2026-04-01');
SELECT status FROM backout.run_billing(2, '2026-04-01');
SELECT status FROM backout.undo_job_schedule('2026-04-01', 2);
SELECT status FROM backout.run_next_batch(2);
-- Statistics that know the tables but not this client (loaded since the last ANALYZE): its accounts,
-- invoices and usage all estimated at one row each, the state in which an undo's joins of the run's
-- invoices with the accounts' pointers became loops over both (10,000 accounts: 5 minutes).
SET client_min_messages = warning;
ANALYZE;
SELECT pg_temp.client(3);
SET client_min_messages = notice;
SELECT status FROM backout.process_staged_usage_file(3, 'march.csv');
SELECT status FROM backout.run_billing(3, '2026-04-01');
SELECT status FROM backout.undo_job_schedule('2026-04-01', 3);
SELECT status FROM backout.run_next_batch(3);
SQL
python3 check_plans.py "$work/plans.txt"
