-- pg_backout 0.6.0 -> 0.7.0: scale-out on Citus (issue 20).  The tenant row filter is one Rust function read
-- once per statement (backout.tenant_allows), with no subquery, which Citus accepts in a policy; the day-count
-- and lock-row triggers read their transition tables alone first; backout.distribute() distributes the schema.
\echo Use "ALTER EXTENSION pg_backout UPDATE TO '0.7.0'" to load this file. \quit

-- The row filter and its lookup, as pgrx generates them.
-- src/access.rs:51
-- pg_backout::access::tenant_allows
CREATE  FUNCTION "tenant_allows"(
	"client_id" bigint, /* Option < i64 > */
	"level" TEXT /* Option < & str > */
) RETURNS bool /* bool */
STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'tenant_allows_wrapper';

-- src/access.rs:58
-- pg_backout::access::tenant_clients
CREATE  FUNCTION "tenant_clients"(
	"level" TEXT /* & str */
) RETURNS bigint[] /* :: std :: option :: Option < Vec < i64 > > */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'tenant_clients_wrapper';

REVOKE ALL ON FUNCTION backout.tenant_allows(bigint, text), backout.tenant_clients(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION backout.tenant_allows(bigint, text), backout.tenant_clients(text) TO backout_reader;

-- entitled() over the Rust lookup.
-- Is the current role entitled to the client at the level (operator includes reader)?  Superusers are.
CREATE OR REPLACE FUNCTION backout.entitled(p_client_id bigint, p_level text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT backout.tenant_allows(p_client_id, p_level);
END;


-- Every tenant table's policies: the filter without subqueries.
DO $rls$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT p.polrelid::regclass FROM pg_catalog.pg_policy p
             JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
             WHERE p.polname = 'tenant_read' AND c.relnamespace = 'backout'::regnamespace
             ORDER BY c.relname
    LOOP
        EXECUTE pg_catalog.format('DROP POLICY tenant_read ON %s', t);
        EXECUTE pg_catalog.format('DROP POLICY tenant_write ON %s', t);
        EXECUTE pg_catalog.format($p$CREATE POLICY tenant_read ON %s FOR SELECT
            USING (backout.tenant_allows(client_id, 'reader'))$p$, t);
        EXECUTE pg_catalog.format($p$CREATE POLICY tenant_write ON %s
            USING (backout.tenant_allows(client_id, 'operator'))$p$, t);
    END LOOP;
END
$rls$;

-- The transition-table triggers: the transition table read alone first.
-- Adds each statement's net change per key.  Keys are upserted in key order, at the end of the statement:
-- after every usage row and balance bucket lock of ingest, discard and backout, so the lock order stays
-- client, files, records, buckets, day counts and concurrent writers wait, never deadlock.  The transition
-- table is read into an array first, by a statement that names no other table: Citus runs the trigger on the
-- shard and cannot plan a statement that joins a transition table with a distributed one.  SECURITY
-- DEFINER: operators write usage_txn with their own rights, but the counts only through this trigger.
CREATE OR REPLACE FUNCTION backout.count_usage_by_day() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $count$
DECLARE
    delta backout.usage_day_count[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(ROW(d.*)::backout.usage_day_count ORDER BY d.client_id, d.acct_no, d.usage_day,
                                                                   d.usage_type_no, d.billed, d.is_excluded)
        INTO delta
        FROM (SELECT n.client_id, n.acct_no, CAST(n.usage_date AS date) AS usage_day, n.usage_type_no,
                     n.invoice_no IS NOT NULL AS billed, n.is_excluded, count(*) AS records
              FROM new_rows n GROUP BY 1, 2, 3, 4, 5, 6) d;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(ROW(d.*)::backout.usage_day_count ORDER BY d.client_id, d.acct_no, d.usage_day,
                                                                   d.usage_type_no, d.billed, d.is_excluded)
        INTO delta
        FROM (SELECT o.client_id, o.acct_no, CAST(o.usage_date AS date) AS usage_day, o.usage_type_no,
                     o.invoice_no IS NOT NULL AS billed, o.is_excluded, -count(*) AS records
              FROM old_rows o GROUP BY 1, 2, 3, 4, 5, 6) d;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(ROW(d.*)::backout.usage_day_count ORDER BY d.client_id, d.acct_no, d.usage_day,
                                                                   d.usage_type_no, d.billed, d.is_excluded)
        INTO delta
        FROM (SELECT x.client_id, x.acct_no, x.usage_day, x.usage_type_no, x.billed, x.is_excluded,
                     sum(x.n)::bigint AS records
              FROM (SELECT n.client_id, n.acct_no, CAST(n.usage_date AS date) AS usage_day, n.usage_type_no,
                           n.invoice_no IS NOT NULL AS billed, n.is_excluded, 1 AS n
                    FROM new_rows n
                    UNION ALL
                    SELECT o.client_id, o.acct_no, CAST(o.usage_date AS date), o.usage_type_no,
                           o.invoice_no IS NOT NULL, o.is_excluded, -1
                    FROM old_rows o) x
              GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(x.n) <> 0) d;
    ELSE  -- TRUNCATE
        TRUNCATE backout.usage_day_count;
        RETURN NULL;
    END IF;
    INSERT INTO backout.usage_day_count AS c (client_id, acct_no, usage_day, usage_type_no, billed, is_excluded, records)
    SELECT * FROM pg_catalog.unnest(delta)  -- in key order
    ON CONFLICT (client_id, acct_no, usage_day, usage_type_no, billed, is_excluded)
    DO UPDATE SET records = c.records + excluded.records;
    RETURN NULL;
END
$count$;

CREATE OR REPLACE FUNCTION backout.create_client_lock_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $lock$
DECLARE
    ids bigint[] := (SELECT array_agg(n.client_id ORDER BY n.client_id) FROM new_clients n);
BEGIN
    -- the transition table read alone first (Citus cannot join it with a distributed table on the shard)
    INSERT INTO backout.lock_row (client_id, lock_kind, lock_name)
    SELECT i, 'client', '' FROM pg_catalog.unnest(ids) AS i
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$lock$;

---------------------------------------------------------------------------------------------------------
-- Scale-out on Citus (README "Scale-out on Citus")
---------------------------------------------------------------------------------------------------------

-- Distribute the extension's tables by client_id, co-located with backout.client; make the tables without a
-- client reference tables; give the extension's sequences a range of their own on every node; delegate
-- every function that takes a client to the node that holds it.  Run on the coordinator by a superuser,
-- after CREATE EXTENSION citus (every node) and pg_backout (coordinator), with the workers registered.
-- Idempotent: each step is skipped when done, so it is run again after a worker is added and after an
-- upgrade that adds tables.  Returns one line per action taken.
--
-- The lists are read from the catalog, not written here: every table of the schema with a client_id
-- column is distributed, every other one is a reference table, every function of the extension with an input
-- argument client_id or client_no is delegated by it, except those below that must run where they are called.
CREATE FUNCTION backout.distribute() RETURNS SETOF text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $distribute$
DECLARE
    t regclass;
    f regprocedure;
    arg int;
    progress boolean;
    saved jsonb;
    seq name;
    failed text;
    counts_off boolean;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'backout.distribute: Citus is not installed in this database'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Install Citus on every node, add citus to shared_preload_libraries, run CREATE EXTENSION '
                         'citus, register the workers (citus_add_node), then run backout.distribute() again.';
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'backout.distribute: only a superuser may distribute the billing schema'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_dist_node WHERE noderole = 'primary' AND isactive AND groupid <> 0) THEN
        RAISE EXCEPTION 'backout.distribute: no worker is registered'
            USING ERRCODE = 'feature_not_supported', HINT = 'Register them first: SELECT citus_add_node(host, port).';
    END IF;
    IF NOT citus_is_coordinator() THEN
        RAISE EXCEPTION 'backout.distribute: run it on the coordinator, not on a worker'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    -- Triggers on usage_txn and client fire on the shard and write only co-located shards of the same
    -- client (the day counts, the client's lock row): what citus.enable_unsafe_triggers asks of them.
    -- Sequential: the tables have foreign keys between them (and may have rows).
    PERFORM set_config('citus.enable_unsafe_triggers', 'on', true),
            set_config('citus.multi_shard_modify_mode', 'sequential', true);

    -- Tables whose rows are not one client's (no client_id, or one that may be NULL: entitlements to every
    -- client): reference tables, a copy on every node.  Their rows are taken out and put back by statements,
    -- so that a role (regrole) is stored as each node's own oid of that role.
    FOR t IN SELECT c.oid::regclass FROM pg_class c
             WHERE c.relnamespace = 'backout'::regnamespace AND c.relkind = 'r'
               AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'client_id'
                                                           AND NOT a.attisdropped AND a.attnotnull)
               AND NOT EXISTS (SELECT FROM pg_dist_partition p WHERE p.logicalrelid = c.oid)
             ORDER BY c.relname
    LOOP
        EXECUTE format('SELECT COALESCE(jsonb_agg(to_jsonb(x)), ''[]'') FROM %s x', t) INTO saved;
        EXECUTE format('DELETE FROM %s', t);
        PERFORM create_reference_table(t);
        EXECUTE format('INSERT INTO %1$s SELECT * FROM jsonb_populate_recordset(NULL::%1$s, $1)', t) USING saved;
        RETURN NEXT format('reference table %s (%s rows)', t, jsonb_array_length(saved));
    END LOOP;

    -- A contract's periods may not overlap: on a distributed table, the exclusion must name the distribution
    -- column with equality (btree_gist), which the single-node form (int8range, no dependency) does not.
    IF NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'backout.commitment_contract'::regclass)
       AND pg_get_constraintdef((SELECT oid FROM pg_constraint
                                 WHERE conname = 'commitment_contract_no_overlap'
                                   AND conrelid = 'backout.commitment_contract'::regclass)) LIKE '%int8range%' THEN
        CREATE EXTENSION IF NOT EXISTS btree_gist;
        ALTER TABLE backout.commitment_contract
            DROP CONSTRAINT commitment_contract_no_overlap,
            ADD CONSTRAINT commitment_contract_no_overlap EXCLUDE USING gist (
                client_id WITH =, acct_no WITH =, daterange(period_start, period_end) WITH &&);
        RETURN NEXT 'commitment_contract_no_overlap on client_id WITH =, acct_no WITH = (btree_gist)';
    END IF;

    -- Tables with a client: distributed by it, client first, then each table once the tables it references
    -- are distributed.  usage_txn's rows are copied into its shards with its day-count triggers disabled: the
    -- day counts copied already count them, and the triggers would count them twice.
    counts_off := NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'backout.usage_txn'::regclass);
    IF counts_off THEN
        ALTER TABLE backout.usage_txn DISABLE TRIGGER USER;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'backout.client'::regclass) THEN
        PERFORM create_distributed_table('backout.client', 'client_id');
        RETURN NEXT 'distributed table backout.client by client_id';
    END IF;
    LOOP
        progress := false;
        FOR t IN SELECT c.oid::regclass FROM pg_class c
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'client_id' AND NOT a.attisdropped
                                    AND a.attnotnull
                 WHERE c.relnamespace = 'backout'::regnamespace AND c.relkind = 'r'
                   AND NOT EXISTS (SELECT FROM pg_dist_partition p WHERE p.logicalrelid = c.oid)
                   AND NOT EXISTS (SELECT FROM pg_constraint k
                                   WHERE k.conrelid = c.oid AND k.contype = 'f' AND k.confrelid <> c.oid
                                     AND NOT EXISTS (SELECT FROM pg_dist_partition p WHERE p.logicalrelid = k.confrelid))
                 ORDER BY c.relname
        LOOP
            PERFORM create_distributed_table(t, 'client_id', colocate_with => 'backout.client');
            RETURN NEXT format('distributed table %s by client_id, co-located with backout.client', t);
            progress := true;
        END LOOP;
        EXIT WHEN NOT progress;
    END LOOP;
    IF counts_off THEN
        ALTER TABLE backout.usage_txn ENABLE TRIGGER USER;
    END IF;

    -- Sequences: a range of 2^48 values per node (its group id), as Citus gives its own bigint sequences, so
    -- that ids drawn on two nodes never collide.  A node's sequence keeps its position when already in range.
    FOR seq IN SELECT c.relname FROM pg_class c
               WHERE c.relnamespace = 'backout'::regnamespace AND c.relkind = 'S' ORDER BY c.relname
    LOOP
        SELECT string_agg(format('node %s: %s', r.nodeid, r.result), '; ') INTO failed
        FROM run_command_on_all_nodes(format($cmd$
            DO $range$
            DECLARE
                lo bigint := ((SELECT groupid FROM pg_catalog.pg_dist_local_group)::bigint << 48) + 1;
                s record;
            BEGIN
                SELECT min_value, last_value INTO s FROM pg_catalog.pg_sequences
                WHERE schemaname = 'backout' AND sequencename = %1$L;
                IF s.min_value <> lo THEN
                    SET LOCAL citus.enable_ddl_propagation = off;
                    EXECUTE pg_catalog.format('ALTER SEQUENCE backout.%%I MINVALUE %%s MAXVALUE %%s START %%s RESTART %%s',
                                              %1$L, lo, lo + (1::bigint << 48) - 2, lo,
                                              greatest(lo, COALESCE(s.last_value + 1, lo)));
                END IF;
            END
            $range$ $cmd$, seq)) r WHERE NOT r.success;
        IF failed IS NOT NULL THEN
            RAISE EXCEPTION 'backout.distribute: could not give sequence backout.% its range on every node: %',
                seq, failed;
        END IF;
        RETURN NEXT format('sequence backout.%s: a range of its own on every node', seq);
    END LOOP;

    -- Functions that take a client: run on the node that holds it, inside a transaction block too.  Not
    -- these: claim_batch (a claim lives in its session, which run_claimed_batch must share), grant_client
    -- and revoke_client (they write the reference table entitlement), tenant_allows (the row filter itself).
    FOR f, arg IN
        SELECT p.oid::regprocedure, i.n
        FROM pg_proc p
        JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
                        AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_backout')
        CROSS JOIN LATERAL (
            SELECT a.n FROM unnest(p.proargnames[1:p.pronargs]) WITH ORDINALITY AS a(name, n)
            WHERE a.name IN ('client_id', 'client_no')) AS i
        WHERE p.proname NOT IN ('claim_batch', 'grant_client', 'revoke_client', 'tenant_allows')
          AND (p.proargmodes IS NULL OR NOT ('o' = ANY (p.proargmodes[1:i.n]) OR 't' = ANY (p.proargmodes[1:i.n])))
          AND NOT EXISTS (SELECT FROM pg_dist_object o
                          WHERE o.classid = 'pg_proc'::regclass AND o.objid = p.oid
                            AND o.distribution_argument_index IS NOT NULL)
        ORDER BY p.proname
    LOOP
        PERFORM create_distributed_function(f, '$' || arg, colocate_with => 'backout.client',
                                            force_delegation => true);
        RETURN NEXT format('function %s: delegated by argument $%s', f, arg);
    END LOOP;

    -- Batches run on the node that holds their client: its launcher needs the library preloaded and this
    -- database in pg_backout.database there.
    RETURN QUERY
        SELECT format('WARNING: worker %s:%s does not run batches of this database (pg_backout.database = %s); '
                      'add it there and reload', r.nodename, r.nodeport, r.result)
        FROM run_command_on_workers($$SELECT current_setting('pg_backout.database', true)$$) r
        WHERE NOT r.success OR NOT current_database() = ANY (string_to_array(replace(r.result, ' ', ''), ','));
END
$distribute$;
REVOKE ALL ON FUNCTION backout.distribute() FROM PUBLIC;

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
