//! BillRun's query language (SPEC §4.3), one module for `reset_lines` (the array form) and for
//! `query_lines` / `query_aggregate` (the object form): the document is read as text and parsed with a
//! nesting limit (`read`), turned into a typed tree whose fields and operators are enums (`tree.rs`,
//! `field.rs`), then into SQL over the whitelisted columns whose values are all bind parameters (`sql.rs`).
//! A refusal is a message naming what was refused; nothing raises.
pub mod field;
pub mod sql;
pub mod tree;

use crate::raw_jsonb::RawJsonb;
use crate::reply::read_value;
pub use tree::{Node, Refused};

/// The largest query document read, in bytes of its text.
const MAX_QUERY_BYTES: i64 = 256 * 1024;

/// The document as serde's tree: refused when too large or nested past what the tree may hold (serde's
/// own recursion limit turns a 10,000-deep document into an error, not a stack overflow).
pub fn read(doc: &RawJsonb) -> Result<serde_json::Value, Refused> {
    let text = read_value::<String>(
        "SELECT CASE WHEN pg_catalog.octet_length($1::text) <= $2 THEN $1::text END",
        &[doc.as_arg(), MAX_QUERY_BYTES.into()],
    )
    .ok_or_else(|| format!("query is larger than {MAX_QUERY_BYTES} bytes"))?;
    serde_json::from_str(&text).map_err(|e| {
        if e.to_string().contains("recursion limit") {
            format!("query is nested deeper than {} levels", tree::MAX_DEPTH)
        } else {
            format!("query cannot be read: {e}")
        }
    })
}

/// The object form, parsed and checked (its `$regex` patterns compiled by PostgreSQL first, so that a bad
/// one is answered, not raised).
pub fn object_query(doc: &RawJsonb) -> Result<Node, Refused> {
    let node = tree::from_object(&read(doc)?)?;
    check_patterns(&node)?;
    Ok(node)
}

/// The array-of-arrays form, parsed and checked.
pub fn condition_query(doc: &RawJsonb) -> Result<Node, Refused> {
    let node = tree::from_conditions(&read(doc)?)?;
    check_patterns(&node)?;
    Ok(node)
}

fn check_patterns(node: &Node) -> Result<(), Refused> {
    for pattern in node.patterns() {
        crate::batches::in_subtransaction(|| {
            read_value::<bool>("SELECT '' ~ $1", &[pattern.into()]);
            Ok(())
        })
        .map_err(|r| format!("$regex {pattern:?} is not a valid pattern: {}", r.message))?;
    }
    Ok(())
}
