-- pg_backout 0.3.0 -> 0.3.1: per-day usage counts, so that get_usage_history pages a million-record account
-- without counting its records one by one (the function itself changed in the library only).
\echo Use "ALTER EXTENSION pg_backout UPDATE TO '0.3.1'" to load this file. \quit

-- How many usage records each account has per day, usage type, billed and excluded state: kept exact by the
-- statement triggers below (whoever writes usage_txn, the extension or an operator's own DML), so that
-- get_usage_history counts a million-record account, and skips to a deep page, by summing days instead of
-- walking records.  Rows that fall to zero stay (at most one per key).  Deliberately not a config table
-- for pg_dump: restoring usage_txn rebuilds it through the triggers.
CREATE TABLE backout.usage_day_count (
    client_id     bigint NOT NULL,
    acct_no       bigint NOT NULL,
    usage_day     date NOT NULL,
    usage_type_no bigint NOT NULL,
    billed        boolean NOT NULL,
    is_excluded   boolean NOT NULL,
    records       bigint NOT NULL,
    PRIMARY KEY (client_id, acct_no, usage_day, usage_type_no, billed, is_excluded)
);

-- Adds each statement's net change per key.  Keys are upserted in key order, at the end of the statement:
-- after every usage row and balance bucket lock of ingest, discard and backout, so the lock order stays
-- client, files, records, buckets, day counts and concurrent writers wait, never deadlock.  SECURITY
-- DEFINER: operators write usage_txn with their own rights, but the counts only through this trigger.
CREATE FUNCTION backout.count_usage_by_day() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $count$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO backout.usage_day_count AS c (client_id, acct_no, usage_day, usage_type_no, billed, is_excluded, records)
        SELECT n.client_id, n.acct_no, CAST(n.usage_date AS date), n.usage_type_no, n.invoice_no IS NOT NULL,
               n.is_excluded, count(*)
        FROM new_rows n
        GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (client_id, acct_no, usage_day, usage_type_no, billed, is_excluded)
        DO UPDATE SET records = c.records + excluded.records;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO backout.usage_day_count AS c (client_id, acct_no, usage_day, usage_type_no, billed, is_excluded, records)
        SELECT o.client_id, o.acct_no, CAST(o.usage_date AS date), o.usage_type_no, o.invoice_no IS NOT NULL,
               o.is_excluded, -count(*)
        FROM old_rows o
        GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (client_id, acct_no, usage_day, usage_type_no, billed, is_excluded)
        DO UPDATE SET records = c.records + excluded.records;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO backout.usage_day_count AS c (client_id, acct_no, usage_day, usage_type_no, billed, is_excluded, records)
        SELECT d.client_id, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded, sum(d.n)
        FROM (SELECT n.client_id, n.acct_no, CAST(n.usage_date AS date) AS usage_day, n.usage_type_no,
                     n.invoice_no IS NOT NULL AS billed, n.is_excluded, 1 AS n
              FROM new_rows n
              UNION ALL
              SELECT o.client_id, o.acct_no, CAST(o.usage_date AS date), o.usage_type_no, o.invoice_no IS NOT NULL,
                     o.is_excluded, -1
              FROM old_rows o) d
        GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(d.n) <> 0 ORDER BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (client_id, acct_no, usage_day, usage_type_no, billed, is_excluded)
        DO UPDATE SET records = c.records + excluded.records;
    ELSE  -- TRUNCATE
        TRUNCATE backout.usage_day_count;
    END IF;
    RETURN NULL;
END
$count$;
CREATE TRIGGER count_inserted AFTER INSERT ON backout.usage_txn
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION backout.count_usage_by_day();
CREATE TRIGGER count_updated AFTER UPDATE ON backout.usage_txn
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION backout.count_usage_by_day();
CREATE TRIGGER count_deleted AFTER DELETE ON backout.usage_txn
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION backout.count_usage_by_day();
CREATE TRIGGER count_truncated AFTER TRUNCATE ON backout.usage_txn
    FOR EACH STATEMENT EXECUTE FUNCTION backout.count_usage_by_day();

-- The counts of the usage already there.  CREATE TRIGGER above locked usage_txn against writes until this
-- update commits, so this statement sees every record and no record is counted twice.
INSERT INTO backout.usage_day_count (client_id, acct_no, usage_day, usage_type_no, billed, is_excluded, records)
SELECT client_id, acct_no, CAST(usage_date AS date), usage_type_no, invoice_no IS NOT NULL, is_excluded, count(*)
FROM backout.usage_txn
GROUP BY 1, 2, 3, 4, 5, 6;

-- As sql/privileges.sql does for every tenant table.
ALTER TABLE backout.usage_day_count ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON backout.usage_day_count FOR SELECT USING (
    (SELECT backout.entitled_to_all('reader')) OR client_id = ANY (CAST((SELECT backout.entitled_clients('reader')) AS bigint[])));
CREATE POLICY tenant_write ON backout.usage_day_count USING (
    (SELECT backout.entitled_to_all('operator')) OR client_id = ANY (CAST((SELECT backout.entitled_clients('operator')) AS bigint[])));
REVOKE ALL ON backout.usage_day_count FROM PUBLIC;
REVOKE ALL ON FUNCTION backout.count_usage_by_day() FROM PUBLIC;
GRANT SELECT ON backout.usage_day_count TO backout_reader;
