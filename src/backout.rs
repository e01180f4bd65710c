//! Back out usage files processed in error (Allegro `backoutUsageFileTransactions` /
//! `getUsageFileTxnsBackoutStatus`), and preview what a backout would do.
//!
//! Submission validates, claims each named file for the client in `backout.backout_file_claim` (one
//! backout per client and file), records the request in `backout.backout_batch` and returns; a runner then
//! deletes the files' usage with its balance contribution and their stats rows in one transaction (and,
//! with `undo_billing`, first reverses the billing of the accounts that billed that usage).
use crate::access::{self, as_owner, require_client, Level};
use crate::balances::{BUCKET_DELTAS, SUBTRACT_GONE};
use crate::batches::{Batch, Kind, Shown};
use crate::ingest::file_name_problem;
use crate::reply::{first_value, required, Outcome, PlanShape, Rejection};
use crate::reversal::{self, Reversed, Target};
use crate::{locks, worker};
use pgrx::prelude::*;
use pgrx::Uuid;

pub const BACKOUT_IN_PROGRESS: &str = "BACKOUT_IN_PROGRESS";
pub const FILES_IN_PROGRESS: &str =
    "A backout is already running for one or more of these files; retry after it completes.";
pub const BILLED_USAGE: &str = "BILLED_USAGE";
const MAX_FILES: usize = 1000;

pub const KIND: Kind = Kind {
    name: "backout",
    table: "backout.backout_batch",
    id_column: "backout_batch_id",
    run: run_backout,
    release: release_claims,
    shown: Shown {
        request: "format('file_names=%s undo_billing=%s', file_names, undo_billing)",
        user: "coalesce(user_id, submitted_by)",
        counts: "jsonb_build_object('transactions_deleted', transactions_deleted, 'cdr_stats_deleted', cdr_stats_deleted,
                                    'billing_records_reversed', billing_records_reversed, 'accounts_reset', accounts_reset,
                                    'files_not_found', files_not_found, 'attempts', attempts)",
    },
};

/// `file_names` split on commas, checked element by element (1-based in messages), duplicates dropped.
/// Sizes are checked before anything else is parsed: at most MAX_FILES names (counted before duplicates
/// are dropped), of at most 255 characters each.  Linear in the input, and cancellable.
pub fn parse_file_list(file_names: &str) -> Outcome<Vec<String>> {
    const MAX_BYTES: usize = MAX_FILES * (255 * 4 + 1);
    if file_names.len() > MAX_BYTES {
        return Err(Rejection::invalid(format!(
            "file_names is {} bytes long; at most {MAX_FILES} names of at most 255 characters each per backout",
            file_names.len()
        )));
    }
    let names = file_names.bytes().filter(|b| *b == b',').count() + 1;
    if names > MAX_FILES {
        return Err(Rejection::invalid(format!(
            "file_names names {names} files; at most {MAX_FILES} per backout"
        )));
    }
    let mut seen = std::collections::HashSet::new();
    let mut files: Vec<String> = Vec::new();
    for (n, name) in file_names.split(',').enumerate() {
        pgrx::check_for_interrupts!();
        if let Some(problem) = file_name_problem(name) {
            let shown: String = name.chars().take(100).collect();
            return Err(Rejection::invalid(format!(
                "file_names element {} {shown:?} {problem}; give exact file names separated by commas, without spaces or paths",
                n + 1
            )));
        }
        if seen.insert(name) {
            files.push(name.to_owned());
        }
    }
    Ok(files)
}

struct Request<'a> {
    file_names: Option<&'a str>,
    client_id: i64,
    user_id: Option<&'a str>,
    undo_billing: Option<bool>,
    batch_id: Option<Uuid>,
}

/// The request's files, parsed, once every argument is valid.
fn check(request: &Request) -> Outcome<Vec<String>> {
    let files = parse_file_list(required(request.file_names, "file_names")?)?;
    crate::reply::check_user_id(required(request.user_id, "user_id")?)?;
    required(request.undo_billing, "undo_billing")?;
    require_client(
        Some(request.client_id),
        Level::Operator,
        "backout_usage_file_transactions",
    )?;
    Ok(files)
}

/// Where the request is recorded: which audit row, and whether a given id is usable at all.
enum Slot {
    /// A new row (a generated id, or a given id not used yet), or a rewrite of the client's failed request.
    Usable(Uuid),
    /// The given id is this client's completed backout of these files (returned as it is, idempotently),
    /// or of other files (rejected).
    Completed(Uuid, Vec<String>),
    /// The given id cannot be used; the request is recorded under a new id.
    Unusable(Rejection),
}

fn new_id() -> Uuid {
    first_value::<Uuid>("SELECT gen_random_uuid()", &[]).expect("uuid")
}

fn slot(client_id: i64, batch_id: Option<Uuid>) -> Slot {
    let Some(id) = batch_id else {
        return Slot::Usable(new_id());
    };
    locks::lock_backout_batch_id(client_id, id);
    // The id names a request of this client only: another client's request of the same id is none of
    // its business (the answer is the same as for an id never used), and the row is keyed by both.
    let existing = Spi::connect(|spi| {
        let rows = spi
            .select(
                "SELECT status, file_list FROM backout.backout_batch
                 WHERE client_id = $1 AND backout_batch_id = $2",
                Some(1),
                &[client_id.into(), id.into()],
            )
            .expect("backout batch id lookup");
        if rows.is_empty() {
            return None;
        }
        let row = rows.first();
        Some((
            row.get::<String>(1).expect("status").expect("status"),
            row.get::<Vec<String>>(2)
                .expect("file_list")
                .unwrap_or_default(),
        ))
    });
    match existing {
        None => Slot::Usable(id),
        Some((status, _)) if status == "PROCESSING" => Slot::Unusable(Rejection::new(
            BACKOUT_IN_PROGRESS,
            format!("backout batch {id} is still PROCESSING; retry it only after it ends in ERROR"),
        )),
        Some((status, files)) if status == "COMPLETED" => Slot::Completed(id, files),
        Some(_) => Slot::Usable(id),
    }
}

/// Claim every file for the batch; all or none.  A file claimed by a backout still PROCESSING (committed,
/// or earlier in this transaction) makes the claim fail; one being claimed by a concurrent transaction
/// makes it wait for that transaction first.
fn claim_files(client_id: i64, batch_id: Uuid, files: &[String]) -> Outcome<()> {
    let claimed = as_owner(|| {
        Spi::connect_mut(|spi| {
            spi.update(
                "INSERT INTO backout.backout_file_claim (client_id, file_name, backout_batch_id)
             SELECT $1, f, $2 FROM unnest($3::text[]) AS f ORDER BY f COLLATE \"C\"
             ON CONFLICT (client_id, file_name) DO NOTHING
             RETURNING file_name", // counted by the rows returned: Citus reports the rows sent
                None,
                &[client_id.into(), batch_id.into(), files.to_vec().into()],
            )
            .expect("claim files")
            .len()
        })
    });
    if claimed == files.len() {
        // Hold the files until this submission commits: an ingest of one of them waits, then sees the
        // claim and refuses (it would otherwise ingest a file the batch is about to delete).  No client
        // lock: a submission never waits for a billing run or batch of the client.
        locks::lock_files(client_id, files);
        return Ok(());
    }
    as_owner(|| release_claims(client_id, batch_id));
    Err(Rejection::new(BACKOUT_IN_PROGRESS, FILES_IN_PROGRESS))
}

fn release_claims(client_id: i64, batch_id: Uuid) {
    Spi::run_with_args(
        "DELETE FROM backout.backout_file_claim WHERE client_id = $1 AND backout_batch_id = $2",
        &[client_id.into(), batch_id.into()],
    )
    .expect("release file claims");
}

/// The named files of which the client has neither usage nor a stats row, comma-separated; None if all exist.
fn files_not_found(client_id: i64, files: &[String]) -> Option<String> {
    first_value::<String>(
        "SELECT string_agg(f, ',' ORDER BY n) FROM unnest($2::text[]) WITH ORDINALITY AS l(f, n)
         WHERE NOT EXISTS (SELECT FROM backout.usage_file WHERE client_id = $1 AND file_name = f)
           AND NOT EXISTS (SELECT FROM backout.usage_txn WHERE client_id = $1 AND file_name = f)",
        &[client_id.into(), files.to_vec().into()],
    )
}

/// Write the request's audit row under `id`: a new row, or the rewrite of this client's failed request.
/// Written as the owner, with the caller as the role the batch will run as.
fn record(
    request: &Request,
    id: Uuid,
    files: Option<&[String]>,
    outcome: &Outcome<Option<String>>,
) {
    let (status, code, message, not_found) = match outcome {
        Ok(not_found) => ("PROCESSING", None, None, not_found.clone()),
        Err(r) => ("ERROR", Some(r.code), Some(r.message.clone()), None),
    };
    let run_as = access::caller();
    as_owner(|| Spi::run_with_args(
        "INSERT INTO backout.backout_batch AS b (client_id, backout_batch_id, file_names, file_list, user_id,
                                                 undo_billing, status, error_code, error_message, files_not_found,
                                                 update_date, run_as)
         VALUES ($1, $2, $3, $4, $5, coalesce($6, false), $7, $8, $9, $10,
                 CASE WHEN $7 = 'ERROR' THEN now() END, $11::oid::regrole)
         ON CONFLICT (client_id, backout_batch_id) DO UPDATE
            SET file_names = excluded.file_names, file_list = excluded.file_list, user_id = excluded.user_id,
                submitted_by = excluded.submitted_by, run_as = excluded.run_as, undo_billing = excluded.undo_billing,
                status = excluded.status, error_code = excluded.error_code, error_message = excluded.error_message,
                files_not_found = excluded.files_not_found, transactions_deleted = 0, cdr_stats_deleted = 0,
                billing_records_reversed = 0, accounts_reset = 0, attempts = b.attempts + 1,
                create_date = excluded.create_date, start_date = NULL, update_date = excluded.update_date,
                -- a new submission: a fresh attempt budget, no error of the last one, the end of the queue
                run_attempts = 0, next_attempt_at = NULL, last_error = NULL, error_sqlstate = NULL,
                runner_pid = NULL, queue_seq = excluded.queue_seq",
        &[
            request.client_id.into(),
            id.into(),
            crate::reply::for_audit(request.file_names).into(),
            files.map(<[String]>::to_vec).into(),
            crate::reply::for_audit(request.user_id).into(),
            request.undo_billing.into(),
            status.into(),
            code.into(),
            message.into(),
            not_found.into(),
            run_as.into(),
        ],
    ))
    .expect("record backout request");
}

/// What the submission answers: id, status, error code and message, files not found.
struct Answer {
    id: Option<Uuid>,
    status: &'static str,
    error: Option<Rejection>,
    files_not_found: Option<String>,
}

fn completed_answer(client_id: i64, id: Uuid) -> Answer {
    Answer {
        id: Some(id),
        status: "COMPLETED",
        error: None,
        files_not_found: first_value::<String>(
            "SELECT files_not_found FROM backout.backout_batch WHERE client_id = $1 AND backout_batch_id = $2",
            &[client_id.into(), id.into()],
        ),
    }
}

/// A rejection that is filed nowhere (the caller does not operate on the client, or it does not exist):
/// the given id is echoed, no row is written and no id is looked up, so the answer is the same whoever
/// owns that id.
fn refused(request: &Request, rejection: Rejection) -> Answer {
    Answer {
        id: request.batch_id,
        status: "ERROR",
        error: Some(rejection),
        files_not_found: None,
    }
}

/// Accept (claims and a PROCESSING row), answer a completed retry as it is, or reject (an ERROR row).
fn submit(request: &Request) -> Answer {
    let checked = check(request);
    if !access::may_file_under(request.client_id) {
        return refused(
            request,
            checked
                .err()
                .unwrap_or_else(|| access::unknown_client(request.client_id)),
        );
    }
    let (id, outcome) = match (slot(request.client_id, request.batch_id), &checked) {
        (Slot::Completed(id, done), Ok(files)) if done == *files => {
            return completed_answer(request.client_id, id)
        }
        (Slot::Completed(id, _), Ok(_)) => (
            new_id(),
            Err(Rejection::invalid(format!(
                "backout batch {id} already COMPLETED for other files; a retry must name the same files"
            ))),
        ),
        (Slot::Completed(..), Err(r)) => (new_id(), Err(r.clone())),
        (Slot::Unusable(r), _) => (new_id(), Err(r)),
        (Slot::Usable(id), Err(r)) => (id, Err(r.clone())),
        (Slot::Usable(id), Ok(files)) => (
            id,
            claim_files(request.client_id, id, files)
                .map(|()| files_not_found(request.client_id, files)),
        ),
    };
    record(request, id, checked.as_deref().ok(), &outcome);
    match outcome {
        Ok(not_found) => {
            worker::start_runner_at_commit();
            Answer {
                id: Some(id),
                status: "PROCESSING",
                error: None,
                files_not_found: not_found,
            }
        }
        Err(r) => Answer {
            id: Some(id),
            status: "ERROR",
            error: Some(r),
            files_not_found: None,
        },
    }
}

/// Submit the backout of `file_names` (comma-separated).  Returns at once; poll
/// `get_usage_file_txns_backout_status` or LISTEN on pg_backout_batch.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn backout_usage_file_transactions(
    file_names: Option<&str>,
    client_id: Option<i64>,
    user_id: Option<&str>,
    undo_billing: default!(Option<bool>, false),
    backout_batch_id: default!(Option<Uuid>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(backout_batch_id, Option<Uuid>),
        name!(file_names, Option<String>),
        name!(client_id, Option<i64>),
        name!(status, String),
        name!(error_message, Option<String>),
        name!(error_code, Option<String>),
        name!(files_not_found, Option<String>),
    ),
> {
    crate::access::as_api(|| {
        let names = file_names.map(str::to_owned);
        let Some(client) = client_id else {
            // nothing to file it under: a row belongs to a tenant
            let r = Rejection::invalid("client_id is required");
            return TableIterator::once((
                backout_batch_id,
                names,
                None,
                "ERROR".into(),
                Some(r.message),
                Some(r.code.into()),
                None,
            ));
        };
        let answer = submit(&Request {
            file_names,
            client_id: client,
            user_id,
            undo_billing,
            batch_id: backout_batch_id,
        });
        let (message, code) = match answer.error {
            Some(r) => (Some(r.message), Some(r.code.to_owned())),
            None => (None, None),
        };
        TableIterator::once((
            answer.id,
            names,
            client_id,
            answer.status.into(),
            message,
            code,
            answer.files_not_found,
        ))
    })
}

/// The status of a backout request of this client.  Another client's batch id reads as unknown.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn get_usage_file_txns_backout_status(
    backout_batch_id: Option<Uuid>,
    client_id: Option<i64>,
) -> TableIterator<
    'static,
    (
        name!(backout_batch_id, Option<Uuid>),
        name!(file_names, Option<String>),
        name!(client_id, Option<i64>),
        name!(user_id, Option<String>),
        name!(status, String),
        name!(transactions_deleted, Option<i64>),
        name!(cdr_stats_deleted, Option<i64>),
        name!(create_date, Option<Timestamp>),
        name!(update_date, Option<Timestamp>),
        name!(error_code, Option<String>),
        name!(error_message, Option<String>),
        name!(files_not_found, Option<String>),
        name!(billing_records_reversed, Option<i64>),
        name!(accounts_reset, Option<i64>),
    ),
> {
    crate::access::as_api(|| {
        let found = access::read_batch_status(
            KIND.name,
            "get_usage_file_txns_backout_status",
            ("backout_batch_id", backout_batch_id),
            client_id,
            read_status,
        );
        TableIterator::once(match found {
            Ok(row) => row,
            Err(r) => (
                backout_batch_id,
                None,
                client_id,
                None,
                "ERROR".into(),
                Some(0),
                Some(0),
                None,
                None,
                Some(r.code.into()),
                Some(r.message),
                None,
                Some(0),
                Some(0),
            ),
        })
    })
}

type StatusRow = (
    Option<Uuid>,
    Option<String>,
    Option<i64>,
    Option<String>,
    String,
    Option<i64>,
    Option<i64>,
    Option<Timestamp>,
    Option<Timestamp>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

fn read_status(batch_id: Uuid, client_id: i64) -> Outcome<StatusRow> {
    let row = Spi::connect(|spi| {
        let rows = spi
            .select(
                "SELECT file_names, user_id, status, transactions_deleted, cdr_stats_deleted, create_date::timestamp,
                        update_date::timestamp, error_code, error_message, files_not_found, billing_records_reversed,
                        accounts_reset
                 FROM backout.backout_batch WHERE client_id = $1 AND backout_batch_id = $2",
                Some(1),
                &[client_id.into(), batch_id.into()],
            )
            .expect("backout status");
        if rows.is_empty() {
            return None;
        }
        let r = rows.first();
        Some((
            Some(batch_id),
            r.get::<String>(1).expect("file_names"),
            Some(client_id),
            r.get::<String>(2).expect("user_id"),
            r.get::<String>(3).expect("status").unwrap_or_default(),
            r.get::<i64>(4).expect("transactions_deleted"),
            r.get::<i64>(5).expect("cdr_stats_deleted"),
            r.get::<Timestamp>(6).expect("create_date"),
            r.get::<Timestamp>(7).expect("update_date"),
            r.get::<String>(8).expect("error_code"),
            r.get::<String>(9).expect("error_message"),
            r.get::<String>(10).expect("files_not_found"),
            r.get::<i64>(11).expect("billing_records_reversed"),
            r.get::<i64>(12).expect("accounts_reset"),
        ))
    });
    let row = row.ok_or_else(|| crate::reply::unknown_batch(KIND.name, batch_id, client_id))?;
    if row.4 == "PROCESSING" {
        worker::start_runner_if_idle();
    }
    Ok(row)
}

// ---------------------------------------------------------------------------------------------------
// The batch

/// The invoices (and their billing batches) that billed usage of the files.
const BILLING_OF_FILES: &str = r#"
    SELECT coalesce(array_agg(DISTINCT u.billing_batch_id), '{}'), coalesce(array_agg(DISTINCT u.invoice_no), '{}')
    FROM backout.usage_txn u
    WHERE u.client_id = $1 AND u.file_name = ANY($2) AND u.invoice_no IS NOT NULL"#;

/// Deletes the files' usage, balance contribution and stats rows.  The last column says why the usage
/// must not be deleted alone when some of it was billed (the caller then rolls the statement back).
const DELETE_FILES: &str = r#"
    WITH gone AS (
        DELETE FROM backout.usage_txn u
         WHERE u.client_id = $1 AND u.file_name = ANY($2)
        RETURNING u.acct_no, u.usage_type_no, u.usage_date, u.units, u.amount, u.is_excluded,
                  u.file_name, u.billing_batch_id),
    {subtract},
    stats AS (
        DELETE FROM backout.usage_file f WHERE f.client_id = $1 AND f.file_name = ANY($2)
        RETURNING 1)
    SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM stats), {deltas},
           (SELECT format('file %s has %s transaction(s) billed by the billing run of %s (billing batch %s); back it out with undo_billing => true to reverse that billing too',
                          g.file_name, count(*), to_char(b.billing_date, 'YYYY-MM-DD'), b.billing_batch_id)
            FROM gone g
            JOIN backout.billing_batch b ON b.client_id = $1 AND b.billing_batch_id = g.billing_batch_id
            GROUP BY g.file_name, b.billing_date, b.billing_batch_id
            ORDER BY g.file_name, b.billing_batch_id
            LIMIT 1)"#;

/// The request as the claim read it (columns of `backout_batch`).
#[derive(serde::Deserialize)]
struct BackoutRequest {
    #[serde(rename = "file_list")]
    files: Vec<String>,
    undo_billing: bool,
}

/// Read after the locks were taken, with a fresh snapshot (the read-write SPI path).
fn billing_of(client_id: i64, files: &[String]) -> Target {
    Spi::connect_mut(|spi| {
        let row = spi
            .update(
                BILLING_OF_FILES,
                Some(1),
                &[client_id.into(), files.to_vec().into()],
            )
            .expect("billing of files")
            .first();
        Target {
            batches: row.get::<Vec<i64>>(1).expect("batches").unwrap_or_default(),
            invoices: row
                .get::<Vec<i64>>(2)
                .expect("invoices")
                .unwrap_or_default(),
        }
    })
}

/// Delete the files' usage (and its balance contribution) and stats rows: (transactions, stats rows).
/// Refused when some of the usage was billed: the whole batch is then rolled back.
fn delete_files(client_id: i64, files: &[String]) -> Outcome<(i64, i64)> {
    let sql = DELETE_FILES
        .replace("{subtract}", SUBTRACT_GONE)
        .replace("{deltas}", BUCKET_DELTAS);
    let deleted = reversal::delete_usage(
        client_id,
        PlanShape::Generic,
        &sql,
        &[client_id.into(), files.to_vec().into()],
    );
    reversal::drop_emptied(client_id, &deleted);
    match deleted.billed {
        Some(problem) => Err(Rejection::new(BILLED_USAGE, problem)),
        None => Ok((deleted.usage, deleted.files)),
    }
}

/// Billing first: reversing it unbills the files' usage (with the rest of the accounts' usage), so that
/// the delete then only takes out usage no billing record refers to.
fn undo_billing_of(client_id: i64, files: &[String], batch: &Batch) -> Outcome<Reversed> {
    let target = billing_of(client_id, files);
    if target.invoices.is_empty() {
        return Ok(Reversed::default());
    }
    reversal::reverse(
        client_id,
        &target,
        false,
        reversal::Reverser {
            kind: KIND.name,
            batch,
        },
    )
}

/// The batch.  Without undo_billing it shares the client with ingest of other files (both lock balance
/// buckets in the same order); with it, it rewrites billing and so holds the client exclusively.
fn run_backout(batch: &Batch) -> Outcome<()> {
    let (client_id, batch_id) = (batch.client_id, batch.batch_id);
    let request: BackoutRequest = batch.request()?;
    crate::batches::report_step("waiting for the client and file locks");
    if request.undo_billing {
        locks::lock_client_exclusive(client_id);
    } else {
        locks::lock_client_shared(client_id);
    }
    locks::lock_files(client_id, &request.files);
    crate::batches::report_step("deleting the files' usage");
    let reversed = if request.undo_billing {
        undo_billing_of(client_id, &request.files, batch)?
    } else {
        Reversed::default()
    };
    let not_found = files_not_found(client_id, &request.files);
    let (transactions, stats) = delete_files(client_id, &request.files)?;
    as_owner(|| {
        Spi::run_with_args(
            "UPDATE backout.backout_batch
            SET transactions_deleted = $3, cdr_stats_deleted = $4, files_not_found = $5,
                billing_records_reversed = $6, accounts_reset = $7
          WHERE client_id = $1 AND backout_batch_id = $2",
            &[
                client_id.into(),
                batch_id.into(),
                transactions.into(),
                stats.into(),
                not_found.into(),
                reversed.billing_records.into(),
                reversed.accounts.into(),
            ],
        )
    })
    .expect("backout counts");
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// The preview (dry run)

/// Per named file, what a backout would do.  $1 = client_id, $2 = file names, $3 = undo_billing.
const PREVIEW: &str = r#"
    WITH named AS (SELECT f, n FROM unnest($2::text[]) WITH ORDINALITY AS l(f, n)),
    usage AS (
        SELECT u.file_name, count(*) AS txns, count(u.invoice_no) AS billed,
               coalesce(sum(u.units), 0) AS units, coalesce(sum(u.amount), 0) AS amount,
               count(DISTINCT u.acct_no) AS accounts,
               coalesce(array_agg(DISTINCT u.billing_batch_id) FILTER (WHERE u.billing_batch_id IS NOT NULL), '{}') AS batches,
               coalesce(array_agg(DISTINCT u.invoice_no) FILTER (WHERE u.invoice_no IS NOT NULL), '{}') AS invoices
        FROM backout.usage_txn u
        WHERE u.client_id = $1 AND u.file_name = ANY($2)
        GROUP BY u.file_name)
    SELECT named.f,
           (usage.file_name IS NOT NULL OR stats.file_name IS NOT NULL),
           coalesce(usage.txns, 0), coalesce(usage.billed, 0), (stats.file_name IS NOT NULL)::int::bigint,
           coalesce(usage.units, 0), coalesce(usage.amount, 0), coalesce(usage.accounts, 0),
           coalesce(usage.batches, '{}'),
           CASE WHEN $3 THEN (SELECT count(*) FROM backout.billing_record r
                              WHERE r.client_id = $1 AND r.billing_batch_id = ANY(usage.batches)
                                AND r.invoice_no = ANY(usage.invoices)) ELSE 0 END,
           CASE WHEN $3 THEN coalesce(cardinality(usage.invoices), 0) ELSE 0 END::bigint,
           CASE WHEN $3 THEN (SELECT count(*) FROM backout.job_schedule js
                              WHERE js.client_id = $1
                                AND js.schedule_date IN (SELECT b.billing_date::timestamp FROM backout.billing_batch b
                                                         WHERE b.client_id = $1 AND b.billing_batch_id = ANY(usage.batches)))
                ELSE 0 END
    FROM named
    LEFT JOIN usage ON usage.file_name = named.f
    LEFT JOIN backout.usage_file stats ON stats.client_id = $1 AND stats.file_name = named.f
    ORDER BY named.n"#;

fn preview_action(found: bool, billed: i64, undo_billing: bool) -> &'static str {
    match (found, billed > 0, undo_billing) {
        (false, _, _) => "NOT_FOUND (skipped)",
        (true, true, false) => "REFUSED (billed usage; needs undo_billing => true)",
        (true, true, true) => "DELETE and UNDO_BILLING",
        (true, false, _) => "DELETE",
    }
}

/// What `backout_usage_file_transactions` would delete and reverse, per named file, changing nothing.
/// Bad input raises an error (SQLSTATE 22023) naming the problem.
#[pg_extern(stable, parallel_restricted)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn preview_backout_usage_file_transactions(
    file_names: Option<&str>,
    client_id: Option<i64>,
    undo_billing: default!(Option<bool>, false),
) -> TableIterator<
    'static,
    (
        name!(file_name, String),
        name!(found, bool),
        name!(transactions, i64),
        name!(billed_transactions, i64),
        name!(cdr_stats, i64),
        name!(units, AnyNumeric),
        name!(amount, AnyNumeric),
        name!(accounts, i64),
        name!(billing_batch_ids, Vec<i64>),
        name!(billing_records_to_reverse, i64),
        name!(accounts_to_reset, i64),
        name!(job_schedules_to_delete, i64),
        name!(action, String),
    ),
> {
    crate::access::as_api(|| {
        let checked = required(file_names, "file_names")
            .and_then(parse_file_list)
            .and_then(|files| required(undo_billing, "undo_billing").map(|u| (files, u)))
            .and_then(|(files, u)| {
                require_client(
                    client_id,
                    Level::Reader,
                    "preview_backout_usage_file_transactions",
                )
                .map(|c| (c, files, u))
            });
        let (client, files, undo) = crate::reply::or_raise_invalid(checked);
        let rows = Spi::connect(|spi| {
            spi.select(PREVIEW, None, &[client.into(), files.into(), undo.into()])
                .expect("backout preview")
                .map(|r| {
                    let found = r.get::<bool>(2).expect("found").unwrap_or(false);
                    let billed = r.get::<i64>(4).expect("billed").unwrap_or(0);
                    (
                        r.get::<String>(1).expect("file").unwrap_or_default(),
                        found,
                        r.get::<i64>(3).expect("txns").unwrap_or(0),
                        billed,
                        r.get::<i64>(5).expect("stats").unwrap_or(0),
                        r.get::<AnyNumeric>(6).expect("units").unwrap_or_default(),
                        r.get::<AnyNumeric>(7).expect("amount").unwrap_or_default(),
                        r.get::<i64>(8).expect("accounts").unwrap_or(0),
                        r.get::<Vec<i64>>(9).expect("batches").unwrap_or_default(),
                        r.get::<i64>(10).expect("records").unwrap_or(0),
                        r.get::<i64>(11).expect("accounts").unwrap_or(0),
                        r.get::<i64>(12).expect("schedules").unwrap_or(0),
                        preview_action(found, billed, undo).to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        });
        TableIterator::new(rows)
    })
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::*;
    use crate::reply::INVALID_INPUT;

    #[pg_test]
    fn file_list_is_exact_and_collapses_duplicates() {
        assert_eq!(
            parse_file_list("b.csv,a.csv,b.csv").unwrap(),
            vec!["b.csv".to_owned(), "a.csv".to_owned()]
        );
        assert_eq!(parse_file_list("A.csv").unwrap(), vec!["A.csv".to_owned()]);
    }

    #[pg_test]
    fn malformed_file_lists_name_the_element() {
        for (list, element) in [
            ("a.csv,,b.csv", "element 2 \"\" is empty"),
            (
                "a.csv, b.csv",
                "element 2 \" b.csv\" starts or ends with white space",
            ),
            (
                "dir/a.csv",
                "element 1 \"dir/a.csv\" contains a path separator",
            ),
            ("a.csv,", "element 2 \"\" is empty"),
        ] {
            let r = parse_file_list(list).unwrap_err();
            assert_eq!(r.code, INVALID_INPUT);
            assert!(r.message.contains(element), "{list}: {}", r.message);
        }
    }

    #[pg_test]
    fn at_most_a_thousand_files() {
        let many = (0..1001)
            .map(|n| format!("f{n}"))
            .collect::<Vec<_>>()
            .join(",");
        assert!(parse_file_list(&many).is_err());
        let enough = (0..1000)
            .map(|n| format!("f{n}"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(parse_file_list(&enough).unwrap().len(), 1000);
    }
}
