//! The commitment balance buckets: one bucket per (account, contract period), holding the consumption of
//! the usage that reaches it.  Every writer of usage (ingest, events, discard, backout, void, overwrite,
//! undo with discard_usage) changes the buckets through one statement, `APPLY_PER_BUCKET`, over signed
//! contributions summed per bucket (`per_bucket!`); the rule of which usage reaches which bucket is `usage_reaches_contract!`.
use crate::reply::with_plan;
use crate::reply::PlanShape;
use pgrx::prelude::*;

/// Usage row `u` reaches the bucket of contract `c`: the contract's account and period, and its usage type
/// when it names one (a QUANTITY commitment).  Every statement that asks uses these aliases.
macro_rules! usage_reaches_contract {
    () => {
        "u.acct_no = c.acct_no AND u.usage_date >= c.period_start AND u.usage_date < c.period_end
         AND (c.usage_type_no IS NULL OR c.usage_type_no = u.usage_type_no)"
    };
}
pub(crate) use usage_reaches_contract;

/// CTE `per_bucket` over a relation `delta` of signed contributions (acct_no, usage_type_no, usage_date,
/// units, amount, adds): added usage counts positive (`adds` true), removed usage negative, a replacement
/// both; summed per bucket ($1 = client_id).
macro_rules! per_bucket {
    () => {
        concat!(
            r#"
    per_bucket AS MATERIALIZED (
        SELECT c.acct_no, c.period_start, sum(u.amount) AS amount, sum(u.units) AS units, bool_or(u.adds) AS adds,
               sum(u.amount) FILTER (WHERE u.adds) AS added_amount, sum(u.units) FILTER (WHERE u.adds) AS added_units
        FROM delta u
        JOIN backout.commitment_contract c ON c.client_id = $1 AND "#,
            $crate::balances::usage_reaches_contract!(),
            r#"
        GROUP BY c.acct_no, c.period_start)"#
        )
    };
}
pub(crate) use per_bucket;

/// The statement that changes the buckets by `per_bucket` (a CTE before it), the one statement through which
/// every writer of usage changes them.  A bucket is created by the first usage added to it (as ingest always
/// did), never by a removal alone, and a bucket created here holds only what was added: usage that reached
/// no bucket when it was added (its contract came later) is not taken out of one (a re-rated line whose
/// bucket does not exist yet adds its new amount, and takes nothing away).  Buckets are locked in (account,
/// period) order, the one order every writer uses, so writers sharing a client never deadlock.  Returns the
/// changed buckets with their new consumption ($1 = client_id).
///
/// A statement of its own, never a CTE of the statement that writes the usage: Citus runs an INSERT that reads
/// another CTE's rows by sending those rows to every node (README "Scale-out on Citus").
const APPLY_PER_BUCKET: &str = r#"
    INSERT INTO backout.commitment_balance AS cb (client_id, acct_no, period_start, consumed_amount, consumed_units)
    SELECT $1, p.acct_no, p.period_start,
           CASE WHEN e.found THEN p.amount ELSE p.added_amount END, CASE WHEN e.found THEN p.units ELSE p.added_units END
    FROM per_bucket p
    LEFT JOIN LATERAL (SELECT true AS found FROM backout.commitment_balance e
                       WHERE e.client_id = $1 AND e.acct_no = p.acct_no AND e.period_start = p.period_start) e ON true
    WHERE p.adds OR e.found
    ORDER BY p.acct_no, p.period_start  -- the lock order of every writer
    ON CONFLICT (client_id, acct_no, period_start) DO UPDATE
       SET consumed_amount = cb.consumed_amount + excluded.consumed_amount,
           consumed_units = cb.consumed_units + excluded.consumed_units,
           updated_at = excluded.updated_at  -- its default, now(): Citus takes no volatile call here
    RETURNING cb.acct_no, cb.period_start, cb.consumed_amount = 0 AND cb.consumed_units = 0"#;

/// CTEs taking the contribution of deleted usage (a relation `gone` with acct_no, usage_type_no,
/// usage_date, units, amount, is_excluded) out of the buckets: `delta`, then `per_bucket`; the statement
/// returns BUCKET_DELTAS as a column, and its caller passes it to `apply`.  Discarded usage counts in no
/// bucket, so it is not taken out of one.
pub const SUBTRACT_GONE: &str = concat!(
    r#"
    delta AS (
        SELECT g.acct_no, g.usage_type_no, g.usage_date, -g.units AS units, -g.amount AS amount, false AS adds
        FROM gone g
        WHERE NOT g.is_excluded),"#,
    per_bucket!()
);

/// A column of a statement built on `per_bucket!`: its rows as a jsonb array, for `apply`.
macro_rules! bucket_deltas {
    () => {
        "(SELECT jsonb_agg(to_jsonb(p)) FROM per_bucket p)"
    };
}
pub(crate) use bucket_deltas;
pub const BUCKET_DELTAS: &str = bucket_deltas!();

/// The buckets changed by `deltas` (BUCKET_DELTAS of a statement): returns those it brought down to zero, as
/// (acct_no[], period_start[]), for `drop_emptied_buckets`.
pub fn apply(client_id: i64, deltas: Option<pgrx::JsonB>) -> (Vec<i64>, Vec<Date>) {
    let Some(deltas) = deltas else {
        return (vec![], vec![]);
    };
    let sql = format!(
        "WITH per_bucket AS (
             SELECT * FROM jsonb_to_recordset($2) AS p(acct_no bigint, period_start date, amount numeric, units numeric,
                                                      adds boolean, added_amount numeric, added_units numeric))
         {APPLY_PER_BUCKET}"
    );
    emptied_by(PlanShape::Custom, &sql, &[client_id.into(), deltas.into()])
}

/// Add the contribution of the client's usage rows that `filter` (a condition on `u`, parameters from $2:
/// `args`, whose first is the client_id) selects: rows just inserted, read back from the table.  `shape`:
/// CustomHashed for a file's rows, which the statistics may not have seen yet (taken for a handful, they were
/// joined with the contracts by a nested loop that read every contract once per row).
pub fn add_usage(shape: PlanShape, filter: &str, args: Vec<pgrx::datum::DatumWithOid>) {
    let sql = format!(
        "WITH delta AS (
             SELECT u.acct_no, u.usage_type_no, u.usage_date, u.units, u.amount, true AS adds
             FROM backout.usage_txn u WHERE u.client_id = $1 AND {filter}),
         {}
         {APPLY_PER_BUCKET}",
        per_bucket!()
    );
    emptied_by(shape, &sql, &args);
}

fn emptied_by(
    shape: PlanShape,
    sql: &str,
    args: &[pgrx::datum::DatumWithOid],
) -> (Vec<i64>, Vec<Date>) {
    let mut emptied = (vec![], vec![]);
    with_plan(shape, sql, args, |rows| {
        for row in rows {
            if row.get::<bool>(3).expect("emptied") == Some(true) {
                emptied
                    .0
                    .push(row.get::<i64>(1).expect("acct_no").expect("acct_no"));
                emptied
                    .1
                    .push(row.get::<Date>(2).expect("period").expect("period"));
            }
        }
    });
    emptied
}

/// Buckets that removed usage was taken out of ($2 = acct_nos, $3 = period_starts, pairwise) and that no
/// usage reaches any more go, as if that usage had never been ingested (ingest creates a bucket with the
/// first usage of its period); a bucket holding a true-up stays.
const DROP_EMPTIED_BUCKETS: &str = concat!(
    r#"
    DELETE FROM backout.commitment_balance cb
     USING unnest($2::bigint[], $3::date[]) AS emptied(acct_no, period_start)
     WHERE cb.client_id = $1 AND cb.acct_no = emptied.acct_no AND cb.period_start = emptied.period_start
       AND cb.true_up_amount IS NULL AND cb.true_up_batch_id IS NULL
       AND NOT EXISTS (
           SELECT FROM backout.commitment_contract c
           JOIN backout.usage_txn u ON u.client_id = $1 AND "#,
    usage_reaches_contract!(),
    r#"
            AND NOT u.is_excluded  -- discarded usage counts in no bucket
           WHERE c.client_id = $1 AND c.acct_no = cb.acct_no AND c.period_start = cb.period_start)"#
);

/// Drop the emptied buckets (given as (acct_no, period_start) pairs) that no usage reaches any more and
/// that hold no true-up: call it after true-ups are restored.
pub fn drop_emptied_buckets(client_id: i64, accounts: &[i64], periods: &[Date]) {
    if !accounts.is_empty() {
        with_plan(
            PlanShape::Custom,
            DROP_EMPTIED_BUCKETS,
            &[
                client_id.into(),
                accounts.to_vec().into(),
                periods.to_vec().into(),
            ],
            |_| (),
        );
    }
}
