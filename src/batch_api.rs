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
    let ran = batches::scope_for_caller(client_id, "run_next_batch")
        .and_then(|scope| batches::claim_next(&scope))
        .map(batches::run_claimed)
        .map(|r| (r.kind.to_owned(), r.batch_id, r.client_id, r.status));
    TableIterator::new(ran)
}

/// For the procedure run_pending_batches: claim the next due batch (committed by the procedure before
/// it runs, so that the attempt counts); returns its id, or NULL when nothing is due.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn claim_batch(client_id: default!(Option<i64>, "NULL")) -> Option<Uuid> {
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
}

/// For the procedure run_pending_batches: run the batch this session claimed; returns its status.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn run_claimed_batch() -> Option<String> {
    let claim = CLAIMED.with(|c| c.borrow_mut().take())?;
    Some(batches::run_claimed(claim).status)
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
}

/// Delete finished audit rows older than `older_than` (undo and backout batches, clears, discards,
/// refusals);
/// PROCESSING batches are never touched.  Admins only; schedulable with pg_cron.
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
            spi.update(
                "WITH cutoff AS (SELECT pg_catalog.now() - $1::interval AS t),
                 undo AS (DELETE FROM backout.undo_batch b USING cutoff
                          WHERE b.status <> 'PROCESSING' AND COALESCE(b.update_date, b.create_date) < cutoff.t
                          RETURNING 1),
                 backout AS (DELETE FROM backout.backout_batch b USING cutoff
                             WHERE b.status <> 'PROCESSING' AND COALESCE(b.update_date, b.create_date) < cutoff.t
                             RETURNING 1),
                 clears AS (DELETE FROM backout.job_schedule_clear c USING cutoff
                            WHERE c.finished_at < cutoff.t RETURNING 1),
                 discards AS (DELETE FROM backout.discard_request d USING cutoff
                              WHERE d.created_at < cutoff.t RETURNING 1),
                 event_requests AS (DELETE FROM backout.usage_event_request r USING cutoff
                                    WHERE r.created_at < cutoff.t RETURNING 1),
                 refusals AS (DELETE FROM backout.access_refusal r USING cutoff
                              WHERE r.last_refused_at < cutoff.t RETURNING 1)
                 SELECT 'undo_batch', (SELECT count(*) FROM undo)
                 UNION ALL SELECT 'backout_batch', (SELECT count(*) FROM backout)
                 UNION ALL SELECT 'job_schedule_clear', (SELECT count(*) FROM clears)
                 UNION ALL SELECT 'discard_request', (SELECT count(*) FROM discards)
                 UNION ALL SELECT 'usage_event_request', (SELECT count(*) FROM event_requests)
                 UNION ALL SELECT 'access_refusal', (SELECT count(*) FROM refusals)",
                None,
                &[older_than.into()],
            )
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
