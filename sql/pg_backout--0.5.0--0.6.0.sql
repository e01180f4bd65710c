-- pg_backout 0.5.0 -> 0.6.0: the operator's experience (issue 22): reversed invoices kept with their lines
-- (reversed_invoice, reversed_billing_record, the view reversed_invoices); preview_undo_job_schedule;
-- discard_usage(..., dry_run); batches logged (pg_backout.log_run); a COMMENT on every object.
\echo Use "ALTER EXTENSION pg_backout UPDATE TO '0.6.0'" to load this file. \quit

-- Reversed invoices, kept: an undo, or a backout with undo_billing, deletes invoices and their lines from
-- invoice and billing_record; a copy of each is kept here first, with who reversed it, when and by which
-- batch (reversal_kind + reversal_batch_id: an undo_batch or a backout_batch).  The invoice's TRUE_UP lines
-- carry the commitment balance it consumed.  Written by the extension only (as its owner); readers read them
-- through backout.reversed_invoices; backout.prune_audit removes those older than its retention.
CREATE TABLE backout.reversed_invoice (
    client_id         bigint NOT NULL,
    invoice_no        bigint NOT NULL,
    billing_batch_id  bigint NOT NULL,
    acct_no           bigint NOT NULL,
    period_start      date NOT NULL,
    period_end        date NOT NULL,
    usage_amount      numeric NOT NULL,
    true_up_amount    numeric NOT NULL,
    total_amount      numeric NOT NULL,
    reversal_kind     text NOT NULL CHECK (reversal_kind IN ('undo', 'backout')),
    reversal_batch_id uuid NOT NULL,
    reversed_by       text NOT NULL,   -- the batch's user_id (else the session user that submitted it)
    reversed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, invoice_no)
);
-- by batch (what did this undo or backout reverse?)
CREATE INDEX reversed_invoice_batch_idx ON backout.reversed_invoice (client_id, reversal_batch_id);
-- prune_audit
CREATE INDEX reversed_invoice_reversed_at_idx ON backout.reversed_invoice (reversed_at);

CREATE TABLE backout.reversed_billing_record (
    client_id                bigint NOT NULL,
    invoice_no               bigint NOT NULL,
    billing_record_id        bigint NOT NULL,
    billing_batch_id         bigint NOT NULL,
    acct_no                  bigint NOT NULL,
    record_type              text NOT NULL,
    usage_type_no            bigint,
    usage_records            bigint NOT NULL,
    units                    numeric NOT NULL,
    unit_price               numeric,
    amount                   numeric NOT NULL,
    period_start             date NOT NULL,
    period_end               date NOT NULL,
    commitment_period_start  date,
    commitment_kind          text,
    commitment_value         numeric,
    consumed                 numeric,
    created_at               timestamptz NOT NULL,
    reversal_batch_id        uuid NOT NULL,
    reversed_at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, invoice_no, billing_record_id)
);
CREATE INDEX reversed_billing_record_reversed_at_idx ON backout.reversed_billing_record (reversed_at);

-- A reversed invoice with its lines (jsonb array in line order): what had been billed, who reversed it, when
-- and by which batch.  Row-level security of both tables applies (security_invoker).
CREATE VIEW backout.reversed_invoices WITH (security_invoker = true) AS
SELECT i.client_id, i.invoice_no, i.billing_batch_id, i.acct_no, i.period_start, i.period_end,
       i.usage_amount, i.true_up_amount, i.total_amount,
       i.reversal_kind, i.reversal_batch_id, i.reversed_by, i.reversed_at,
       (SELECT coalesce(jsonb_agg(to_jsonb(r) - 'client_id' - 'invoice_no' - 'reversal_batch_id' - 'reversed_at'
                                  ORDER BY r.billing_record_id), '[]')
        FROM backout.reversed_billing_record r
        WHERE r.client_id = i.client_id AND r.invoice_no = i.invoice_no) AS lines
FROM backout.reversed_invoice i;

-- Row-level security, grants and backups for the new tables, as sql/privileges.sql does for every table.
ALTER TABLE backout.reversed_invoice ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON backout.reversed_invoice FOR SELECT USING (
    (SELECT backout.entitled_to_all('reader')) OR client_id = ANY (CAST((SELECT backout.entitled_clients('reader')) AS bigint[])));
CREATE POLICY tenant_write ON backout.reversed_invoice USING (
    (SELECT backout.entitled_to_all('operator')) OR client_id = ANY (CAST((SELECT backout.entitled_clients('operator')) AS bigint[])));
ALTER TABLE backout.reversed_billing_record ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON backout.reversed_billing_record FOR SELECT USING (
    (SELECT backout.entitled_to_all('reader')) OR client_id = ANY (CAST((SELECT backout.entitled_clients('reader')) AS bigint[])));
CREATE POLICY tenant_write ON backout.reversed_billing_record USING (
    (SELECT backout.entitled_to_all('operator')) OR client_id = ANY (CAST((SELECT backout.entitled_clients('operator')) AS bigint[])));
REVOKE ALL ON backout.reversed_invoice, backout.reversed_billing_record, backout.reversed_invoices FROM PUBLIC;
GRANT SELECT ON backout.reversed_invoice, backout.reversed_billing_record, backout.reversed_invoices TO backout_reader;
SELECT pg_catalog.pg_extension_config_dump('backout.reversed_invoice', '');
SELECT pg_catalog.pg_extension_config_dump('backout.reversed_billing_record', '');

-- undo_batch_id_idx is no longer unique (as backout_batch_id_idx): the key is (client_id, undo_batch_id)
DROP INDEX backout.undo_batch_id_idx;
CREATE INDEX undo_batch_id_idx ON backout.undo_batch (undo_batch_id);

-- discard_usage gains dry_run: the old signature goes, the new one comes with the functions below.
DROP FUNCTION backout.discard_usage(bigint, bigint[], text[], bigint, text, text, jsonb);

-- The new functions, as pgrx generates them.
/* <begin connected objects> */
-- src/aria_core.rs:434
-- pg_backout::aria_core::discard_usage
CREATE  FUNCTION "discard_usage"(
	"client_no" bigint, /* Option < i64 > */
	"usage_record_no" bigint[] DEFAULT NULL, /* Option < Dimensioned < i64 > > */
	"client_record_id" text[] DEFAULT NULL, /* Option < Dimensioned < String > > */
	"exclusion_reason_cd" bigint DEFAULT NULL, /* Option < i64 > */
	"exclusion_comment" TEXT DEFAULT NULL, /* Option < & str > */
	"alt_caller_id" TEXT DEFAULT NULL, /* Option < & str > */
	"optional_transaction_qualifiers" jsonb DEFAULT NULL, /* Option < RawJsonb > */
	"dry_run" bool DEFAULT false /* Option < bool > */
) RETURNS TABLE (
	"error_code" bigint,  /* i64 */
	"error_msg" TEXT,  /* String */
	"failed_records" jsonb  /* Option < JsonB > */
)
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'discard_usage_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- src/undo.rs:282
-- pg_backout::undo::preview_undo_job_schedule
CREATE  FUNCTION "preview_undo_job_schedule"(
	"billing_date" TEXT, /* Option < & str > */
	"client_id" bigint, /* Option < i64 > */
	"discard_usage" bool DEFAULT false /* Option < bool > */
) RETURNS TABLE (
	"billing_batch_id" bigint,  /* i64 */
	"invoices" bigint,  /* i64 */
	"accounts" bigint,  /* i64 */
	"invoice_amount" NUMERIC,  /* AnyNumeric */
	"billing_records" bigint,  /* i64 */
	"usage_records" bigint,  /* i64 */
	"usage_units" NUMERIC,  /* AnyNumeric */
	"usage_amount" NUMERIC,  /* AnyNumeric */
	"usage_files" TEXT[],  /* Vec < String > */
	"job_schedules_to_delete" bigint,  /* i64 */
	"action" TEXT  /* String */
)
STABLE PARALLEL RESTRICTED
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'preview_undo_job_schedule_wrapper';
/* </end connected objects> */

REVOKE ALL ON FUNCTION backout.discard_usage(bigint, bigint[], text[], bigint, text, text, jsonb, boolean),
    backout.preview_undo_job_schedule(text, bigint, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION backout.preview_undo_job_schedule(text, bigint, boolean) TO backout_reader;
GRANT EXECUTE ON FUNCTION backout.discard_usage(bigint, bigint[], text[], bigint, text, text, jsonb, boolean)
    TO backout_operator;

-- What every object is (\d+, \df+): the COMMENTs of sql/schema.sql, sql/batches.sql and sql/privileges.sql
COMMENT ON TABLE backout.client IS
    'A tenant: one row per billing client, inserted by operators with plain INSERT; every other row of the '
    'schema belongs to one client_id. Its insert also creates the client''s lock row (trigger '
    'create_client_lock_row).';
COMMENT ON COLUMN backout.client.client_id IS
    'Client number (> 0), given by whoever inserts the client; the first column of every key in the schema.';
COMMENT ON COLUMN backout.client.name IS 'Client name, free text, not empty.';
COMMENT ON COLUMN backout.client.retain_voided_usage IS
    'true: usage events voided or overwritten from now on are kept in voided_usage_event; false (default): '
    'they are deleted without a copy. Read at voiding time.';
COMMENT ON COLUMN backout.client.created_at IS 'When the client row was inserted.';
COMMENT ON TABLE backout.account IS
    'A billing account of a client: master data inserted by operators with plain INSERT, named by usage, '
    'prices, commitments, billing profile and invoices.';
COMMENT ON COLUMN backout.account.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.account.acct_no IS
    'Account number (> 0), unique within the client, given by whoever inserts the account.';
COMMENT ON COLUMN backout.account.client_acct_id IS
    'The client''s own identifier of the account (1 to 50 characters, unique per client), optional; usage '
    'records may name the account by it, usage events always do (service_resource_identifier).';
COMMENT ON COLUMN backout.account.created_at IS 'When the account row was inserted.';
COMMENT ON TABLE backout.billing_profile IS
    'The billing pointers of an account: its open period is [last_bill_date, next_bill_date). Inserted by '
    'operators; run_billing bills the accounts whose next_bill_date is the billing date and moves their '
    'pointers one month on, an undo or backout with undo_billing moves them back.';
COMMENT ON COLUMN backout.billing_profile.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.billing_profile.acct_no IS 'The account (one profile per account).';
COMMENT ON COLUMN backout.billing_profile.last_bill_date IS
    'Start of the open billing period (inclusive): the previous bill date.';
COMMENT ON COLUMN backout.billing_profile.next_bill_date IS
    'End of the open billing period (exclusive): the date the account is billed on next.';
COMMENT ON COLUMN backout.billing_profile.bill_day IS
    'Anniversary day of month (1 to 31) the pointers advance to, so that a month-end anniversary does not '
    'drift; NULL: the day of next_bill_date.';
COMMENT ON TABLE backout.usage_type IS
    'A kind of usage the client rates and bills (calls, messages, data, ...): master data inserted by '
    'operators. Usage records and events name it by usage_type_code.';
COMMENT ON COLUMN backout.usage_type.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.usage_type.usage_type_no IS 'Usage type number (> 0), unique within the client.';
COMMENT ON COLUMN backout.usage_type.usage_type_code IS
    'Code by which usage records name the type (1 to 30 characters, unique per client).';
COMMENT ON COLUMN backout.usage_type.name IS 'Display name of the usage type.';
COMMENT ON COLUMN backout.usage_type.unit IS
    'Unit of measure of its units (e.g. minute); a usage event''s usage_uom, when given, must equal it.';
COMMENT ON TABLE backout.price_offer IS
    'Unit prices of usage types, inserted by operators: standard (acct_no NULL, client-wide) or custom (one '
    'account), each from effective_from on. The price in force on a day (function price_offer_in_force) is '
    'the account''s custom price if any, else the standard one, the latest effective_from on or before that '
    'day; ingest, true-ups and reset_lines rate with it.';
COMMENT ON COLUMN backout.price_offer.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.price_offer.price_offer_id IS
    'Price offer id (identity); usage_txn.price_offer_id names the offer that rated a record.';
COMMENT ON COLUMN backout.price_offer.usage_type_no IS 'The usage type priced.';
COMMENT ON COLUMN backout.price_offer.acct_no IS
    'NULL: the standard price for every account of the client; else a custom price for this account only.';
COMMENT ON COLUMN backout.price_offer.unit_price IS
    'Price per unit of the usage type (>= 0); a record''s amount is units x unit_price, not rounded.';
COMMENT ON COLUMN backout.price_offer.effective_from IS
    'First day the price applies; default -infinity (always). One price per (usage type, account, '
    'effective_from).';
COMMENT ON TABLE backout.commitment_contract IS
    'A usage commitment of an account for the period [period_start, period_end), inserted by operators; an '
    'account''s periods never overlap. The billing run whose billed period contains period_end writes a '
    'TRUE_UP line for the shortfall.';
COMMENT ON COLUMN backout.commitment_contract.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.commitment_contract.acct_no IS 'The committed account.';
COMMENT ON COLUMN backout.commitment_contract.period_start IS
    'First day of the commitment period (inclusive).';
COMMENT ON COLUMN backout.commitment_contract.period_end IS 'End of the commitment period (exclusive).';
COMMENT ON COLUMN backout.commitment_contract.kind IS
    'AMOUNT: a minimum total usage charge over every usage type; QUANTITY: a minimum number of units of '
    'usage_type_no.';
COMMENT ON COLUMN backout.commitment_contract.commitment_value IS
    'The committed minimum (>= 0): an amount for AMOUNT, a number of units for QUANTITY.';
COMMENT ON COLUMN backout.commitment_contract.usage_type_no IS
    'QUANTITY: the usage type whose units count (required); NULL for AMOUNT.';
COMMENT ON TABLE backout.usage_file IS
    'One row per usage file processed for a client (process_usage_file, process_staged_usage_file): its '
    'counts and totals. While it exists the file name is a duplicate; a backout, or an undo with '
    'discard_usage, deletes it so that the file can be processed again.';
COMMENT ON COLUMN backout.usage_file.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.usage_file.file_name IS
    'The file name as given at ingest (exact, case-sensitive, at most 255 characters).';
COMMENT ON COLUMN backout.usage_file.records_received IS 'Records in the file as received.';
COMMENT ON COLUMN backout.usage_file.records_processed IS
    'Records rated and added to usage_txn by this processing.';
COMMENT ON COLUMN backout.usage_file.records_skipped IS
    'Records skipped because their record key was already in usage_txn (a file processed again after part of '
    'it was removed).';
COMMENT ON COLUMN backout.usage_file.total_units IS 'Sum of the units of the records added.';
COMMENT ON COLUMN backout.usage_file.total_amount IS
    'Sum of the amounts (units x unit price) of the records added.';
COMMENT ON COLUMN backout.usage_file.processed_by IS 'Session user that processed the file.';
COMMENT ON COLUMN backout.usage_file.processed_at IS 'When the file was processed.';
COMMENT ON TABLE backout.usage_txn IS
    'Rated usage: one row per usage record, from a usage file, the staging table or a usage event; txn_id is '
    'the usage record number. Written by ingest and post_usage_events (operators may also write it '
    'directly), marked billed by run_billing, flagged by discard_usage, deleted by backouts, voids and undo '
    'with discard_usage. Read by get_usage_history and query_lines.';
COMMENT ON COLUMN backout.usage_txn.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.usage_txn.txn_id IS
    'Usage record number (usage_record_no, a usage event''s id, BillRun''s stamp), from sequence '
    'usage_txn_txn_id_seq.';
COMMENT ON COLUMN backout.usage_txn.acct_no IS 'The account the usage belongs to.';
COMMENT ON COLUMN backout.usage_txn.usage_type_no IS 'The usage type of the record.';
COMMENT ON COLUMN backout.usage_txn.usage_date IS
    'When the usage happened (timestamp without time zone, as given); decides the billing period, the price '
    'day and the commitment period.';
COMMENT ON COLUMN backout.usage_txn.units IS 'Quantity used, in the usage type''s unit (>= 0).';
COMMENT ON COLUMN backout.usage_txn.unit_price IS
    'Price per unit the record was rated with (at ingest, or again by reset_lines).';
COMMENT ON COLUMN backout.usage_txn.amount IS 'Charge of the record: units x unit_price, exact (>= 0).';
COMMENT ON COLUMN backout.usage_txn.price_offer_id IS
    'The price_offer that rated the record; NULL when written without one (direct DML).';
COMMENT ON COLUMN backout.usage_txn.file_name IS
    'The usage file the record came from; NULL for usage events.';
COMMENT ON COLUMN backout.usage_txn.record_key IS
    'Key of the record within its file: its record_id, else its 1-based position; NULL exactly when '
    'file_name is NULL. Unique per (client, file): what makes re-processing a file add only missing records.';
COMMENT ON COLUMN backout.usage_txn.client_record_id IS
    'The client''s own record id (up to 100 characters), optional; discard_usage and get_usage_history can '
    'select by it.';
COMMENT ON COLUMN backout.usage_txn.qualifier_1 IS
    'Free qualifier 1 of the record (up to 300 characters), optional; a get_usage_history filter.';
COMMENT ON COLUMN backout.usage_txn.qualifier_2 IS
    'Free qualifier 2 of the record (up to 300 characters), optional; a get_usage_history filter.';
COMMENT ON COLUMN backout.usage_txn.qualifier_3 IS
    'Free qualifier 3 of the record (up to 300 characters), optional; a get_usage_history filter.';
COMMENT ON COLUMN backout.usage_txn.qualifier_4 IS
    'Free qualifier 4 of the record (up to 300 characters), optional; a get_usage_history filter.';
COMMENT ON COLUMN backout.usage_txn.reference_id IS
    'Usage event: its reference_id, which with sequence_id is unique among the client''s live events; NULL '
    'for file records.';
COMMENT ON COLUMN backout.usage_txn.sequence_id IS
    'Usage event: its sequence_id (pairs with reference_id); NULL for file records.';
COMMENT ON COLUMN backout.usage_txn.billing_batch_id IS
    'The billing run that billed the record; NULL: unbilled. Set and cleared together with invoice_no, only '
    'by billing and its reversal.';
COMMENT ON COLUMN backout.usage_txn.invoice_no IS
    'The invoice the record was billed on; NULL: unbilled. No foreign key, on purpose.';
COMMENT ON COLUMN backout.usage_txn.is_excluded IS
    'true: discarded by discard_usage: kept for audit, out of the balances, never billed.';
COMMENT ON COLUMN backout.usage_txn.exclude_reason_cd IS
    'Discard: the exclusion_reason_cd given (0 to 9999); NULL when not discarded or none given.';
COMMENT ON COLUMN backout.usage_txn.exclusion_comment IS
    'Discard: the exclusion_comment given (up to 300 characters); NULL when none.';
COMMENT ON COLUMN backout.usage_txn.excluded_by IS
    'Discard: who discarded it (alt_caller_id, else the session user); NULL when not discarded.';
COMMENT ON COLUMN backout.usage_txn.excluded_at IS 'Discard: when it was discarded; NULL when not discarded.';
COMMENT ON COLUMN backout.usage_txn.created_at IS
    'When the record was inserted (for a usage event: when it was posted).';
COMMENT ON COLUMN backout.usage_txn.exclusion_qualifiers IS
    'Discard: the call''s optional_transaction_qualifiers (array of {qualifier_name, qualifier_value}); NULL '
    'when none.';
COMMENT ON COLUMN backout.usage_txn.overwrite_counter IS
    'Usage event: how many earlier events of its (reference_id, sequence_id) pair it replaced by '
    'OVERWRITE_ON_EXISTING (0 for a first post); NULL for file records.';
COMMENT ON COLUMN backout.usage_txn.sid IS
    'Subscriber id (BillRun''s sid), optional on file records, staged rows and events; NULL when not given.';
COMMENT ON TABLE backout.usage_day_count IS
    'Derived: how many usage_txn records each account has per day, usage type, billed and excluded state, '
    'kept exact by the statement triggers on usage_txn (count_usage_by_day), whoever writes usage_txn; '
    'get_usage_history counts and pages from it. Readers may select it, nobody writes it; not dumped by '
    'pg_dump. Admins check and fix drift with check_usage_day_counts and rebuild_usage_day_counts.';
COMMENT ON COLUMN backout.usage_day_count.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.usage_day_count.acct_no IS 'The account.';
COMMENT ON COLUMN backout.usage_day_count.usage_day IS
    'The day of the records (usage_txn.usage_date cast to date).';
COMMENT ON COLUMN backout.usage_day_count.usage_type_no IS 'The usage type of the records.';
COMMENT ON COLUMN backout.usage_day_count.billed IS 'true: the records are billed (invoice_no set).';
COMMENT ON COLUMN backout.usage_day_count.is_excluded IS
    'true: the records are discarded (usage_txn.is_excluded).';
COMMENT ON COLUMN backout.usage_day_count.records IS
    'Number of usage_txn records with this key; 0 once they have all gone (the row stays).';
COMMENT ON TABLE backout.usage_staging IS
    'Input of the bulk ingest path: operators COPY a file''s records here (every value as text), then call '
    'process_staged_usage_file(client_id, file_name). A file''s rows are deleted once ingested and kept for '
    'correction when the file is rejected. Unlogged: its rows are lost in a crash.';
COMMENT ON COLUMN backout.usage_staging.client_id IS 'The client the staged file belongs to.';
COMMENT ON COLUMN backout.usage_staging.file_name IS 'The name the staged file is ingested under.';
COMMENT ON COLUMN backout.usage_staging.staging_id IS
    'Row id (identity, always generated): the COPY order, which numbers the file''s records.';
COMMENT ON COLUMN backout.usage_staging.record_id IS
    'Key of the record within the file (1 to 100 characters), optional; NULL: its position.';
COMMENT ON COLUMN backout.usage_staging.acct_no IS
    'Account number as digits; give it or client_acct_id (both: they must name the same account).';
COMMENT ON COLUMN backout.usage_staging.client_acct_id IS
    'The account''s client_acct_id; give it or acct_no.';
COMMENT ON COLUMN backout.usage_staging.usage_type_code IS 'Code of the usage type (required).';
COMMENT ON COLUMN backout.usage_staging.usage_date IS 'Usage time, exactly YYYY-MM-DD HH:mm:ss (required).';
COMMENT ON COLUMN backout.usage_staging.units IS 'Quantity, a non-negative number (required).';
COMMENT ON COLUMN backout.usage_staging.client_record_id IS
    'The client''s own record id, up to 100 characters (optional).';
COMMENT ON COLUMN backout.usage_staging.qualifier_1 IS 'Qualifier 1, up to 300 characters (optional).';
COMMENT ON COLUMN backout.usage_staging.qualifier_2 IS 'Qualifier 2, up to 300 characters (optional).';
COMMENT ON COLUMN backout.usage_staging.qualifier_3 IS 'Qualifier 3, up to 300 characters (optional).';
COMMENT ON COLUMN backout.usage_staging.qualifier_4 IS 'Qualifier 4, up to 300 characters (optional).';
COMMENT ON COLUMN backout.usage_staging.sid IS 'Subscriber id as digits (optional).';
COMMENT ON TABLE backout.commitment_balance IS
    'Balance bucket of a commitment contract period: the usage consumed so far and the true-up billed. '
    'consumed_* are kept by every writer of usage (ingest, events, discard, void, backout, undo, '
    'reset_lines); true_up_* are set by the billing run that closes the period, which snapshots the previous '
    'values in billing_balance_snapshot. Created by the first usage of the period, or by the true-up of a '
    'period no usage reached.';
COMMENT ON COLUMN backout.commitment_balance.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.commitment_balance.acct_no IS 'The account of the contract.';
COMMENT ON COLUMN backout.commitment_balance.period_start IS
    'Start of the contract period (with acct_no, the contract''s key).';
COMMENT ON COLUMN backout.commitment_balance.consumed_amount IS
    'Sum of the amounts of the non-discarded usage counted in the period (every usage type for AMOUNT, the '
    'contract''s own type for QUANTITY).';
COMMENT ON COLUMN backout.commitment_balance.consumed_units IS 'Sum of the units of that usage.';
COMMENT ON COLUMN backout.commitment_balance.true_up_amount IS
    'Amount of the TRUE_UP line billed for the period; NULL: not trued up.';
COMMENT ON COLUMN backout.commitment_balance.true_up_batch_id IS
    'The billing run that billed the true-up; NULL: not trued up.';
COMMENT ON COLUMN backout.commitment_balance.updated_at IS 'When the bucket last changed.';
COMMENT ON TABLE backout.billing_batch IS
    'One billing run (run_billing) of a client and billing date, with its totals. Written by run_billing; a '
    'run reversed by an undo or a backout with undo_billing stays as history with status UNDONE.';
COMMENT ON COLUMN backout.billing_batch.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.billing_batch.billing_batch_id IS 'Billing run id (identity).';
COMMENT ON COLUMN backout.billing_batch.billing_date IS
    'The billing date: the accounts whose next_bill_date was this day were billed.';
COMMENT ON COLUMN backout.billing_batch.status IS
    'PROCESSING while the run''s transaction is open, COMPLETED once billed, UNDONE once reversed (ERROR is '
    'allowed but not written by the extension).';
COMMENT ON COLUMN backout.billing_batch.accounts_billed IS 'Accounts billed (invoices written).';
COMMENT ON COLUMN backout.billing_batch.records_written IS 'Billing records (invoice lines) written.';
COMMENT ON COLUMN backout.billing_batch.total_amount IS 'Sum of the totals of its invoices.';
COMMENT ON COLUMN backout.billing_batch.created_by IS 'Session user that ran the billing.';
COMMENT ON COLUMN backout.billing_batch.created_at IS 'When the run started.';
COMMENT ON COLUMN backout.billing_batch.completed_at IS 'When the run completed; NULL while PROCESSING.';
COMMENT ON TABLE backout.invoice IS
    'One invoice per billed account and billing run, with its totals. Written by run_billing, deleted by an '
    'undo or a backout with undo_billing. Its period is the account''s billing pointers before the run, '
    'which is what a reversal puts back.';
COMMENT ON COLUMN backout.invoice.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.invoice.invoice_no IS 'Invoice number (identity).';
COMMENT ON COLUMN backout.invoice.billing_batch_id IS 'The billing run that wrote the invoice.';
COMMENT ON COLUMN backout.invoice.acct_no IS 'The billed account.';
COMMENT ON COLUMN backout.invoice.period_start IS
    'Start of the billed period (inclusive): the account''s last_bill_date before the run.';
COMMENT ON COLUMN backout.invoice.period_end IS
    'End of the billed period (exclusive): the account''s next_bill_date before the run, i.e. the billing '
    'date.';
COMMENT ON COLUMN backout.invoice.usage_amount IS 'Sum of its USAGE_CHARGE lines.';
COMMENT ON COLUMN backout.invoice.true_up_amount IS 'Sum of its TRUE_UP lines.';
COMMENT ON COLUMN backout.invoice.total_amount IS 'usage_amount + true_up_amount.';
COMMENT ON TABLE backout.billing_record IS
    'Invoice lines written by run_billing: a USAGE_CHARGE per (account, usage type) for the period''s '
    'unbilled, non-discarded usage, and a TRUE_UP per commitment period the run closes (written even when '
    '0). Deleted by an undo or a backout with undo_billing (a copy is kept in reversed_billing_record).';
COMMENT ON COLUMN backout.billing_record.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.billing_record.billing_record_id IS 'Line id (identity).';
COMMENT ON COLUMN backout.billing_record.billing_batch_id IS 'The billing run that wrote the line.';
COMMENT ON COLUMN backout.billing_record.invoice_no IS 'The invoice the line belongs to.';
COMMENT ON COLUMN backout.billing_record.acct_no IS 'The billed account.';
COMMENT ON COLUMN backout.billing_record.record_type IS
    'USAGE_CHARGE (the usage of one usage type) or TRUE_UP (a commitment shortfall).';
COMMENT ON COLUMN backout.billing_record.usage_type_no IS
    'USAGE_CHARGE: the usage type billed; TRUE_UP: the QUANTITY contract''s usage type, NULL for AMOUNT.';
COMMENT ON COLUMN backout.billing_record.usage_records IS
    'USAGE_CHARGE: number of usage records billed; 0 for TRUE_UP.';
COMMENT ON COLUMN backout.billing_record.units IS
    'USAGE_CHARGE: units billed; TRUE_UP: the unit shortfall of a QUANTITY commitment, 0 for AMOUNT.';
COMMENT ON COLUMN backout.billing_record.unit_price IS
    'TRUE_UP of a QUANTITY commitment: the price in force on the contract''s last day, which values the '
    'shortfall; NULL otherwise.';
COMMENT ON COLUMN backout.billing_record.amount IS 'Amount of the line (>= 0).';
COMMENT ON COLUMN backout.billing_record.period_start IS 'Start of the invoice''s billed period (inclusive).';
COMMENT ON COLUMN backout.billing_record.period_end IS 'End of the invoice''s billed period (exclusive).';
COMMENT ON COLUMN backout.billing_record.commitment_period_start IS
    'TRUE_UP: start of the commitment period trued up; NULL for USAGE_CHARGE.';
COMMENT ON COLUMN backout.billing_record.commitment_kind IS
    'TRUE_UP: the contract''s kind, AMOUNT or QUANTITY; NULL for USAGE_CHARGE.';
COMMENT ON COLUMN backout.billing_record.commitment_value IS
    'TRUE_UP: the committed minimum; NULL for USAGE_CHARGE.';
COMMENT ON COLUMN backout.billing_record.consumed IS
    'TRUE_UP: the billed consumption of the commitment period (an amount for AMOUNT, units for QUANTITY); '
    'NULL for USAGE_CHARGE.';
COMMENT ON COLUMN backout.billing_record.created_at IS 'When the line was written.';
COMMENT ON TABLE backout.reversed_invoice IS
    'An invoice deleted by an undo or a backout with undo_billing, kept as it was billed, with who reversed it, '
    'when and by which batch. Written only by the extension (as its owner) in the reversing batch''s transaction; '
    'read through reversed_invoices.';
COMMENT ON COLUMN backout.reversed_invoice.client_id IS
    'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.reversed_invoice.invoice_no IS
    'Invoice number (identity).';
COMMENT ON COLUMN backout.reversed_invoice.billing_batch_id IS
    'The billing run that wrote the invoice.';
COMMENT ON COLUMN backout.reversed_invoice.acct_no IS
    'The billed account.';
COMMENT ON COLUMN backout.reversed_invoice.period_start IS
    'Start of the billed period (inclusive): the account''s last_bill_date before the run.';
COMMENT ON COLUMN backout.reversed_invoice.period_end IS
    'End of the billed period (exclusive): the account''s next_bill_date before the run, i.e. the billing '
    'date.';
COMMENT ON COLUMN backout.reversed_invoice.usage_amount IS
    'Sum of its USAGE_CHARGE lines.';
COMMENT ON COLUMN backout.reversed_invoice.true_up_amount IS
    'Sum of its TRUE_UP lines.';
COMMENT ON COLUMN backout.reversed_invoice.total_amount IS
    'usage_amount + true_up_amount.';
COMMENT ON COLUMN backout.reversed_invoice.reversal_kind IS
    'How the invoice was reversed: undo (undo_job_schedule) or backout (backout_usage_file_transactions with undo_billing).';
COMMENT ON COLUMN backout.reversed_invoice.reversal_batch_id IS
    'The undo_batch or backout_batch that reversed it.';
COMMENT ON COLUMN backout.reversed_invoice.reversed_by IS
    'Who asked for the reversal: the batch''s user_id, else the session user that submitted it.';
COMMENT ON COLUMN backout.reversed_invoice.reversed_at IS
    'When the reversing batch ran (its transaction''s start); prune_audit removes rows older than its cutoff.';
COMMENT ON TABLE backout.reversed_billing_record IS
    'The lines of a reversed invoice (see reversed_invoice), kept as they were billed; TRUE_UP lines carry '
    'the commitment balance the invoice consumed.';
COMMENT ON COLUMN backout.reversed_billing_record.client_id IS
    'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.reversed_billing_record.invoice_no IS
    'The invoice the line belongs to.';
COMMENT ON COLUMN backout.reversed_billing_record.billing_record_id IS
    'Line id (identity).';
COMMENT ON COLUMN backout.reversed_billing_record.billing_batch_id IS
    'The billing run that wrote the line.';
COMMENT ON COLUMN backout.reversed_billing_record.acct_no IS
    'The billed account.';
COMMENT ON COLUMN backout.reversed_billing_record.record_type IS
    'USAGE_CHARGE (the usage of one usage type) or TRUE_UP (a commitment shortfall).';
COMMENT ON COLUMN backout.reversed_billing_record.usage_type_no IS
    'USAGE_CHARGE: the usage type billed; TRUE_UP: the QUANTITY contract''s usage type, NULL for AMOUNT.';
COMMENT ON COLUMN backout.reversed_billing_record.usage_records IS
    'USAGE_CHARGE: number of usage records billed; 0 for TRUE_UP.';
COMMENT ON COLUMN backout.reversed_billing_record.units IS
    'USAGE_CHARGE: units billed; TRUE_UP: the unit shortfall of a QUANTITY commitment, 0 for AMOUNT.';
COMMENT ON COLUMN backout.reversed_billing_record.unit_price IS
    'TRUE_UP of a QUANTITY commitment: the price in force on the contract''s last day, which values the '
    'shortfall; NULL otherwise.';
COMMENT ON COLUMN backout.reversed_billing_record.amount IS
    'Amount of the line (>= 0).';
COMMENT ON COLUMN backout.reversed_billing_record.period_start IS
    'Start of the invoice''s billed period (inclusive).';
COMMENT ON COLUMN backout.reversed_billing_record.period_end IS
    'End of the invoice''s billed period (exclusive).';
COMMENT ON COLUMN backout.reversed_billing_record.commitment_period_start IS
    'TRUE_UP: start of the commitment period trued up; NULL for USAGE_CHARGE.';
COMMENT ON COLUMN backout.reversed_billing_record.commitment_kind IS
    'TRUE_UP: the contract''s kind, AMOUNT or QUANTITY; NULL for USAGE_CHARGE.';
COMMENT ON COLUMN backout.reversed_billing_record.commitment_value IS
    'TRUE_UP: the committed minimum; NULL for USAGE_CHARGE.';
COMMENT ON COLUMN backout.reversed_billing_record.consumed IS
    'TRUE_UP: the billed consumption of the commitment period (an amount for AMOUNT, units for QUANTITY); '
    'NULL for USAGE_CHARGE.';
COMMENT ON COLUMN backout.reversed_billing_record.created_at IS
    'When the line was written.';
COMMENT ON COLUMN backout.reversed_billing_record.reversal_batch_id IS
    'The undo_batch or backout_batch that reversed it.';
COMMENT ON COLUMN backout.reversed_billing_record.reversed_at IS
    'When the reversing batch ran (its transaction''s start); prune_audit removes rows older than its cutoff.';
COMMENT ON VIEW backout.reversed_invoices IS
    'Reversed invoices, one row per invoice with its lines as jsonb: what had been billed and who reversed it. '
    'Row-level security of both tables applies (security_invoker).';
COMMENT ON COLUMN backout.reversed_invoices.client_id IS
    'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.reversed_invoices.invoice_no IS
    'Invoice number (identity).';
COMMENT ON COLUMN backout.reversed_invoices.billing_batch_id IS
    'The billing run that wrote the invoice.';
COMMENT ON COLUMN backout.reversed_invoices.acct_no IS
    'The billed account.';
COMMENT ON COLUMN backout.reversed_invoices.period_start IS
    'Start of the billed period (inclusive): the account''s last_bill_date before the run.';
COMMENT ON COLUMN backout.reversed_invoices.period_end IS
    'End of the billed period (exclusive): the account''s next_bill_date before the run, i.e. the billing '
    'date.';
COMMENT ON COLUMN backout.reversed_invoices.usage_amount IS
    'Sum of its USAGE_CHARGE lines.';
COMMENT ON COLUMN backout.reversed_invoices.true_up_amount IS
    'Sum of its TRUE_UP lines.';
COMMENT ON COLUMN backout.reversed_invoices.total_amount IS
    'usage_amount + true_up_amount.';
COMMENT ON COLUMN backout.reversed_invoices.reversal_kind IS
    'How the invoice was reversed: undo (undo_job_schedule) or backout (backout_usage_file_transactions with undo_billing).';
COMMENT ON COLUMN backout.reversed_invoices.reversal_batch_id IS
    'The undo_batch or backout_batch that reversed it.';
COMMENT ON COLUMN backout.reversed_invoices.reversed_by IS
    'Who asked for the reversal: the batch''s user_id, else the session user that submitted it.';
COMMENT ON COLUMN backout.reversed_invoices.reversed_at IS
    'When the reversing batch ran (its transaction''s start); prune_audit removes rows older than its cutoff.';
COMMENT ON COLUMN backout.reversed_invoices.lines IS
    'The invoice''s lines (reversed_billing_record rows without their key columns) as a jsonb array in line order.';
COMMENT ON TABLE backout.billing_balance_snapshot IS
    'What a billing run changed in commitment_balance, as it was before the run: one row per bucket the run '
    'trued up. Written by run_billing, read by an undo or backout with undo_billing to restore the bucket '
    'exactly.';
COMMENT ON COLUMN backout.billing_balance_snapshot.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.billing_balance_snapshot.billing_batch_id IS
    'The billing run that changed the bucket.';
COMMENT ON COLUMN backout.billing_balance_snapshot.acct_no IS 'The bucket''s account.';
COMMENT ON COLUMN backout.billing_balance_snapshot.period_start IS 'The bucket''s contract period start.';
COMMENT ON COLUMN backout.billing_balance_snapshot.balance_existed IS
    'false: the run created the bucket (a reversal removes it unless usage has reached it since).';
COMMENT ON COLUMN backout.billing_balance_snapshot.true_up_amount IS
    'The bucket''s true_up_amount before the run; NULL: none.';
COMMENT ON COLUMN backout.billing_balance_snapshot.true_up_batch_id IS
    'The bucket''s true_up_batch_id before the run; NULL: none.';
COMMENT ON TABLE backout.job_schedule IS
    'A scheduled job of a client and date; run_billing writes one BILLING job per billing date, and its '
    'presence refuses a second run of that date (ALREADY_SCHEDULED). Deleted, with its items and list '
    'entries, by an undo, a backout with undo_billing or clear_job_schedule.';
COMMENT ON COLUMN backout.job_schedule.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.job_schedule.job_schedule_id IS 'Job id (identity).';
COMMENT ON COLUMN backout.job_schedule.schedule_date IS
    'The scheduled date, at midnight; one job of a type per client and date.';
COMMENT ON COLUMN backout.job_schedule.job_type IS 'Kind of job; run_billing writes BILLING.';
COMMENT ON COLUMN backout.job_schedule.status IS
    'SCHEDULED, RUNNING, COMPLETED or ERROR. A RUNNING job makes clear_job_schedule refuse (JOB_RUNNING).';
COMMENT ON COLUMN backout.job_schedule.billing_batch_id IS
    'The billing run of the job; NULL for a job without one.';
COMMENT ON COLUMN backout.job_schedule.created_by IS 'Session user that created the job.';
COMMENT ON COLUMN backout.job_schedule.created_at IS 'When the job was created.';
COMMENT ON COLUMN backout.job_schedule.updated_at IS 'When the job last changed.';
COMMENT ON TABLE backout.job_schedule_item IS
    'A work item of a job schedule; run_billing writes one BILL_ACCOUNTS item per run. Deleted with its job '
    '(cascade).';
COMMENT ON COLUMN backout.job_schedule_item.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.job_schedule_item.job_schedule_item_id IS 'Item id (identity).';
COMMENT ON COLUMN backout.job_schedule_item.job_schedule_id IS 'The job the item belongs to.';
COMMENT ON COLUMN backout.job_schedule_item.item_type IS 'Kind of item; run_billing writes BILL_ACCOUNTS.';
COMMENT ON COLUMN backout.job_schedule_item.status IS 'SCHEDULED, RUNNING, COMPLETED or ERROR.';
COMMENT ON COLUMN backout.job_schedule_item.work_units IS
    'Number of work units of the item (for billing: accounts billed).';
COMMENT ON TABLE backout.job_schedule_list IS
    'The per-account work units of a job item: run_billing writes one per billed account, its invoice in '
    'payload. Deleted with its item (cascade).';
COMMENT ON COLUMN backout.job_schedule_list.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.job_schedule_list.job_schedule_list_id IS 'Work unit id (identity).';
COMMENT ON COLUMN backout.job_schedule_list.job_schedule_item_id IS 'The item the work unit belongs to.';
COMMENT ON COLUMN backout.job_schedule_list.acct_no IS 'The account of the work unit.';
COMMENT ON COLUMN backout.job_schedule_list.status IS 'SCHEDULED, RUNNING, COMPLETED or ERROR.';
COMMENT ON COLUMN backout.job_schedule_list.payload IS
    'The work unit''s data; for billing: acct_no, invoice_no, billing_batch_id, period_start, period_end, '
    'usage_amount, true_up_amount, total_amount.';
COMMENT ON TABLE backout.lock_row IS
    'Rows the operations lock instead of advisory locks: one per client (lock_kind client), per client and '
    'file (file) and per retried backout id (backout_batch), created on first use. Holds no data: readable '
    'and lockable by the extension''s owner only, not dumped.';
COMMENT ON COLUMN backout.lock_row.client_id IS 'The client the lock belongs to.';
COMMENT ON COLUMN backout.lock_row.lock_kind IS 'client, file or backout_batch.';
COMMENT ON COLUMN backout.lock_row.lock_name IS
    'Empty for client; the file name for file; the batch id for backout_batch.';
COMMENT ON TABLE backout.undo_batch IS
    'One row per undo_job_schedule request, rejected ones included (when the caller operates on an existing '
    'client): the request, its status and counts, and the batch engine''s bookkeeping. Written by the '
    'extension only; read by get_undo_job_schedule_status and backout.operations; pruned by prune_audit.';
COMMENT ON COLUMN backout.undo_batch.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.undo_batch.undo_batch_id IS
    'The request''s id (the batch id), generated at submission.';
COMMENT ON COLUMN backout.undo_batch.billing_date IS
    'The billing date to undo; NULL when the requested date was not a date.';
COMMENT ON COLUMN backout.undo_batch.requested_billing_date IS
    'The billing_date argument as given (cut after 1,000 characters).';
COMMENT ON COLUMN backout.undo_batch.discard_usage IS
    'true: delete the usage the run billed (and its files'' usage_file rows); false: mark it unbilled.';
COMMENT ON COLUMN backout.undo_batch.user_id IS 'Who asked: the user_id given, else the session user.';
COMMENT ON COLUMN backout.undo_batch.status IS 'PROCESSING (queued or running), COMPLETED or ERROR.';
COMMENT ON COLUMN backout.undo_batch.total_count IS 'Billing records reversed.';
COMMENT ON COLUMN backout.undo_batch.billing_batches IS 'Billing runs undone.';
COMMENT ON COLUMN backout.undo_batch.accounts_reset IS 'Accounts whose billing pointers were rolled back.';
COMMENT ON COLUMN backout.undo_batch.usage_unbilled IS 'Usage records marked unbilled (discard_usage false).';
COMMENT ON COLUMN backout.undo_batch.usage_deleted IS 'Usage records deleted (discard_usage true).';
COMMENT ON COLUMN backout.undo_batch.cdr_stats_deleted IS 'usage_file rows deleted (discard_usage true).';
COMMENT ON COLUMN backout.undo_batch.error_code IS
    'Why it ended ERROR (INVALID_INPUT, NOT_FOUND, SYSTEM_ERROR, UNDO_IN_PROGRESS, BILLED_AGAIN, CANCELLED, '
    'NOT_ENTITLED, ...); NULL otherwise.';
COMMENT ON COLUMN backout.undo_batch.error_message IS 'The error in words; NULL when none.';
COMMENT ON COLUMN backout.undo_batch.create_date IS 'When the request was submitted.';
COMMENT ON COLUMN backout.undo_batch.start_date IS
    'When its last run started (claimed by a runner); NULL: not run yet.';
COMMENT ON COLUMN backout.undo_batch.update_date IS
    'When its status was last written: the finish time once it is no longer PROCESSING.';
COMMENT ON COLUMN backout.undo_batch.run_as IS
    'The role that submitted it: the batch runs with that role''s rights, checked again when it runs.';
COMMENT ON COLUMN backout.undo_batch.queue_seq IS
    'Submission order across every batch kind (sequence batch_queue_seq): a client''s batches run one at a '
    'time in this order.';
COMMENT ON COLUMN backout.undo_batch.run_attempts IS
    'Runs started so far, a run whose runner died included; at pg_backout.max_attempts the batch ends ERROR.';
COMMENT ON COLUMN backout.undo_batch.next_attempt_at IS
    'Not to be run before this time (the backoff of a retry after a transient failure); NULL: due at once.';
COMMENT ON COLUMN backout.undo_batch.last_error IS
    'Why the last attempt failed, while the batch is being retried; NULL otherwise.';
COMMENT ON COLUMN backout.undo_batch.error_sqlstate IS
    'SQLSTATE of the database error behind error_message or last_error; NULL when there was none.';
COMMENT ON COLUMN backout.undo_batch.runner_pid IS
    'Backend pid of the session running the batch now (join pg_stat_activity for its step); NULL when not '
    'running.';
COMMENT ON TABLE backout.backout_batch IS
    'One row per backout_usage_file_transactions request, rejected ones included (when the caller operates '
    'on an existing client); a retry under the same id overwrites its row. The request, its status and '
    'counts, and the batch engine''s bookkeeping. Written by the extension only; read by '
    'get_usage_file_txns_backout_status and backout.operations; pruned by prune_audit.';
COMMENT ON COLUMN backout.backout_batch.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.backout_batch.backout_batch_id IS
    'The request''s id: the backout_batch_id given (a retry), else generated at submission.';
COMMENT ON COLUMN backout.backout_batch.file_names IS
    'The file_names argument as given (cut after 1,000 characters).';
COMMENT ON COLUMN backout.backout_batch.file_list IS
    'The file names parsed: duplicates removed, in the order given; NULL when the list was rejected.';
COMMENT ON COLUMN backout.backout_batch.user_id IS
    'The user_id given (required; NULL only on a rejected request).';
COMMENT ON COLUMN backout.backout_batch.submitted_by IS 'Session user that submitted the request.';
COMMENT ON COLUMN backout.backout_batch.undo_billing IS
    'true: reverse the billing of billed records first; false: refuse billed usage (BILLED_USAGE).';
COMMENT ON COLUMN backout.backout_batch.status IS 'PROCESSING (queued or running), COMPLETED or ERROR.';
COMMENT ON COLUMN backout.backout_batch.transactions_deleted IS 'Usage records deleted.';
COMMENT ON COLUMN backout.backout_batch.cdr_stats_deleted IS 'usage_file rows deleted.';
COMMENT ON COLUMN backout.backout_batch.files_not_found IS
    'The named files the client had no usage or usage_file row for (skipped), comma-separated; NULL when '
    'every file was found.';
COMMENT ON COLUMN backout.backout_batch.billing_records_reversed IS
    'Billing records reversed (undo_billing).';
COMMENT ON COLUMN backout.backout_batch.accounts_reset IS
    'Accounts whose billing pointers were rolled back (undo_billing).';
COMMENT ON COLUMN backout.backout_batch.error_code IS
    'Why it ended ERROR (INVALID_INPUT, NOT_FOUND, BACKOUT_IN_PROGRESS, BILLED_USAGE, BILLED_AGAIN, '
    'CANCELLED, NOT_ENTITLED, ...); NULL otherwise.';
COMMENT ON COLUMN backout.backout_batch.error_message IS 'The error in words; NULL when none.';
COMMENT ON COLUMN backout.backout_batch.attempts IS
    'Submissions under this id (each retry overwrites the row and adds one).';
COMMENT ON COLUMN backout.backout_batch.create_date IS
    'When the request (its last submission) was submitted.';
COMMENT ON COLUMN backout.backout_batch.start_date IS
    'When its last run started (claimed by a runner); NULL: not run yet.';
COMMENT ON COLUMN backout.backout_batch.update_date IS
    'When its status was last written: the finish time once it is no longer PROCESSING.';
COMMENT ON COLUMN backout.backout_batch.run_as IS
    'The role that submitted it: the batch runs with that role''s rights, checked again when it runs.';
COMMENT ON COLUMN backout.backout_batch.queue_seq IS
    'Submission order across every batch kind (sequence batch_queue_seq): a client''s batches run one at a '
    'time in this order.';
COMMENT ON COLUMN backout.backout_batch.run_attempts IS
    'Runs started so far, a run whose runner died included; at pg_backout.max_attempts the batch ends ERROR.';
COMMENT ON COLUMN backout.backout_batch.next_attempt_at IS
    'Not to be run before this time (the backoff of a retry after a transient failure); NULL: due at once.';
COMMENT ON COLUMN backout.backout_batch.last_error IS
    'Why the last attempt failed, while the batch is being retried; NULL otherwise.';
COMMENT ON COLUMN backout.backout_batch.error_sqlstate IS
    'SQLSTATE of the database error behind error_message or last_error; NULL when there was none.';
COMMENT ON COLUMN backout.backout_batch.runner_pid IS
    'Backend pid of the session running the batch now (join pg_stat_activity for its step); NULL when not '
    'running.';
COMMENT ON TABLE backout.backout_file_claim IS
    'The files of backouts still PROCESSING, one row per client and file: the one-backout-per-file rule. '
    'Written by a backout''s submission, removed when it ends COMPLETED or ERROR; extension only.';
COMMENT ON COLUMN backout.backout_file_claim.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.backout_file_claim.file_name IS 'The claimed file name.';
COMMENT ON COLUMN backout.backout_file_claim.backout_batch_id IS
    'The PROCESSING backout that claims the file.';
COMMENT ON TABLE backout.batch_cancel IS
    'Cancellation requests (cancel_batch) of batches being run: the interrupted runner finds its request '
    'here and ends the batch ERROR / CANCELLED. Removed when the batch ends; extension only.';
COMMENT ON COLUMN backout.batch_cancel.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.batch_cancel.batch_id IS
    'The batch to cancel (an undo, backout or reset batch id).';
COMMENT ON COLUMN backout.batch_cancel.requested_by IS 'The role that called cancel_batch.';
COMMENT ON COLUMN backout.batch_cancel.requested_at IS 'When the cancel was requested.';
COMMENT ON TABLE backout.discard_request IS
    'One row per discard_usage call, refused ones included (when the caller operates on an existing client): '
    'who, what was asked, what was discarded and what failed. Written by the extension only; shown in '
    'backout.operations as discard; pruned by prune_audit.';
COMMENT ON COLUMN backout.discard_request.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.discard_request.discard_id IS
    'Call id (identity); the operation_id in backout.operations.';
COMMENT ON COLUMN backout.discard_request.requested_by IS 'Who asked: alt_caller_id, else the session user.';
COMMENT ON COLUMN backout.discard_request.role_name IS 'The role in effect (current_user) of the call.';
COMMENT ON COLUMN backout.discard_request.records_requested IS 'Records named by the call.';
COMMENT ON COLUMN backout.discard_request.records_discarded IS 'Records discarded.';
COMMENT ON COLUMN backout.discard_request.records_failed IS 'Records that could not be discarded.';
COMMENT ON COLUMN backout.discard_request.exclusion_reason_cd IS
    'The exclusion_reason_cd given; NULL when none.';
COMMENT ON COLUMN backout.discard_request.exclusion_comment IS 'The exclusion_comment given; NULL when none.';
COMMENT ON COLUMN backout.discard_request.qualifiers IS
    'The optional_transaction_qualifiers given; NULL when none.';
COMMENT ON COLUMN backout.discard_request.failed_records IS
    'The records that could not be discarded, each with record_error_code and record_error_msg (the first '
    '1,000); NULL when none.';
COMMENT ON COLUMN backout.discard_request.error_code IS
    'The answer''s error_code: 0 OK, 23001 some records failed, 1010 missing parameters, 1016 a bad '
    'argument.';
COMMENT ON COLUMN backout.discard_request.error_msg IS 'The answer''s error_msg.';
COMMENT ON COLUMN backout.discard_request.created_at IS 'When the call was made.';
COMMENT ON TABLE backout.usage_event_request IS
    'One row per post_usage_events or void_usage_events call that changed data or was refused whole (dry '
    'runs excepted): who, which mode, how many events were posted, overwritten, voided and erred. Written by '
    'the extension only; shown in backout.operations as post or void; pruned by prune_audit.';
COMMENT ON COLUMN backout.usage_event_request.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.usage_event_request.request_id IS
    'The call''s id: the request_id of the events it rated, and of the voided copies it kept.';
COMMENT ON COLUMN backout.usage_event_request.operation IS 'post or void.';
COMMENT ON COLUMN backout.usage_event_request.mode IS
    'The mode given: FAIL_ON_EXISTING or OVERWRITE_ON_EXISTING (post), BY_ID or BY_REF_SEQ (void); NULL when '
    'none was given.';
COMMENT ON COLUMN backout.usage_event_request.requested_by IS
    'Who asked: posted_by or voided_by, else the session user.';
COMMENT ON COLUMN backout.usage_event_request.role_name IS 'The role in effect (current_user) of the call.';
COMMENT ON COLUMN backout.usage_event_request.events_requested IS
    'Events given (post) or criteria given (void).';
COMMENT ON COLUMN backout.usage_event_request.events_posted IS 'Events posted.';
COMMENT ON COLUMN backout.usage_event_request.events_overwritten IS
    'Live events a post voided and replaced (OVERWRITE_ON_EXISTING).';
COMMENT ON COLUMN backout.usage_event_request.events_voided IS 'Events a void call voided.';
COMMENT ON COLUMN backout.usage_event_request.events_erred IS 'Events (post) or criteria (void) that erred.';
COMMENT ON COLUMN backout.usage_event_request.error_message IS
    'Why the call was refused whole; NULL when it was not.';
COMMENT ON COLUMN backout.usage_event_request.created_at IS 'When the call was made.';
COMMENT ON TABLE backout.voided_usage_event IS
    'Voided usage events, kept when the client''s retain_voided_usage was true at voiding time: the event as '
    'it was, its charge, who voided it, when and why; one row per void. Written by void_usage_events and by '
    'overwriting posts; read by get_voided_usage_events; prune_audit leaves it.';
COMMENT ON COLUMN backout.voided_usage_event.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.voided_usage_event.voided_usage_event_id IS
    'Voided event id (identity): the id get_voided_usage_events answers and looks up.';
COMMENT ON COLUMN backout.voided_usage_event.usage_event_id IS
    'The usage record number (usage_txn.txn_id) the event had.';
COMMENT ON COLUMN backout.voided_usage_event.acct_no IS 'The event''s account.';
COMMENT ON COLUMN backout.voided_usage_event.service_resource_identifier IS 'The account''s client_acct_id.';
COMMENT ON COLUMN backout.voided_usage_event.usage_type_no IS 'The event''s usage type.';
COMMENT ON COLUMN backout.voided_usage_event.usage_type_code IS 'The usage type''s code.';
COMMENT ON COLUMN backout.voided_usage_event.usage_uom IS 'The usage type''s unit.';
COMMENT ON COLUMN backout.voided_usage_event.start_time IS 'When the usage happened (usage_txn.usage_date).';
COMMENT ON COLUMN backout.voided_usage_event.usage_amount IS 'The event''s units.';
COMMENT ON COLUMN backout.voided_usage_event.unit_price IS 'The unit price it was rated with.';
COMMENT ON COLUMN backout.voided_usage_event.total_charge IS 'Its charge (usage_txn.amount).';
COMMENT ON COLUMN backout.voided_usage_event.reference_id IS 'The event''s reference_id.';
COMMENT ON COLUMN backout.voided_usage_event.sequence_id IS 'The event''s sequence_id.';
COMMENT ON COLUMN backout.voided_usage_event.overwrite_counter IS 'The event''s overwrite_counter.';
COMMENT ON COLUMN backout.voided_usage_event.sid IS 'The event''s subscriber id; NULL when it had none.';
COMMENT ON COLUMN backout.voided_usage_event.posted_at IS 'When the event was posted (usage_txn.created_at).';
COMMENT ON COLUMN backout.voided_usage_event.voided_by IS
    'Who voided it: voided_by (a void) or posted_by (an overwrite), else the session user.';
COMMENT ON COLUMN backout.voided_usage_event.voided_at IS 'When it was voided.';
COMMENT ON COLUMN backout.voided_usage_event.void_reason IS
    'VOID (void_usage_events) or OVERWRITE (replaced by a post of the same pair).';
COMMENT ON COLUMN backout.voided_usage_event.request_id IS
    'The call that voided it (usage_event_request.request_id).';
COMMENT ON COLUMN backout.billing_batch.undone_at IS
    'When an undo or backout reversed the run''s last invoice (status UNDONE); NULL: not undone.';
COMMENT ON COLUMN backout.billing_batch.undone_by_batch_id IS
    'The undo_batch or backout_batch id that undid the run; NULL: not undone.';
COMMENT ON TABLE backout.job_schedule_clear IS
    'Audit of clear_job_schedule, which cannot be undone: one row per call (dry runs excepted), refusals '
    'included when the caller operates on an existing client: who cleared which date, when, and the deleted '
    'rows as they were. Written by the extension only; shown in backout.operations as clear; pruned by '
    'prune_audit.';
COMMENT ON COLUMN backout.job_schedule_clear.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.job_schedule_clear.clear_id IS
    'Call id (identity); the operation_id in backout.operations.';
COMMENT ON COLUMN backout.job_schedule_clear.schedule_date IS
    'The schedule date cleared (midnight); NULL when the requested date was not a date.';
COMMENT ON COLUMN backout.job_schedule_clear.requested_schedule_date IS
    'The schedule_date argument as given (cut after 1,000 characters).';
COMMENT ON COLUMN backout.job_schedule_clear.user_id IS 'Session user of the call.';
COMMENT ON COLUMN backout.job_schedule_clear.status IS
    'COMPLETED (also when there was nothing to delete) or ERROR (refused, nothing deleted).';
COMMENT ON COLUMN backout.job_schedule_clear.job_schedules_deleted IS 'Job schedules deleted.';
COMMENT ON COLUMN backout.job_schedule_clear.items_deleted IS 'Job schedule items deleted.';
COMMENT ON COLUMN backout.job_schedule_clear.list_entries_deleted IS
    'Job schedule list entries (work units) deleted.';
COMMENT ON COLUMN backout.job_schedule_clear.deleted IS
    'The deleted rows as they were, as json {"job_schedules": [...], "items": [...], "list_entries": [...]}; '
    'NULL when refused.';
COMMENT ON COLUMN backout.job_schedule_clear.error_code IS
    'Why it was refused (INVALID_INPUT, NOT_FOUND, JOB_RUNNING, OPERATION_IN_PROGRESS); NULL when COMPLETED.';
COMMENT ON COLUMN backout.job_schedule_clear.error_message IS 'The refusal in words; NULL when COMPLETED.';
COMMENT ON COLUMN backout.job_schedule_clear.create_date IS
    'When the call was made (its transaction''s start).';
COMMENT ON COLUMN backout.job_schedule_clear.finished_at IS 'When the clear finished (clock time).';
COMMENT ON TABLE backout.reset_batch IS
    'One row per accepted reset_lines request (a batch, like undo and backout; refused requests are not '
    'recorded): the accounts, cycle and query, the status and counts, and the batch engine''s bookkeeping. '
    'Written by the extension only; read by get_reset_lines_status and backout.operations; pruned by '
    'prune_audit.';
COMMENT ON COLUMN backout.reset_batch.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.reset_batch.reset_batch_id IS
    'The request''s id (the batch id), generated at submission.';
COMMENT ON COLUMN backout.reset_batch.aid IS 'The aid argument as given (accounts, comma-separated).';
COMMENT ON COLUMN backout.reset_batch.accounts IS
    'The client''s accounts among them, sorted, without repeats.';
COMMENT ON COLUMN backout.reset_batch.billrun_key IS
    'The cycle to reset, YYYYMM; NULL: each account''s open cycle.';
COMMENT ON COLUMN backout.reset_batch.query IS
    'The query given (BillRun''s array-of-arrays form); NULL: no condition (every line of those accounts and '
    'cycle).';
COMMENT ON COLUMN backout.reset_batch.request_key IS
    'md5 of accounts, billrun_key and query: an identical request while one is PROCESSING gets the running '
    'one''s id.';
COMMENT ON COLUMN backout.reset_batch.user_id IS 'Who asked: the user_id given, else the session user.';
COMMENT ON COLUMN backout.reset_batch.status IS 'PROCESSING (queued or running), COMPLETED or ERROR.';
COMMENT ON COLUMN backout.reset_batch.lines_reset IS 'Lines (usage records) re-rated.';
COMMENT ON COLUMN backout.reset_batch.accounts_reset IS 'Accounts of the lines re-rated.';
COMMENT ON COLUMN backout.reset_batch.amount_before IS 'Sum of the re-rated lines'' amounts before.';
COMMENT ON COLUMN backout.reset_batch.amount_after IS 'Sum of their amounts after.';
COMMENT ON COLUMN backout.reset_batch.lines_skipped IS
    'Matching lines left alone because billed or discarded.';
COMMENT ON COLUMN backout.reset_batch.error_code IS
    'Why it ended ERROR (NO_PRICE, CANCELLED, NOT_ENTITLED, SYSTEM_ERROR, ...); NULL otherwise.';
COMMENT ON COLUMN backout.reset_batch.error_message IS 'The error in words; NULL when none.';
COMMENT ON COLUMN backout.reset_batch.create_date IS 'When the request was submitted.';
COMMENT ON COLUMN backout.reset_batch.start_date IS
    'When its last run started (claimed by a runner); NULL: not run yet.';
COMMENT ON COLUMN backout.reset_batch.update_date IS
    'When its status was last written: the finish time once it is no longer PROCESSING.';
COMMENT ON COLUMN backout.reset_batch.run_as IS
    'The role that submitted it: the batch runs with that role''s rights, checked again when it runs.';
COMMENT ON COLUMN backout.reset_batch.queue_seq IS
    'Submission order across every batch kind (sequence batch_queue_seq): a client''s batches run one at a '
    'time in this order.';
COMMENT ON COLUMN backout.reset_batch.run_attempts IS
    'Runs started so far, a run whose runner died included; at pg_backout.max_attempts the batch ends ERROR.';
COMMENT ON COLUMN backout.reset_batch.next_attempt_at IS
    'Not to be run before this time (the backoff of a retry after a transient failure); NULL: due at once.';
COMMENT ON COLUMN backout.reset_batch.last_error IS
    'Why the last attempt failed, while the batch is being retried; NULL otherwise.';
COMMENT ON COLUMN backout.reset_batch.error_sqlstate IS
    'SQLSTATE of the database error behind error_message or last_error; NULL when there was none.';
COMMENT ON COLUMN backout.reset_batch.runner_pid IS
    'Backend pid of the session running the batch now (join pg_stat_activity for its step); NULL when not '
    'running.';
COMMENT ON VIEW backout.operations IS
    'Every undo, backout, reset, clear, discard and usage event call of the clients the caller may read, '
    'newest first: the request, who asked, status, counts and, for batches, the engine''s progress. Built by '
    'define_operations_view from the audit tables of every batch kind, job_schedule_clear, discard_request '
    'and usage_event_request; security_invoker, so row-level security applies. Readers.';
COMMENT ON COLUMN backout.operations.client_id IS 'The client (tenant) of the operation.';
COMMENT ON COLUMN backout.operations.operation IS 'undo, backout, reset, clear, discard, post or void.';
COMMENT ON COLUMN backout.operations.operation_id IS
    'The batch id, or the clear''s, discard''s or usage event call''s id, as text.';
COMMENT ON COLUMN backout.operations.request IS
    'The inputs as given, in words (e.g. billing_date=2026-04-01 discard_usage=true).';
COMMENT ON COLUMN backout.operations.user_id IS
    'Who asked: the user_id, alt_caller_id, posted_by or voided_by given, else the session user.';
COMMENT ON COLUMN backout.operations.status IS 'PROCESSING, COMPLETED or ERROR.';
COMMENT ON COLUMN backout.operations.error_code IS
    'Why it failed (a discard shows its numeric code, 0 when OK); NULL when there was no error.';
COMMENT ON COLUMN backout.operations.error_message IS 'The error in words; NULL when none.';
COMMENT ON COLUMN backout.operations.created_at IS 'When the operation was submitted or called.';
COMMENT ON COLUMN backout.operations.started_at IS
    'Batches: when the last run started (NULL: not yet); synchronous operations: the call time.';
COMMENT ON COLUMN backout.operations.finished_at IS 'When it ended; NULL while PROCESSING.';
COMMENT ON COLUMN backout.operations.duration IS
    'From submission to finish; NULL while PROCESSING; 0 for discards and usage event calls.';
COMMENT ON COLUMN backout.operations.counts IS
    'The operation''s counters as jsonb (e.g. billing_records_reversed, transactions_deleted, lines_reset, '
    'records_discarded, events_posted).';
COMMENT ON COLUMN backout.operations.run_attempts IS
    'Batches: runs started so far; NULL for synchronous operations.';
COMMENT ON COLUMN backout.operations.runner_pid IS
    'Batches: backend pid of the session running it now (join pg_stat_activity for its step); NULL '
    'otherwise.';
COMMENT ON COLUMN backout.operations.last_error IS
    'Batches: why the last attempt failed while it is retried; NULL otherwise.';
COMMENT ON COLUMN backout.operations.error_sqlstate IS
    'Batches: SQLSTATE of the database error behind the error; NULL otherwise.';
COMMENT ON COLUMN backout.operations.queue_seq IS
    'Batches: submission order (one sequence for every kind); NULL for synchronous operations.';
COMMENT ON TABLE backout.entitlement IS
    'Who may act on which client: one row per (role, client) with its level. Written by grant_client and '
    'revoke_client (admins); read by every access check and by the row-level security policies. A role '
    'dropped with DROP ROLE leaves its rows behind.';
COMMENT ON COLUMN backout.entitlement.client_id IS 'The client; NULL: every client (service accounts).';
COMMENT ON COLUMN backout.entitlement.role IS 'The entitled role; its members have the entitlement too.';
COMMENT ON COLUMN backout.entitlement.level IS
    'reader (status, previews, reads) or operator (also every operation that changes data).';
COMMENT ON COLUMN backout.entitlement.granted_by IS
    'The role that granted it (current_user of grant_client).';
COMMENT ON COLUMN backout.entitlement.granted_at IS 'When it was granted, or its level last replaced.';
COMMENT ON TABLE backout.access_refusal IS
    'Log of refused calls: one row per (client, role, session user, function, level, minute) with the number '
    'of refusals in that minute, so that it cannot grow faster than one row per existing client, function '
    'and minute. Written by the extension only; admins read it; prune_audit removes old minutes.';
COMMENT ON COLUMN backout.access_refusal.client_id IS
    'The client named by the call; 0: a client that does not exist.';
COMMENT ON COLUMN backout.access_refusal.refusal_id IS 'Row id (identity).';
COMMENT ON COLUMN backout.access_refusal.role_name IS 'The role in effect (current_user) that was refused.';
COMMENT ON COLUMN backout.access_refusal.session_user_name IS 'The session user of the refused call.';
COMMENT ON COLUMN backout.access_refusal.function_name IS 'The function that refused it.';
COMMENT ON COLUMN backout.access_refusal.level IS 'The entitlement level it needed: reader or operator.';
COMMENT ON COLUMN backout.access_refusal.refused_at IS 'The first refusal of the minute.';
COMMENT ON COLUMN backout.access_refusal.refused_minute IS 'The minute the refusals fall in.';
COMMENT ON COLUMN backout.access_refusal.refusals IS 'Number of refusals in that minute.';
COMMENT ON COLUMN backout.access_refusal.last_refused_at IS 'The last refusal of the minute.';
COMMENT ON VIEW backout.entitlements IS
    'The entitlements in readable form, by role: a role sees its own and those of the roles whose privileges '
    'it has, admins see all (security_invoker over entitlement). Readers and admins.';
COMMENT ON COLUMN backout.entitlements.role_name IS
    'The entitled role''s name (its oid when the role was dropped).';
COMMENT ON COLUMN backout.entitlements.client_id IS 'The client; NULL: every client.';
COMMENT ON COLUMN backout.entitlements.all_clients IS
    'true: the entitlement covers every client (client_id NULL).';
COMMENT ON COLUMN backout.entitlements.level IS 'reader or operator (operator includes reader).';
COMMENT ON COLUMN backout.entitlements.granted_by IS 'The role that granted it.';
COMMENT ON COLUMN backout.entitlements.granted_at IS 'When it was granted, or its level last replaced.';
COMMENT ON FUNCTION backout.process_usage_file(bigint, text, jsonb) IS
    'Ingests a usage file given as a jsonb array of records, in one transaction: checks every record, rates '
    'it with the price in force on its usage day, adds it to usage_txn and the commitment balances, writes '
    'the file''s usage_file row; records already present are skipped. All or nothing. Operators of the '
    'client. Refusals are answered with status ERROR, an error_code and an error_message, nothing changed '
    '(they do not raise); database errors such as a lock timeout (55P03) raise.';
COMMENT ON FUNCTION backout.process_staged_usage_file(bigint, text) IS
    'Ingests the rows staged in usage_staging under (client_id, file_name), in COPY order, with the checks, '
    'rating and answer of process_usage_file; the staged rows are deleted once ingested, kept for correction '
    'when the file is rejected. Operators of the client. Refusals are answered with status ERROR, an '
    'error_code and an error_message, nothing changed (they do not raise); database errors such as a lock '
    'timeout (55P03) raise.';
COMMENT ON FUNCTION backout.run_billing(bigint, text) IS
    'Bills, in one transaction, every account of the client whose next_bill_date is billing_date: invoices, '
    'USAGE_CHARGE and TRUE_UP lines, billed marks on usage, balance true-ups, a BILLING job schedule, '
    'pointers moved one month on. Operators of the client. Refusals (INVALID_INPUT, NOT_FOUND, '
    'ALREADY_SCHEDULED, MISSING_PRICE, RESET_PENDING) are answered with status ERROR and error_code, nothing '
    'changed; database errors raise.';
COMMENT ON FUNCTION backout.undo_job_schedule(text, bigint, boolean, text) IS
    'Submits a batch undoing the client''s completed billing run(s) of billing_date (discard_usage: delete '
    'the billed usage instead of unbilling it) and returns at once with undo_batch_id and status PROCESSING; '
    'follow it with get_undo_job_schedule_status, wait_for_batch or LISTEN pg_backout_batch. Operators of '
    'the client. Refusals (INVALID_INPUT, NOT_FOUND, SYSTEM_ERROR when no such run, UNDO_IN_PROGRESS) are '
    'answered with status ERROR and error_code, recorded as an ERROR row, nothing else changed; a batch that '
    'fails later ends ERROR in undo_batch.';
COMMENT ON FUNCTION backout.get_undo_job_schedule_status(uuid, bigint) IS
    'Status and counts of an undo request of the client (undo_batch). Readers of the client. An unknown '
    'batch id, another client''s, or a client the caller may not read is answered with status ERROR and '
    'error_code NOT_FOUND (a NULL argument: INVALID_INPUT), not raised.';
COMMENT ON FUNCTION backout.backout_usage_file_transactions(text, bigint, text, boolean, uuid) IS
    'Submits a batch backing out usage files (file_names, comma-separated, exact names): deletes their usage '
    'records and usage_file rows and takes them out of the balances, first reversing the billing that '
    'included them when undo_billing; returns at once with backout_batch_id and status PROCESSING. A '
    'backout_batch_id given retries that request. Operators of the client. Refusals (INVALID_INPUT, '
    'NOT_FOUND, BACKOUT_IN_PROGRESS) are answered with status ERROR and error_code, recorded as an ERROR '
    'row, nothing else changed; a batch that fails later ends ERROR in backout_batch.';
COMMENT ON FUNCTION backout.get_usage_file_txns_backout_status(uuid, bigint) IS
    'Status and counts of a backout request of the client (backout_batch). Readers of the client. An unknown '
    'batch id, another client''s, or a client the caller may not read is answered with status ERROR and '
    'error_code NOT_FOUND (a NULL argument: INVALID_INPUT), not raised.';
COMMENT ON FUNCTION backout.preview_backout_usage_file_transactions(text, bigint, boolean) IS
    'Dry run of backout_usage_file_transactions: one row per named file with what the backout would delete '
    '(and, with undo_billing, reverse) and the action it would take; changes nothing. Readers of the client. '
    'Unlike the operations, bad input raises SQLSTATE 22023, the message starting with the error code.';
COMMENT ON FUNCTION backout.preview_undo_job_schedule(text, bigint, boolean) IS
    'Dry run of undo_job_schedule: one row per completed billing batch of the client and date with the '
    'invoices, accounts, amounts, lines and usage the undo would reverse (or, with discard_usage, delete) and '
    'its action (REFUSED with the reason when an account was billed again); no row when the date has no '
    'completed run; changes nothing. Readers of the client. Bad input raises SQLSTATE 22023, the message '
    'starting with the error code.';
COMMENT ON FUNCTION backout.clear_job_schedule(bigint, text, boolean) IS
    'Deletes every job schedule of the client and date, with its items and work units, so that run_billing '
    'can bill that date again for the accounts still due; does not reverse billing. Synchronous and '
    'irreversible: each call is recorded with the deleted rows in job_schedule_clear; dry_run only counts. '
    'Operators of the client. Refusals (INVALID_INPUT, NOT_FOUND, JOB_RUNNING, OPERATION_IN_PROGRESS; '
    'SYSTEM_ERROR without client_id) are answered with status ERROR and error_code, recorded, nothing '
    'deleted; database errors raise.';
COMMENT ON FUNCTION backout.cancel_batch(uuid, bigint) IS
    'Cancels a PROCESSING batch (undo, backout or reset) of the client: a waiting one ends ERROR / CANCELLED '
    'at once; a running one has its runner interrupted when this transaction commits and then ends ERROR / '
    'CANCELLED (or COMPLETED if it finished first). Operators of the client. Refusals are answered with '
    'status ERROR and error_code INVALID_INPUT, NOT_FOUND or NOT_PROCESSING, not raised.';
COMMENT ON PROCEDURE backout.run_pending_batches(bigint, bigint) IS
    'Runs every due batch of the clients the caller operates on (or of client_id), each with its '
    'submitter''s rights, committing after each claim and each batch; returns batches_run. For pg_cron and '
    'servers without the background runners; call it outside a transaction block. Operators. A failing batch '
    'is recorded on the batch, not raised; inside a transaction block the first COMMIT raises (SQLSTATE '
    '2D000).';
COMMENT ON FUNCTION backout.claim_batch(bigint) IS
    'Internal step of CALL run_pending_batches(): claims the next due batch of the clients the caller '
    'operates on (or of client_id alone) and counts its attempt; returns its id, or NULL when nothing is due '
    'or client_id is not the caller''s. One claim per session. Operators.';
COMMENT ON FUNCTION backout.run_claimed_batch() IS
    'Internal step of CALL run_pending_batches(): runs the batch this session claimed with claim_batch, with '
    'its submitter''s rights, and returns its status; NULL when nothing is claimed. Operators. A failing '
    'batch is recorded on the batch (ERROR, or retried later), not raised.';
COMMENT ON FUNCTION backout.run_next_batch(bigint) IS
    'Runs one due batch of the clients the caller operates on (or of client_id) in the caller''s '
    'transaction, with its submitter''s rights, and returns (kind, batch_id, client_id, status); no row when '
    'nothing is due. For tests that need an exact interleaving; otherwise use CALL run_pending_batches(). '
    'Operators. A client the caller may not operate on gives no row; a failing batch is recorded on the '
    'batch, not raised.';
COMMENT ON FUNCTION backout.wait_for_batch(uuid, interval) IS
    'Waits until a batch of any kind leaves PROCESSING or the timeout passes and returns its status '
    '(PROCESSING on timeout); starts a runner if none runs. For scripts; call it in READ COMMITTED after the '
    'submission committed. Readers of the batch''s client. Raises (SQLSTATE XX000) on a NULL argument, an '
    'unknown batch or one the caller may not read, REPEATABLE READ or SERIALIZABLE, a batch submitted by '
    'this transaction, or a client lock this transaction holds.';
COMMENT ON FUNCTION backout.prune_audit(interval) IS
    'Deletes finished audit rows older than older_than (default 90 days): undo, backout and reset batches, '
    'job_schedule_clear, discard_request, usage_event_request and access_refusal; never a PROCESSING batch, '
    'never voided_usage_event. Returns the rows deleted per table; schedulable with pg_cron. Admins. A NULL '
    'older_than raises (SQLSTATE XX000).';
COMMENT ON FUNCTION backout.discard_usage(bigint, bigint[], text[], bigint, text, text, jsonb, boolean) IS
    'Aria Core: discards up to 10,000 unbilled usage records of the client named by usage_record_no (txn_id) '
    'or client_record_id: they stay in usage_txn flagged is_excluded with reason, comment and who, leave the '
    'balances and are never billed; cannot be undone. Every call is recorded in discard_request. Operators '
    'of the client. Answers a numeric error_code row, never raising on input: 0 OK, 23001 some records '
    'failed (failed_records), 1010 missing parameters, 1016 a bad argument or unknown client; 1010 and 1016 '
    'change nothing. dry_run => true: the same answer, nothing changed or recorded.';
COMMENT ON FUNCTION backout.get_usage_history(bigint, bigint, text, bigint, text, text, text, text[], text[],
                                              text[], text[], bigint, bigint, bigint, text, text, bigint,
                                              bigint) IS
    'Aria Core: one account''s usage records (acct_no or client_acct_id) in a date range or on an invoice, '
    'filtered (usage type, qualifiers, client record id, billed, excluded) and paged (limit and offset, or '
    'keyset after_usage_rec_no), as a jsonb array with the count of every match; read-only. Readers of the '
    'client. Answers a numeric error_code row, never raising on input: 0 OK, 1010 missing account or start '
    'date, 1016 a bad argument, 1009 unknown account.';
COMMENT ON FUNCTION backout.post_usage_events(bigint, jsonb, text, text) IS
    'Gotransverse: posts up to 10,000 usage events (a jsonb array), each rated into usage_txn and the '
    'balances like ingested usage or erred on its own; mode FAIL_ON_EXISTING or OVERWRITE_ON_EXISTING '
    'decides what a live (reference_id, sequence_id) pair does. Answers {"rated_events", "erred_events"}; '
    'recorded in usage_event_request. Operators of the client. A call refused whole answers {"error": ...} '
    'with nothing changed; it does not raise.';
COMMENT ON FUNCTION backout.void_usage_events(bigint, text, jsonb, text, boolean) IS
    'Gotransverse: voids up to 50 posted usage events by id (mode BY_ID) or by reference_id and sequence_id '
    '(BY_REF_SEQ): deletes them from usage_txn and the balances, keeping a copy in voided_usage_event when '
    'the client retains voided usage; cannot be undone; dry_run changes nothing. Operators of the client. '
    'Each failing criterion is listed in erred_event_criterias; a call refused whole answers {"error": ...}, '
    'nothing changed, not raised.';
COMMENT ON FUNCTION backout.get_voided_usage_events(bigint, text, text, text) IS
    'Gotransverse: the voided usage events kept in voided_usage_event, by voided event id or every void of a '
    '(sequence_id, reference_id) pair oldest first, as a jsonb array; read-only. Readers of the client. '
    'Unknown or invalid values give []; no lookup at all, half a pair or an unknown client answers {"error": '
    '...}, not raised.';
COMMENT ON FUNCTION backout.reset_lines(bigint, text, text, jsonb, text, boolean) IS
    'BillRun: queues a reset batch re-rating the unbilled, non-discarded lines (usage_txn) of the accounts '
    'in aid and the cycle billrun_key (default each one''s open cycle) that match query, with the prices in '
    'force now, and moving the balances; answers at once with reset_batch_id (an identical PROCESSING '
    'request answers the running one''s); dry_run reports what it would change. Operators of the client. '
    'Refusals answer {"status": 0, "desc": ...} with nothing queued, not raised; a batch that fails '
    '(NO_PRICE) ends ERROR in reset_batch.';
COMMENT ON FUNCTION backout.get_reset_lines_status(uuid, bigint) IS
    'Status and counts of a reset_lines batch of the client (reset_batch). Readers of the client. An unknown '
    'batch id, another client''s, or a client the caller may not read is answered with status ERROR and '
    'error_code NOT_FOUND (a NULL argument: INVALID_INPUT), not raised.';
COMMENT ON FUNCTION backout.query_lines(bigint, text, text, text, jsonb, text, text, bigint, bigint, text) IS
    'BillRun: the lines (usage records) of the given accounts (aid) or subscribers (sid), optionally of a '
    'cycle, a urt date range and a JSON query, ordered by urt then stamp and paged (size, page), or the '
    'distinct values of one field; answers jsonb with details; read-only. Readers of the client. Refusals '
    'answer {"status": 0, "desc": ...}, not raised.';
COMMENT ON FUNCTION backout.query_aggregate(bigint, text, text, jsonb, jsonb, jsonb, jsonb) IS
    'BillRun: aggregates the lines of the given accounts or subscribers (the scope and query language of '
    'query_lines) by groupby fields with $sum, $avg, $max or $min (default a count), one object per group in '
    'details; read-only. Readers of the client. Refusals answer {"status": 0, "desc": ...}, not raised.';
COMMENT ON FUNCTION backout.parse_usage_timestamp(text) IS
    'Helper: a usage date written exactly YYYY-MM-DD HH:mm:ss as a timestamp, NULL when it is not written '
    'so; the strict parser ingest validates records with. Operators. Never raises.';
COMMENT ON FUNCTION backout.define_operations_view() IS
    'Internal: (re)creates the view backout.operations from the registry of batch kinds, with '
    'security_invoker; run by the install and upgrade scripts as the extension''s owner. No role has '
    'EXECUTE. Raises if the view cannot be created.';
COMMENT ON FUNCTION backout.count_usage_by_day() IS
    'Internal trigger function (SECURITY DEFINER) of the statement triggers count_inserted, count_updated, '
    'count_deleted and count_truncated on usage_txn: adds each statement''s net change to usage_day_count. '
    'Not callable directly; no role has EXECUTE.';
COMMENT ON FUNCTION backout.check_usage_day_counts(bigint) IS
    'The usage_day_count keys of a client whose kept count (counted) differs from its usage_txn records '
    '(actual); no row: exact. Read-only, takes no lock. Admins (SECURITY DEFINER). A NULL client_id raises '
    'SQLSTATE 22023.';
COMMENT ON FUNCTION backout.rebuild_usage_day_counts(bigint) IS
    'Makes a client''s usage_day_count exact again and returns the number of keys corrected; holds usage_txn '
    'in SHARE mode meanwhile, so every client''s writes of usage wait (reads do not). Admins (SECURITY '
    'DEFINER). A NULL client_id raises SQLSTATE 22023.';
COMMENT ON FUNCTION backout.price_offer_in_force(bigint, bigint, bigint, date) IS
    'Helper: the price in force (price_offer_id, unit_price) for an account''s usage type on a day: the '
    'account''s custom price if any, else the standard one, the latest effective_from on or before the day; '
    'no row when there is none. Inlinable SQL, read-only. Operators. Never raises.';
COMMENT ON FUNCTION backout.advance_bill_date(date, smallint) IS
    'Helper: the next anniversary after a bill date: one month later on the given bill day (NULL: the day of '
    'the date), clamped to the length of that month. Operators. Never raises.';
COMMENT ON FUNCTION backout.create_client_lock_row() IS
    'Internal trigger function (SECURITY DEFINER) of the trigger create_client_lock_row on client: creates '
    'each new client''s lock row in lock_row. Not callable directly; no role has EXECUTE.';
COMMENT ON FUNCTION backout.entitled(bigint, text) IS
    'Helper of the access checks: is the current role entitled to the client at the level (reader or '
    'operator; operator includes reader)? Superusers are. Readers. Never raises.';
COMMENT ON FUNCTION backout.entitled_to_all(text) IS
    'Helper of the row-level security policies and of the batch queue''s scope: is the current role entitled '
    'to every client (an entitlement with client_id NULL) at the level? Readers. Never raises.';
COMMENT ON FUNCTION backout.entitled_clients(text) IS
    'Helper of the row-level security policies and of the batch queue''s scope: the clients the current role '
    'is entitled to one by one at the level, as an array (empty when none). Readers. Never raises.';
COMMENT ON FUNCTION backout.grant_client(regrole, bigint, text) IS
    'Entitles a role to a client (client_id NULL: every client) at level reader or operator, and grants it '
    'the group role backout_reader or backout_operator; a second grant replaces the level. Returns what was '
    'granted, as text. Admins. Bad arguments raise SQLSTATE 22023, nothing changed.';
COMMENT ON FUNCTION backout.revoke_client(regrole, bigint) IS
    'Removes a role''s entitlement on a client (client_id NULL: its every-client entitlement); group '
    'memberships stay. Returns the number removed (0 or 1). Admins. A NULL role raises SQLSTATE 22023.';
