//! Clear a job schedule (Allegro `clearJobSchedule`): synchronous.  Deletes every job schedule of the
//! client and normalised date with its items and work-unit entries, so billing can run for that date again
//! (new accounts); keeps what it deleted in `backout.job_schedule_clear`.
use crate::batches::SYSTEM_ERROR;
use crate::billing::parse_billing_date;
use crate::locks;
use crate::reply::{first_value, require_client, Outcome, Rejection};
use pgrx::prelude::*;

pub const JOB_RUNNING: &str = "JOB_RUNNING";
pub const OPERATION_IN_PROGRESS: &str = "OPERATION_IN_PROGRESS";

/// $1 = client_id, $2 = schedule date (timestamp).  What the date's job schedules hold, as jsonb.
const SCHEDULE_CONTENT: &str = r#"
    WITH js AS (
        SELECT * FROM backout.job_schedule WHERE client_id = $1 AND schedule_date = $2),
    items AS (
        SELECT i.* FROM backout.job_schedule_item i JOIN js USING (client_id, job_schedule_id)),
    entries AS (
        SELECT l.* FROM backout.job_schedule_list l JOIN items USING (client_id, job_schedule_item_id))
    SELECT (SELECT count(*) FROM js), (SELECT count(*) FROM items), (SELECT count(*) FROM entries),
           jsonb_build_object(
               'job_schedules', (SELECT coalesce(jsonb_agg(to_jsonb(js) - 'client_id' ORDER BY job_schedule_id), '[]') FROM js),
               'items', (SELECT coalesce(jsonb_agg(to_jsonb(items) - 'client_id' ORDER BY job_schedule_item_id), '[]') FROM items),
               'list_entries', (SELECT coalesce(jsonb_agg(to_jsonb(entries) - 'client_id' ORDER BY job_schedule_list_id), '[]') FROM entries))"#;

struct Content {
    schedules: i64,
    items: i64,
    entries: i64,
    deleted: pgrx::JsonB,
}

fn content(client_id: i64, day: Timestamp) -> Content {
    Spi::connect(|spi| {
        let row = spi
            .select(SCHEDULE_CONTENT, Some(1), &[client_id.into(), day.into()])
            .expect("schedule content")
            .first();
        Content {
            schedules: row.get::<i64>(1).expect("schedules").unwrap_or(0),
            items: row.get::<i64>(2).expect("items").unwrap_or(0),
            entries: row.get::<i64>(3).expect("entries").unwrap_or(0),
            deleted: row
                .get::<pgrx::JsonB>(4)
                .expect("content")
                .expect("content"),
        }
    })
}

fn reject_busy(client_id: i64, day: Timestamp) -> Outcome<()> {
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
        "SELECT 'undo ' || undo_batch_id FROM backout.undo_batch WHERE client_id = $1 AND status = 'PROCESSING'
         UNION ALL
         SELECT 'backout ' || backout_batch_id FROM backout.backout_batch WHERE client_id = $1 AND status = 'PROCESSING'
         LIMIT 1",
        &[client_id.into()],
    ) {
        None => Ok(()),
        Some(op) => Err(Rejection::new(
            OPERATION_IN_PROGRESS,
            format!("an {op} of client {client_id} is PROCESSING; clear the schedule after it completes"),
        )),
    }
}

fn clear(client_id: Option<i64>, schedule_date: Option<&str>, dry_run: bool) -> Outcome<Content> {
    let day = parse_billing_date(schedule_date, "schedule_date")?;
    let client_id = require_client(client_id)?;
    let day = Timestamp::from(day);
    locks::lock_client_exclusive(client_id);
    reject_busy(client_id, day)?;
    let found = content(client_id, day);
    if !dry_run {
        Spi::run_with_args(
            "DELETE FROM backout.job_schedule WHERE client_id = $1 AND schedule_date = $2",
            &[client_id.into(), day.into()],
        )
        .expect("clear job schedule");
    }
    Ok(found)
}

fn record(client_id: i64, schedule_date: Option<&str>, outcome: &Outcome<Content>) {
    let (status, code, message, counts, deleted) = match outcome {
        Ok(c) => (
            "COMPLETED",
            None,
            None,
            [c.schedules, c.items, c.entries],
            Some(c.deleted.0.clone()),
        ),
        Err(r) => ("ERROR", Some(r.code), Some(r.message.clone()), [0; 3], None),
    };
    Spi::run_with_args(
        "INSERT INTO backout.job_schedule_clear (client_id, schedule_date, requested_schedule_date, status,
                                                 job_schedules_deleted, items_deleted, list_entries_deleted,
                                                 deleted, error_code, error_message)
         VALUES ($1, $10, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            client_id.into(),
            schedule_date.into(),
            status.into(),
            counts[0].into(),
            counts[1].into(),
            counts[2].into(),
            deleted.map(pgrx::JsonB).into(),
            code.into(),
            message.into(),
            schedule_date.and_then(crate::dates::parse_day).map(Timestamp::from).into(),
        ],
    )
    .expect("record clear");
}

/// Delete the job schedules, items and work-unit entries of (client, date) so billing can run again.
/// `dry_run => true` reports what would be deleted and changes nothing (not recorded).
#[pg_extern(volatile, parallel_unsafe)]
fn clear_job_schedule(
    client_id: Option<i64>,
    schedule_date: Option<&str>,
    dry_run: default!(bool, false),
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
        name!(dry_run, bool),
    ),
> {
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
    let outcome = clear(client_id, schedule_date, dry_run);
    if !dry_run {
        record(client, schedule_date, &outcome);
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
}
