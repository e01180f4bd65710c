//! pg_backout: reverse billing mistakes safely inside the billing database.
//!
//! One module per operation family; the set-based SQL each one runs lives next to it as constants.
// `#[pg_extern]` needs a function's result row spelled out inline (a type alias is not understood).
#![allow(clippy::type_complexity)]

use pgrx::prelude::*;

mod billing;
mod dates;
mod ingest;
mod locks;
mod raw_jsonb;
mod reply;

::pgrx::pg_module_magic!();

extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);
extension_sql_file!(
    "../sql/functions.sql",
    name = "functions",
    requires = ["schema"]
);

#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
