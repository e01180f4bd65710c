-- A billing database with every kind of row (tests/backup/dump_restore.sh dumps and restores it): master
-- data, usage (ingested, staged, discarded), invoices and their lines, balances and their snapshots, job
-- schedules, entitlements, usage events (posted, overwritten, voided and kept), every kind of audit row
-- (undo, backout, reset, clear, discard, event calls, refusal) and one batch
-- still PROCESSING (no runner serves this database, and none is started on demand).
\set ON_ERROR_STOP 1
SET datestyle = 'ISO, YMD';
SET pg_backout.start_runners = off;
CREATE EXTENSION pg_backout;
INSERT INTO backout.client (client_id, name) VALUES (1, 'Backup client 1'), (2, 'Backup client 2');
INSERT INTO backout.account SELECT c, a, 'A' || a FROM (VALUES (1), (2)) AS cl(c), generate_series(1, 3) AS a;
INSERT INTO backout.billing_profile SELECT c, a, '2026-03-01', '2026-04-01' FROM (VALUES (1), (2)) AS cl(c), generate_series(1, 3) AS a;
INSERT INTO backout.usage_type SELECT c, 10, 'CALL', 'Call minutes', 'minute' FROM (VALUES (1), (2)) AS cl(c);
INSERT INTO backout.usage_type SELECT c, 20, 'SMS', 'Texts', 'message' FROM (VALUES (1), (2)) AS cl(c);
INSERT INTO backout.price_offer (client_id, usage_type_no, acct_no, unit_price)
SELECT c, t, NULL, 0.10 FROM (VALUES (1), (2)) AS cl(c), (VALUES (10), (20)) AS ty(t);
INSERT INTO backout.price_offer (client_id, usage_type_no, acct_no, unit_price) VALUES (1, 10, 2, 0.07);
INSERT INTO backout.commitment_contract VALUES
    (1, 1, '2026-03-01', '2026-04-01', 'AMOUNT', 100, NULL),
    (1, 2, '2026-03-01', '2026-04-01', 'QUANTITY', 500, 10),
    (1, 1, '2026-04-01', '2026-05-01', 'AMOUNT', 100, NULL),
    (2, 1, '2026-03-01', '2026-04-01', 'AMOUNT', 50, NULL);
CREATE FUNCTION pg_temp.usage(n int, day0 date) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_agg(jsonb_build_object('acct_no', 1 + i % 3, 'usage_type_code', CASE WHEN i % 4 = 0 THEN 'SMS' ELSE 'CALL' END,
                                        'usage_date', to_char(day0 + i % 20 + time '10:00' + i * interval '1 minute', 'YYYY-MM-DD HH24:MI:SS'),
                                        'units', i % 50 + 1, 'client_record_id', 'rec-' || i))
    FROM generate_series(1, n) AS i $$;
SELECT status FROM backout.process_usage_file(1, 'march-a.json', pg_temp.usage(300, '2026-03-02'));
SELECT status FROM backout.process_usage_file(1, 'march-b.json', pg_temp.usage(200, '2026-03-05'));
SELECT status FROM backout.process_usage_file(2, 'march.json', pg_temp.usage(100, '2026-03-03'));
INSERT INTO backout.usage_staging (client_id, file_name, acct_no, usage_type_code, usage_date, units)
VALUES (1, 'staged-later.csv', '1', 'CALL', '2026-03-20 10:00:00', '5');
SELECT error_code FROM backout.discard_usage(1, client_record_id => ARRAY['rec-7', 'rec-8'], exclusion_reason_cd => 3,
                                             exclusion_comment => 'duplicate');
-- a billing run, undone (an undo row) and run again; a backout of a file with its billing (a backout row)
SELECT status FROM backout.run_billing(1, '2026-04-01');
SELECT status FROM backout.run_billing(2, '2026-04-01');
SELECT status FROM backout.undo_job_schedule('2026-04-01', 1);
CALL backout.run_pending_batches();
SELECT status FROM backout.run_billing(1, '2026-04-01');
SELECT status FROM backout.backout_usage_file_transactions('march-b.json', 2, 'ops', true);
SELECT status FROM backout.backout_usage_file_transactions('march.json', 2, 'ops', true);
CALL backout.run_pending_batches();
SELECT status FROM backout.clear_job_schedule(2, '2026-04-01');
-- entitlements and a refusal
CREATE ROLE backup_operator;
CREATE ROLE backup_outsider IN ROLE backout_operator;
SELECT backout.grant_client('backup_operator', 1, 'operator');
SET ROLE backup_outsider;
SELECT error_code FROM backout.run_billing(1, '2026-05-01');
RESET ROLE;
-- usage events of April (Gotransverse): posted, one overwritten, one voided; client 1 keeps voided events
UPDATE backout.client SET retain_voided_usage = true WHERE client_id = 1;
CREATE FUNCTION pg_temp.event(seq text, units int) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('service_resource_identifier', 'A1', 'usage_type_code', 'CALL', 'start_time', '2026-04-10',
                              'usage_amount', units, 'reference_id', 'ev', 'sequence_id', seq) $$;
SELECT backout.post_usage_events(1, jsonb_build_array(pg_temp.event('1', 5), pg_temp.event('2', 6))) -> 'erred_events';
SELECT backout.post_usage_events(1, jsonb_build_array(pg_temp.event('1', 7)), 'OVERWRITE_ON_EXISTING') -> 'erred_events';
SELECT backout.void_usage_events(1, 'BY_REF_SEQ', jsonb_build_array(jsonb_build_object('reference_id', 'ev', 'sequence_id', '2'))) -> 'num_voided';
-- a reset of lines (BillRun) that ran: client 2's account 1 re-rated after a price change
UPDATE backout.price_offer SET unit_price = unit_price * 2 WHERE client_id = 2;
SELECT backout.reset_lines(2, '1') ->> 'status';
CALL backout.run_pending_batches();
-- a batch waiting to run: the undo of client 1's second run
SELECT status FROM backout.undo_job_schedule('2026-04-01', 1, true);
