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
COMMENT ON TABLE backout.lock_row IS
    'Rows the operations lock instead of advisory locks: one per client (lock_kind client), per client and '
    'file (file) and per retried backout id (backout_batch), created on first use. Holds no data: readable '
    'and lockable by the extension''s owner only, not dumped.';
COMMENT ON COLUMN backout.lock_row.client_id IS 'The client the lock belongs to.';
COMMENT ON COLUMN backout.lock_row.lock_kind IS 'client, file or backout_batch.';
COMMENT ON COLUMN backout.lock_row.lock_name IS
    'Empty for client; the file name for file; the batch id for backout_batch.';

-- A client's lock row exists from the client's creation, so that a new client's first operations do not
-- wait for each other on its creation.  SECURITY DEFINER: operators create clients; only the owner writes
-- lock_row.
CREATE FUNCTION backout.create_client_lock_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $lock$
DECLARE
    ids bigint[] := (SELECT array_agg(n.client_id ORDER BY n.client_id) FROM new_clients n);
BEGIN
    -- the transition table read alone first (Citus cannot join it with a distributed table on the shard)
    INSERT INTO backout.lock_row (client_id, lock_kind, lock_name)
    SELECT i, 'client', '' FROM pg_catalog.unnest(ids) AS i
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
-- wait_for_batch looks a batch up by id alone.  Not unique (0.6.0), as backout_batch_id_idx: the key is
-- (client_id, undo_batch_id), the id is drawn by the extension (gen_random_uuid), and a unique index without
-- the client cannot exist on a table distributed by client (tests/citus/NOTES.md, B3)
CREATE INDEX undo_batch_id_idx ON backout.undo_batch (undo_batch_id);
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
COMMENT ON TABLE backout.backout_file_claim IS
    'The files of backouts still PROCESSING, one row per client and file: the one-backout-per-file rule. '
    'Written by a backout''s submission, removed when it ends COMPLETED or ERROR; extension only.';
COMMENT ON COLUMN backout.backout_file_claim.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.backout_file_claim.file_name IS 'The claimed file name.';
COMMENT ON COLUMN backout.backout_file_claim.backout_batch_id IS
    'The PROCESSING backout that claims the file.';

-- Cancellation requests (backout.cancel_batch) of batches being run: the runner, interrupted, finds the
-- request here and ends the batch ERROR / CANCELLED.  Removed when the batch ends.
CREATE TABLE backout.batch_cancel (
    client_id    bigint NOT NULL,
    batch_id     uuid NOT NULL,
    requested_by text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, batch_id)
);
COMMENT ON TABLE backout.batch_cancel IS
    'Cancellation requests (cancel_batch) of batches being run: the interrupted runner finds its request '
    'here and ends the batch ERROR / CANCELLED. Removed when the batch ends; extension only.';
COMMENT ON COLUMN backout.batch_cancel.client_id IS 'The client (tenant) the row belongs to.';
COMMENT ON COLUMN backout.batch_cancel.batch_id IS
    'The batch to cancel (an undo, backout or reset batch id).';
COMMENT ON COLUMN backout.batch_cancel.requested_by IS 'The role that called cancel_batch.';
COMMENT ON COLUMN backout.batch_cancel.requested_at IS 'When the cancel was requested.';

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

-- A billing run reversed by an undo (or a backout with undo_billing) stays as history, status UNDONE.
ALTER TABLE backout.billing_batch
    ADD COLUMN undone_at timestamptz,
    ADD COLUMN undone_by_batch_id uuid;
COMMENT ON COLUMN backout.billing_batch.undone_at IS
    'When an undo or backout reversed the run''s last invoice (status UNDONE); NULL: not undone.';
COMMENT ON COLUMN backout.billing_batch.undone_by_batch_id IS
    'The undo_batch or backout_batch id that undid the run; NULL: not undone.';

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

-- backout.operations: every undo, backout, clear, discard and usage event call, the one place a DBA
-- looks, newest first.  Batches being run show their runner's pid (its pg_stat_activity query says which
-- step it is at), their attempts so far and the last transient error they are being retried after.  Its
-- text is built from the registry of batch kinds (src/batches.rs, src/batch_api.rs): a kind is in it by
-- being registered.  `\d+ backout.operations` shows it.
SELECT backout.define_operations_view();
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
