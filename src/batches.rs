//! The asynchronous batch engine.  It knows no batch kind: lib.rs registers the kinds when the library is
//! loaded (`register`), each with its audit table, its work and its row in `backout.operations`.  Every
//! statement that concerns batches of any kind (the queue, the runner start check, clear's busy check,
//! prune_audit, the operations view) is built from the registry, so a kind is one module and one entry.
//!
//! A batch is a row of its kind's table, queued in submission order (`queue_seq`: one sequence for every
//! kind).  A client's batches run one at a time, in that order.  Running one takes two transactions:
//! 1. **claim**: the oldest due batch at the head of its client's queue that nobody runs: its row locked
//!    (`FOR NO KEY UPDATE SKIP LOCKED`) and the claimer recorded (`runner_pid`, `start_date`), its attempt
//!    counter incremented and committed, and the request read from the locked row.  The run then holds the
//!    row for its whole transaction (see `free_batch_row_sql`).  A batch whose runner dies N times (crash,
//!    kill, FATAL) ends `ERROR` after `pg_backout.max_attempts` attempts instead of looping.
//! 2. **run**: with the submitter's rights (checked again), in a subtransaction under
//!    `pg_backout.lock_timeout` (and `pg_backout.batch_timeout` in a background runner), then `COMPLETED`
//!    in the same transaction as the work; or the work is rolled back and the batch is retried later
//!    (transient SQLSTATEs: deadlock, serialization failure, lock timeout, query cancel) or ends `ERROR`
//!    with the reason and the SQLSTATE.  A crash before the commit leaves it `PROCESSING` with nothing
//!    applied: it runs again.
use crate::access::{self, Level};
use crate::reply::{first_value, read_value, Outcome, Rejection};
use pgrx::prelude::*;
use pgrx::{pg_sys, PgTryBuilder, Uuid};
use std::cell::RefCell;
use std::sync::OnceLock;

pub const SYSTEM_ERROR: &str = "SYSTEM_ERROR";
pub const CANCELLED: &str = "CANCELLED";
pub const BATCH_TIMEOUT: &str = "BATCH_TIMEOUT";
pub const NOTIFY_CHANNEL: &str = "pg_backout_batch";
/// SQLSTATEs worth another attempt: deadlock, serialization failure, lock timeout, query cancel.
const TRANSIENT: [&str; 4] = ["40P01", "40001", "55P03", "57014"];

/// One kind of batch: its audit table (a constant, never user input) and the work it runs.
pub struct Kind {
    pub name: &'static str,
    pub table: &'static str,
    pub id_column: &'static str,
    /// Does the work and writes the kind's counters; an `Err` rolls everything back.
    pub run: fn(&Batch) -> Outcome<()>,
    /// Frees what the request holds while PROCESSING (backout: its file claims), once it ends.
    pub release: fn(client_id: i64, batch_id: Uuid),
    /// Its rows in `backout.operations`.
    pub shown: Shown,
}

/// A kind's row in `backout.operations`: SQL expressions over its table's columns (constants).
pub struct Shown {
    /// The request in words (text).
    pub request: &'static str,
    /// Who asked (text).
    pub user: &'static str,
    /// What it did (jsonb).
    pub counts: &'static str,
}

/// A claimed batch: its row as the claim read it (`request`, as json; `Batch::request` reads it as the
/// kind's struct).
pub struct Batch {
    pub client_id: i64,
    pub batch_id: Uuid,
    pub row: serde_json::Value,
}

impl Batch {
    /// Who asked for the batch: its user_id, else the session user that submitted it.
    pub fn user_id(&self) -> String {
        ["user_id", "submitted_by"]
            .iter()
            .find_map(|k| self.row.get(*k).and_then(|v| v.as_str()))
            .unwrap_or_default()
            .to_owned()
    }

    /// The request as the kind's typed struct (its fields named as its table's columns).
    pub fn request<T: serde::de::DeserializeOwned>(&self) -> Outcome<T> {
        T::deserialize(&self.row).map_err(|e| {
            Rejection::new(
                SYSTEM_ERROR,
                format!("the batch's request cannot be read: {e}"),
            )
        })
    }
}

/// A `date` column of a request (`YYYY-MM-DD` in the row's json).
pub fn day<'de, D: serde::Deserializer<'de>>(from: D) -> Result<pgrx::datum::Date, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(from)?;
    crate::dates::parse_day(&text)
        .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not a date")))
}

/// For kinds that hold nothing while PROCESSING.
pub fn holds_nothing(_client_id: i64, _batch_id: Uuid) {}

static KINDS: OnceLock<&'static [&'static Kind]> = OnceLock::new();

/// Called once by lib.rs with every kind.
pub fn register(kinds: &'static [&'static Kind]) {
    let _ = KINDS.set(kinds);
}

pub fn kinds() -> &'static [&'static Kind] {
    KINDS.get().copied().unwrap_or(&[])
}

/// Which clients' batches may be claimed: one, a set (None = every client), or both.
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

pub struct Claim {
    kind: &'static Kind,
    batch: Batch,
    run_as: pg_sys::Oid,
    attempts: i32,
    last_error: Option<String>,
}

impl Claim {
    pub fn batch_id(&self) -> Uuid {
        self.batch.batch_id
    }
}

pub struct Ran {
    pub kind: &'static str,
    pub batch_id: Uuid,
    pub client_id: i64,
    pub status: String,
}

// ---------------------------------------------------------------------------------------------------
// Settings (defined in worker.rs with the others)

pub static MAX_ATTEMPTS: pgrx::guc::GucSetting<i32> = pgrx::guc::GucSetting::<i32>::new(3);
pub static LOCK_TIMEOUT_MS: pgrx::guc::GucSetting<i32> = pgrx::guc::GucSetting::<i32>::new(60_000);
/// pg_backout.log_run: one server-log line when a batch starts and when it ends (as pg_cron's cron.log_run).
pub static LOG_RUN: pgrx::guc::GucSetting<bool> = pgrx::guc::GucSetting::<bool>::new(true);
pub static BATCH_TIMEOUT_MS: pgrx::guc::GucSetting<i32> =
    pgrx::guc::GucSetting::<i32>::new(3_600_000);

// ---------------------------------------------------------------------------------------------------
// Claim

/// One SELECT per kind (`{kind}` = its index in the registry, `{name}`, `{table}`, `{id}` = its id
/// column, `{request}`, `{user}`, `{counts}` = its `Shown`; `{table_here}`: its rows on this node's shards,
/// `citus::on_this_node`), as a UNION ALL.  Table and column names are constants of the registry, never user
/// input.
fn over_kinds(select: &str) -> String {
    kinds()
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let select = if select.contains("{table_here}") {
                select.replace("{table_here}", &crate::citus::on_this_node(k.table))
            } else {
                select.to_owned()
            };
            select
                .replace("{kind}", &i.to_string())
                .replace("{name}", k.name)
                .replace("{table}", k.table)
                .replace("{id}", k.id_column)
                .replace("{request}", k.shown.request)
                .replace("{user}", k.shown.user)
                .replace("{counts}", k.shown.counts)
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// One row per PROCESSING batch of any kind (`$1` = a client, or NULL for every client): its kind's name
/// and id, as `'undo <id>'`.
/// `here_only`: of the clients whose batches this node runs (see `local_clients_filter`); a check that
/// guards data asks every node.
pub fn processing_sql(here_only: bool) -> String {
    over_kinds(&format!(
        "SELECT '{{name}} ' || {{id}} FROM {}
         WHERE status = 'PROCESSING' AND ($1::bigint IS NULL OR client_id = $1){}",
        if here_only { "{table_here}" } else { "{table}" },
        if here_only {
            local_clients_filter(&crate::citus::local_clients())
        } else {
            String::new()
        }
    ))
}

/// With Citus, only the clients whose shards this node holds (`citus::local_clients`), as a list of
/// constants in each table's filter, so that Citus reads this node's shards alone.  For the runners' own
/// questions only (which batch next, any batch waiting): they run the batches of this node's clients.
fn local_clients_filter(local: &Option<Vec<i64>>) -> String {
    match local {
        None => String::new(),
        Some(clients) => format!(
            " AND client_id = ANY ('{{{}}}'::bigint[])",
            clients
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

/// The rows of every kind in `backout.operations` (see `batch_api::define_operations_view`).
pub fn operations_sql() -> String {
    over_kinds(
        "SELECT client_id, '{name}'::text AS operation, {id}::text AS operation_id, {request} AS request,
                {user} AS user_id, status, error_code, error_message,
                create_date AS created_at, start_date AS started_at,
                CASE WHEN status <> 'PROCESSING' THEN update_date END AS finished_at,
                CASE WHEN status <> 'PROCESSING' THEN update_date - create_date END AS duration,
                {counts} AS counts, run_attempts, runner_pid, last_error, error_sqlstate, queue_seq
         FROM {table}",
    )
}

/// For prune_audit: per kind, its table's name (without the schema) and a CTE (`kind_<n>`) deleting its
/// finished rows last changed before `cutoff.t`.
pub fn prune_ctes() -> Vec<(String, String)> {
    kinds()
        .iter()
        .enumerate()
        .map(|(i, k)| {
            (
                k.table.trim_start_matches("backout.").to_owned(),
                format!(
                    "kind_{i} AS (DELETE FROM {table} b USING cutoff
                      WHERE b.status <> 'PROCESSING' AND COALESCE(b.update_date, b.create_date) < cutoff.t
                      RETURNING 1)",
                    table = k.table
                ),
            )
        })
        .collect()
}

/// The union of every kind's PROCESSING rows (of this node's clients): kind index, client, id, queue
/// position, due time.
fn queue_sql(local: &Option<Vec<i64>>) -> String {
    over_kinds(&format!(
        "SELECT {{kind}} AS kind, client_id, {{id}} AS batch_id, queue_seq, next_attempt_at
         FROM {{table_here}} WHERE status = 'PROCESSING'{}",
        local_clients_filter(local)
    ))
}

/// The head of each client's queue, oldest first, when due and within the scope: (kind, client, id).
fn candidates(scope: &Scope) -> Vec<(usize, i64, Uuid)> {
    let local = crate::citus::local_clients(); // looked up once per claim
    if local.as_ref().is_some_and(Vec::is_empty) {
        return vec![]; // a node that holds no client (the coordinator) runs no batch
    }
    let sql = format!(
        "WITH q AS ({queue}),
         heads AS (SELECT DISTINCT ON (client_id) * FROM q ORDER BY client_id, queue_seq)
         SELECT kind, client_id, batch_id FROM heads
         WHERE COALESCE(next_attempt_at, '-infinity'::timestamptz) <= pg_catalog.clock_timestamp()
           AND ($1::bigint IS NULL OR client_id = $1)
           AND ($2::bigint[] IS NULL OR client_id = ANY ($2))
         ORDER BY queue_seq LIMIT 100",
        queue = queue_sql(&local)
    );
    Spi::connect_mut(|spi| {
        spi.update(
            &sql,
            None,
            &[scope.client_id.into(), scope.clients.clone().into()],
        )
        .expect("batch queue")
        .map(|r| {
            (
                r.get::<i32>(1).expect("kind").expect("kind") as usize,
                r.get::<i64>(2).expect("client").expect("client"),
                r.get::<Uuid>(3).expect("batch id").expect("batch id"),
            )
        })
        .collect()
    })
}

/// How long a claim protects a batch that its claimer has not started running yet (the claim commits
/// before the run starts, so that the attempt counts): milliseconds normally; past this a claim whose run
/// never started (its session hit an error in between) no longer holds the batch.
const CLAIM_WINDOW: &str = "10 seconds";

/// The batch row is free to take: no transaction holds it (a run holds its batch's row for the whole run),
/// and no claim stands that its claimer is about to run (a claim of the last moments, by another session
/// that is still busy: one gone or idle has given up on it).  `$1` = id, `$2` = client.  A batch is named
/// by (client, id): an id names one request of one client.
fn free_batch_row_sql(kind: &Kind) -> String {
    format!(
        "SELECT 1 FROM {table} AS t
          WHERE t.{id} = $1 AND t.client_id = $2 AND t.status = 'PROCESSING'
            AND (t.runner_pid IS NULL OR t.runner_pid = pg_catalog.pg_backend_pid()
                 OR t.start_date < pg_catalog.clock_timestamp() - interval '{CLAIM_WINDOW}'
                 OR NOT EXISTS (SELECT FROM pg_catalog.pg_stat_activity a
                                WHERE a.pid = t.runner_pid AND COALESCE(a.state, '') NOT LIKE 'idle%'))
          FOR NO KEY UPDATE SKIP LOCKED",
        table = kind.table,
        id = kind.id_column
    )
}

/// Is the batch idle (waiting, not being run, nor about to be)?  Then its row is locked for the rest of
/// the transaction, so that no other session claims it meanwhile (the claim, and cancel_batch).  A row lock,
/// not an advisory lock: no role but the extension's owner can lock the audit rows, so nobody can hold a
/// batch to keep it from running.
pub fn take_if_idle(kind: &Kind, client_id: i64, batch_id: Uuid) -> bool {
    first_value::<i32>(
        &free_batch_row_sql(kind),
        &[batch_id.into(), client_id.into()],
    )
    .is_some()
}

/// The run holds its batch's row for its whole transaction: whatever ends that transaction (a commit, an
/// error outside the batch's subtransaction such as a statement_timeout or a Ctrl-C in CALL
/// run_pending_batches) frees the batch, and the client's queue goes on.
fn hold_batch_row(kind: &Kind, client_id: i64, batch_id: Uuid) {
    Spi::run_with_args(
        &format!(
            "SELECT 1 FROM {} WHERE {} = $1 AND client_id = $2 FOR NO KEY UPDATE",
            kind.table, kind.id_column
        ),
        &[batch_id.into(), client_id.into()],
    )
    .expect("hold the batch row");
}

/// Count the attempt and read the request (of the row this transaction has locked, so the request read is
/// the one that is still PROCESSING).
fn mark_claimed(kind: &'static Kind, client_id: i64, batch_id: Uuid) -> Option<Claim> {
    if !take_if_idle(kind, client_id, batch_id) {
        return None;
    }
    // the time and the request read by statements of their own: Citus takes no volatile call in an UPDATE
    // of a distributed table, nor a non-immutable one in its RETURNING
    let sql = format!(
        "UPDATE {table} AS t SET run_attempts = t.run_attempts + 1, runner_pid = pg_catalog.pg_backend_pid(),
                               start_date = $3
          WHERE t.{id} = $1 AND t.client_id = $2 AND t.status = 'PROCESSING'
         RETURNING t.client_id, t.run_as::oid, t.run_attempts, t.last_error",
        table = kind.table,
        id = kind.id_column
    );
    let request = format!(
        "SELECT pg_catalog.to_jsonb(t)::text FROM {table} AS t WHERE t.{id} = $1 AND t.client_id = $2",
        table = kind.table,
        id = kind.id_column
    );
    Spi::connect_mut(|spi| {
        let rows = spi
            .update(
                &sql,
                Some(1),
                &[batch_id.into(), client_id.into(), now().into()],
            )
            .expect("claim batch");
        if rows.is_empty() {
            return None;
        }
        let row = rows.first();
        let request = spi
            .select(&request, Some(1), &[batch_id.into(), client_id.into()])
            .expect("batch request")
            .first()
            .get::<String>(1)
            .expect("request")
            .unwrap_or_default();
        Some(Claim {
            kind,
            batch: Batch {
                client_id: row.get::<i64>(1).expect("client_id").expect("client_id"),
                batch_id,
                row: serde_json::from_str(&request).unwrap_or(serde_json::Value::Null),
            },
            run_as: row.get::<pg_sys::Oid>(2).expect("run_as").expect("run_as"),
            attempts: row.get::<i32>(3).expect("attempts").unwrap_or(1),
            last_error: row.get::<String>(4).expect("last_error"),
        })
    })
}

/// Claim the next due batch within the scope (as the extension's owner: the status rows are its own).
/// The caller commits before `run_claimed`, so that the attempt counts even if the run kills the process;
/// the claim (runner_pid, start_date) then keeps other runners off for CLAIM_WINDOW, the run's row lock
/// for the rest.
pub fn claim_next(scope: &Scope) -> Option<Claim> {
    access::as_owner(|| {
        for (kind, client_id, batch_id) in candidates(scope) {
            let kind = *kinds().get(kind)?;
            // a head being run (or ended meanwhile) is skipped; the rest of that client's queue waits
            if let Some(claim) = mark_claimed(kind, client_id, batch_id) {
                return Some(claim);
            }
        }
        None
    })
}

/// The time now (`clock_timestamp()`), as a value to pass to a statement.
fn now() -> pgrx::datum::TimestampWithTimeZone {
    first_value("SELECT pg_catalog.clock_timestamp()", &[]).expect("clock")
}

// ---------------------------------------------------------------------------------------------------
// Run

/// Runs `work` in a subtransaction: kept when it returns Ok, rolled back when it returns Err or raises
/// (the error's SQLSTATE is kept in the rejection).
pub(crate) fn in_subtransaction<R>(work: impl FnOnce() -> Outcome<R>) -> Outcome<R> {
    subtransaction(work, true)
}

/// Run `work` in a subtransaction that is always rolled back (a dry run): its answer, none of its changes.
/// An error inside it is raised again.
pub(crate) fn rolled_back<R>(work: impl FnOnce() -> R) -> R {
    match subtransaction(|| Ok(work()), false) {
        Ok(answer) => answer,
        Err(r) => error!("{}", r.message),
    }
}

/// A subtransaction around `work`, kept when `keep_success` and the work succeeded, else rolled back; an
/// error inside it is caught and returned as a rejection.
fn subtransaction<R>(work: impl FnOnce() -> Outcome<R>, keep_success: bool) -> Outcome<R> {
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
            end(keep_success && outcome.is_ok());
            outcome
        }))
        .catch_others(|caught| {
            pg_sys::MemoryContextSwitchTo(caller_cxt);
            end(false);
            let (message, sqlstate) = describe(&caught);
            Err(Rejection::new(SYSTEM_ERROR, message).with_sqlstate(sqlstate))
        })
        .execute()
    }
}

/// A five-character SQLSTATE from its packed form (MAKE_SQLSTATE).
fn sqlstate_text(code: i32) -> String {
    (0..5)
        .map(|i| char::from((((code >> (6 * i)) & 0x3F) as u8) + b'0'))
        .collect()
}

fn describe(caught: &pg_sys::panic::CaughtError) -> (String, Option<String>) {
    use pg_sys::panic::CaughtError::*;
    match caught {
        PostgresError(e) | ErrorReport(e) | RustPanic { ereport: e, .. } => {
            let message = match e.detail() {
                Some(detail) => format!("{} ({detail})", e.message()),
                None => e.message().to_owned(),
            };
            (message, Some(sqlstate_text(e.sql_error_code() as i32)))
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Show what the running batch is doing in pg_stat_activity (`query` of the runner).
pub fn report_step(step: &str) {
    let text = CURRENT.with(|c| {
        c.borrow()
            .as_ref()
            .map(|head| format!("{head}: {step}"))
            .unwrap_or_else(|| step.to_owned())
    });
    if let Ok(text) = std::ffi::CString::new(text) {
        // SAFETY: copies the text into this backend's activity slot.
        unsafe {
            pg_sys::pgstat_report_activity(pg_sys::BackendState::STATE_RUNNING, text.as_ptr())
        };
    }
}

fn cancel_requested(client_id: i64, batch_id: Uuid) -> bool {
    first_value::<bool>(
        "SELECT true FROM backout.batch_cancel WHERE client_id = $1 AND batch_id = $2",
        &[client_id.into(), batch_id.into()],
    )
    .unwrap_or(false)
}

// timeout.h, not in pgrx's bindings.  STATEMENT_TIMEOUT is the fourth TimeoutId (PostgreSQL 15).
const STATEMENT_TIMEOUT: std::ffi::c_int = 3;
unsafe extern "C-unwind" {
    fn enable_timeout_after(id: std::ffi::c_int, delay_ms: std::ffi::c_int);
    fn disable_timeout(id: std::ffi::c_int, keep_indicator: bool);
    fn get_timeout_indicator(id: std::ffi::c_int, reset_indicator: bool) -> bool;
}

thread_local! {
    /// When the batch timeout of the run in progress was armed.
    static ARMED_AT: std::cell::Cell<Option<std::time::Instant>> = const { std::cell::Cell::new(None) };
}

fn is_background_runner() -> bool {
    // SAFETY: reads a process-global flag.
    unsafe { pg_sys::IsBackgroundWorker }
}

/// Arm pg_backout.lock_timeout for the rest of the transaction, and pg_backout.batch_timeout (a
/// background runner only: a session's own statement_timeout governs CALL run_pending_batches()).
fn arm_timeouts() {
    Spi::run_with_args(
        "SELECT pg_catalog.set_config('lock_timeout', $1, true)",
        &[format!("{}ms", LOCK_TIMEOUT_MS.get().max(0)).into()],
    )
    .expect("lock_timeout");
    let batch_ms = BATCH_TIMEOUT_MS.get();
    if is_background_runner() && batch_ms > 0 {
        // SAFETY: the statement-timeout timer of this process, which no client statement uses.
        unsafe { enable_timeout_after(STATEMENT_TIMEOUT, batch_ms) };
        ARMED_AT.with(|a| a.set(Some(std::time::Instant::now())));
    }
}

/// Disarms the batch timeout; returns whether it fired.  PostgreSQL resets the timer's indicator when it
/// raises the cancel, so the indicator alone cannot tell: a run that lasted the whole timeout timed out.
fn disarm_timeouts() -> bool {
    let armed_at = ARMED_AT.with(|a| a.take());
    if !is_background_runner() {
        return false;
    }
    // SAFETY: as in arm_timeouts.
    let fired = unsafe {
        let fired = get_timeout_indicator(STATEMENT_TIMEOUT, true);
        disable_timeout(STATEMENT_TIMEOUT, false);
        fired
    };
    let limit = std::time::Duration::from_millis(BATCH_TIMEOUT_MS.get().max(0) as u64);
    fired || armed_at.is_some_and(|t| !limit.is_zero() && t.elapsed() >= limit)
}

/// What becomes of a batch after a run.
enum Verdict {
    Completed,
    Retry(Rejection),
    Failed(Rejection),
}

fn judge(claim: &Claim, outcome: Outcome<()>, timed_out: bool) -> Verdict {
    let rejection = match outcome {
        Ok(()) => return Verdict::Completed,
        Err(r) => r,
    };
    let transient = rejection
        .sqlstate
        .as_deref()
        .is_some_and(|s| TRANSIENT.contains(&s));
    if !transient {
        return Verdict::Failed(rejection);
    }
    if cancel_requested(claim.batch.client_id, claim.batch.batch_id) {
        return Verdict::Failed(Rejection::new(
            CANCELLED,
            "cancelled by backout.cancel_batch while it ran; its work was rolled back",
        ));
    }
    if timed_out {
        return Verdict::Failed(
            Rejection::new(BATCH_TIMEOUT, format!("the batch ran longer than pg_backout.batch_timeout ({} ms); its work was rolled back", BATCH_TIMEOUT_MS.get()))
                .with_sqlstate(rejection.sqlstate.clone()),
        );
    }
    if claim.attempts >= MAX_ATTEMPTS.get().max(1) {
        return Verdict::Failed(
            Rejection::new(
                rejection.code,
                format!(
                    "gave up after {} attempts (pg_backout.max_attempts); last error: {}",
                    claim.attempts, rejection.message
                ),
            )
            .with_sqlstate(rejection.sqlstate.clone()),
        );
    }
    Verdict::Retry(rejection)
}

/// Seconds to wait before attempt n+1: 1, 2, 4, ... capped at a minute.
fn backoff_seconds(attempts: i32) -> f64 {
    2f64.powi((attempts - 1).clamp(0, 6)).min(60.0)
}

/// What a batch's row becomes.
struct StatusUpdate {
    status: &'static str,
    code: Option<&'static str>,
    message: Option<String>,
    sqlstate: Option<String>,
    retry_in: Option<f64>,
}

/// Write a PROCESSING batch's new status (a retry keeps it PROCESSING, with the reason in last_error); when
/// it ends, announce it and free what it holds (file claims, cancel request).
fn write_status(kind: &Kind, client_id: i64, batch_id: Uuid, update: StatusUpdate) {
    // the time is a parameter and the announcement a statement of its own: Citus takes no volatile call in
    // an UPDATE of a distributed table
    let sql = format!(
        "UPDATE {table} SET status = $2, error_code = $3,
                error_message = CASE WHEN $2 = 'PROCESSING' THEN error_message ELSE $4 END,
                last_error = CASE WHEN $2 = 'PROCESSING' THEN $4 ELSE last_error END,
                error_sqlstate = CASE WHEN $2 = 'COMPLETED' THEN error_sqlstate ELSE $5 END, runner_pid = NULL,
                next_attempt_at = $7 + pg_catalog.make_interval(secs => $6), update_date = $7
          WHERE {id} = $1 AND client_id = $8 AND status = 'PROCESSING'
         RETURNING status",
        table = kind.table,
        id = kind.id_column
    );
    let written = first_value::<String>(
        &sql,
        &[
            batch_id.into(),
            update.status.into(),
            update.code.into(),
            update.message.into(),
            update.sqlstate.into(),
            update.retry_in.into(),
            now().into(),
            client_id.into(),
        ],
    );
    if let Some(status) = written.filter(|s| s != "PROCESSING") {
        Spi::run_with_args(
            "SELECT pg_catalog.pg_notify($1, pg_catalog.json_build_object('batch_id', $2, 'status', $3)::text)",
            &[NOTIFY_CHANNEL.into(), batch_id.into(), status.into()],
        )
        .expect("announce the batch's end");
    }
    if update.status != "PROCESSING" {
        (kind.release)(client_id, batch_id);
        Spi::run_with_args(
            "DELETE FROM backout.batch_cancel WHERE client_id = $1 AND batch_id = $2",
            &[client_id.into(), batch_id.into()],
        )
        .expect("cancel marker");
    }
}

fn record(claim: &Claim, verdict: &Verdict) -> String {
    let update = match verdict {
        Verdict::Completed => StatusUpdate {
            status: "COMPLETED",
            code: None,
            message: None,
            sqlstate: None,
            retry_in: None,
        },
        Verdict::Failed(r) => StatusUpdate {
            status: "ERROR",
            code: Some(r.code),
            message: Some(r.message.clone()),
            sqlstate: r.sqlstate.clone(),
            retry_in: None,
        },
        Verdict::Retry(r) => StatusUpdate {
            status: "PROCESSING",
            code: None,
            message: Some(r.message.clone()),
            sqlstate: r.sqlstate.clone(),
            retry_in: Some(backoff_seconds(claim.attempts)),
        },
    };
    let status = update.status;
    write_status(
        claim.kind,
        claim.batch.client_id,
        claim.batch.batch_id,
        update,
    );
    status.to_owned()
}

/// End a batch that no runner holds (the caller took its claim lock with `take_if_idle`) as ERROR.
pub fn end_waiting(
    kind: &Kind,
    client_id: i64,
    batch_id: Uuid,
    code: &'static str,
    message: String,
) {
    write_status(
        kind,
        client_id,
        batch_id,
        StatusUpdate {
            status: "ERROR",
            code: Some(code),
            message: Some(message),
            sqlstate: None,
            retry_in: None,
        },
    );
}

/// Before running: a cancelled batch, or one whose runners died too often, ends here.
fn refuse_before_running(claim: &Claim) -> Option<Verdict> {
    if cancel_requested(claim.batch.client_id, claim.batch.batch_id) {
        return Some(Verdict::Failed(Rejection::new(
            CANCELLED,
            "cancelled by backout.cancel_batch before it ran",
        )));
    }
    let max = MAX_ATTEMPTS.get().max(1);
    (claim.attempts > max).then(|| {
        Verdict::Failed(Rejection::new(
            SYSTEM_ERROR,
            format!(
                "gave up after {max} attempts (pg_backout.max_attempts): its runner ended without finishing (crash, kill or FATAL error){}",
                claim.last_error.as_deref().map(|e| format!("; last error: {e}")).unwrap_or_default()
            ),
        ))
    })
}

fn batch_name(claim: &Claim) -> String {
    format!(
        "pg_backout: {} batch {} of client {}",
        claim.kind.name, claim.batch.batch_id, claim.batch.client_id
    )
}

/// The server-log line of a run's end: its outcome, duration and attempt, and for a failure its code,
/// SQLSTATE and message.
fn ended_line(claim: &Claim, verdict: &Verdict, took: std::time::Duration) -> String {
    let head = batch_name(claim);
    let (ms, attempt) = (took.as_millis(), claim.attempts);
    let why = |r: &Rejection| {
        let sqlstate = r
            .sqlstate
            .as_deref()
            .map(|s| format!(" (SQLSTATE {s})"))
            .unwrap_or_default();
        format!("{}{sqlstate}: {}", r.code, r.message)
    };
    match verdict {
        Verdict::Completed => format!("{head} COMPLETED in {ms} ms (attempt {attempt})"),
        Verdict::Failed(r) => format!("{head} ERROR in {ms} ms (attempt {attempt}): {}", why(r)),
        Verdict::Retry(r) => format!(
            "{head} failed in {ms} ms (attempt {attempt}), retried in {} s: {}",
            backoff_seconds(attempt),
            why(r)
        ),
    }
}

fn log_run(line: String) {
    if LOG_RUN.get() {
        ereport!(
            PgLogLevel::LOG,
            PgSqlErrorCode::ERRCODE_SUCCESSFUL_COMPLETION,
            line
        );
    }
}

/// Run a claimed batch and record the outcome, in the current transaction; releases the claim.
pub fn run_claimed(claim: Claim) -> Ran {
    let (kind, client_id, batch_id) = (claim.kind, claim.batch.client_id, claim.batch.batch_id);
    CURRENT.with(|c| {
        *c.borrow_mut() = Some(format!(
            "pg_backout {} {batch_id} (client {client_id}, attempt {})",
            kind.name, claim.attempts
        ))
    });
    report_step("starting");
    let started = std::time::Instant::now();
    log_run(format!(
        "{} started (attempt {})",
        batch_name(&claim),
        claim.attempts
    ));
    access::as_owner(|| hold_batch_row(kind, client_id, batch_id));
    let verdict = access::as_owner(|| refuse_before_running(&claim)).unwrap_or_else(|| {
        arm_timeouts();
        let outcome = in_subtransaction(|| {
            access::recheck_submitter(client_id, claim.run_as, batch_id)?;
            access::as_submitter(claim.run_as, || (kind.run)(&claim.batch))
        });
        let timed_out = disarm_timeouts();
        access::as_owner(|| judge(&claim, outcome, timed_out))
    });
    let status = access::as_owner(|| record(&claim, &verdict));
    log_run(ended_line(&claim, &verdict, started.elapsed()));
    CURRENT.with(|c| *c.borrow_mut() = None);
    report_step("idle");
    Ran {
        kind: kind.name,
        batch_id,
        client_id,
        status,
    }
}

// ---------------------------------------------------------------------------------------------------
// Lookups shared by the SQL-facing functions (batch_api.rs)

fn by_id_sql(columns: &str) -> String {
    over_kinds(&format!(
        "SELECT {columns} FROM {{table}} WHERE {{id}} = $1"
    ))
}

/// Status of a batch of any kind by id, as the caller may see it (row-level security), or None.  An id names
/// one request per client: a caller who can see several clients' requests of that id gets PROCESSING while
/// any of them is, else the newest one's status.
pub fn status_of(batch_id: Uuid) -> Option<String> {
    read_value::<String>(
        &format!(
            "SELECT b.status FROM ({}) AS b ORDER BY b.status = 'PROCESSING' DESC, b.create_date DESC LIMIT 1",
            by_id_sql("status, create_date")
        ),
        &[batch_id.into()],
    )
}

/// The client of a batch of any kind, looked up as the owner (whoever may see it).
pub fn client_of(batch_id: Uuid) -> Option<i64> {
    access::as_owner(|| read_value::<i64>(&by_id_sql("client_id"), &[batch_id.into()]))
}

/// The kind and status of a client's batch, as the owner.
pub fn lookup(client_id: i64, batch_id: Uuid) -> Option<(&'static Kind, String)> {
    let sql = over_kinds("SELECT {kind}, status FROM {table} WHERE {id} = $1 AND client_id = $2");
    access::as_owner(|| {
        crate::reply::read(|spi| {
            let rows = spi
                .select(&sql, Some(1), &[batch_id.into(), client_id.into()])
                .expect("batch lookup");
            if rows.is_empty() {
                return None;
            }
            let row = rows.first();
            let kind = *kinds().get(row.get::<i32>(1).ok()?? as usize)?;
            Some((kind, row.get::<String>(2).ok()??))
        })
    })
}

pub fn submitted_by_this_transaction(batch_id: Uuid) -> bool {
    read_value::<bool>(
        &format!(
            "SELECT COALESCE(bool_or(b.xmin = (pg_catalog.pg_current_xact_id_if_assigned())::xid), false)
             FROM ({}) AS b",
            by_id_sql("xmin")
        ),
        &[batch_id.into()],
    )
    .unwrap_or(false)
}

/// Checks a caller may run batches of a client at all (run_next_batch, run_pending_batches).
pub fn scope_for_caller(client_id: Option<i64>, function: &str) -> Option<Scope> {
    if let Some(client) = client_id {
        if !access::check_entitled(client, Level::Operator, function) {
            return None;
        }
    }
    Some(Scope {
        client_id,
        clients: access::entitled_clients(Level::Operator),
    })
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::*;

    #[pg_test]
    fn sqlstates_unpack() {
        assert_eq!(
            sqlstate_text(PgSqlErrorCode::ERRCODE_T_R_DEADLOCK_DETECTED as i32),
            "40P01"
        );
        assert_eq!(
            sqlstate_text(PgSqlErrorCode::ERRCODE_LOCK_NOT_AVAILABLE as i32),
            "55P03"
        );
        assert_eq!(
            sqlstate_text(PgSqlErrorCode::ERRCODE_DIVISION_BY_ZERO as i32),
            "22012"
        );
    }

    /// A PROCESSING row of `kind` for `client_id`: its NOT NULL columns without a default filled with a
    /// value of their type.  Returns its id as text.
    fn processing_row(kind: &Kind, client_id: i64) -> String {
        let (schema, table) = kind.table.split_once('.').expect("qualified");
        let filled = Spi::get_one_with_args::<String>(
            "SELECT coalesce(string_agg(format(', %I', a.attname), ''), '') || ') VALUES ($1, ''PROCESSING'''
                    || coalesce(string_agg(format(', %L::%s', CASE t.typcategory WHEN 'N' THEN '0' WHEN 'B' THEN 'false'
                                                   WHEN 'A' THEN '{}' WHEN 'D' THEN '2000-01-01'
                                                   ELSE 'registry test' END,
                                                 format_type(a.atttypid, a.atttypmod)), ''), '')
             FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
             WHERE a.attrelid = format('%I.%I', $1, $2)::regclass AND a.attnum > 0 AND NOT a.attisdropped
               AND a.attnotnull AND NOT a.atthasdef AND a.attname NOT IN ('client_id', 'status')",
            &[schema.into(), table.into()],
        )
        .expect("columns")
        .unwrap_or_default();
        Spi::get_one_with_args::<String>(
            &format!(
                "INSERT INTO {} (client_id, status{filled}) RETURNING {}::text",
                kind.table, kind.id_column
            ),
            &[client_id.into()],
        )
        .expect("insert")
        .expect("id")
    }

    /// A kind is one module and one registration: every statement about batches of any kind (the runner
    /// start check, clear's busy check, the operations view, prune_audit) sees every registered kind.
    #[pg_test]
    fn every_registered_kind_is_in_every_statement_about_batches() {
        assert!(!kinds().is_empty());
        let day = Spi::get_one::<Timestamp>("SELECT '2030-01-01'::timestamp")
            .expect("day")
            .expect("day");
        for (i, kind) in kinds().iter().enumerate() {
            let client_id = 990_001 + i as i64;
            let id = processing_row(kind, client_id);
            assert!(
                crate::worker::batches_waiting(),
                "{}: runner start",
                kind.name
            );
            let busy = crate::clear::reject_busy(client_id, day).expect_err(kind.name);
            assert!(
                busy.message.contains(&id),
                "{}: {}",
                kind.name,
                busy.message
            );
            assert_eq!(
                Spi::get_one_with_args::<String>(
                    "SELECT operation FROM backout.operations WHERE client_id = $1 AND operation_id = $2",
                    &[client_id.into(), id.clone().into()],
                )
                .expect("operations"),
                Some(kind.name.to_owned()),
                "{}: backout.operations",
                kind.name
            );
            Spi::run_with_args(
                &format!(
                    "UPDATE {} SET status = 'COMPLETED', update_date = now() - interval '2 days' WHERE client_id = $1",
                    kind.table
                ),
                &[client_id.into()],
            )
            .expect("finish");
            assert!(
                !crate::worker::batches_waiting(),
                "{}: nothing waits",
                kind.name
            );
            Spi::run("SELECT * FROM backout.prune_audit('1 day')").expect("prune");
            let left = Spi::get_one_with_args::<i64>(
                &format!("SELECT count(*) FROM {} WHERE client_id = $1", kind.table),
                &[client_id.into()],
            )
            .expect("count");
            assert_eq!(left, Some(0), "{}: prune_audit", kind.name);
        }
    }

    #[pg_test]
    fn backoff_doubles_up_to_a_minute() {
        assert_eq!(backoff_seconds(1), 1.0);
        assert_eq!(backoff_seconds(2), 2.0);
        assert_eq!(backoff_seconds(3), 4.0);
        assert_eq!(backoff_seconds(30), 60.0);
    }
}
