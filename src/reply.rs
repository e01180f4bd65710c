//! Rejections: every operation answers bad input with a row whose status is `ERROR`, an error code and a
//! message, having changed nothing.
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::{pg_sys, FromDatum, IntoDatum};

pub const INVALID_INPUT: &str = "INVALID_INPUT";
pub const NOT_FOUND: &str = "NOT_FOUND";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: &'static str,
    pub message: String,
    /// The SQLSTATE of the database error behind it, if any.
    pub sqlstate: Option<String>,
}

impl Rejection {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Rejection {
            code,
            message: message.into(),
            sqlstate: None,
        }
    }

    pub fn with_sqlstate(mut self, sqlstate: Option<String>) -> Self {
        self.sqlstate = sqlstate;
        self
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Rejection::new(INVALID_INPUT, message)
    }
}

pub type Outcome<T> = Result<T, Rejection>;

pub fn required<T>(value: Option<T>, name: &str) -> Outcome<T> {
    value.ok_or_else(|| Rejection::invalid(format!("{name} is required")))
}

/// A status request's (batch id, client id), both required.
pub fn required_batch_key(
    batch_id: Option<pgrx::Uuid>,
    id_name: &str,
    client_id: Option<i64>,
) -> Outcome<(pgrx::Uuid, i64)> {
    Ok((
        required(batch_id, id_name)?,
        required(client_id, "client_id")?,
    ))
}

/// The answer for a batch id its client does not have (or that the caller may not read): `kind` names the
/// batch ("undo", "backout", "reset").
pub fn unknown_batch(kind: &str, batch_id: pgrx::Uuid, client_id: i64) -> Rejection {
    Rejection::new(
        NOT_FOUND,
        format!("{kind} batch {batch_id} does not exist for client {client_id}"),
    )
}

/// A `user_id` a caller gave (undo, backout, reset): 1 to 100 characters, not blank, no invisible
/// character.
pub fn check_user_id(user: &str) -> Outcome<()> {
    if user.trim().is_empty() || user.chars().count() > 100 {
        return Err(Rejection::invalid(
            "user_id must be 1 to 100 characters, not blank",
        ));
    }
    match crate::ingest::invisible_char_problem(user) {
        Some(problem) => Err(Rejection::invalid(format!("user_id {problem}"))),
        None => Ok(()),
    }
}

/// Text a caller gave, as kept in an audit row: at most 1,000 characters, then the length (a rejected
/// 1 MB argument must not become a 1 MB audit row).
pub fn for_audit(text: Option<&str>) -> Option<String> {
    const KEEP: usize = 1000;
    let text = text?;
    let total = text.chars().count();
    if total <= KEEP {
        return Some(text.to_owned());
    }
    let head: String = text.chars().take(KEEP).collect();
    Some(format!("{head}… ({total} characters in all)"))
}

/// A fresh snapshot for the reads of `read`, popped when done (an error's abort resets the stack itself).
struct FreshSnapshot;

impl FreshSnapshot {
    fn push() -> Self {
        // SAFETY: a new snapshot (READ COMMITTED: taken now) as the active one, as SPI does per statement.
        unsafe { pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot()) };
        FreshSnapshot
    }
}

impl Drop for FreshSnapshot {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            // SAFETY: pops the snapshot pushed in `push`; SPI pops its own before returning.
            unsafe { pg_sys::PopActiveSnapshot() };
        }
    }
}

/// Run read-only queries (`client.select`): no transaction id is taken (pgrx's read-write path takes one,
/// which a hot standby refuses and which writes WAL), and each call sees data committed before it.
pub fn read<R>(work: impl FnOnce(&pgrx::spi::SpiClient<'_>) -> R) -> R {
    let _snapshot = FreshSnapshot::push();
    Spi::connect(work)
}

/// The first column of the first row of a result, or None when there is no row (or NULL).
fn first_column<T: FromDatum + IntoDatum>(
    rows: pgrx::spi::SpiResult<pgrx::spi::SpiTupleTable>,
    query: &str,
) -> Option<T> {
    let rows = rows.unwrap_or_else(|e| panic!("{e}: {query}"));
    if rows.is_empty() {
        None
    } else {
        rows.first()
            .get_one::<T>()
            .unwrap_or_else(|e| panic!("{e}: {query}"))
    }
}

/// `first_value`, read-only.
pub fn read_value<T: FromDatum + IntoDatum>(query: &str, args: &[DatumWithOid]) -> Option<T> {
    read(|client| first_column(client.select(query, Some(1), args), query))
}

/// How a statement must be planned whatever the statistics say.
#[derive(Clone, Copy)]
pub enum PlanShape {
    /// A **generic plan**: estimates from the table's averages, not from the parameter values.  A client
    /// that the statistics have not seen yet (new, or loaded since the last ANALYZE) is then not taken for an
    /// empty one, which made the planner scan all of its accounts once per record.
    Generic,
    /// A generic plan without nested-loop joins (where a join can be hashed): for a statement whose input
    /// the statistics cannot size (rows staged since the last ANALYZE, or never analyzed), which the
    /// planner took for one row and then rescanned once per row of the other side.  JIT is off with it: the
    /// penalty PostgreSQL gives a disabled join method would otherwise make every such statement look
    /// expensive enough to compile, a second per call even for a ten-record file.
    GenericHashed,
    /// A **custom plan**: the parameters' values planned as constants.  For a statement that selects a
    /// run's rows by batch and filters them by a list (the invoices a reversal targets): PostgreSQL 15
    /// hashes a constant list but compares a parameter list element by element (rows x invoices), and a
    /// generic plan cannot bind an index column compared with `= ANY` of a parameter array, so it read every
    /// billed row of the client, not the run's.  Safe for such statements of one table whatever the
    /// statistics say: an estimate too low only makes a lookup by index, never a rescan of a large input.
    /// A statement that joins two such inputs needs CustomHashed.
    Custom,
    /// A custom plan without nested-loop joins (where a join can be hashed): for a statement that joins a
    /// run's rows (invoices, snapshots) with the accounts' rows (pointers, buckets, contracts) of a client
    /// that the statistics have not seen (loaded since the last ANALYZE).  Each side is then estimated at one
    /// row, and a nested loop over both, with the join key in a filter instead of an index condition, read
    /// rows x rows (an undo of 10,000 accounts: 5 minutes).  A hash join reads each side once.
    CustomHashed,
}

/// With Citus, the custom form of a generic shape: Citus cannot plan a generic plan of a parameterized
/// statement on distributed tables ("parameters in SQL functions").  Nothing is lost: it ships each shard's
/// query with the values in it, so the node that runs it plans it with constants anyway.
fn on_this_database(shape: PlanShape) -> PlanShape {
    match shape {
        PlanShape::Generic if crate::citus::present() => PlanShape::Custom,
        PlanShape::GenericHashed if crate::citus::present() => PlanShape::CustomHashed,
        other => other,
    }
}

fn set_local(name: &str, value: &str) -> String {
    let previous =
        Spi::get_one_with_args::<String>("SELECT pg_catalog.current_setting($1)", &[name.into()])
            .expect("setting")
            .unwrap_or_default();
    Spi::run_with_args(
        "SELECT pg_catalog.set_config($1, $2, true)",
        &[name.into(), value.into()],
    )
    .expect("set setting");
    previous
}

/// Run a statement planned as `shape` says (see PlanShape); the settings are put back afterwards.
pub fn with_plan<R>(
    shape: PlanShape,
    sql: &str,
    args: &[DatumWithOid],
    read: impl FnOnce(pgrx::spi::SpiTupleTable) -> R,
) -> R {
    let settings: &[(&str, &str)] = match on_this_database(shape) {
        PlanShape::Generic => &[("plan_cache_mode", "force_generic_plan")],
        PlanShape::GenericHashed => &[
            ("plan_cache_mode", "force_generic_plan"),
            ("enable_nestloop", "off"),
            ("jit", "off"),
        ],
        PlanShape::Custom => &[("plan_cache_mode", "force_custom_plan")],
        PlanShape::CustomHashed => &[
            ("plan_cache_mode", "force_custom_plan"),
            ("enable_nestloop", "off"),
            ("jit", "off"),
        ],
    };
    let previous: Vec<(&str, String)> = settings
        .iter()
        .map(|(name, value)| (*name, set_local(name, value)))
        .collect();
    let citus = crate::citus::present();
    let inlined;
    let (sql, args) = if citus {
        inlined = crate::citus::with_constants(sql, args);
        (inlined.as_str(), &[][..])
    } else {
        (sql, args)
    };
    let result = Spi::connect_mut(|client| {
        let types: Vec<pgrx::PgOid> = args.iter().map(|a| pgrx::PgOid::from(a.oid())).collect();
        let statement = client
            .prepare_mut(sql, &types)
            .unwrap_or_else(|e| panic!("{e}: {sql}"));
        let rows = client
            .update(&statement, None, args)
            .unwrap_or_else(|e| panic!("{e}: {sql}"));
        read(rows)
    });
    for (name, value) in previous.iter().rev() {
        set_local(name, value);
    }
    result
}

/// The checked input of a preview, or the error (SQLSTATE 22023) naming its code and message: previews raise
/// what the submission would answer, as nothing is recorded for them.
pub fn or_raise_invalid<T>(checked: Outcome<T>) -> T {
    match checked {
        Ok(ok) => ok,
        Err(r) => {
            ereport!(
                ERROR,
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("{}: {}", r.code, r.message)
            );
        }
    }
}

/// The first column of the first row of a statement planned as `shape` says, or None.
pub fn first_value_planned<T: FromDatum + IntoDatum>(
    shape: PlanShape,
    query: &str,
    args: &[DatumWithOid],
) -> Option<T> {
    with_plan(shape, query, args, |rows| first_column(Ok(rows), query))
}

/// `n` values of `sequence`, drawn by a statement of their own: a statement that inserts rows of a client
/// takes their ids from this list (`($k::bigint[])[position]`), not from a call of nextval, so that Citus runs
/// its insert on the client's shard (a volatile call in it makes Citus pull the rows through the node and send
/// every input of the insert to every node).
pub fn draw_ids(sequence: &str, n: i64) -> Vec<i64> {
    read_value::<Vec<i64>>(
        "SELECT coalesce(array_agg(nextval($1::regclass)), '{}') FROM generate_series(1, $2)",
        &[sequence.into(), n.into()],
    )
    .unwrap_or_default()
}

/// The first column of the first row, or None when the query returns no row (or NULL).
pub fn first_value<T: FromDatum + IntoDatum>(query: &str, args: &[DatumWithOid]) -> Option<T> {
    Spi::connect_mut(|client| first_column(client.update(query, Some(1), args), query))
}
