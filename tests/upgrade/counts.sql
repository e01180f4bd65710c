-- After the update: the day counts (new in 0.3.1) hold exactly the usage written before it.
DO $$
DECLARE
    drift bigint;
BEGIN
    SELECT count(*) INTO drift
    FROM (SELECT * FROM backout.usage_day_count WHERE records <> 0) c
    FULL JOIN (SELECT client_id, acct_no, usage_date::date AS usage_day, usage_type_no, invoice_no IS NOT NULL AS billed,
                      is_excluded, count(*) AS records
               FROM backout.usage_txn GROUP BY 1, 2, 3, 4, 5, 6) r
      USING (client_id, acct_no, usage_day, usage_type_no, billed, is_excluded)
    WHERE coalesce(c.records, 0) <> coalesce(r.records, 0);
    IF drift <> 0 OR (SELECT sum(records) FROM backout.usage_day_count) <> 500 THEN
        RAISE EXCEPTION 'day counts after the update disagree with the usage records (% keys)', drift;
    END IF;
END $$;
