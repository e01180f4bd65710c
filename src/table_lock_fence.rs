//! No tenant stalls another through a table lock: `LOCK TABLE` on a table or view of schema `backout` in a
//! mode that blocks other sessions' writes or maintenance (SHARE UPDATE EXCLUSIVE and stronger) is refused
//! unless the caller owns it (the extension's owner, a superuser).  An operator may write the shared tables
//! (its clients' rows only, by row-level security), and PostgreSQL lets whoever may write a table lock it
//! whole in any mode: one `LOCK TABLE backout.usage_txn IN SHARE MODE` would stop every other client's
//! ingest.  Weaker modes (ACCESS SHARE, ROW SHARE, ROW EXCLUSIVE) conflict with no read or write.
//!
//! A ProcessUtility hook, installed when the library loads: in every backend when pg_backout is in
//! `shared_preload_libraries` (the supported setup, as for the launcher), otherwise only in backends that
//! have called one of its functions.
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::ffi::c_char;

static mut PREVIOUS: pg_sys::ProcessUtility_hook_type = None;

/// The strongest mode anyone may take on the extension's tables: ROW EXCLUSIVE, what every write takes.
const STRONGEST_SHARED_MODE: i32 = pg_sys::RowExclusiveLock as i32;

pub fn install() {
    // SAFETY: hooks are chained in _PG_init, once per process, before any statement runs.
    unsafe {
        PREVIOUS = pg_sys::ProcessUtility_hook;
        pg_sys::ProcessUtility_hook = Some(fence);
    }
}

const MODE_NAMES: [&str; 9] = [
    "",
    "ACCESS SHARE",
    "ROW SHARE",
    "ROW EXCLUSIVE",
    "SHARE UPDATE EXCLUSIVE",
    "SHARE",
    "SHARE ROW EXCLUSIVE",
    "EXCLUSIVE",
    "ACCESS EXCLUSIVE",
];

/// Refuse the statement when it is a LOCK of one of the extension's relations that the caller does not
/// own, in a mode stronger than ROW EXCLUSIVE.
unsafe fn check_lock(statement: *mut pg_sys::Node) {
    if !pgrx::is_a(statement, pg_sys::NodeTag::T_LockStmt) {
        return;
    }
    let lock = statement as *mut pg_sys::LockStmt;
    if (*lock).mode <= STRONGEST_SHARED_MODE {
        return;
    }
    let schema = pg_sys::get_namespace_oid(c"backout".as_ptr(), true);
    if schema == pg_sys::InvalidOid {
        return;
    }
    let relations = pgrx::PgList::<pg_sys::RangeVar>::from_pg((*lock).relations);
    for relation in relations.iter_ptr() {
        let relid = pg_sys::RangeVarGetRelidExtended(
            relation,
            pg_sys::NoLock as i32,
            pg_sys::RVROption::RVR_MISSING_OK,
            None,
            std::ptr::null_mut(),
        );
        if relid == pg_sys::InvalidOid
            || pg_sys::get_rel_namespace(relid) != schema
            || pg_sys::pg_class_ownercheck(relid, pg_sys::GetUserId())
        {
            continue;
        }
        let name = std::ffi::CStr::from_ptr((*relation).relname).to_string_lossy();
        let mode = MODE_NAMES
            .get((*lock).mode as usize)
            .copied()
            .unwrap_or("?");
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("pg_backout: LOCK TABLE backout.{name} IN {mode} MODE is refused: it would stall every other client's work"),
            "The tables of schema backout are shared by every client. Modes up to ROW EXCLUSIVE are allowed; stronger ones only for the extension's owner and superusers."
        );
    }
}

#[pg_guard]
#[allow(clippy::too_many_arguments)]
unsafe extern "C-unwind" fn fence(
    pstmt: *mut pg_sys::PlannedStmt,
    query_string: *const c_char,
    read_only_tree: bool,
    context: pg_sys::ProcessUtilityContext::Type,
    params: pg_sys::ParamListInfo,
    query_env: *mut pg_sys::QueryEnvironment,
    dest: *mut pg_sys::DestReceiver,
    qc: *mut pg_sys::QueryCompletion,
) {
    check_lock((*pstmt).utilityStmt);
    match PREVIOUS {
        Some(previous) => previous(
            pstmt,
            query_string,
            read_only_tree,
            context,
            params,
            query_env,
            dest,
            qc,
        ),
        None => pg_sys::standard_ProcessUtility(
            pstmt,
            query_string,
            read_only_tree,
            context,
            params,
            query_env,
            dest,
            qc,
        ),
    }
}
