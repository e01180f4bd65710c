-- Background runners: 1001's node runs them (pg_backout.start_runners = on there, by probe.sh); an undo of
-- 1001 is submitted (delegated); its commit starts a runner on that node.  Client 1002 (another node) has a
-- backout waiting ahead of it in the cluster-wide queue.  LISTEN on the coordinator for the end.
\set VERBOSITY terse
SET datestyle = 'ISO, YMD';
LISTEN pg_backout_batch;
SELECT backout_batch_id AS other_id FROM backout.backout_usage_file_transactions('f1.json', 1002, 'ops', undo_billing => true) \gset
-- the other client's batch first in the cluster-wide queue (the queue orders by queue_seq, a per-node sequence)
UPDATE backout.backout_batch SET queue_seq = 0 WHERE backout_batch_id = :'other_id';
SELECT undo_batch_id AS undo_id, status FROM backout.undo_job_schedule('2026-04-01', 1001, user_id => 'ops') \gset
\echo submitted backout :other_id of 1002 and undo :undo_id of 1001
SELECT pg_sleep(6);
SELECT client_id, operation, operation_id, status, run_attempts, left(coalesce(error_message, last_error), 90) AS error
FROM backout.operations WHERE operation_id IN (:'other_id', :'undo_id') ORDER BY client_id;
\echo (no Asynchronous notification line above or below: the NOTIFY of a batch stays on the node that ran it)
SELECT 1 AS after_waiting;
