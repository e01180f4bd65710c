//! What changes when the database is distributed with Citus (README "Scale-out on Citus"): nothing in the
//! SQL API; three things inside.  Statements are planned with the parameters' values (Citus refuses a
//! generic plan of a parameterized statement on distributed tables), the tenant filter reads the
//! entitlements (a reference table) from within a shard's query, and a node's runners take the batches of
//! the clients whose shards it holds, and only those.  On one PostgreSQL none of this applies.
use pgrx::prelude::*;

/// Is Citus installed in this database?  (A syscache lookup: cheap enough for every statement.)
pub fn present() -> bool {
    // SAFETY: a catalog lookup by name, missing_ok.
    unsafe { pg_sys::get_extension_oid(c"citus".as_ptr(), true) != pg_sys::InvalidOid }
}

/// Run `work`, which reads a reference table, allowed to do so from within the query of a shard (a row
/// filter evaluated on a worker): the table has a copy on every node, so the read stays on this node.
/// Without Citus, or in a parallel worker (which cannot change a setting), just `work`.
pub fn with_nested_reads<R>(work: impl FnOnce() -> R) -> R {
    let name = c"citus.allow_nested_distributed_execution";
    // SAFETY: reads the setting table and this backend's parallel-mode flag.
    let settable = unsafe {
        !pg_sys::GetConfigOption(name.as_ptr(), true, false).is_null()
            && !pg_sys::IsInParallelMode()
    };
    if !settable {
        return work();
    }
    // SAFETY: what a function's SET clause does: a new GUC nest level, popped after `work`; an error
    // inside `work` aborts the (sub)transaction, whose end pops it instead.
    let level = unsafe {
        let level = pg_sys::NewGUCNestLevel();
        pg_sys::set_config_option(
            name.as_ptr(),
            c"on".as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GucAction::GUC_ACTION_SAVE,
            true,
            0,
            false,
        );
        level
    };
    let result = work();
    // SAFETY: pops the level pushed above.
    unsafe { pg_sys::AtEOXact_GUC(true, level) };
    result
}

/// The clients whose shards this node holds, sorted: a runner here takes only their batches, so that every
/// batch transaction stays on one node (local rows, local role and process ids, a NOTIFY that commits).
/// None without Citus, or before `backout.distribute()`: every client is local.  Read from the shards of
/// `backout.client` on this node, as tables of their own (the distributed table would ask every node).
pub fn local_clients() -> Option<Vec<i64>> {
    if !present() {
        return None;
    }
    let shards = crate::reply::read_value::<String>(
        "SELECT COALESCE(string_agg(pg_catalog.format('SELECT client_id FROM %s',
                                                      shard_name(s.logicalrelid, s.shardid)), ' UNION ALL '), '')
         FROM pg_dist_partition d
         LEFT JOIN pg_dist_shard s ON s.logicalrelid = d.logicalrelid
          AND EXISTS (SELECT FROM pg_dist_placement p
                      WHERE p.shardid = s.shardid AND p.groupid = (SELECT groupid FROM pg_dist_local_group))
         WHERE d.logicalrelid = 'backout.client'::regclass",
        &[],
    )?;
    if shards.is_empty() {
        return Some(vec![]);
    }
    Some(
        crate::reply::read_value::<Vec<i64>>(
            &format!("SELECT COALESCE(array_agg(client_id ORDER BY client_id), '{{}}') FROM ({shards}) c"),
            &[],
        )
        .unwrap_or_default(),
    )
}
