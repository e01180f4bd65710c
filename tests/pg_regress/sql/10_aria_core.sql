-- Aria Core (SPEC §4.1): discard_usage and get_usage_history.  The property that matters most: discard some
-- records, then bill; the billing output and balances equal those of a twin client that never ingested them.
SET datestyle = 'ISO, YMD';

-- Client 9401 ingests March with two extra records that are wrong; twin 9402 ingests March without them.
SELECT regress.make_client(9401, 0.10, 40), regress.make_client(9402, 0.10, 40);
CREATE FUNCTION regress.march_with_mistakes() RETURNS jsonb LANGUAGE sql AS $$
    SELECT regress.march_file() || '[
      {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-20 10:00:00", "units": 999, "client_record_id": "BAD-1", "qualifier_1": "roaming"},
      {"acct_no": 2, "usage_type_code": "CALL", "usage_date": "2026-03-21 10:00:00", "units": 77, "client_record_id": "BAD-2"}]'::jsonb $$;
SELECT status, records_processed FROM backout.process_usage_file(9401, 'march.json', regress.march_with_mistakes());
SELECT status, records_processed FROM backout.process_usage_file(9402, 'march.json', regress.march_file());
-- the mistakes count in 9401's balances before the discard
SELECT acct_no, consumed_amount, consumed_units FROM backout.commitment_balance WHERE client_id = 9401 ORDER BY 1, 2;

-- Discard by record number (the first mistake) and by client record id (the second), with a reason.
SELECT error_code, error_msg, failed_records
FROM backout.discard_usage(9401, usage_record_no => ARRAY[(SELECT txn_id FROM backout.usage_txn WHERE client_id = 9401 AND client_record_id = 'BAD-1')],
                           exclusion_reason_cd => 12, exclusion_comment => 'rated twice', alt_caller_id => 'ops.jane',
                           optional_transaction_qualifiers => '[{"qualifier_name": "ticket", "qualifier_value": "INC-42"}]');
SELECT error_code, error_msg, failed_records
FROM backout.discard_usage(9401, client_record_id => ARRAY['BAD-2'], exclusion_reason_cd => 7);
-- kept, flagged, out of the balances
SELECT client_record_id, is_excluded, exclude_reason_cd, exclusion_comment, excluded_by, excluded_at IS NOT NULL AS at,
       exclusion_qualifiers
FROM backout.usage_txn WHERE client_id = 9401 AND client_record_id LIKE 'BAD-%' ORDER BY 1;
SELECT acct_no, consumed_amount, consumed_units FROM backout.commitment_balance WHERE client_id = 9401 ORDER BY 1, 2;

-- Bill both: output, balances and pointers are the twin's exactly (usage and file rows differ by design:
-- the discarded records are kept)
SELECT status, accounts_billed FROM backout.run_billing(9401, '2026-04-01');
SELECT status, accounts_billed FROM backout.run_billing(9402, '2026-04-01');
SELECT * FROM regress.state_diff(9401, 9402) WHERE what IN ('record', 'balance', 'pointers');
SELECT count(*) AS discarded_never_billed FROM backout.usage_txn WHERE client_id = 9401 AND is_excluded AND invoice_no IS NOT NULL;

-- Per-record failures; the others still succeed (23001 overall)
SELECT regress.make_client(9403, 0.10, 40);
SELECT status FROM backout.process_usage_file(9403, 'a.json', '[
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-02 10:00:00", "units": 1, "client_record_id": "DUP"},
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-03 10:00:00", "units": 2, "client_record_id": "DUP"},
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-04 10:00:00", "units": 3, "client_record_id": "ONE"},
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-05 10:00:00", "units": 4, "client_record_id": "TWO"}]');
CREATE TEMP TABLE r AS SELECT client_record_id AS crid, txn_id FROM backout.usage_txn WHERE client_id = 9403;
SELECT error_code FROM backout.discard_usage(9403, client_record_id => ARRAY['TWO']);
SELECT error_code, error_msg,
       jsonb_path_query_array(failed_records, '$[*].record_error_code') AS codes,
       jsonb_path_query_array(failed_records, '$[*].record_error_msg') AS messages
FROM backout.discard_usage(9403, client_record_id => ARRAY['DUP', 'NOPE', 'ONE', 'TWO']);
-- record numbers: another client's record is not found; a billed one is refused
SELECT error_code,
       jsonb_path_query_array(failed_records, '$[*].record_error_code') AS codes
FROM backout.discard_usage(9403, usage_record_no => ARRAY[(SELECT txn_id FROM r WHERE crid = 'ONE'),
                                                          (SELECT min(txn_id) FROM backout.usage_txn WHERE client_id = 9402),
                                                          -5]);
SELECT error_code, jsonb_path_query_array(failed_records, '$[*].record_error_code') AS codes
FROM backout.discard_usage(9402, usage_record_no => ARRAY[(SELECT min(txn_id) FROM backout.usage_txn WHERE client_id = 9402)]);
SELECT count(*) FILTER (WHERE is_excluded) AS excluded FROM backout.usage_txn WHERE client_id = 9403;

-- Bad input: 1010 / 1016, naming the argument, changing nothing
SELECT error_code, error_msg FROM backout.discard_usage(9403);
SELECT error_code, error_msg FROM backout.discard_usage(9403, ARRAY[1], ARRAY['x']);
SELECT error_code, error_msg FROM backout.discard_usage(9403, ARRAY[]::bigint[]);
SELECT error_code, error_msg FROM backout.discard_usage(NULL, ARRAY[1]);
SELECT error_code, error_msg FROM backout.discard_usage(424242, ARRAY[1]);
SELECT error_code, error_msg FROM backout.discard_usage(9403, client_record_id => ARRAY[repeat('x', 51)]);
SELECT error_code, error_msg FROM backout.discard_usage(9403, ARRAY[1], exclusion_reason_cd => 10000);
SELECT error_code, error_msg FROM backout.discard_usage(9403, ARRAY[1], exclusion_comment => repeat('c', 301));
SELECT error_code, error_msg FROM backout.discard_usage(9403, ARRAY[1], alt_caller_id => repeat('a', 31));
SELECT error_code, error_msg FROM backout.discard_usage(9403, ARRAY[1], optional_transaction_qualifiers => '{"a": 1}');
SELECT error_code, error_msg FROM backout.discard_usage(9403, ARRAY[1], optional_transaction_qualifiers => '[{"qualifier_name": "n"}]');
SELECT error_code, error_msg FROM backout.discard_usage(9403, (SELECT array_agg(n) FROM generate_series(1, 10001) n));
SELECT count(*) FILTER (WHERE is_excluded) AS still_excluded FROM backout.usage_txn WHERE client_id = 9403;
-- 10,000 records in one call (all not found here): one answer, a handful of statements
SELECT error_code, jsonb_array_length(failed_records) AS failed
FROM backout.discard_usage(9403, (SELECT array_agg(-n) FROM generate_series(1, 10000) n));
-- every call is recorded and shown by backout.operations
SELECT operation, status, error_code, counts FROM backout.operations WHERE client_id = 9403 AND operation = 'discard'
ORDER BY created_at, operation_id;

------------------------------------------------------------------------------------------------------------
-- get_usage_history
------------------------------------------------------------------------------------------------------------
-- one account, a day's range (the end date means 23:59:59), excluded left out by default
SELECT error_code, error_msg, filtered_usage_count,
       jsonb_path_query_array(usage_history_recs, '$[*].client_record_id') AS records
FROM backout.get_usage_history(9401, acct_no => 1, date_range_start => '2026-03-01', date_range_end => '2026-03-31');
-- with excluded records, by client account id, page 2 of size 1
SELECT error_code, filtered_usage_count, jsonb_array_length(usage_history_recs) AS page,
       usage_history_recs->0->>'usage_date' AS usage_date, usage_history_recs->0->>'usage_time' AS usage_time,
       usage_history_recs->0->>'usage_type_code' AS code, usage_history_recs->0->'is_excluded' AS is_excluded,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(usage_history_recs->0) AS k) AS keys
FROM backout.get_usage_history(9401, client_acct_id => 'AMOUNT', date_range_start => '2026-03-01',
                               retrieve_excluded_usage => 'true', limit_records => 1, offset_records => 1);
-- ordered by usage date, then record number, excluded ones included on request
SELECT jsonb_path_query_array(usage_history_recs, '$[*].usage_date') AS dates,
       jsonb_path_query_array(usage_history_recs, '$[*].is_excluded') AS excluded
FROM backout.get_usage_history(9401, acct_no => 1, date_range_start => '2026-03-01', retrieve_excluded_usage => 'true');
-- filters: usage type (number, code), qualifier list, invoice, client record id, billed
SELECT (SELECT filtered_usage_count FROM backout.get_usage_history(9401, acct_no => 1, date_range_start => '2026-03-01', specified_usage_type_no => 20)) AS sms,
       (SELECT filtered_usage_count FROM backout.get_usage_history(9401, acct_no => 1, date_range_start => '2026-03-01', specified_usage_type_code => 'CALL')) AS calls,
       (SELECT filtered_usage_count FROM backout.get_usage_history(9401, acct_no => 1, date_range_start => '2026-03-01', usage_qualifier_1 => ARRAY['roaming'], retrieve_excluded_usage => 'true')) AS roaming,
       (SELECT filtered_usage_count FROM backout.get_usage_history(9401, acct_no => 1, invoice_no => (SELECT invoice_no FROM backout.invoice WHERE client_id = 9401 AND acct_no = 1))) AS on_invoice,
       (SELECT filtered_usage_count FROM backout.get_usage_history(9401, acct_no => 1, date_range_start => '2026-03-01', client_record_id => 'BAD-1', retrieve_excluded_usage => 'true')) AS by_crid,
       (SELECT filtered_usage_count FROM backout.get_usage_history(9401, acct_no => 1, date_range_start => '2026-03-01', billed_filter => 1, retrieve_excluded_usage => 'true')) AS billed,
       (SELECT filtered_usage_count FROM backout.get_usage_history(9401, acct_no => 1, date_range_start => '2026-03-01', billed_filter => 2, retrieve_excluded_usage => 'true')) AS unbilled;
-- keyset paging: the page after a record equals the offset page
SELECT (SELECT usage_history_recs FROM backout.get_usage_history(9401, acct_no => 1, date_range_start => '2026-03-01', retrieve_excluded_usage => 'true', limit_records => 1, offset_records => 1))
     = (SELECT usage_history_recs FROM backout.get_usage_history(9401, acct_no => 1, date_range_start => '2026-03-01', retrieve_excluded_usage => 'true', limit_records => 1,
               after_usage_rec_no => (SELECT (usage_history_recs->0->>'usage_rec_no')::bigint
                                      FROM backout.get_usage_history(9401, acct_no => 1, date_range_start => '2026-03-01', retrieve_excluded_usage => 'true', limit_records => 1)))) AS same_page;
SELECT error_code, error_msg FROM backout.get_usage_history(9401, acct_no => 1, date_range_start => '2026-03-01', after_usage_rec_no => -1);
-- inclusive bounds with times; an offset past the end: empty page, same count
SELECT filtered_usage_count, jsonb_array_length(usage_history_recs) AS page
FROM backout.get_usage_history(9401, acct_no => 1, date_range_start => '2026-03-10 10:00:00', date_range_end => '2026-03-11 10:00:00');
SELECT filtered_usage_count, usage_history_recs
FROM backout.get_usage_history(9401, acct_no => 1, date_range_start => '2026-03-01', offset_records => 100);
-- bad input
SELECT error_code, error_msg FROM backout.get_usage_history(9401, date_range_start => '2026-03-01');
SELECT error_code, error_msg FROM backout.get_usage_history(9401, acct_no => 1, client_acct_id => 'AMOUNT', date_range_start => '2026-03-01');
SELECT error_code, error_msg FROM backout.get_usage_history(9401, acct_no => 1);
SELECT error_code, error_msg FROM backout.get_usage_history(9401, acct_no => 99, date_range_start => '2026-03-01');
SELECT error_code, error_msg FROM backout.get_usage_history(9401, acct_no => 1, date_range_start => '2026-02-30');
SELECT error_code, error_msg FROM backout.get_usage_history(9401, acct_no => 1, date_range_start => '2026-13-01');
SELECT error_code, error_msg FROM backout.get_usage_history(9401, acct_no => 1, date_range_start => '2026-01-01T00:00:00');
SELECT error_code, error_msg FROM backout.get_usage_history(9401, acct_no => 1, date_range_start => '2026-03-01', billed_filter => 3);
SELECT error_code, error_msg FROM backout.get_usage_history(9401, acct_no => 1, date_range_start => '2026-03-01', retrieve_excluded_usage => 'yes');
SELECT error_code, error_msg FROM backout.get_usage_history(9401, acct_no => 1, date_range_start => '2026-03-01', limit_records => -1);
SELECT error_code, error_msg FROM backout.get_usage_history(NULL, acct_no => 1, date_range_start => '2026-03-01');
SELECT error_code, error_msg FROM backout.get_usage_history(424242, acct_no => 1, date_range_start => '2026-03-01');
