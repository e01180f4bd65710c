//! pg_backout: reverse billing mistakes safely inside the billing database.
//!
//! One module per operation family; the set-based SQL each one runs lives next to it as constants.
// `#[pg_extern]` needs a function's result row spelled out inline (a type alias is not understood).
#![allow(clippy::type_complexity)]

use pgrx::prelude::*;

mod access;
mod aria_core;
mod backout;
mod balances;
mod batch_api;
mod batches;
mod billing;
mod billrun;
mod citus;
mod clear;
mod dates;
mod dimensioned;
mod ingest;
mod legacy;
mod locks;
mod query;
mod raw_jsonb;
mod reply;
mod reversal;
mod table_lock_fence;
mod undo;
mod usage_events;
mod worker;

::pgrx::pg_module_magic!();

extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);
extension_sql_file!(
    "../sql/functions.sql",
    name = "functions",
    requires = ["schema"]
);
extension_sql_file!(
    "../sql/batches.sql",
    name = "batches",
    requires = ["schema", batch_api::define_operations_view]
);
extension_sql_file!(
    "../sql/distribute.sql",
    name = "distribute",
    requires = ["schema", "batches"]
);
extension_sql_file!("../sql/privileges.sql", name = "privileges", finalize);

/// The batch kinds, handed to the engine (batches.rs) as data: adding a kind touches only its module and
/// this list.
static KINDS: [&batches::Kind; 3] = [&undo::KIND, &backout::KIND, &billrun::reset::KIND];

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    batches::register(&KINDS);
    worker::define_settings();
    table_lock_fence::install();
    // SAFETY: reads a postmaster-set flag.
    if unsafe { pg_sys::process_shared_preload_libraries_in_progress } {
        worker::register_launcher();
    }
}

#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
