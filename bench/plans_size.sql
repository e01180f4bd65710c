-- bench/plans_sizes.sql, one size (:c, :upto, :size set): usage_txn filled up to :upto rows, client :c
-- loaded, ANALYZE, then its billing and undo three times; sets bill_:size and undo_:size to the fastest runs.
SELECT pg_temp.size_round(:c, :upto);
ANALYZE;
\set pass 1
\ir plans_bill_once.sql
\set pass 2
\ir plans_bill_once.sql
\set pass 3
\ir plans_bill_once.sql
SELECT least(:bill_p1, :bill_p2, :bill_p3) AS bill_:size, least(:undo_p1, :undo_p2, :undo_p3) AS undo_:size \gset
