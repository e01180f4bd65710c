//! Transaction-scoped advisory locks.  Keys are 64-bit hashes of a namespaced text (`hashtextextended`),
//! so they neither collide with each other in practice nor with other users of single-key advisory locks
//! that hash differently.  Order, to keep every path deadlock-free: client lock first, then file locks.
use pgrx::prelude::*;

/// Exclusive per-client lock: operations that rewrite a client's billing state (billing run, undo,
/// backout, clear) hold it for the whole transaction, so they never interleave.
pub fn lock_client_exclusive(client_id: i64) {
    Spi::run_with_args(
        "SELECT pg_advisory_xact_lock(hashtextextended('pg_backout/client/' || $1::text, 0))",
        &[client_id.into()],
    )
    .expect("advisory lock");
}

/// Shared per-client lock: usage ingest of different files runs in parallel, but not during a billing
/// run, undo or backout of the same client.
pub fn lock_client_shared(client_id: i64) {
    Spi::run_with_args(
        "SELECT pg_advisory_xact_lock_shared(hashtextextended('pg_backout/client/' || $1::text, 0))",
        &[client_id.into()],
    )
    .expect("advisory lock");
}

/// Exclusive per-(client, file) lock.
pub fn lock_file(client_id: i64, file_name: &str) {
    Spi::run_with_args(
        "SELECT pg_advisory_xact_lock(hashtextextended('pg_backout/file/' || $1::text || '/' || $2, 0))",
        &[client_id.into(), file_name.into()],
    )
    .expect("advisory lock");
}

/// Exclusive locks on several files of a client, taken in file-name order so that two holders of
/// overlapping sets never deadlock.
pub fn lock_files(client_id: i64, file_names: &[String]) {
    Spi::run_with_args(
        "SELECT count(pg_advisory_xact_lock(hashtextextended('pg_backout/file/' || $1::text || '/' || f, 0)))
         FROM (SELECT f FROM unnest($2::text[]) AS f ORDER BY f COLLATE \"C\") AS sorted",
        &[client_id.into(), file_names.to_vec().into()],
    )
    .expect("advisory lock");
}

/// Serializes submissions that name the same backout batch id (retries).
pub fn lock_backout_batch_id(batch_id: pgrx::Uuid) {
    Spi::run_with_args(
        "SELECT pg_advisory_xact_lock(hashtextextended('pg_backout/backout_batch/' || $1::text, 0))",
        &[batch_id.into()],
    )
    .expect("advisory lock");
}
