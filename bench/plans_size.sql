-- bench/plans_sizes.sql, one size (:c, :upto, :size set): usage_txn filled up to :upto rows, client :c
-- loaded, ANALYZE, then its billing and undo twice; sets bill_:size and undo_:size to the faster runs.
SELECT pg_temp.size_round(:c, :upto);
ANALYZE;
\set pass 1
\ir plans_bill_once.sql
\set pass 2
\ir plans_bill_once.sql
SELECT least(:bill_p1, :bill_p2) AS bill_:size, least(:undo_p1, :undo_p2) AS undo_:size \gset
