//! Symbols of released versions' functions that no longer exist, so that their scripts still run against
//! this library: `ALTER EXTENSION pg_backout UPDATE` from 0.1.0 runs the 0.1.0 -> 0.2.0 script, which
//! creates `run_pending_batches(bigint)` (a function until 0.2.0, a procedure since 0.3.0) before the
//! 0.2.0 -> 0.3.0 script drops it.  PostgreSQL checks a C function's symbol when it is created.
use pgrx::pg_sys;

#[unsafe(no_mangle)]
pub extern "C" fn pg_finfo_run_pending_batches_wrapper() -> &'static pg_sys::Pg_finfo_record {
    static V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1
}

/// The 0.2.0 function `backout.run_pending_batches(bigint)`, while an update is in progress.
#[pgrx::pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn run_pending_batches_wrapper(
    _fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    pgrx::error!("this library is pg_backout {}: run ALTER EXTENSION pg_backout UPDATE, then CALL backout.run_pending_batches()", env!("CARGO_PKG_VERSION"))
}
