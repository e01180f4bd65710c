-- One timed billing and undo of client :c (pass :pass): sets bill_p:pass and undo_p:pass (ms), the same as
-- bill_ms and undo_ms, and bill_blocks and undo_blocks: the shared buffers each touched (hit + read, from
-- pg_stat_database: the work itself, which the machine's load does not change).  A CHECKPOINT before each:
-- the load's (or the billing's) writes are not the timed work's.
CHECKPOINT;
SELECT pg_stat_force_next_flush();
SELECT blks_hit + blks_read AS b0 FROM pg_stat_database WHERE datname = current_database() \gset
SELECT clock_timestamp() AS t0 \gset
SELECT pg_temp.completed(status) AS s FROM backout.run_billing(:c, '2026-04-01') \gset
SELECT pg_temp.took(:'t0') AS bill_ms \gset
SELECT pg_stat_force_next_flush();
SELECT blks_hit + blks_read - :b0 AS bill_blocks FROM pg_stat_database WHERE datname = current_database() \gset
SELECT status AS s FROM backout.undo_job_schedule('2026-04-01', :c) \gset
CHECKPOINT;
SELECT pg_stat_force_next_flush();
SELECT blks_hit + blks_read AS b0 FROM pg_stat_database WHERE datname = current_database() \gset
SELECT clock_timestamp() AS t0 \gset
CALL backout.run_pending_batches(:c);
SELECT pg_temp.took(:'t0') AS undo_ms \gset
SELECT pg_stat_force_next_flush();
SELECT blks_hit + blks_read - :b0 AS undo_blocks FROM pg_stat_database WHERE datname = current_database() \gset
SELECT pg_temp.completed(status) AS s FROM backout.undo_batch WHERE client_id = :c ORDER BY create_date DESC LIMIT 1 \gset
SELECT :bill_ms AS bill_p:pass, :undo_ms AS undo_p:pass \gset
