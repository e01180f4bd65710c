-- pg_backout 0.3.1 -> 0.3.2: backups that hold the billing data, refusals that write nothing but a bounded
-- refusal log, day counts an admin can check and rebuild (the functions changed otherwise in the library only).
\echo Use "ALTER EXTENSION pg_backout UPDATE TO '0.3.2'" to load this file. \quit

-- The refusal log, bounded: one row per (client, role, session user, function, level, minute).  Rows of
-- 0.3.1 (one per refusal) keep their minute and count one each; a client that does not exist is filed
-- under client 0 from now on.
ALTER TABLE backout.access_refusal
    ADD COLUMN refused_minute timestamptz,
    ADD COLUMN refusals bigint NOT NULL DEFAULT 1,
    ADD COLUMN last_refused_at timestamptz;
UPDATE backout.access_refusal
SET refused_minute = date_trunc('minute', refused_at), last_refused_at = refused_at;
-- 0.3.1 kept one row per refusal: fold those of a minute into its first
WITH folded AS (
    SELECT min(refusal_id) AS keep, count(*) AS n, max(refused_at) AS last,
           array_agg(refusal_id) AS ids, client_id
    FROM backout.access_refusal
    GROUP BY client_id, role_name, session_user_name, function_name, level, refused_minute
    HAVING count(*) > 1),
merged AS (
    UPDATE backout.access_refusal r SET refusals = f.n, last_refused_at = f.last
    FROM folded f WHERE r.client_id = f.client_id AND r.refusal_id = f.keep
    RETURNING r.refusal_id)
DELETE FROM backout.access_refusal r USING folded f
WHERE r.client_id = f.client_id AND r.refusal_id = ANY (f.ids) AND r.refusal_id <> f.keep;
ALTER TABLE backout.access_refusal
    ALTER COLUMN refused_minute SET NOT NULL,
    ALTER COLUMN refused_minute SET DEFAULT date_trunc('minute', clock_timestamp()),
    ALTER COLUMN last_refused_at SET NOT NULL,
    ALTER COLUMN last_refused_at SET DEFAULT clock_timestamp(),
    ADD CONSTRAINT access_refusal_one_per_minute
        UNIQUE (client_id, role_name, session_user_name, function_name, level, refused_minute);

-- A run's invoice totals look its lines up by their full key (client, batch, invoice).
DROP INDEX backout.billing_record_batch_idx;
CREATE INDEX billing_record_batch_idx ON backout.billing_record (client_id, billing_batch_id, invoice_no);

-- pg_backout takes no advisory lock any more (row locks: src/locks.rs, src/batches.rs): the seed of their
-- keys goes.
DROP TABLE backout.lock_salt;

-- A backout batch id names one request of one client: another client may use the same id for its own.
DROP INDEX backout.backout_batch_id_idx;
CREATE INDEX backout_batch_id_idx ON backout.backout_batch (backout_batch_id);
DROP INDEX backout.batch_cancel_batch_idx;

-- The rows the operations lock instead of advisory keys (src/locks.rs): one per client ('client', ''),
-- per (client, file) ('file', name) and per retried backout id ('backout_batch', id), created on first
-- use.  Readable and lockable by the extension's owner only: no other role can hold one to stall a client.
CREATE TABLE backout.lock_row (
    client_id bigint NOT NULL,
    lock_kind text NOT NULL,
    lock_name text NOT NULL,
    PRIMARY KEY (client_id, lock_kind, lock_name)
);
ALTER TABLE backout.lock_row ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON backout.lock_row FOR SELECT USING (
            (SELECT backout.entitled_to_all('reader')) OR client_id = ANY (CAST((SELECT backout.entitled_clients('reader')) AS bigint[])));
CREATE POLICY tenant_write ON backout.lock_row USING (
            (SELECT backout.entitled_to_all('operator')) OR client_id = ANY (CAST((SELECT backout.entitled_clients('operator')) AS bigint[])));
REVOKE ALL ON backout.lock_row FROM PUBLIC;
GRANT SELECT ON backout.lock_row TO backout_reader;
REVOKE SELECT ON backout.lock_row FROM backout_reader;
-- A client's lock row exists from the client's creation, so that a new client's first operations do not
-- wait for each other on its creation.  SECURITY DEFINER: operators create clients; only the owner writes
-- lock_row.
CREATE FUNCTION backout.create_client_lock_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $lock$
BEGIN
    INSERT INTO backout.lock_row (client_id, lock_kind, lock_name)
    SELECT n.client_id, 'client', '' FROM new_clients n ORDER BY 1
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$lock$;
CREATE TRIGGER create_client_lock_row AFTER INSERT ON backout.client
    REFERENCING NEW TABLE AS new_clients FOR EACH STATEMENT EXECUTE FUNCTION backout.create_client_lock_row();
REVOKE ALL ON FUNCTION backout.create_client_lock_row() FROM PUBLIC;
INSERT INTO backout.lock_row (client_id, lock_kind, lock_name)
SELECT client_id, 'client', '' FROM backout.client ORDER BY 1;

-- The day counts of a client that differ from its usage records, one row per key: the count kept and the
-- records there are.  No row: exact.  They can drift only where the triggers did not fire: writes under
-- session_replication_role = replica, with the triggers disabled, or a data-only restore with
-- --disable-triggers.  Admins (EXECUTE is theirs only); a read, no lock.
CREATE FUNCTION backout.check_usage_day_counts(client_id bigint)
RETURNS TABLE (acct_no bigint, usage_day date, usage_type_no bigint, billed boolean, is_excluded boolean,
               counted bigint, actual bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $check$
#variable_conflict use_column
BEGIN
    IF $1 IS NULL THEN
        RAISE EXCEPTION 'check_usage_day_counts: client_id is required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT acct_no, usage_day, usage_type_no, billed, is_excluded,
           COALESCE(kept.counted, 0)::bigint, COALESCE(counted_now.actual, 0)::bigint
    FROM (SELECT c.acct_no, c.usage_day, c.usage_type_no, c.billed, c.is_excluded, c.records AS counted
          FROM backout.usage_day_count c WHERE c.client_id = $1 AND c.records <> 0) AS kept
    FULL JOIN (SELECT u.acct_no, CAST(u.usage_date AS date) AS usage_day, u.usage_type_no,
                      u.invoice_no IS NOT NULL AS billed, u.is_excluded, count(*) AS actual
               FROM backout.usage_txn u WHERE u.client_id = $1
               GROUP BY 1, 2, 3, 4, 5) AS counted_now
        USING (acct_no, usage_day, usage_type_no, billed, is_excluded)
    WHERE kept.counted IS DISTINCT FROM counted_now.actual
    ORDER BY 1, 2, 3, 4, 5;
END
$check$;

-- Make a client's day counts exact again; returns the number of keys corrected.  Holds usage_txn in SHARE
-- mode meanwhile (every client's writes of usage wait, reads do not): a write counted by its trigger during
-- the rebuild would otherwise be lost or counted twice.  Admins.
CREATE FUNCTION backout.rebuild_usage_day_counts(client_id bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $rebuild$
DECLARE
    corrected bigint;
BEGIN
    IF $1 IS NULL THEN
        RAISE EXCEPTION 'rebuild_usage_day_counts: client_id is required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    LOCK TABLE backout.usage_txn IN SHARE MODE;
    INSERT INTO backout.usage_day_count AS c (client_id, acct_no, usage_day, usage_type_no, billed, is_excluded, records)
    SELECT $1, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded, d.actual
    FROM backout.check_usage_day_counts($1) AS d
    ORDER BY 2, 3, 4, 5, 6
    ON CONFLICT ON CONSTRAINT usage_day_count_pkey
    DO UPDATE SET records = excluded.records;
    GET DIAGNOSTICS corrected = ROW_COUNT;
    RETURN corrected;
END
$rebuild$;

REVOKE ALL ON FUNCTION backout.check_usage_day_counts(bigint), backout.rebuild_usage_day_counts(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION backout.check_usage_day_counts(bigint), backout.rebuild_usage_day_counts(bigint)
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
