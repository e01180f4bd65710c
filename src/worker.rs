//! Background workers that run submitted batches.
//!
//! - The **launcher** is a static worker, registered when the library is in `shared_preload_libraries`.
//!   It connects to no database (so it never blocks `DROP DATABASE` and never fails while a database
//!   named by `pg_backout.database` does not exist yet) and, every `pg_backout.poll_interval`, starts a
//!   runner for each database of that comma-separated list whose last runner has ended.  That is how
//!   batches left `PROCESSING` by a crash or restart, and retries that came due, are picked up.  The
//!   postmaster restarts it after a crash; on SIGTERM it exits 1.
//! - A **runner** is a dynamic worker connected to one database: it runs every due batch, one claim and
//!   one run transaction each; after a round that ran batches it idles up to `pg_backout.runner_linger`,
//!   woken through its latch by submissions, and exits when a round finds nothing.  A submission wakes the
//!   idle runners of its database when it commits, or starts one while fewer than `pg_backout.max_runners`
//!   run there (so a batch starts within milliseconds, preloaded or not); status checks that find a batch
//!   waiting with no runner start one too.  SIGTERM aborts the batch in progress (rolled back; it stays
//!   `PROCESSING`, its attempt counted, and runs again later).
//! - A runner connects as `pg_backout.worker_role` (default `backout_worker`, created by the extension,
//!   LOGIN, no privilege of its own), pins its `search_path` before any query, and runs each batch with the
//!   rights of the role that submitted it.  Its argument packs the database and role oids.
use crate::batches;
use pgrx::bgworkers::{
    BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime, DynamicBackgroundWorker,
    SignalWakeFlags,
};
use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::prelude::*;
use pgrx::{pg_sys, PgXactCallbackEvent};
use std::cell::Cell;
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::time::{Duration, Instant};

pub const RUNNER_TYPE: &str = "pg_backout runner";
const LAUNCHER_TYPE: &str = "pg_backout launcher";

static DATABASE: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"postgres"));
static POLL_INTERVAL_S: GucSetting<i32> = GucSetting::<i32>::new(10);
static START_RUNNERS: GucSetting<bool> = GucSetting::<bool>::new(true);
static MAX_RUNNERS: GucSetting<i32> = GucSetting::<i32>::new(2);
static RUNNER_LINGER_S: GucSetting<i32> = GucSetting::<i32>::new(2);
static WORKER_ROLE: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"backout_worker"));
const RUNNER_SEARCH_PATH: &str =
    "SELECT pg_catalog.set_config('search_path', 'pg_catalog, backout, pg_temp', false)";

pub fn define_settings() {
    GucRegistry::define_string_guc(
        c"pg_backout.database",
        c"Databases (comma-separated) whose batches the pg_backout launcher runs.",
        c"Batches of other databases run when submitted, or when polled, or by run_pending_batches().",
        &DATABASE,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"pg_backout.poll_interval",
        c"Seconds between the launcher's checks for batches waiting without a runner.",
        c"",
        &POLL_INTERVAL_S,
        1,
        3600,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_string_guc(
        c"pg_backout.worker_role",
        c"Role the pg_backout runners connect as (LOGIN; needs no privilege: batches run as their submitters).",
        c"",
        &WORKER_ROLE,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"pg_backout.max_runners",
        c"Runners a submission may have running in one database at once (different clients' batches run in parallel).",
        c"A submission wakes an idle runner, or starts one while fewer run; the launcher's poll adds at most one more.",
        &MAX_RUNNERS,
        1,
        64,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"pg_backout.runner_linger",
        c"Seconds a runner that ran batches waits for the next submission before it exits.",
        c"Submissions wake it through its latch; 0 exits at once.  A lingering runner holds a connection to its database: DROP DATABASE waits 5 s for such connections, so keep this lower.",
        &RUNNER_LINGER_S,
        0,
        3600,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"pg_backout.max_attempts",
        c"Runs of a batch before it ends ERROR: transient failures retried, runners that died counted.",
        c"",
        &batches::MAX_ATTEMPTS,
        1,
        100,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"pg_backout.lock_timeout",
        c"Longest wait for a pg_backout lock (and, in a batch, for any lock); a batch waiting longer is retried later (0: wait forever).",
        c"",
        &batches::LOCK_TIMEOUT_MS,
        0,
        i32::MAX,
        GucContext::Userset,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_int_guc(
        c"pg_backout.batch_timeout",
        c"Longest run of a batch in a background runner; a batch running longer ends ERROR (0: no limit).",
        c"",
        &batches::BATCH_TIMEOUT_MS,
        0,
        i32::MAX,
        GucContext::Sighup,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_bool_guc(
        c"pg_backout.log_run",
        c"Write a line to the server log when a batch starts and when it ends (outcome, duration, attempt, error).",
        c"",
        &batches::LOG_RUN,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"pg_backout.start_runners",
        c"Start a runner when a batch is submitted or found waiting by a status check.",
        c"Off leaves batches to the launcher's poll and to backout.run_pending_batches() (isolation tests).",
        &START_RUNNERS,
        GucContext::Userset,
        GucFlags::default(),
    );
}

pub fn register_launcher() {
    BackgroundWorkerBuilder::new(LAUNCHER_TYPE)
        .set_type(LAUNCHER_TYPE)
        .set_library("pg_backout")
        .set_function("pg_backout_launcher_main")
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(Some(Duration::from_secs(5)))
        .load();
}

fn worker_role_name() -> String {
    WORKER_ROLE
        .get()
        .and_then(|name| name.into_string().ok())
        .unwrap_or_else(|| "backout_worker".into())
}

fn pack(database: pg_sys::Oid, role: pg_sys::Oid) -> pg_sys::Datum {
    pg_sys::Datum::from((u64::from(database.to_u32()) << 32) | u64::from(role.to_u32()))
}

fn unpack(arg: pg_sys::Datum) -> (pg_sys::Oid, pg_sys::Oid) {
    let value = arg.value() as u64;
    (
        pg_sys::Oid::from((value >> 32) as u32),
        pg_sys::Oid::from(value as u32),
    )
}

/// The worker role's oid when it exists and may log in (looked up in a backend's transaction).
fn worker_role_in_backend() -> Option<pg_sys::Oid> {
    let name = worker_role_name();
    let found = crate::reply::read_value::<pg_sys::Oid>(
        "SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1 AND rolcanlogin",
        &[name.as_str().into()],
    );
    match found {
        Some(oid) => Some(oid),
        _ => {
            warning!("pg_backout: worker role \"{name}\" (pg_backout.worker_role) does not exist or cannot log in; batches wait for CALL backout.run_pending_batches()");
            None
        }
    }
}

fn start_runner(
    database: pg_sys::Oid,
    role: pg_sys::Oid,
    notify_pid: i32,
) -> Option<DynamicBackgroundWorker> {
    let started = BackgroundWorkerBuilder::new(RUNNER_TYPE)
        .set_type(RUNNER_TYPE)
        .set_library("pg_backout")
        .set_function("pg_backout_runner_main")
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(None)
        .set_argument(Some(pack(database, role)))
        .set_notify_pid(notify_pid)
        .load_dynamic();
    if started.is_err() {
        tell_once_no_runner();
    }
    started.ok()
}

thread_local! {
    static TOLD_NO_RUNNER: Cell<bool> = const { Cell::new(false) };
}

/// No runner could be started: say so once per session (a status poll tries again each time; repeating
/// the warning on every poll would bury it), with what to do.
fn tell_once_no_runner() {
    if TOLD_NO_RUNNER.replace(true) {
        return;
    }
    ereport!(
        PgLogLevel::WARNING,
        PgSqlErrorCode::ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
        "pg_backout: no runner could be started for this database: every background worker slot (max_worker_processes) is in use",
        "Its batches stay PROCESSING until a slot frees up and the launcher or a status check starts a runner; raise max_worker_processes (restart needed), or run them now with CALL backout.run_pending_batches()."
    );
}

thread_local! {
    static RUNNER_REQUESTED: Cell<bool> = const { Cell::new(false) };
}

/// What a commit does for its new batches: wake the runners idling in this database, or start one.
enum AtCommit {
    Wake(Vec<i32>),
    Start(pg_sys::Oid),
    Nothing,
}

/// The runners connected to this database: (pid, idle), read as the owner (another role's
/// pg_stat_activity.state is hidden).
fn runners_here() -> Vec<(i32, bool)> {
    crate::access::as_owner(|| {
        Spi::connect_mut(|spi| {
            spi.update(
                "SELECT pid, state = 'idle' FROM pg_catalog.pg_stat_activity
                 WHERE backend_type = $1 AND datid = (SELECT oid FROM pg_catalog.pg_database
                                                      WHERE datname = pg_catalog.current_database())",
                None,
                &[RUNNER_TYPE.into()],
            )
            .expect("runner lookup")
            .map(|r| {
                (
                    r.get::<i32>(1).ok().flatten().unwrap_or(0),
                    r.get::<bool>(2).ok().flatten().unwrap_or(false),
                )
            })
            .collect()
        })
    })
}

fn plan_at_commit() -> AtCommit {
    let runners = runners_here();
    let idle: Vec<i32> = runners.iter().filter(|r| r.1).map(|r| r.0).collect();
    if !idle.is_empty() {
        return AtCommit::Wake(idle);
    }
    if runners.len() >= MAX_RUNNERS.get().max(1) as usize {
        return AtCommit::Nothing; // a busy runner claims the batch when it is done with its own
    }
    worker_role_in_backend().map_or(AtCommit::Nothing, AtCommit::Start)
}

fn wake(pids: &[i32]) {
    for pid in pids {
        // SAFETY: looks the process up in the proc array (under its lock) and sets its latch, as
        // pg_notify does for listeners; a pid that has exited meanwhile is simply not found.
        unsafe {
            let proc_ = pg_sys::BackendPidGetProc(*pid);
            if !proc_.is_null() {
                pg_sys::SetLatch(&mut (*proc_).procLatch);
            }
        }
    }
}

/// Once the current transaction commits (its batches are then visible), wake an idle runner of this
/// database or, while fewer than pg_backout.max_runners run, start one; nothing when it aborts.
pub fn start_runner_at_commit() {
    if !START_RUNNERS.get() || RUNNER_REQUESTED.get() {
        return;
    }
    let plan = plan_at_commit();
    if matches!(plan, AtCommit::Nothing) {
        return;
    }
    RUNNER_REQUESTED.set(true);
    pgrx::register_xact_callback(PgXactCallbackEvent::Commit, move || {
        RUNNER_REQUESTED.set(false);
        match &plan {
            AtCommit::Wake(pids) => wake(pids),
            // SAFETY: MyDatabaseId is set for the life of a connected backend.
            AtCommit::Start(role) => drop(start_runner(unsafe { pg_sys::MyDatabaseId }, *role, 0)),
            AtCommit::Nothing => {}
        }
    });
    pgrx::register_xact_callback(PgXactCallbackEvent::Abort, || RUNNER_REQUESTED.set(false));
}

fn in_recovery() -> bool {
    // SAFETY: reads shared recovery state.
    unsafe { pg_sys::RecoveryInProgress() }
}

/// Start a runner now if batches wait in this database and no runner is connected to it (after a
/// restart without a launcher for this database, or when starting one at commit failed).
pub fn start_runner_if_idle() {
    if !START_RUNNERS.get() || in_recovery() {
        return; // a standby runs no batch: they run on the primary
    }
    let no_runner = crate::reply::read_value::<bool>(
        "SELECT NOT EXISTS (SELECT FROM pg_stat_activity
                            WHERE backend_type = $1 AND datname = current_database())",
        &[RUNNER_TYPE.into()],
    );
    if no_runner == Some(true) && batches_waiting() {
        if let Some(role) = worker_role_in_backend() {
            // SAFETY: MyDatabaseId is set for the life of a connected backend.
            start_runner(unsafe { pg_sys::MyDatabaseId }, role, 0);
        }
    }
}

/// Does a batch of any kind wait in this database?
pub fn batches_waiting() -> bool {
    crate::reply::read_value::<bool>(
        &format!("SELECT EXISTS ({})", crate::batches::processing_sql(true)),
        &[Option::<i64>::None.into()],
    ) == Some(true)
}

fn configured_databases() -> Vec<String> {
    DATABASE
        .get()
        .and_then(|names| names.into_string().ok())
        .unwrap_or_else(|| "postgres".into())
        .split(',')
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect()
}

/// The first row of a shared catalog (readable without a database) for which `pick` answers, read with a
/// heap scan: the launcher has no database, so only nailed shared catalogs are readable (not the index a
/// lookup by name would use).
fn scan_shared_catalog<F: Copy, R>(
    relation: pg_sys::Oid,
    pick: impl Fn(&F) -> Option<R> + std::panic::RefUnwindSafe,
) -> Option<R> {
    BackgroundWorker::transaction(|| {
        // SAFETY: a catalog heap scan inside a transaction, as the autovacuum launcher does; `F` is the
        // catalog's row struct.
        unsafe {
            let rel = pg_sys::table_open(relation, pg_sys::AccessShareLock as _);
            let scan = pg_sys::table_beginscan_catalog(rel, 0, std::ptr::null_mut());
            let mut found = None;
            loop {
                let tuple = pg_sys::heap_getnext(scan, pg_sys::ScanDirection::ForwardScanDirection);
                if tuple.is_null() {
                    break;
                }
                found = pick(&*pg_sys::heap_tuple_get_struct::<F>(tuple));
                if found.is_some() {
                    break;
                }
            }
            pg_sys::table_endscan(scan);
            pg_sys::table_close(rel, pg_sys::AccessShareLock as _);
            found
        }
    })
}

fn database_oid(name: &str) -> Option<pg_sys::Oid> {
    scan_shared_catalog(
        pg_sys::DatabaseRelationId,
        |db: &pg_sys::FormData_pg_database| {
            // SAFETY: datname is a NUL-terminated NameData.
            let datname = unsafe { CStr::from_ptr(db.datname.data.as_ptr()) };
            (datname.to_bytes() == name.as_bytes()).then_some(db.oid)
        },
    )
}

/// The worker role's oid if it exists and may log in.
fn worker_role_oid(name: &str) -> Option<pg_sys::Oid> {
    scan_shared_catalog(
        pg_sys::AuthIdRelationId,
        |role: &pg_sys::FormData_pg_authid| {
            // SAFETY: rolname is a NUL-terminated NameData.
            let rolname = unsafe { CStr::from_ptr(role.rolname.data.as_ptr()) };
            (rolname.to_bytes() == name.as_bytes() && role.rolcanlogin).then_some(role.oid)
        },
    )
}

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn pg_backout_launcher_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    BackgroundWorker::connect_worker_to_spi(None, None);
    let mut runners: HashMap<String, DynamicBackgroundWorker> = HashMap::new();
    let mut last_start: Option<Instant> = None;
    let mut role_missing_logged = false;
    loop {
        let interval = Duration::from_secs(POLL_INTERVAL_S.get().max(1) as u64);
        let due = last_start.is_none_or(|t| t.elapsed() >= interval);
        if due {
            let role = worker_role_oid(&worker_role_name());
            if role.is_none() && !role_missing_logged {
                log!("pg_backout launcher: worker role \"{}\" (pg_backout.worker_role) does not exist or cannot log in; waiting for it", worker_role_name());
            }
            role_missing_logged = role.is_none();
            for name in configured_databases() {
                if runners.get(&name).is_some_and(|r| r.pid().is_ok()) {
                    continue; // its runner of the last poll is still at work
                }
                if let (Some(db), Some(role)) = (database_oid(&name), role) {
                    // SAFETY: our own pid, so the postmaster tells us when the runner stops.
                    if let Some(runner) = start_runner(db, role, unsafe { pg_sys::MyProcPid }) {
                        runners.insert(name, runner);
                    }
                }
            }
            last_start = Some(Instant::now());
        }
        let wait = interval.saturating_sub(last_start.map_or(interval, |t| t.elapsed()));
        if !BackgroundWorker::wait_latch(Some(wait.max(Duration::from_millis(10)))) {
            break;
        }
        if BackgroundWorker::sighup_received() {
            // SAFETY: re-reads postgresql.conf, as every process does on SIGHUP.
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
        }
    }
    // Exit 1 so that the postmaster starts the launcher again if it was terminated on its own.
    // SAFETY: ends this worker process.
    unsafe { pg_sys::proc_exit(1) };
}

/// The installed extension's version, if it is installed in this database.
fn installed_version() -> Option<String> {
    crate::reply::first_value::<String>(
        "SELECT extversion FROM pg_extension WHERE extname = 'pg_backout'",
        &[],
    )
}

fn extension_ready() -> bool {
    match BackgroundWorker::transaction(installed_version) {
        None => false,
        Some(v) if v == env!("CARGO_PKG_VERSION") => true,
        Some(v) => {
            log!(
                "pg_backout runner: extension version {v} is installed but the library is {}; run ALTER EXTENSION pg_backout UPDATE",
                env!("CARGO_PKG_VERSION")
            );
            false
        }
    }
}

unsafe extern "C-unwind" {
    /// Postgres' own SIGTERM handler for backends (pgrx only exposes a wrapped Rust version).
    #[link_name = "die"]
    fn backend_die(signal: std::ffi::c_int);
}

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn pg_backout_runner_main(arg: pg_sys::Datum) {
    // SAFETY: the standard backend SIGTERM handler: the batch in progress is aborted and rolled back.
    unsafe {
        pg_sys::pqsignal(pg_sys::SIGTERM as i32, Some(backend_die));
        pg_sys::BackgroundWorkerUnblockSignals();
    }
    let (database, role) = unpack(arg);
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(database), Some(role));
    // Before any other query: nothing may resolve through a search_path the worker role's settings chose.
    BackgroundWorker::transaction(|| Spi::run(RUNNER_SEARCH_PATH).expect("pin search_path"));
    if !extension_ready() {
        return;
    }
    // Run every due batch; after a round that ran some, wait for a submission to wake us (latch) up to
    // pg_backout.runner_linger, then look again.  A round that finds nothing ends the runner.
    while run_due_batches() > 0 && linger() {}
}

/// Two transactions per batch: the claim (its attempt counted) commits before the run starts.
fn run_due_batches() -> usize {
    let every_client = batches::Scope::EVERY_CLIENT;
    let mut ran = 0;
    while let Some(claim) = BackgroundWorker::transaction(|| batches::claim_next(&every_client)) {
        BackgroundWorker::transaction(|| batches::run_claimed(claim));
        ran += 1;
        pgrx::check_for_interrupts!();
    }
    ran
}

/// Idle until woken or pg_backout.runner_linger passes; false when the runner should end now.
fn linger() -> bool {
    let seconds = RUNNER_LINGER_S.get();
    if seconds <= 0 {
        return false;
    }
    // SAFETY: reports this process idle (pg_stat_activity.state), then waits on its own latch.
    unsafe {
        pg_sys::pgstat_report_activity(pg_sys::BackendState::STATE_IDLE, c"".as_ptr());
        pg_sys::WaitLatch(
            pg_sys::MyLatch,
            (pg_sys::WL_LATCH_SET | pg_sys::WL_TIMEOUT | pg_sys::WL_EXIT_ON_PM_DEATH) as i32,
            i64::from(seconds) * 1000,
            pg_sys::PG_WAIT_EXTENSION,
        );
        pg_sys::ResetLatch(pg_sys::MyLatch);
    }
    pgrx::check_for_interrupts!();
    true
}
