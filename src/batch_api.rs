//! The batch engine's SQL functions: run batches now (`CALL backout.run_pending_batches()` commits after
//! each batch; `backout.run_next_batch()` runs one in the caller's transaction), wait for one, cancel one,
//! prune old audit rows.
use crate::access::{self, Level};
use crate::batches::{self, Claim, CANCELLED};
use crate::reply::{first_value, required, Rejection, NOT_FOUND};
use crate::worker;
use pgrx::prelude::*;
use pgrx::{pg_sys, Uuid};
use std::cell::RefCell;
use std::time::{Duration, Instant};

thread_local! {
    /// The batch this session claimed with claim_batch() and has not run yet.
    static CLAIMED: RefCell<Option<Claim>> = const { RefCell::new(None) };
}

/// Run the oldest due batch of the clients the caller operates on (or of `client_id`), in the caller's
/// transaction, with its submitter's rights; no row when nothing is due.  One batch per call, so a
/// caller never holds one batch's locks while waiting for another's.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn run_next_batch(
    client_id: default!(Option<i64>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(kind, String),
        name!(batch_id, Uuid),
        name!(client_id, i64),
        name!(status, String),
    ),
> {
    crate::access::as_api(|| {
        let ran = batches::scope_for_caller(client_id, "run_next_batch")
            .and_then(|scope| batches::claim_next(&scope))
            .map(batches::run_claimed)
            .map(|r| (r.kind.to_owned(), r.batch_id, r.client_id, r.status));
        TableIterator::new(ran)
    })
}

/// For the procedure run_pending_batches: claim the next due batch (committed by the procedure before
/// it runs, so that the attempt counts); returns its id, or NULL when nothing is due.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn claim_batch(client_id: default!(Option<i64>, "NULL")) -> Option<Uuid> {
    crate::access::as_api(|| {
        // not re-entrant: a session holds one claim at a time (a second claim would count a second attempt);
        // one that has ended meanwhile (run by run_next_batch, cancelled) is dropped
        if let Some(id) = CLAIMED.with(|c| c.borrow().as_ref().map(Claim::batch_id)) {
            if access::as_owner(|| batches::status_of(id)).as_deref() == Some("PROCESSING") {
                return Some(id);
            }
            CLAIMED.with(|c| *c.borrow_mut() = None);
        }
        let claim = batches::scope_for_caller(client_id, "run_pending_batches")
            .and_then(|scope| batches::claim_next(&scope))?;
        let id = claim.batch_id();
        CLAIMED.with(|c| *c.borrow_mut() = Some(claim));
        Some(id)
    })
}

/// For the procedure run_pending_batches: run the batch this session claimed; returns its status.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn run_claimed_batch() -> Option<String> {
    crate::access::as_api(|| {
        let claim = CLAIMED.with(|c| c.borrow_mut().take())?;
        Some(batches::run_claimed(claim).status)
    })
}

fn wait_a_little() {
    // SAFETY: plain latch wait of the calling backend, as pg_sleep does.
    unsafe {
        pg_sys::WaitLatch(
            pg_sys::MyLatch,
            (pg_sys::WL_LATCH_SET | pg_sys::WL_TIMEOUT | pg_sys::WL_EXIT_ON_PM_DEATH) as i32,
            10,
            pg_sys::PG_WAIT_EXTENSION,
        );
        pg_sys::ResetLatch(pg_sys::MyLatch);
    }
    pgrx::check_for_interrupts!();
}

/// Wait until a batch leaves PROCESSING or the timeout passes; returns its status (PROCESSING on
/// timeout).  For scripts and tests; clients may LISTEN on pg_backout_batch instead.  A batch of a
/// client the caller may not read does not exist for it.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn wait_for_batch(
    batch_id: Option<Uuid>,
    timeout: default!(Option<Interval>, "'5 minutes'"),
) -> String {
    let (batch_id, timeout) = match (required(batch_id, "batch_id"), required(timeout, "timeout")) {
        (Ok(b), Ok(t)) => (b, t),
        (Err(r), _) | (_, Err(r)) => error!("wait_for_batch: {}", r.message),
    };
    // SAFETY: reads the transaction isolation level of this backend.
    if unsafe { pg_sys::XactIsoLevel } >= pg_sys::XACT_REPEATABLE_READ as i32 {
        error!("wait_for_batch cannot see a batch finish from a REPEATABLE READ or SERIALIZABLE transaction; call it in READ COMMITTED");
    }
    // A batch the caller may not read answers exactly like an unknown one, and neither path takes a
    // transaction id: the refusal goes to the server log only.
    let client = batches::client_of(batch_id);
    if let Some(client) = client.filter(|c| !access::entitled(*c, Level::Reader)) {
        access::log_refusal(client, Level::Reader, "wait_for_batch");
    }
    let Some(mut status) = batches::status_of(batch_id) else {
        error!("batch {batch_id} does not exist");
    };
    if status == "PROCESSING" && batches::submitted_by_this_transaction(batch_id) {
        error!(
            "batch {batch_id} was submitted by this transaction and cannot start before it commits"
        );
    }
    if let Some(client) =
        client.filter(|c| status == "PROCESSING" && crate::locks::holds_client_lock(*c))
    {
        error!(
            "wait_for_batch: the batch needs the lock of client {client}, which this transaction holds (it ran a billing run, ingest, clear or batch of that client); commit first, then wait"
        );
    }
    let deadline = Instant::now() + Duration::from_micros(timeout.as_micros().max(0) as u64);
    worker::start_runner_if_idle();
    while status == "PROCESSING" && Instant::now() < deadline {
        wait_a_little();
        status = batches::status_of(batch_id).unwrap_or_default();
    }
    status
}

unsafe extern "C" {
    fn kill(pid: i32, signal: i32) -> i32;
}

/// Send the runner the cancel signal (what pg_cancel_backend sends) when this transaction commits.
fn interrupt_at_commit(pid: i32) {
    const SIGINT: i32 = 2;
    pgrx::register_xact_callback(pgrx::PgXactCallbackEvent::Commit, move || {
        // SAFETY: a plain signal to a backend of this cluster (same OS user), as pg_cancel_backend sends.
        unsafe { kill(pid, SIGINT) };
    });
}

type CancelRow = (
    Option<Uuid>,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
);

fn cancel(batch_id: Uuid, client_id: i64) -> Result<CancelRow, Rejection> {
    let unknown = || {
        Rejection::new(
            NOT_FOUND,
            format!("batch {batch_id} does not exist for client {client_id}"),
        )
    };
    if !access::check_entitled(client_id, Level::Operator, "cancel_batch") {
        return Err(unknown());
    }
    let (kind, status) = batches::lookup(client_id, batch_id).ok_or_else(unknown)?;
    if status != "PROCESSING" {
        return Err(Rejection::new(
            "NOT_PROCESSING",
            format!(
                "batch {batch_id} is already {status}; only a PROCESSING batch can be cancelled"
            ),
        ));
    }
    let caller = access::role_name(access::caller()).unwrap_or_default();
    access::as_owner(|| {
        Spi::run_with_args(
            "INSERT INTO backout.batch_cancel (client_id, batch_id, requested_by) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[client_id.into(), batch_id.into(), caller.as_str().into()],
        )
        .expect("cancel marker");
        if batches::take_if_idle(kind, client_id, batch_id) {
            batches::end_waiting(
                kind,
                client_id,
                batch_id,
                CANCELLED,
                format!("cancelled by {caller} before it ran"),
            );
            Ok((
                Some(batch_id),
                "ERROR".to_owned(),
                Some(CANCELLED.to_owned()),
                Some(format!("cancelled by {caller} before it ran")),
                Some(client_id),
            ))
        } else {
            // running: interrupt its runner once this call commits, so that the runner, rolled back, finds
            // the committed request and ends the batch CANCELLED (signalled now, it would not see it yet
            // and retry).  The batch may still complete before the signal arrives: the answer says so.
            if let Some(pid) = first_value::<i32>(
                &format!(
                    "SELECT runner_pid FROM {} WHERE {} = $1 AND client_id = $2 AND status = 'PROCESSING'",
                    kind.table, kind.id_column
                ),
                &[batch_id.into(), client_id.into()],
            ) {
                interrupt_at_commit(pid);
            }
            Ok((
                Some(batch_id),
                "PROCESSING".to_owned(),
                Some(CANCELLED.to_owned()),
                Some("cancel requested: its runner is interrupted when this transaction commits; the batch then ends ERROR / CANCELLED, or COMPLETED if it finished first (see its status)".to_owned()),
                Some(client_id),
            ))
        }
    })
}

/// Cancel a batch of the client: a waiting one ends ERROR / CANCELLED at once (its claims released); a
/// running one is interrupted, rolled back, and ends ERROR / CANCELLED.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn cancel_batch(
    batch_id: Option<Uuid>,
    client_id: Option<i64>,
) -> TableIterator<
    'static,
    (
        name!(batch_id, Option<Uuid>),
        name!(status, String),
        name!(error_code, Option<String>),
        name!(error_message, Option<String>),
        name!(client_id, Option<i64>),
    ),
> {
    crate::access::as_api(|| {
        let row = required(batch_id, "batch_id")
            .and_then(|b| required(client_id, "client_id").map(|c| (b, c)))
            .and_then(|(b, c)| cancel(b, c));
        TableIterator::once(row.unwrap_or_else(|r| {
            (
                batch_id,
                "ERROR".to_owned(),
                Some(r.code.to_owned()),
                Some(r.message),
                client_id,
            )
        }))
    })
}

/// The rows of the operations that run at once (clear, discard, usage events) in `backout.operations`,
/// after every batch kind's.
const SYNCHRONOUS_OPERATIONS: &str = r#"
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
    UNION ALL
    SELECT client_id, operation, request_id::text,
           format('mode=%s', mode),
           requested_by, CASE WHEN error_message IS NULL THEN 'COMPLETED' ELSE 'ERROR' END,
           CASE WHEN error_message IS NOT NULL THEN 'INVALID_INPUT' END, error_message,
           created_at, created_at, created_at, interval '0',
           CASE operation
             WHEN 'post' THEN jsonb_build_object('events_requested', events_requested, 'events_posted', events_posted,
                                                 'events_overwritten', events_overwritten, 'events_erred', events_erred)
             ELSE jsonb_build_object('criteria_requested', events_requested, 'events_voided', events_voided,
                                     'criteria_erred', events_erred) END,
           NULL::integer, NULL::integer, NULL::text, NULL::text, NULL::bigint
    FROM backout.usage_event_request"#;

/// (Re)defines `backout.operations`: every registered batch kind's rows, then the synchronous operations'.
/// Run by the install and upgrade scripts, as the extension's owner.  `CREATE OR REPLACE VIEW` resets the
/// view's options, hence `security_invoker` here: row-level security applies through it.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
pub fn define_operations_view() {
    Spi::run(&format!(
        "CREATE OR REPLACE VIEW backout.operations WITH (security_invoker = true) AS
         SELECT * FROM ({} UNION ALL {SYNCHRONOUS_OPERATIONS}) AS o
         ORDER BY created_at DESC, operation, operation_id",
        batches::operations_sql()
    ))
    .expect("define backout.operations");
}

/// The audit rows of the operations that run at once, each with the column that dates it.
const SYNCHRONOUS_AUDIT: [(&str, &str); 6] = [
    ("job_schedule_clear", "finished_at"),
    ("reversed_invoice", "reversed_at"),
    ("reversed_billing_record", "reversed_at"),
    ("discard_request", "created_at"),
    ("usage_event_request", "created_at"),
    ("access_refusal", "last_refused_at"),
];

/// prune_audit's statement: a CTE per batch kind (from the registry) and per synchronous audit table.
fn prune_sql() -> String {
    let mut ctes = vec!["cutoff AS (SELECT pg_catalog.now() - $1::interval AS t)".to_owned()];
    let mut counts = vec![];
    for (table, cte) in batches::prune_ctes() {
        counts.push(format!(
            "SELECT '{table}', (SELECT count(*) FROM {})",
            cte.split_whitespace().next().expect("cte name")
        ));
        ctes.push(cte);
    }
    for (i, (table, dated_by)) in SYNCHRONOUS_AUDIT.iter().enumerate() {
        ctes.push(format!(
            "done_{i} AS (DELETE FROM backout.{table} d USING cutoff WHERE d.{dated_by} < cutoff.t RETURNING 1)"
        ));
        counts.push(format!("SELECT '{table}', (SELECT count(*) FROM done_{i})"));
    }
    format!("WITH {} {}", ctes.join(", "), counts.join(" UNION ALL "))
}

/// Delete finished audit rows older than `older_than` (every batch kind's, clears, discards, usage event
/// requests, refusals); PROCESSING batches are never touched.  Admins only; schedulable with pg_cron.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn prune_audit(
    older_than: default!(Option<Interval>, "'90 days'"),
) -> TableIterator<'static, (name!(audit_table, String), name!(rows_deleted, i64))> {
    let older_than = match required(older_than, "older_than") {
        Ok(i) => i,
        Err(r) => error!("prune_audit: {}", r.message),
    };
    let rows = access::as_owner(|| {
        Spi::connect_mut(|spi| {
            spi.update(&prune_sql(), None, &[older_than.into()])
                .expect("prune audit")
                .map(|r| {
                    (
                        r.get::<String>(1).expect("table").unwrap_or_default(),
                        r.get::<i64>(2).expect("count").unwrap_or(0),
                    )
                })
                .collect::<Vec<_>>()
        })
    });
    TableIterator::new(rows)
}
