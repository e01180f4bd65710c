-- Audit/status rows of the asynchronous operations (SPEC §3).  A row is the request and its status:
-- submission writes it PROCESSING (or ERROR when rejected), a runner claims it with
-- FOR NO KEY UPDATE SKIP LOCKED and flips it to COMPLETED in the transaction that does the work, or to ERROR
-- once the work has been rolled back.  Requests without a client_id are answered but not recorded: a row
-- belongs to a tenant and is only ever read back by (batch id, client id).

-- The rows the operations lock instead of advisory keys (src/locks.rs): one per client ('client', ''),
-- per (client, file) ('file', name) and per retried backout id ('backout_batch', id), created on first
-- use.  Readable and lockable by the extension's owner only: no other role can hold one to stall a client.
CREATE TABLE backout.lock_row (
    client_id bigint NOT NULL,
    lock_kind text NOT NULL,
    lock_name text NOT NULL,
    PRIMARY KEY (client_id, lock_kind, lock_name)
);
-- A client's lock row exists from the client's creation, so that a new client's first operations do not
-- wait for each other on its creation.  SECURITY DEFINER: operators create clients; only the owner writes
-- lock_row.
CREATE FUNCTION backout.create_client_lock_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $lock$
BEGIN
    INSERT INTO backout.lock_row (client_id, lock_kind, lock_name)
    SELECT n.client_id, 'client', '' FROM new_clients n ORDER BY 1
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$lock$;
CREATE TRIGGER create_client_lock_row AFTER INSERT ON backout.client
    REFERENCING NEW TABLE AS new_clients FOR EACH STATEMENT EXECUTE FUNCTION backout.create_client_lock_row();

-- Submission order of every batch of every kind: a client's batches run one at a time in this order.
CREATE SEQUENCE backout.batch_queue_seq;

CREATE TABLE backout.undo_batch (
    client_id              bigint NOT NULL,
    undo_batch_id          uuid NOT NULL DEFAULT gen_random_uuid(),
    billing_date           date,                -- NULL when the requested date was not a date
    requested_billing_date text,                -- as given
    discard_usage          boolean NOT NULL DEFAULT false,
    user_id                text NOT NULL,
    status                 text NOT NULL CHECK (status IN ('PROCESSING', 'COMPLETED', 'ERROR')),
    total_count            bigint NOT NULL DEFAULT 0,  -- billing records reversed
    billing_batches        bigint NOT NULL DEFAULT 0,  -- billing runs undone
    accounts_reset         bigint NOT NULL DEFAULT 0,  -- billing pointers rolled back
    usage_unbilled         bigint NOT NULL DEFAULT 0,  -- usage marked unbilled (discard_usage = false)
    usage_deleted          bigint NOT NULL DEFAULT 0,  -- usage deleted (discard_usage = true)
    cdr_stats_deleted      bigint NOT NULL DEFAULT 0,  -- usage_file rows deleted (discard_usage = true)
    error_code             text,
    error_message          text,
    create_date            timestamptz NOT NULL DEFAULT now(),
    start_date             timestamptz,         -- when its last run started
    update_date            timestamptz,
    run_as                 regrole NOT NULL DEFAULT quote_ident(current_user)::regrole,  -- the submitter: runs with its rights
    -- the engine's bookkeeping (src/batches.rs)
    queue_seq              bigint NOT NULL DEFAULT nextval('backout.batch_queue_seq'),  -- submission order, every kind
    run_attempts           integer NOT NULL DEFAULT 0,  -- runs started (a run whose runner died counts)
    next_attempt_at        timestamptz,         -- not before (a retry after a transient failure)
    last_error             text,                -- why the last attempt failed, while it is retried
    error_sqlstate         text,                -- SQLSTATE of the database error behind error_message/last_error
    runner_pid             integer,             -- the process running it now
    PRIMARY KEY (client_id, undo_batch_id)
);
-- only one undo PROCESSING per client; also the runners' queue
CREATE UNIQUE INDEX undo_batch_one_processing ON backout.undo_batch (client_id) WHERE status = 'PROCESSING';
-- wait_for_batch looks a batch up by id alone; an id names one request of one client
CREATE UNIQUE INDEX undo_batch_id_idx ON backout.undo_batch (undo_batch_id);

CREATE TABLE backout.backout_batch (
    client_id                bigint NOT NULL,
    backout_batch_id         uuid NOT NULL DEFAULT gen_random_uuid(),
    file_names               text,              -- as given
    file_list                text[],            -- parsed, duplicates removed, in the order given
    user_id                  text,              -- as given (required; NULL only on a rejected request)
    submitted_by             text NOT NULL DEFAULT session_user,
    undo_billing             boolean NOT NULL DEFAULT false,
    status                   text NOT NULL CHECK (status IN ('PROCESSING', 'COMPLETED', 'ERROR')),
    transactions_deleted     bigint NOT NULL DEFAULT 0,
    cdr_stats_deleted        bigint NOT NULL DEFAULT 0,
    files_not_found          text,              -- comma-separated, NULL when every file was found
    billing_records_reversed bigint NOT NULL DEFAULT 0,
    accounts_reset           bigint NOT NULL DEFAULT 0,
    error_code               text,
    error_message            text,
    attempts                 integer NOT NULL DEFAULT 1,  -- submissions under this id (retries overwrite)
    create_date              timestamptz NOT NULL DEFAULT now(),
    start_date               timestamptz,
    update_date              timestamptz,
    run_as                   regrole NOT NULL DEFAULT quote_ident(current_user)::regrole,  -- the submitter: runs with its rights
    -- the engine's bookkeeping (src/batches.rs)
    queue_seq                bigint NOT NULL DEFAULT nextval('backout.batch_queue_seq'),  -- submission order, every kind
    run_attempts             integer NOT NULL DEFAULT 0,  -- runs started (a run whose runner died counts)
    next_attempt_at          timestamptz,         -- not before (a retry after a transient failure)
    last_error               text,                -- why the last attempt failed, while it is retried
    error_sqlstate           text,                -- SQLSTATE of the database error behind error_message/last_error
    runner_pid               integer,             -- the process running it now
    PRIMARY KEY (client_id, backout_batch_id)
);
-- the runners' queue
CREATE INDEX backout_batch_processing_idx ON backout.backout_batch (client_id) WHERE status = 'PROCESSING';
-- wait_for_batch looks a batch up by id alone.  Not unique: the id is given by the caller, and names one
-- request of one client (another client may have used the same id; the key is the primary key's).
CREATE INDEX backout_batch_id_idx ON backout.backout_batch (backout_batch_id);

-- One backout per (client, file): an accepted backout claims each of its files here, and its runner
-- releases the claims in the transaction that records COMPLETED or ERROR.  The primary key makes a second
-- claim of a file wait for the first claimant's transaction and then fail, in one session or two.
CREATE TABLE backout.backout_file_claim (
    client_id        bigint NOT NULL,
    file_name        text NOT NULL,
    backout_batch_id uuid NOT NULL,
    PRIMARY KEY (client_id, file_name)
);
CREATE INDEX backout_file_claim_batch_idx ON backout.backout_file_claim (backout_batch_id);

-- Cancellation requests (backout.cancel_batch) of batches being run: the runner, interrupted, finds the
-- request here and ends the batch ERROR / CANCELLED.  Removed when the batch ends.
CREATE TABLE backout.batch_cancel (
    client_id    bigint NOT NULL,
    batch_id     uuid NOT NULL,
    requested_by text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, batch_id)
);

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

-- Every post_usage_events and void_usage_events call that changed data or was refused whole (Gotransverse,
-- src/usage_events.rs): who, which mode, how many events were posted, overwritten, voided and erred.
CREATE TABLE backout.usage_event_request (
    client_id           bigint NOT NULL,
    request_id          uuid NOT NULL,               -- the request_id of the call's rated events
    operation           text NOT NULL CHECK (operation IN ('post', 'void')),
    mode                text,
    requested_by        text NOT NULL,               -- posted_by / voided_by, else the session user
    role_name           text NOT NULL,               -- the role in effect
    events_requested    bigint NOT NULL DEFAULT 0,   -- events posted, or criteria given
    events_posted       bigint NOT NULL DEFAULT 0,
    events_overwritten  bigint NOT NULL DEFAULT 0,
    events_voided       bigint NOT NULL DEFAULT 0,
    events_erred        bigint NOT NULL DEFAULT 0,
    error_message       text,                        -- a call refused whole
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, request_id)
);

-- Voided usage events, kept when the client's retain_voided_usage was true at voiding time (SPEC §4.2):
-- every field of the event as it was, its charge, who voided it, when and why (VOID, or OVERWRITE by a
-- post of the same pair).  Each void is a row of its own; a pair voided three times has three.
CREATE TABLE backout.voided_usage_event (
    client_id               bigint NOT NULL,
    voided_usage_event_id   bigint GENERATED BY DEFAULT AS IDENTITY,
    usage_event_id          bigint NOT NULL,         -- the usage record number (usage_txn.txn_id) it had
    acct_no                 bigint NOT NULL,
    service_resource_identifier text,                -- the account's client_acct_id
    usage_type_no           bigint NOT NULL,
    usage_type_code         text NOT NULL,
    usage_uom               text,                    -- the usage type's unit
    start_time              timestamp NOT NULL,
    usage_amount            numeric NOT NULL,
    unit_price              numeric NOT NULL,
    total_charge            numeric NOT NULL,
    reference_id            text NOT NULL,
    sequence_id             text NOT NULL,
    overwrite_counter       integer NOT NULL DEFAULT 0,
    sid                     bigint,
    posted_at               timestamptz NOT NULL,
    voided_by               text NOT NULL,
    voided_at               timestamptz NOT NULL DEFAULT now(),
    void_reason             text NOT NULL CHECK (void_reason IN ('VOID', 'OVERWRITE')),
    request_id              uuid NOT NULL,           -- the call that voided it (usage_event_request)
    PRIMARY KEY (client_id, voided_usage_event_id)
);
-- get_voided_usage_events by pair, oldest first
CREATE INDEX voided_usage_event_pair_idx
    ON backout.voided_usage_event (client_id, reference_id, sequence_id, voided_usage_event_id);

-- A billing run reversed by an undo (or a backout with undo_billing) stays as history, status UNDONE.
ALTER TABLE backout.billing_batch
    ADD COLUMN undone_at timestamptz,
    ADD COLUMN undone_by_batch_id uuid;

-- Audit of clear_job_schedule (it is irreversible): who cleared which date, when, and exactly what was
-- deleted (the job schedules, items and work-unit entries with their payloads), or why it was refused.
CREATE TABLE backout.job_schedule_clear (
    client_id               bigint NOT NULL,
    clear_id                bigint GENERATED BY DEFAULT AS IDENTITY,
    schedule_date           timestamp,          -- NULL when the requested date was not a date
    requested_schedule_date text,               -- as given
    user_id                 text NOT NULL DEFAULT session_user,
    status                  text NOT NULL CHECK (status IN ('COMPLETED', 'ERROR')),
    job_schedules_deleted   bigint NOT NULL DEFAULT 0,
    items_deleted           bigint NOT NULL DEFAULT 0,
    list_entries_deleted    bigint NOT NULL DEFAULT 0,
    -- {"job_schedules": [...], "items": [...], "list_entries": [...]}, the rows as they were; json, not
    -- jsonb: kept as built (building jsonb costs three times as much for a date with 10,000 entries)
    deleted                 json,
    error_code              text,
    error_message           text,
    create_date             timestamptz NOT NULL DEFAULT now(),
    finished_at             timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (client_id, clear_id)
);

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

-- backout.operations: every undo, backout, clear, discard and usage event call, the one place a DBA
-- looks, newest first.  Batches being run show their runner's pid (its pg_stat_activity query says which
-- step it is at), their attempts so far and the last transient error they are being retried after.  Its
-- text is built from the registry of batch kinds (src/batches.rs, src/batch_api.rs): a kind is in it by
-- being registered.  `\d+ backout.operations` shows it.
SELECT backout.define_operations_view();
