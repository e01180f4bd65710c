//! Clear a job schedule (Allegro `clearJobSchedule`): synchronous.  Deletes every job schedule of the
//! client and normalised date with its items and work-unit entries, so billing can run for that date again
//! (new accounts); keeps what it deleted in `backout.job_schedule_clear`.
use crate::access::{self, as_owner, require_client, Level};
use crate::batches::SYSTEM_ERROR;
use crate::billing::parse_billing_date;
use crate::locks;
use crate::reply::{first_value, Outcome, Rejection};
use pgrx::prelude::*;

pub const JOB_RUNNING: &str = "JOB_RUNNING";
pub const OPERATION_IN_PROGRESS: &str = "OPERATION_IN_PROGRESS";

/// $1 = client_id, $2 = schedule date (timestamp).  The date's job schedules, items and work-unit entries
/// (every table filtered on the client: Citus then reads the client's shard alone).
const SCHEDULE_ROWS: &str = r#"
    WITH js AS (
        SELECT * FROM backout.job_schedule WHERE client_id = $1 AND schedule_date = $2),
    items AS (
        SELECT i.* FROM backout.job_schedule_item i JOIN js USING (client_id, job_schedule_id) WHERE i.client_id = $1),
    entries AS (
        SELECT l.* FROM backout.job_schedule_list l JOIN items USING (client_id, job_schedule_item_id)
        WHERE l.client_id = $1)"#;

/// The counts only (dry run).
const COUNT: &str = r#"
    SELECT (SELECT count(*) FROM js), (SELECT count(*) FROM items), (SELECT count(*) FROM entries)"#;

/// The audit record of a clear about to happen, with every row it deletes as json, built and stored by
/// the server ($3 = the date as given).  Returns the counts.
const RECORD_CONTENT: &str = r#"
    INSERT INTO backout.job_schedule_clear (client_id, schedule_date, requested_schedule_date, status,
                                            job_schedules_deleted, items_deleted, list_entries_deleted, deleted)
    SELECT $1, $2, $3, 'COMPLETED', (SELECT count(*) FROM js), (SELECT count(*) FROM items), (SELECT count(*) FROM entries),
           json_build_object(
               'job_schedules', (SELECT coalesce(json_agg(js ORDER BY job_schedule_id), '[]') FROM js),
               'items', (SELECT coalesce(json_agg(items ORDER BY job_schedule_item_id), '[]') FROM items),
               'list_entries', (SELECT coalesce(json_agg(entries ORDER BY job_schedule_list_id), '[]') FROM entries))
    RETURNING job_schedules_deleted, items_deleted, list_entries_deleted"#;

struct Counts {
    schedules: i64,
    items: i64,
    entries: i64,
}

/// Runs COUNT or RECORD_CONTENT over the date's rows.
fn counts(query: &str, args: &[pgrx::datum::DatumWithOid]) -> Counts {
    Spi::connect_mut(|spi| {
        let row = spi
            .update(&format!("{SCHEDULE_ROWS} {query}"), Some(1), args)
            .expect("schedule content")
            .first();
        Counts {
            schedules: row.get::<i64>(1).expect("schedules").unwrap_or(0),
            items: row.get::<i64>(2).expect("items").unwrap_or(0),
            entries: row.get::<i64>(3).expect("entries").unwrap_or(0),
        }
    })
}

pub(crate) fn reject_busy(client_id: i64, day: Timestamp) -> Outcome<()> {
    if let Some(job) = first_value::<String>(
        "SELECT job_type FROM backout.job_schedule
         WHERE client_id = $1 AND schedule_date = $2 AND status = 'RUNNING' LIMIT 1",
        &[client_id.into(), day.into()],
    ) {
        return Err(Rejection::new(
            JOB_RUNNING,
            format!("the {job} job of this date is still running; clear it after it completes"),
        ));
    }
    match first_value::<String>(
        &format!("{} LIMIT 1", crate::batches::processing_sql(false)),
        &[Some(client_id).into()],
    ) {
        None => Ok(()),
        Some(op) => Err(Rejection::new(
            OPERATION_IN_PROGRESS,
            format!("an {op} of client {client_id} is PROCESSING; clear the schedule after it completes"),
        )),
    }
}

/// Dry run: count.  Otherwise record what is deleted (the audit row), then delete it.
fn clear(client_id: Option<i64>, schedule_date: Option<&str>, dry_run: bool) -> Outcome<Counts> {
    let day = parse_billing_date(schedule_date, "schedule_date")?;
    let client_id = require_client(client_id, Level::Operator, "clear_job_schedule")?;
    let day = Timestamp::from(day);
    locks::lock_client_exclusive(client_id);
    reject_busy(client_id, day)?;
    if dry_run {
        return Ok(counts(COUNT, &[client_id.into(), day.into()]));
    }
    // the audit row is the extension's: written as its owner, after the caller's entitlement was checked
    let done = as_owner(|| {
        counts(
            RECORD_CONTENT,
            &[client_id.into(), day.into(), schedule_date.into()],
        )
    });
    Spi::run_with_args(
        "DELETE FROM backout.job_schedule WHERE client_id = $1 AND schedule_date = $2",
        &[client_id.into(), day.into()],
    )
    .expect("clear job schedule");
    Ok(done)
}

fn record_rejection(client_id: i64, schedule_date: Option<&str>, rejection: &Rejection) {
    as_owner(|| Spi::run_with_args(
        "INSERT INTO backout.job_schedule_clear (client_id, schedule_date, requested_schedule_date, status,
                                                 error_code, error_message)
         VALUES ($1, $2, $3, 'ERROR', $4, $5)",
        &[
            client_id.into(),
            schedule_date.and_then(crate::dates::parse_day).map(Timestamp::from).into(),
            crate::reply::for_audit(schedule_date).into(),
            rejection.code.into(),
            rejection.message.clone().into(),
        ],
    ))
    .expect("record clear");
}

/// Delete the job schedules, items and work-unit entries of (client, date) so billing can run again.
/// `dry_run => true` reports what would be deleted and changes nothing (not recorded).
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn clear_job_schedule(
    client_id: Option<i64>,
    schedule_date: Option<&str>,
    dry_run: default!(Option<bool>, false),
) -> TableIterator<
    'static,
    (
        name!(status, String),
        name!(error_code, Option<String>),
        name!(error_message, Option<String>),
        name!(client_id, Option<i64>),
        name!(job_schedules, i64),
        name!(job_schedule_items, i64),
        name!(job_schedule_list_entries, i64),
        name!(dry_run, Option<bool>),
    ),
> {
    crate::access::as_api(|| {
        let Some(client) = client_id else {
            // the reference's exact answer; nothing to file it under
            return TableIterator::once((
                "ERROR".into(),
                Some(SYSTEM_ERROR.into()),
                Some("clientid is required".into()),
                None,
                0,
                0,
                0,
                dry_run,
            ));
        };
        let outcome = crate::reply::required(dry_run, "dry_run")
            .and_then(|dry| clear(client_id, schedule_date, dry));
        if let (Err(rejection), false) = (&outcome, dry_run == Some(true)) {
            if access::may_file_under(client) {
                record_rejection(client, schedule_date, rejection);
            }
        }
        TableIterator::once(match outcome {
            Ok(c) => (
                "COMPLETED".into(),
                None,
                None,
                client_id,
                c.schedules,
                c.items,
                c.entries,
                dry_run,
            ),
            Err(r) => (
                "ERROR".into(),
                Some(r.code.into()),
                Some(r.message),
                client_id,
                0,
                0,
                0,
                dry_run,
            ),
        })
    })
}
