-- BillRun (SPEC §4.3): sid on usage, reset_lines (a batch: re-rate lines after a price change, fenced
-- against billing, identical requests answered with the running batch), query_lines and query_aggregate
-- with the typed query language, and the hostile-query set: each refused, or answered inside the given
-- accounts.
SET datestyle = 'ISO, YMD';
SELECT regress.make_client(9921, 0.10, 40), regress.make_client(9922, 0.20, 40), regress.make_client(9923, 0.10, 40);
CREATE FUNCTION regress.lines_of(p_client bigint) RETURNS TABLE (acct_no bigint, usage_type_no bigint, usage_date timestamp, units numeric, unit_price numeric, amount numeric, sid bigint)
LANGUAGE sql AS $$
    SELECT acct_no, usage_type_no, usage_date, units, unit_price, amount, sid FROM backout.usage_txn
    WHERE client_id = p_client ORDER BY acct_no, usage_date, usage_type_no $$;
CREATE FUNCTION regress.balances_of(p_client bigint) RETURNS TABLE (acct_no bigint, period_start date, consumed_amount numeric, consumed_units numeric)
LANGUAGE sql AS $$
    SELECT acct_no, period_start, consumed_amount, consumed_units FROM backout.commitment_balance
    WHERE client_id = p_client ORDER BY 1, 2 $$;
CREATE FUNCTION regress.sid_file() RETURNS jsonb LANGUAGE sql AS $$ SELECT '[
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-10 10:00:00", "units": 100, "sid": 501},
  {"acct_no": 1, "usage_type_code": "SMS",  "usage_date": "2026-03-11 10:00:00", "units": 10, "sid": "502"},
  {"acct_no": 2, "usage_type_code": "CALL", "usage_date": "2026-03-12 10:00:00", "units": 300, "sid": 503},
  {"acct_no": 3, "usage_type_code": "CALL", "usage_date": "2026-03-13 10:00:00", "units": 50}]'::jsonb $$;

------------------------------------------------------------------------------------------------------------
-- 1. sid: carried by files (a number or digits), staged rows and events, stored on usage_txn
------------------------------------------------------------------------------------------------------------
SELECT status, records_processed FROM backout.process_usage_file(9921, 'sid.json', regress.sid_file());
SELECT status, records_processed FROM backout.process_usage_file(9922, 'sid.json', regress.sid_file());
SELECT status, error_message FROM backout.process_usage_file(9923, 'bad_sid.json',
    '[{"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-10 10:00:00", "units": 1, "sid": "x1"}]');
INSERT INTO backout.usage_staging (client_id, file_name, acct_no, usage_type_code, usage_date, units, sid)
VALUES (9923, 'staged.csv', '3', 'SMS', '2026-03-20 09:00:00', '4', '777');
SELECT status, records_processed FROM backout.process_staged_usage_file(9923, 'staged.csv');
SELECT sid FROM backout.usage_txn WHERE client_id = 9923;
SELECT * FROM regress.lines_of(9921);

------------------------------------------------------------------------------------------------------------
-- 2. reset_lines refusals: status 0, the reference's texts, nothing queued
------------------------------------------------------------------------------------------------------------
SELECT backout.reset_lines(9921, NULL);
SELECT backout.reset_lines(9921, '');
SELECT backout.reset_lines(9921, '1,x');
SELECT backout.reset_lines(9921, '77,78');
SELECT backout.reset_lines(9921, (SELECT string_agg(n::text, ',') FROM generate_series(1, 1001) n)) ->> 'desc' AS too_many;
SELECT backout.reset_lines(9921, '1', billrun_key => '2026-04');
SELECT backout.reset_lines(9921, '1', query => '[[{"field_name": "usaget", "op": "$where", "value": "1"}]]');
SELECT backout.reset_lines(9921, '1', query => '[[{"field_name": "tenant", "op": "$eq", "value": 1}]]');
SELECT backout.reset_lines(9921, '1', query => '[[{"field_name": "usagev", "op": "$gt", "value": "10"}]]');
SELECT backout.reset_lines(9921, '1', query => '{"usaget": "CALL"}');
SELECT backout.reset_lines(9921, '1', user_id => repeat('u', 101));
SELECT backout.reset_lines(424242, '1');
SELECT count(*) AS queued FROM backout.reset_batch;

------------------------------------------------------------------------------------------------------------
-- 3. The twin property: client 9921 priced at 0.10 re-rated after its CALL price became 0.20 equals 9922,
--    which ingested the same records at 0.20: lines, balances, and the billing run after.  The dry run
--    first: the same counts, nothing changed.
------------------------------------------------------------------------------------------------------------
UPDATE backout.price_offer SET unit_price = 0.20 WHERE client_id = 9921 AND usage_type_no = 10;
SELECT r - 'input' AS dry_run FROM backout.reset_lines(9921, '3,2,1,1', dry_run => true) AS r;
SELECT sum(amount) AS unchanged_amount FROM backout.usage_txn WHERE client_id = 9921;
BEGIN;
SET LOCAL pg_backout.start_runners = off;
SELECT r ->> 'status' AS status, r ->> 'desc' AS "desc", r -> 'input' AS input
FROM backout.reset_lines(9921, '3,2,1,1', user_id => 'ops') AS r \gset first_
-- the same request (accounts in another order, repeated): the running batch's id, not a second batch
SELECT (backout.reset_lines(9921, '1,2,3') ->> 'reset_batch_id') = (SELECT reset_batch_id::text FROM backout.reset_batch WHERE client_id = 9921) AS same_batch,
       backout.reset_lines(9921, '1,2,3') ->> 'desc' AS "desc";
SELECT count(*) AS batches FROM backout.reset_batch WHERE client_id = 9921;
-- billing is fenced while the reset is PROCESSING
SELECT status, error_code, regexp_replace(error_message, '[0-9a-f-]{36}', '<uuid>') AS error_message
FROM backout.run_billing(9921, '2026-04-01');
-- and clearing the schedule too (a batch of any kind keeps the client busy)
SELECT status, error_code, error_message LIKE 'an reset % of client 9921 is PROCESSING%' AS message_ok
FROM backout.clear_job_schedule(9921, '2026-04-01');
SELECT operation, status, request, user_id FROM backout.operations WHERE client_id = 9921;
COMMIT;
SELECT :'first_status' AS status, :'first_desc' AS "desc", :'first_input' AS input;
SELECT backout.wait_for_batch((SELECT reset_batch_id FROM backout.reset_batch WHERE client_id = 9921), '60 seconds');
SELECT status, lines_reset, accounts_reset, amount_before, amount_after, error_code, error_message, lines_skipped
FROM backout.get_reset_lines_status((SELECT reset_batch_id FROM backout.reset_batch WHERE client_id = 9921), 9921);
SELECT * FROM regress.lines_of(9921) EXCEPT ALL SELECT * FROM regress.lines_of(9922);
SELECT * FROM regress.balances_of(9921) EXCEPT ALL SELECT * FROM regress.balances_of(9922);
SELECT count(*) AS balances, sum(consumed_amount) AS consumed FROM regress.balances_of(9921);
-- resetting again changes nothing (prices unchanged since): no balance counted twice
SELECT backout.reset_lines(9921, '1,2,3') ->> 'reset_batch_id' AS again \gset
SELECT backout.wait_for_batch(:'again', '60 seconds'), lines_reset, amount_before = amount_after AS unchanged
FROM backout.reset_batch WHERE reset_batch_id = :'again';
SELECT * FROM regress.balances_of(9921) EXCEPT ALL SELECT * FROM regress.balances_of(9922);
SELECT status, total_amount, records_written FROM backout.run_billing(9921, '2026-04-01');
SELECT status, total_amount, records_written FROM backout.run_billing(9922, '2026-04-01');
SELECT i.acct_no, i.usage_amount, i.total_amount FROM backout.invoice i WHERE client_id = 9921
EXCEPT ALL SELECT i.acct_no, i.usage_amount, i.total_amount FROM backout.invoice i WHERE client_id = 9922;
-- billed lines are skipped and counted: the closed cycle 202604 (billed on 2026-04-01)
SELECT r - 'input' - 'reset_batch_id' AS billed_cycle FROM backout.reset_lines(9921, '1,2,3', billrun_key => '202604', dry_run => true) AS r;

------------------------------------------------------------------------------------------------------------
-- 4. A filter narrows a reset to one usage type: only SMS lines re-rated after the SMS price change
------------------------------------------------------------------------------------------------------------
UPDATE backout.price_offer SET unit_price = 0.50 WHERE client_id = 9923 AND usage_type_no = 20;
SELECT status, records_processed FROM backout.process_usage_file(9923, 'sid.json', regress.sid_file());
UPDATE backout.price_offer SET unit_price = 0.07 WHERE client_id = 9923 AND usage_type_no = 20;
UPDATE backout.price_offer SET unit_price = 0.30 WHERE client_id = 9923 AND usage_type_no = 10;
SELECT backout.reset_lines(9923, '1,3', query => '[[{"field_name": "usaget", "op": "$eq", "value": "SMS"}]]') ->> 'reset_batch_id' AS sms \gset
SELECT backout.wait_for_batch(:'sms', '60 seconds');
SELECT lines_reset, accounts_reset, amount_before, amount_after, lines_skipped
FROM backout.get_reset_lines_status(:'sms', 9923);
SELECT acct_no, usage_type_no, units, unit_price, amount FROM backout.usage_txn WHERE client_id = 9923 ORDER BY txn_id;
-- a line without a price in force now: the batch ends ERROR, nothing applied
DELETE FROM backout.price_offer WHERE client_id = 9923 AND usage_type_no = 20;
SELECT (r ->> 'problem') AS problem FROM backout.reset_lines(9923, '1,3', dry_run => true) AS r;
SELECT backout.reset_lines(9923, '1,3') ->> 'reset_batch_id' AS unpriced \gset
SELECT backout.wait_for_batch(:'unpriced', '60 seconds');
SELECT status, error_code, error_message FROM backout.reset_batch WHERE client_id = 9923 AND reset_batch_id = :'unpriced';
SELECT acct_no, usage_type_no, units, unit_price, amount FROM backout.usage_txn WHERE client_id = 9923 ORDER BY txn_id;
-- status of unknown and other clients' batches
SELECT status, error_code, error_message FROM backout.get_reset_lines_status('00000000-0000-0000-0000-000000000001', 9923);
SELECT status, error_code FROM backout.get_reset_lines_status((SELECT reset_batch_id FROM backout.reset_batch WHERE client_id = 9921 LIMIT 1), 9923);
SELECT status, error_code, error_message FROM backout.get_reset_lines_status(NULL, 9923);

------------------------------------------------------------------------------------------------------------
-- 5. query_lines: scope, limits, paging, distinct, dates, billrun, every operator
------------------------------------------------------------------------------------------------------------
SELECT backout.query_lines(9922);
SELECT backout.query_lines(9922, aid => 'x');
SELECT backout.query_lines(9922, aid => (SELECT string_agg(n::text, ',') FROM generate_series(1, 1001) n)) - 'input';
SELECT backout.query_lines(9922, sid => (SELECT string_agg(n::text, ',') FROM generate_series(1, 1001) n)) - 'input';
SELECT backout.query_lines(9922, aid => '1', size => 0) - 'input', backout.query_lines(9922, aid => '1', size => 10001) - 'input';
SELECT backout.query_lines(9922, aid => '1', page => -1) - 'input', backout.query_lines(9922, aid => '1', billrun => '2026') - 'input';
SELECT backout.query_lines(9922, aid => '1', from_date => '10/03/2026') - 'input', backout.query_lines(9922, aid => '1', distinct_field => 'tenant') - 'input';
SELECT backout.query_lines(9922, aid => '1,2');
SELECT backout.query_lines(9922, sid => '501,503') -> 'details' AS by_sid;
SELECT backout.query_lines(9922, aid => '1,2,3', sid => '503') -> 'details' AS aid_and_sid;
SELECT jsonb_array_length(backout.query_lines(9922, aid => '1,2,3', size => 2, page => 0) -> 'details') AS page_0,
       jsonb_array_length(backout.query_lines(9922, aid => '1,2,3', size => 2, page => 1) -> 'details') AS page_1,
       jsonb_array_length(backout.query_lines(9922, aid => '1,2,3', size => 2, page => 2) -> 'details') AS page_2;
SELECT backout.query_lines(9922, aid => '1,2,3', distinct_field => 'usaget') -> 'details' AS distinct_usaget,
       backout.query_lines(9922, aid => '1,2,3', distinct_field => 'urt') -> 'details' AS distinct_urt;
SELECT jsonb_array_length(backout.query_lines(9922, aid => '1,2,3', from_date => '2026-03-11', to_date => '2026-03-12T10:00:00') -> 'details') AS in_range;
SELECT jsonb_array_length(backout.query_lines(9922, aid => '1,2,3', billrun => '202604') -> 'details') AS billrun_202604,
       jsonb_array_length(backout.query_lines(9922, aid => '1,2,3', billrun => '202605') -> 'details') AS billrun_202605;
CREATE FUNCTION regress.stamps(q jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN (r ->> 'status') = '1'
                THEN (SELECT coalesce(string_agg((l ->> 'aid') || ':' || (l ->> 'usaget') || ':' || (l ->> 'usagev'), ' ' ORDER BY l ->> 'urt'), '-')
                      FROM jsonb_array_elements(r -> 'details') AS l)
                ELSE 'refused: ' || (r ->> 'desc') END
    FROM backout.query_lines(9922, aid => '1,2,3', query => q) AS r $$;
SELECT q, regress.stamps(q::jsonb) FROM (VALUES
    ('{"usaget": "CALL"}'), ('{"usaget": {"$eq": "SMS"}}'), ('{"usaget": {"$ne": "SMS"}}'),
    ('{"usagev": {"$gt": 50}}'), ('{"usagev": {"$gte": 50}}'), ('{"usagev": {"$lt": 50}}'), ('{"usagev": {"$lte": 50}}'),
    ('{"aid": {"$in": [1, 3]}}'), ('{"aid": {"$nin": [1, 3]}}'), ('{"usaget": {"$regex": "^C"}}'),
    ('{"sid": {"$exists": false}}'), ('{"sid": {"$exists": true}}'),
    ('{"$or": [{"aid": 3}, {"usaget": "SMS"}]}'), ('{"$and": [{"aid": 1}, {"usagev": {"$gt": 10}}]}'),
    ('{"urt": {"$gte": "2026-03-12"}}'), ('{"billed": true}'), ('{"excluded": false, "arate": {"$gt": 0.1}}'),
    ('{"usagev": {"$gt": 10, "$lt": 200}}'), ('{"file": "sid.json", "stamp": {"$gt": 0}}'),
    ('{"invoice_no": {"$exists": true}}'), ('{"client_record_id": {"$exists": false}, "qualifier_1": {"$exists": false}}')
) AS t(q);

------------------------------------------------------------------------------------------------------------
-- 6. query_aggregate: groupby, $sum $avg $max $min, default count, billrun as string or array
------------------------------------------------------------------------------------------------------------
SELECT backout.query_aggregate(9922, aid => '1,2,3', groupby => '{"usaget": "$usaget"}') -> 'details' AS count_by_usaget;
SELECT backout.query_aggregate(9922, aid => '1,2,3', groupby => '{"usaget": "$usaget", "account": "$aid"}',
    aggregate => '{"units": {"$sum": "$usagev"}, "avg": {"$avg": "$aprice"}, "latest": {"$max": "$urt"}, "least": {"$min": "$usagev"}, "lines": {"$sum": 1}}') -> 'details' AS grouped;
SELECT backout.query_aggregate(9922, aid => '1,2,3') -> 'details' AS all_lines;
SELECT backout.query_aggregate(9922, sid => '777') -> 'details' AS no_lines;
SELECT backout.query_aggregate(9922, aid => '1,2,3', billrun => '"202604"') -> 'details' AS billrun_string,
       backout.query_aggregate(9922, aid => '1,2,3', billrun => '["202604", "202605"]') -> 'details' AS billrun_array;
SELECT backout.query_aggregate(9922, aid => '1', query => '{"usaget": "CALL"}', aggregate => '{"charge": {"$sum": "$aprice"}}');
SELECT backout.query_aggregate(9922) ->> 'desc' AS no_scope,
       backout.query_aggregate(9922, aid => '1', billrun => '2026') ->> 'desc' AS bad_billrun,
       backout.query_aggregate(9922, aid => '1', groupby => '{"u": "usaget"}') ->> 'desc' AS bad_groupby,
       backout.query_aggregate(9922, aid => '1', aggregate => '{"x": {"$push": "$usagev"}}') ->> 'desc' AS bad_aggregate,
       backout.query_aggregate(9922, aid => '1', aggregate => '{"x": {"$sum": "$usaget"}}') ->> 'desc' AS sum_of_text;

------------------------------------------------------------------------------------------------------------
-- 7. Hostile queries: each refused, or answered inside the given accounts; nothing else runs
------------------------------------------------------------------------------------------------------------
-- a query naming other accounts narrows the scope, never widens it
SELECT regress.stamps('{"aid": {"$gt": 0}}') AS aid_gt_0_inside_1_2_3,
       (SELECT jsonb_array_length(backout.query_lines(9922, aid => '3', query => '{"aid": {"$gt": 0}}') -> 'details')) AS aid_gt_0_inside_3,
       (SELECT jsonb_array_length(backout.query_lines(9922, aid => '3', query => '{"$or": [{"aid": 1}, {"aid": 2}]}') -> 'details')) AS other_aids,
       (SELECT jsonb_array_length(backout.query_lines(9922, aid => '1', query => '{"$or": [{"aid": {"$exists": true}}, {"sid": 503}]}') -> 'details')) AS or_does_not_escape;
SELECT q AS hostile, regress.stamps(q::jsonb) FROM (VALUES
    ('{"$where": "1 = 1"}'), ('{"usagev": {"$function": "return true"}}'), ('{"client_id": 9921}'),
    ('{"usaget": 1}'), ('{"usagev": "1 OR 1=1"}'), ('{"aid": "1; DROP TABLE backout.usage_txn"}'),
    ('{"usaget": "x'' OR ''1''=''1"}'), ('{"usaget": {"$regex": "("}}'), ('{"usaget": {"$regex": 1}}'),
    ('{"urt": {"$gt": "yesterday"}}'), ('{"billed": "true"}'), ('{"aid": {"$in": 1}}'), ('{"$or": []}'),
    ('{"$or": {"aid": 1}}'), ('[1]'), ('"aid"'), ('{"usaget": {}}'), ('{"usaget": null}'),
    ('{"usaget": {"$eq": "CALL", "$options": "i"}}'), ('{"usaget": {"$gt": {"$gt": 1}}}')
) AS t(q);
-- deep nesting (10,000 levels do not even reach the call: PostgreSQL's jsonb input stops at its stack
-- depth limit; 1,000 do, past serde's own limit), a 1 MB string, too many nodes, too deep
SELECT regress.stamps((repeat('{"$and": [', 1000) || '{"aid": 1}' || repeat(']}', 1000))::jsonb) AS deep_1000;
SELECT regress.stamps((repeat('{"$and": [', 8) || '{"aid": 1}' || repeat(']}', 8))::jsonb) AS deep_9;
SELECT regress.stamps((repeat('{"$and": [', 7) || '{"aid": 1}' || repeat(']}', 7))::jsonb) AS deep_8;
SELECT regress.stamps(jsonb_build_object('usaget', repeat('x', 1000000))) AS one_mb_string;
SELECT regress.stamps(jsonb_build_object('aid', jsonb_build_object('$in', (SELECT jsonb_agg(n) FROM generate_series(1, 200) n)))) AS nodes_201;
SELECT regress.stamps(jsonb_build_object('aid', jsonb_build_object('$in', (SELECT jsonb_agg(n) FROM generate_series(1, 199) n)))) AS nodes_200;
-- 10,000 levels: PostgreSQL's jsonb input refuses the document (stack depth) before any call
DO $$
BEGIN
    PERFORM backout.query_lines(9922, aid => '1', query => (repeat('{"$and": [', 10000) || '{"aid": 1}' || repeat(']}', 10000))::jsonb);
    RAISE NOTICE 'answered';
EXCEPTION WHEN statement_too_complex THEN
    RAISE NOTICE 'refused before the call (SQLSTATE %)', SQLSTATE;
END $$;
-- the query functions are read-only: no transaction id, even with a $regex checked in a subtransaction
BEGIN;
SELECT backout.query_lines(9922, aid => '1', query => '{"usaget": {"$regex": "^C"}}') ->> 'status' AS lines_status,
       backout.query_aggregate(9922, aid => '1', groupby => '{"u": "$usaget"}') ->> 'status' AS aggregate_status,
       pg_current_xact_id_if_assigned() IS NULL AS no_transaction_id;
COMMIT;
-- nothing above changed a line or queued anything
SELECT count(*) AS lines_of_9922, sum(amount) AS amount_of_9922 FROM backout.usage_txn WHERE client_id = 9922;
SELECT count(*) AS resets_of_9922 FROM backout.reset_batch WHERE client_id = 9922;
