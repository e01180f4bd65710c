-- Every API function that takes a client, delegated to the client's node (its client argument by position).
\set VERBOSITY terse
CREATE TABLE IF NOT EXISTS probe.dist_fn (fn text, outcome text);
DO $$
DECLARE f record; msg text;
BEGIN
  FOR f IN SELECT p.oid::regprocedure AS fn,
                  (SELECT min(i) FROM generate_subscripts(p.proargnames, 1) i
                    WHERE p.proargnames[i] IN ('client_id', 'client_no') AND (p.proargmodes IS NULL OR p.proargmodes[i] IN ('i', 'b'))) AS arg
           FROM pg_proc p WHERE p.pronamespace = 'backout'::regnamespace
             AND p.proname NOT IN ('entitled', 'price_offer_in_force', 'grant_client', 'revoke_client')
  LOOP
    CONTINUE WHEN f.arg IS NULL;
    BEGIN
      PERFORM create_distributed_function(f.fn, '$' || f.arg, colocate_with => 'backout.client');
      INSERT INTO probe.dist_fn VALUES (f.fn::text, 'OK ($' || f.arg || ')');
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
      INSERT INTO probe.dist_fn VALUES (f.fn::text, msg);
    END;
  END LOOP;
END $$;
SELECT * FROM probe.dist_fn ORDER BY 1;
\echo == where a call of run_billing(1002) runs now (the plan of the call: one task on the node of 1002)
EXPLAIN (COSTS OFF) SELECT * FROM backout.run_billing(1002, '2026-04-01');
