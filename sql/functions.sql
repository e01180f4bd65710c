-- SQL helpers shared by the operations.  Each is a single SELECT so the planner can inline it, with an
-- SQL-standard body (BEGIN ATOMIC): names and operators are bound when the function is created, so nothing
-- in it resolves through the caller's search_path (a SET clause would prevent inlining).

-- The price in force for a usage type on a day: the account's custom price if any, else the standard
-- (client-wide) price; of those, the one with the latest effective_from on or before the day.  Two probes of
-- price_offer_one_per_day (custom, then standard) so that the cost does not grow with the number of custom
-- prices of the usage type.
CREATE FUNCTION backout.price_offer_in_force(p_client_id bigint, p_acct_no bigint, p_usage_type_no bigint, p_day date)
RETURNS TABLE (price_offer_id bigint, unit_price numeric)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT price.price_offer_id, price.unit_price
    FROM ((SELECT p.price_offer_id, p.unit_price
           FROM backout.price_offer p
           WHERE p.client_id = p_client_id AND p.usage_type_no = p_usage_type_no
             AND p.acct_no = p_acct_no AND p.effective_from <= p_day
           ORDER BY p.effective_from DESC
           LIMIT 1)
          UNION ALL
          (SELECT p.price_offer_id, p.unit_price
           FROM backout.price_offer p
           WHERE p.client_id = p_client_id AND p.usage_type_no = p_usage_type_no
             AND p.acct_no IS NULL AND p.effective_from <= p_day
           ORDER BY p.effective_from DESC
           LIMIT 1)) AS price
    LIMIT 1;
END;

-- The next anniversary after a bill date: one month later, on bill_day (default: the day of the given
-- date), clamped to the length of that month.
CREATE FUNCTION backout.advance_bill_date(p_bill_date date, p_bill_day smallint)
RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT (date_trunc('month', p_bill_date::timestamp) + interval '1 month')::date
           + least(coalesce(p_bill_day, extract(day FROM p_bill_date)::int),
                   extract(day FROM date_trunc('month', p_bill_date::timestamp) + interval '2 months - 1 day')::int)
           - 1;
END;
