//! Who may do what, per tenant (SPEC §6).
//!
//! The caller is the role in effect where an API function is called (`current_user`, so `SET ROLE`
//! counts).  Every API function checks the caller's entitlement for its client first; a client the caller
//! is not entitled to is answered exactly like an unknown one, and the refusal is recorded.
//!
//! The operations read and write the billing tables with the caller's own rights (row-level security
//! keeps them to the caller's clients).  The audit and status rows of the asynchronous operations are the
//! extension's: they are written as the extension's owner (`as_owner`), the way a `SECURITY DEFINER`
//! function would, so that no operator can forge a request or the role a batch runs as.
use crate::reply::{read_value, required, Outcome, Rejection, NOT_FOUND};
use pgrx::prelude::*;
use pgrx::{pg_sys, Uuid};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Reader,
    Operator,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Reader => "reader",
            Level::Operator => "operator",
        }
    }
}

/// Is the current role entitled to the client at the level?
pub fn entitled(client_id: i64, level: Level) -> bool {
    allows(&tenant_scope(level), client_id)
}

/// The clients the current role may act on at the level: None = every client.
pub fn entitled_clients(level: Level) -> Option<Vec<i64>> {
    tenant_scope(level)
}

fn allows(scope: &Option<Vec<i64>>, client_id: i64) -> bool {
    match scope {
        None => true,
        Some(clients) => clients.binary_search(&client_id).is_ok(),
    }
}

/// The row filter of every tenant table (its row-level security policies): may the current role read
/// (`reader`) or write (`operator`) the client's rows?  One lookup of the entitlements per statement (see
/// `tenant_scope`), then a search in a sorted list per row.  It reads no table in the query that calls it,
/// so Citus accepts it in a policy of a distributed table and evaluates it on the shard.
/// A NULL client is allowed only to a role that may act on every client; a NULL level asks for operator.
#[pg_extern(stable, parallel_safe)]
fn tenant_allows(client_id: Option<i64>, level: Option<&str>) -> bool {
    let level = level.map_or(Level::Operator, level_named);
    with_scope(level, |scope| match client_id {
        Some(client_id) => allows(scope, client_id),
        None => scope.is_none(),
    })
}

/// The clients the current role may read (`reader`) or write (`operator`), sorted; NULL: every client (a
/// superuser, or a role entitled to every client).
#[pg_extern(stable, parallel_safe, strict)]
fn tenant_clients(level: &str) -> Option<Vec<i64>> {
    tenant_scope(level_named(level))
}

/// `reader`, else operator (the stricter: what the SQL helpers always did with any other value).
fn level_named(level: &str) -> Level {
    if level == "reader" {
        Level::Reader
    } else {
        Level::Operator
    }
}

type StatementKey = (u32, i64, u32, pg_sys::Oid);

thread_local! {
    /// Per level: the statement it was read for, and the answer.
    static SCOPES: std::cell::RefCell<[Option<(StatementKey, Option<Vec<i64>>)>; 2]> =
        const { std::cell::RefCell::new([None, None]) };
}

/// One statement of one role: the transaction, the top-level statement's start, the command within it
/// (a statement after a write in the same transaction sees the write) and the role in effect.
fn statement_key() -> StatementKey {
    // SAFETY: reads this backend's transaction, statement and user state.
    unsafe {
        (
            (*pg_sys::MyProc).lxid,
            pg_sys::GetCurrentStatementStartTimestamp(),
            pg_sys::GetCurrentCommandId(false),
            caller(),
        )
    }
}

/// The current role's clients at the level, read once per statement: what the policies' uncorrelated
/// subqueries (one InitPlan per statement) gave before, in a form Citus accepts.
pub fn tenant_scope(level: Level) -> Option<Vec<i64>> {
    with_scope(level, Option::clone)
}

fn with_scope<R>(level: Level, read: impl Fn(&Option<Vec<i64>>) -> R) -> R {
    let key = statement_key();
    let cached = SCOPES.with(|cache| {
        let cache = cache.borrow();
        match &cache[level as usize] {
            Some((k, scope)) if *k == key => Some(read(scope)),
            _ => None,
        }
    });
    if let Some(answer) = cached {
        return answer;
    }
    // read outside the borrow: the lookup runs SQL, which may evaluate a policy that calls back here
    let scope = read_scope(level);
    let answer = read(&scope);
    SCOPES.with(|cache| cache.borrow_mut()[level as usize] = Some((key, scope)));
    answer
}

fn read_scope(level: Level) -> Option<Vec<i64>> {
    let role = caller();
    // SAFETY: the role's superuser flag, from the syscache.
    if unsafe { pg_sys::superuser_arg(role) } {
        return None;
    }
    // every name qualified: it runs with the caller's search_path, which the caller chooses (an operator
    // of theirs must not stand in for pg_catalog's)
    let sql = format!(
        "SELECT COALESCE(pg_catalog.bool_or(e.client_id IS NULL), false),
                COALESCE(pg_catalog.array_agg(DISTINCT e.client_id) FILTER (WHERE e.client_id IS NOT NULL),
                         '{{}}'::bigint[])
         FROM {} e
         WHERE (e.level OPERATOR(pg_catalog.=) 'operator' OR $1 OPERATOR(pg_catalog.=) 'reader')
           AND pg_catalog.pg_has_role($2, e.role::oid, 'USAGE')",
        crate::citus::local_copy("backout.entitlement")
    );
    let (all, clients) = Spi::connect(|client| {
        let row = client
            .select(&sql, Some(1), &[level.as_str().into(), role.into()])
            .expect("entitlements")
            .first();
        (
            row.get::<bool>(1).expect("all").unwrap_or(false),
            row.get::<Vec<i64>>(2).expect("clients").unwrap_or_default(),
        )
    });
    if all {
        None
    } else {
        Some(clients) // array_agg(DISTINCT) sorts
    }
}

/// Record that the current role was refused `function` on the client (written as the owner: the caller
/// has no right to the log), and say so in the server log, which keeps it even when the function then
/// raises an error (preview) and the row is rolled back with the caller's transaction.  Bounded: one row
/// per client, role, session user, function, level and minute counts that minute's refusals, and a client
/// that does not exist is filed under client 0; the server log says it once per row.
pub fn record_refusal(client_id: i64, level: Level, function: &str) {
    // SAFETY: reads shared recovery state and this backend's transaction flag.
    if unsafe { pg_sys::RecoveryInProgress() || pg_sys::XactReadOnly } {
        return log_refusal(client_id, level, function); // read-only: the server log keeps it
    }
    let role = caller();
    let first_of_minute = as_owner(|| {
        crate::reply::first_value::<bool>(
            "INSERT INTO backout.access_refusal AS r (client_id, role_name, session_user_name, function_name, level)
             SELECT CASE WHEN EXISTS (SELECT FROM backout.client c WHERE c.client_id = $1) THEN $1 ELSE 0 END,
                    a.rolname, SESSION_USER, $3, $4
             FROM pg_catalog.pg_roles a WHERE a.oid = $2
             ON CONFLICT ON CONSTRAINT access_refusal_one_per_minute
             DO UPDATE SET refusals = r.refusals + 1, last_refused_at = excluded.last_refused_at
             RETURNING r.refusals = 1",
            &[
                client_id.into(),
                role.into(),
                function.into(),
                level.as_str().into(),
            ],
        )
    });
    if first_of_minute.unwrap_or(true) {
        log_refusal(client_id, level, function);
    }
}

/// A refusal said in the server log only: for read paths that must not take a transaction id.
pub fn log_refusal(client_id: i64, level: Level, function: &str) {
    log!(
        "pg_backout: role {} refused {function} on client {client_id} (needs {} entitlement)",
        role_name(caller()).unwrap_or_default(),
        level.as_str()
    );
}

/// May a request be filed under this client (an audit or status row)?  Only when the caller operates on
/// it and it exists: a refused call writes nothing but its refusal, in the tenant it names or anywhere.
pub fn may_file_under(client_id: i64) -> bool {
    entitled(client_id, Level::Operator)
        && read_value::<bool>(
            "SELECT EXISTS (SELECT FROM backout.client WHERE client_id = $1)",
            &[client_id.into()],
        )
        .unwrap_or(false)
}

/// A status read (`function`): the batch id (`id_name`) and the client required, the caller's entitlement to
/// read the client checked first (a refusal recorded), and a client it may not read answered as an unknown
/// batch of `kind`, as a batch id the client does not have is; then `read`.
pub fn read_batch_status<T>(
    kind: &str,
    function: &str,
    (id_name, batch_id): (&str, Option<pgrx::Uuid>),
    client_id: Option<i64>,
    read: impl FnOnce(pgrx::Uuid, i64) -> crate::reply::Outcome<T>,
) -> crate::reply::Outcome<T> {
    let (id, client) = crate::reply::required_batch_key(batch_id, id_name, client_id)?;
    if check_entitled(client, Level::Reader, function) {
        read(id, client)
    } else {
        Err(crate::reply::unknown_batch(kind, id, client))
    }
}

/// Entitled, or refused (and recorded).
pub fn check_entitled(client_id: i64, level: Level, function: &str) -> bool {
    let ok = entitled(client_id, level);
    if !ok {
        record_refusal(client_id, level, function);
    }
    ok
}

pub fn unknown_client(client_id: i64) -> Rejection {
    Rejection::new(NOT_FOUND, format!("client {client_id} does not exist"))
}

/// The request's client: given, the caller entitled to it at the level, and existing.  A client the
/// caller is not entitled to reads exactly like one that does not exist.
pub fn require_client(client_id: Option<i64>, level: Level, function: &str) -> Outcome<i64> {
    let client_id = required(client_id, "client_id")?;
    if !check_entitled(client_id, level, function) {
        return Err(unknown_client(client_id));
    }
    let exists = read_value::<bool>(
        "SELECT EXISTS (SELECT FROM backout.client WHERE client_id = $1)",
        &[client_id.into()],
    );
    match exists {
        Some(true) => Ok(client_id),
        _ => Err(unknown_client(client_id)),
    }
}

/// The role in effect (`current_user`); inside an API call on Citus (`as_api`), the role that called it.
pub fn caller() -> pg_sys::Oid {
    // SAFETY: reads the backend's current user id.
    API_CALLER
        .get()
        .unwrap_or_else(|| unsafe { pg_sys::GetUserId() })
}

thread_local! {
    /// Set while an API call runs as the extension's owner on Citus (`as_api`): who called it.
    static API_CALLER: std::cell::Cell<Option<pg_sys::Oid>> = const { std::cell::Cell::new(None) };
}

/// Puts the previous API caller back when dropped (also when an ERROR unwinds through it).
struct RestoreCaller(Option<pg_sys::Oid>);

impl Drop for RestoreCaller {
    fn drop(&mut self) {
        API_CALLER.set(self.0);
    }
}

/// An API call's body.  On one PostgreSQL, `work` itself: it runs as the caller, row-level security
/// applying to every statement.  On Citus, `work` runs as the extension's owner, with `caller()` still the
/// role that called (its entitlements are what every check reads, its name what every record says): the
/// call checks that role's entitlement first, as everywhere, and every statement names the checked client;
/// but Citus 13.2 crashes planning the extension's multi-statement pipelines under row-level security, and
/// refuses a transaction whose statements reach one node as two users.  Operators' own SQL on the tables is
/// filtered on Citus as well.
pub fn as_api<R>(work: impl FnOnce() -> R) -> R {
    if API_CALLER.get().is_some() || !crate::citus::present() {
        return work();
    }
    let _restore = RestoreCaller(API_CALLER.replace(Some(caller())));
    as_owner(work)
}

fn extension_owner() -> pg_sys::Oid {
    read_value::<pg_sys::Oid>(
        "SELECT extowner FROM pg_catalog.pg_extension WHERE extname = 'pg_backout'",
        &[],
    )
    .expect("pg_backout is not installed in this database")
}

/// Restores the user id and security context when dropped (also when an ERROR unwinds through it).
struct RestoreUser(pg_sys::Oid, i32);

impl Drop for RestoreUser {
    fn drop(&mut self) {
        // SAFETY: puts back the values read in `as_role`.
        unsafe { pg_sys::SetUserIdAndSecContext(self.0, self.1) };
    }
}

/// Run `work` with the rights of `role` (what `SECURITY DEFINER` does, for a role known at run time), `role`
/// being the caller from then on.  Inside an API call on Citus (see `as_api`), as the owner, with `role` as
/// the caller.
pub fn as_role<R>(role: pg_sys::Oid, work: impl FnOnce() -> R) -> R {
    if API_CALLER.get().is_some() {
        let _restore = RestoreCaller(API_CALLER.replace(Some(role)));
        return work();
    }
    switch_user(role, work)
}

/// A batch's work, with its submitter's rights: `as_role(submitter)`, inside `as_api` (so as the extension's
/// owner on Citus, the submitter the caller).
pub fn as_submitter<R>(submitter: pg_sys::Oid, work: impl FnOnce() -> R) -> R {
    as_api(|| as_role(submitter, work))
}

fn switch_user<R>(role: pg_sys::Oid, work: impl FnOnce() -> R) -> R {
    let mut user = pg_sys::InvalidOid;
    let mut context = 0;
    // SAFETY: the same switch fmgr_security_definer makes; an abort of the (sub)transaction also puts
    // the saved values back.
    unsafe {
        pg_sys::GetUserIdAndSecContext(&mut user, &mut context);
        pg_sys::SetUserIdAndSecContext(role, context | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32);
    }
    let _restore = RestoreUser(user, context);
    work()
}

/// Run `work` as the extension's owner: for the extension's own bookkeeping rows only.
pub fn as_owner<R>(work: impl FnOnce() -> R) -> R {
    switch_user(extension_owner(), work)
}

/// The name of a role, if it still exists.
pub fn role_name(role: pg_sys::Oid) -> Option<String> {
    read_value::<String>(
        "SELECT rolname::text FROM pg_catalog.pg_roles WHERE oid = $1",
        &[role.into()],
    )
}

pub const NOT_ENTITLED: &str = "NOT_ENTITLED";

/// A batch runs with its submitter's rights, checked again when it runs: the role must still exist,
/// hold the operator group's privileges and be entitled to the client.  Called as the submitter.
pub fn recheck_submitter(client_id: i64, submitter: pg_sys::Oid, batch_id: Uuid) -> Outcome<()> {
    let Some(name) = as_owner(|| role_name(submitter)) else {
        return Err(Rejection::new(
            NOT_ENTITLED,
            format!(
                "batch {batch_id}: the role that submitted it (oid {}) no longer exists",
                submitter.to_u32()
            ),
        ));
    };
    // the group first, as the owner: without it the submitter could not even call the entitlement check
    // (pg_has_role is true for a superuser too)
    let in_group = as_owner(|| {
        read_value::<bool>(
            "SELECT pg_catalog.pg_has_role($1, 'backout_operator', 'USAGE')",
            &[submitter.into()],
        )
        .unwrap_or(false)
    });
    let allowed = in_group && as_role(submitter, || entitled(client_id, Level::Operator));
    if allowed {
        Ok(())
    } else {
        Err(Rejection::new(
            NOT_ENTITLED,
            format!("role {name} is no longer entitled to operate on client {client_id}; the batch was not run"),
        ))
    }
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::*;

    fn current_user() -> String {
        Spi::get_one::<String>("SELECT current_user::text")
            .unwrap()
            .unwrap()
    }

    fn oid_of(role: &str) -> pg_sys::Oid {
        Spi::get_one_with_args::<pg_sys::Oid>(
            "SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1",
            &[role.into()],
        )
        .unwrap()
        .unwrap()
    }

    #[pg_test]
    fn as_role_switches_and_restores() {
        Spi::run("CREATE ROLE access_test_role").unwrap();
        let me = current_user();
        let inside = as_role(oid_of("access_test_role"), current_user);
        assert_eq!(inside, "access_test_role");
        assert_eq!(current_user(), me);
    }

    #[pg_test]
    fn as_role_restores_when_an_error_unwinds() {
        Spi::run("CREATE ROLE access_test_role2").unwrap();
        let me = current_user();
        let role = oid_of("access_test_role2");
        let caught = pgrx::PgTryBuilder::new(|| {
            as_role(role, || Spi::run("SELECT 1/0").unwrap());
            false
        })
        .catch_others(|_| true)
        .execute();
        assert!(caught);
        assert_eq!(current_user(), me);
    }

    #[pg_test]
    fn unentitled_roles_see_no_client_and_superusers_every_client() {
        Spi::run("CREATE ROLE access_test_role3 IN ROLE backout_reader").unwrap();
        assert!(entitled(1, Level::Operator), "the test runs as a superuser");
        let role = oid_of("access_test_role3");
        assert!(!as_role(role, || entitled(1, Level::Reader)));
        assert_eq!(
            as_role(role, || entitled_clients(Level::Reader)),
            Some(vec![])
        );
        Spi::run("INSERT INTO backout.entitlement (role, client_id, level) VALUES ('access_test_role3', 7, 'reader')")
            .unwrap();
        assert!(as_role(role, || entitled(7, Level::Reader)));
        assert!(!as_role(role, || entitled(7, Level::Operator)));
        assert!(!as_role(role, || entitled(8, Level::Reader)));
    }
}
