-- Billing runs: usage charges, true-ups of both commitment kinds, pointer advance, balance snapshots,
-- job schedule, and the refusal to bill a date twice.
SET datestyle = 'ISO, YMD';
INSERT INTO backout.client (client_id, name) VALUES (4001, 'Billing Co');
INSERT INTO backout.account VALUES (4001, 1, 'AMT-UNDER'), (4001, 2, 'AMT-OVER'), (4001, 3, 'QTY'),
                                   (4001, 4, 'NO-COMMIT'), (4001, 5, 'NOT-DUE');
INSERT INTO backout.billing_profile VALUES (4001, 1, '2026-03-01', '2026-04-01'), (4001, 2, '2026-03-01', '2026-04-01'),
    (4001, 3, '2026-03-01', '2026-04-01'), (4001, 4, '2026-03-01', '2026-04-01'), (4001, 5, '2026-03-15', '2026-04-15');
INSERT INTO backout.usage_type VALUES (4001, 10, 'CALL', 'Call minutes', 'minute'), (4001, 20, 'SMS', 'Texts', 'message');
INSERT INTO backout.price_offer (client_id, usage_type_no, acct_no, unit_price) VALUES
    (4001, 10, NULL, 0.10), (4001, 20, NULL, 0.05), (4001, 10, 3, 0.07);
INSERT INTO backout.commitment_contract VALUES
    (4001, 1, '2026-03-01', '2026-04-01', 'AMOUNT', 50, NULL),     -- charges 10 -> true-up 40
    (4001, 2, '2026-03-01', '2026-04-01', 'AMOUNT', 5, NULL),      -- charges 30 -> true-up 0
    (4001, 3, '2026-03-01', '2026-04-01', 'QUANTITY', 1000, 10),   -- 300 of 1000 CALL units -> 700 x 0.07 = 49
    (4001, 1, '2026-04-01', '2026-05-01', 'AMOUNT', 50, NULL);

SELECT file_name, records_processed, status FROM backout.process_usage_file(4001, 'march.json', '[
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-10 10:00:00", "units": 100},
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-02-27 10:00:00", "units": 5, "record_id": "before-period"},
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-04-01 00:00:00", "units": 10, "record_id": "next-period"},
  {"acct_no": 2, "usage_type_code": "CALL", "usage_date": "2026-03-31 23:59:59", "units": 300},
  {"acct_no": 2, "usage_type_code": "CALL", "usage_date": "2026-03-12 10:00:00", "units": 99, "record_id": "excluded"},
  {"acct_no": 3, "usage_type_code": "CALL", "usage_date": "2026-03-01 00:00:00", "units": 300},
  {"acct_no": 3, "usage_type_code": "SMS", "usage_date": "2026-03-02 00:00:00", "units": 40},
  {"acct_no": 4, "usage_type_code": "SMS", "usage_date": "2026-03-03 00:00:00", "units": 20},
  {"acct_no": 5, "usage_type_code": "SMS", "usage_date": "2026-03-20 00:00:00", "units": 20}
]');
-- an excluded record is never billed (excluded here by hand, taking it out of the balance as discarding does)
UPDATE backout.usage_txn SET is_excluded = true, exclude_reason_cd = 1, exclusion_comment = 'test'
 WHERE client_id = 4001 AND record_key = 'excluded';
UPDATE backout.commitment_balance SET consumed_amount = consumed_amount - 9.90, consumed_units = consumed_units - 99
 WHERE client_id = 4001 AND acct_no = 2;

SELECT * FROM backout.run_billing(4001, '2026-04-01');

SELECT acct_no, record_type, usage_type_no, usage_records, units, unit_price, amount, period_start, period_end,
       commitment_kind, commitment_value, consumed
FROM backout.billing_record WHERE client_id = 4001 ORDER BY acct_no, record_type, usage_type_no;

SELECT acct_no, period_start, period_end, usage_amount, true_up_amount, total_amount
FROM backout.invoice WHERE client_id = 4001 ORDER BY acct_no;

-- pointers advanced one period for the billed accounts only
SELECT acct_no, last_bill_date, next_bill_date FROM backout.billing_profile WHERE client_id = 4001 ORDER BY acct_no;

-- usage of the period is billed; before/after the period, excluded, and not-due usage is not
SELECT acct_no, record_key, billing_batch_id IS NOT NULL AS billed, invoice_no IS NOT NULL AS invoiced, is_excluded
FROM backout.usage_txn WHERE client_id = 4001 ORDER BY acct_no, txn_id;

-- balances settled by the run, and the snapshot of what they were before
SELECT acct_no, period_start, consumed_amount, consumed_units, true_up_amount, true_up_batch_id IS NOT NULL AS settled
FROM backout.commitment_balance WHERE client_id = 4001 ORDER BY acct_no, period_start;
SELECT acct_no, period_start, balance_existed, true_up_amount, true_up_batch_id
FROM backout.billing_balance_snapshot WHERE client_id = 4001 ORDER BY acct_no;

SELECT billing_date, status, accounts_billed, records_written, total_amount
FROM backout.billing_batch WHERE client_id = 4001;

-- the job schedule of the date, its item and one work unit per billed account
SELECT schedule_date, job_type, status FROM backout.job_schedule WHERE client_id = 4001;
SELECT item_type, status, work_units FROM backout.job_schedule_item WHERE client_id = 4001;
SELECT acct_no, status, payload - 'invoice_no' - 'billing_batch_id' AS payload
FROM backout.job_schedule_list WHERE client_id = 4001 ORDER BY acct_no;

-- a second run for the same date (in either form) is refused and changes nothing
SELECT status, error_code, error_message, billing_batch_id FROM backout.run_billing(4001, '2026-04-01');
SELECT status, error_code FROM backout.run_billing(4001, '2026-04-01 00:00:00');
SELECT count(*) AS batches, (SELECT count(*) FROM backout.billing_record WHERE client_id = 4001) AS records
FROM backout.billing_batch WHERE client_id = 4001;

-- the next period: April usage of account 1 is billed now, against April's commitment
SELECT file_name, records_processed, status FROM backout.process_usage_file(4001, 'april.json', '[
  {"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-04-20 10:00:00", "units": 40}]');
SELECT accounts_billed, records_written, total_amount, status FROM backout.run_billing(4001, '2026-05-01 00:00:00');
SELECT acct_no, record_type, units, amount, consumed FROM backout.billing_record r
JOIN backout.billing_batch b USING (client_id, billing_batch_id)
WHERE r.client_id = 4001 AND b.billing_date = '2026-05-01' ORDER BY acct_no, record_type;

-- a date nobody is due on still completes (and is scheduled), billing nobody
SELECT status, accounts_billed, records_written FROM backout.run_billing(4001, '2026-06-15');

-- month-end anniversaries: bill_day keeps them from drifting
INSERT INTO backout.account VALUES (4001, 6, 'EOM-31'), (4001, 7, 'EOM-DEFAULT');
INSERT INTO backout.billing_profile VALUES (4001, 6, '2026-01-31', '2026-02-28', 31), (4001, 7, '2026-01-31', '2026-02-28', NULL);
SELECT status, accounts_billed FROM backout.run_billing(4001, '2026-02-28');
SELECT acct_no, last_bill_date, next_bill_date FROM backout.billing_profile WHERE client_id = 4001 AND acct_no IN (6, 7);
SELECT backout.advance_bill_date('2024-01-31', 31::smallint) AS leap_feb, backout.advance_bill_date('2026-12-15', NULL) AS new_year;

-- rejected runs: bad dates, missing arguments, unknown client, a QUANTITY true-up without a price
SELECT status, error_code, error_message FROM backout.run_billing(4001, '2026-4-1');
SELECT status, error_code, error_message FROM backout.run_billing(4001, '2026-04-31');
SELECT status, error_code, error_message FROM backout.run_billing(4001, '2026-04-01T00:00:00');
SELECT status, error_code, error_message FROM backout.run_billing(4001, NULL);
SELECT status, error_code, error_message FROM backout.run_billing(NULL, '2026-04-01');
SELECT status, error_code, error_message FROM backout.run_billing(999999, '2026-04-01');
INSERT INTO backout.client (client_id, name) VALUES (4002, 'Unpriced Co');
INSERT INTO backout.account VALUES (4002, 1, 'Q');
INSERT INTO backout.billing_profile VALUES (4002, 1, '2026-03-01', '2026-04-01');
INSERT INTO backout.usage_type VALUES (4002, 10, 'CALL', 'Call minutes', 'minute');
INSERT INTO backout.commitment_contract VALUES (4002, 1, '2026-03-01', '2026-04-01', 'QUANTITY', 10, 10);
SELECT status, error_code, error_message FROM backout.run_billing(4002, '2026-04-01');
SELECT (SELECT count(*) FROM backout.billing_batch WHERE client_id = 4002) AS batches,
       (SELECT count(*) FROM backout.job_schedule WHERE client_id = 4002) AS schedules,
       (SELECT next_bill_date FROM backout.billing_profile WHERE client_id = 4002) AS next_bill_date;
