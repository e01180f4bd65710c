-- pg_backout 0.2.0 -> 0.3.0: privileges and tenants (SPEC §6): group roles, entitlements, row-level
-- security, batches run as their submitters, every function pinned to a trusted search_path.
\echo Use "ALTER EXTENSION pg_backout UPDATE TO '0.3.0'" to load this file. \quit

-- Batches remember the role they run as.  Batches of 0.2.0 ran as the bootstrap superuser: those still
-- waiting run as the extension's owner.
ALTER TABLE backout.undo_batch ADD COLUMN run_as regrole;
ALTER TABLE backout.backout_batch ADD COLUMN run_as regrole;
UPDATE backout.undo_batch SET run_as = (SELECT extowner FROM pg_catalog.pg_extension WHERE extname = 'pg_backout');
UPDATE backout.backout_batch SET run_as = (SELECT extowner FROM pg_catalog.pg_extension WHERE extname = 'pg_backout');
ALTER TABLE backout.undo_batch ALTER COLUMN run_as SET NOT NULL,
                               ALTER COLUMN run_as SET DEFAULT quote_ident(current_user)::regrole;
ALTER TABLE backout.backout_batch ALTER COLUMN run_as SET NOT NULL,
                                  ALTER COLUMN run_as SET DEFAULT quote_ident(current_user)::regrole;

-- SQL helpers with SQL-standard bodies (bound at creation, still inlinable); see sql/functions.sql.
DROP FUNCTION backout.price_offer_in_force(bigint, bigint, bigint, date);
DROP FUNCTION backout.advance_bill_date(date, smallint);
-- The price in force for a usage type on a day: the account's custom price if any, else the standard
-- (client-wide) price; of those, the one with the latest effective_from on or before the day.  Two probes of
-- price_offer_one_per_day (custom, then standard) so that the cost does not grow with the number of custom
-- prices of the usage type.
CREATE FUNCTION backout.price_offer_in_force(p_client_id bigint, p_acct_no bigint, p_usage_type_no bigint, p_day date)
RETURNS TABLE (price_offer_id bigint, unit_price numeric)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT price.price_offer_id, price.unit_price
    FROM ((SELECT p.price_offer_id, p.unit_price
           FROM backout.price_offer p
           WHERE p.client_id = p_client_id AND p.usage_type_no = p_usage_type_no
             AND p.acct_no = p_acct_no AND p.effective_from <= p_day
           ORDER BY p.effective_from DESC
           LIMIT 1)
          UNION ALL
          (SELECT p.price_offer_id, p.unit_price
           FROM backout.price_offer p
           WHERE p.client_id = p_client_id AND p.usage_type_no = p_usage_type_no
             AND p.acct_no IS NULL AND p.effective_from <= p_day
           ORDER BY p.effective_from DESC
           LIMIT 1)) AS price
    LIMIT 1;
END;

-- The next anniversary after a bill date: one month later, on bill_day (default: the day of the given
-- date), clamped to the length of that month.
CREATE FUNCTION backout.advance_bill_date(p_bill_date date, p_bill_day smallint)
RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT (date_trunc('month', p_bill_date::timestamp) + interval '1 month')::date
           + least(coalesce(p_bill_day, extract(day FROM p_bill_date)::int),
                   extract(day FROM date_trunc('month', p_bill_date::timestamp) + interval '2 months - 1 day')::int)
           - 1;
END;

-- The batch engine (src/batches.rs): submission order across kinds, attempts, retries, cancellation.
-- run_pending_batches becomes a procedure that commits after each batch (run_next_batch runs one).
DROP FUNCTION backout.run_pending_batches(bigint);
-- advisory lock keys seeded with a per-installation secret (src/locks.rs)
CREATE TABLE backout.lock_salt (
    salt bigint NOT NULL
);
INSERT INTO backout.lock_salt
SELECT ('x' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 16))::bit(64)::bigint;
CREATE SEQUENCE backout.batch_queue_seq;
-- every time column a timestamptz (0.2.0 wrote the submitter's local time): taken as the server's time zone
DROP VIEW backout.operations;  -- re-created below, on the new column types
ALTER TABLE backout.undo_batch
    ALTER COLUMN create_date TYPE timestamptz, ALTER COLUMN create_date SET DEFAULT now(),
    ALTER COLUMN start_date TYPE timestamptz, ALTER COLUMN update_date TYPE timestamptz;
ALTER TABLE backout.backout_batch
    ALTER COLUMN create_date TYPE timestamptz, ALTER COLUMN create_date SET DEFAULT now(),
    ALTER COLUMN start_date TYPE timestamptz, ALTER COLUMN update_date TYPE timestamptz;
ALTER TABLE backout.job_schedule_clear
    ALTER COLUMN create_date TYPE timestamptz, ALTER COLUMN create_date SET DEFAULT now(),
    ALTER COLUMN finished_at TYPE timestamptz, ALTER COLUMN finished_at SET DEFAULT clock_timestamp();
ALTER TABLE backout.undo_batch
    ADD COLUMN queue_seq bigint NOT NULL DEFAULT nextval('backout.batch_queue_seq'),
    ADD COLUMN run_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN last_error text,
    ADD COLUMN error_sqlstate text,
    ADD COLUMN runner_pid integer;
ALTER TABLE backout.backout_batch
    ADD COLUMN queue_seq bigint NOT NULL DEFAULT nextval('backout.batch_queue_seq'),
    ADD COLUMN run_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN last_error text,
    ADD COLUMN error_sqlstate text,
    ADD COLUMN runner_pid integer;

-- Cancellation requests (backout.cancel_batch) of batches being run: the runner, interrupted, finds the
-- request here and ends the batch ERROR / CANCELLED.  Removed when the batch ends.
CREATE TABLE backout.batch_cancel (
    client_id    bigint NOT NULL,
    batch_id     uuid NOT NULL,
    requested_by text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, batch_id)
);
CREATE UNIQUE INDEX batch_cancel_batch_idx ON backout.batch_cancel (batch_id);

-- Run the due batches now, committing after each one (for pg_cron, servers without the background worker,
-- tests): CALL backout.run_pending_batches();  Only batches of clients the caller operates on run, each with
-- its submitter's rights.  Call it outside a transaction block.  PostgreSQL refuses COMMIT in a procedure
-- with a SET clause, so this one has none: it calls only schema-qualified functions with exact argument
-- types, and its one operator is qualified.
CREATE PROCEDURE backout.run_pending_batches(client_id bigint DEFAULT NULL, INOUT batches_run bigint DEFAULT 0)
LANGUAGE plpgsql AS $$
DECLARE
    claimed uuid;
BEGIN
    batches_run := 0;
    LOOP
        claimed := backout.claim_batch(client_id);
        EXIT WHEN claimed IS NULL;
        COMMIT;  -- the attempt counts even if the run kills this process
        PERFORM backout.run_claimed_batch();
        COMMIT;
        batches_run := batches_run OPERATOR(pg_catalog.+) 1;
    END LOOP;
END
$$;

-- Aria Core (discard_usage, get_usage_history)
ALTER TABLE backout.usage_txn ADD COLUMN exclusion_qualifiers jsonb;
DROP INDEX backout.usage_txn_acct_date_idx;
CREATE INDEX usage_txn_acct_date_idx ON backout.usage_txn (client_id, acct_no, usage_date, txn_id)
    INCLUDE (is_excluded, usage_type_no, invoice_no);
-- Every discard_usage call (Aria Core, src/aria_core.rs): who, what was asked, what was discarded, what failed.
CREATE TABLE backout.discard_request (
    client_id           bigint NOT NULL,
    discard_id          bigint GENERATED BY DEFAULT AS IDENTITY,
    requested_by        text NOT NULL,               -- alt_caller_id, else the session user
    role_name           text NOT NULL,               -- the role in effect
    records_requested   bigint NOT NULL DEFAULT 0,
    records_discarded   bigint NOT NULL DEFAULT 0,
    records_failed      bigint NOT NULL DEFAULT 0,
    exclusion_reason_cd integer,
    exclusion_comment   text,
    qualifiers          jsonb,
    failed_records      jsonb,                       -- the first 1,000 failures
    error_code          bigint NOT NULL,
    error_msg           text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, discard_id)
);

-- Every undo, backout and clear, the one place a DBA looks: newest first.  Batches being run show their
-- runner's pid (its pg_stat_activity query says which step it is at), their attempts so far and the last
-- transient error they are being retried after.
CREATE OR REPLACE VIEW backout.operations AS
SELECT * FROM (
    SELECT client_id, 'undo'::text AS operation, undo_batch_id::text AS operation_id,
           format('billing_date=%s discard_usage=%s', requested_billing_date, discard_usage) AS request,
           user_id, status, error_code, error_message,
           create_date AS created_at, start_date AS started_at,
           CASE WHEN status <> 'PROCESSING' THEN update_date END AS finished_at,
           CASE WHEN status <> 'PROCESSING' THEN update_date - create_date END AS duration,
           jsonb_build_object('billing_records_reversed', total_count, 'billing_batches', billing_batches,
                              'accounts_reset', accounts_reset, 'usage_unbilled', usage_unbilled,
                              'usage_deleted', usage_deleted, 'cdr_stats_deleted', cdr_stats_deleted) AS counts,
           run_attempts, runner_pid, last_error, error_sqlstate, queue_seq
    FROM backout.undo_batch
    UNION ALL
    SELECT client_id, 'backout', backout_batch_id::text,
           format('file_names=%s undo_billing=%s', file_names, undo_billing),
           coalesce(user_id, submitted_by), status, error_code, error_message,
           create_date, start_date,
           CASE WHEN status <> 'PROCESSING' THEN update_date END,
           CASE WHEN status <> 'PROCESSING' THEN update_date - create_date END,
           jsonb_build_object('transactions_deleted', transactions_deleted, 'cdr_stats_deleted', cdr_stats_deleted,
                              'billing_records_reversed', billing_records_reversed, 'accounts_reset', accounts_reset,
                              'files_not_found', files_not_found, 'attempts', attempts),
           run_attempts, runner_pid, last_error, error_sqlstate, queue_seq
    FROM backout.backout_batch
    UNION ALL
    SELECT client_id, 'clear', clear_id::text,
           format('schedule_date=%s', requested_schedule_date),
           user_id, status, error_code, error_message,
           create_date, create_date, finished_at, finished_at - create_date,
           jsonb_build_object('job_schedules_deleted', job_schedules_deleted, 'items_deleted', items_deleted,
                              'list_entries_deleted', list_entries_deleted),
           NULL::integer, NULL::integer, NULL::text, NULL::text, NULL::bigint
    FROM backout.job_schedule_clear
    UNION ALL
    SELECT client_id, 'discard', discard_id::text,
           format('records=%s exclusion_reason_cd=%s', records_requested, exclusion_reason_cd),
           requested_by, CASE WHEN error_code IN (0, 23001) THEN 'COMPLETED' ELSE 'ERROR' END,
           error_code::text, error_msg, created_at, created_at, created_at, interval '0',
           jsonb_build_object('records_requested', records_requested, 'records_discarded', records_discarded,
                              'records_failed', records_failed),
           NULL::integer, NULL::integer, NULL::text, NULL::text, NULL::bigint
    FROM backout.discard_request
) AS o
ORDER BY created_at DESC, operation, operation_id;

-- functions of 0.3.0 (as generated by pgrx)
/* <begin connected objects> */
-- src/backout.rs:310
-- pg_backout::backout::backout_usage_file_transactions
CREATE OR REPLACE FUNCTION "backout_usage_file_transactions"(
	"file_names" TEXT, /* Option < & str > */
	"client_id" bigint, /* Option < i64 > */
	"user_id" TEXT, /* Option < & str > */
	"undo_billing" bool DEFAULT false, /* Option < bool > */
	"backout_batch_id" uuid DEFAULT NULL /* Option < Uuid > */
) RETURNS TABLE (
	"backout_batch_id" uuid,  /* Option < Uuid > */
	"file_names" TEXT,  /* Option < String > */
	"client_id" bigint,  /* Option < i64 > */
	"status" TEXT,  /* String */
	"error_message" TEXT,  /* Option < String > */
	"error_code" TEXT,  /* Option < String > */
	"files_not_found" TEXT  /* Option < String > */
)
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'backout_usage_file_transactions_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- src/batch_api.rs:195
-- pg_backout::batch_api::cancel_batch
CREATE OR REPLACE FUNCTION "cancel_batch"(
	"batch_id" uuid, /* Option < Uuid > */
	"client_id" bigint /* Option < i64 > */
) RETURNS TABLE (
	"batch_id" uuid,  /* Option < Uuid > */
	"status" TEXT,  /* String */
	"error_code" TEXT,  /* Option < String > */
	"error_message" TEXT,  /* Option < String > */
	"client_id" bigint  /* Option < i64 > */
)
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'cancel_batch_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- src/batch_api.rs:43
-- pg_backout::batch_api::claim_batch
CREATE OR REPLACE FUNCTION "claim_batch"(
	"client_id" bigint DEFAULT NULL /* Option < i64 > */
) RETURNS uuid /* Option < Uuid > */
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'claim_batch_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- src/clear.rs:129
-- pg_backout::clear::clear_job_schedule
CREATE OR REPLACE FUNCTION "clear_job_schedule"(
	"client_id" bigint, /* Option < i64 > */
	"schedule_date" TEXT, /* Option < & str > */
	"dry_run" bool DEFAULT false /* Option < bool > */
) RETURNS TABLE (
	"status" TEXT,  /* String */
	"error_code" TEXT,  /* Option < String > */
	"error_message" TEXT,  /* Option < String > */
	"client_id" bigint,  /* Option < i64 > */
	"job_schedules" bigint,  /* i64 */
	"job_schedule_items" bigint,  /* i64 */
	"job_schedule_list_entries" bigint,  /* i64 */
	"dry_run" bool  /* Option < bool > */
)
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'clear_job_schedule_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- src/aria_core.rs:386
-- pg_backout::aria_core::discard_usage
CREATE OR REPLACE FUNCTION "discard_usage"(
	"client_no" bigint, /* Option < i64 > */
	"usage_record_no" bigint[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < i64 > > > */
	"client_record_id" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"exclusion_reason_cd" bigint DEFAULT NULL, /* Option < i64 > */
	"exclusion_comment" TEXT DEFAULT NULL, /* Option < & str > */
	"alt_caller_id" TEXT DEFAULT NULL, /* Option < & str > */
	"optional_transaction_qualifiers" jsonb DEFAULT NULL /* Option < JsonB > */
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
-- src/undo.rs:179
-- pg_backout::undo::get_undo_job_schedule_status
CREATE OR REPLACE FUNCTION "get_undo_job_schedule_status"(
	"batch_id" uuid, /* Option < Uuid > */
	"client_id" bigint /* Option < i64 > */
) RETURNS TABLE (
	"undo_batch_id" uuid,  /* Option < Uuid > */
	"status" TEXT,  /* String */
	"total_count" bigint,  /* Option < i64 > */
	"error_code" TEXT,  /* Option < String > */
	"error_message" TEXT,  /* Option < String > */
	"client_id" bigint  /* Option < i64 > */
)
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'get_undo_job_schedule_status_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- src/backout.rs:367
-- pg_backout::backout::get_usage_file_txns_backout_status
CREATE OR REPLACE FUNCTION "get_usage_file_txns_backout_status"(
	"backout_batch_id" uuid, /* Option < Uuid > */
	"client_id" bigint /* Option < i64 > */
) RETURNS TABLE (
	"backout_batch_id" uuid,  /* Option < Uuid > */
	"file_names" TEXT,  /* Option < String > */
	"client_id" bigint,  /* Option < i64 > */
	"user_id" TEXT,  /* Option < String > */
	"status" TEXT,  /* String */
	"transactions_deleted" bigint,  /* Option < i64 > */
	"cdr_stats_deleted" bigint,  /* Option < i64 > */
	"create_date" timestamp,  /* Option < Timestamp > */
	"update_date" timestamp,  /* Option < Timestamp > */
	"error_code" TEXT,  /* Option < String > */
	"error_message" TEXT,  /* Option < String > */
	"files_not_found" TEXT,  /* Option < String > */
	"billing_records_reversed" bigint,  /* Option < i64 > */
	"accounts_reset" bigint  /* Option < i64 > */
)
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'get_usage_file_txns_backout_status_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- src/aria_core.rs:733
-- pg_backout::aria_core::get_usage_history
CREATE OR REPLACE FUNCTION "get_usage_history"(
	"client_no" bigint, /* Option < i64 > */
	"acct_no" bigint DEFAULT NULL, /* Option < i64 > */
	"client_acct_id" TEXT DEFAULT NULL, /* Option < & str > */
	"specified_usage_type_no" bigint DEFAULT NULL, /* Option < i64 > */
	"specified_usage_type_code" TEXT DEFAULT NULL, /* Option < & str > */
	"date_range_start" TEXT DEFAULT NULL, /* Option < & str > */
	"date_range_end" TEXT DEFAULT NULL, /* Option < & str > */
	"usage_qualifier_1" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"usage_qualifier_2" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"usage_qualifier_3" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"usage_qualifier_4" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"limit_records" bigint DEFAULT NULL, /* Option < i64 > */
	"offset_records" bigint DEFAULT NULL, /* Option < i64 > */
	"invoice_no" bigint DEFAULT NULL, /* Option < i64 > */
	"retrieve_excluded_usage" TEXT DEFAULT 'false', /* Option < & str > */
	"client_record_id" TEXT DEFAULT NULL, /* Option < & str > */
	"billed_filter" bigint DEFAULT 0, /* Option < i64 > */
	"after_usage_rec_no" bigint DEFAULT NULL /* Option < i64 > */
) RETURNS TABLE (
	"error_code" bigint,  /* i64 */
	"error_msg" TEXT,  /* String */
	"usage_history_recs" jsonb,  /* Option < JsonB > */
	"filtered_usage_count" bigint  /* Option < i64 > */
)
STABLE PARALLEL RESTRICTED
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'get_usage_history_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- src/dates.rs:97
-- pg_backout::dates::parse_usage_timestamp
CREATE OR REPLACE FUNCTION "parse_usage_timestamp"(
	"value" TEXT /* & str */
) RETURNS timestamp /* Option < Timestamp > */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'parse_usage_timestamp_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- src/backout.rs:666
-- pg_backout::backout::preview_backout_usage_file_transactions
CREATE OR REPLACE FUNCTION "preview_backout_usage_file_transactions"(
	"file_names" TEXT, /* Option < & str > */
	"client_id" bigint, /* Option < i64 > */
	"undo_billing" bool DEFAULT false /* Option < bool > */
) RETURNS TABLE (
	"file_name" TEXT,  /* String */
	"found" bool,  /* bool */
	"transactions" bigint,  /* i64 */
	"billed_transactions" bigint,  /* i64 */
	"cdr_stats" bigint,  /* i64 */
	"units" NUMERIC,  /* AnyNumeric */
	"amount" NUMERIC,  /* AnyNumeric */
	"accounts" bigint,  /* i64 */
	"billing_batch_ids" bigint[],  /* Vec < i64 > */
	"billing_records_to_reverse" bigint,  /* i64 */
	"accounts_to_reset" bigint,  /* i64 */
	"job_schedules_to_delete" bigint,  /* i64 */
	"action" TEXT  /* String */
)
STABLE PARALLEL RESTRICTED
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'preview_backout_usage_file_transactions_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- src/ingest.rs:412
-- pg_backout::ingest::process_staged_usage_file
CREATE OR REPLACE FUNCTION "process_staged_usage_file"(
	"client_id" bigint, /* Option < i64 > */
	"file_name" TEXT /* Option < & str > */
) RETURNS TABLE (
	"file_name" TEXT,  /* Option < String > */
	"records_processed" bigint,  /* Option < i64 > */
	"status" TEXT,  /* String */
	"error_message" TEXT,  /* Option < String > */
	"records_skipped" bigint,  /* Option < i64 > */
	"total_amount" NUMERIC,  /* Option < AnyNumeric > */
	"error_code" TEXT,  /* Option < String > */
	"client_id" bigint  /* Option < i64 > */
)
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'process_staged_usage_file_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- src/ingest.rs:384
-- pg_backout::ingest::process_usage_file
CREATE OR REPLACE FUNCTION "process_usage_file"(
	"client_id" bigint, /* Option < i64 > */
	"file_name" TEXT, /* Option < & str > */
	"records" jsonb /* Option < RawJsonb > */
) RETURNS TABLE (
	"file_name" TEXT,  /* Option < String > */
	"records_processed" bigint,  /* Option < i64 > */
	"status" TEXT,  /* String */
	"error_message" TEXT,  /* Option < String > */
	"records_skipped" bigint,  /* Option < i64 > */
	"total_amount" NUMERIC,  /* Option < AnyNumeric > */
	"error_code" TEXT,  /* Option < String > */
	"client_id" bigint  /* Option < i64 > */
)
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'process_usage_file_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- src/batch_api.rs:226
-- pg_backout::batch_api::prune_audit
CREATE OR REPLACE FUNCTION "prune_audit"(
	"older_than" interval DEFAULT '90 days' /* Option < Interval > */
) RETURNS TABLE (
	"audit_table" TEXT,  /* String */
	"rows_deleted" bigint  /* i64 */
)
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'prune_audit_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- src/billing.rs:261
-- pg_backout::billing::run_billing
CREATE OR REPLACE FUNCTION "run_billing"(
	"client_id" bigint, /* Option < i64 > */
	"billing_date" TEXT /* Option < & str > */
) RETURNS TABLE (
	"billing_batch_id" bigint,  /* Option < i64 > */
	"status" TEXT,  /* String */
	"accounts_billed" bigint,  /* Option < i64 > */
	"error_message" TEXT,  /* Option < String > */
	"error_code" TEXT,  /* Option < String > */
	"client_id" bigint,  /* Option < i64 > */
	"billing_date" date,  /* Option < Date > */
	"records_written" bigint,  /* Option < i64 > */
	"total_amount" NUMERIC  /* Option < AnyNumeric > */
)
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'run_billing_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- src/batch_api.rs:54
-- pg_backout::batch_api::run_claimed_batch
CREATE OR REPLACE FUNCTION "run_claimed_batch"() RETURNS TEXT /* Option < String > */
STRICT VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'run_claimed_batch_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- src/batch_api.rs:21
-- pg_backout::batch_api::run_next_batch
CREATE OR REPLACE FUNCTION "run_next_batch"(
	"client_id" bigint DEFAULT NULL /* Option < i64 > */
) RETURNS TABLE (
	"kind" TEXT,  /* String */
	"batch_id" uuid,  /* Uuid */
	"client_id" bigint,  /* i64 */
	"status" TEXT  /* String */
)
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'run_next_batch_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- src/undo.rs:142
-- pg_backout::undo::undo_job_schedule
CREATE OR REPLACE FUNCTION "undo_job_schedule"(
	"billing_date" TEXT, /* Option < & str > */
	"client_id" bigint, /* Option < i64 > */
	"discard_usage" bool DEFAULT false, /* Option < bool > */
	"user_id" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS TABLE (
	"undo_batch_id" uuid,  /* Option < Uuid > */
	"status" TEXT,  /* String */
	"error_code" TEXT,  /* Option < String > */
	"error_message" TEXT,  /* Option < String > */
	"client_id" bigint  /* Option < i64 > */
)
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'undo_job_schedule_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- src/batch_api.rs:78
-- pg_backout::batch_api::wait_for_batch
CREATE OR REPLACE FUNCTION "wait_for_batch"(
	"batch_id" uuid, /* Option < Uuid > */
	"timeout" interval DEFAULT '5 minutes' /* Option < Interval > */
) RETURNS TEXT /* String */
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'wait_for_batch_wrapper';
/* </end connected objects> */

-- sql/privileges.sql of 0.3.0
-- Who may do what, per tenant (SPEC §6).  Runs last in CREATE EXTENSION (and in the upgrade to 0.3.0).
--
-- * Group roles: backout_reader (status functions, previews, direct reads of its clients' rows),
--   backout_operator (reader + every operation that changes data), backout_admin (grants entitlements;
--   member of operator WITH ADMIN OPTION so that grant_client can hand out the groups).  backout_worker is
--   the LOGIN role the background runners connect as; it holds no privilege of its own.
-- * Entitlements: rows (role, client, level) in backout.entitlement, managed with grant_client/revoke_client.
--   Membership in a group gives function privileges; an entitlement row gives the tenant.
-- * Row-level security on every table with client_id: an entitled role sees (reader) and writes (operator)
--   only its clients' rows.  The extension's owner and superusers bypass it.
-- * PUBLIC has nothing: no USAGE on the schema, no EXECUTE on any function, no privilege on any table.

-- The group roles are cluster-wide and may already exist: created by this extension in another database
-- (or before a DROP EXTENSION), they carry the marker comment and are adopted; any other role of that name
-- could be someone's way in, and is refused.
DO $roles$
DECLARE
    r record;
    marker constant text := 'pg_backout role %s (created by CREATE EXTENSION pg_backout)';
BEGIN
    FOR r IN SELECT * FROM (VALUES ('backout_reader', false), ('backout_operator', false),
                                   ('backout_admin', false), ('backout_worker', true)) AS v(name, login)
    LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r.name) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I %s INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS',
                                      r.name, CASE WHEN r.login THEN 'LOGIN' ELSE 'NOLOGIN' END);
            EXECUTE pg_catalog.format('COMMENT ON ROLE %I IS %L', r.name, pg_catalog.format(marker, r.name));
        ELSIF NOT EXISTS (SELECT FROM pg_catalog.pg_roles a
                          WHERE a.rolname = r.name
                            AND pg_catalog.shobj_description(a.oid, 'pg_authid') = pg_catalog.format(marker, r.name)
                            AND a.rolcanlogin = r.login AND NOT a.rolsuper AND NOT a.rolcreaterole
                            AND NOT a.rolcreatedb AND NOT a.rolreplication AND NOT a.rolbypassrls) THEN
            RAISE EXCEPTION 'role "%" already exists and was not created by pg_backout', r.name
                USING ERRCODE = 'duplicate_object',
                      HINT = 'pg_backout creates its group roles backout_reader, backout_operator, backout_admin and backout_worker itself; rename or drop the existing role, then CREATE EXTENSION again.';
        END IF;
    END LOOP;
    -- operator includes reader; admin hands both out (grant_client), so it holds them WITH ADMIN OPTION
    IF NOT pg_catalog.pg_has_role('backout_operator', 'backout_reader', 'MEMBER') THEN
        GRANT backout_reader TO backout_operator;
    END IF;
    IF NOT pg_catalog.pg_has_role('backout_admin', 'backout_operator', 'MEMBER WITH ADMIN OPTION') THEN
        GRANT backout_operator TO backout_admin WITH ADMIN OPTION;
    END IF;
    IF NOT pg_catalog.pg_has_role('backout_admin', 'backout_reader', 'MEMBER WITH ADMIN OPTION') THEN
        GRANT backout_reader TO backout_admin WITH ADMIN OPTION;
    END IF;
END
$roles$;

---------------------------------------------------------------------------------------------------------
-- Entitlements
---------------------------------------------------------------------------------------------------------

CREATE TABLE backout.entitlement (
    client_id   bigint CHECK (client_id > 0),      -- NULL = every client (service accounts)
    role        regrole NOT NULL,
    level       text NOT NULL CHECK (level IN ('reader', 'operator')),
    granted_by  text NOT NULL DEFAULT current_user,
    granted_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT entitlement_one_per_client UNIQUE NULLS NOT DISTINCT (client_id, role)
);

-- Every refused call: who tried which function on which client.  Admins read it.
CREATE TABLE backout.access_refusal (
    client_id    bigint NOT NULL,
    refusal_id   bigint GENERATED BY DEFAULT AS IDENTITY,
    role_name    text NOT NULL,
    session_user_name text NOT NULL,
    function_name text NOT NULL,
    level        text NOT NULL,
    refused_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (client_id, refusal_id)
);

-- The checks.  SQL-standard bodies: bound when created (nothing resolves through the caller's search_path)
-- and still inlinable.  They evaluate current_user, so they are called as the caller, never as an owner.

-- Is the current role entitled to the client at the level (operator includes reader)?  Superusers are.
CREATE FUNCTION backout.entitled(p_client_id bigint, p_level text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT COALESCE((SELECT a.rolsuper FROM pg_catalog.pg_roles a WHERE a.rolname = CURRENT_USER), false)
        OR EXISTS (SELECT FROM backout.entitlement e
                   WHERE (e.client_id IS NULL OR e.client_id = p_client_id)
                     AND (e.level = 'operator' OR p_level = 'reader')
                     AND pg_catalog.pg_has_role(e.role::oid, 'USAGE'));
END;

-- Is the current role entitled to every client at the level?  (Row-level security, once per statement.)
CREATE FUNCTION backout.entitled_to_all(p_level text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT EXISTS (SELECT FROM backout.entitlement e
                   WHERE e.client_id IS NULL
                     AND (e.level = 'operator' OR p_level = 'reader')
                     AND pg_catalog.pg_has_role(e.role::oid, 'USAGE'));
END;

-- The clients the current role is entitled to at the level, one by one.  (Row-level security.)
CREATE FUNCTION backout.entitled_clients(p_level text) RETURNS bigint[]
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT COALESCE(pg_catalog.array_agg(DISTINCT e.client_id), '{}'::bigint[])
    FROM backout.entitlement e
    WHERE e.client_id IS NOT NULL
      AND (e.level = 'operator' OR p_level = 'reader')
      AND pg_catalog.pg_has_role(e.role::oid, 'USAGE');
END;

-- Grant `role` the level on a client (NULL: on every client), and membership in the level's group role.
-- Returns what was granted, as text.
CREATE FUNCTION backout.grant_client(role regrole, client_id bigint, level text) RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_name name := (SELECT a.rolname FROM pg_roles a WHERE a.oid = $1);
    v_group name := 'backout_' || $3;
BEGIN
    IF $1 IS NULL OR $3 IS NULL THEN
        RAISE EXCEPTION 'grant_client: role and level are required (client_id NULL means every client)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF $3 NOT IN ('reader', 'operator') THEN
        RAISE EXCEPTION 'grant_client: level must be ''reader'' or ''operator'', not %', quote_literal($3)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF $2 IS NOT NULL AND $2 <= 0 THEN
        RAISE EXCEPTION 'grant_client: client_id must be positive (or NULL for every client), not %', $2
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF v_name IS NULL OR v_name IN ('backout_reader', 'backout_operator', 'backout_admin', 'backout_worker') THEN
        RAISE EXCEPTION 'grant_client: % is not a role to entitle; entitle the roles of people and services', $1
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT pg_has_role(v_name, v_group, 'MEMBER') THEN
        EXECUTE format('GRANT %I TO %I', v_group, v_name);
    END IF;
    INSERT INTO backout.entitlement AS e (role, client_id, level)
    VALUES ($1, $2, $3)
    ON CONFLICT ON CONSTRAINT entitlement_one_per_client
    DO UPDATE SET level = excluded.level, granted_by = excluded.granted_by, granted_at = excluded.granted_at;
    RETURN format('%s: %s of %s', v_name, $3, coalesce('client ' || $2, 'every client'));
END
$$;

-- Remove `role`'s entitlement on a client (NULL: its every-client entitlement).  Group memberships stay
-- (the role may hold other clients).  Returns the number of entitlements removed (0 or 1).
CREATE FUNCTION backout.revoke_client(role regrole, client_id bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    removed bigint;
BEGIN
    IF $1 IS NULL THEN
        RAISE EXCEPTION 'revoke_client: role is required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DELETE FROM backout.entitlement e WHERE e.role = $1 AND e.client_id IS NOT DISTINCT FROM $2;
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END
$$;

CREATE VIEW backout.entitlements WITH (security_invoker = true) AS
SELECT e.role::text AS role_name, e.client_id, e.client_id IS NULL AS all_clients, e.level, e.granted_by, e.granted_at
FROM backout.entitlement e
ORDER BY 1, e.client_id NULLS FIRST;

---------------------------------------------------------------------------------------------------------
-- Row-level security on every table with client_id
---------------------------------------------------------------------------------------------------------

-- Entitlements: a role sees the rows of the roles whose privileges it has; admins see and write all.
ALTER TABLE backout.entitlement ENABLE ROW LEVEL SECURITY;
CREATE POLICY entitlement_own ON backout.entitlement FOR SELECT
    USING (pg_catalog.pg_has_role(role::oid, 'USAGE'));
CREATE POLICY entitlement_admin ON backout.entitlement
    USING (pg_catalog.pg_has_role('backout_admin', 'USAGE'))
    WITH CHECK (pg_catalog.pg_has_role('backout_admin', 'USAGE'));

ALTER TABLE backout.access_refusal ENABLE ROW LEVEL SECURITY;
CREATE POLICY access_refusal_admin ON backout.access_refusal FOR SELECT
    USING (pg_catalog.pg_has_role('backout_admin', 'USAGE'));

-- Tenant tables: read at reader level, write at operator level.  The entitlement lookups are uncorrelated
-- subqueries, so each runs once per statement (an InitPlan), not once per row.
DO $rls$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
             JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = 'client_id' AND NOT a.attisdropped
             WHERE c.relnamespace = 'backout'::regnamespace AND c.relkind = 'r'
               AND c.relname NOT IN ('entitlement', 'access_refusal')
             ORDER BY c.relname
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
        EXECUTE pg_catalog.format($p$CREATE POLICY tenant_read ON %s FOR SELECT USING (
            (SELECT backout.entitled_to_all('reader')) OR client_id = ANY (CAST((SELECT backout.entitled_clients('reader')) AS bigint[])))$p$, t);
        EXECUTE pg_catalog.format($p$CREATE POLICY tenant_write ON %s USING (
            (SELECT backout.entitled_to_all('operator')) OR client_id = ANY (CAST((SELECT backout.entitled_clients('operator')) AS bigint[])))$p$, t);
    END LOOP;
END
$rls$;

---------------------------------------------------------------------------------------------------------
-- Privileges
---------------------------------------------------------------------------------------------------------

REVOKE ALL ON SCHEMA backout FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA backout FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA backout FROM PUBLIC;
REVOKE ALL ON ALL ROUTINES IN SCHEMA backout FROM PUBLIC;
GRANT USAGE ON SCHEMA backout TO backout_reader, backout_admin;

-- Views run with the reader's rights, so row-level security applies through them.
ALTER VIEW backout.operations SET (security_invoker = true);

-- Readers: every tenant table (filtered), the operations view, their own entitlements.
GRANT SELECT ON ALL TABLES IN SCHEMA backout TO backout_reader;
REVOKE SELECT ON backout.access_refusal, backout.lock_salt FROM backout_reader;
GRANT EXECUTE ON FUNCTION
    backout.entitled(bigint, text), backout.entitled_to_all(text), backout.entitled_clients(text),
    backout.get_undo_job_schedule_status(uuid, bigint),
    backout.get_usage_file_txns_backout_status(uuid, bigint),
    backout.preview_backout_usage_file_transactions(text, bigint, boolean),
    backout.wait_for_batch(uuid, interval),
    backout.get_usage_history(bigint, bigint, text, bigint, text, text, text, text[], text[], text[], text[],
                              bigint, bigint, bigint, text, text, bigint, bigint)
TO backout_reader;

-- Operators: master data and the bulk staging table directly (their clients only), and every operation.
-- The operations write the billing tables with the operator's own rights; the audit and status rows of
-- the asynchronous operations are written by the extension on their behalf, never directly.
GRANT INSERT, UPDATE, DELETE ON
    backout.client, backout.account, backout.billing_profile, backout.usage_type, backout.price_offer,
    backout.commitment_contract, backout.usage_staging,
    backout.usage_file, backout.usage_txn, backout.commitment_balance, backout.billing_batch, backout.invoice,
    backout.billing_record, backout.billing_balance_snapshot,
    backout.job_schedule, backout.job_schedule_item, backout.job_schedule_list
TO backout_operator;
GRANT EXECUTE ON FUNCTION
    backout.process_usage_file(bigint, text, jsonb),
    backout.process_staged_usage_file(bigint, text),
    backout.run_billing(bigint, text),
    backout.undo_job_schedule(text, bigint, boolean, text),
    backout.backout_usage_file_transactions(text, bigint, text, boolean, uuid),
    backout.clear_job_schedule(bigint, text, boolean),
    backout.run_next_batch(bigint),
    backout.claim_batch(bigint),
    backout.run_claimed_batch(),
    backout.cancel_batch(uuid, bigint),
    backout.discard_usage(bigint, bigint[], text[], bigint, text, text, jsonb),
    backout.price_offer_in_force(bigint, bigint, bigint, date),
    backout.advance_bill_date(date, smallint),
    backout.parse_usage_timestamp(text)
TO backout_operator;
GRANT EXECUTE ON PROCEDURE backout.run_pending_batches(bigint, bigint) TO backout_operator;

-- Admins: entitlements and the refusal log.
GRANT SELECT, INSERT, UPDATE, DELETE ON backout.entitlement TO backout_admin;
GRANT SELECT ON backout.access_refusal, backout.entitlements TO backout_admin;
GRANT EXECUTE ON FUNCTION backout.grant_client(regrole, bigint, text), backout.revoke_client(regrole, bigint),
                          backout.prune_audit(interval)
TO backout_admin;
