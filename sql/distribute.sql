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
-- The lists are read from the catalog, not written here: every table of the schema with a NOT NULL client_id
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
