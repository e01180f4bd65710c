-- bench/plans_sizes.sql, one size (:c, :upto, :size set): usage_txn of plans_sizes filled up to :upto rows,
-- client :c loaded, ANALYZE; a fresh reference client (:c + 10) loaded into plans_reference; then three
-- rounds, each the reference client's billing and undo and then client :c's, side by side.  Sets
-- bill_:size, undo_:size (fastest runs here), ref_bill_:size, ref_undo_:size (fastest of the reference
-- beside them) and the buffers each touched in the first round (blocks_bill_:size, ref_blocks_bill_:size,
-- ...: later rounds also walk the dead rows of the earlier ones, autovacuum being off).
SELECT :c + 10 AS ref_client \gset
\c plans_reference
\ir plans_session.sql
SELECT pg_temp.bench_client(:ref_client, '2026-04-01'), pg_temp.bench_month(:ref_client, '2026-04-01');
ANALYZE;
\c plans_sizes
\ir plans_session.sql
SELECT pg_temp.size_round(:c, :upto);
ANALYZE;
\set pass 1
\ir plans_size_round.sql
SELECT :ref_bill_blocks AS ref_blocks_bill_:size, :ref_undo_blocks AS ref_blocks_undo_:size,
       :bill_blocks AS blocks_bill_:size, :undo_blocks AS blocks_undo_:size \gset
\set pass 2
\ir plans_size_round.sql
\set pass 3
\ir plans_size_round.sql
SELECT least(:bill_p1, :bill_p2, :bill_p3) AS bill_:size, least(:undo_p1, :undo_p2, :undo_p3) AS undo_:size,
       least(:ref_bill_p1, :ref_bill_p2, :ref_bill_p3) AS ref_bill_:size,
       least(:ref_undo_p1, :ref_undo_p2, :ref_undo_p3) AS ref_undo_:size \gset
