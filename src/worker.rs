//! Background workers that run submitted batches.
//!
//! - The **launcher** is a static worker, registered when the library is in `shared_preload_libraries`.
//!   It connects to no database (so it never blocks `DROP DATABASE` and never fails while the database
//!   named by `pg_backout.database` does not exist yet) and, every `pg_backout.poll_interval`, starts a
//!   runner for that database if none of its own is running.  That is how batches left `PROCESSING` by a
//!   crash or restart are picked up.  The postmaster restarts it after a crash; on SIGTERM it exits 1.
//! - A **runner** is a dynamic worker connected to one database: it runs every due batch, one
//!   transaction each, and exits.  A submission starts one when it commits (so a batch starts within
//!   milliseconds, preloaded or not), and so do status checks that find a batch waiting with no runner.
//!   SIGTERM aborts the batch in progress (rolled back; it stays `PROCESSING` and runs again later).
use pgrx::bgworkers::{
    BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime, DynamicBackgroundWorker,
    SignalWakeFlags,
};
use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::prelude::*;
use pgrx::{pg_sys, PgXactCallbackEvent};
use std::cell::Cell;
use std::ffi::{CStr, CString};
use std::time::{Duration, Instant};

pub const RUNNER_TYPE: &str = "pg_backout runner";
const LAUNCHER_TYPE: &str = "pg_backout launcher";

static DATABASE: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"postgres"));
static POLL_INTERVAL_S: GucSetting<i32> = GucSetting::<i32>::new(10);
static START_RUNNERS: GucSetting<bool> = GucSetting::<bool>::new(true);

pub fn define_settings() {
    GucRegistry::define_string_guc(
        c"pg_backout.database",
        c"Database whose batches the pg_backout launcher runs.",
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

fn start_runner(database: pg_sys::Oid, notify_pid: i32) -> Option<DynamicBackgroundWorker> {
    let started = BackgroundWorkerBuilder::new(RUNNER_TYPE)
        .set_type(RUNNER_TYPE)
        .set_library("pg_backout")
        .set_function("pg_backout_runner_main")
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(None)
        .set_argument(Some(pg_sys::Datum::from(database)))
        .set_notify_pid(notify_pid)
        .load_dynamic();
    if started.is_err() {
        warning!("pg_backout: could not start a runner (max_worker_processes reached?); the launcher's poll or run_pending_batches() will run the batch");
    }
    started.ok()
}

thread_local! {
    static RUNNER_REQUESTED: Cell<bool> = const { Cell::new(false) };
}

/// Start a runner for this database once the current transaction commits (its batches are then
/// visible); nothing when it aborts.
pub fn start_runner_at_commit() {
    if !START_RUNNERS.get() || RUNNER_REQUESTED.get() {
        return;
    }
    RUNNER_REQUESTED.set(true);
    pgrx::register_xact_callback(PgXactCallbackEvent::Commit, || {
        RUNNER_REQUESTED.set(false);
        // SAFETY: MyDatabaseId is set for the life of a connected backend.
        start_runner(unsafe { pg_sys::MyDatabaseId }, 0);
    });
    pgrx::register_xact_callback(PgXactCallbackEvent::Abort, || RUNNER_REQUESTED.set(false));
}

/// Start a runner now if batches wait in this database and no runner is connected to it (after a
/// restart without a launcher for this database, or when starting one at commit failed).
pub fn start_runner_if_idle() {
    if !START_RUNNERS.get() {
        return;
    }
    let idle = Spi::get_one_with_args::<bool>(
        "SELECT NOT EXISTS (SELECT FROM pg_stat_activity
                            WHERE backend_type = $1 AND datname = current_database())
            AND (EXISTS (SELECT FROM backout.undo_batch WHERE status = 'PROCESSING')
                 OR EXISTS (SELECT FROM backout.backout_batch WHERE status = 'PROCESSING'))",
        &[RUNNER_TYPE.into()],
    )
    .expect("runner lookup");
    if idle == Some(true) {
        // SAFETY: MyDatabaseId is set for the life of a connected backend.
        start_runner(unsafe { pg_sys::MyDatabaseId }, 0);
    }
}

fn configured_database() -> String {
    DATABASE
        .get()
        .and_then(|name| name.into_string().ok())
        .unwrap_or_else(|| "postgres".into())
}

/// The database's oid, read with a heap scan of pg_database: the launcher has no database, so only
/// nailed shared catalogs are readable (not the index a lookup by name would use).
fn database_oid(name: &str) -> Option<pg_sys::Oid> {
    BackgroundWorker::transaction(|| {
        // SAFETY: a catalog heap scan inside a transaction, as the autovacuum launcher does.
        unsafe {
            let rel = pg_sys::table_open(pg_sys::DatabaseRelationId, pg_sys::AccessShareLock as _);
            let scan = pg_sys::table_beginscan_catalog(rel, 0, std::ptr::null_mut());
            let mut found = None;
            loop {
                let tuple = pg_sys::heap_getnext(scan, pg_sys::ScanDirection::ForwardScanDirection);
                if tuple.is_null() {
                    break;
                }
                let form = pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_database>(tuple);
                if CStr::from_ptr((*form).datname.data.as_ptr()).to_bytes() == name.as_bytes() {
                    found = Some((*form).oid);
                    break;
                }
            }
            pg_sys::table_endscan(scan);
            pg_sys::table_close(rel, pg_sys::AccessShareLock as _);
            found
        }
    })
}

fn runner_running(runner: &Option<DynamicBackgroundWorker>) -> bool {
    runner.as_ref().is_some_and(|r| r.pid().is_ok())
}

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn pg_backout_launcher_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    BackgroundWorker::connect_worker_to_spi(None, None);
    let mut runner: Option<DynamicBackgroundWorker> = None;
    let mut last_start: Option<Instant> = None;
    loop {
        let interval = Duration::from_secs(POLL_INTERVAL_S.get().max(1) as u64);
        let due = last_start.is_none_or(|t| t.elapsed() >= interval);
        if due && !runner_running(&runner) {
            if let Some(oid) = database_oid(&configured_database()) {
                // SAFETY: our own pid, so the postmaster tells us when the runner stops.
                runner = start_runner(oid, unsafe { pg_sys::MyProcPid });
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
    let database = pg_sys::Oid::from(arg.value() as u32);
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(database), None);
    if !extension_ready() {
        return;
    }
    while BackgroundWorker::transaction(|| crate::batches::run_next(None)).is_some() {
        pgrx::check_for_interrupts!();
    }
}
