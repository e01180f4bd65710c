-- Privileges and tenants (SPEC §5, §6): group roles, entitlements, row-level security, batches run as their
-- submitter, and no SQL of the extension resolving through a caller's search_path.  Real non-superuser
-- roles, switched to with SET ROLE (tests/privileges/logins.sh does the same with separate logins).
SET datestyle = 'ISO, YMD';

-- The cast: regress_alice operates client 8001, regress_bob reads it, regress_carol operates 8002,
-- regress_svc operates every client, regress_nobody has the operator group's privileges but no client,
-- regress_plain has nothing, regress_adm administers entitlements.
CREATE ROLE regress_adm;
CREATE ROLE regress_alice;
CREATE ROLE regress_bob;
CREATE ROLE regress_carol;
CREATE ROLE regress_svc;
CREATE ROLE regress_nobody;
CREATE ROLE regress_plain;
GRANT backout_admin TO regress_adm;
GRANT backout_operator TO regress_nobody;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
SELECT regress.make_client(8001, 0.10, 100), regress.make_client(8002, 0.10, 100);
-- ids and answers the roles below need
CREATE TABLE regress.ids (name text PRIMARY KEY, id uuid);
GRANT SELECT, INSERT ON regress.ids TO PUBLIC;

-- An answer as comparable text: the row (or the error), with uuids and the given client id masked.
CREATE FUNCTION regress.answer(call text, client bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    IF call LIKE 'CALL %' THEN
        EXECUTE format(call, client) INTO result;
    ELSE
        EXECUTE format('SELECT string_agg(row_to_json(r)::text, '' '') FROM (%s) AS r', format(call, client)) INTO result;
    END IF;
    RETURN regexp_replace(replace(coalesce(result, '(no rows)'), client::text, '<client>'),
                          '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g');
EXCEPTION WHEN OTHERS THEN
    RETURN regexp_replace(replace('ERROR: ' || SQLERRM, client::text, '<client>'),
                          '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g');
END $$;

------------------------------------------------------------------------------------------------------------
-- 1. The roles the extension created: group roles without login, the worker's login role, none of them
--    privileged; operator includes reader; admin hands both out.
------------------------------------------------------------------------------------------------------------
SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolbypassrls, shobj_description(oid, 'pg_authid') AS marker
FROM pg_roles WHERE rolname LIKE 'backout\_%' ORDER BY 1;
SELECT m.rolname AS member, g.rolname AS of_group, a.admin_option
FROM pg_auth_members a JOIN pg_roles m ON m.oid = a.member JOIN pg_roles g ON g.oid = a.roleid
WHERE g.rolname LIKE 'backout\_%' AND m.rolname LIKE 'backout\_%' ORDER BY 1, 2;

------------------------------------------------------------------------------------------------------------
-- 2. Entitlements: granted and revoked by admins only; bad arguments are refused clearly.
------------------------------------------------------------------------------------------------------------
SET ROLE regress_alice;
SELECT regress.error_of($$SELECT backout.grant_client('regress_alice', 8002, 'operator')$$);
RESET ROLE;
SET ROLE regress_adm;
SELECT backout.grant_client('regress_alice', 8001, 'operator');
SELECT backout.grant_client('regress_bob', 8001, 'reader');
SELECT backout.grant_client('regress_carol', 8002, 'operator');
SELECT backout.grant_client('regress_svc', NULL, 'operator');
SELECT backout.grant_client('regress_bob', 8001, 'reader');  -- again: one entitlement
SELECT regress.error_of($$SELECT backout.grant_client('regress_bob', 8001, 'owner')$$);
SELECT regress.error_of($$SELECT backout.grant_client('regress_bob', 0, 'reader')$$);
SELECT regress.error_of($$SELECT backout.grant_client(NULL, 8001, 'reader')$$);
SELECT regress.error_of($$SELECT backout.grant_client('backout_worker', 8001, 'reader')$$);
SELECT role_name, client_id, all_clients, level, granted_by FROM backout.entitlements WHERE role_name LIKE 'regress%';
RESET ROLE;
-- grant_client also made them members of the level's group
SELECT m.rolname AS member, g.rolname AS of_group
FROM pg_auth_members a JOIN pg_roles m ON m.oid = a.member JOIN pg_roles g ON g.oid = a.roleid
WHERE m.rolname LIKE 'regress\_%' ORDER BY 1, 2;
-- a role sees its own entitlements only
SET ROLE regress_bob;
SELECT role_name, client_id, level FROM backout.entitlements;
RESET ROLE;

------------------------------------------------------------------------------------------------------------
-- 3. PUBLIC has no privilege on the schema, a table, a view, a sequence or a function; a role outside the
--    groups cannot even reach the schema.
------------------------------------------------------------------------------------------------------------
SELECT 'schema' AS object, count(*) AS public_grants
FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
WHERE n.nspname = 'backout' AND a.grantee = 0
UNION ALL
SELECT 'relations and sequences', count(*)
FROM pg_class c, aclexplode(coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner))) a
WHERE c.relnamespace = 'backout'::regnamespace AND a.grantee = 0
UNION ALL
SELECT 'functions', count(*)
FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
WHERE p.pronamespace = 'backout'::regnamespace AND a.grantee = 0;
-- nor can an operator read or lock the rows pg_backout locks
SET ROLE regress_alice;
SELECT regress.error_of($$SELECT * FROM backout.lock_row$$);
SELECT regress.error_of($$SELECT * FROM backout.lock_row FOR UPDATE$$);
RESET ROLE;
SET ROLE regress_plain;
SELECT regress.error_of($$SELECT * FROM backout.client$$);
SELECT regress.error_of($$SELECT * FROM backout.run_billing(8001, '2026-04-01')$$);
RESET ROLE;

------------------------------------------------------------------------------------------------------------
-- 4. Work as an entitled operator; the batch runs in the worker with the submitter's rights (a statement
--    trigger records who deleted the billing records: the submitter, in the worker's session).
------------------------------------------------------------------------------------------------------------
CREATE TABLE regress.who (current_user_name text, session_user_name text);
GRANT INSERT ON regress.who TO PUBLIC;
CREATE FUNCTION regress.note_who() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO regress.who VALUES (current_user, session_user);
    RETURN NULL;
END $$;
CREATE TRIGGER note_who AFTER DELETE ON backout.billing_record FOR EACH STATEMENT EXECUTE FUNCTION regress.note_who();

SET ROLE regress_alice;
SELECT status, records_processed FROM backout.process_usage_file(8001, 'march.json', regress.march_file());
SELECT status, accounts_billed FROM backout.run_billing(8001, '2026-04-01');
INSERT INTO regress.ids SELECT 'undo', undo_batch_id FROM backout.undo_job_schedule('2026-04-01', 8001);
SELECT backout.wait_for_batch((SELECT id FROM regress.ids WHERE name = 'undo'), '60 seconds');
SELECT status, total_count, error_code FROM backout.get_undo_job_schedule_status((SELECT id FROM regress.ids WHERE name = 'undo'), 8001);
RESET ROLE;
SELECT DISTINCT current_user_name, session_user_name FROM regress.who;
SELECT run_as FROM backout.undo_batch WHERE undo_batch_id = (SELECT id FROM regress.ids WHERE name = 'undo');
DROP TRIGGER note_who ON backout.billing_record;
SET ROLE regress_alice;
SELECT status, accounts_billed FROM backout.run_billing(8001, '2026-04-01');
INSERT INTO regress.ids SELECT 'backout', backout_batch_id
FROM backout.backout_usage_file_transactions('no-such-file.json', 8001, 'alice');
SELECT backout.wait_for_batch((SELECT id FROM regress.ids WHERE name = 'backout'), '60 seconds');
RESET ROLE;

------------------------------------------------------------------------------------------------------------
-- 5. Every function of the schema, called by a role with the operator group's privileges but no
--    entitlement, on an existing client (8001) and on one that does not exist (9999): the answers are the
--    same.  Admin functions refuse it outright.  The list is checked against the catalog, so a new
--    function without a line here fails this test.
------------------------------------------------------------------------------------------------------------
CREATE TABLE regress.calls (fn regprocedure PRIMARY KEY, call text NOT NULL);
GRANT SELECT ON regress.calls TO PUBLIC;
INSERT INTO regress.calls VALUES
  ('backout.advance_bill_date(date, smallint)', $$SELECT backout.advance_bill_date('2026-01-31', NULL), %s AS c$$),
  ('backout.backout_usage_file_transactions(text, bigint, text, boolean, uuid)', $$SELECT file_names, client_id, status, error_message, error_code FROM backout.backout_usage_file_transactions('march.json', %s, 'x')$$),
  ('backout.count_usage_by_day()', $$SELECT backout.count_usage_by_day(), %s AS c$$),
  ('backout.create_client_lock_row()', $$SELECT backout.create_client_lock_row(), %s AS c$$),
  ('backout.check_usage_day_counts(bigint)', $$SELECT * FROM backout.check_usage_day_counts(%s)$$),
  ('backout.rebuild_usage_day_counts(bigint)', $$SELECT backout.rebuild_usage_day_counts(%s)$$),
  ('backout.clear_job_schedule(bigint, text, boolean)', $$SELECT * FROM backout.clear_job_schedule(%s, '2026-04-01')$$),
  ('backout.entitled(bigint, text)', $$SELECT backout.entitled(%s, 'reader')$$),
  ('backout.discard_usage(bigint, bigint[], text[], bigint, text, text, jsonb, boolean)', $$SELECT * FROM backout.discard_usage(%s, usage_record_no => ARRAY[1, 2])$$),
  ('backout.post_usage_events(bigint, jsonb, text, text)', $$SELECT backout.post_usage_events(%s, '[{"service_resource_identifier": "a", "usage_type_code": "CALL", "start_time": "2026-03-10", "usage_amount": 1, "reference_id": "r", "sequence_id": "1"}]')$$),
  ('backout.void_usage_events(bigint, text, jsonb, text, boolean)', $$SELECT backout.void_usage_events(%s, 'BY_REF_SEQ', '[{"reference_id": "r", "sequence_id": "1"}]')$$),
  ('backout.reset_lines(bigint, text, text, jsonb, text, boolean)', $$SELECT backout.reset_lines(%s, '1,2')$$),
  ('backout.get_reset_lines_status(uuid, bigint)', $$SELECT * FROM backout.get_reset_lines_status('00000000-0000-0000-0000-000000000001', %s)$$),
  ('backout.query_lines(bigint, text, text, text, jsonb, text, text, bigint, bigint, text)', $$SELECT backout.query_lines(%s, aid => '1,2')$$),
  ('backout.query_aggregate(bigint, text, text, jsonb, jsonb, jsonb, jsonb)', $$SELECT backout.query_aggregate(%s, aid => '1,2', groupby => '{"usaget": "$usaget"}')$$),
  ('backout.define_operations_view()', $$SELECT backout.define_operations_view(), %s AS c$$),
  ('backout.get_voided_usage_events(bigint, text, text, text)', $$SELECT backout.get_voided_usage_events(%s, sequence_id => '1', reference_id => 'r')$$),
  ('backout.get_usage_history(bigint, bigint, text, bigint, text, text, text, text[], text[], text[], text[], bigint, bigint, bigint, text, text, bigint, bigint)', $$SELECT * FROM backout.get_usage_history(%s, acct_no => 1, date_range_start => '2026-03-01')$$),
  ('backout.entitled_clients(text)', $$SELECT backout.entitled_clients('reader'), %s AS c$$),
  ('backout.entitled_to_all(text)', $$SELECT backout.entitled_to_all('reader'), %s AS c$$),
  ('backout.tenant_allows(bigint, text)', $$SELECT backout.tenant_allows(%s, 'reader')$$),
  ('backout.tenant_clients(text)', $$SELECT backout.tenant_clients('reader'), %s AS c$$),
  ('backout.distribute()', $$SELECT backout.distribute(), %s AS c$$),
  ('backout.get_undo_job_schedule_status(uuid, bigint)', $$SELECT * FROM backout.get_undo_job_schedule_status((SELECT id FROM regress.ids WHERE name = 'undo'), %s)$$),
  ('backout.get_usage_file_txns_backout_status(uuid, bigint)', $$SELECT * FROM backout.get_usage_file_txns_backout_status((SELECT id FROM regress.ids WHERE name = 'backout'), %s)$$),
  ('backout.grant_client(regrole, bigint, text)', $$SELECT backout.grant_client('regress_nobody', %s, 'operator')$$),
  ('backout.parse_usage_timestamp(text)', $$SELECT backout.parse_usage_timestamp('2026-03-01 10:00:00'), %s AS c$$),
  ('backout.preview_backout_usage_file_transactions(text, bigint, boolean)', $$SELECT * FROM backout.preview_backout_usage_file_transactions('march.json', %s)$$),
  ('backout.preview_undo_job_schedule(text, bigint, boolean)', $$SELECT * FROM backout.preview_undo_job_schedule('2026-04-01', %s)$$),
  ('backout.price_offer_in_force(bigint, bigint, bigint, date)', $$SELECT * FROM backout.price_offer_in_force(%s, 1, 10, '2026-03-10')$$),
  ('backout.process_staged_usage_file(bigint, text)', $$SELECT * FROM backout.process_staged_usage_file(%s, 'staged.csv')$$),
  ('backout.process_usage_file(bigint, text, jsonb)', $$SELECT * FROM backout.process_usage_file(%s, 'new.json', regress.march_file())$$),
  ('backout.revoke_client(regrole, bigint)', $$SELECT backout.revoke_client('regress_alice', %s)$$),
  ('backout.run_billing(bigint, text)', $$SELECT * FROM backout.run_billing(%s, '2026-05-01')$$),
  ('backout.run_pending_batches(bigint, bigint)', $$CALL backout.run_pending_batches(%s)$$),
  ('backout.run_next_batch(bigint)', $$SELECT * FROM backout.run_next_batch(%s)$$),
  ('backout.claim_batch(bigint)', $$SELECT backout.claim_batch(%s)$$),
  ('backout.run_claimed_batch()', $$SELECT backout.run_claimed_batch(), %s AS c$$),
  ('backout.cancel_batch(uuid, bigint)', $$SELECT * FROM backout.cancel_batch((SELECT id FROM regress.ids WHERE name = 'undo'), %s)$$),
  ('backout.prune_audit(interval)', $$SELECT * FROM backout.prune_audit('0 days'), (SELECT %s) AS c$$),
  ('backout.undo_job_schedule(text, bigint, boolean, text)', $$SELECT status, error_code, error_message, client_id FROM backout.undo_job_schedule('2026-04-01', %s)$$),
  ('backout.wait_for_batch(uuid, interval)', $$SELECT backout.wait_for_batch(CASE WHEN %s = 8001 THEN (SELECT id FROM regress.ids WHERE name = 'undo') ELSE gen_random_uuid() END, '1 second')$$);
-- every function of the schema has a call above, and every call names a function of the schema
SELECT p.oid::regprocedure AS function_without_a_call FROM pg_proc p
WHERE p.pronamespace = 'backout'::regnamespace AND p.oid NOT IN (SELECT fn FROM regress.calls);
SELECT fn AS call_without_a_function FROM regress.calls WHERE fn::oid NOT IN (SELECT oid FROM pg_proc);
-- a file staged for 8001 by its operator: invisible to, and not ingestible by, anyone else
SET ROLE regress_alice;
INSERT INTO backout.usage_staging (client_id, file_name, acct_no, usage_type_code, usage_date, units)
VALUES (8001, 'staged.csv', '1', 'CALL', '2026-03-20 10:00:00', '5');
RESET ROLE;
-- Every row of a client in every table of the schema (but the refusal log), as one digest: equal digests,
-- byte-for-byte equal rows.
CREATE FUNCTION regress.client_rows_digest(client bigint) RETURNS TABLE (tbl text, rows_of_client bigint, digest text)
LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'client_id'
             WHERE c.relnamespace = 'backout'::regnamespace AND c.relkind = 'r' AND c.relname <> 'access_refusal'
             ORDER BY 1
    LOOP
        tbl := t;
        EXECUTE format('SELECT count(*), md5(coalesce(string_agg(r::text, E''\n'' ORDER BY r::text), '''')) FROM backout.%I r WHERE client_id = $1', t)
            INTO rows_of_client, digest USING client;
        RETURN NEXT;
    END LOOP;
END $$;
CREATE TABLE regress.digest_before AS
SELECT 8001 AS client, * FROM regress.client_rows_digest(8001) UNION ALL SELECT 9999, * FROM regress.client_rows_digest(9999);
SET ROLE regress_nobody;
SELECT fn, regress.answer(call, 8001) AS answer_on_8001, regress.answer(call, 8001) = regress.answer(call, 9999) AS same_as_unknown_client
FROM regress.calls ORDER BY fn::text;
RESET ROLE;
-- A refused call writes nothing but its refusal: every table of 8001 (which exists) and of 9999 (which
-- does not) is byte-for-byte as before the walk (expect no rows)
SELECT b.client, b.tbl, b.rows_of_client AS rows_before, a.rows_of_client AS rows_after
FROM regress.digest_before b
JOIN (SELECT 8001 AS client, * FROM regress.client_rows_digest(8001) UNION ALL SELECT 9999, * FROM regress.client_rows_digest(9999)) a
  USING (client, tbl)
WHERE a.digest IS DISTINCT FROM b.digest;
SELECT count(*) > 15 AS tables_compared, sum(rows_of_client) FILTER (WHERE client = 8001) > 0 AS client_8001_has_rows
FROM regress.digest_before;
-- nothing changed for 8001: no new usage, billing, schedule or file; the refusals are logged for admins
SELECT (SELECT count(*) FROM backout.usage_txn WHERE client_id = 8001) AS usage,
       (SELECT count(*) FROM backout.usage_file WHERE client_id = 8001) AS files,
       (SELECT count(*) FROM backout.billing_batch WHERE client_id = 8001 AND status = 'COMPLETED') AS runs,
       (SELECT count(*) FROM backout.job_schedule WHERE client_id = 8001) AS schedules,
       (SELECT count(*) FROM backout.usage_staging WHERE client_id = 8001) AS staged,
       (SELECT count(*) FROM backout.entitlement WHERE role = 'regress_nobody'::regrole) AS nobody_entitlements;
SELECT function_name, level, client_id, session_user_name = session_user AS by_this_session, sum(refusals) AS refusals
FROM backout.access_refusal WHERE role_name = 'regress_nobody' GROUP BY 1, 2, 3, 4 ORDER BY 1, 3;
SET ROLE regress_adm;
SELECT count(*) > 0 AS admins_read_the_refusals FROM backout.access_refusal;
RESET ROLE;
SET ROLE regress_alice;
SELECT regress.error_of($$SELECT count(*) FROM backout.access_refusal$$);
RESET ROLE;

------------------------------------------------------------------------------------------------------------
-- 6. A reader reads its client (status, tables, the operations view) and changes nothing.
------------------------------------------------------------------------------------------------------------
SET ROLE regress_bob;
SELECT status, error_code FROM backout.get_undo_job_schedule_status((SELECT id FROM regress.ids WHERE name = 'undo'), 8001);
SELECT count(*) > 0 AS sees_its_usage FROM backout.usage_txn WHERE client_id = 8001;
SELECT DISTINCT client_id, operation FROM backout.operations ORDER BY 1, 2;
SELECT regress.error_of($$SELECT * FROM backout.undo_job_schedule('2026-04-01', 8001)$$);
SELECT regress.error_of($$SELECT * FROM backout.run_billing(8001, '2026-05-01')$$);
SELECT regress.error_of($$UPDATE backout.billing_profile SET next_bill_date = '2030-01-01' WHERE client_id = 8001$$);
SELECT regress.error_of($$CALL backout.run_pending_batches()$$);
RESET ROLE;

------------------------------------------------------------------------------------------------------------
-- 7. An operator of one client acting on another: answered like an unknown client; direct writes are
--    stopped by row-level security, direct reads see nothing.
------------------------------------------------------------------------------------------------------------
SET ROLE regress_carol;
SELECT status, error_code, error_message FROM backout.process_usage_file(8001, 'march2.json', regress.march_file());
SELECT status, error_code, error_message FROM backout.process_usage_file(9999, 'march2.json', regress.march_file());
SELECT status, error_code, error_message FROM backout.run_billing(8001, '2026-05-01');
SELECT status, error_code, error_message FROM backout.clear_job_schedule(8001, '2026-04-01');
SELECT regress.error_of($$INSERT INTO backout.account VALUES (8001, 99, 'sneaky')$$);
SELECT regress.error_of($$UPDATE backout.account SET client_acct_id = 'x' WHERE client_id = 8001$$);
SELECT count(*) AS rows_of_8001 FROM backout.usage_txn WHERE client_id = 8001;
-- its own client works
SELECT status, records_processed FROM backout.process_usage_file(8002, 'march.json', regress.march_file());
INSERT INTO backout.account VALUES (8002, 99, 'own');
RESET ROLE;

------------------------------------------------------------------------------------------------------------
-- 8. Row-level security on every table with client_id; an entitled reader sees only its client's rows
--    though other clients have rows in those tables.
------------------------------------------------------------------------------------------------------------
SELECT c.relname AS table_without_row_security
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'client_id'
WHERE c.relnamespace = 'backout'::regnamespace AND c.relkind = 'r' AND NOT c.relrowsecurity;
CREATE FUNCTION regress.rows_by_client_table() RETURNS TABLE (tbl text, own bigint, others bigint) LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'client_id'
             WHERE c.relnamespace = 'backout'::regnamespace AND c.relkind IN ('r', 'v')
               AND c.relname NOT IN ('access_refusal', 'lock_row') ORDER BY 1
    LOOP
        tbl := t;
        EXECUTE format('SELECT count(*) FILTER (WHERE client_id = 8001), count(*) FILTER (WHERE client_id IS DISTINCT FROM 8001) FROM backout.%I', t)
            INTO own, others;
        RETURN NEXT;
    END LOOP;
END $$;
-- as the superuser: other clients' rows exist in most tables
SELECT count(*) FILTER (WHERE others > 0) > 10 AS other_clients_have_rows FROM regress.rows_by_client_table();
SET ROLE regress_bob;
SELECT tbl, others FROM regress.rows_by_client_table() WHERE others > 0;
SELECT count(*) FILTER (WHERE own > 0) > 10 AS sees_its_own FROM regress.rows_by_client_table();
RESET ROLE;
-- the every-client service account sees them all
SET ROLE regress_svc;
SELECT count(DISTINCT client_id) > 2 AS sees_every_client FROM backout.client;
RESET ROLE;

------------------------------------------------------------------------------------------------------------
-- 9. Revoking an entitlement while a batch waits: the batch ends ERROR with the reason, nothing changed.
------------------------------------------------------------------------------------------------------------
BEGIN;
SET LOCAL pg_backout.start_runners = off;
SET LOCAL ROLE regress_alice;
INSERT INTO regress.ids SELECT 'revoked', undo_batch_id FROM backout.undo_job_schedule('2026-04-01', 8001);
SET LOCAL ROLE regress_adm;
SELECT backout.revoke_client('regress_alice', 8001);
COMMIT;
SELECT backout.wait_for_batch((SELECT id FROM regress.ids WHERE name = 'revoked'), '60 seconds');
SELECT status, error_code, error_message FROM backout.undo_batch WHERE undo_batch_id = (SELECT id FROM regress.ids WHERE name = 'revoked');
SELECT status FROM backout.billing_batch WHERE client_id = 8001 ORDER BY billing_batch_id;
-- and alice, no longer entitled, cannot even see it
SET ROLE regress_alice;
SELECT status, error_code, error_message LIKE 'undo batch % does not exist for client 8001' AS unknown_batch
FROM backout.get_undo_job_schedule_status((SELECT id FROM regress.ids WHERE name = 'revoked'), 8001);
RESET ROLE;
SET ROLE regress_adm;
SELECT backout.grant_client('regress_alice', 8001, 'operator');
RESET ROLE;

------------------------------------------------------------------------------------------------------------
-- 10. run_next_batch() runs only the batches of clients the caller operates on (so does CALL
--     run_pending_batches(), tests/isolation/specs/engine_scope.spec).
------------------------------------------------------------------------------------------------------------
BEGIN;
SET LOCAL pg_backout.start_runners = off;
SET LOCAL ROLE regress_alice;
SELECT status FROM backout.undo_job_schedule('2026-04-01', 8001);
SET LOCAL ROLE regress_carol;
SELECT kind, status FROM backout.run_next_batch();
SELECT kind, status FROM backout.run_next_batch(8001);
SET LOCAL ROLE regress_alice;
SELECT kind, client_id, status FROM backout.run_next_batch();
COMMIT;

------------------------------------------------------------------------------------------------------------
-- 11. search_path hijack: a role with CREATE on public plants better-matching functions and operators.
--     A superuser (and an operator) then run every operation with public first on the search_path, and the
--     worker runs their batches: none of the planted objects ever runs.
------------------------------------------------------------------------------------------------------------
CREATE ROLE regress_mallory;
GRANT CREATE ON SCHEMA public TO regress_mallory;
SET ROLE regress_mallory;
CREATE TABLE public.hijack_log (fn text, who text, superuser boolean);
GRANT INSERT ON public.hijack_log TO PUBLIC;
CREATE FUNCTION public.note(fn text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO public.hijack_log SELECT fn, current_user, (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) $$;
CREATE FUNCTION public.hashtextextended(t text, seed integer) RETURNS bigint LANGUAGE sql AS $$
    SELECT public.note('hashtextextended'); SELECT pg_catalog.hashtextextended(t, seed) $$;
CREATE FUNCTION public.lower(t text) RETURNS text LANGUAGE sql AS $$ SELECT public.note('lower'); SELECT pg_catalog.lower(t) $$;
CREATE FUNCTION public.to_char(d date, f text) RETURNS text LANGUAGE sql AS $$
    SELECT public.note('to_char'); SELECT pg_catalog.to_char(d::timestamp, f) $$;
CREATE FUNCTION public.date_trunc(f text, d date) RETURNS timestamp LANGUAGE sql AS $$
    SELECT public.note('date_trunc'); SELECT pg_catalog.date_trunc(f, d::timestamp) $$;
CREATE FUNCTION public.unnest(a text[]) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT public.note('unnest'); SELECT pg_catalog.unnest(a) $$;
CREATE FUNCTION public.jsonb_array_elements(j jsonb) RETURNS SETOF jsonb LANGUAGE sql AS $$
    SELECT public.note('jsonb_array_elements'); SELECT pg_catalog.jsonb_array_elements(j) $$;
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT public.note('now'); SELECT pg_catalog.now() $$;
CREATE FUNCTION public.gen_random_uuid() RETURNS uuid LANGUAGE sql AS $$
    SELECT public.note('gen_random_uuid'); SELECT pg_catalog.gen_random_uuid() $$;
CREATE FUNCTION public.int8_eq(a bigint, b bigint) RETURNS boolean LANGUAGE sql AS $$
    SELECT public.note('= (bigint, bigint)'); SELECT a OPERATOR(pg_catalog.=) b $$;
CREATE OPERATOR public.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.int8_eq);
CREATE FUNCTION public.text_eq(a text, b text) RETURNS boolean LANGUAGE sql AS $$
    SELECT public.note('= (text, text)'); SELECT a OPERATOR(pg_catalog.=) b $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.text_eq);
CREATE FUNCTION public.num_add(a numeric, b numeric) RETURNS numeric LANGUAGE sql AS $$
    SELECT public.note('+ (numeric, numeric)'); SELECT a OPERATOR(pg_catalog.+) b $$;
CREATE OPERATOR public.+ (LEFTARG = numeric, RIGHTARG = numeric, FUNCTION = public.num_add);
RESET ROLE;
SELECT regress.make_client(8003, 0.10, 100);
-- the plant works: with public first on the path, plain SQL calls it
SET search_path = public, pg_catalog;
SELECT hashtextextended('x', 0) = 0 AS control;
RESET search_path;
SELECT fn, who, superuser FROM public.hijack_log;
TRUNCATE public.hijack_log;

-- every operation, by the superuser, with the planted objects first on its search_path
SET search_path = public, pg_catalog;
SELECT status, records_processed FROM backout.process_usage_file(8003, 'march.json', regress.march_file());
INSERT INTO backout.usage_staging (client_id, file_name, acct_no, usage_type_code, usage_date, units)
VALUES (8003, 'staged.csv', '3', 'CALL', '2026-03-21 10:00:00', '5');
SELECT status, records_processed FROM backout.process_staged_usage_file(8003, 'staged.csv');
SELECT status, accounts_billed FROM backout.run_billing(8003, '2026-04-01');
SELECT file_name, found, transactions, action FROM backout.preview_backout_usage_file_transactions('march.json,staged.csv', 8003, true);
SELECT undo_batch_id AS hijack_undo FROM backout.undo_job_schedule('2026-04-01', 8003, true) \gset
SELECT backout.wait_for_batch(:'hijack_undo', '60 seconds');
SELECT status, error_code FROM backout.get_undo_job_schedule_status(:'hijack_undo', 8003);
SELECT status, job_schedules FROM backout.clear_job_schedule(8003, '2026-04-01');
SELECT status, records_processed FROM backout.process_usage_file(8003, 'march.json', regress.march_file());
SELECT status, accounts_billed FROM backout.run_billing(8003, '2026-04-01');
SELECT backout_batch_id AS hijack_backout FROM backout.backout_usage_file_transactions('march.json', 8003, 'ops', true) \gset
SELECT backout.wait_for_batch(:'hijack_backout', '60 seconds');
SELECT status, transactions_deleted FROM backout.get_usage_file_txns_backout_status(:'hijack_backout', 8003);
CALL backout.run_pending_batches();
SELECT backout.grant_client('regress_carol', 8003, 'operator');
-- and by an operator, also with public first
SET ROLE regress_carol;
SELECT status, records_processed FROM backout.process_usage_file(8003, 'late.json', regress.late_file());
SELECT status, accounts_billed FROM backout.run_billing(8003, '2026-04-01');
SELECT undo_batch_id AS hijack_undo2 FROM backout.undo_job_schedule('2026-04-01', 8003) \gset
SELECT backout.wait_for_batch(:'hijack_undo2', '60 seconds');
RESET ROLE;
RESET search_path;
-- none of the planted objects ran, in a backend or in the worker
SELECT fn, who, superuser FROM public.hijack_log;
SELECT backout.revoke_client('regress_carol', 8003);
