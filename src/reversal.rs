//! Reversing billing: what an undo does to whole billing runs and a backout with `undo_billing` does to
//! the invoices of the affected accounts.  A reversal takes a set of invoices (of completed billing
//! batches) and puts back exactly what the run changed: usage marks, balance true-ups (from the run's
//! snapshot), billing pointers (from the invoice's period), and deletes the billing output.
//!
//! Every statement takes $1 = client_id, $2 = billing batch ids, $3 = invoice numbers, and selects rows
//! by batch first (indexed) and invoice second, with a custom plan (PlanShape::Custom): the invoice list is
//! then a constant, which PostgreSQL hashes, and the batch binds its index.  No statement joins two inputs
//! whose sizes only statistics could tell: a run's rows are reached by batch, the rest by key.
use crate::balances::{self, usage_reaches_contract, BUCKET_DELTAS, SUBTRACT_GONE};
use crate::reply::{first_value, first_value_planned, with_plan, Outcome, PlanShape, Rejection};
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;

pub const BILLED_AGAIN: &str = "BILLED_AGAIN";

/// What a usage-deleting statement did.
pub struct Deleted {
    pub usage: i64,
    pub files: i64,
    /// Backout only: why the deleted usage must not be deleted alone (some of it was billed).
    pub billed: Option<String>,
    /// The buckets the deletion brought down to zero: (acct_no, period_start) pairs, for drop_emptied.
    emptied: (Vec<i64>, Vec<Date>),
}

/// Run a statement whose columns are: usage rows deleted, stats rows deleted, the emptied buckets
/// (BUCKET_DELTAS) and a refusal text or NULL; the balances are then changed by the deltas.
pub fn delete_usage(client_id: i64, shape: PlanShape, sql: &str, args: &[DatumWithOid]) -> Deleted {
    let (usage, files, deltas, billed) = with_plan(shape, sql, args, |rows| {
        let row = rows.first();
        (
            row.get::<i64>(1).expect("usage").unwrap_or(0),
            row.get::<i64>(2).expect("files").unwrap_or(0),
            row.get::<pgrx::JsonB>(3).expect("deltas"),
            row.get::<String>(4).expect("billed"),
        )
    });
    Deleted {
        usage,
        files,
        billed,
        emptied: balances::apply(client_id, deltas),
    }
}

/// Drop the buckets a deletion emptied that no usage reaches any more (and that hold no true-up: call it
/// after true-ups are restored).
pub fn drop_emptied(client_id: i64, deleted: &Deleted) {
    balances::drop_emptied_buckets(client_id, &deleted.emptied.0, &deleted.emptied.1);
}

/// An account billed again after the run (its pointers moved on) cannot have that run reversed first.
const BILLED_AGAIN_CHECK: &str = r#"
    SELECT format('account %s was billed again after the run of %s (its billing period is now %s..%s); undo the later run first',
                  i.acct_no, to_char(b.billing_date, 'YYYY-MM-DD'),
                  to_char(bp.last_bill_date, 'YYYY-MM-DD'), to_char(bp.next_bill_date, 'YYYY-MM-DD'))
    FROM backout.invoice i
    JOIN backout.billing_batch b ON b.client_id = $1 AND b.billing_batch_id = i.billing_batch_id
    JOIN backout.billing_profile bp ON bp.client_id = $1 AND bp.acct_no = i.acct_no
    WHERE i.client_id = $1 AND i.billing_batch_id = ANY($2) AND i.invoice_no = ANY($3)
      AND bp.last_bill_date <> i.period_end
    ORDER BY i.acct_no
    LIMIT 1"#;

/// Usage billed by the invoices, deleted (undo with discard_usage), with its balance contribution and the
/// stats rows of the files it came from, so that those files can be processed again.
const DISCARD_BILLED_USAGE: &str = r#"
    WITH gone AS (
        DELETE FROM backout.usage_txn u
         WHERE u.client_id = $1 AND u.billing_batch_id = ANY($2) AND u.invoice_no = ANY($3)
        RETURNING u.acct_no, u.usage_type_no, u.usage_date, u.units, u.amount, u.is_excluded, u.file_name),
    {subtract},
    files AS (
        DELETE FROM backout.usage_file f
         WHERE f.client_id = $1 AND f.file_name IN (SELECT file_name FROM gone)
        RETURNING 1)
    SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM files), {deltas}, NULL::text"#;

const UNBILL_USAGE: &str = r#"
    UPDATE backout.usage_txn u SET billing_batch_id = NULL, invoice_no = NULL
     WHERE u.client_id = $1 AND u.billing_batch_id = ANY($2) AND u.invoice_no = ANY($3)"#;

/// The invoices' snapshot rows: the balance buckets' true-up fields as they were before the run.
/// The balance snapshots of the target invoices ($4 = their 'batch/account' keys): by batch (indexed),
/// then a hashed filter, no join, so that no estimate of the run's own rows can pick a quadratic plan.
const SNAPSHOTS: &str = r#"
    SELECT s.*
    FROM backout.billing_balance_snapshot s
    WHERE s.client_id = $1 AND s.billing_batch_id = ANY($2)
      AND (s.billing_batch_id::text || '/' || s.acct_no::text) = ANY($4)"#;

/// A bucket the run created stays only if usage has reached it since (ingest would have created it).
const DROP_CREATED_BUCKETS: &str = concat!(
    r#"
    DELETE FROM backout.commitment_balance cb
     USING ({snapshots}) s
     WHERE NOT s.balance_existed
       AND cb.client_id = $1 AND cb.acct_no = s.acct_no AND cb.period_start = s.period_start
       AND NOT EXISTS (
           SELECT FROM backout.usage_txn u
           JOIN backout.commitment_contract c ON c.client_id = $1 AND c.period_start = cb.period_start AND "#,
    usage_reaches_contract!(),
    r#"
           WHERE u.client_id = $1 AND u.acct_no = cb.acct_no)"#
);

const RESTORE_TRUE_UPS: &str = r#"
    WITH restored AS (
        UPDATE backout.commitment_balance cb
           SET true_up_amount = s.true_up_amount, true_up_batch_id = s.true_up_batch_id, updated_at = now()
          FROM ({snapshots}) s
         WHERE cb.client_id = $1 AND cb.acct_no = s.acct_no AND cb.period_start = s.period_start
        RETURNING 1)
    DELETE FROM backout.billing_balance_snapshot s
     WHERE s.client_id = $1 AND s.billing_batch_id = ANY($2)
       AND (s.billing_batch_id::text || '/' || s.acct_no::text) = ANY($4)"#;

const ROLL_BACK_POINTERS: &str = r#"
    UPDATE backout.billing_profile bp
       SET last_bill_date = i.period_start, next_bill_date = i.period_end
      FROM backout.invoice i
     WHERE i.client_id = $1 AND i.billing_batch_id = ANY($2) AND i.invoice_no = ANY($3)
       AND bp.client_id = $1 AND bp.acct_no = i.acct_no"#;

/// Before they go, the invoices and their lines are kept (reversed_invoice, reversed_billing_record) with
/// the reversal's kind, batch and user ($4, $5, $6).  Run as the extension's owner: reversal history is
/// written by the extension only.  Two plain statements rather than one with a writing CTE: Citus cannot
/// plan the CTE form on a distributed table (tests/citus/NOTES.md).
const KEEP_REVERSED_LINES: &str = r#"
    INSERT INTO backout.reversed_billing_record
        (client_id, invoice_no, billing_record_id, billing_batch_id, acct_no, record_type, usage_type_no,
         usage_records, units, unit_price, amount, period_start, period_end, commitment_period_start,
         commitment_kind, commitment_value, consumed, created_at, reversal_batch_id)
    SELECT r.client_id, r.invoice_no, r.billing_record_id, r.billing_batch_id, r.acct_no, r.record_type,
           r.usage_type_no, r.usage_records, r.units, r.unit_price, r.amount, r.period_start, r.period_end,
           r.commitment_period_start, r.commitment_kind, r.commitment_value, r.consumed, r.created_at, $5
    FROM backout.billing_record r
    WHERE r.client_id = $1 AND r.billing_batch_id = ANY($2) AND r.invoice_no = ANY($3)"#;

const KEEP_REVERSED_INVOICES: &str = r#"
    INSERT INTO backout.reversed_invoice
        (client_id, invoice_no, billing_batch_id, acct_no, period_start, period_end, usage_amount,
         true_up_amount, total_amount, reversal_kind, reversal_batch_id, reversed_by)
    SELECT i.client_id, i.invoice_no, i.billing_batch_id, i.acct_no, i.period_start, i.period_end,
           i.usage_amount, i.true_up_amount, i.total_amount, $4, $5, $6
    FROM backout.invoice i
    WHERE i.client_id = $1 AND i.billing_batch_id = ANY($2) AND i.invoice_no = ANY($3)"#;

const DELETE_BILLING_RECORDS: &str = r#"
    DELETE FROM backout.billing_record r
     WHERE r.client_id = $1 AND r.billing_batch_id = ANY($2) AND r.invoice_no = ANY($3)"#;

const DELETE_INVOICES: &str = r#"
    DELETE FROM backout.invoice i
     WHERE i.client_id = $1 AND i.billing_batch_id = ANY($2) AND i.invoice_no = ANY($3)"#;

/// The job schedules of the batches' dates go, so that billing can run for those dates again; a batch
/// left without invoices is marked UNDONE ($4 = the undo or backout batch id).
const RESET_SCHEDULES_AND_BATCHES: &str = r#"
    WITH schedules AS (
        DELETE FROM backout.job_schedule js
         WHERE js.client_id = $1
           AND js.schedule_date IN (SELECT billing_date::timestamp FROM backout.billing_batch
                                    WHERE client_id = $1 AND billing_batch_id = ANY($2)))
    UPDATE backout.billing_batch b SET status = 'UNDONE', undone_at = now(), undone_by_batch_id = $4
     WHERE b.client_id = $1 AND b.billing_batch_id = ANY($2)
       AND NOT EXISTS (SELECT FROM backout.invoice i WHERE i.client_id = $1 AND i.billing_batch_id = b.billing_batch_id)"#;

/// The invoices to reverse: of which billing batches, which invoices.
pub struct Target {
    pub batches: Vec<i64>,
    pub invoices: Vec<i64>,
}

#[derive(Default)]
pub struct Reversed {
    pub billing_records: i64,
    pub accounts: i64,
    pub usage_unbilled: i64,
    pub usage_deleted: i64,
    pub files_deleted: i64,
}

/// Runs a statement of the reversal with a custom plan (see the module comment); returns the rows it
/// processed.
fn run(sql: &str, args: &[DatumWithOid]) -> i64 {
    with_plan(PlanShape::Custom, sql, args, |rows| rows.len() as i64)
}

/// The same for a statement that joins the run's rows with the accounts' (PlanShape::CustomHashed).
fn run_hashed(sql: &str, args: &[DatumWithOid]) -> i64 {
    with_plan(PlanShape::CustomHashed, sql, args, |rows| rows.len() as i64)
}

/// Why the target cannot be reversed (an account billed again since), if it cannot.
pub fn billed_again(client_id: i64, target: &Target) -> Option<String> {
    first_billed_again(&[
        client_id.into(),
        target.batches.clone().into(),
        target.invoices.clone().into(),
    ])
}

/// Hashed: it joins the run's invoices with the accounts' pointers (see PlanShape::CustomHashed).
fn first_billed_again(args: &[DatumWithOid]) -> Option<String> {
    first_value_planned::<String>(PlanShape::CustomHashed, BILLED_AGAIN_CHECK, args)
}

fn reject_billed_again(args: &[DatumWithOid]) -> Outcome<()> {
    match first_billed_again(args) {
        None => Ok(()),
        Some(problem) => Err(Rejection::new(BILLED_AGAIN, problem)),
    }
}

fn discard_billed_usage(client_id: i64, args: &[DatumWithOid]) -> Deleted {
    let sql = DISCARD_BILLED_USAGE
        .replace("{subtract}", SUBTRACT_GONE)
        .replace("{deltas}", BUCKET_DELTAS);
    delete_usage(client_id, PlanShape::Custom, &sql, args)
}

/// The batch that reverses: its kind, id and user (kept with every reversed invoice).
pub struct Reverser<'a> {
    pub kind: &'static str,
    pub batch: &'a crate::batches::Batch,
}

fn keep_reversed(client_id: i64, target: &Target, by: &Reverser) {
    let args: [DatumWithOid; 6] = [
        client_id.into(),
        target.batches.clone().into(),
        target.invoices.clone().into(),
        by.kind.into(),
        by.batch.batch_id.into(),
        by.batch.user_id().into(),
    ];
    crate::access::as_owner(|| {
        run(KEEP_REVERSED_INVOICES, &args);
        run(KEEP_REVERSED_LINES, &args);
    });
}

/// Reverse the target's invoices; with `discard_usage` their usage is deleted instead of unbilled.
pub fn reverse(
    client_id: i64,
    target: &Target,
    discard_usage: bool,
    by: Reverser,
) -> Outcome<Reversed> {
    let args: [DatumWithOid; 3] = [
        client_id.into(),
        target.batches.clone().into(),
        target.invoices.clone().into(),
    ];
    reject_billed_again(&args)?;
    let keys = first_value::<Vec<String>>(
        "SELECT array_agg(i.billing_batch_id::text || '/' || i.acct_no::text) FROM backout.invoice i
         WHERE i.client_id = $1 AND i.invoice_no = ANY($3)",
        &args,
    )
    .unwrap_or_default();
    let with_keys: [DatumWithOid; 4] = [
        client_id.into(),
        target.batches.clone().into(),
        target.invoices.clone().into(),
        keys.into(),
    ];
    let mut done = Reversed::default();
    let discarded = discard_usage.then(|| discard_billed_usage(client_id, &args));
    match &discarded {
        Some(d) => (done.usage_deleted, done.files_deleted) = (d.usage, d.files),
        None => done.usage_unbilled = run(UNBILL_USAGE, &args),
    }
    run(
        &DROP_CREATED_BUCKETS.replace("{snapshots}", SNAPSHOTS),
        &with_keys,
    );
    run_hashed(
        &RESTORE_TRUE_UPS.replace("{snapshots}", SNAPSHOTS),
        &with_keys,
    );
    if let Some(d) = &discarded {
        drop_emptied(client_id, d);
    }
    done.accounts = run_hashed(ROLL_BACK_POINTERS, &args);
    keep_reversed(client_id, target, &by);
    done.billing_records = run(DELETE_BILLING_RECORDS, &args);
    run(DELETE_INVOICES, &args);
    let [client, batches, invoices] = args;
    run(
        RESET_SCHEDULES_AND_BATCHES,
        &[client, batches, invoices, by.batch.batch_id.into()],
    );
    Ok(done)
}
