-- The same re-rating of client 2 by hand (bench/billrun.sql): each line priced at the standard price in
-- force, its amount rewritten, and each bucket corrected by the difference.
SELECT clock_timestamp() AS t0 \gset
WITH old AS (
    SELECT u.txn_id, u.amount FROM backout.usage_txn u
    WHERE u.client_id = 2 AND u.acct_no BETWEEN 1 AND 1000 AND u.billing_batch_id IS NULL AND NOT u.is_excluded),
rerated AS (
    UPDATE backout.usage_txn u SET unit_price = p.unit_price, amount = u.units * p.unit_price
      FROM old o, backout.price_offer p
     WHERE u.client_id = 2 AND u.txn_id = o.txn_id
       AND p.client_id = 2 AND p.usage_type_no = u.usage_type_no AND p.acct_no IS NULL
    RETURNING u.acct_no, u.usage_date, u.amount - o.amount AS difference),
per_bucket AS (
    SELECT c.acct_no, c.period_start, sum(r.difference) AS difference
    FROM rerated r JOIN backout.commitment_contract c
      ON c.client_id = 2 AND c.acct_no = r.acct_no AND r.usage_date >= c.period_start AND r.usage_date < c.period_end
    GROUP BY 1, 2)
UPDATE backout.commitment_balance b SET consumed_amount = b.consumed_amount + p.difference
  FROM per_bucket p WHERE b.client_id = 2 AND b.acct_no = p.acct_no AND b.period_start = p.period_start;
INSERT INTO timings SELECT 'UPDATE ... FROM by hand', :pass, pg_temp.took(:'t0'),
       (SELECT count(*) FROM backout.usage_txn WHERE client_id = 2 AND acct_no BETWEEN 1 AND 1000);
