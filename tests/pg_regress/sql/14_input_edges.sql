-- Input edges answered in the function's own error form, changing nothing: a multi-dimensional key array
-- (pgrx would flatten it into its elements) and qualifiers nested deeper than a JSON parser follows.
SET datestyle = 'ISO, YMD';
SELECT regress.make_client(9801, 0.10, 100);
SELECT status, records_processed FROM backout.process_usage_file(9801, 'march.json', regress.march_file());
SELECT array_agg(txn_id ORDER BY txn_id) AS ids FROM backout.usage_txn WHERE client_id = 9801 \gset
-- four real records, as a 2 x 2 array: refused, none discarded
SELECT error_code, error_msg, failed_records
FROM backout.discard_usage(9801, usage_record_no => ARRAY[ARRAY[(:'ids'::bigint[])[1], (:'ids'::bigint[])[2]],
                                                          ARRAY[(:'ids'::bigint[])[3], (:'ids'::bigint[])[4]]]);
SELECT error_code, error_msg FROM backout.discard_usage(9801, client_record_id => ARRAY[ARRAY['a'], ARRAY['b']]);
SELECT count(*) FILTER (WHERE is_excluded) AS discarded FROM backout.usage_txn WHERE client_id = 9801;
-- the same records as a plain array: discarded
SELECT error_code, error_msg FROM backout.discard_usage(9801, usage_record_no => (:'ids'::bigint[])[1:2]);
-- qualifiers nested 200 levels deep (as an element, and as the whole value): answered 1016
SELECT error_code, error_msg FROM backout.discard_usage(9801, usage_record_no => (:'ids'::bigint[])[3:3],
    optional_transaction_qualifiers => (repeat('[', 200) || repeat(']', 200))::jsonb);
SELECT error_code, error_msg FROM backout.discard_usage(9801, usage_record_no => (:'ids'::bigint[])[3:3],
    optional_transaction_qualifiers => ('[{"qualifier_name": "a", "qualifier_value": ' || repeat('[', 200) || repeat(']', 200) || '}]')::jsonb);
SELECT error_code, error_msg FROM backout.discard_usage(9801, usage_record_no => (:'ids'::bigint[])[3:3],
    optional_transaction_qualifiers => '{"qualifier_name": "a"}');
-- well-formed qualifiers still work
SELECT error_code, error_msg FROM backout.discard_usage(9801, usage_record_no => (:'ids'::bigint[])[3:3],
    optional_transaction_qualifiers => '[{"qualifier_name": "ticket", "qualifier_value": "T-1"}]');
SELECT count(*) FILTER (WHERE is_excluded) AS discarded, count(*) FILTER (WHERE exclusion_qualifiers IS NOT NULL) AS with_qualifiers
FROM backout.usage_txn WHERE client_id = 9801;
