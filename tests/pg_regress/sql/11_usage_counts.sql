-- backout.usage_day_count (records per account, day, usage type, billed and excluded state) stays exact
-- whoever writes usage_txn, and get_usage_history's day-count path (count and deep pages) answers exactly
-- what counting the records one by one answers.
SET datestyle = 'ISO, YMD';

-- The day counts that disagree with the records (none is right), for every client of the database.
CREATE FUNCTION regress.day_count_drift() RETURNS TABLE (client_id bigint, acct_no bigint, usage_day date,
    usage_type_no bigint, billed boolean, is_excluded boolean, counted bigint, records bigint)
LANGUAGE sql AS $$
    SELECT coalesce(c.client_id, r.client_id), coalesce(c.acct_no, r.acct_no), coalesce(c.usage_day, r.usage_day),
           coalesce(c.usage_type_no, r.usage_type_no), coalesce(c.billed, r.billed), coalesce(c.is_excluded, r.is_excluded),
           coalesce(c.records, 0), coalesce(r.records, 0)
    FROM (SELECT * FROM backout.usage_day_count WHERE records <> 0) c
    FULL JOIN (SELECT client_id, acct_no, usage_date::date AS usage_day, usage_type_no, invoice_no IS NOT NULL AS billed,
                      is_excluded, count(*) AS records
               FROM backout.usage_txn GROUP BY 1, 2, 3, 4, 5, 6) r
      USING (client_id, acct_no, usage_day, usage_type_no, billed, is_excluded)
    WHERE coalesce(c.records, 0) <> coalesce(r.records, 0)
$$;

-- 1. Every test before this one ingested, billed, undid, backed out, discarded and cleared: no drift, and
--    the counts are not trivially empty.
SELECT count(*) AS drifted FROM regress.day_count_drift();
SELECT count(DISTINCT client_id) > 10 AS many_clients, sum(records) > 0 AS some_records FROM backout.usage_day_count;

-- 2. Client 9501: 240 records of account 1 from 2026-03-26 to 2026-04-05 at scattered times (every 66
--    minutes, two usage types), billed up to April, ten of the unbilled discarded.
SELECT regress.make_client(9501, 0.10, 40);
SELECT status, records_processed FROM backout.process_usage_file(9501, 'spread.json', (
    SELECT jsonb_agg(jsonb_build_object('acct_no', 1, 'usage_type_code', CASE WHEN i % 3 = 0 THEN 'SMS' ELSE 'CALL' END,
                                        'usage_date', to_char(timestamp '2026-03-26 00:07:00' + i * interval '66 minutes', 'YYYY-MM-DD HH24:MI:SS'),
                                        'units', 1 + i % 5, 'record_id', 'S-' || i))
    FROM generate_series(0, 239) i));
SELECT status, accounts_billed FROM backout.run_billing(9501, '2026-04-01');
SELECT error_code, failed_records FROM backout.discard_usage(9501, usage_record_no => (
    SELECT array_agg(txn_id) FROM (SELECT txn_id FROM backout.usage_txn WHERE client_id = 9501 AND invoice_no IS NULL
                                   ORDER BY txn_id LIMIT 10 OFFSET 20) t));
SELECT count(*) FILTER (WHERE invoice_no IS NOT NULL) AS billed, count(*) FILTER (WHERE is_excluded) AS excluded,
       count(*) AS records
FROM backout.usage_txn WHERE client_id = 9501;
SELECT count(*) AS drifted FROM regress.day_count_drift();

-- 3. get_usage_history against the records themselves, for bounds on and off midnight, with and without an
--    end, every usage type / billed / excluded filter, and offsets from the first page to past the end.
CREATE FUNCTION regress.history_mismatches() RETURNS TABLE (checked bigint, mismatched bigint, first_mismatch text)
LANGUAGE plpgsql AS $$
DECLARE
    starts text[] := ARRAY['2026-03-20', '2026-03-26', '2026-03-27 13:13:00', '2026-03-28 06:43:00', '2026-04-05'];
    ends text[] := ARRAY[NULL, '2026-03-26', '2026-03-29', '2026-03-31 23:59:58', '2026-04-02 10:19:00', '2026-05-01'];
    s text; e text; t bigint; b bigint; x text; o bigint;
    got record; want record; lo timestamp; hi timestamp;
    n bigint := 0; bad bigint := 0; first text;
BEGIN
    FOREACH s IN ARRAY starts LOOP
      FOREACH e IN ARRAY ends LOOP
        FOREACH t IN ARRAY ARRAY[NULL, 10, 20]::bigint[] LOOP
          FOREACH b IN ARRAY ARRAY[0, 1, 2]::bigint[] LOOP
            FOREACH x IN ARRAY ARRAY['false', 'true'] LOOP
              FOREACH o IN ARRAY ARRAY[0, 17, 99, 229, 400]::bigint[] LOOP
                lo := CASE WHEN length(s) = 10 THEN s::date::timestamp ELSE s::timestamp END;
                hi := CASE WHEN e IS NULL THEN NULL WHEN length(e) = 10 THEN e::date + time '23:59:59' ELSE e::timestamp END;
                SELECT h.filtered_usage_count AS count,
                       (SELECT array_agg((r ->> 'usage_rec_no')::bigint ORDER BY k) FROM jsonb_array_elements(h.usage_history_recs) WITH ORDINALITY AS j(r, k)) AS page
                INTO got
                FROM backout.get_usage_history(9501, acct_no => 1, date_range_start => s, date_range_end => e,
                                               specified_usage_type_no => t, billed_filter => b,
                                               retrieve_excluded_usage => x, limit_records => 7, offset_records => o) h;
                WITH m AS (SELECT u.txn_id, u.usage_date FROM backout.usage_txn u
                           WHERE u.client_id = 9501 AND u.acct_no = 1 AND u.usage_date >= lo AND (hi IS NULL OR u.usage_date <= hi)
                             AND (t IS NULL OR u.usage_type_no = t) AND (x = 'true' OR NOT u.is_excluded)
                             AND (b = 0 OR (b = 1) = (u.invoice_no IS NOT NULL)))
                SELECT (SELECT count(*) FROM m) AS count,
                       (SELECT array_agg(p.txn_id ORDER BY p.usage_date, p.txn_id)
                        FROM (SELECT * FROM m ORDER BY usage_date, txn_id LIMIT 7 OFFSET o) p) AS page
                INTO want;
                n := n + 1;
                IF got.count IS DISTINCT FROM want.count OR got.page IS DISTINCT FROM want.page THEN
                    bad := bad + 1;
                    first := coalesce(first, format('start %s end %s type %s billed %s excluded %s offset %s: got %s %s, want %s %s',
                                                    s, e, t, b, x, o, got.count, got.page, want.count, want.page));
                END IF;
              END LOOP;
            END LOOP;
          END LOOP;
        END LOOP;
      END LOOP;
    END LOOP;
    RETURN QUERY SELECT n, bad, first;
END $$;
SELECT * FROM regress.history_mismatches();
-- a page that must come from the day counts starts deep: the second half of the account, 7 records
SELECT filtered_usage_count, jsonb_array_length(usage_history_recs) AS page
FROM backout.get_usage_history(9501, acct_no => 1, date_range_start => '2026-03-26', offset_records => 200, limit_records => 7,
                               retrieve_excluded_usage => 'true');

-- 4. An operator's own DML on usage_txn keeps the counts exact (the trigger writes them on its behalf), but
--    the operator cannot write the counts, nor read another client's.
CREATE ROLE regress_counter;
GRANT backout_operator TO regress_counter;
SELECT backout.grant_client('regress_counter', 9501, 'operator');
SET ROLE regress_counter;
INSERT INTO backout.usage_txn (client_id, acct_no, usage_type_no, usage_date, units, unit_price, amount)
VALUES (9501, 2, 10, '2026-04-03 08:00:00', 1, 0.1, 0.1), (9501, 2, 10, '2026-04-03 09:00:00', 1, 0.1, 0.1);
UPDATE backout.usage_txn SET usage_date = usage_date + interval '1 day', usage_type_no = 20
WHERE client_id = 9501 AND acct_no = 2 AND usage_date = '2026-04-03 09:00:00';
UPDATE backout.usage_txn SET acct_no = 3 WHERE client_id = 9501 AND acct_no = 1 AND usage_date >= '2026-04-05';
DELETE FROM backout.usage_txn WHERE client_id = 9501 AND acct_no = 1 AND usage_date < '2026-03-27' AND invoice_no IS NOT NULL;
SELECT acct_no, usage_day, usage_type_no, billed, is_excluded, records FROM backout.usage_day_count
WHERE client_id = 9501 AND acct_no IN (2, 3) AND records <> 0 ORDER BY 1, 2, 3, 4, 5;
SELECT count(DISTINCT client_id) AS visible_clients FROM backout.usage_day_count;
SELECT regress.error_of($$INSERT INTO backout.usage_day_count VALUES (9501, 1, '2026-04-01', 10, false, false, 1000)$$);
SELECT regress.error_of($$UPDATE backout.usage_day_count SET records = 0 WHERE client_id = 9501$$);
RESET ROLE;
SELECT count(*) AS drifted FROM regress.day_count_drift();
SELECT * FROM regress.history_mismatches();

-- The check above can fail: five records too many on one day of the counts (rolled back) show.
BEGIN;
UPDATE backout.usage_day_count SET records = records + 5
WHERE client_id = 9501 AND acct_no = 1 AND usage_day = '2026-03-29' AND usage_type_no = 10 AND billed AND NOT is_excluded;
SELECT mismatched > 0 AS detected FROM regress.history_mismatches();
ROLLBACK;

-- 5. TRUNCATE empties the counts with the records (in a transaction rolled back: later tests keep theirs).
BEGIN;
TRUNCATE backout.usage_txn;
SELECT count(*) AS counts_left FROM backout.usage_day_count;
ROLLBACK;
SELECT count(*) AS drifted FROM regress.day_count_drift();
