//! Transaction-scoped advisory locks.  Order, to keep every path deadlock-free: client lock first, then
//! file locks (in name order).
//!
//! Keys are 64-bit hashes of a namespaced text seeded with a per-installation random salt
//! (`backout.lock_salt`, readable by the extension's owner only), so a role outside the extension cannot
//! compute a client's key and hold it to stall that client.  Every wait is bounded by
//! `pg_backout.lock_timeout`: a caller that waits longer gets an ERROR naming the lock and the cause.
use crate::access::as_owner;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::PgTryBuilder;

const SALT: &str = "(SELECT salt FROM backout.lock_salt)";

/// Take the lock(s) of `sql` (a SELECT with the key expressions), as the owner (who may read the salt),
/// under pg_backout.lock_timeout; `what` names them in the error.
fn take(sql: &str, args: &[DatumWithOid], what: &str) {
    let timeout_ms = crate::batches::LOCK_TIMEOUT_MS.get();
    let sql = sql.replace("{salt}", SALT);
    PgTryBuilder::new(std::panic::AssertUnwindSafe(|| {
        as_owner(|| {
            let previous = (timeout_ms > 0).then(|| set_lock_timeout(&format!("{timeout_ms}ms")));
            Spi::run_with_args(&sql, args).expect("advisory lock");
            if let Some(previous) = previous {
                set_lock_timeout(&previous);
            }
        })
    }))
    .catch_when(PgSqlErrorCode::ERRCODE_LOCK_NOT_AVAILABLE, |_| {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_LOCK_NOT_AVAILABLE,
            format!("pg_backout: waited longer than pg_backout.lock_timeout ({timeout_ms} ms) for {what}"),
            "Another billing run, undo, backout, clear or ingest of this client holds it (see pg_locks and pg_stat_activity); retry when it has finished."
        );
    })
    .execute()
}

/// Sets lock_timeout for the rest of the transaction; returns the value it had.
fn set_lock_timeout(value: &str) -> String {
    let previous = Spi::get_one::<String>("SELECT pg_catalog.current_setting('lock_timeout')")
        .expect("lock_timeout")
        .unwrap_or_default();
    Spi::run_with_args(
        "SELECT pg_catalog.set_config('lock_timeout', $1, true)",
        &[value.into()],
    )
    .expect("set lock_timeout");
    previous
}

/// Exclusive per-client lock: operations that rewrite a client's billing state (billing run, undo,
/// backout, clear) hold it for the whole transaction, so they never interleave.
pub fn lock_client_exclusive(client_id: i64) {
    take(
        "SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('pg_backout/client/' || $1::text, {salt}))",
        &[client_id.into()],
        &format!("the lock of client {client_id}"),
    );
}

/// Shared per-client lock: usage ingest of different files runs in parallel, but not during a billing
/// run, undo or backout of the same client.
pub fn lock_client_shared(client_id: i64) {
    take(
        "SELECT pg_catalog.pg_advisory_xact_lock_shared(pg_catalog.hashtextextended('pg_backout/client/' || $1::text, {salt}))",
        &[client_id.into()],
        &format!("the lock of client {client_id}"),
    );
}

/// Exclusive per-(client, file) lock.
pub fn lock_file(client_id: i64, file_name: &str) {
    take(
        "SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('pg_backout/file/' || $1::text || '/' || $2, {salt}))",
        &[client_id.into(), file_name.into()],
        &format!("the lock of file {file_name:?} of client {client_id}"),
    );
}

/// Exclusive locks on several files of a client, taken in file-name order so that two holders of
/// overlapping sets never deadlock.
pub fn lock_files(client_id: i64, file_names: &[String]) {
    take(
        "SELECT count(pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('pg_backout/file/' || $1::text || '/' || f, {salt})))
         FROM (SELECT f FROM pg_catalog.unnest($2::text[]) AS f ORDER BY f COLLATE \"C\") AS sorted",
        &[client_id.into(), file_names.to_vec().into()],
        &format!("the locks of the files of client {client_id}"),
    );
}

/// Serializes submissions that name the same backout batch id (retries).
pub fn lock_backout_batch_id(batch_id: pgrx::Uuid) {
    take(
        "SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('pg_backout/backout_batch/' || $1::text, {salt}))",
        &[batch_id.into()],
        &format!("the lock of backout batch {batch_id}"),
    );
}

/// Does this transaction hold client `client_id`'s lock (shared or exclusive)?  A batch of that client
/// could then never start before this transaction ends.
pub fn holds_client_lock(client_id: i64) -> bool {
    as_owner(|| {
        crate::reply::read_value::<bool>(
            &format!(
                "SELECT EXISTS (SELECT FROM pg_catalog.pg_locks l
                                WHERE l.locktype = 'advisory' AND l.pid = pg_catalog.pg_backend_pid() AND l.granted
                                  AND l.objsubid = 1
                                  AND ((l.classid::bigint << 32) | l.objid::bigint)
                                      = pg_catalog.hashtextextended('pg_backout/client/' || $1::text, {SALT}))"
            ),
            &[client_id.into()],
        )
        .unwrap_or(false)
    })
}
