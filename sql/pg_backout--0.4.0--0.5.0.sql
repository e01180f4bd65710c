-- pg_backout 0.4.0 -> 0.5.0: BillRun (issue 19): reset_lines (a third batch kind), get_reset_lines_status,
-- query_lines and query_aggregate with a typed query language; sid on files and staged rows; the batch kinds
-- known from one registry (backout.operations is defined from it by backout.define_operations_view()).
\echo Use "ALTER EXTENSION pg_backout UPDATE TO '0.5.0'" to load this file. \quit

-- sid (BillRun's subscriber id) on staged rows, and usage found by it
ALTER TABLE backout.usage_staging ADD COLUMN sid text;
CREATE INDEX usage_txn_sid_idx ON backout.usage_txn (client_id, sid) WHERE sid IS NOT NULL;

-- BillRun's resets of lines (src/billrun/reset.rs): one row per reset_lines request, a batch kind like undo
-- and backout.  request_key identifies a request (its accounts sorted and without repeats, its cycle, its
-- query): one identical request PROCESSING at a time, by the partial unique index below.
CREATE TABLE backout.reset_batch (
    client_id        bigint NOT NULL,
    reset_batch_id   uuid NOT NULL DEFAULT gen_random_uuid(),
    aid              text,                -- as given
    accounts         bigint[] NOT NULL,   -- the client's accounts among them, sorted, without repeats
    billrun_key      text,                -- YYYYMM; NULL: each account's open cycle
    query            jsonb,               -- as given (the array-of-arrays form)
    request_key      text NOT NULL,       -- md5 of accounts, billrun_key and query
    user_id          text NOT NULL,
    status           text NOT NULL CHECK (status IN ('PROCESSING', 'COMPLETED', 'ERROR')),
    lines_reset      bigint NOT NULL DEFAULT 0,   -- lines re-rated
    accounts_reset   bigint NOT NULL DEFAULT 0,   -- their accounts
    amount_before    numeric NOT NULL DEFAULT 0,  -- their amount before
    amount_after     numeric NOT NULL DEFAULT 0,  -- and after
    lines_skipped    bigint NOT NULL DEFAULT 0,   -- matching lines billed or excluded, left alone
    error_code       text,
    error_message    text,
    create_date      timestamptz NOT NULL DEFAULT now(),
    start_date       timestamptz,
    update_date      timestamptz,
    run_as           regrole NOT NULL DEFAULT quote_ident(current_user)::regrole,  -- the submitter: runs with its rights
    -- the engine's bookkeeping (src/batches.rs)
    queue_seq        bigint NOT NULL DEFAULT nextval('backout.batch_queue_seq'),
    run_attempts     integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    last_error       text,
    error_sqlstate   text,
    runner_pid       integer,
    PRIMARY KEY (client_id, reset_batch_id)
);
-- an identical request while one is PROCESSING gets the running one's id; also the runners' queue
CREATE UNIQUE INDEX reset_batch_identical ON backout.reset_batch (client_id, request_key) WHERE status = 'PROCESSING';
-- wait_for_batch looks a batch up by id alone
CREATE INDEX reset_batch_id_idx ON backout.reset_batch (reset_batch_id);

-- Row-level security and backups for the new table, as sql/privileges.sql does for every table.
ALTER TABLE backout.reset_batch ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON backout.reset_batch FOR SELECT USING (
    (SELECT backout.entitled_to_all('reader')) OR client_id = ANY (CAST((SELECT backout.entitled_clients('reader')) AS bigint[])));
CREATE POLICY tenant_write ON backout.reset_batch USING (
    (SELECT backout.entitled_to_all('operator')) OR client_id = ANY (CAST((SELECT backout.entitled_clients('operator')) AS bigint[])));
REVOKE ALL ON backout.reset_batch FROM PUBLIC;
GRANT SELECT ON backout.reset_batch TO backout_reader;
SELECT pg_catalog.pg_extension_config_dump('backout.reset_batch', '');

-- The new functions, as pgrx generates them.
/* <begin connected objects> */
-- src/batch_api.rs:285
-- pg_backout::batch_api::define_operations_view
CREATE  FUNCTION "define_operations_view"() RETURNS void
STRICT VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'define_operations_view_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- src/billrun/reset.rs:284
-- pg_backout::billrun::reset::reset_lines
CREATE  FUNCTION "reset_lines"(
	"client_id" bigint, /* Option < i64 > */
	"aid" TEXT, /* Option < & str > */
	"billrun_key" TEXT DEFAULT NULL, /* Option < & str > */
	"query" jsonb DEFAULT NULL, /* Option < RawJsonb > */
	"user_id" TEXT DEFAULT NULL, /* Option < & str > */
	"dry_run" bool DEFAULT false /* Option < bool > */
) RETURNS jsonb /* RawJsonb */
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'reset_lines_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- src/billrun/reset.rs:380
-- pg_backout::billrun::reset::get_reset_lines_status
CREATE  FUNCTION "get_reset_lines_status"(
	"reset_batch_id" uuid, /* Option < Uuid > */
	"client_id" bigint /* Option < i64 > */
) RETURNS TABLE (
	"reset_batch_id" uuid,  /* Option < Uuid > */
	"status" TEXT,  /* String */
	"lines_reset" bigint,  /* Option < i64 > */
	"accounts_reset" bigint,  /* Option < i64 > */
	"amount_before" NUMERIC,  /* Option < AnyNumeric > */
	"amount_after" NUMERIC,  /* Option < AnyNumeric > */
	"error_code" TEXT,  /* Option < String > */
	"error_message" TEXT,  /* Option < String > */
	"lines_skipped" bigint,  /* Option < i64 > */
	"client_id" bigint  /* Option < i64 > */
)
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'get_reset_lines_status_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- src/billrun/lines.rs:102
-- pg_backout::billrun::lines::query_lines
CREATE  FUNCTION "query_lines"(
	"client_id" bigint, /* Option < i64 > */
	"aid" TEXT DEFAULT NULL, /* Option < & str > */
	"sid" TEXT DEFAULT NULL, /* Option < & str > */
	"billrun" TEXT DEFAULT NULL, /* Option < & str > */
	"query" jsonb DEFAULT NULL, /* Option < RawJsonb > */
	"from_date" TEXT DEFAULT NULL, /* Option < & str > */
	"to_date" TEXT DEFAULT NULL, /* Option < & str > */
	"size" bigint DEFAULT 1000, /* Option < i64 > */
	"page" bigint DEFAULT 0, /* Option < i64 > */
	"distinct_field" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS jsonb /* RawJsonb */
STABLE PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'query_lines_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- src/billrun/lines.rs:284
-- pg_backout::billrun::lines::query_aggregate
CREATE  FUNCTION "query_aggregate"(
	"client_id" bigint, /* Option < i64 > */
	"aid" TEXT DEFAULT NULL, /* Option < & str > */
	"sid" TEXT DEFAULT NULL, /* Option < & str > */
	"billrun" jsonb DEFAULT NULL, /* Option < RawJsonb > */
	"query" jsonb DEFAULT NULL, /* Option < RawJsonb > */
	"groupby" jsonb DEFAULT NULL, /* Option < RawJsonb > */
	"aggregate" jsonb DEFAULT NULL /* Option < RawJsonb > */
) RETURNS jsonb /* RawJsonb */
STABLE PARALLEL UNSAFE
SET search_path TO pg_catalog, @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'query_aggregate_wrapper';
/* </end connected objects> */

REVOKE ALL ON FUNCTION backout.define_operations_view(), backout.reset_lines(bigint, text, text, jsonb, text, boolean),
    backout.get_reset_lines_status(uuid, bigint),
    backout.query_lines(bigint, text, text, text, jsonb, text, text, bigint, bigint, text),
    backout.query_aggregate(bigint, text, text, jsonb, jsonb, jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    backout.get_reset_lines_status(uuid, bigint),
    backout.query_lines(bigint, text, text, text, jsonb, text, text, bigint, bigint, text),
    backout.query_aggregate(bigint, text, text, jsonb, jsonb, jsonb, jsonb)
TO backout_reader;
GRANT EXECUTE ON FUNCTION backout.reset_lines(bigint, text, text, jsonb, text, boolean) TO backout_operator;

-- backout.operations from the registry of batch kinds: the reset batches join it
SELECT backout.define_operations_view();
