-- THROWAWAY-CLUSTER HACKS, NOT PROPOSALS (run on every node): they let the batch engine's statements through
-- Citus so that the blockers behind them show.  clock_timestamp() and to_jsonb() are then read once per
-- statement; now() may be folded into a cached plan.
ALTER FUNCTION pg_catalog.clock_timestamp() STABLE;       -- claim/status UPDATE .. SET x = clock_timestamp()
ALTER FUNCTION pg_catalog.to_jsonb(anyelement) IMMUTABLE; -- claim UPDATE .. RETURNING to_jsonb(t)
ALTER FUNCTION pg_catalog.now() IMMUTABLE;                -- INSERT .. ON CONFLICT DO UPDATE SET updated_at = now()
