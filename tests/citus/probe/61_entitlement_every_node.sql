-- Run on EVERY node (DDL propagation off).  (1) entitled() without pg_roles: Citus deparses the view into
-- pg_authid in the statement it sends for the reference table, which a non-superuser may not read.  (2) the
-- three entitlement functions may read the reference table entitlement from inside a shard query (the
-- tenant policies run there): citus.allow_nested_distributed_execution in their SET clause.
SET citus.enable_ddl_propagation = off;
CREATE OR REPLACE FUNCTION backout.role_is_superuser(r name) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT COALESCE((SELECT a.rolsuper FROM pg_catalog.pg_authid a WHERE a.rolname = r), false) $$;
GRANT EXECUTE ON FUNCTION backout.role_is_superuser(name) TO PUBLIC;
CREATE OR REPLACE FUNCTION backout.entitled(p_client_id bigint, p_level text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT backout.role_is_superuser(CURRENT_USER)
        OR EXISTS (SELECT FROM backout.entitlement e
                   WHERE (e.client_id IS NULL OR e.client_id = p_client_id)
                     AND (e.level = 'operator' OR p_level = 'reader')
                     AND pg_catalog.pg_has_role(e.role::oid, 'USAGE'));
END;
ALTER FUNCTION backout.entitled(bigint, text) SET citus.allow_nested_distributed_execution = on;
ALTER FUNCTION backout.entitled_to_all(text) SET citus.allow_nested_distributed_execution = on;
ALTER FUNCTION backout.entitled_clients(text) SET citus.allow_nested_distributed_execution = on;
