-- bench/events.sql, one batch (:k set): its records posted as events on client 1, then ingested as a file on
-- client 2; each timed, every event rated and every file COMPLETED.
SELECT jsonb_agg(jsonb_build_object('service_resource_identifier', 'A-' || r.acct_no, 'usage_type_code', 'VOICE',
                                    'start_time', r.day, 'usage_amount', r.units, 'reference_id', r.ref,
                                    'sequence_id', r.seq) ORDER BY r.n) AS events_doc,
       jsonb_agg(jsonb_build_object('acct_no', r.acct_no, 'usage_type_code', 'VOICE', 'usage_date', r.day,
                                    'units', r.units) ORDER BY r.n) AS records_doc
FROM (:batch_rows) AS r \gset
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
SELECT jsonb_array_length(a -> 'rated_events') AS posted, jsonb_array_length(a -> 'erred_events') AS erred
FROM backout.post_usage_events(1, :'events_doc', 'OVERWRITE_ON_EXISTING') AS a \gset
SELECT pg_temp.took(:'t0') AS ms \gset
INSERT INTO timings SELECT 'post_usage_events (OVERWRITE_ON_EXISTING)', :k, :ms, :posted,
       (SELECT count(*) FROM backout.voided_usage_event WHERE client_id = 1 AND request_id =
          (SELECT request_id FROM backout.usage_event_request WHERE client_id = 1 ORDER BY created_at DESC LIMIT 1));
SELECT CASE WHEN :erred = 0 THEN 'ok' ELSE 1 / 0 || '' END AS all_rated \gset
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
SELECT records_processed AS processed, status FROM backout.process_usage_file(2, 'batch_' || :k || '.json', :'records_doc') \gset
SELECT pg_temp.took(:'t0') AS ms \gset
SELECT CASE WHEN :'status' = 'COMPLETED' THEN 'ok' ELSE 1 / 0 || '' END AS completed \gset
INSERT INTO timings SELECT 'process_usage_file', :k, :ms, :processed, 0;
