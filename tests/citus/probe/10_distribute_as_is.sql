-- Every table of the 0.6.0 schema, as installed, through create_distributed_table (each in a subtransaction,
-- rolled back): the first error of each.  client alone (its own colocation), since nothing else can be
-- colocated with it before it is distributed.  Results in probe.attempt.
\set VERBOSITY default
CREATE SCHEMA IF NOT EXISTS probe;
CREATE TABLE IF NOT EXISTS probe.attempt (n serial, relname text, step text, outcome text);
DO $$
DECLARE t text; msg text; det text;
BEGIN
  FOR t IN SELECT c.relname FROM pg_class c WHERE relnamespace = 'backout'::regnamespace AND relkind = 'r' ORDER BY 1 LOOP
    BEGIN
      IF t = 'entitlement' THEN PERFORM create_reference_table('backout.entitlement');
      ELSE PERFORM create_distributed_table('backout.' || t, 'client_id'); END IF;
      RAISE EXCEPTION USING MESSAGE = 'probe: OK';
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
      INSERT INTO probe.attempt (relname, step, outcome)
      VALUES (t, 'A. as installed' || CASE t WHEN 'entitlement' THEN ' (reference)' ELSE '' END,
              CASE WHEN msg = 'probe: OK' THEN 'OK' ELSE msg || coalesce(' / ' || nullif(det, ''), '') END);
    END;
  END LOOP;
END $$;
SELECT relname, outcome FROM probe.attempt WHERE step LIKE 'A.%' ORDER BY relname;
