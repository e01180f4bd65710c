-- pg_backout billing data model (SPEC §2).
-- Every table carries client_id and every key leads with it: an operation touches one client's rows only,
-- and the tables can later be distributed by client_id.  Runs inside CREATE EXTENSION, schema "backout".

---------------------------------------------------------------------------------------------------------
-- Master data (written by users with plain INSERTs)
---------------------------------------------------------------------------------------------------------

CREATE TABLE backout.client (
    client_id           bigint PRIMARY KEY CHECK (client_id > 0),
    name                text NOT NULL CHECK (name <> ''),
    retain_voided_usage boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now()
);
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

CREATE TABLE backout.account (
    client_id      bigint NOT NULL REFERENCES backout.client,
    acct_no        bigint NOT NULL CHECK (acct_no > 0),
    client_acct_id text CHECK (length(client_acct_id) BETWEEN 1 AND 50),
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, acct_no),
    UNIQUE (client_id, client_acct_id)
);
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

-- The billing pointers: the open period is [last_bill_date, next_bill_date).  bill_day (optional) is the
-- anniversary day of month, so that a month-end anniversary does not drift (Jan 31 -> Feb 28 -> Mar 31);
-- when NULL the day of next_bill_date is used.
CREATE TABLE backout.billing_profile (
    client_id      bigint NOT NULL,
    acct_no        bigint NOT NULL,
    last_bill_date date NOT NULL,
    next_bill_date date NOT NULL,
    bill_day       smallint CHECK (bill_day BETWEEN 1 AND 31),
    PRIMARY KEY (client_id, acct_no),
    FOREIGN KEY (client_id, acct_no) REFERENCES backout.account,
    CHECK (last_bill_date < next_bill_date)
);
-- billing run: accounts due on a date
CREATE INDEX billing_profile_next_bill_date_idx ON backout.billing_profile (client_id, next_bill_date);
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

CREATE TABLE backout.usage_type (
    client_id       bigint NOT NULL REFERENCES backout.client,
    usage_type_no   bigint NOT NULL CHECK (usage_type_no > 0),
    usage_type_code text NOT NULL CHECK (length(usage_type_code) BETWEEN 1 AND 30),
    name            text NOT NULL,
    unit            text NOT NULL,
    PRIMARY KEY (client_id, usage_type_no),
    UNIQUE (client_id, usage_type_code)
);
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

-- Unit price per usage type: standard (acct_no NULL, client-wide) or custom (per account).  The price in
-- force on a day is the custom one if any, else the standard one, each the latest effective_from <= day.
CREATE TABLE backout.price_offer (
    client_id      bigint NOT NULL,
    price_offer_id bigint GENERATED BY DEFAULT AS IDENTITY,
    usage_type_no  bigint NOT NULL,
    acct_no        bigint,
    unit_price     numeric NOT NULL CHECK (unit_price >= 0),
    effective_from date NOT NULL DEFAULT '-infinity',
    PRIMARY KEY (client_id, price_offer_id),
    FOREIGN KEY (client_id, usage_type_no) REFERENCES backout.usage_type,
    FOREIGN KEY (client_id, acct_no) REFERENCES backout.account,
    -- also the lookup path of the price in force
    CONSTRAINT price_offer_one_per_day UNIQUE NULLS NOT DISTINCT (client_id, usage_type_no, acct_no, effective_from)
);
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

-- One commitment per account and period [period_start, period_end).  AMOUNT commits to a total usage charge
-- (all usage types); QUANTITY commits to a number of units of one usage type.
CREATE TABLE backout.commitment_contract (
    client_id        bigint NOT NULL,
    acct_no          bigint NOT NULL,
    period_start     date NOT NULL,
    period_end       date NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('AMOUNT', 'QUANTITY')),
    commitment_value numeric NOT NULL CHECK (commitment_value >= 0),
    usage_type_no    bigint,
    PRIMARY KEY (client_id, acct_no, period_start),
    FOREIGN KEY (client_id, acct_no) REFERENCES backout.account,
    FOREIGN KEY (client_id, usage_type_no) REFERENCES backout.usage_type,
    CHECK (period_start < period_end),
    CONSTRAINT commitment_contract_usage_type_only_for_quantity
        CHECK ((kind = 'QUANTITY') = (usage_type_no IS NOT NULL)),
    -- a usage record must count towards one commitment at most (range opclasses: no btree_gist needed)
    CONSTRAINT commitment_contract_no_overlap EXCLUDE USING gist (
        int8range(client_id, client_id, '[]') WITH &&,
        int8range(acct_no, acct_no, '[]') WITH &&,
        daterange(period_start, period_end) WITH &&)
);
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

---------------------------------------------------------------------------------------------------------
-- Usage
---------------------------------------------------------------------------------------------------------

-- CDR file processing stats: one row per processed file.  Its presence makes the name a duplicate.
CREATE TABLE backout.usage_file (
    client_id         bigint NOT NULL REFERENCES backout.client,
    file_name         text NOT NULL,
    records_received  bigint NOT NULL CHECK (records_received >= 0),
    records_processed bigint NOT NULL CHECK (records_processed >= 0),
    records_skipped   bigint NOT NULL CHECK (records_skipped >= 0),
    total_units       numeric NOT NULL,
    total_amount      numeric NOT NULL,
    processed_by      text NOT NULL DEFAULT session_user,
    processed_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, file_name)
);
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

-- Rated usage transactions (usage records / events / lines).  txn_id is the usage_record_no.
-- Rows of a file are not tied to its usage_file row by a foreign key on purpose: an undo with discard
-- removes the billed records and the file's stats row, and re-processing the file then adds only the
-- records that are missing (record-level idempotency on (client_id, file_name, record_key)).
CREATE TABLE backout.usage_txn (
    client_id         bigint NOT NULL,
    txn_id            bigint GENERATED BY DEFAULT AS IDENTITY,
    acct_no           bigint NOT NULL,
    usage_type_no     bigint NOT NULL,
    usage_date        timestamp NOT NULL,
    units             numeric NOT NULL CHECK (units >= 0),
    unit_price        numeric NOT NULL CHECK (unit_price >= 0),
    amount            numeric NOT NULL CHECK (amount >= 0),
    price_offer_id    bigint,
    file_name         text,
    record_key        text,
    client_record_id  text CHECK (length(client_record_id) <= 100),
    qualifier_1       text CHECK (length(qualifier_1) <= 300),
    qualifier_2       text CHECK (length(qualifier_2) <= 300),
    qualifier_3       text CHECK (length(qualifier_3) <= 300),
    qualifier_4       text CHECK (length(qualifier_4) <= 300),
    reference_id      text,
    sequence_id       text,
    billing_batch_id  bigint,
    invoice_no        bigint,
    is_excluded       boolean NOT NULL DEFAULT false,
    exclude_reason_cd integer,
    exclusion_comment text,
    excluded_by       text,
    excluded_at       timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    exclusion_qualifiers jsonb,          -- discard_usage's optional_transaction_qualifiers
    overwrite_counter integer CHECK (overwrite_counter >= 0),  -- an event: how many of its pair it replaced
    sid               bigint,            -- subscriber id (BillRun's sid): optional on files, staged rows and events
    PRIMARY KEY (client_id, txn_id),
    FOREIGN KEY (client_id, acct_no) REFERENCES backout.account,
    FOREIGN KEY (client_id, usage_type_no) REFERENCES backout.usage_type,
    CHECK ((file_name IS NULL) = (record_key IS NULL)),
    CHECK ((billing_batch_id IS NULL) = (invoice_no IS NULL)),
    CHECK (NOT (is_excluded AND billing_batch_id IS NOT NULL)),
    CONSTRAINT usage_txn_event_pair CHECK ((reference_id IS NULL) = (sequence_id IS NULL))
);
-- by file name (backout, duplicate/idempotency check)
CREATE UNIQUE INDEX usage_txn_file_record_key ON backout.usage_txn (client_id, file_name, record_key)
    WHERE file_name IS NOT NULL;  -- events have no file: they leave this index alone (0.4.0)
-- a usage event's (reference_id, sequence_id) names one live event of the client (a voided event leaves
-- usage_txn): concurrent posts of one pair cannot both insert, whatever their interleaving
CREATE UNIQUE INDEX usage_txn_event_key ON backout.usage_txn (client_id, reference_id, sequence_id)
    WHERE reference_id IS NOT NULL;
-- by account and usage date (billing, history, commitment consumption); txn_id last so that a page of
-- get_usage_history (ordered by usage date, then record number) is read straight from the index, and the
-- columns of its usual filters included so that its count and its page walk need no heap access
CREATE INDEX usage_txn_acct_date_idx ON backout.usage_txn (client_id, acct_no, usage_date, txn_id)
    INCLUDE (is_excluded, usage_type_no, invoice_no);
-- by billing batch (undo); partial: most usage waiting for billing is NULL here
CREATE INDEX usage_txn_billing_batch_idx ON backout.usage_txn (client_id, billing_batch_id)
    WHERE billing_batch_id IS NOT NULL;
-- by subscriber (BillRun's queries by sid); partial: most usage has none
CREATE INDEX usage_txn_sid_idx ON backout.usage_txn (client_id, sid) WHERE sid IS NOT NULL;
-- by client record id (discard_usage, history)
CREATE INDEX usage_txn_client_record_id_idx ON backout.usage_txn (client_id, client_record_id)
    WHERE client_record_id IS NOT NULL;
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

-- How many usage records each account has per day, usage type, billed and excluded state: kept exact by the
-- statement triggers below (whoever writes usage_txn, the extension or an operator's own DML), so that
-- get_usage_history counts a million-record account, and skips to a deep page, by summing days instead of
-- walking records.  Rows that fall to zero stay (at most one per key).  Not dumped by pg_dump (derived):
-- a restore's COPY into usage_txn fires the triggers, which count the restored rows.
CREATE TABLE backout.usage_day_count (
    client_id     bigint NOT NULL,
    acct_no       bigint NOT NULL,
    usage_day     date NOT NULL,
    usage_type_no bigint NOT NULL,
    billed        boolean NOT NULL,
    is_excluded   boolean NOT NULL,
    records       bigint NOT NULL,
    PRIMARY KEY (client_id, acct_no, usage_day, usage_type_no, billed, is_excluded)
);
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

-- Adds each statement's net change per key.  Keys are upserted in key order, at the end of the statement:
-- after every usage row and balance bucket lock of ingest, discard and backout, so the lock order stays
-- client, files, records, buckets, day counts and concurrent writers wait, never deadlock.  The transition
-- table is read into an array first, by a statement that names no other table: Citus runs the trigger on the
-- shard and cannot plan a statement that joins a transition table with a distributed one.  SECURITY
-- DEFINER: operators write usage_txn with their own rights, but the counts only through this trigger.
CREATE FUNCTION backout.count_usage_by_day() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $count$
DECLARE
    delta backout.usage_day_count[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(ROW(d.*)::backout.usage_day_count ORDER BY d.client_id, d.acct_no, d.usage_day,
                                                                   d.usage_type_no, d.billed, d.is_excluded)
        INTO delta
        FROM (SELECT n.client_id, n.acct_no, CAST(n.usage_date AS date) AS usage_day, n.usage_type_no,
                     n.invoice_no IS NOT NULL AS billed, n.is_excluded, count(*) AS records
              FROM new_rows n GROUP BY 1, 2, 3, 4, 5, 6) d;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(ROW(d.*)::backout.usage_day_count ORDER BY d.client_id, d.acct_no, d.usage_day,
                                                                   d.usage_type_no, d.billed, d.is_excluded)
        INTO delta
        FROM (SELECT o.client_id, o.acct_no, CAST(o.usage_date AS date) AS usage_day, o.usage_type_no,
                     o.invoice_no IS NOT NULL AS billed, o.is_excluded, -count(*) AS records
              FROM old_rows o GROUP BY 1, 2, 3, 4, 5, 6) d;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(ROW(d.*)::backout.usage_day_count ORDER BY d.client_id, d.acct_no, d.usage_day,
                                                                   d.usage_type_no, d.billed, d.is_excluded)
        INTO delta
        FROM (SELECT x.client_id, x.acct_no, x.usage_day, x.usage_type_no, x.billed, x.is_excluded,
                     sum(x.n)::bigint AS records
              FROM (SELECT n.client_id, n.acct_no, CAST(n.usage_date AS date) AS usage_day, n.usage_type_no,
                           n.invoice_no IS NOT NULL AS billed, n.is_excluded, 1 AS n
                    FROM new_rows n
                    UNION ALL
                    SELECT o.client_id, o.acct_no, CAST(o.usage_date AS date), o.usage_type_no,
                           o.invoice_no IS NOT NULL, o.is_excluded, -1
                    FROM old_rows o) x
              GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(x.n) <> 0) d;
    ELSE  -- TRUNCATE
        TRUNCATE backout.usage_day_count;
        RETURN NULL;
    END IF;
    INSERT INTO backout.usage_day_count AS c (client_id, acct_no, usage_day, usage_type_no, billed, is_excluded, records)
    SELECT * FROM pg_catalog.unnest(delta)  -- in key order
    ON CONFLICT (client_id, acct_no, usage_day, usage_type_no, billed, is_excluded)
    DO UPDATE SET records = c.records + excluded.records;
    RETURN NULL;
END
$count$;
CREATE TRIGGER count_inserted AFTER INSERT ON backout.usage_txn
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION backout.count_usage_by_day();
CREATE TRIGGER count_updated AFTER UPDATE ON backout.usage_txn
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION backout.count_usage_by_day();
CREATE TRIGGER count_deleted AFTER DELETE ON backout.usage_txn
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION backout.count_usage_by_day();
CREATE TRIGGER count_truncated AFTER TRUNCATE ON backout.usage_txn
    FOR EACH STATEMENT EXECUTE FUNCTION backout.count_usage_by_day();

-- The day counts of a client that differ from its usage records, one row per key: the count kept and the
-- records there are.  No row: exact.  They can drift only where the triggers did not fire: writes under
-- session_replication_role = replica, with the triggers disabled, or a data-only restore with
-- --disable-triggers.  Admins (EXECUTE is theirs only); a read, no lock.
CREATE FUNCTION backout.check_usage_day_counts(client_id bigint)
RETURNS TABLE (acct_no bigint, usage_day date, usage_type_no bigint, billed boolean, is_excluded boolean,
               counted bigint, actual bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $check$
#variable_conflict use_column
BEGIN
    IF $1 IS NULL THEN
        RAISE EXCEPTION 'check_usage_day_counts: client_id is required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT acct_no, usage_day, usage_type_no, billed, is_excluded,
           COALESCE(kept.counted, 0)::bigint, COALESCE(counted_now.actual, 0)::bigint
    FROM (SELECT c.acct_no, c.usage_day, c.usage_type_no, c.billed, c.is_excluded, c.records AS counted
          FROM backout.usage_day_count c WHERE c.client_id = $1 AND c.records <> 0) AS kept
    FULL JOIN (SELECT u.acct_no, CAST(u.usage_date AS date) AS usage_day, u.usage_type_no,
                      u.invoice_no IS NOT NULL AS billed, u.is_excluded, count(*) AS actual
               FROM backout.usage_txn u WHERE u.client_id = $1
               GROUP BY 1, 2, 3, 4, 5) AS counted_now
        USING (acct_no, usage_day, usage_type_no, billed, is_excluded)
    WHERE kept.counted IS DISTINCT FROM counted_now.actual
    ORDER BY 1, 2, 3, 4, 5;
END
$check$;

-- Make a client's day counts exact again; returns the number of keys corrected.  Holds usage_txn in SHARE
-- mode meanwhile (every client's writes of usage wait, reads do not): a write counted by its trigger during
-- the rebuild would otherwise be lost or counted twice.  Admins.
CREATE FUNCTION backout.rebuild_usage_day_counts(client_id bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $rebuild$
DECLARE
    corrected bigint;
BEGIN
    IF $1 IS NULL THEN
        RAISE EXCEPTION 'rebuild_usage_day_counts: client_id is required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    LOCK TABLE backout.usage_txn IN SHARE MODE;
    INSERT INTO backout.usage_day_count AS c (client_id, acct_no, usage_day, usage_type_no, billed, is_excluded, records)
    SELECT $1, d.acct_no, d.usage_day, d.usage_type_no, d.billed, d.is_excluded, d.actual
    FROM backout.check_usage_day_counts($1) AS d
    ORDER BY 2, 3, 4, 5, 6
    ON CONFLICT ON CONSTRAINT usage_day_count_pkey
    DO UPDATE SET records = excluded.records;
    GET DIAGNOSTICS corrected = ROW_COUNT;
    RETURN corrected;
END
$rebuild$;

-- Bulk ingest path: COPY rows here (all text, so that bad values are reported by record, not by COPY),
-- then call backout.process_staged_usage_file(client_id, file_name).  Rows of a file are removed when the
-- file is ingested, and kept (for inspection or correction) when it is rejected.
CREATE UNLOGGED TABLE backout.usage_staging (
    client_id        bigint NOT NULL,
    file_name        text NOT NULL,
    staging_id       bigint GENERATED ALWAYS AS IDENTITY,
    record_id        text,
    acct_no          text,
    client_acct_id   text,
    usage_type_code  text,
    usage_date       text,
    units            text,
    client_record_id text,
    qualifier_1      text,
    qualifier_2      text,
    qualifier_3      text,
    qualifier_4      text,
    sid              text,                -- subscriber id (digits), optional (0.4.1)
    PRIMARY KEY (client_id, file_name, staging_id)
);
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

---------------------------------------------------------------------------------------------------------
-- Commitment balances
---------------------------------------------------------------------------------------------------------

-- Balance bucket per commitment contract period.  consumed_* are kept up to date by usage ingest (and
-- by the operations that remove or exclude usage); true_up_* are set by the billing run that closes the
-- period, which snapshots the previous values in billing_balance_snapshot so an undo restores them exactly.
CREATE TABLE backout.commitment_balance (
    client_id        bigint NOT NULL,
    acct_no          bigint NOT NULL,
    period_start     date NOT NULL,
    consumed_amount  numeric NOT NULL DEFAULT 0,
    consumed_units   numeric NOT NULL DEFAULT 0,
    true_up_amount   numeric,
    true_up_batch_id bigint,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, acct_no, period_start),
    FOREIGN KEY (client_id, acct_no, period_start) REFERENCES backout.commitment_contract
);
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

---------------------------------------------------------------------------------------------------------
-- Billing
---------------------------------------------------------------------------------------------------------

CREATE TABLE backout.billing_batch (
    client_id        bigint NOT NULL REFERENCES backout.client,
    billing_batch_id bigint GENERATED BY DEFAULT AS IDENTITY,
    billing_date     date NOT NULL,
    status           text NOT NULL CHECK (status IN ('PROCESSING', 'COMPLETED', 'ERROR', 'UNDONE')),
    accounts_billed  bigint NOT NULL DEFAULT 0,
    records_written  bigint NOT NULL DEFAULT 0,
    total_amount     numeric NOT NULL DEFAULT 0,
    created_by       text NOT NULL DEFAULT session_user,
    created_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz,
    PRIMARY KEY (client_id, billing_batch_id)
);
-- undo: batches of a billing date
CREATE INDEX billing_batch_date_idx ON backout.billing_batch (client_id, billing_date);
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

-- One invoice per billed account and batch.  Its period is the account's pointers before the run
-- ([last_bill_date, next_bill_date)), which is what an undo puts back.
CREATE TABLE backout.invoice (
    client_id        bigint NOT NULL,
    invoice_no       bigint GENERATED BY DEFAULT AS IDENTITY,
    billing_batch_id bigint NOT NULL,
    acct_no          bigint NOT NULL,
    period_start     date NOT NULL,
    period_end       date NOT NULL,
    usage_amount     numeric NOT NULL DEFAULT 0,
    true_up_amount   numeric NOT NULL DEFAULT 0,
    total_amount     numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (client_id, invoice_no),
    FOREIGN KEY (client_id, billing_batch_id) REFERENCES backout.billing_batch,
    FOREIGN KEY (client_id, acct_no) REFERENCES backout.account
);
-- One invoice per account and batch.  Partial (billing_batch_id is NOT NULL anyway, so it binds every row)
-- on purpose: the foreign-key check of every billing line (client_id, invoice_no) must have exactly one index
-- it can use.  With statistics taken while invoice had pages but no live row (after an undo), the planner
-- costs every index that leads with client_id the same, and a full one here won: each line's check then
-- walked all of the client's invoices (a 10,000-invoice run took 20 s to bill and 60 s to undo).  The
-- predicate is implied by the lookups by batch (billing_batch_id = $n), never by the check.
CREATE UNIQUE INDEX invoice_batch_account_key ON backout.invoice (client_id, billing_batch_id, acct_no)
    WHERE billing_batch_id IS NOT NULL;
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

-- usage_txn.invoice_no has no foreign key on purpose: an undo deletes thousands of invoices, and the check
-- of each would need an index on usage_txn (client_id, invoice_no) that billing's true-up query would be
-- lured onto by stale statistics.  billing_batch_id and invoice_no are set and cleared together (CHECK),
-- only by the billing run and its reversal.
ALTER TABLE backout.usage_txn
    ADD FOREIGN KEY (client_id, billing_batch_id) REFERENCES backout.billing_batch;

-- Billing output lines: USAGE_CHARGE per (account, usage type) and TRUE_UP per closed commitment period.
CREATE TABLE backout.billing_record (
    client_id                bigint NOT NULL,
    billing_record_id        bigint GENERATED BY DEFAULT AS IDENTITY,
    billing_batch_id         bigint NOT NULL,
    invoice_no               bigint NOT NULL,
    acct_no                  bigint NOT NULL,
    record_type              text NOT NULL CHECK (record_type IN ('USAGE_CHARGE', 'TRUE_UP')),
    usage_type_no            bigint,
    usage_records            bigint NOT NULL DEFAULT 0,
    units                    numeric NOT NULL DEFAULT 0,
    unit_price               numeric,
    amount                   numeric NOT NULL CHECK (amount >= 0),
    period_start             date NOT NULL,
    period_end               date NOT NULL,
    commitment_period_start  date,
    commitment_kind          text,
    commitment_value         numeric,
    consumed                 numeric,
    created_at               timestamptz NOT NULL DEFAULT now(),
    -- by invoice first: the foreign-key check made for every invoice an undo deletes looks lines up by
    -- (client_id, invoice_no), and this is the one index that can serve it (see invoice_batch_account_key)
    PRIMARY KEY (client_id, invoice_no, billing_record_id),
    FOREIGN KEY (client_id, billing_batch_id) REFERENCES backout.billing_batch,
    FOREIGN KEY (client_id, invoice_no) REFERENCES backout.invoice,
    CHECK ((record_type = 'TRUE_UP') = (commitment_period_start IS NOT NULL))
);
-- by batch (undo, reversal), and by batch and invoice (a run's invoice totals: the full key, so that no
-- plan can read a whole run's lines per invoice).  Partial for the same reason as invoice_batch_account_key:
-- not usable by the foreign-key check by invoice.
CREATE INDEX billing_record_batch_idx ON backout.billing_record (client_id, billing_batch_id, invoice_no)
    WHERE billing_batch_id IS NOT NULL;
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

-- What a billing run changed in commitment_balance, as it was before the run (balance_existed = false:
-- the run created the bucket).
CREATE TABLE backout.billing_balance_snapshot (
    client_id        bigint NOT NULL,
    billing_batch_id bigint NOT NULL,
    acct_no          bigint NOT NULL,
    period_start     date NOT NULL,
    balance_existed  boolean NOT NULL,
    true_up_amount   numeric,
    true_up_batch_id bigint,
    PRIMARY KEY (client_id, billing_batch_id, acct_no, period_start),
    FOREIGN KEY (client_id, billing_batch_id) REFERENCES backout.billing_batch
);
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

---------------------------------------------------------------------------------------------------------
-- Job schedule: a scheduled date's job, its work items and the per-account work units
---------------------------------------------------------------------------------------------------------

CREATE TABLE backout.job_schedule (
    client_id        bigint NOT NULL REFERENCES backout.client,
    job_schedule_id  bigint GENERATED BY DEFAULT AS IDENTITY,
    schedule_date    timestamp NOT NULL CHECK (schedule_date = date_trunc('day', schedule_date)),
    job_type         text NOT NULL,
    status           text NOT NULL CHECK (status IN ('SCHEDULED', 'RUNNING', 'COMPLETED', 'ERROR')),
    billing_batch_id bigint,
    created_by       text NOT NULL DEFAULT session_user,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, job_schedule_id),
    -- one job of a type per date; also the lookup path by schedule date
    UNIQUE (client_id, schedule_date, job_type),
    FOREIGN KEY (client_id, billing_batch_id) REFERENCES backout.billing_batch
);
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

CREATE TABLE backout.job_schedule_item (
    client_id            bigint NOT NULL,
    job_schedule_item_id bigint GENERATED BY DEFAULT AS IDENTITY,
    job_schedule_id      bigint NOT NULL,
    item_type            text NOT NULL,
    status               text NOT NULL CHECK (status IN ('SCHEDULED', 'RUNNING', 'COMPLETED', 'ERROR')),
    work_units           bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (client_id, job_schedule_item_id),
    FOREIGN KEY (client_id, job_schedule_id) REFERENCES backout.job_schedule ON DELETE CASCADE
);
CREATE INDEX job_schedule_item_schedule_idx ON backout.job_schedule_item (client_id, job_schedule_id);
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

CREATE TABLE backout.job_schedule_list (
    client_id            bigint NOT NULL,
    job_schedule_list_id bigint GENERATED BY DEFAULT AS IDENTITY,
    job_schedule_item_id bigint NOT NULL,
    acct_no              bigint NOT NULL,
    status               text NOT NULL CHECK (status IN ('SCHEDULED', 'RUNNING', 'COMPLETED', 'ERROR')),
    payload              jsonb NOT NULL,
    PRIMARY KEY (client_id, job_schedule_list_id),
    FOREIGN KEY (client_id, job_schedule_item_id) REFERENCES backout.job_schedule_item ON DELETE CASCADE
);
CREATE INDEX job_schedule_list_item_idx ON backout.job_schedule_list (client_id, job_schedule_item_id);
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
