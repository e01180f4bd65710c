//! Billing run for (client, billing date): one transaction of set-based statements.
//!
//! Every account whose `next_bill_date` is the billing date gets an invoice for its period
//! [last_bill_date, next_bill_date): `USAGE_CHARGE` lines for its unbilled, non-excluded usage of the
//! period (one per usage type), and a `TRUE_UP` line for every commitment contract whose period ends within
//! the billing period.  The run records what it needs to be reversed exactly: the invoice keeps the old
//! pointers, `billing_balance_snapshot` the balance values it overwrote, the usage its batch and invoice.
use crate::access::{require_client, Level};
use crate::balances::usage_reaches_contract;
use crate::dates::{iso_day, parse_day, DAY_FORMS};
use crate::locks;
use crate::reply::{
    first_value, first_value_planned, required, with_plan, Outcome, PlanShape, Rejection,
};
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;

pub const ALREADY_SCHEDULED: &str = "ALREADY_SCHEDULED";
pub const MISSING_PRICE: &str = "MISSING_PRICE";

/// The price in force for commitment `c`'s usage type on its period's last day (backout.price_offer_in_force's
/// rule: the account's custom price, else the standard one; two probes of price_offer_one_per_day) for client
/// $1, inline: Citus cannot plan a statement that calls a table-reading SQL function.
///
/// On Citus every statement of the extension names its client as a constant for every table it reads (with
/// Citus, `reply::with_plan` writes the parameters in), so that Citus runs it on the client's shard alone;
/// an INSERT whose rows come from a join reads them in a MATERIALIZED CTE first (Citus refuses such an
/// INSERT ... SELECT unless every table joins on client_id, and then sends it to every shard).
macro_rules! price_of_commitment {
    () => {
        r#"
        SELECT price.price_offer_id, price.unit_price
        FROM ((SELECT p.price_offer_id, p.unit_price FROM backout.price_offer p
               WHERE p.client_id = $1 AND p.usage_type_no = c.usage_type_no AND p.acct_no = c.acct_no
                 AND p.effective_from <= c.period_end - 1 ORDER BY p.effective_from DESC LIMIT 1)
              UNION ALL
              (SELECT p.price_offer_id, p.unit_price FROM backout.price_offer p
               WHERE p.client_id = $1 AND p.usage_type_no = c.usage_type_no AND p.acct_no IS NULL
                 AND p.effective_from <= c.period_end - 1 ORDER BY p.effective_from DESC LIMIT 1)) AS price
        LIMIT 1"#
    };
}

/// A QUANTITY commitment closing in this run whose usage type has no price to value the shortfall.
/// $1 = client_id, $2 = billing date.
const UNPRICED_TRUE_UP: &str = concat!(
    r#"
    SELECT format('account %s has a QUANTITY commitment for period %s..%s but no price in force for usage_type_code %L on %s',
                  c.acct_no, to_char(c.period_start, 'YYYY-MM-DD'), to_char(c.period_end, 'YYYY-MM-DD'),
                  ut.usage_type_code, to_char(c.period_end - 1, 'YYYY-MM-DD'))
    FROM backout.billing_profile bp
    JOIN backout.commitment_contract c
      ON c.client_id = $1 AND c.acct_no = bp.acct_no AND c.kind = 'QUANTITY'
     AND c.period_end > bp.last_bill_date AND c.period_end <= bp.next_bill_date
    JOIN backout.usage_type ut ON ut.client_id = $1 AND ut.usage_type_no = c.usage_type_no
    WHERE bp.client_id = $1 AND bp.next_bill_date = $2
      AND NOT EXISTS ("#,
    price_of_commitment!(),
    r#")
    ORDER BY c.acct_no
    LIMIT 1"#
);

/// $1 = client_id, $2 = billing date.  Returns the batch id.
const START_BATCH: &str = r#"
    INSERT INTO backout.billing_batch (client_id, billing_date, status) VALUES ($1, $2, 'PROCESSING')
    RETURNING billing_batch_id"#;

/// The run's job schedule, RUNNING.  A statement of its own, after START_BATCH: Citus would send a modifying
/// CTE's result to every node that holds a shard of the next statement's table.
const START_JOB: &str = r#"
    INSERT INTO backout.job_schedule (client_id, schedule_date, job_type, status, billing_batch_id)
    VALUES ($1, $3::timestamp, 'BILLING', 'RUNNING', $2)"#;

// The statements below take $1 = client_id, $2 = billing_batch_id, $3 = billing date.

const OPEN_INVOICES: &str = r#"
    INSERT INTO backout.invoice (client_id, billing_batch_id, acct_no, period_start, period_end)
    SELECT $1, $2, bp.acct_no, bp.last_bill_date, bp.next_bill_date
    FROM backout.billing_profile bp
    WHERE bp.client_id = $1 AND bp.next_bill_date = $3
    ORDER BY bp.acct_no"#;

const BILL_USAGE: &str = r#"
    WITH billed AS (
        UPDATE backout.usage_txn u
           SET billing_batch_id = i.billing_batch_id, invoice_no = i.invoice_no
          FROM backout.invoice i
         WHERE i.client_id = $1 AND i.billing_batch_id = $2
           AND u.client_id = $1 AND u.acct_no = i.acct_no
           AND u.usage_date >= i.period_start AND u.usage_date < i.period_end
           AND u.billing_batch_id IS NULL AND NOT u.is_excluded
        RETURNING u.invoice_no, u.acct_no, u.usage_type_no, u.units, u.amount, i.period_start, i.period_end)
    INSERT INTO backout.billing_record (client_id, billing_batch_id, invoice_no, acct_no, record_type, usage_type_no,
                                        usage_records, units, amount, period_start, period_end)
    SELECT $1, $2, b.invoice_no, b.acct_no, 'USAGE_CHARGE', b.usage_type_no,
           count(*), sum(b.units), sum(b.amount), b.period_start, b.period_end
    FROM billed b  -- the invoice's period comes with the row: no join whose plan stale statistics could pick
    GROUP BY b.invoice_no, b.acct_no, b.usage_type_no, b.period_start, b.period_end
    ORDER BY b.acct_no, b.usage_type_no"#;

/// Consumption of a commitment period = its billed usage (this run's and earlier runs'), in its scope.
const TRUE_UPS: &str = concat!(
    r#"
    WITH true_up AS MATERIALIZED (
    SELECT $1::bigint, $2::bigint, i.invoice_no, i.acct_no, 'TRUE_UP', c.usage_type_no,
           CASE c.kind WHEN 'QUANTITY' THEN greatest(0, c.commitment_value - used.units) ELSE 0 END,
           po.unit_price,
           CASE c.kind WHEN 'AMOUNT' THEN greatest(0, c.commitment_value - used.amount)
                       ELSE greatest(0, c.commitment_value - used.units) * po.unit_price END,
           i.period_start, i.period_end, c.period_start, c.kind, c.commitment_value,
           CASE c.kind WHEN 'AMOUNT' THEN used.amount ELSE used.units END
    FROM backout.invoice i
    JOIN backout.commitment_contract c
      ON c.client_id = $1 AND c.acct_no = i.acct_no
     AND c.period_end > i.period_start AND c.period_end <= i.period_end
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(u.amount), 0) AS amount, coalesce(sum(u.units), 0) AS units
        FROM backout.usage_txn u
        WHERE u.client_id = $1
          AND u.invoice_no IS NOT NULL  -- = billed; not billing_batch_id, whose partial index stale
                                        -- statistics (all NULL before this run) would make look empty
          AND "#,
    usage_reaches_contract!(),
    r#") AS used
    LEFT JOIN LATERAL ("#,
    price_of_commitment!(),
    r#") AS po ON c.kind = 'QUANTITY'
    WHERE i.client_id = $1 AND i.billing_batch_id = $2)
    INSERT INTO backout.billing_record (client_id, billing_batch_id, invoice_no, acct_no, record_type, usage_type_no,
                                        units, unit_price, amount, period_start, period_end,
                                        commitment_period_start, commitment_kind, commitment_value, consumed)
    SELECT * FROM true_up ORDER BY acct_no"#
);

/// The run's true-ups as (acct_no, period_start, amount): what SNAPSHOT_BALANCES and SETTLE_BALANCES read,
/// each from the table (a CTE shared by two writes would make Citus copy it to every node).
macro_rules! run_true_ups {
    () => {
        "(SELECT acct_no, commitment_period_start AS period_start, amount
          FROM backout.billing_record
          WHERE client_id = $1 AND billing_batch_id = $2 AND record_type = 'TRUE_UP')"
    };
}

/// Snapshot the balance buckets the true-ups settle, as they are before SETTLE_BALANCES (the next statement).
const SNAPSHOT_BALANCES: &str = concat!(
    r#"
    INSERT INTO backout.billing_balance_snapshot (client_id, billing_batch_id, acct_no, period_start,
                                                  balance_existed, true_up_amount, true_up_batch_id)
    SELECT $1, $2, t.acct_no, t.period_start, cb.acct_no IS NOT NULL, cb.true_up_amount, cb.true_up_batch_id
    FROM "#,
    run_true_ups!(),
    r#" AS t
    LEFT JOIN backout.commitment_balance cb
      ON cb.client_id = $1 AND cb.acct_no = t.acct_no AND cb.period_start = t.period_start"#
);

/// Settle the buckets with the run's true-ups.
const SETTLE_BALANCES: &str = concat!(
    r#"
    INSERT INTO backout.commitment_balance AS cb (client_id, acct_no, period_start, true_up_amount, true_up_batch_id)
    SELECT $1, t.acct_no, t.period_start, t.amount, $2 FROM "#,
    run_true_ups!(),
    r#" AS t
    ON CONFLICT (client_id, acct_no, period_start) DO UPDATE
       SET true_up_amount = excluded.true_up_amount, true_up_batch_id = excluded.true_up_batch_id,
           updated_at = excluded.updated_at  -- its default, now(): Citus takes no volatile call here"#
);

/// Each invoice's totals from its own lines (an index probe per invoice, so the cost is linear in the run's
/// invoices whatever the statistics say about them: a join with aggregated lines let stale estimates pick a
/// nested loop over every line per invoice), then the account's pointers.  The probe binds the lines' full
/// key (client, batch, invoice): whichever of billing_record's indexes the planner picks, it reads exactly
/// the invoice's lines (with the batch alone it walked every line of the run per invoice: quadratic).
const CLOSE_INVOICES_AND_ADVANCE: &str = r#"
    WITH invoices AS (
        UPDATE backout.invoice i
           SET (usage_amount, true_up_amount, total_amount) = (
                   SELECT t.usage_amount, t.true_up_amount, t.usage_amount + t.true_up_amount
                   FROM (SELECT coalesce(sum(r.amount) FILTER (WHERE r.record_type = 'USAGE_CHARGE'), 0) AS usage_amount,
                                coalesce(sum(r.amount) FILTER (WHERE r.record_type = 'TRUE_UP'), 0) AS true_up_amount
                         FROM backout.billing_record r
                         WHERE r.client_id = $1 AND r.billing_batch_id = $2 AND r.invoice_no = i.invoice_no) AS t)
         WHERE i.client_id = $1 AND i.billing_batch_id = $2)
    UPDATE backout.billing_profile bp
       SET last_bill_date = i.period_end, next_bill_date = backout.advance_bill_date(i.period_end, bp.bill_day)
      FROM backout.invoice i
     WHERE i.client_id = $1 AND i.billing_batch_id = $2
       AND bp.client_id = $1 AND bp.acct_no = i.acct_no"#;

/// The work item of the run's job schedule: its accounts billed (counted by a join: Citus runs a subquery in
/// an INSERT's select list as a statement of its own, and sends its result over a connection).
const RECORD_WORK_ITEM: &str = r#"
    INSERT INTO backout.job_schedule_item (client_id, job_schedule_id, item_type, status, work_units)
    SELECT $1, js.job_schedule_id, 'BILL_ACCOUNTS', 'COMPLETED', count(i.*)
    FROM backout.job_schedule js
    LEFT JOIN backout.invoice i ON i.client_id = js.client_id AND i.billing_batch_id = $2
    WHERE js.client_id = $1 AND js.billing_batch_id = $2
    GROUP BY js.job_schedule_id"#;

/// Its per-account work units, under the item just written: a statement of its own (an INSERT that read the
/// item from an INSERT in the same statement would be sent by Citus with the item's row to the nodes, and
/// committed with two-phase commit).
const RECORD_WORK_UNITS: &str = r#"
    WITH item AS MATERIALIZED (
        SELECT it.job_schedule_item_id
        FROM backout.job_schedule js
        JOIN backout.job_schedule_item it
          ON it.client_id = $1 AND it.job_schedule_id = js.job_schedule_id AND it.item_type = 'BILL_ACCOUNTS'
        WHERE js.client_id = $1 AND js.billing_batch_id = $2),
    run_invoice AS MATERIALIZED (SELECT * FROM backout.invoice WHERE client_id = $1 AND billing_batch_id = $2)
    INSERT INTO backout.job_schedule_list (client_id, job_schedule_item_id, acct_no, status, payload)
    SELECT $1, item.job_schedule_item_id, i.acct_no, 'COMPLETED',
           jsonb_build_object('acct_no', i.acct_no, 'invoice_no', i.invoice_no, 'billing_batch_id', i.billing_batch_id,
                              'period_start', i.period_start, 'period_end', i.period_end,
                              'usage_amount', i.usage_amount, 'true_up_amount', i.true_up_amount,
                              'total_amount', i.total_amount)
    FROM item
    CROSS JOIN run_invoice i
    ORDER BY i.acct_no"#;

const COMPLETE_BATCH: &str = r#"
    WITH job AS (
        UPDATE backout.job_schedule SET status = 'COMPLETED', updated_at = now()
         WHERE client_id = $1 AND billing_batch_id = $2)
    UPDATE backout.billing_batch b
       SET status = 'COMPLETED', completed_at = now(),
           accounts_billed = (SELECT count(*) FROM backout.invoice WHERE client_id = $1 AND billing_batch_id = $2),
           records_written = (SELECT count(*) FROM backout.billing_record WHERE client_id = $1 AND billing_batch_id = $2),
           total_amount = (SELECT coalesce(sum(total_amount), 0) FROM backout.invoice
                           WHERE client_id = $1 AND billing_batch_id = $2)
     WHERE b.client_id = $1 AND b.billing_batch_id = $2
    RETURNING accounts_billed, records_written, total_amount"#;

const BILLING_STEPS: [&str; 8] = [
    OPEN_INVOICES,
    BILL_USAGE,
    TRUE_UPS,
    SNAPSHOT_BALANCES,
    SETTLE_BALANCES,
    CLOSE_INVOICES_AND_ADVANCE,
    RECORD_WORK_ITEM,
    RECORD_WORK_UNITS,
];

struct Billed {
    batch_id: i64,
    billing_date: Date,
    accounts: i64,
    records: i64,
    total_amount: AnyNumeric,
}

pub fn parse_billing_date(text: Option<&str>, name: &str) -> Outcome<Date> {
    let text = required(text, name)?;
    parse_day(text).ok_or_else(|| {
        Rejection::invalid(format!("{name} {text:?} is not a date: use {DAY_FORMS}"))
    })
}

fn reject_existing_schedule(client_id: i64, day: Date) -> Outcome<()> {
    let existing = first_value::<String>(
        "SELECT format('%s, %s', job_type, status) FROM backout.job_schedule
         WHERE client_id = $1 AND schedule_date = $2::timestamp ORDER BY job_schedule_id LIMIT 1",
        &[client_id.into(), day.into()],
    );
    match existing {
        None => Ok(()),
        Some(job) => Err(Rejection::new(
            ALREADY_SCHEDULED,
            format!(
                "a job schedule already exists for client {client_id} on {} ({job}); \
                 undo that billing run (undo_job_schedule) or clear the schedule (clear_job_schedule) first",
                iso_day(day)
            ),
        )),
    }
}

fn reject_unpriced_true_up(client_id: i64, day: Date) -> Outcome<()> {
    // hashed: it joins the accounts due with their contracts, which a client loaded since the last
    // ANALYZE has the statistics take for one row each (PlanShape::CustomHashed)
    match first_value_planned::<String>(
        PlanShape::CustomHashed,
        UNPRICED_TRUE_UP,
        &[client_id.into(), day.into()],
    ) {
        None => Ok(()),
        Some(problem) => Err(Rejection::new(MISSING_PRICE, problem)),
    }
}

/// Every statement of the run is planned generically (PlanShape::Generic): estimates from the tables'
/// averages, not from the client's statistics.  A client the statistics have not seen (loaded since the
/// last ANALYZE) would otherwise be taken for one with no rows, and each of its usage rows joined with
/// all of its invoices, and each commitment summed over all of its usage, through an index that binds the
/// client alone (a 100,000-record run took minutes instead of seconds right after its load).
fn bill(client_id: i64, day: Date) -> Billed {
    let batch_id = with_plan(
        PlanShape::Generic,
        START_BATCH,
        &[client_id.into(), day.into()],
        |rows| rows.first().get_one::<i64>().expect("batch id"),
    )
    .expect("batch id");
    let args: [DatumWithOid; 3] = [client_id.into(), batch_id.into(), day.into()];
    for step in std::iter::once(&START_JOB).chain(BILLING_STEPS.iter()) {
        with_plan(PlanShape::Generic, step, &args, |_| ());
    }
    with_plan(PlanShape::Generic, COMPLETE_BATCH, &args, |rows| {
        let done = rows.first();
        Billed {
            batch_id,
            billing_date: day,
            accounts: done.get::<i64>(1).expect("accounts").unwrap_or(0),
            records: done.get::<i64>(2).expect("records").unwrap_or(0),
            total_amount: done
                .get::<AnyNumeric>(3)
                .expect("total")
                .unwrap_or_default(),
        }
    })
}

fn run(client_id: Option<i64>, billing_date: Option<&str>) -> Outcome<Billed> {
    let day = parse_billing_date(billing_date, "billing_date")?;
    let client_id = require_client(client_id, Level::Operator, "run_billing")?;
    locks::lock_client_exclusive(client_id);
    crate::billrun::reset::reject_pending_reset(client_id)?;
    reject_existing_schedule(client_id, day)?;
    reject_unpriced_true_up(client_id, day)?;
    Ok(bill(client_id, day))
}

/// Bill every account of the client whose next_bill_date is the billing date, in one transaction.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn run_billing(
    client_id: Option<i64>,
    billing_date: Option<&str>,
) -> TableIterator<
    'static,
    (
        name!(billing_batch_id, Option<i64>),
        name!(status, String),
        name!(accounts_billed, Option<i64>),
        name!(error_message, Option<String>),
        name!(error_code, Option<String>),
        name!(client_id, Option<i64>),
        name!(billing_date, Option<Date>),
        name!(records_written, Option<i64>),
        name!(total_amount, Option<AnyNumeric>),
    ),
> {
    crate::access::as_api(|| {
        TableIterator::once(match run(client_id, billing_date) {
            Ok(b) => (
                Some(b.batch_id),
                "COMPLETED".into(),
                Some(b.accounts),
                None,
                None,
                client_id,
                Some(b.billing_date),
                Some(b.records),
                Some(b.total_amount),
            ),
            Err(r) => (
                None,
                "ERROR".into(),
                Some(0),
                Some(r.message),
                Some(r.code.into()),
                client_id,
                None,
                Some(0),
                None,
            ),
        })
    })
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::*;

    #[pg_test]
    fn billing_date_accepts_the_two_forms_only() {
        assert!(parse_billing_date(Some("2026-04-01"), "billing_date").is_ok());
        assert!(parse_billing_date(Some("2026-04-01 00:00:00"), "billing_date").is_ok());
        let err = parse_billing_date(Some("04/01/2026"), "billing_date").unwrap_err();
        assert_eq!(err.code, crate::reply::INVALID_INPUT);
        assert!(
            err.message.contains("YYYY-MM-DD or YYYY-MM-DD HH:mm:ss"),
            "{}",
            err.message
        );
        assert_eq!(
            parse_billing_date(None, "billing_date")
                .unwrap_err()
                .message,
            "billing_date is required"
        );
    }
}
