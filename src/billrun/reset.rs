//! `reset_lines` (BillRun's `resetlines`): re-rate the unbilled, non-excluded lines of some accounts' cycle
//! with the prices as they stand now, as a batch kind of its own (`reset_batch`).  The batch, in one
//! transaction under the client's exclusive lock: finds the lines (`query::field::lines`, the query's
//! conditions), prices them with ingest's rule (`ingest::price_in_force!`), rewrites their price and
//! amount, and moves their contribution in the balances through `balances.rs` (old amount out, new amount
//! in).  A line is what ingesting it afresh now would give.  Fences (SPEC §4.3): `run_billing` of the
//! client is refused while a reset of it is PROCESSING; an identical request answers with the running
//! batch's id (a partial unique index on the request's key decides, not a check); batches of a client run
//! one at a time, so two resets never count a balance twice.
use super::{id_list, is_billrun_key, Input, MAX_IDS};
use crate::access::{self, as_owner, Level};
use crate::balances::per_bucket;
use crate::batches::{holds_nothing, Batch, Kind, Shown};
use crate::ingest::price_in_force;
use crate::query::field::lines;
use crate::query::sql::{condition, Params};
use crate::query::{self, tree, Node};
use crate::raw_jsonb::RawJsonb;
use crate::reply::{first_value, read_value, with_plan, Outcome, PlanShape, Rejection};
use crate::{locks, worker};
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::{AnyNumeric, Uuid};

pub const RESET_PENDING: &str = "RESET_PENDING";
pub const NO_PRICE: &str = "NO_PRICE";

pub const KIND: Kind = Kind {
    name: "reset",
    table: "backout.reset_batch",
    id_column: "reset_batch_id",
    run: run_reset,
    release: holds_nothing,
    shown: Shown {
        request: "format('aid=%s billrun_key=%s query=%s', aid, billrun_key, query)",
        user: "user_id",
        counts: "jsonb_build_object('lines_reset', lines_reset, 'accounts_reset', accounts_reset,
                                    'amount_before', amount_before, 'amount_after', amount_after,
                                    'lines_skipped', lines_skipped)",
    },
};

/// What a reset covers: accounts of the client, a cycle (None: each account's open one), a condition.
struct Target {
    client_id: i64,
    accounts: Vec<i64>,
    billrun_key: Option<String>,
    query: Option<Node>,
}

/// The lines of the target (`lines`: every matching line, with `resettable`: unbilled and not
/// excluded), then the resettable ones priced now (`priced`: old and new price and amount).  $1 = client,
/// $2 = accounts, $3 = billrun key or NULL; the query's values from $4.
fn target_sql(target: &Target, params: &mut Params) -> String {
    let query = target
        .query
        .as_ref()
        .map(|q| condition(q, params))
        .unwrap_or_else(|| "true".into());
    format!(
        r#"
    lines AS MATERIALIZED (
        SELECT l.stamp AS record_no, l.aid AS res_acct_no, l.usage_type_no, l.urt AS usage_ts, l.usagev AS units,
               l.arate AS old_price, l.aprice AS old_amount, NOT l.billed AND NOT l.excluded AS resettable
        FROM ({lines}) AS l
        WHERE l.aid = ANY ($2)
          AND l.billrun = coalesce($3::text, to_char(l.next_bill_date, 'YYYYMM'))
          AND {query}),
    resettable AS (SELECT * FROM lines WHERE resettable),
    priced AS MATERIALIZED ({price})"#,
        price = price_in_force!("resettable"),
        lines = lines(true)
    )
}

/// The last column of COUNT and APPLY: the first line without a price in force now, or NULL.
macro_rules! unpriced {
    () => {
        r#"
           (SELECT format('line %s (account %s, usage type %s, %s) has no price in force now', p.record_no, p.res_acct_no,
                          ut.usage_type_code, to_char(p.usage_ts, 'YYYY-MM-DD'))
            FROM priced p JOIN backout.usage_type ut ON ut.client_id = $1 AND ut.usage_type_no = p.usage_type_no
            WHERE p.unit_price IS NULL ORDER BY p.record_no LIMIT 1)"#
    };
}

/// What a reset would do (the dry run): lines, accounts, amounts before and after, lines skipped, and the
/// first line without a price (and no balance change).
const COUNT: &str = concat!(
    r#"
    SELECT (SELECT count(*) FROM priced), (SELECT count(DISTINCT res_acct_no) FROM priced),
           (SELECT coalesce(sum(old_amount), 0) FROM priced), (SELECT coalesce(sum(units * unit_price), 0) FROM priced),
           (SELECT count(*) FROM lines WHERE NOT resettable),"#,
    unpriced!(),
    ", NULL::jsonb"
);

/// Re-rate the priced lines, in record order, and sum the change of their contribution per balance bucket
/// (old out, new in; `balances::apply` moves it).  Returns the counts, as COUNT does; when a line has no
/// price, the batch fails and its subtransaction takes back what this statement did.
const APPLY: &str = concat!(
    r#",
    rerated AS (
        UPDATE backout.usage_txn u
           SET unit_price = p.unit_price, amount = u.units * p.unit_price, price_offer_id = p.price_offer_id
          FROM priced p
         WHERE u.client_id = $1 AND u.txn_id = p.record_no AND p.unit_price IS NOT NULL
        RETURNING u.acct_no, u.usage_type_no, u.usage_date, u.units, u.amount, p.old_amount),
    delta AS (
        SELECT r.acct_no, r.usage_type_no, r.usage_date, -r.units AS units, -r.old_amount AS amount, false AS adds
        FROM rerated r
        UNION ALL
        SELECT r.acct_no, r.usage_type_no, r.usage_date, r.units, r.amount, true
        FROM rerated r),"#,
    per_bucket!(),
    r#"
    SELECT (SELECT count(*) FROM rerated), (SELECT count(DISTINCT acct_no) FROM rerated),
           (SELECT coalesce(sum(old_amount), 0) FROM rerated), (SELECT coalesce(sum(amount), 0) FROM rerated),
           (SELECT count(*) FROM lines WHERE NOT resettable),"#,
    unpriced!(),
    ", ",
    crate::balances::bucket_deltas!()
);

#[derive(Default)]
struct Counts {
    lines: i64,
    accounts: i64,
    before: AnyNumeric,
    after: AnyNumeric,
    skipped: i64,
    unpriced: Option<String>,
    /// APPLY: the change per balance bucket (BUCKET_DELTAS).
    deltas: Option<pgrx::JsonB>,
}

/// Run COUNT or APPLY (which adds CTEs of its own first) over the target.  Custom plans: the accounts are a short list that a custom plan
/// turns into index probes.
fn over_target(target: &Target, tail: &str) -> Counts {
    let mut params = Params::after(3);
    let sql = format!("WITH {} {tail}", target_sql(target, &mut params));
    let mut args: Vec<DatumWithOid> = vec![
        target.client_id.into(),
        target.accounts.clone().into(),
        target.billrun_key.clone().into(),
    ];
    args.extend(params.into_values());
    with_plan(PlanShape::Custom, &sql, &args, |rows| {
        let row = rows.first();
        Counts {
            lines: row.get::<i64>(1).expect("lines").unwrap_or(0),
            accounts: row.get::<i64>(2).expect("accounts").unwrap_or(0),
            before: row
                .get::<AnyNumeric>(3)
                .expect("before")
                .unwrap_or_default(),
            after: row.get::<AnyNumeric>(4).expect("after").unwrap_or_default(),
            skipped: row.get::<i64>(5).expect("skipped").unwrap_or(0),
            unpriced: row.get::<String>(6).expect("unpriced"),
            deltas: row.get::<pgrx::JsonB>(7).expect("deltas"),
        }
    })
}

/// The request as the claim read it (columns of `reset_batch`).
#[derive(serde::Deserialize)]
struct ResetRequest {
    accounts: Vec<i64>,
    billrun_key: Option<String>,
    query: Option<serde_json::Value>,
}

fn run_reset(batch: &Batch) -> Outcome<()> {
    let (client_id, batch_id) = (batch.client_id, batch.batch_id);
    let request: ResetRequest = batch.request()?;
    let query = request
        .query
        .as_ref()
        .map(tree::from_conditions)
        .transpose()
        .map_err(|r| Rejection::invalid(format!("query: {r}")))?;
    crate::batches::report_step("waiting for the client lock");
    locks::lock_client_exclusive(client_id);
    crate::batches::report_step("re-rating lines");
    let target = Target {
        client_id,
        accounts: request.accounts,
        billrun_key: request.billrun_key,
        query,
    };
    let mut done = over_target(&target, APPLY);
    if let Some(problem) = done.unpriced {
        return Err(Rejection::new(NO_PRICE, problem));
    }
    crate::balances::apply(client_id, done.deltas.take());
    as_owner(|| {
        Spi::run_with_args(
            "UPDATE backout.reset_batch
                SET lines_reset = $3, accounts_reset = $4, amount_before = $5, amount_after = $6, lines_skipped = $7
              WHERE client_id = $1 AND reset_batch_id = $2",
            &[
                client_id.into(),
                batch_id.into(),
                done.lines.into(),
                done.accounts.into(),
                done.before.into(),
                done.after.into(),
                done.skipped.into(),
            ],
        )
    })
    .expect("reset counts");
    Ok(())
}

/// A checked request: the target, and what identifies it among PROCESSING ones.
struct Checked {
    target: Target,
    user_id: String,
}

fn check(
    client_id: Option<i64>,
    aid: Option<&str>,
    billrun_key: Option<&str>,
    query: Option<RawJsonb>,
    user_id: Option<&str>,
) -> Result<Checked, String> {
    let client_id =
        access::require_client(client_id, Level::Operator, "reset_lines").map_err(|r| r.message)?;
    let aids = id_list(aid).ok_or("Please supply at least one aid")?;
    if aids.len() > MAX_IDS {
        return Err(format!("Maximum of aid is {MAX_IDS}"));
    }
    let accounts = read_value::<Vec<i64>>(
        "SELECT array_agg(a.acct_no ORDER BY a.acct_no) FROM backout.account a
         WHERE a.client_id = $1 AND a.acct_no = ANY ($2)",
        &[client_id.into(), aids.into()],
    )
    .filter(|a| !a.is_empty())
    .ok_or("Illegal aid")?;
    if billrun_key.is_some_and(|k| !is_billrun_key(k)) {
        return Err("billrun_key must be a billrun key YYYYMM".into());
    }
    let query = query.map(|q| query::condition_query(&q)).transpose()?;
    let user_id = match user_id {
        Some(u) => crate::reply::check_user_id(u)
            .map(|()| u.to_owned())
            .map_err(|r| r.message)?,
        None => read_value::<String>("SELECT session_user::text", &[]).unwrap_or_default(),
    };
    Ok(Checked {
        target: Target {
            client_id,
            accounts,
            billrun_key: billrun_key.map(str::to_owned),
            query,
        },
        user_id,
    })
}

/// Queue the reset; an identical one PROCESSING answers instead (the unique index on
/// (client_id, request_key) WHERE PROCESSING decides).  Returns (id, whether it is the running one).
fn submit(checked: &Checked, aid: Option<&str>, query: Option<RawJsonb>) -> (Uuid, bool) {
    let target = &checked.target;
    let run_as = access::caller();
    // jsonb's text is canonical (object keys sorted, no spacing), so equal queries give equal keys
    let key = read_value::<String>(
        "SELECT pg_catalog.md5(pg_catalog.concat_ws('|', $1::bigint[]::text, $2, $3::jsonb::text))",
        &[
            target.accounts.clone().into(),
            target.billrun_key.clone().into(),
            query.into(),
        ],
    )
    .expect("request key");
    let inserted = as_owner(|| {
        first_value::<Uuid>(
            "INSERT INTO backout.reset_batch (client_id, aid, accounts, billrun_key, query, request_key, user_id, status, run_as)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'PROCESSING', $8::oid::regrole)
             ON CONFLICT (client_id, request_key) WHERE status = 'PROCESSING' DO NOTHING
             RETURNING reset_batch_id",
            &[
                target.client_id.into(),
                aid.into(),
                target.accounts.clone().into(),
                target.billrun_key.clone().into(),
                query.into(),
                key.clone().into(),
                checked.user_id.clone().into(),
                run_as.into(),
            ],
        )
    });
    if let Some(id) = inserted {
        worker::start_runner_at_commit();
        return (id, false);
    }
    let running = as_owner(|| {
        first_value::<Uuid>(
            "SELECT reset_batch_id FROM backout.reset_batch
             WHERE client_id = $1 AND request_key = $2 AND status = 'PROCESSING'",
            &[target.client_id.into(), key.into()],
        )
    });
    (
        running.expect("the identical reset that pre-empted this one"),
        true,
    )
}

/// Re-rate lines of a cycle (BillRun's `resetlines`): queues a reset batch and answers at once with its id
/// (`get_reset_lines_status`, `wait_for_batch`, LISTEN pg_backout_batch).  `dry_run` answers what it would
/// reset (lines, accounts, amounts before and after, lines skipped) and changes nothing.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn reset_lines(
    client_id: Option<i64>,
    aid: Option<&str>,
    billrun_key: default!(Option<&str>, "NULL"),
    query: default!(Option<RawJsonb>, "NULL"),
    user_id: default!(Option<&str>, "NULL"),
    dry_run: default!(Option<bool>, false),
) -> RawJsonb {
    crate::access::as_api(|| {
        let input = Input::default()
            .with("aid", aid.map(|v| v.to_owned().into()))
            .with("billrun_key", billrun_key.map(|v| v.to_owned().into()))
            .with("query", query.map(|q| q.as_arg()))
            .with("user_id", user_id.map(|v| v.to_owned().into()))
            .with("dry_run", dry_run.map(|v| v.into()));
        let checked = match check(client_id, aid, billrun_key, query, user_id) {
            Ok(c) => c,
            Err(desc) => return input.failed(&desc),
        };
        if dry_run.unwrap_or(false) {
            let c = over_target(&checked.target, COUNT);
            let extra = read_value::<RawJsonb>(
            "SELECT jsonb_build_object('dry_run', true, 'lines_reset', $1, 'accounts_reset', $2, 'amount_before', $3,
                                       'amount_after', $4, 'lines_skipped', $5, 'problem', $6)",
            &[c.lines.into(), c.accounts.into(), c.before.into(), c.after.into(), c.skipped.into(), c.unpriced.into()],
        );
            return input.answer(1, "dry run: nothing was changed", extra);
        }
        let (id, running) = submit(&checked, aid, query);
        let extra = read_value::<RawJsonb>(
            "SELECT jsonb_build_object('reset_batch_id', $1::text)",
            &[id.into()],
        );
        let desc = if running {
            "an identical reset is already PROCESSING: its reset_batch_id is given"
        } else {
            "success"
        };
        input.answer(1, desc, extra)
    })
}

type StatusRow = (
    Option<Uuid>,
    String,
    Option<i64>,
    Option<i64>,
    Option<AnyNumeric>,
    Option<AnyNumeric>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

fn read_status(batch_id: Uuid, client_id: i64) -> Outcome<StatusRow> {
    crate::reply::read(|spi| {
        let rows = spi
            .select(
                "SELECT status, lines_reset, accounts_reset, amount_before, amount_after, error_code, error_message,
                        lines_skipped
                 FROM backout.reset_batch WHERE client_id = $1 AND reset_batch_id = $2",
                Some(1),
                &[client_id.into(), batch_id.into()],
            )
            .expect("reset status");
        if rows.is_empty() {
            return None;
        }
        let r = rows.first();
        Some((
            Some(batch_id),
            r.get::<String>(1).expect("status").unwrap_or_default(),
            r.get::<i64>(2).expect("lines"),
            r.get::<i64>(3).expect("accounts"),
            r.get::<AnyNumeric>(4).expect("before"),
            r.get::<AnyNumeric>(5).expect("after"),
            r.get::<String>(6).expect("code"),
            r.get::<String>(7).expect("message"),
            r.get::<i64>(8).expect("skipped"),
            Some(client_id),
        ))
    })
    .ok_or_else(|| crate::reply::unknown_batch(KIND.name, batch_id, client_id))
    .inspect(|row| {
        if row.1 == "PROCESSING" {
            worker::start_runner_if_idle();
        }
    })
}

/// The status of a reset of this client.  Another client's batch id reads as unknown.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn get_reset_lines_status(
    reset_batch_id: Option<Uuid>,
    client_id: Option<i64>,
) -> TableIterator<
    'static,
    (
        name!(reset_batch_id, Option<Uuid>),
        name!(status, String),
        name!(lines_reset, Option<i64>),
        name!(accounts_reset, Option<i64>),
        name!(amount_before, Option<AnyNumeric>),
        name!(amount_after, Option<AnyNumeric>),
        name!(error_code, Option<String>),
        name!(error_message, Option<String>),
        name!(lines_skipped, Option<i64>),
        name!(client_id, Option<i64>),
    ),
> {
    crate::access::as_api(|| {
        let found = access::read_batch_status(
            KIND.name,
            "get_reset_lines_status",
            ("reset_batch_id", reset_batch_id),
            client_id,
            read_status,
        );
        TableIterator::once(match found {
            Ok(row) => row,
            Err(r) => (
                reset_batch_id,
                "ERROR".into(),
                None,
                None,
                None,
                None,
                Some(r.code.into()),
                Some(r.message),
                None,
                client_id,
            ),
        })
    })
}

/// run_billing's fence: refused while a reset of the client is PROCESSING (its lines are being re-rated).
pub fn reject_pending_reset(client_id: i64) -> Outcome<()> {
    let pending = as_owner(|| {
        first_value::<String>(
            "SELECT reset_batch_id::text FROM backout.reset_batch WHERE client_id = $1 AND status = 'PROCESSING'
             ORDER BY queue_seq LIMIT 1",
            &[client_id.into()],
        )
    });
    match pending {
        None => Ok(()),
        Some(id) => Err(Rejection::new(
            RESET_PENDING,
            format!("a reset of lines of client {client_id} is PROCESSING (reset_batch_id {id}); bill after it completes"),
        )),
    }
}
