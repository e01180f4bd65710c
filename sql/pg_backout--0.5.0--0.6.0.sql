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
