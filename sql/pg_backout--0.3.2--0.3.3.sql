-- pg_backout 0.3.2 -> 0.3.3: plans that do not depend on luck (issue 21).  Every foreign-key check of the
-- billing run and of its reversal has exactly one index it can use (see sql/schema.sql at invoice); the
-- reversal's statements filter a run's invoices through a hash (the functions changed in the library only).
\echo Use "ALTER EXTENSION pg_backout UPDATE TO '0.3.3'" to load this file. \quit

ALTER TABLE backout.invoice DROP CONSTRAINT invoice_client_id_billing_batch_id_acct_no_key;
CREATE UNIQUE INDEX invoice_batch_account_key ON backout.invoice (client_id, billing_batch_id, acct_no)
    WHERE billing_batch_id IS NOT NULL;

ALTER TABLE backout.billing_record
    DROP CONSTRAINT billing_record_pkey,
    ADD PRIMARY KEY (client_id, invoice_no, billing_record_id);
DROP INDEX backout.billing_record_invoice_idx;
DROP INDEX backout.billing_record_batch_idx;
CREATE INDEX billing_record_batch_idx ON backout.billing_record (client_id, billing_batch_id, invoice_no)
    WHERE billing_batch_id IS NOT NULL;
