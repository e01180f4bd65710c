-- One timed billing and undo of client :c (pass :pass): sets bill_p:pass and undo_p:pass (ms).  A
-- CHECKPOINT before each: the load's (or the billing's) writes are not the timed work's.
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
SELECT pg_temp.completed(status) AS s FROM backout.run_billing(:c, '2026-04-01') \gset
SELECT pg_temp.took(:'t0') AS bill_p:pass \gset
SELECT status AS s FROM backout.undo_job_schedule('2026-04-01', :c) \gset
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
CALL backout.run_pending_batches(:c);
SELECT pg_temp.took(:'t0') AS undo_p:pass \gset
SELECT pg_temp.completed(status) AS s FROM backout.undo_batch WHERE client_id = :c ORDER BY create_date DESC LIMIT 1 \gset
