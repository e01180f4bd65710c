-- One repetition (:rep) of bench/ingest_speed.sql: floor, bulk and jsonb, each into a fresh client.  The CSV
-- files (with their client's id) are written before the clock starts.
SELECT 100 + :rep AS c_floor, 200 + :rep AS c_bulk, 300 + :rep AS c_json \gset
SELECT pg_temp.client(:c_floor), pg_temp.client(:c_bulk), pg_temp.client(:c_json);
-- (\copy does not expand psql variables: the ids go through settings)
SELECT set_config('bench.c_floor', :'c_floor', false), set_config('bench.c_bulk', :'c_bulk', false);
\copy (SELECT current_setting('bench.c_floor')::bigint, acct_no, CASE usage_type_code WHEN 'DATA' THEN 2 ELSE 1 END, usage_date, units, CASE usage_type_code WHEN 'DATA' THEN 1.5 ELSE 0.02 END, units * CASE usage_type_code WHEN 'DATA' THEN 1.5 ELSE 0.02 END, 'usage.csv', i FROM records) TO '/tmp/pg_backout_ingest_rated.csv' WITH (FORMAT csv)
\copy (SELECT current_setting('bench.c_bulk')::bigint, 'usage.csv', acct_no, usage_type_code, to_char(usage_date, 'YYYY-MM-DD HH24:MI:SS'), units FROM records) TO '/tmp/pg_backout_ingest_staged.csv' WITH (FORMAT csv)
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
\copy backout.usage_txn (client_id, acct_no, usage_type_no, usage_date, units, unit_price, amount, file_name, record_key) FROM '/tmp/pg_backout_ingest_rated.csv' WITH (FORMAT csv)
INSERT INTO runs SELECT 'floor', :rep, pg_temp.took(:'t0');
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
\copy backout.usage_staging (client_id, file_name, acct_no, usage_type_code, usage_date, units) FROM '/tmp/pg_backout_ingest_staged.csv' WITH (FORMAT csv)
SELECT status FROM backout.process_staged_usage_file(:c_bulk, 'usage.csv') \gset
INSERT INTO runs SELECT 'bulk', :rep, pg_temp.took(:'t0');
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
SELECT status FROM backout.process_usage_file(:c_json, 'usage.json', :'doc') \gset
INSERT INTO runs SELECT 'jsonb', :rep, pg_temp.took(:'t0');
