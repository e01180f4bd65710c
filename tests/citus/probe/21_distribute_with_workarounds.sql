-- Distribute every table with the workarounds (each one a blocker of 10_distribute_as_is.sql):
--  * tenant policies without scalar subqueries (Citus refuses sublinks in policies);
--  * citus.enable_unsafe_triggers for client (create_client_lock_row) and usage_txn (the day-count triggers),
--    whose functions were rewritten on every node by 20_triggers_every_node.sql;
--  * undo_batch: citus.allow_unsafe_constraints for undo_batch_id_idx (unique on the id alone);
--  * commitment_contract: the exclusion constraint rewritten with client_id WITH = (btree_gist).
\set VERBOSITY default
DO $$
DECLARE t regclass;
BEGIN
  FOR t IN SELECT DISTINCT p.polrelid::regclass FROM pg_policy p WHERE p.polname IN ('tenant_read', 'tenant_write') LOOP
    EXECUTE format('DROP POLICY tenant_read ON %s', t);
    EXECUTE format('DROP POLICY tenant_write ON %s', t);
    EXECUTE format($p$CREATE POLICY tenant_read ON %s FOR SELECT USING (backout.entitled_to_all('reader') OR client_id = ANY (backout.entitled_clients('reader')))$p$, t);
    EXECUTE format($p$CREATE POLICY tenant_write ON %s USING (backout.entitled_to_all('operator') OR client_id = ANY (backout.entitled_clients('operator')))$p$, t);
  END LOOP;
END $$;
CREATE OR REPLACE FUNCTION probe.try_all(p_step text) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE t text; msg text; det text; progress boolean := true;
BEGIN
  WHILE progress LOOP
    progress := false;
    FOR t IN SELECT c.relname FROM pg_class c WHERE relnamespace = 'backout'::regnamespace AND relkind = 'r'
              AND NOT EXISTS (SELECT FROM pg_dist_partition p WHERE p.logicalrelid = c.oid)
              AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'f' AND k.confrelid <> c.oid
                              AND NOT EXISTS (SELECT FROM pg_dist_partition p WHERE p.logicalrelid = k.confrelid))
              ORDER BY c.relname = 'client' DESC, 1 LOOP
      BEGIN
        IF t = 'client' THEN PERFORM create_distributed_table('backout.client', 'client_id');
        ELSIF t = 'entitlement' THEN PERFORM create_reference_table('backout.entitlement');
        ELSE PERFORM create_distributed_table('backout.' || t, 'client_id', colocate_with => 'backout.client'); END IF;
        INSERT INTO probe.attempt (relname, step, outcome) VALUES (t, p_step, 'OK');
        progress := true;
      EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
        IF NOT EXISTS (SELECT FROM probe.attempt a WHERE a.relname = t AND a.step = p_step) THEN
          INSERT INTO probe.attempt (relname, step, outcome) VALUES (t, p_step, msg || coalesce(' / ' || nullif(det, ''), ''));
        END IF;
      END;
    END LOOP;
  END LOOP;
END $f$;
SET citus.enable_unsafe_triggers = off;
SELECT probe.try_all('B. policies without subqueries');
SET citus.enable_unsafe_triggers = on;
SELECT probe.try_all('C. + citus.enable_unsafe_triggers');
BEGIN;
SET LOCAL citus.allow_unsafe_constraints = on;
SELECT create_distributed_table('backout.undo_batch', 'client_id', colocate_with => 'backout.client');
INSERT INTO probe.attempt (relname, step, outcome) VALUES ('undo_batch', 'D. + citus.allow_unsafe_constraints', 'OK');
COMMIT;
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE backout.commitment_contract DROP CONSTRAINT commitment_contract_no_overlap;
ALTER TABLE backout.commitment_contract ADD CONSTRAINT commitment_contract_no_overlap EXCLUDE USING gist (
    client_id WITH =, acct_no WITH =, daterange(period_start, period_end) WITH &&);
SELECT probe.try_all('E. + exclusion rewritten: client_id WITH = (btree_gist)');
SELECT relname, step, outcome FROM probe.attempt WHERE step NOT LIKE 'A.%' AND outcome <> 'OK' ORDER BY n;
SELECT count(*) FILTER (WHERE partmethod = 'h') AS distributed, count(*) FILTER (WHERE partmethod = 'n') AS reference,
       (SELECT count(*) FROM pg_class c WHERE relnamespace = 'backout'::regnamespace AND relkind = 'r'
           AND NOT EXISTS (SELECT FROM pg_dist_partition p WHERE p.logicalrelid = c.oid)) AS left_local
FROM pg_dist_partition WHERE logicalrelid::text LIKE 'backout.%';
\echo == where the clients of the probe live
SELECT c AS client_id, (SELECT nodeport FROM pg_dist_placement pl JOIN pg_dist_node n USING (groupid)
                        WHERE pl.shardid = get_shard_id_for_distribution_column('backout.client', c)) AS node
FROM unnest(ARRAY[1001, 1002]) c;
\echo == the sequences of every node (Citus did not give the sequences of the extension per-node ranges)
SELECT nodeport, result FROM run_command_on_all_nodes($$SELECT string_agg(sequencename || ' ' || min_value || '..' || max_value, ', ' ORDER BY sequencename) FROM pg_sequences WHERE schemaname = 'backout' AND sequencename IN ('usage_txn_txn_id_seq', 'batch_queue_seq')$$) JOIN pg_dist_node USING (nodeid) ORDER BY 1;
