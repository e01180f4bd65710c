-- Who may do what, per tenant (SPEC §6).  Runs last in CREATE EXTENSION (and in the upgrade to 0.3.0).
--
-- * Group roles: backout_reader (status functions, previews, direct reads of its clients' rows),
--   backout_operator (reader + every operation that changes data), backout_admin (grants entitlements;
--   member of operator WITH ADMIN OPTION so that grant_client can hand out the groups).  backout_worker is
--   the LOGIN role the background runners connect as; it holds no privilege of its own.
-- * Entitlements: rows (role, client, level) in backout.entitlement, managed with grant_client/revoke_client.
--   Membership in a group gives function privileges; an entitlement row gives the tenant.
-- * Row-level security on every table with client_id: an entitled role sees (reader) and writes (operator)
--   only its clients' rows.  The extension's owner and superusers bypass it.
-- * PUBLIC has nothing: no USAGE on the schema, no EXECUTE on any function, no privilege on any table.

-- The group roles are cluster-wide and may already exist: created by this extension in another database
-- (or before a DROP EXTENSION), they carry the marker comment and are adopted; any other role of that name
-- could be someone's way in, and is refused.
DO $roles$
DECLARE
    r record;
    marker constant text := 'pg_backout role %s (created by CREATE EXTENSION pg_backout)';
BEGIN
    FOR r IN SELECT * FROM (VALUES ('backout_reader', false), ('backout_operator', false),
                                   ('backout_admin', false), ('backout_worker', true)) AS v(name, login)
    LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r.name) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I %s INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS',
                                      r.name, CASE WHEN r.login THEN 'LOGIN' ELSE 'NOLOGIN' END);
            EXECUTE pg_catalog.format('COMMENT ON ROLE %I IS %L', r.name, pg_catalog.format(marker, r.name));
        ELSIF NOT EXISTS (SELECT FROM pg_catalog.pg_roles a
                          WHERE a.rolname = r.name
                            AND pg_catalog.shobj_description(a.oid, 'pg_authid') = pg_catalog.format(marker, r.name)
                            AND a.rolcanlogin = r.login AND NOT a.rolsuper AND NOT a.rolcreaterole
                            AND NOT a.rolcreatedb AND NOT a.rolreplication AND NOT a.rolbypassrls) THEN
            RAISE EXCEPTION 'role "%" already exists and was not created by pg_backout', r.name
                USING ERRCODE = 'duplicate_object',
                      HINT = 'pg_backout creates its group roles backout_reader, backout_operator, backout_admin and backout_worker itself; rename or drop the existing role, then CREATE EXTENSION again.';
        END IF;
    END LOOP;
    -- operator includes reader; admin hands both out (grant_client), so it holds them WITH ADMIN OPTION
    IF NOT pg_catalog.pg_has_role('backout_operator', 'backout_reader', 'MEMBER') THEN
        GRANT backout_reader TO backout_operator;
    END IF;
    IF NOT pg_catalog.pg_has_role('backout_admin', 'backout_operator', 'MEMBER WITH ADMIN OPTION') THEN
        GRANT backout_operator TO backout_admin WITH ADMIN OPTION;
    END IF;
    IF NOT pg_catalog.pg_has_role('backout_admin', 'backout_reader', 'MEMBER WITH ADMIN OPTION') THEN
        GRANT backout_reader TO backout_admin WITH ADMIN OPTION;
    END IF;
END
$roles$;

---------------------------------------------------------------------------------------------------------
-- Entitlements
---------------------------------------------------------------------------------------------------------

CREATE TABLE backout.entitlement (
    client_id   bigint CHECK (client_id > 0),      -- NULL = every client (service accounts)
    role        regrole NOT NULL,
    level       text NOT NULL CHECK (level IN ('reader', 'operator')),
    granted_by  text NOT NULL DEFAULT current_user,
    granted_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT entitlement_one_per_client UNIQUE NULLS NOT DISTINCT (client_id, role)
);
COMMENT ON TABLE backout.entitlement IS
    'Who may act on which client: one row per (role, client) with its level. Written by grant_client and '
    'revoke_client (admins); read by every access check and by the row-level security policies. A role '
    'dropped with DROP ROLE leaves its rows behind.';
COMMENT ON COLUMN backout.entitlement.client_id IS 'The client; NULL: every client (service accounts).';
COMMENT ON COLUMN backout.entitlement.role IS 'The entitled role; its members have the entitlement too.';
COMMENT ON COLUMN backout.entitlement.level IS
    'reader (status, previews, reads) or operator (also every operation that changes data).';
COMMENT ON COLUMN backout.entitlement.granted_by IS
    'The role that granted it (current_user of grant_client).';
COMMENT ON COLUMN backout.entitlement.granted_at IS 'When it was granted, or its level last replaced.';

-- Every refused call: who tried which function on which client.  Admins read it.  Bounded: one row per
-- (client, role, session user, function, level, minute) with the number of refusals in it, and every
-- refusal naming a client that does not exist filed under client_id 0, so that no role can grow the log
-- faster than one row per existing client, function and minute (backout.prune_audit removes old minutes).
CREATE TABLE backout.access_refusal (
    client_id    bigint NOT NULL,                   -- 0: a client that does not exist
    refusal_id   bigint GENERATED BY DEFAULT AS IDENTITY,
    role_name    text NOT NULL,
    session_user_name text NOT NULL,
    function_name text NOT NULL,
    level        text NOT NULL,
    refused_at   timestamptz NOT NULL DEFAULT clock_timestamp(),  -- the first refusal of the minute
    refused_minute timestamptz NOT NULL DEFAULT date_trunc('minute', clock_timestamp()),
    refusals     bigint NOT NULL DEFAULT 1,         -- how many in that minute
    last_refused_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (client_id, refusal_id),
    CONSTRAINT access_refusal_one_per_minute
        UNIQUE (client_id, role_name, session_user_name, function_name, level, refused_minute)
);
COMMENT ON TABLE backout.access_refusal IS
    'Log of refused calls: one row per (client, role, session user, function, level, minute) with the number '
    'of refusals in that minute, so that it cannot grow faster than one row per existing client, function '
    'and minute. Written by the extension only; admins read it; prune_audit removes old minutes.';
COMMENT ON COLUMN backout.access_refusal.client_id IS
    'The client named by the call; 0: a client that does not exist.';
COMMENT ON COLUMN backout.access_refusal.refusal_id IS 'Row id (identity).';
COMMENT ON COLUMN backout.access_refusal.role_name IS 'The role in effect (current_user) that was refused.';
COMMENT ON COLUMN backout.access_refusal.session_user_name IS 'The session user of the refused call.';
COMMENT ON COLUMN backout.access_refusal.function_name IS 'The function that refused it.';
COMMENT ON COLUMN backout.access_refusal.level IS 'The entitlement level it needed: reader or operator.';
COMMENT ON COLUMN backout.access_refusal.refused_at IS 'The first refusal of the minute.';
COMMENT ON COLUMN backout.access_refusal.refused_minute IS 'The minute the refusals fall in.';
COMMENT ON COLUMN backout.access_refusal.refusals IS 'Number of refusals in that minute.';
COMMENT ON COLUMN backout.access_refusal.last_refused_at IS 'The last refusal of the minute.';

-- The checks.  The one the policies and the API use is backout.tenant_allows / tenant_clients (Rust,
-- src/access.rs): it reads the entitlements once per statement and no table in the query that calls it,
-- which Citus requires of a row filter on a distributed table.  The SQL helpers below keep their names;
-- SQL-standard bodies, bound when created, evaluated as the caller (current_user), never as an owner.

-- Is the current role entitled to the client at the level (operator includes reader)?  Superusers are.
CREATE FUNCTION backout.entitled(p_client_id bigint, p_level text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT backout.tenant_allows(p_client_id, p_level);
END;

-- Is the current role entitled to every client at the level?
CREATE FUNCTION backout.entitled_to_all(p_level text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT EXISTS (SELECT FROM backout.entitlement e
                   WHERE e.client_id IS NULL
                     AND (e.level = 'operator' OR p_level = 'reader')
                     AND pg_catalog.pg_has_role(e.role::oid, 'USAGE'));
END;

-- The clients the current role is entitled to at the level, one by one.
CREATE FUNCTION backout.entitled_clients(p_level text) RETURNS bigint[]
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT COALESCE(pg_catalog.array_agg(DISTINCT e.client_id), '{}'::bigint[])
    FROM backout.entitlement e
    WHERE e.client_id IS NOT NULL
      AND (e.level = 'operator' OR p_level = 'reader')
      AND pg_catalog.pg_has_role(e.role::oid, 'USAGE');
END;

-- Grant `role` the level on a client (NULL: on every client), and membership in the level's group role.
-- Returns what was granted, as text.
CREATE FUNCTION backout.grant_client(role regrole, client_id bigint, level text) RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_name name := (SELECT a.rolname FROM pg_roles a WHERE a.oid = $1);
    v_group name := 'backout_' || $3;
BEGIN
    IF $1 IS NULL OR $3 IS NULL THEN
        RAISE EXCEPTION 'grant_client: role and level are required (client_id NULL means every client)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF $3 NOT IN ('reader', 'operator') THEN
        RAISE EXCEPTION 'grant_client: level must be ''reader'' or ''operator'', not %', quote_literal($3)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF $2 IS NOT NULL AND $2 <= 0 THEN
        RAISE EXCEPTION 'grant_client: client_id must be positive (or NULL for every client), not %', $2
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF v_name IS NULL OR v_name IN ('backout_reader', 'backout_operator', 'backout_admin', 'backout_worker') THEN
        RAISE EXCEPTION 'grant_client: % is not a role to entitle; entitle the roles of people and services', $1
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT pg_has_role(v_name, v_group, 'MEMBER') THEN
        EXECUTE format('GRANT %I TO %I', v_group, v_name);
    END IF;
    INSERT INTO backout.entitlement AS e (role, client_id, level)
    VALUES ($1, $2, $3)
    ON CONFLICT ON CONSTRAINT entitlement_one_per_client
    DO UPDATE SET level = excluded.level, granted_by = excluded.granted_by, granted_at = excluded.granted_at;
    RETURN format('%s: %s of %s', v_name, $3, coalesce('client ' || $2, 'every client'));
END
$$;

-- Remove `role`'s entitlement on a client (NULL: its every-client entitlement).  Group memberships stay
-- (the role may hold other clients).  Returns the number of entitlements removed (0 or 1).
CREATE FUNCTION backout.revoke_client(role regrole, client_id bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    removed bigint;
BEGIN
    IF $1 IS NULL THEN
        RAISE EXCEPTION 'revoke_client: role is required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DELETE FROM backout.entitlement e WHERE e.role = $1 AND e.client_id IS NOT DISTINCT FROM $2;
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END
$$;

CREATE VIEW backout.entitlements WITH (security_invoker = true) AS
SELECT e.role::text AS role_name, e.client_id, e.client_id IS NULL AS all_clients, e.level, e.granted_by, e.granted_at
FROM backout.entitlement e
ORDER BY 1, e.client_id NULLS FIRST;
COMMENT ON VIEW backout.entitlements IS
    'The entitlements in readable form, by role: a role sees its own and those of the roles whose privileges '
    'it has, admins see all (security_invoker over entitlement). Readers and admins.';
COMMENT ON COLUMN backout.entitlements.role_name IS
    'The entitled role''s name (its oid when the role was dropped).';
COMMENT ON COLUMN backout.entitlements.client_id IS 'The client; NULL: every client.';
COMMENT ON COLUMN backout.entitlements.all_clients IS
    'true: the entitlement covers every client (client_id NULL).';
COMMENT ON COLUMN backout.entitlements.level IS 'reader or operator (operator includes reader).';
COMMENT ON COLUMN backout.entitlements.granted_by IS 'The role that granted it.';
COMMENT ON COLUMN backout.entitlements.granted_at IS 'When it was granted, or its level last replaced.';

---------------------------------------------------------------------------------------------------------
-- Row-level security on every table with client_id
---------------------------------------------------------------------------------------------------------

-- Entitlements: a role sees the rows of the roles whose privileges it has; admins see and write all.
ALTER TABLE backout.entitlement ENABLE ROW LEVEL SECURITY;
CREATE POLICY entitlement_own ON backout.entitlement FOR SELECT
    USING (pg_catalog.pg_has_role(role::oid, 'USAGE'));
CREATE POLICY entitlement_admin ON backout.entitlement
    USING (pg_catalog.pg_has_role('backout_admin', 'USAGE'))
    WITH CHECK (pg_catalog.pg_has_role('backout_admin', 'USAGE'));

ALTER TABLE backout.access_refusal ENABLE ROW LEVEL SECURITY;
CREATE POLICY access_refusal_admin ON backout.access_refusal FOR SELECT
    USING (pg_catalog.pg_has_role('backout_admin', 'USAGE'));

-- Tenant tables: read at reader level, write at operator level.  backout.tenant_allows looks the
-- entitlements up once per statement (then searches a sorted list per row), and reads no table in the
-- statement itself: Citus accepts it in a policy of a distributed table (it refuses subqueries there).
DO $rls$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
             JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = 'client_id' AND NOT a.attisdropped
             WHERE c.relnamespace = 'backout'::regnamespace AND c.relkind = 'r'
               AND c.relname NOT IN ('entitlement', 'access_refusal')
             ORDER BY c.relname
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
        EXECUTE pg_catalog.format($p$CREATE POLICY tenant_read ON %s FOR SELECT
            USING (backout.tenant_allows(client_id, 'reader'))$p$, t);
        EXECUTE pg_catalog.format($p$CREATE POLICY tenant_write ON %s
            USING (backout.tenant_allows(client_id, 'operator'))$p$, t);
    END LOOP;
END
$rls$;

---------------------------------------------------------------------------------------------------------
-- Privileges
---------------------------------------------------------------------------------------------------------

REVOKE ALL ON SCHEMA backout FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA backout FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA backout FROM PUBLIC;
REVOKE ALL ON ALL ROUTINES IN SCHEMA backout FROM PUBLIC;
GRANT USAGE ON SCHEMA backout TO backout_reader, backout_admin;

-- Views run with the reader's rights, so row-level security applies through them.
ALTER VIEW backout.operations SET (security_invoker = true);

-- Readers: every tenant table (filtered), the operations view, their own entitlements.
GRANT SELECT ON ALL TABLES IN SCHEMA backout TO backout_reader;
REVOKE SELECT ON backout.access_refusal, backout.lock_row FROM backout_reader;
GRANT EXECUTE ON FUNCTION
    backout.entitled(bigint, text), backout.entitled_to_all(text), backout.entitled_clients(text),
    backout.tenant_allows(bigint, text), backout.tenant_clients(text),
    backout.get_undo_job_schedule_status(uuid, bigint),
    backout.get_usage_file_txns_backout_status(uuid, bigint),
    backout.preview_backout_usage_file_transactions(text, bigint, boolean),
    backout.preview_undo_job_schedule(text, bigint, boolean),
    backout.wait_for_batch(uuid, interval),
    backout.get_usage_history(bigint, bigint, text, bigint, text, text, text, text[], text[], text[], text[],
                              bigint, bigint, bigint, text, text, bigint, bigint),
    backout.get_voided_usage_events(bigint, text, text, text),
    backout.get_reset_lines_status(uuid, bigint),
    backout.query_lines(bigint, text, text, text, jsonb, text, text, bigint, bigint, text),
    backout.query_aggregate(bigint, text, text, jsonb, jsonb, jsonb, jsonb)
TO backout_reader;

-- Operators: master data and the bulk staging table directly (their clients only), and every operation.
-- The operations write the billing tables with the operator's own rights; the audit and status rows of
-- the asynchronous operations are written by the extension on their behalf, never directly.
GRANT INSERT, UPDATE, DELETE ON
    backout.client, backout.account, backout.billing_profile, backout.usage_type, backout.price_offer,
    backout.commitment_contract, backout.usage_staging,
    backout.usage_file, backout.usage_txn, backout.commitment_balance, backout.billing_batch, backout.invoice,
    backout.billing_record, backout.billing_balance_snapshot,
    backout.job_schedule, backout.job_schedule_item, backout.job_schedule_list
TO backout_operator;
-- Posting events draws their record numbers first (src/usage_events.rs); voiding keeps the voided rows.
GRANT USAGE ON SEQUENCE backout.usage_txn_txn_id_seq TO backout_operator;
GRANT INSERT ON backout.voided_usage_event TO backout_operator;
GRANT EXECUTE ON FUNCTION
    backout.process_usage_file(bigint, text, jsonb),
    backout.process_staged_usage_file(bigint, text),
    backout.run_billing(bigint, text),
    backout.undo_job_schedule(text, bigint, boolean, text),
    backout.backout_usage_file_transactions(text, bigint, text, boolean, uuid),
    backout.clear_job_schedule(bigint, text, boolean),
    backout.run_next_batch(bigint),
    backout.claim_batch(bigint),
    backout.run_claimed_batch(),
    backout.cancel_batch(uuid, bigint),
    backout.discard_usage(bigint, bigint[], text[], bigint, text, text, jsonb, boolean),
    backout.post_usage_events(bigint, jsonb, text, text),
    backout.void_usage_events(bigint, text, jsonb, text, boolean),
    backout.reset_lines(bigint, text, text, jsonb, text, boolean),
    backout.price_offer_in_force(bigint, bigint, bigint, date),
    backout.advance_bill_date(date, smallint),
    backout.parse_usage_timestamp(text)
TO backout_operator;
GRANT EXECUTE ON PROCEDURE backout.run_pending_batches(bigint, bigint) TO backout_operator;

-- Admins: entitlements and the refusal log.
GRANT SELECT, INSERT, UPDATE, DELETE ON backout.entitlement TO backout_admin;
GRANT SELECT ON backout.access_refusal, backout.entitlements TO backout_admin;
GRANT EXECUTE ON FUNCTION backout.grant_client(regrole, bigint, text), backout.revoke_client(regrole, bigint),
                          backout.prune_audit(interval),
                          backout.check_usage_day_counts(bigint), backout.rebuild_usage_day_counts(bigint)
TO backout_admin;

---------------------------------------------------------------------------------------------------------
-- Backups (pg_dump)
---------------------------------------------------------------------------------------------------------

-- Every table whose rows are data is an extension configuration table: CREATE EXTENSION recreates the
-- tables, and pg_dump dumps their rows for the restore to fill them.  Their sequences too (identity and
-- queue), so that ids and the submission order continue after a restore.
-- Not dumped, on purpose:
-- * usage_day_count is derived from usage_txn: the restore's COPY into usage_txn fires the count triggers,
--   which rebuild it exactly (a data-only restore with --disable-triggers: backout.rebuild_usage_day_counts);
-- * lock_row holds no data, only rows to lock, created again on first use.
-- A table added later is marked by this same block (the regress test 12_backups fails for an unmarked one).
DO $dump$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
             WHERE c.relnamespace = 'backout'::regnamespace AND c.relkind IN ('r', 'S')
               AND c.relname NOT IN ('usage_day_count', 'lock_row')
             ORDER BY c.relname
    LOOP
        PERFORM pg_catalog.pg_extension_config_dump(t, '');
    END LOOP;
END
$dump$;

---------------------------------------------------------------------------------------------------------
-- What each function does (\df+): every function exists by now
---------------------------------------------------------------------------------------------------------

COMMENT ON FUNCTION backout.process_usage_file(bigint, text, jsonb) IS
    'Ingests a usage file given as a jsonb array of records, in one transaction: checks every record, rates '
    'it with the price in force on its usage day, adds it to usage_txn and the commitment balances, writes '
    'the file''s usage_file row; records already present are skipped. All or nothing. Operators of the '
    'client. Refusals are answered with status ERROR, an error_code and an error_message, nothing changed '
    '(they do not raise); database errors such as a lock timeout (55P03) raise.';
COMMENT ON FUNCTION backout.process_staged_usage_file(bigint, text) IS
    'Ingests the rows staged in usage_staging under (client_id, file_name), in COPY order, with the checks, '
    'rating and answer of process_usage_file; the staged rows are deleted once ingested, kept for correction '
    'when the file is rejected. Operators of the client. Refusals are answered with status ERROR, an '
    'error_code and an error_message, nothing changed (they do not raise); database errors such as a lock '
    'timeout (55P03) raise.';
COMMENT ON FUNCTION backout.run_billing(bigint, text) IS
    'Bills, in one transaction, every account of the client whose next_bill_date is billing_date: invoices, '
    'USAGE_CHARGE and TRUE_UP lines, billed marks on usage, balance true-ups, a BILLING job schedule, '
    'pointers moved one month on. Operators of the client. Refusals (INVALID_INPUT, NOT_FOUND, '
    'ALREADY_SCHEDULED, MISSING_PRICE, RESET_PENDING) are answered with status ERROR and error_code, nothing '
    'changed; database errors raise.';
COMMENT ON FUNCTION backout.undo_job_schedule(text, bigint, boolean, text) IS
    'Submits a batch undoing the client''s completed billing run(s) of billing_date (discard_usage: delete '
    'the billed usage instead of unbilling it) and returns at once with undo_batch_id and status PROCESSING; '
    'follow it with get_undo_job_schedule_status, wait_for_batch or LISTEN pg_backout_batch. Operators of '
    'the client. Refusals (INVALID_INPUT, NOT_FOUND, SYSTEM_ERROR when no such run, UNDO_IN_PROGRESS) are '
    'answered with status ERROR and error_code, recorded as an ERROR row, nothing else changed; a batch that '
    'fails later ends ERROR in undo_batch.';
COMMENT ON FUNCTION backout.get_undo_job_schedule_status(uuid, bigint) IS
    'Status and counts of an undo request of the client (undo_batch). Readers of the client. An unknown '
    'batch id, another client''s, or a client the caller may not read is answered with status ERROR and '
    'error_code NOT_FOUND (a NULL argument: INVALID_INPUT), not raised.';
COMMENT ON FUNCTION backout.backout_usage_file_transactions(text, bigint, text, boolean, uuid) IS
    'Submits a batch backing out usage files (file_names, comma-separated, exact names): deletes their usage '
    'records and usage_file rows and takes them out of the balances, first reversing the billing that '
    'included them when undo_billing; returns at once with backout_batch_id and status PROCESSING. A '
    'backout_batch_id given retries that request. Operators of the client. Refusals (INVALID_INPUT, '
    'NOT_FOUND, BACKOUT_IN_PROGRESS) are answered with status ERROR and error_code, recorded as an ERROR '
    'row, nothing else changed; a batch that fails later ends ERROR in backout_batch.';
COMMENT ON FUNCTION backout.get_usage_file_txns_backout_status(uuid, bigint) IS
    'Status and counts of a backout request of the client (backout_batch). Readers of the client. An unknown '
    'batch id, another client''s, or a client the caller may not read is answered with status ERROR and '
    'error_code NOT_FOUND (a NULL argument: INVALID_INPUT), not raised.';
COMMENT ON FUNCTION backout.preview_backout_usage_file_transactions(text, bigint, boolean) IS
    'Dry run of backout_usage_file_transactions: one row per named file with what the backout would delete '
    '(and, with undo_billing, reverse) and the action it would take; changes nothing. Readers of the client. '
    'Unlike the operations, bad input raises SQLSTATE 22023, the message starting with the error code.';
COMMENT ON FUNCTION backout.preview_undo_job_schedule(text, bigint, boolean) IS
    'Dry run of undo_job_schedule: one row per completed billing batch of the client and date with the '
    'invoices, accounts, amounts, lines and usage the undo would reverse (or, with discard_usage, delete) and '
    'its action (REFUSED with the reason when an account was billed again); no row when the date has no '
    'completed run; changes nothing. Readers of the client. Bad input raises SQLSTATE 22023, the message '
    'starting with the error code.';
COMMENT ON FUNCTION backout.clear_job_schedule(bigint, text, boolean) IS
    'Deletes every job schedule of the client and date, with its items and work units, so that run_billing '
    'can bill that date again for the accounts still due; does not reverse billing. Synchronous and '
    'irreversible: each call is recorded with the deleted rows in job_schedule_clear; dry_run only counts. '
    'Operators of the client. Refusals (INVALID_INPUT, NOT_FOUND, JOB_RUNNING, OPERATION_IN_PROGRESS; '
    'SYSTEM_ERROR without client_id) are answered with status ERROR and error_code, recorded, nothing '
    'deleted; database errors raise.';
COMMENT ON FUNCTION backout.cancel_batch(uuid, bigint) IS
    'Cancels a PROCESSING batch (undo, backout or reset) of the client: a waiting one ends ERROR / CANCELLED '
    'at once; a running one has its runner interrupted when this transaction commits and then ends ERROR / '
    'CANCELLED (or COMPLETED if it finished first). Operators of the client. Refusals are answered with '
    'status ERROR and error_code INVALID_INPUT, NOT_FOUND or NOT_PROCESSING, not raised.';
COMMENT ON PROCEDURE backout.run_pending_batches(bigint, bigint) IS
    'Runs every due batch of the clients the caller operates on (or of client_id), each with its '
    'submitter''s rights, committing after each claim and each batch; returns batches_run. For pg_cron and '
    'servers without the background runners; call it outside a transaction block. Operators. A failing batch '
    'is recorded on the batch, not raised; inside a transaction block the first COMMIT raises (SQLSTATE '
    '2D000).';
COMMENT ON FUNCTION backout.claim_batch(bigint) IS
    'Internal step of CALL run_pending_batches(): claims the next due batch of the clients the caller '
    'operates on (or of client_id alone) and counts its attempt; returns its id, or NULL when nothing is due '
    'or client_id is not the caller''s. One claim per session. Operators.';
COMMENT ON FUNCTION backout.run_claimed_batch() IS
    'Internal step of CALL run_pending_batches(): runs the batch this session claimed with claim_batch, with '
    'its submitter''s rights, and returns its status; NULL when nothing is claimed. Operators. A failing '
    'batch is recorded on the batch (ERROR, or retried later), not raised.';
COMMENT ON FUNCTION backout.run_next_batch(bigint) IS
    'Runs one due batch of the clients the caller operates on (or of client_id) in the caller''s '
    'transaction, with its submitter''s rights, and returns (kind, batch_id, client_id, status); no row when '
    'nothing is due. For tests that need an exact interleaving; otherwise use CALL run_pending_batches(). '
    'Operators. A client the caller may not operate on gives no row; a failing batch is recorded on the '
    'batch, not raised.';
COMMENT ON FUNCTION backout.wait_for_batch(uuid, interval) IS
    'Waits until a batch of any kind leaves PROCESSING or the timeout passes and returns its status '
    '(PROCESSING on timeout); starts a runner if none runs. For scripts; call it in READ COMMITTED after the '
    'submission committed. Readers of the batch''s client. Raises (SQLSTATE XX000) on a NULL argument, an '
    'unknown batch or one the caller may not read, REPEATABLE READ or SERIALIZABLE, a batch submitted by '
    'this transaction, or a client lock this transaction holds.';
COMMENT ON FUNCTION backout.prune_audit(interval) IS
    'Deletes finished audit rows older than older_than (default 90 days): undo, backout and reset batches, '
    'job_schedule_clear, discard_request, usage_event_request and access_refusal; never a PROCESSING batch, '
    'never voided_usage_event. Returns the rows deleted per table; schedulable with pg_cron. Admins. A NULL '
    'older_than raises (SQLSTATE XX000).';
COMMENT ON FUNCTION backout.discard_usage(bigint, bigint[], text[], bigint, text, text, jsonb, boolean) IS
    'Aria Core: discards up to 10,000 unbilled usage records of the client named by usage_record_no (txn_id) '
    'or client_record_id: they stay in usage_txn flagged is_excluded with reason, comment and who, leave the '
    'balances and are never billed; cannot be undone. Every call is recorded in discard_request. Operators '
    'of the client. Answers a numeric error_code row, never raising on input: 0 OK, 23001 some records '
    'failed (failed_records), 1010 missing parameters, 1016 a bad argument or unknown client; 1010 and 1016 '
    'change nothing. dry_run => true: the same answer, nothing changed or recorded.';
COMMENT ON FUNCTION backout.get_usage_history(bigint, bigint, text, bigint, text, text, text, text[], text[],
                                              text[], text[], bigint, bigint, bigint, text, text, bigint,
                                              bigint) IS
    'Aria Core: one account''s usage records (acct_no or client_acct_id) in a date range or on an invoice, '
    'filtered (usage type, qualifiers, client record id, billed, excluded) and paged (limit and offset, or '
    'keyset after_usage_rec_no), as a jsonb array with the count of every match; read-only. Readers of the '
    'client. Answers a numeric error_code row, never raising on input: 0 OK, 1010 missing account or start '
    'date, 1016 a bad argument, 1009 unknown account.';
COMMENT ON FUNCTION backout.post_usage_events(bigint, jsonb, text, text) IS
    'Gotransverse: posts up to 10,000 usage events (a jsonb array), each rated into usage_txn and the '
    'balances like ingested usage or erred on its own; mode FAIL_ON_EXISTING or OVERWRITE_ON_EXISTING '
    'decides what a live (reference_id, sequence_id) pair does. Answers {"rated_events", "erred_events"}; '
    'recorded in usage_event_request. Operators of the client. A call refused whole answers {"error": ...} '
    'with nothing changed; it does not raise.';
COMMENT ON FUNCTION backout.void_usage_events(bigint, text, jsonb, text, boolean) IS
    'Gotransverse: voids up to 50 posted usage events by id (mode BY_ID) or by reference_id and sequence_id '
    '(BY_REF_SEQ): deletes them from usage_txn and the balances, keeping a copy in voided_usage_event when '
    'the client retains voided usage; cannot be undone; dry_run changes nothing. Operators of the client. '
    'Each failing criterion is listed in erred_event_criterias; a call refused whole answers {"error": ...}, '
    'nothing changed, not raised.';
COMMENT ON FUNCTION backout.get_voided_usage_events(bigint, text, text, text) IS
    'Gotransverse: the voided usage events kept in voided_usage_event, by voided event id or every void of a '
    '(sequence_id, reference_id) pair oldest first, as a jsonb array; read-only. Readers of the client. '
    'Unknown or invalid values give []; no lookup at all, half a pair or an unknown client answers {"error": '
    '...}, not raised.';
COMMENT ON FUNCTION backout.reset_lines(bigint, text, text, jsonb, text, boolean) IS
    'BillRun: queues a reset batch re-rating the unbilled, non-discarded lines (usage_txn) of the accounts '
    'in aid and the cycle billrun_key (default each one''s open cycle) that match query, with the prices in '
    'force now, and moving the balances; answers at once with reset_batch_id (an identical PROCESSING '
    'request answers the running one''s); dry_run reports what it would change. Operators of the client. '
    'Refusals answer {"status": 0, "desc": ...} with nothing queued, not raised; a batch that fails '
    '(NO_PRICE) ends ERROR in reset_batch.';
COMMENT ON FUNCTION backout.get_reset_lines_status(uuid, bigint) IS
    'Status and counts of a reset_lines batch of the client (reset_batch). Readers of the client. An unknown '
    'batch id, another client''s, or a client the caller may not read is answered with status ERROR and '
    'error_code NOT_FOUND (a NULL argument: INVALID_INPUT), not raised.';
COMMENT ON FUNCTION backout.query_lines(bigint, text, text, text, jsonb, text, text, bigint, bigint, text) IS
    'BillRun: the lines (usage records) of the given accounts (aid) or subscribers (sid), optionally of a '
    'cycle, a urt date range and a JSON query, ordered by urt then stamp and paged (size, page), or the '
    'distinct values of one field; answers jsonb with details; read-only. Readers of the client. Refusals '
    'answer {"status": 0, "desc": ...}, not raised.';
COMMENT ON FUNCTION backout.query_aggregate(bigint, text, text, jsonb, jsonb, jsonb, jsonb) IS
    'BillRun: aggregates the lines of the given accounts or subscribers (the scope and query language of '
    'query_lines) by groupby fields with $sum, $avg, $max or $min (default a count), one object per group in '
    'details; read-only. Readers of the client. Refusals answer {"status": 0, "desc": ...}, not raised.';
COMMENT ON FUNCTION backout.parse_usage_timestamp(text) IS
    'Helper: a usage date written exactly YYYY-MM-DD HH:mm:ss as a timestamp, NULL when it is not written '
    'so; the strict parser ingest validates records with. Operators. Never raises.';
COMMENT ON FUNCTION backout.define_operations_view() IS
    'Internal: (re)creates the view backout.operations from the registry of batch kinds, with '
    'security_invoker; run by the install and upgrade scripts as the extension''s owner. No role has '
    'EXECUTE. Raises if the view cannot be created.';
COMMENT ON FUNCTION backout.count_usage_by_day() IS
    'Internal trigger function (SECURITY DEFINER) of the statement triggers count_inserted, count_updated, '
    'count_deleted and count_truncated on usage_txn: adds each statement''s net change to usage_day_count. '
    'Not callable directly; no role has EXECUTE.';
COMMENT ON FUNCTION backout.check_usage_day_counts(bigint) IS
    'The usage_day_count keys of a client whose kept count (counted) differs from its usage_txn records '
    '(actual); no row: exact. Read-only, takes no lock. Admins (SECURITY DEFINER). A NULL client_id raises '
    'SQLSTATE 22023.';
COMMENT ON FUNCTION backout.rebuild_usage_day_counts(bigint) IS
    'Makes a client''s usage_day_count exact again and returns the number of keys corrected; holds usage_txn '
    'in SHARE mode meanwhile, so every client''s writes of usage wait (reads do not). Admins (SECURITY '
    'DEFINER). A NULL client_id raises SQLSTATE 22023.';
COMMENT ON FUNCTION backout.price_offer_in_force(bigint, bigint, bigint, date) IS
    'Helper: the price in force (price_offer_id, unit_price) for an account''s usage type on a day: the '
    'account''s custom price if any, else the standard one, the latest effective_from on or before the day; '
    'no row when there is none. Inlinable SQL, read-only. Operators. Never raises.';
COMMENT ON FUNCTION backout.advance_bill_date(date, smallint) IS
    'Helper: the next anniversary after a bill date: one month later on the given bill day (NULL: the day of '
    'the date), clamped to the length of that month. Operators. Never raises.';
COMMENT ON FUNCTION backout.create_client_lock_row() IS
    'Internal trigger function (SECURITY DEFINER) of the trigger create_client_lock_row on client: creates '
    'each new client''s lock row in lock_row. Not callable directly; no role has EXECUTE.';
COMMENT ON FUNCTION backout.entitled(bigint, text) IS
    'Helper of the access checks: is the current role entitled to the client at the level (reader or '
    'operator; operator includes reader)? Superusers are. Readers. Never raises.';
COMMENT ON FUNCTION backout.entitled_to_all(text) IS
    'Helper: is the current role entitled to every client (an entitlement with client_id NULL) at the level? '
    'Readers. Never raises.';
COMMENT ON FUNCTION backout.entitled_clients(text) IS
    'Helper: the clients the current role is entitled to one by one at the level, as an array (empty when '
    'none). Readers. Never raises.';
COMMENT ON FUNCTION backout.distribute() IS
    'Scale-out on Citus: distributes every table by client_id (co-located with client), makes the tables '
    'without a client reference tables, gives each sequence a range per node and delegates every function that '
    'takes a client to the node that holds it. Coordinator, superuser; idempotent; one line per action.';
COMMENT ON FUNCTION backout.tenant_allows(bigint, text) IS
    'The row filter of every tenant table''s policies: may the current role read (reader) or write (operator) '
    'the client''s rows? The entitlements are read once per statement. Readers.';
COMMENT ON FUNCTION backout.tenant_clients(text) IS
    'The clients the current role may read (reader) or write (operator), sorted; NULL: every client (a '
    'superuser, or entitled to every client). Read once per statement. Readers.';
COMMENT ON FUNCTION backout.grant_client(regrole, bigint, text) IS
    'Entitles a role to a client (client_id NULL: every client) at level reader or operator, and grants it '
    'the group role backout_reader or backout_operator; a second grant replaces the level. Returns what was '
    'granted, as text. Admins. Bad arguments raise SQLSTATE 22023, nothing changed.';
COMMENT ON FUNCTION backout.revoke_client(regrole, bigint) IS
    'Removes a role''s entitlement on a client (client_id NULL: its every-client entitlement); group '
    'memberships stay. Returns the number removed (0 or 1). Admins. A NULL role raises SQLSTATE 22023.';
