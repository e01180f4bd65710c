-- Run on EVERY node (DDL propagation off): the two transition-table triggers rewritten so that no statement
-- names both a transition table and a distributed table (Citus cannot plan such a statement on a shard:
-- "executor could not find named tuplestore").  Same rows, same key order, same semantics on one node.
SET citus.enable_ddl_propagation = off;
CREATE OR REPLACE FUNCTION backout.create_client_lock_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $lock$
DECLARE
    ids bigint[];
BEGIN
    SELECT array_agg(n.client_id ORDER BY n.client_id) INTO ids FROM new_clients n;
    INSERT INTO backout.lock_row (client_id, lock_kind, lock_name)
    SELECT i, 'client', '' FROM unnest(ids) AS i ORDER BY 1
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$lock$;
CREATE OR REPLACE FUNCTION backout.count_usage_by_day() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $count$
DECLARE
    k_client bigint[]; k_acct bigint[]; k_day date[]; k_type bigint[]; k_billed boolean[]; k_excl boolean[]; k_n bigint[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE backout.usage_day_count;
        RETURN NULL;
    ELSIF TG_OP = 'INSERT' THEN
        SELECT array_agg(d.client_id ORDER BY d.client_id, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded),
               array_agg(d.acct_no ORDER BY d.client_id, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded),
               array_agg(d.usage_day ORDER BY d.client_id, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded),
               array_agg(d.usage_type_no ORDER BY d.client_id, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded),
               array_agg(d.billed ORDER BY d.client_id, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded),
               array_agg(d.is_excluded ORDER BY d.client_id, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded),
               array_agg(d.n ORDER BY d.client_id, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded)
          INTO k_client, k_acct, k_day, k_type, k_billed, k_excl, k_n
          FROM (SELECT n.client_id, n.acct_no, CAST(n.usage_date AS date) AS usage_day, n.usage_type_no,
                       n.invoice_no IS NOT NULL AS billed, n.is_excluded, count(*) AS n
                FROM new_rows n GROUP BY 1, 2, 3, 4, 5, 6) d;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(d.client_id ORDER BY d.client_id, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded),
               array_agg(d.acct_no ORDER BY d.client_id, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded),
               array_agg(d.usage_day ORDER BY d.client_id, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded),
               array_agg(d.usage_type_no ORDER BY d.client_id, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded),
               array_agg(d.billed ORDER BY d.client_id, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded),
               array_agg(d.is_excluded ORDER BY d.client_id, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded),
               array_agg(d.n ORDER BY d.client_id, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded)
          INTO k_client, k_acct, k_day, k_type, k_billed, k_excl, k_n
          FROM (SELECT o.client_id, o.acct_no, CAST(o.usage_date AS date) AS usage_day, o.usage_type_no,
                       o.invoice_no IS NOT NULL AS billed, o.is_excluded, -count(*) AS n
                FROM old_rows o GROUP BY 1, 2, 3, 4, 5, 6) d;
    ELSE  -- UPDATE
        SELECT array_agg(d.client_id ORDER BY d.client_id, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded),
               array_agg(d.acct_no ORDER BY d.client_id, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded),
               array_agg(d.usage_day ORDER BY d.client_id, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded),
               array_agg(d.usage_type_no ORDER BY d.client_id, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded),
               array_agg(d.billed ORDER BY d.client_id, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded),
               array_agg(d.is_excluded ORDER BY d.client_id, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded),
               array_agg(d.n ORDER BY d.client_id, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded)
          INTO k_client, k_acct, k_day, k_type, k_billed, k_excl, k_n
          FROM (SELECT x.client_id, x.acct_no, x.usage_day, x.usage_type_no, x.billed, x.is_excluded, sum(x.n) AS n
                FROM (SELECT n.client_id, n.acct_no, CAST(n.usage_date AS date) AS usage_day, n.usage_type_no,
                             n.invoice_no IS NOT NULL AS billed, n.is_excluded, 1 AS n FROM new_rows n
                      UNION ALL
                      SELECT o.client_id, o.acct_no, CAST(o.usage_date AS date), o.usage_type_no,
                             o.invoice_no IS NOT NULL, o.is_excluded, -1 FROM old_rows o) x
                GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(x.n) <> 0) d;
    END IF;
    IF k_client IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO backout.usage_day_count AS c (client_id, acct_no, usage_day, usage_type_no, billed, is_excluded, records)
    SELECT * FROM unnest(k_client, k_acct, k_day, k_type, k_billed, k_excl, k_n)
    ON CONFLICT (client_id, acct_no, usage_day, usage_type_no, billed, is_excluded)
    DO UPDATE SET records = c.records + excluded.records;
    RETURN NULL;
END
$count$;
