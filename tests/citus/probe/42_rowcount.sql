\set VERBOSITY terse
\echo == INSERT .. SELECT FROM unnest(..) ON CONFLICT DO NOTHING of a backout claim that exists (what backout.rs counts)
BEGIN;
INSERT INTO backout.backout_file_claim (client_id, file_name, backout_batch_id)
SELECT 1002, f, gen_random_uuid() FROM unnest(ARRAY['late.json']) AS f ON CONFLICT (client_id, file_name) DO NOTHING;
\echo == the same with RETURNING: no row
INSERT INTO backout.backout_file_claim (client_id, file_name, backout_batch_id)
SELECT 1002, f, gen_random_uuid() FROM unnest(ARRAY['late.json']) AS f ON CONFLICT (client_id, file_name) DO NOTHING RETURNING file_name;
ROLLBACK;
\echo == the claims and the backouts of late.json (client 1002)
SELECT file_name, backout_batch_id FROM backout.backout_file_claim WHERE client_id = 1002;
SELECT backout_batch_id, status, queue_seq FROM backout.backout_batch WHERE client_id = 1002 ORDER BY create_date;
