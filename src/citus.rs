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

/// The table to read `table` (a reference table once distributed) from within a row filter: its copy on this
/// node (the shard table itself, read as a plain table), so that the filter, evaluated inside the query of
/// another shard, never starts a distributed query of its own.  The table itself without Citus, or before
/// `backout.distribute()`.
pub fn local_copy(table: &str) -> String {
    if !present() {
        return table.to_owned();
    }
    crate::reply::read_value::<String>(
        "SELECT shard_name(s.logicalrelid, s.shardid) FROM pg_dist_shard s
         WHERE s.logicalrelid = $1::regclass AND EXISTS (SELECT FROM pg_dist_partition p
                                                      WHERE p.logicalrelid = s.logicalrelid AND p.partmethod = 'n')",
        &[table.into()],
    )
    .unwrap_or_else(|| table.to_owned())
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
                                                      shard_name(s.logicalrelid, s.shardid)), ' UNION ALL ')
                                 FILTER (WHERE s.shardid IS NOT NULL), '')
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

/// The rows of `table` on this node's shards, as a relation to read from: the shard tables themselves, read as
/// tables (`(SELECT * FROM shard UNION ALL ...) AS table`), so that a runner's look at its node's queue is a
/// local statement (as a distributed query over several shards, Citus reads them over connections to the node
/// itself, and the claim that follows must then use those connections).  The table itself without Citus,
/// before `backout.distribute()`, or on a node that holds none of its shards.
pub fn on_this_node(table: &str) -> String {
    if !present() {
        return table.to_owned();
    }
    let shards = crate::reply::read_value::<String>(
        "SELECT string_agg(pg_catalog.format('SELECT * FROM %s', shard_name(s.logicalrelid, s.shardid)), ' UNION ALL '
                           ORDER BY s.shardid)
         FROM pg_dist_shard s
         WHERE s.logicalrelid = $1::regclass
           AND EXISTS (SELECT FROM pg_dist_placement p
                       WHERE p.shardid = s.shardid AND p.groupid = (SELECT groupid FROM pg_dist_local_group))",
        &[table.into()],
    );
    match shards {
        Some(union) if !union.is_empty() => {
            let alias = table.rsplit('.').next().unwrap_or(table);
            format!("({union}) AS {alias}")
        }
        _ => table.to_owned(),
    }
}

/// The statement with its parameters written in as constants (`'value'::type`): Citus sends a statement that
/// joins, aggregates or inserts from a query to the client's shard alone only when the client is a constant;
/// with a parameter there it plans the statement on every shard, on every node.  Values are written by their
/// type's output function and read back by its input function in this session (same DateStyle, TimeZone).
/// `$n` inside a quoted literal is left alone; `--` comments are dropped.
pub fn with_constants(sql: &str, args: &[pgrx::datum::DatumWithOid]) -> String {
    let literals: Vec<String> = args.iter().map(literal).collect();
    let mut out = String::with_capacity(sql.len() + 64);
    let chars: Vec<char> = sql.chars().collect();
    let (mut i, mut quoted) = (0, false);
    while i < chars.len() {
        let c = chars[i];
        if !quoted && c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1; // a comment (an apostrophe in it is not a quote): dropped
            }
            continue;
        }
        if c == '\'' {
            quoted = !quoted;
        } else if c == '$' && !quoted && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
            let start = i + 1;
            let mut end = start;
            while chars.get(end).is_some_and(char::is_ascii_digit) {
                end += 1;
            }
            let n: usize = chars[start..end]
                .iter()
                .collect::<String>()
                .parse()
                .unwrap_or(0);
            if let Some(value) = n.checked_sub(1).and_then(|k| literals.get(k)) {
                out.push('(');
                out.push_str(value);
                out.push(')');
                i = end;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

fn literal(arg: &pgrx::datum::DatumWithOid) -> String {
    // SAFETY: the type's name and output function from the catalog, applied to a datum of that type.
    unsafe {
        let type_name = std::ffi::CStr::from_ptr(pg_sys::format_type_be(arg.oid()))
            .to_string_lossy()
            .into_owned();
        let Some(datum) = arg.datum() else {
            return format!("NULL::{type_name}");
        };
        let mut output = pg_sys::InvalidOid;
        let mut varlena = false;
        pg_sys::getTypeOutputInfo(arg.oid(), &mut output, &mut varlena);
        let text =
            std::ffi::CStr::from_ptr(pg_sys::OidOutputFunctionCall(output, datum.sans_lifetime()))
                .to_string_lossy()
                .replace('\'', "''");
        format!("'{text}'::{type_name}")
    }
}

/// Joined to a statement's input records (a jsonb array or a parameter array: "recurring" rows for Citus),
/// the client's own row ($1) puts a distributed table of that client in their FROM: Citus then runs the
/// whole statement on the client's shard, where it would otherwise plan every table the records are
/// outer-joined with as a subquery of its own and send the results to every node.  One row, always there
/// (the caller's client was checked first): the same records on one PostgreSQL.
macro_rules! on_the_clients_shard {
    () => {
        " JOIN backout.client AS the_client ON the_client.client_id = $1"
    };
}
pub(crate) use on_the_clients_shard;
