//! Undo a completed billing run (Allegro `undoJobSchedule` / `getUndoJobScheduleStatus`).
//!
//! Submission validates, records the request in `backout.undo_batch` (`PROCESSING`, or `ERROR` when
//! rejected) and returns; a runner reverses every completed billing batch of the client and date in one
//! transaction holding the client's exclusive lock.
use crate::access::{self, as_owner, require_client, Level};
use crate::batches::{holds_nothing, Batch, Kind, Shown, SYSTEM_ERROR};
use crate::billing::parse_billing_date;
use crate::reply::{first_value, required, Outcome, Rejection};
use crate::reversal::{self, Target};
use crate::{locks, worker};
use pgrx::prelude::*;
use pgrx::Uuid;

pub const UNDO_IN_PROGRESS: &str = "UNDO_IN_PROGRESS";
pub const NO_BILLING_BATCH: &str = "No billing batch found for the given billing date";

pub const KIND: Kind = Kind {
    name: "undo",
    table: "backout.undo_batch",
    id_column: "undo_batch_id",
    run: run_undo,
    release: holds_nothing,
    shown: Shown {
        request: "format('billing_date=%s discard_usage=%s', requested_billing_date, discard_usage)",
        user: "user_id",
        counts: "jsonb_build_object('billing_records_reversed', total_count, 'billing_batches', billing_batches,
                                    'accounts_reset', accounts_reset, 'usage_unbilled', usage_unbilled,
                                    'usage_deleted', usage_deleted, 'cdr_stats_deleted', cdr_stats_deleted)",
    },
};

struct Request<'a> {
    client_id: Option<i64>,
    billing_date: Option<&'a str>,
    discard_usage: Option<bool>,
    user_id: Option<&'a str>,
}

fn reject_without_completed_run(client_id: i64, day: Date) -> Outcome<()> {
    let found = first_value::<bool>(
        "SELECT true FROM backout.billing_batch
         WHERE client_id = $1 AND billing_date = $2 AND status = 'COMPLETED' LIMIT 1",
        &[client_id.into(), day.into()],
    );
    match found {
        Some(true) => Ok(()),
        _ => Err(Rejection::new(SYSTEM_ERROR, NO_BILLING_BATCH)),
    }
}

fn check(request: &Request) -> Outcome<(i64, Date, bool)> {
    let day = parse_billing_date(request.billing_date, "billing_date")?;
    let discard = required(request.discard_usage, "discard_usage")?;
    if let Some(user) = request.user_id {
        crate::reply::check_user_id(user)?;
    }
    let client_id = require_client(request.client_id, Level::Operator, "undo_job_schedule")?;
    reject_without_completed_run(client_id, day)?;
    Ok((client_id, day, discard))
}

/// Insert the request's row; `None` when another undo of the client is already PROCESSING.
fn insert_processing(client_id: i64, day: Date, request: &Request, discard: bool) -> Option<Uuid> {
    let run_as = access::caller();
    as_owner(|| {
        first_value::<Uuid>(
            "INSERT INTO backout.undo_batch (client_id, billing_date, requested_billing_date, discard_usage, user_id,
                                             status, run_as)
             VALUES ($1, $2, $3, $4, coalesce($5, session_user), 'PROCESSING', $6::oid::regrole)
             ON CONFLICT (client_id) WHERE status = 'PROCESSING' DO NOTHING
             RETURNING undo_batch_id",
            &[
                client_id.into(),
                day.into(),
                crate::reply::for_audit(request.billing_date).into(),
                discard.into(),
                request.user_id.into(),
                run_as.into(),
            ],
        )
    })
}

fn undo_in_progress(client_id: i64) -> Rejection {
    let running = first_value::<String>(
        "SELECT undo_batch_id::text FROM backout.undo_batch WHERE client_id = $1 AND status = 'PROCESSING'",
        &[client_id.into()],
    )
    .unwrap_or_default();
    Rejection::new(
        UNDO_IN_PROGRESS,
        format!("An undo is already PROCESSING for client {client_id} (undo_batch_id {running}); wait for it to reach COMPLETED or ERROR"),
    )
}

/// Record a rejected request, when it may be filed under its client (see `access::may_file_under`).
fn insert_rejected(request: &Request, rejection: &Rejection) -> Option<Uuid> {
    let client_id = request.client_id.filter(|c| access::may_file_under(*c))?;
    let run_as = access::caller();
    as_owner(|| {
        first_value::<Uuid>(
            "INSERT INTO backout.undo_batch (client_id, billing_date, requested_billing_date, discard_usage, user_id,
                                             status, error_code, error_message, update_date, run_as)
             VALUES ($1, CASE WHEN $6 THEN $2::text::date END, $2, coalesce($3, false), coalesce($4, session_user),
                     'ERROR', $5, $7, now(), $8::oid::regrole)
             RETURNING undo_batch_id",
            &[
                client_id.into(),
                crate::reply::for_audit(request.billing_date).into(),
                request.discard_usage.into(),
                crate::reply::for_audit(request.user_id).into(),
                rejection.code.into(),
                request.billing_date.and_then(crate::dates::parse_day).is_some().into(),
                rejection.message.clone().into(),
                run_as.into(),
            ],
        )
    })
}

/// Accept (PROCESSING) or reject (ERROR) a request; both are recorded when the client is known.
fn submit(request: &Request) -> (Option<Uuid>, Outcome<()>) {
    let accepted = check(request).and_then(|(client_id, day, discard)| {
        insert_processing(client_id, day, request, discard)
            .ok_or_else(|| undo_in_progress(client_id))
    });
    match accepted {
        Ok(id) => {
            worker::start_runner_at_commit();
            (Some(id), Ok(()))
        }
        Err(rejection) => (insert_rejected(request, &rejection), Err(rejection)),
    }
}

/// Submit the undo of the billing run(s) of `billing_date`.  Returns at once; poll
/// `get_undo_job_schedule_status` or LISTEN on pg_backout_batch.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn undo_job_schedule(
    billing_date: Option<&str>,
    client_id: Option<i64>,
    discard_usage: default!(Option<bool>, false),
    user_id: default!(Option<&str>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(undo_batch_id, Option<Uuid>),
        name!(status, String),
        name!(error_code, Option<String>),
        name!(error_message, Option<String>),
        name!(client_id, Option<i64>),
    ),
> {
    crate::access::as_api(|| {
        let request = Request {
            client_id,
            billing_date,
            discard_usage,
            user_id,
        };
        let (id, outcome) = submit(&request);
        TableIterator::once(match outcome {
            Ok(()) => (id, "PROCESSING".into(), None, None, client_id),
            Err(r) => (
                id,
                "ERROR".into(),
                Some(r.code.into()),
                Some(r.message),
                client_id,
            ),
        })
    })
}

/// The status of an undo request of this client.  Another client's batch id reads as unknown.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn get_undo_job_schedule_status(
    batch_id: Option<Uuid>,
    client_id: Option<i64>,
) -> TableIterator<
    'static,
    (
        name!(undo_batch_id, Option<Uuid>),
        name!(status, String),
        name!(total_count, Option<i64>),
        name!(error_code, Option<String>),
        name!(error_message, Option<String>),
        name!(client_id, Option<i64>),
    ),
> {
    crate::access::as_api(|| {
        let found = access::read_batch_status(
            KIND.name,
            "get_undo_job_schedule_status",
            ("batch_id", batch_id),
            client_id,
            read_status,
        );
        TableIterator::once(match found {
            Ok(row) => row,
            Err(r) => (
                batch_id,
                "ERROR".into(),
                Some(0),
                Some(r.code.into()),
                Some(r.message),
                client_id,
            ),
        })
    })
}

type StatusRow = (
    Option<Uuid>,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

fn read_status(batch_id: Uuid, client_id: i64) -> Outcome<StatusRow> {
    let row = Spi::connect(|spi| {
        let rows = spi
            .select(
                "SELECT status, total_count, error_code, error_message FROM backout.undo_batch
                 WHERE client_id = $1 AND undo_batch_id = $2",
                Some(1),
                &[client_id.into(), batch_id.into()],
            )
            .expect("undo status");
        if rows.is_empty() {
            return None;
        }
        let r = rows.first();
        Some((
            Some(batch_id),
            r.get::<String>(1).expect("status").unwrap_or_default(),
            r.get::<i64>(2).expect("total_count"),
            r.get::<String>(3).expect("error_code"),
            r.get::<String>(4).expect("error_message"),
            Some(client_id),
        ))
    });
    let row = row.ok_or_else(|| crate::reply::unknown_batch(KIND.name, batch_id, client_id))?;
    if row.1 == "PROCESSING" {
        worker::start_runner_if_idle();
    }
    Ok(row)
}

/// What an undo of the date would reverse, per completed billing batch (ids in $3): its invoices and
/// their total, its lines, and the usage it billed (unbilled, or deleted with discard_usage, with the files
/// whose stats rows would go).
const PREVIEW: &str = r#"
    SELECT b.billing_batch_id, inv.invoices, inv.accounts, inv.amount,
           (SELECT count(*) FROM backout.billing_record r
             WHERE r.client_id = $1 AND r.billing_batch_id = b.billing_batch_id) AS billing_records,
           u.records, u.units, u.amount, u.files,
           (SELECT count(*) FROM backout.job_schedule js
             WHERE js.client_id = $1 AND js.schedule_date = $2::timestamp) AS job_schedules
    FROM unnest($3::bigint[]) AS b(billing_batch_id)
    CROSS JOIN LATERAL (
        SELECT count(*) AS invoices, count(DISTINCT i.acct_no) AS accounts, coalesce(sum(i.total_amount), 0) AS amount
        FROM backout.invoice i WHERE i.client_id = $1 AND i.billing_batch_id = b.billing_batch_id) inv
    CROSS JOIN LATERAL (
        SELECT count(*) AS records, coalesce(sum(t.units), 0) AS units, coalesce(sum(t.amount), 0) AS amount,
               coalesce(array_agg(DISTINCT t.file_name ORDER BY t.file_name) FILTER (WHERE t.file_name IS NOT NULL),
                        '{}') AS files
        FROM backout.usage_txn t WHERE t.client_id = $1 AND t.billing_batch_id = b.billing_batch_id) u
    ORDER BY b.billing_batch_id"#;

/// What `undo_job_schedule` would reverse (and with `discard_usage`, delete), one row per completed billing
/// batch of the date, changing nothing; no row when the date has no completed run.  Bad input raises an
/// error (SQLSTATE 22023) with the message the submission would give.
#[pg_extern(stable, parallel_restricted)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn preview_undo_job_schedule(
    billing_date: Option<&str>,
    client_id: Option<i64>,
    discard_usage: default!(Option<bool>, false),
) -> TableIterator<
    'static,
    (
        name!(billing_batch_id, i64),
        name!(invoices, i64),
        name!(accounts, i64),
        name!(invoice_amount, AnyNumeric),
        name!(billing_records, i64),
        name!(usage_records, i64),
        name!(usage_units, AnyNumeric),
        name!(usage_amount, AnyNumeric),
        name!(usage_files, Vec<String>),
        name!(job_schedules_to_delete, i64),
        name!(action, String),
    ),
> {
    crate::access::as_api(|| {
        let checked = parse_billing_date(billing_date, "billing_date").and_then(|day| {
            let discard = required(discard_usage, "discard_usage")?;
            let client = require_client(client_id, Level::Reader, "preview_undo_job_schedule")?;
            Ok((client, day, discard))
        });
        let (client, day, discard) = crate::reply::or_raise_invalid(checked);
        let target = target(client, day);
        let action = match reversal::billed_again(client, &target) {
            Some(problem) => format!(
                "REFUSED ({BILLED_AGAIN}: {problem})",
                BILLED_AGAIN = reversal::BILLED_AGAIN
            ),
            None if discard => "UNDO and DELETE USAGE".to_owned(),
            None => "UNDO and UNBILL USAGE".to_owned(),
        };
        let rows = Spi::connect(|spi| {
            spi.select(
                PREVIEW,
                None,
                &[client.into(), day.into(), target.batches.into()],
            )
            .expect("undo preview")
            .map(|r| {
                (
                    r.get::<i64>(1).expect("batch").unwrap_or(0),
                    r.get::<i64>(2).expect("invoices").unwrap_or(0),
                    r.get::<i64>(3).expect("accounts").unwrap_or(0),
                    r.get::<AnyNumeric>(4).expect("amount").unwrap_or_default(),
                    r.get::<i64>(5).expect("records").unwrap_or(0),
                    r.get::<i64>(6).expect("usage").unwrap_or(0),
                    r.get::<AnyNumeric>(7).expect("units").unwrap_or_default(),
                    r.get::<AnyNumeric>(8)
                        .expect("usage amount")
                        .unwrap_or_default(),
                    r.get::<Vec<String>>(9).expect("files").unwrap_or_default(),
                    r.get::<i64>(10).expect("schedules").unwrap_or(0),
                    action.clone(),
                )
            })
            .collect::<Vec<_>>()
        });
        TableIterator::new(rows)
    })
}

/// The request as the claim read it (columns of `undo_batch`).
#[derive(serde::Deserialize)]
struct UndoRequest {
    #[serde(deserialize_with = "crate::batches::day")]
    billing_date: Date,
    discard_usage: bool,
}

/// Every invoice of the client's completed billing batches of the date (read after the client lock was
/// taken, with a fresh snapshot: the read-write SPI path).
fn target(client_id: i64, day: Date) -> Target {
    Spi::connect_mut(|spi| {
        let row = spi
            .update(
                "SELECT coalesce(array_agg(DISTINCT b.billing_batch_id), '{}'),
                        coalesce(array_agg(i.invoice_no) FILTER (WHERE i.invoice_no IS NOT NULL), '{}')
                 FROM backout.billing_batch b
                 LEFT JOIN backout.invoice i ON i.client_id = $1 AND i.billing_batch_id = b.billing_batch_id
                 WHERE b.client_id = $1 AND b.billing_date = $2 AND b.status = 'COMPLETED'",
                Some(1),
                &[client_id.into(), day.into()],
            )
            .expect("undo target")
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

/// The batch: under the client's exclusive lock, reverse every completed run of the date.
fn run_undo(batch: &Batch) -> Outcome<()> {
    let (client_id, batch_id) = (batch.client_id, batch.batch_id);
    let request: UndoRequest = batch.request()?;
    crate::batches::report_step("waiting for the client lock");
    locks::lock_client_exclusive(client_id);
    crate::batches::report_step("reversing billing");
    let target = target(client_id, request.billing_date);
    if target.batches.is_empty() {
        return Err(Rejection::new(SYSTEM_ERROR, NO_BILLING_BATCH));
    }
    let done = reversal::reverse(
        client_id,
        &target,
        request.discard_usage,
        reversal::Reverser {
            kind: KIND.name,
            batch,
        },
    )?;
    as_owner(|| {
        Spi::run_with_args(
            "UPDATE backout.undo_batch
            SET total_count = $3, billing_batches = $4, accounts_reset = $5, usage_unbilled = $6,
                usage_deleted = $7, cdr_stats_deleted = $8
          WHERE client_id = $1 AND undo_batch_id = $2",
            &[
                client_id.into(),
                batch_id.into(),
                done.billing_records.into(),
                (target.batches.len() as i64).into(),
                done.accounts.into(),
                done.usage_unbilled.into(),
                done.usage_deleted.into(),
                done.files_deleted.into(),
            ],
        )
    })
    .expect("undo counts");
    Ok(())
}
