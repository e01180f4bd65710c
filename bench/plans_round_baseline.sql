-- bench/plans_round_pass.sql, the baseline's pass (:pass set, in :dba): client 13 billed and undone after ANALYZE.
ANALYZE;
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
SELECT pg_temp.completed(status) AS s FROM backout.run_billing(13, '2026-04-01') \gset
SELECT pg_temp.took(:'t0') AS billa_p:pass \gset
SELECT status AS s FROM backout.undo_job_schedule('2026-04-01', 13) \gset
ANALYZE;
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
CALL backout.run_pending_batches(13);
SELECT pg_temp.took(:'t0') AS undoa_p:pass \gset
SELECT pg_temp.completed(status) AS s FROM backout.undo_batch WHERE client_id = 13 ORDER BY create_date DESC LIMIT 1 \gset
