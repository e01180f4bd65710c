//! The asynchronous batch machinery shared by every batch kind (undo, backout).
//!
//! A batch is a row of its kind's audit table.  Running one = in one transaction: claim the row
//! (`FOR UPDATE SKIP LOCKED`), do the work inside a subtransaction, then write `COMPLETED` (the work
//! stays) or `ERROR` with the reason (the subtransaction, and with it all of the work, was rolled back),
//! and `NOTIFY pg_backout_batch`.  A crash before that commit leaves the row `PROCESSING` with nothing
//! applied, and the next runner simply runs it again.
use crate::access::{self, Level};
use crate::reply::{Outcome, Rejection};
use crate::{backout, undo, worker};
use pgrx::prelude::*;
use pgrx::{pg_sys, PgTryBuilder, Uuid};
use std::time::{Duration, Instant};

pub const SYSTEM_ERROR: &str = "SYSTEM_ERROR";
pub const NOTIFY_CHANNEL: &str = "pg_backout_batch";

/// One kind of batch: its audit table (a constant, never user input) and the work it runs.
pub struct Kind {
    pub name: &'static str,
    pub table: &'static str,
    pub id_column: &'static str,
    /// Does the work and writes the kind's counters; an `Err` rolls everything back.
    pub run: fn(client_id: i64, batch_id: Uuid) -> Outcome<()>,
    /// Frees what the request holds while PROCESSING (backout: its file claims), whichever way it ends.
    pub release: fn(client_id: i64, batch_id: Uuid),
}

pub const KINDS: [&Kind; 2] = [&undo::KIND, &backout::KIND];

/// For kinds that hold nothing while PROCESSING.
pub fn holds_nothing(_client_id: i64, _batch_id: Uuid) {}

pub struct Ran {
    pub kind: &'static str,
    pub batch_id: Uuid,
    pub client_id: i64,
    pub status: String,
}

/// Which clients' batches a runner may claim: one, the caller's (None = every client), or both.
pub struct Scope {
    pub client_id: Option<i64>,
    pub clients: Option<Vec<i64>>,
}

impl Scope {
    pub const EVERY_CLIENT: Scope = Scope {
        client_id: None,
        clients: None,
    };
}

struct Claimed {
    client_id: i64,
    batch_id: Uuid,
    run_as: pg_sys::Oid,
}

/// Claimed as the extension's owner (the status rows are the extension's), within `scope` only.
fn claim(kind: &Kind, scope: &Scope) -> Option<Claimed> {
    let sql = format!(
        "SELECT client_id, {id}, run_as::oid FROM {table}
         WHERE status = 'PROCESSING' AND ($1::bigint IS NULL OR client_id = $1)
           AND ($2::bigint[] IS NULL OR client_id = ANY ($2))
         ORDER BY create_date LIMIT 1 FOR UPDATE SKIP LOCKED",
        id = kind.id_column,
        table = kind.table
    );
    access::as_owner(|| {
        Spi::connect_mut(|spi| {
            let rows = spi
                .update(
                    &sql,
                    Some(1),
                    &[scope.client_id.into(), scope.clients.clone().into()],
                )
                .expect("claim batch");
            if rows.is_empty() {
                return None;
            }
            let row = rows.first();
            Some(Claimed {
                client_id: row.get::<i64>(1).expect("client_id").expect("client_id"),
                batch_id: row.get::<Uuid>(2).expect("batch id").expect("batch id"),
                run_as: row.get::<pg_sys::Oid>(3).expect("run_as").expect("run_as"),
            })
        })
    })
}

/// Runs `work` in a subtransaction: kept when it returns Ok, rolled back when it returns Err or raises.
fn in_subtransaction<R>(work: impl FnOnce() -> Outcome<R>) -> Outcome<R> {
    // SAFETY: the standard PL exception-block dance (pl_exec.c): remember the caller's memory context
    // and resource owner, and restore both whichever way the subtransaction ends.
    unsafe {
        let caller_cxt = pg_sys::CurrentMemoryContext;
        let caller_owner = pg_sys::CurrentResourceOwner;
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        pg_sys::MemoryContextSwitchTo(caller_cxt);
        let end = move |keep: bool| {
            if keep {
                pg_sys::ReleaseCurrentSubTransaction();
            } else {
                pg_sys::RollbackAndReleaseCurrentSubTransaction();
            }
            pg_sys::MemoryContextSwitchTo(caller_cxt);
            pg_sys::CurrentResourceOwner = caller_owner;
        };
        PgTryBuilder::new(std::panic::AssertUnwindSafe(|| {
            let outcome = work();
            end(outcome.is_ok());
            outcome
        }))
        .catch_others(|caught| {
            pg_sys::MemoryContextSwitchTo(caller_cxt);
            end(false);
            Err(Rejection::new(SYSTEM_ERROR, describe(&caught)))
        })
        .execute()
    }
}

fn describe(caught: &pg_sys::panic::CaughtError) -> String {
    use pg_sys::panic::CaughtError::*;
    match caught {
        PostgresError(e) | ErrorReport(e) | RustPanic { ereport: e, .. } => match e.detail() {
            Some(detail) => format!("{} ({detail})", e.message()),
            None => e.message().to_owned(),
        },
    }
}

fn finish(
    kind: &Kind,
    client_id: i64,
    batch_id: Uuid,
    started: Timestamp,
    outcome: Outcome<()>,
) -> String {
    let (status, code, message) = match outcome {
        Ok(()) => ("COMPLETED", None, None),
        Err(r) => ("ERROR", Some(r.code), Some(r.message)),
    };
    let sql = format!(
        "WITH done AS (
             UPDATE {table} SET status = $3, error_code = $4, error_message = $5,
                    start_date = $6, update_date = clock_timestamp()::timestamp
              WHERE client_id = $1 AND {id} = $2
             RETURNING {id} AS batch_id, status)
         SELECT pg_notify($7, json_build_object('batch_id', batch_id, 'status', status)::text)
         FROM done",
        table = kind.table,
        id = kind.id_column
    );
    access::as_owner(|| {
        Spi::run_with_args(
            &sql,
            &[
                client_id.into(),
                batch_id.into(),
                status.into(),
                code.into(),
                message.into(),
                started.into(),
                NOTIFY_CHANNEL.into(),
            ],
        )
        .expect("record batch status");
        (kind.release)(client_id, batch_id);
    });
    status.to_owned()
}

fn now() -> Timestamp {
    Spi::get_one::<Timestamp>("SELECT clock_timestamp()::timestamp")
        .expect("clock")
        .expect("clock")
}

/// Claim and run the oldest due batch within the scope; None when nothing is due.  The work runs with
/// the rights of the role that submitted it, checked again first.
pub fn run_next(scope: &Scope) -> Option<Ran> {
    KINDS.iter().find_map(|kind| {
        let Claimed {
            client_id: client,
            batch_id,
            run_as,
        } = claim(kind, scope)?;
        let started = now();
        let outcome = in_subtransaction(|| {
            access::recheck_submitter(client, run_as, batch_id)?;
            access::as_role(run_as, || (kind.run)(client, batch_id))
        });
        let status = finish(kind, client, batch_id, started, outcome);
        Some(Ran {
            kind: kind.name,
            batch_id,
            client_id: client,
            status,
        })
    })
}

/// Run the due batches now, in the calling session and transaction (for isolation tests, pg_cron, and
/// servers where the worker cannot be preloaded).  Each batch still runs all-or-nothing, with its
/// submitter's rights.  Only batches of clients the caller operates on are run.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn run_pending_batches(
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
    if let Some(client) = client_id {
        if !access::check_entitled(client, Level::Operator, "run_pending_batches") {
            return TableIterator::new(Vec::new());
        }
    }
    let scope = Scope {
        client_id,
        clients: access::entitled_clients(Level::Operator),
    };
    let ran: Vec<_> = std::iter::from_fn(|| run_next(&scope))
        .map(|r| (r.kind.to_owned(), r.batch_id, r.client_id, r.status))
        .collect();
    TableIterator::new(ran)
}

/// Status of a batch of any kind by id, or None.
fn status_of(batch_id: Uuid) -> Option<String> {
    let sql = KINDS
        .iter()
        .map(|k| format!("SELECT status FROM {} WHERE {} = $1", k.table, k.id_column))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    crate::reply::first_value::<String>(&sql, &[batch_id.into()])
}

fn submitted_by_this_transaction(batch_id: Uuid) -> bool {
    let sql = KINDS
        .iter()
        .map(|k| format!("SELECT xmin FROM {} WHERE {} = $1", k.table, k.id_column))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    Spi::get_one_with_args::<bool>(
        &format!(
            "SELECT coalesce(bool_or(b.xmin::text = pg_current_xact_id_if_assigned()::text), false)
             FROM ({sql}) AS b"
        ),
        &[batch_id.into()],
    )
    .expect("xmin lookup")
    .unwrap_or(false)
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

/// The client of a batch of any kind, looked up as the owner (whoever may see it).
fn client_of(batch_id: Uuid) -> Option<i64> {
    let sql = KINDS
        .iter()
        .map(|k| {
            format!(
                "SELECT client_id FROM {} WHERE {} = $1",
                k.table, k.id_column
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    access::as_owner(|| crate::reply::first_value::<i64>(&sql, &[batch_id.into()]))
}

/// Wait until a batch leaves PROCESSING or the timeout passes; returns its status (PROCESSING on
/// timeout).  For scripts and tests; clients may LISTEN on pg_backout_batch instead.  A batch of a
/// client the caller may not read does not exist for it.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn wait_for_batch(batch_id: Uuid, timeout: default!(Interval, "'5 minutes'")) -> String {
    // SAFETY: reads the transaction isolation level of this backend.
    if unsafe { pg_sys::XactIsoLevel } >= pg_sys::XACT_REPEATABLE_READ as i32 {
        error!("wait_for_batch cannot see a batch finish from a REPEATABLE READ or SERIALIZABLE transaction; call it in READ COMMITTED");
    }
    if let Some(client) = client_of(batch_id) {
        access::check_entitled(client, Level::Reader, "wait_for_batch");
    }
    let Some(mut status) = status_of(batch_id) else {
        error!("batch {batch_id} does not exist");
    };
    if status == "PROCESSING" && submitted_by_this_transaction(batch_id) {
        error!(
            "batch {batch_id} was submitted by this transaction and cannot start before it commits"
        );
    }
    let deadline = Instant::now() + Duration::from_micros(timeout.as_micros().max(0) as u64);
    worker::start_runner_if_idle();
    while status == "PROCESSING" && Instant::now() < deadline {
        wait_a_little();
        status = status_of(batch_id).unwrap_or_default();
    }
    status
}
