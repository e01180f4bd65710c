-- Audit/status rows of the asynchronous operations (SPEC §3).  A row is the request and its status:
-- submission writes it PROCESSING (or ERROR when rejected), a runner claims it with
-- FOR UPDATE SKIP LOCKED and flips it to COMPLETED in the transaction that does the work, or to ERROR
-- once the work has been rolled back.  Requests without a client_id are answered but not recorded: a row
-- belongs to a tenant and is only ever read back by (batch id, client id).

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
    create_date            timestamp NOT NULL DEFAULT localtimestamp,
    start_date             timestamp,           -- when the run that finished it started
    update_date            timestamp,
    PRIMARY KEY (client_id, undo_batch_id)
);
-- only one undo PROCESSING per client; also the runners' queue
CREATE UNIQUE INDEX undo_batch_one_processing ON backout.undo_batch (client_id) WHERE status = 'PROCESSING';
-- wait_for_batch looks a batch up by id alone
CREATE INDEX undo_batch_id_idx ON backout.undo_batch (undo_batch_id);

CREATE TABLE backout.backout_batch (
    client_id                bigint NOT NULL,
    backout_batch_id         uuid NOT NULL DEFAULT gen_random_uuid(),
    file_names               text,              -- as given
    file_list                text[],            -- parsed, duplicates removed, in the order given
    user_id                  text,
    undo_billing             boolean NOT NULL DEFAULT false,
    status                   text NOT NULL CHECK (status IN ('PROCESSING', 'COMPLETED', 'ERROR')),
    transactions_deleted     bigint NOT NULL DEFAULT 0,
    cdr_stats_deleted        bigint NOT NULL DEFAULT 0,
    files_not_found          text,              -- comma-separated, NULL when every file was found
    billing_records_reversed bigint NOT NULL DEFAULT 0,
    accounts_reset           bigint NOT NULL DEFAULT 0,
    error_code               text,
    error_message            text,
    create_date              timestamp NOT NULL DEFAULT localtimestamp,
    start_date               timestamp,
    update_date              timestamp,
    PRIMARY KEY (client_id, backout_batch_id)
);
-- the runners' queue
CREATE INDEX backout_batch_processing_idx ON backout.backout_batch (client_id) WHERE status = 'PROCESSING';
CREATE INDEX backout_batch_id_idx ON backout.backout_batch (backout_batch_id);

-- A billing run reversed by an undo (or a backout with undo_billing) stays as history, status UNDONE.
ALTER TABLE backout.billing_batch
    ADD COLUMN undone_at timestamptz,
    ADD COLUMN undone_by_batch_id uuid;
