-- One pass of bench/billrun.sql (\ir): the price of VOICE becomes :price on both twins; each side re-rates
-- accounts 1..1000 (the order alternating by pass), then each side aggregates client 3's big account.
UPDATE backout.price_offer SET unit_price = :price WHERE client_id IN (1, 2) AND usage_type_no = 1;
CHECKPOINT;
SELECT :pass % 2 = 1 AS reset_first \gset
\if :reset_first
\ir billrun_reset.sql
CHECKPOINT;
\ir billrun_hand.sql
\else
\ir billrun_hand.sql
CHECKPOINT;
\ir billrun_reset.sql
\endif
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
SELECT jsonb_array_length(backout.query_aggregate(3, aid => '1', groupby => '{"usaget": "$usaget"}') -> 'details') AS groups \gset
INSERT INTO timings SELECT 'query_aggregate by usaget', :pass, pg_temp.took(:'t0'), 1000000;
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS groups FROM (SELECT ut.usage_type_code, count(*) FROM backout.usage_txn u
    JOIN backout.usage_type ut ON ut.client_id = u.client_id AND ut.usage_type_no = u.usage_type_no
    WHERE u.client_id = 3 AND u.acct_no = 1 GROUP BY 1) g \gset
INSERT INTO timings SELECT 'GROUP BY by hand', :pass, pg_temp.took(:'t0'), 1000000;
