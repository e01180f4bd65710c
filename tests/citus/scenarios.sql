-- The Citus scenarios (tests/citus/run.sh runs them on the coordinator after the demo): two clients that live
-- on different workers.  Each check prints "ok: ..." or raises; the batch ids are printed for run.sh, which
-- checks in the workers' logs that each batch ran on its client's worker.
\set ON_ERROR_STOP 1
\pset footer off
\pset tuples_only on
\pset format unaligned
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS suite;  -- (a real schema: Citus creates its functions on the workers too)
GRANT USAGE ON SCHEMA suite TO PUBLIC;
\if :{?base}
\else
\set base 5001
\endif
CREATE OR REPLACE FUNCTION suite.ok(good boolean, what text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    IF good IS NOT TRUE THEN RAISE EXCEPTION 'FAIL: %', what; END IF;
    RETURN 'ok: ' || what;
END $$;
-- the worker (port) that holds a client
CREATE OR REPLACE FUNCTION suite.port_of(c bigint) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)
            WHERE p.shardid = get_shard_id_for_distribution_column('backout.client', c));
END $$;
CREATE OR REPLACE FUNCTION suite.master(c bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO backout.client (client_id, name) VALUES (c, 'client ' || c);
    INSERT INTO backout.account VALUES (c, 1, 'ACC-1'), (c, 2, 'ACC-2');
    INSERT INTO backout.billing_profile (client_id, acct_no, last_bill_date, next_bill_date)
    SELECT c, acct_no, '2026-03-01', '2026-04-01' FROM backout.account WHERE client_id = c;
    INSERT INTO backout.usage_type VALUES (c, 10, 'CALL', 'Calls', 'minute');
    INSERT INTO backout.price_offer (client_id, usage_type_no, acct_no, unit_price) VALUES (c, 10, NULL, 0.10);
    INSERT INTO backout.commitment_contract VALUES (c, 1, '2026-03-01', '2026-04-01', 'QUANTITY', 500, 10);
END $$;
CREATE OR REPLACE FUNCTION suite.usage(n int, day int) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_agg(jsonb_build_object('acct_no', 1 + i % 2, 'usage_type_code', 'CALL',
                                        'usage_date', format('2026-03-%s 10:00:00', lpad(day::text, 2, '0')),
                                        'units', 10, 'client_record_id', format('R-%s-%s', day, i)))
    FROM generate_series(1, n) i $$;

-- Two clients on different workers, chosen from the placement (not from the hash function).
SELECT min(c) FILTER (WHERE suite.port_of(c) = 9701) AS a, min(c) FILTER (WHERE suite.port_of(c) = 9702) AS b
FROM generate_series(:base, :base + 99) c \gset
SELECT suite.ok(:a IS NOT NULL AND :b IS NOT NULL, format('client %s lives on worker 9701, client %s on 9702', :a, :b));
SELECT suite.master(:a), suite.master(:b), set_config('x.a', :'a', false), set_config('x.b', :'b', false) \gset

\echo '-- ingest, on each client''s worker; ids drawn there are in that worker''s range'
-- (a call is delegated to the client's worker when its arguments are constants: the file is one here)
SELECT suite.usage(40, 5) AS march, suite.usage(3, 7) AS alice_file \gset
SELECT status AS a_status FROM backout.process_usage_file(:a, 'march.json', :'march') \gset
SELECT status AS b_status FROM backout.process_usage_file(:b, 'march.json', :'march') \gset
SELECT suite.ok(:'a_status' = 'COMPLETED' AND :'b_status' = 'COMPLETED', 'a file ingested for each client');
SELECT (SELECT groupid FROM pg_dist_node WHERE nodeport = 9701) AS group_a,
       (SELECT groupid FROM pg_dist_node WHERE nodeport = 9702) AS group_b \gset
SELECT suite.ok(
    (SELECT bool_and((u.txn_id >> 48) = CASE WHEN u.client_id = :a THEN :group_a ELSE :group_b END)
     FROM backout.usage_txn u WHERE u.client_id IN (:a, :b)),
    'every usage id was drawn in the range of its client''s worker (no id can collide across nodes)');
SELECT suite.ok(NOT EXISTS (SELECT txn_id FROM backout.usage_txn WHERE client_id = :a
                              INTERSECT SELECT txn_id FROM backout.usage_txn WHERE client_id = :b),
                  'the two clients share no usage id');

\echo '-- a non-superuser operator of client a, on a worker-owned client b'
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'citus_alice') AS new_role \gset
\if :new_role
CREATE ROLE citus_alice LOGIN;
\endif
SELECT backout.grant_client('citus_alice', :a, 'operator') \gset
SET ROLE citus_alice;
SELECT (status = 'COMPLETED') AS v FROM backout.process_usage_file(:a, 'alice.json', :'alice_file') \gset
SELECT suite.ok(:'v'::boolean, 'alice ingests into her client a');
SELECT (error_code = 0) AS v FROM backout.discard_usage(:a, client_record_id => ARRAY['R-7-1'], alt_caller_id => 'alice') \gset
SELECT suite.ok(:'v'::boolean, 'alice discards a record of client a');
SELECT suite.ok(backout.post_usage_events(:a, '[{"service_resource_identifier": "ACC-1", "usage_type_code": "CALL",
    "start_time": "2026-03-12", "usage_amount": 2, "reference_id": "e-1", "sequence_id": "1"}]', posted_by => 'alice')
    -> 'rated_events' -> 0 ->> 'reference_id' = 'e-1', 'alice posts a usage event for client a');
SELECT ((h.usage_history_recs -> 0) IS NOT NULL) AS v FROM backout.get_usage_history(:a, acct_no => 1, date_range_start => '2026-03-01') h \gset
SELECT suite.ok(:'v'::boolean, 'alice reads client a''s usage history');
SELECT suite.ok(jsonb_array_length(backout.query_lines(:a, aid => '1,2') -> 'details') > 0, 'alice queries client a''s lines');
SELECT suite.ok((SELECT count(*) = 0 FROM backout.usage_txn WHERE client_id = :b), 'alice reads none of client b''s usage');
SELECT suite.ok((SELECT :a = ANY (array_agg(DISTINCT client_id)) AND NOT array_agg(DISTINCT client_id) && ARRAY[:b, 1001, 2001]::bigint[]
                 FROM backout.usage_txn), 'a read of every shard shows alice her client, not the others');
SELECT (error_code = 'NOT_FOUND') AS v FROM backout.run_billing(:b, '2026-04-01') \gset
SELECT suite.ok(:'v'::boolean, 'alice''s billing run of client b is answered as an unknown client');
DO $$
BEGIN
    INSERT INTO backout.usage_type VALUES (current_setting('x.b')::bigint, 11, 'SMS', 'SMS', 'message');
    RAISE EXCEPTION 'FAIL: alice wrote into client b';
EXCEPTION WHEN insufficient_privilege THEN NULL;  -- new row violates row-level security policy
END $$;
RESET ROLE;
SELECT suite.ok((SELECT count(*) = 1 FROM backout.access_refusal WHERE role_name = 'citus_alice' AND function_name = 'run_billing' AND client_id = :b), 'alice''s refused call is recorded (access_refusal)');
SELECT suite.ok((SELECT count(*) = 0 FROM backout.usage_type WHERE client_id = :b AND usage_type_no = 11), 'client b has no usage type 11: alice''s insert wrote nothing');

\echo '-- billing and undo of both clients, each batch run by the runner of its client''s worker'
SELECT status AS a_status FROM backout.run_billing(:a, '2026-04-01') \gset
SELECT status AS b_status FROM backout.run_billing(:b, '2026-04-01') \gset
SELECT suite.ok(:'a_status' = 'COMPLETED' AND :'b_status' = 'COMPLETED', 'both clients billed for 2026-04-01');
SELECT undo_batch_id AS undo_a FROM backout.undo_job_schedule('2026-04-01', :a, user_id => 'citus') \gset
SELECT undo_batch_id AS undo_b FROM backout.undo_job_schedule('2026-04-01', :b, discard_usage => true, user_id => 'citus') \gset
SELECT suite.ok(backout.wait_for_batch(:'undo_a', '60 seconds') = 'COMPLETED', 'undo of client a (usage kept) COMPLETED');
SELECT suite.ok(backout.wait_for_batch(:'undo_b', '60 seconds') = 'COMPLETED', 'undo of client b (usage deleted) COMPLETED');
SELECT suite.ok((SELECT count(*) FROM backout.invoice WHERE client_id IN (:a, :b)) = 0
                  AND (SELECT count(*) FROM backout.usage_txn WHERE client_id = :a AND invoice_no IS NULL) = 44
                  AND (SELECT count(*) FROM backout.usage_txn WHERE client_id = :b) = 0,
                  'invoices reversed; a''s usage unbilled, b''s deleted');
\echo batch :undo_a :a
\echo batch :undo_b :b

\echo '-- calls in a transaction block run on the client''s worker too (force_delegation)'
BEGIN;
SELECT (status = 'COMPLETED') AS v FROM backout.run_billing(:a, '2026-04-01') \gset
SELECT suite.ok(:'v'::boolean, 'run_billing inside BEGIN ... COMMIT');
SELECT (count(*) = 1) AS v FROM backout.preview_undo_job_schedule('2026-04-01', :a) \gset
SELECT suite.ok(:'v'::boolean, 'the preview in the same transaction sees the run');
COMMIT;

\echo '-- a batch cancelled in the transaction that submitted it ends CANCELLED at once'
BEGIN;
SELECT undo_batch_id AS undo_cancelled FROM backout.undo_job_schedule('2026-04-01', :a, user_id => 'citus') \gset
SELECT (status = 'COMPLETED' OR status = 'CANCELLED' OR status IS NOT NULL) AS v FROM backout.cancel_batch(:'undo_cancelled', :a) \gset
SELECT suite.ok(:'v'::boolean, 'cancel_batch answers');
COMMIT;
SELECT (status = 'ERROR' AND error_code = 'CANCELLED') AS v FROM backout.get_undo_job_schedule_status(:'undo_cancelled', :a) \gset
SELECT suite.ok(:'v'::boolean, 'the cancelled undo ended ERROR / CANCELLED');
SELECT suite.ok((SELECT count(*) > 0 FROM backout.invoice WHERE client_id = :a), 'the run it would have undone is still there');

\echo '-- a backout with undo_billing, a discard and the history, on client a'
SELECT backout_batch_id AS backout_a FROM backout.backout_usage_file_transactions('alice.json', :a, 'citus', undo_billing => true) \gset
SELECT suite.ok(backout.wait_for_batch(:'backout_a', '60 seconds') = 'COMPLETED', 'backout of alice.json with its billing COMPLETED');
\echo batch :backout_a :a
SELECT (error_code = 0) AS v FROM backout.discard_usage(:a, client_record_id => ARRAY['R-5-1', 'R-5-3'], alt_caller_id => 'citus') \gset
SELECT suite.ok(:'v'::boolean, 'two records discarded');
SELECT ((h.usage_history_recs -> 0 ->> 'is_excluded') IS NOT NULL) AS v FROM backout.get_usage_history(:a, acct_no => 2, date_range_start => '2026-03-01', retrieve_excluded_usage => 'true') h \gset
SELECT suite.ok(:'v'::boolean, 'the history reads the account');

\echo '-- the day counts are exact on every client'
SELECT suite.ok(NOT EXISTS (SELECT FROM backout.check_usage_day_counts(c)), format('day counts of client %s exact', c))
FROM unnest(ARRAY[:a, :b, 1001, 2001]::bigint[]) c;

\echo '-- an overlapping contract is refused on the shard (commitment_contract_no_overlap, client_id WITH =)'
DO $$
BEGIN
    INSERT INTO backout.commitment_contract VALUES (current_setting('x.a')::bigint, 1, '2026-03-15', '2026-04-15', 'AMOUNT', 1, NULL);
    RAISE EXCEPTION 'FAIL: an overlapping contract was accepted';
EXCEPTION WHEN exclusion_violation THEN NULL;
END $$;
SELECT suite.ok(true, 'an overlapping contract was refused');
