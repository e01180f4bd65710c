-- pg_backout demo: a sample client, two usage files, one billing run, and a readable summary.
\set ON_ERROR_STOP 1
\pset footer off
SET datestyle = 'ISO, YMD';
SET client_min_messages = warning;
CREATE EXTENSION pg_backout;

\echo '== Master data: client 1001 "Northwind Telecom", 4 accounts, 2 usage types, prices, commitments'
INSERT INTO backout.client (client_id, name) VALUES (1001, 'Northwind Telecom');
INSERT INTO backout.account VALUES (1001, 501, 'NW-ALPHA'), (1001, 502, 'NW-BRAVO'), (1001, 503, 'NW-CHARLIE'),
                                   (1001, 504, 'NW-DELTA');
INSERT INTO backout.billing_profile (client_id, acct_no, last_bill_date, next_bill_date)
SELECT 1001, acct_no, '2026-03-01', '2026-04-01' FROM backout.account WHERE client_id = 1001;
INSERT INTO backout.usage_type VALUES (1001, 1, 'VOICE', 'Voice minutes', 'minute'), (1001, 2, 'DATA', 'Mobile data', 'GB');
INSERT INTO backout.price_offer (client_id, usage_type_no, acct_no, unit_price) VALUES
    (1001, 1, NULL, 0.02), (1001, 2, NULL, 1.50),   -- standard prices
    (1001, 1, 503, 0.015);                           -- custom voice price for NW-CHARLIE
INSERT INTO backout.commitment_contract VALUES
    (1001, 501, '2026-03-01', '2026-04-01', 'AMOUNT', 100.00, NULL),   -- spend at least 100.00
    (1001, 503, '2026-03-01', '2026-04-01', 'QUANTITY', 10000, 1);     -- use at least 10000 voice minutes

\echo
\echo '== Two usage files for March'
SELECT file_name, records_processed, status, total_amount
FROM backout.process_usage_file(1001, 'cdr_2026_03_01.json', '[
  {"acct_no": 501, "usage_type_code": "VOICE", "usage_date": "2026-03-02 09:15:00", "units": 1200},
  {"acct_no": 501, "usage_type_code": "DATA",  "usage_date": "2026-03-03 18:40:00", "units": 12.5},
  {"client_acct_id": "NW-BRAVO", "usage_type_code": "VOICE", "usage_date": "2026-03-04 11:00:00", "units": 5400},
  {"acct_no": 503, "usage_type_code": "VOICE", "usage_date": "2026-03-05 08:30:00", "units": 6000}
]');
-- the second file goes through the bulk path: rows staged (COPY in real life), then one call
INSERT INTO backout.usage_staging (client_id, file_name, acct_no, usage_type_code, usage_date, units) VALUES
    (1001, 'cdr_2026_03_02.csv', '502', 'DATA', '2026-03-20 10:00:00', '40'),
    (1001, 'cdr_2026_03_02.csv', '503', 'VOICE', '2026-03-21 10:00:00', '2500'),
    (1001, 'cdr_2026_03_02.csv', '504', 'DATA', '2026-03-22 10:00:00', '3.2');
SELECT file_name, records_processed, status, total_amount
FROM backout.process_staged_usage_file(1001, 'cdr_2026_03_02.csv');

\echo
\echo '== A mistaken re-submission of the first file is refused'
SELECT status, error_code FROM backout.process_usage_file(1001, 'cdr_2026_03_01.json',
    '[{"acct_no": 501, "usage_type_code": "VOICE", "usage_date": "2026-03-02 09:15:00", "units": 1200}]');

\echo
\echo '== Billing run for 2026-04-01'
SELECT billing_batch_id, status, accounts_billed, records_written, total_amount
FROM backout.run_billing(1001, '2026-04-01');

\echo
\echo '== Invoices'
SELECT a.client_acct_id AS account, i.period_start || ' .. ' || i.period_end AS period,
       i.usage_amount, i.true_up_amount, i.total_amount
FROM backout.invoice i JOIN backout.account a USING (client_id, acct_no)
WHERE i.client_id = 1001 ORDER BY a.client_acct_id;

\echo
\echo '== Billing records (usage charges per usage type, commitment true-ups)'
SELECT a.client_acct_id AS account, r.record_type, coalesce(ut.usage_type_code, '') AS usage_type,
       r.usage_records AS records, r.units, r.amount,
       CASE WHEN r.record_type = 'TRUE_UP'
            THEN format('%s commitment %s, consumed %s', r.commitment_kind, r.commitment_value, r.consumed)
            ELSE '' END AS true_up_basis
FROM backout.billing_record r
JOIN backout.account a USING (client_id, acct_no)
LEFT JOIN backout.usage_type ut ON ut.client_id = r.client_id AND ut.usage_type_no = r.usage_type_no
WHERE r.client_id = 1001 ORDER BY a.client_acct_id, r.record_type DESC, ut.usage_type_code;

\echo
\echo '== Billing pointers after the run (advanced one month)'
SELECT a.client_acct_id AS account, last_bill_date, next_bill_date
FROM backout.billing_profile p JOIN backout.account a USING (client_id, acct_no)
WHERE p.client_id = 1001 ORDER BY 1;

\echo
\echo '== A second run for the same date is refused'
SELECT status, error_code, error_message FROM backout.run_billing(1001, '2026-04-01 00:00:00');
