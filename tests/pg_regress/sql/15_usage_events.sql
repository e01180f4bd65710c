-- Gotransverse usage events (SPEC §4.2): post (FAIL_ON_EXISTING / OVERWRITE_ON_EXISTING), void (BY_ID /
-- BY_REF_SEQ, dry run), voided-event retention and lookup.  Events are usage: the twin checks at the end
-- bill a client that posted, voided and re-posted exactly like one that posted only the final events, and
-- events exactly like the same records ingested as a file.
SET datestyle = 'ISO, YMD';
SELECT regress.make_client(9901, 0.10, 40), regress.make_client(9902, 0.10, 40), regress.make_client(9903, 0.10, 40);
UPDATE backout.client SET retain_voided_usage = true WHERE client_id IN (9901, 9902);
-- an answer without what differs from run to run (record numbers, the request id, voided ids and times)
CREATE FUNCTION regress.masked(answer jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT CASE jsonb_typeof(answer)
        WHEN 'object' THEN (SELECT coalesce(jsonb_object_agg(k, CASE WHEN k IN ('id', 'request_id', 'usage_event_id', 'voided_at')
                                                                      THEN to_jsonb('<' || k || '>') ELSE regress.masked(v) END), '{}')
                            FROM jsonb_each(answer) AS e(k, v))
        WHEN 'array' THEN (SELECT coalesce(jsonb_agg(regress.masked(v) ORDER BY n), '[]') FROM jsonb_array_elements(answer) WITH ORDINALITY AS a(v, n))
        ELSE answer END $$;
CREATE FUNCTION regress.event(ref text, seq text, units numeric, account text DEFAULT 'AMOUNT', day text DEFAULT '2026-03-10')
RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('start_time', day, 'service_resource_identifier', account, 'usage_type_code', 'CALL',
                              'usage_uom', 'minute', 'usage_amount', units, 'reference_id', ref, 'sequence_id', seq) $$;
CREATE FUNCTION regress.live_events(p_client bigint) RETURNS TABLE (reference_id text, sequence_id text, units numeric, amount numeric, overwrite_counter int)
LANGUAGE sql AS $$
    SELECT reference_id, sequence_id, units, amount, overwrite_counter FROM backout.usage_txn
    WHERE client_id = p_client AND reference_id IS NOT NULL ORDER BY 1, 2 $$;

------------------------------------------------------------------------------------------------------------
-- 1. The reference's example: post, void, post, void, post, void the same pair (FAIL_ON_EXISTING, BY_REF_SEQ);
--    three voided events with distinct ids come back for the pair.
------------------------------------------------------------------------------------------------------------
SELECT regress.masked(backout.post_usage_events(9901, jsonb_build_array(regress.event('void-usage1', '14', 20))));
SELECT backout.void_usage_events(9901, 'BY_REF_SEQ', '[{"reference_id": "void-usage1", "sequence_id": "14"}]');
SELECT regress.masked(backout.post_usage_events(9901, jsonb_build_array(regress.event('void-usage1', '14', 21))));
SELECT backout.void_usage_events(9901, 'BY_REF_SEQ', '[{"reference_id": "void-usage1", "sequence_id": "14"}]');
SELECT regress.masked(backout.post_usage_events(9901, jsonb_build_array(regress.event('void-usage1', '14', 22))));
SELECT backout.void_usage_events(9901, 'BY_REF_SEQ', '[{"reference_id": "void-usage1", "sequence_id": "14"}]');
SELECT regress.masked(backout.get_voided_usage_events(9901, sequence_id => '14', reference_id => 'void-usage1'));
SELECT count(DISTINCT v ->> 'id') AS distinct_ids, count(DISTINCT v ->> 'usage_event_id') AS distinct_usage_event_ids
FROM jsonb_array_elements(backout.get_voided_usage_events(9901, sequence_id => '14', reference_id => 'void-usage1')) AS v;
-- voided usage is gone from usage_txn and from the balances (account 1's bucket held only these events)
SELECT count(*) AS live FROM backout.usage_txn WHERE client_id = 9901;
SELECT count(*) AS buckets FROM backout.commitment_balance WHERE client_id = 9901;
-- by voided event id: the same keys
SELECT regress.masked(backout.get_voided_usage_events(9901, id => (SELECT min(voided_usage_event_id)::text FROM backout.voided_usage_event WHERE client_id = 9901)));
-- unknown or invalid values: []; no lookup at all, or half a pair: refused with a message
SELECT backout.get_voided_usage_events(9901, id => '999999999') AS unknown_id,
       backout.get_voided_usage_events(9901, id => 'abc') AS invalid_id,
       backout.get_voided_usage_events(9901, id => '-1') AS negative_id,
       backout.get_voided_usage_events(9901, sequence_id => '14', reference_id => 'nope') AS unknown_pair,
       backout.get_voided_usage_events(9902, sequence_id => '14', reference_id => 'void-usage1') AS other_client;
SELECT backout.get_voided_usage_events(9901) AS no_lookup,
       backout.get_voided_usage_events(9901, reference_id => 'void-usage1') AS half_a_pair;

------------------------------------------------------------------------------------------------------------
-- 2. FAIL_ON_EXISTING and OVERWRITE_ON_EXISTING; each event posted or erred on its own
------------------------------------------------------------------------------------------------------------
SELECT regress.masked(backout.post_usage_events(9901, jsonb_build_array(
    regress.event('r1', '1', 10), regress.event('r1', '2', 20, 'QUANTITY'), regress.event('r2', '1', 5, 'PLAIN', '2026-03-15 08:30:00'))));
-- the same pair again: erred in FAIL_ON_EXISTING (the others still posted), and twice in one call
SELECT regress.masked(backout.post_usage_events(9901, jsonb_build_array(
    regress.event('r1', '1', 99), regress.event('r3', '1', 1), regress.event('r3', '1', 2))));
-- OVERWRITE_ON_EXISTING: the live event is voided (kept, reason OVERWRITE) and the new one posted with
-- overwrite_counter one more; twice more for the counter
SELECT regress.masked(backout.post_usage_events(9901, jsonb_build_array(regress.event('r1', '1', 11)), 'OVERWRITE_ON_EXISTING', 'svc-rater'));
SELECT regress.masked(backout.post_usage_events(9901, jsonb_build_array(regress.event('r1', '1', 12)), 'OVERWRITE_ON_EXISTING', 'svc-rater'));
SELECT * FROM regress.live_events(9901);
SELECT usage_amount, overwrite_counter, voided_by, void_reason, total_charge
FROM backout.voided_usage_event WHERE client_id = 9901 AND reference_id = 'r1' AND sequence_id = '1' ORDER BY voided_usage_event_id;
-- the balance of account 1 holds exactly the live events (12 + 1 minutes at 0.10)
SELECT acct_no, period_start, consumed_amount, consumed_units FROM backout.commitment_balance WHERE client_id = 9901 ORDER BY 1, 2;

------------------------------------------------------------------------------------------------------------
-- 3. Voiding: mixed good and bad criteria (the rest still succeed), dry run, billed events
------------------------------------------------------------------------------------------------------------
CREATE FUNCTION regress.mixed_criteria() RETURNS jsonb LANGUAGE sql AS $$ SELECT '[
    {"reference_id": "r1", "sequence_id": "2"},
    {"reference_id": "nope", "sequence_id": "1"},
    "not an object",
    {"reference_id": "r1"},
    {"reference_id": "r1", "sequence_id": "2"},
    {"reference_id": "r2", "sequence_id": 1},
    {"id": "1"}]'::jsonb $$;
SELECT regress.masked(backout.void_usage_events(9901, 'BY_REF_SEQ', regress.mixed_criteria(), dry_run => true)) AS dry_run;
-- the dry run changed nothing
SELECT count(*) AS live FROM backout.usage_txn WHERE client_id = 9901;
SELECT regress.masked(backout.void_usage_events(9901, 'BY_REF_SEQ', regress.mixed_criteria())) AS voided;
SELECT * FROM regress.live_events(9901);
-- BY_ID: by the record number the post answered with; an id of another client, or of a file record, is
-- not found
SELECT status FROM backout.process_usage_file(9902, 'march.json', regress.march_file());
SELECT regress.masked(backout.void_usage_events(9901, 'BY_ID', jsonb_build_array(
    jsonb_build_object('id', (SELECT txn_id::text FROM backout.usage_txn WHERE client_id = 9901 AND reference_id = 'r2')),
    jsonb_build_object('id', (SELECT min(txn_id) FROM backout.usage_txn WHERE client_id = 9902)),
    jsonb_build_object('id', 'x1'))));
SELECT * FROM regress.live_events(9901);
-- a billed event can be neither voided nor overwritten; an undo of its billing run makes it voidable again
SELECT status, accounts_billed FROM backout.run_billing(9901, '2026-04-01');
SELECT regress.masked(backout.void_usage_events(9901, 'BY_REF_SEQ', '[{"reference_id": "r1", "sequence_id": "1"}]'));
SELECT regress.masked(backout.post_usage_events(9901, jsonb_build_array(regress.event('r1', '1', 13)), 'OVERWRITE_ON_EXISTING'));
SELECT status FROM backout.undo_job_schedule('2026-04-01', 9901);
CALL backout.run_pending_batches(9901);
SELECT status FROM backout.undo_batch WHERE client_id = 9901;
SELECT regress.masked(backout.void_usage_events(9901, 'BY_REF_SEQ', '[{"reference_id": "r1", "sequence_id": "1"}]'));
SELECT count(*) AS live, (SELECT count(*) FROM backout.commitment_balance WHERE client_id = 9901 AND consumed_amount <> 0) AS buckets_consumed
FROM backout.usage_txn WHERE client_id = 9901;

------------------------------------------------------------------------------------------------------------
-- 4. Retention: with retain_voided_usage false at voiding time nothing is kept; switched on, the next void is
------------------------------------------------------------------------------------------------------------
SELECT jsonb_array_length(backout.post_usage_events(9903, jsonb_build_array(regress.event('k', '1', 1), regress.event('k', '2', 2))) -> 'rated_events') AS posted;
SELECT backout.void_usage_events(9903, 'BY_REF_SEQ', '[{"reference_id": "k", "sequence_id": "1"}]') ->> 'num_voided' AS voided;
SELECT backout.get_voided_usage_events(9903, sequence_id => '1', reference_id => 'k') AS kept_while_off;
UPDATE backout.client SET retain_voided_usage = true WHERE client_id = 9903;
SELECT backout.void_usage_events(9903, 'BY_REF_SEQ', '[{"reference_id": "k", "sequence_id": "2"}]') ->> 'num_voided' AS voided;
SELECT jsonb_array_length(backout.get_voided_usage_events(9903, sequence_id => '2', reference_id => 'k')) AS kept_once_on;

------------------------------------------------------------------------------------------------------------
-- 5. Bad input: the call refused whole ({"error": ...}, nothing changed) or the event erred with a message
------------------------------------------------------------------------------------------------------------
CREATE TABLE regress.events_before AS SELECT count(*) AS n FROM backout.usage_txn WHERE client_id = 9903;
SELECT backout.post_usage_events(9903, '{"start_time": "2026-03-10"}') AS not_an_array,
       backout.post_usage_events(9903, '[]') AS empty,
       backout.post_usage_events(9903, jsonb_build_array(regress.event('a', '1', 1)), 'REPLACE') AS unknown_mode,
       backout.post_usage_events(9903, NULL) AS null_events,
       backout.post_usage_events(NULL, '[]') AS null_client,
       backout.post_usage_events(424242, jsonb_build_array(regress.event('a', '1', 1))) AS unknown_client;
SELECT backout.post_usage_events(9903, (SELECT jsonb_agg(regress.event('big', i::text, 1)) FROM generate_series(1, 10001) i)) AS too_many;
SELECT regress.masked(backout.post_usage_events(9903, jsonb_build_array(
    regress.event(repeat('x', 256), '1', 1),
    regress.event('b', '1', -1),
    regress.event('b', '2', 1, 'NO-SUCH-ACCOUNT'),
    regress.event('b', '3', 1) - 'sequence_id',
    regress.event('b', '4', 1) - 'start_time',
    regress.event('b', '5', 1) || '{"usage_uom": "hour"}',
    regress.event('b', '6', 1) || '{"start_time": "2026/03/10"}',
    regress.event('b', '7', 1) || '{"usage_amount": "1"}',
    regress.event('b', '8', 1) || '{"colour": "red"}',
    regress.event('b', '9', 1) || '{"usage_type_code": "FAX"}',
    regress.event('b', '10', 1) || '{"sid": "x"}',
    '42'::jsonb))) AS erred;
SELECT (SELECT n FROM regress.events_before) = count(*) AS nothing_posted FROM backout.usage_txn WHERE client_id = 9903;
SELECT backout.void_usage_events(9903, 'BY_REF_SEQ', (SELECT jsonb_agg(jsonb_build_object('reference_id', 'k', 'sequence_id', i::text)) FROM generate_series(1, 51) i)) AS fifty_one,
       backout.void_usage_events(9903, 'BY_NAME', '[{"id": "1"}]') AS unknown_mode,
       backout.void_usage_events(9903, 'BY_ID', '{"id": "1"}') AS not_an_array,
       backout.void_usage_events(9903, 'BY_ID', '[]') AS empty;
SELECT (SELECT n FROM regress.events_before) = count(*) AS nothing_voided FROM backout.usage_txn WHERE client_id = 9903;

------------------------------------------------------------------------------------------------------------
-- 6. Twins.  9904 posts, overwrites, voids and re-posts; 9905 posts only the final events: same billing
--    output, balances and pointers.  9906 ingests a file, 9907 posts the same records as events: same usage
--    rows, balances and invoices.
------------------------------------------------------------------------------------------------------------
SELECT regress.make_client(9904, 0.10, 40), regress.make_client(9905, 0.10, 40),
       regress.make_client(9906, 0.10, 40), regress.make_client(9907, 0.10, 40);
SELECT jsonb_array_length(backout.post_usage_events(9904, jsonb_build_array(
    regress.event('t', '1', 100), regress.event('t', '2', 300, 'QUANTITY'), regress.event('t', '3', 50, 'PLAIN'),
    regress.event('t', '4', 999))) -> 'rated_events') AS posted;
SELECT jsonb_array_length(backout.post_usage_events(9904, jsonb_build_array(regress.event('t', '2', 350, 'QUANTITY')), 'OVERWRITE_ON_EXISTING') -> 'rated_events') AS overwritten;
SELECT backout.void_usage_events(9904, 'BY_REF_SEQ', '[{"reference_id": "t", "sequence_id": "4"}, {"reference_id": "t", "sequence_id": "3"}]') ->> 'num_voided' AS voided;
SELECT jsonb_array_length(backout.post_usage_events(9904, jsonb_build_array(regress.event('t', '3', 60, 'PLAIN'))) -> 'rated_events') AS reposted;
SELECT jsonb_array_length(backout.post_usage_events(9905, jsonb_build_array(
    regress.event('t', '1', 100), regress.event('t', '2', 350, 'QUANTITY'), regress.event('t', '3', 60, 'PLAIN'))) -> 'rated_events') AS posted;
SELECT status FROM backout.run_billing(9904, '2026-04-01');
SELECT status FROM backout.run_billing(9905, '2026-04-01');
SELECT * FROM regress.state_diff(9904, 9905) WHERE what IN ('record', 'balance', 'pointers');
SELECT count(*) > 0 AS twins_billed FROM backout.billing_record WHERE client_id = 9905;
SELECT status, records_processed FROM backout.process_usage_file(9906, 'march.json', regress.march_file());
SELECT jsonb_array_length(backout.post_usage_events(9907, (
    SELECT jsonb_agg(jsonb_build_object('service_resource_identifier', a.client_acct_id, 'usage_type_code', r ->> 'usage_type_code',
                                        'start_time', r ->> 'usage_date', 'usage_amount', (r ->> 'units')::numeric,
                                        'reference_id', 'march', 'sequence_id', n::text) ORDER BY n)
    FROM jsonb_array_elements(regress.march_file()) WITH ORDINALITY AS f(r, n)
    JOIN backout.account a ON a.client_id = 9907 AND a.acct_no = (r ->> 'acct_no')::bigint)) -> 'rated_events') AS posted;
SELECT (SELECT array_agg(ROW(acct_no, usage_type_no, usage_date, units, unit_price, amount) ORDER BY acct_no, usage_date)
        FROM backout.usage_txn WHERE client_id = 9906)
     = (SELECT array_agg(ROW(acct_no, usage_type_no, usage_date, units, unit_price, amount) ORDER BY acct_no, usage_date)
        FROM backout.usage_txn WHERE client_id = 9907) AS same_usage_rows;
SELECT status FROM backout.run_billing(9906, '2026-04-01');
SELECT status FROM backout.run_billing(9907, '2026-04-01');
SELECT * FROM regress.state_diff(9906, 9907) WHERE what IN ('record', 'balance', 'pointers');
SELECT (SELECT array_agg(ROW(acct_no, usage_amount, true_up_amount, total_amount) ORDER BY acct_no) FROM backout.invoice WHERE client_id = 9906)
     = (SELECT array_agg(ROW(acct_no, usage_amount, true_up_amount, total_amount) ORDER BY acct_no) FROM backout.invoice WHERE client_id = 9907) AS same_invoices;

------------------------------------------------------------------------------------------------------------
-- 7. Every call that changed data, or was refused whole for a client, is in backout.operations; dry runs are not
------------------------------------------------------------------------------------------------------------
SELECT operation, request, status, counts, error_message
FROM backout.operations WHERE client_id = 9901 AND operation IN ('post', 'void') ORDER BY created_at, operation_id;
SELECT operation, status, count(*) FROM backout.operations WHERE client_id = 9903 AND operation IN ('post', 'void')
GROUP BY 1, 2 ORDER BY 1, 2;
