//! The operations' locks: per client (shared or exclusive), per (client, file), per (client, backout batch
//! id).  Order, to keep every path deadlock-free: client lock first, then file locks (in name order).
//!
//! They are row locks (`FOR UPDATE` / `FOR SHARE`) on rows of `backout.lock_row`, a table only the
//! extension's owner may read or lock, taken as the owner.  Advisory locks would not do: any role that can
//! connect may take any advisory key, and the keys of the locks held are public in `pg_locks`, so a role with
//! nothing but CONNECT could copy a client's key and hold it to stall that client.  A row lock needs the
//! UPDATE privilege on the table (and `LOCK TABLE` on it needs a privilege too), which nobody but the owner
//! has.  A row is created the first time its lock is taken and stays (one per client, file and retried id).
//!
//! Every wait is bounded by `pg_backout.lock_timeout`: a caller that waits longer gets an ERROR naming the
//! lock and the cause.
use crate::access::as_owner;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::PgTryBuilder;
use std::cell::{Cell, RefCell};
use std::collections::HashSet;

/// The rows of the locks `$1` (client) and `$2` (names, text[]) of a kind, created when missing, in name
/// order (so that two creators of overlapping sets wait for each other instead of deadlocking).
const ENSURE: &str = "INSERT INTO backout.lock_row (client_id, lock_kind, lock_name)
                      SELECT $1, $3, n FROM pg_catalog.unnest($2::text[]) AS n ORDER BY n COLLATE \"C\"
                      ON CONFLICT DO NOTHING";

/// Lock those rows, in name order; returns how many were locked.  `{mode}` is UPDATE or SHARE.
const LOCK: &str = "SELECT count(*) FROM (SELECT 1 FROM backout.lock_row
                                          WHERE client_id = $1 AND lock_kind = $3 AND lock_name = ANY ($2::text[])
                                          ORDER BY lock_name COLLATE \"C\" FOR {mode}) AS locked";

#[derive(Clone, Copy)]
enum Mode {
    Exclusive,
    Shared,
}

/// Take the locks of `names` of a kind for client_id, as the owner, under pg_backout.lock_timeout; `what`
/// names them in the error.
fn take(client_id: i64, kind: &str, names: &[String], mode: Mode, what: &str) {
    let timeout_ms = crate::batches::LOCK_TIMEOUT_MS.get();
    let sql = LOCK.replace(
        "{mode}",
        match mode {
            Mode::Exclusive => "UPDATE",
            Mode::Shared => "SHARE",
        },
    );
    let args: [DatumWithOid; 3] = [client_id.into(), names.to_vec().into(), kind.into()];
    let locked = PgTryBuilder::new(std::panic::AssertUnwindSafe(|| {
        as_owner(|| {
            let previous = (timeout_ms > 0).then(|| set_lock_timeout(&format!("{timeout_ms}ms")));
            Spi::run_with_args(ENSURE, &args).expect("lock rows");
            let locked = Spi::get_one_with_args::<i64>(&sql, &args)
                .expect("lock")
                .unwrap_or(0);
            if let Some(previous) = previous {
                set_lock_timeout(&previous);
            }
            locked
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
    .execute();
    let wanted = names.iter().collect::<HashSet<_>>().len() as i64;
    if locked != wanted {
        // only in REPEATABLE READ or SERIALIZABLE: the row was created after this transaction's snapshot
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
            format!("pg_backout: could not take {what}: it was first used by a transaction that committed after this one started"),
            "Retry the transaction."
        );
    }
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

thread_local! {
    /// The clients whose lock this transaction holds (for `holds_client_lock`), cleared when it ends.
    static CLIENTS_LOCKED: RefCell<HashSet<i64>> = RefCell::new(HashSet::new());
    static CLEAR_REGISTERED: Cell<bool> = const { Cell::new(false) };
}

fn remember_client_lock(client_id: i64) {
    CLIENTS_LOCKED.with(|c| c.borrow_mut().insert(client_id));
    if CLEAR_REGISTERED.replace(true) {
        return;
    }
    let clear = || {
        CLIENTS_LOCKED.with(|c| c.borrow_mut().clear());
        CLEAR_REGISTERED.set(false);
    };
    pgrx::register_xact_callback(pgrx::PgXactCallbackEvent::Commit, clear);
    pgrx::register_xact_callback(pgrx::PgXactCallbackEvent::Abort, clear);
}

fn lock_client(client_id: i64, mode: Mode) {
    take(
        client_id,
        "client",
        &[String::new()],
        mode,
        &format!("the lock of client {client_id}"),
    );
    remember_client_lock(client_id);
}

/// Exclusive per-client lock: operations that rewrite a client's billing state (billing run, undo,
/// backout, clear) hold it for the whole transaction, so they never interleave.
pub fn lock_client_exclusive(client_id: i64) {
    lock_client(client_id, Mode::Exclusive);
}

/// Shared per-client lock: usage ingest of different files runs in parallel, but not during a billing
/// run, undo or backout of the same client.
pub fn lock_client_shared(client_id: i64) {
    lock_client(client_id, Mode::Shared);
}

/// Exclusive per-(client, file) lock.
pub fn lock_file(client_id: i64, file_name: &str) {
    take(
        client_id,
        "file",
        &[file_name.to_owned()],
        Mode::Exclusive,
        &format!("the lock of file {file_name:?} of client {client_id}"),
    );
}

/// Exclusive locks on several files of a client, taken in file-name order so that two holders of
/// overlapping sets never deadlock.
pub fn lock_files(client_id: i64, file_names: &[String]) {
    take(
        client_id,
        "file",
        file_names,
        Mode::Exclusive,
        &format!("the locks of the files of client {client_id}"),
    );
}

/// Serializes submissions that name the same backout batch id for a client (retries).
pub fn lock_backout_batch_id(client_id: i64, batch_id: pgrx::Uuid) {
    take(
        client_id,
        "backout_batch",
        &[batch_id.to_string()],
        Mode::Exclusive,
        &format!("the lock of backout batch {batch_id}"),
    );
}

/// Does this transaction hold client `client_id`'s lock (shared or exclusive)?  A batch of that client
/// could then never start before this transaction ends.  (A lock taken in a subtransaction that was rolled
/// back still counts: the answer errs on the side of refusing to wait.)
pub fn holds_client_lock(client_id: i64) -> bool {
    CLIENTS_LOCKED.with(|c| c.borrow().contains(&client_id))
}
