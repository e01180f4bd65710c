//! Aria Core (SPEC §4.1): `discard_usage` excludes individual usage records with a reason, kept for audit,
//! never billed, out of the commitment balances.  Bad input is answered in Aria's form (error_code 1010 /
//! 1016 and a message naming the argument) and changes nothing; records that cannot be discarded are listed
//! in `failed_records` (23002 not found, 23003 billed, 23004 ambiguous client_record_id, 23005 already
//! discarded) while the others still are (23001 overall).
use crate::access::{self, as_owner, Level};
use crate::balances::{self, BUCKET_DELTAS, SUBTRACT_GONE};
use crate::dimensioned::Dimensioned;
use crate::locks;
use crate::raw_jsonb::RawJsonb;
use crate::reply::{first_value, read_value};
use pgrx::prelude::*;
use pgrx::JsonB;

const MAX_RECORDS: usize = 10_000;
const MISSING: i64 = 1010;
const INVALID: i64 = 1016;
const SOME_FAILED: i64 = 23001;

/// An answer in Aria's form.
struct AriaError {
    code: i64,
    message: String,
}

fn invalid(message: impl Into<String>) -> AriaError {
    AriaError {
        code: INVALID,
        message: message.into(),
    }
}

/// The records named by the call: one of the two arrays, non-empty, checked element by element.
enum Keys {
    RecordNos(Vec<i64>),
    ClientRecordIds(Vec<String>),
}

impl Keys {
    fn len(&self) -> usize {
        match self {
            Keys::RecordNos(v) => v.len(),
            Keys::ClientRecordIds(v) => v.len(),
        }
    }
}

/// An array argument's elements, refused when it has more than one dimension.
fn one_dimension<T>(
    array: Option<Dimensioned<T>>,
    field: &str,
) -> Result<Option<Vec<Option<T>>>, AriaError> {
    match array {
        Some(a) if a.ndims > 1 => Err(invalid(format!(
            "{field} must be a one-dimensional array, not {} dimensions",
            a.ndims
        ))),
        other => Ok(other.map(|a| a.values)),
    }
}

fn keys(
    usage_record_no: Option<Dimensioned<i64>>,
    client_record_id: Option<Dimensioned<String>>,
) -> Result<Keys, AriaError> {
    let nos = one_dimension(usage_record_no, "usage_record_no")?.filter(|v| !v.is_empty());
    let ids = one_dimension(client_record_id, "client_record_id")?.filter(|v| !v.is_empty());
    let given = |field: &str, len: usize| -> Result<(), AriaError> {
        if len > MAX_RECORDS {
            return Err(invalid(format!(
                "{field} names {len} records; at most {MAX_RECORDS} per call"
            )));
        }
        Ok(())
    };
    match (nos, ids) {
        (Some(nos), None) => {
            given("usage_record_no", nos.len())?;
            nos.into_iter()
                .enumerate()
                .map(|(i, no)| {
                    no.ok_or_else(|| invalid(format!("usage_record_no element {} is null", i + 1)))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Keys::RecordNos)
        }
        (None, Some(ids)) => {
            given("client_record_id", ids.len())?;
            ids.into_iter()
                .enumerate()
                .map(|(i, id)| match id {
                    None => Err(invalid(format!("client_record_id element {} is null", i + 1))),
                    Some(id) if id.is_empty() || id.chars().count() > 50 => Err(invalid(format!(
                        "client_record_id element {} must be 1 to 50 characters",
                        i + 1
                    ))),
                    Some(id) => Ok(id),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Keys::ClientRecordIds)
        }
        _ => Err(AriaError {
            code: MISSING,
            message: "missing required parameters: give exactly one of usage_record_no or client_record_id, not empty".into(),
        }),
    }
}

fn check_text(value: Option<&str>, field: &str, max: usize) -> Result<(), AriaError> {
    match value {
        Some(v) if v.chars().count() > max => {
            Err(invalid(format!("{field} is longer than {max} characters")))
        }
        _ => Ok(()),
    }
}

/// The first element of the qualifiers (1-based) that is not an object of strings, 0 when the value is
/// not an array at all, None when its shape is flat enough to read: checked in SQL, before the value is
/// parsed, so that no nesting depth can make the call raise instead of answer.
fn unreadable_qualifier(qualifiers: &RawJsonb) -> Option<i64> {
    read_value::<i64>(
        "SELECT CASE WHEN pg_catalog.jsonb_typeof($1) <> 'array' THEN 0
                     ELSE (SELECT min(e.n) FROM pg_catalog.jsonb_array_elements($1) WITH ORDINALITY AS e(v, n)
                           WHERE pg_catalog.jsonb_typeof(e.v) <> 'object'
                              OR EXISTS (SELECT FROM pg_catalog.jsonb_each(e.v) AS kv(k, x)
                                         WHERE pg_catalog.jsonb_typeof(kv.x) <> 'string')) END",
        &[qualifiers.as_arg()],
    )
}

/// Read the qualifiers once their shape is known to be flat: bad shapes answered in Aria's form.
fn read_qualifiers(qualifiers: Option<RawJsonb>) -> Result<Option<JsonB>, AriaError> {
    let Some(raw) = qualifiers else {
        return Ok(None);
    };
    let field = "optional_transaction_qualifiers";
    match unreadable_qualifier(&raw) {
        Some(0) => Err(invalid(format!(
            "{field} must be a JSON array of {{qualifier_name, qualifier_value}} objects"
        ))),
        Some(n) => Err(invalid(format!(
            "{field} element {n} must be an object with qualifier_name and qualifier_value only, both strings"
        ))),
        None => Ok(Some(raw.parse())),
    }
}

/// `[{qualifier_name, qualifier_value}, ...]`, names and values strings of at most 100 characters.
fn check_qualifiers(qualifiers: Option<&JsonB>) -> Result<(), AriaError> {
    let Some(JsonB(value)) = qualifiers else {
        return Ok(());
    };
    let field = "optional_transaction_qualifiers";
    let items = value.as_array().ok_or_else(|| {
        invalid(format!(
            "{field} must be a JSON array of {{qualifier_name, qualifier_value}} objects"
        ))
    })?;
    if items.len() > 100 {
        return Err(invalid(format!(
            "{field} has {} elements; at most 100",
            items.len()
        )));
    }
    for (i, item) in items.iter().enumerate() {
        let object = item
            .as_object()
            .filter(|o| o.keys().all(|k| k == "qualifier_name" || k == "qualifier_value"))
            .ok_or_else(|| invalid(format!("{field} element {} must be an object with qualifier_name and qualifier_value only", i + 1)))?;
        for key in ["qualifier_name", "qualifier_value"] {
            match object.get(key).and_then(|v| v.as_str()) {
                Some(text) if !text.is_empty() && text.chars().count() <= 100 => {}
                _ => {
                    return Err(invalid(format!(
                        "{field} element {} {key} must be a string of 1 to 100 characters",
                        i + 1
                    )))
                }
            }
        }
    }
    Ok(())
}

/// The request's records, resolved: `found(n, no, crid, txn_id, matches)` ($2 = record numbers).
const FOUND_BY_NO: &str = concat!(
    r#"
    req AS (SELECT DISTINCT ON (r.no) r.no, r.n FROM unnest($2::bigint[]) WITH ORDINALITY AS r(no, n)"#,
    crate::citus::on_the_clients_shard!(),
    r#"
            ORDER BY r.no, r.n),
    found AS (
        SELECT r.n, r.no, NULL::text AS crid, u.txn_id, (u.txn_id IS NOT NULL)::int AS matches
        FROM req r LEFT JOIN backout.usage_txn u ON u.client_id = $1 AND u.txn_id = r.no)"#
);

/// The same by client record id ($2 = client record ids): one failure per id matching several records.
const FOUND_BY_CRID: &str = concat!(
    r#"
    req AS (SELECT DISTINCT ON (r.crid) r.crid, r.n FROM unnest($2::text[]) WITH ORDINALITY AS r(crid, n)"#,
    crate::citus::on_the_clients_shard!(),
    r#"
            ORDER BY r.crid, r.n),
    found AS (
        SELECT r.n, NULL::bigint AS no, r.crid, u.txn_id, count(u.txn_id) OVER (PARTITION BY r.crid) AS matches
        FROM req r LEFT JOIN backout.usage_txn u ON u.client_id = $1 AND u.client_record_id = r.crid)"#
);

/// The files of the records to discard, so that their locks are taken (in name order) before any row.
const FILES: &str = r#"
    WITH {found}
    SELECT coalesce(array_agg(DISTINCT u.file_name) FILTER (WHERE u.file_name IS NOT NULL), '{}')
    FROM found f JOIN backout.usage_txn u ON u.client_id = $1 AND u.txn_id = f.txn_id
    WHERE f.matches = 1"#;

/// Lock the records, in txn_id order (two overlapping discards never deadlock).  A statement of its own,
/// before DISCARD: Citus cannot run a locking CTE inside the modifying statement.
const LOCK_RECORDS: &str = r#"
    WITH {found}
    SELECT u.txn_id FROM backout.usage_txn u
    WHERE u.client_id = $1 AND u.txn_id IN (SELECT f.txn_id FROM found f WHERE f.matches = 1)
    ORDER BY u.txn_id
    FOR UPDATE OF u"#;

/// Flag the unbilled, not yet excluded records (locked by LOCK_RECORDS), take their contribution out of the
/// balances.  Columns: discarded, emptied buckets (2), failures found here (not found, ambiguous), record
/// numbers left for the second look.  $3 = reason code, $4 = comment, $5 = excluded_by, $6 = qualifiers.
const DISCARD: &str = r#"
    WITH {found},
    gone AS (
        UPDATE backout.usage_txn u
           SET is_excluded = true, exclude_reason_cd = $3, exclusion_comment = $4, excluded_by = $5,
               excluded_at = now(), exclusion_qualifiers = $6
         WHERE u.client_id = $1 AND u.txn_id IN (SELECT f.txn_id FROM found f WHERE f.matches = 1)
           AND NOT u.is_excluded AND u.billing_batch_id IS NULL
        RETURNING u.txn_id, u.acct_no, u.usage_type_no, u.usage_date, u.units, u.amount, false AS is_excluded),
    {subtract}
    SELECT (SELECT count(*) FROM gone), {deltas},
           (SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'usage_record_no', f.no, 'client_record_id', f.crid,
                       'record_error_code', CASE WHEN f.matches = 0 THEN 23002 ELSE 23004 END,
                       'record_error_msg', CASE WHEN f.matches = 0 THEN 'usage record not found'
                                                ELSE format('client_record_id matches %s usage records', f.matches) END)
                       ORDER BY f.n), '[]'::jsonb)
            FROM (SELECT DISTINCT ON (n) * FROM found WHERE matches <> 1 ORDER BY n) f),
           (SELECT coalesce(array_agg(f.txn_id ORDER BY f.n), '{}') FROM found f
            WHERE f.matches = 1 AND f.txn_id NOT IN (SELECT g.txn_id FROM gone g)),
           (SELECT coalesce(array_agg(f.n ORDER BY f.n), '{}') FROM found f
            WHERE f.matches = 1 AND f.txn_id NOT IN (SELECT g.txn_id FROM gone g))"#;

/// Why the records left over were not discarded, as they are now ($2 = txn ids, $3 = request positions).
const LEFT_OVER: &str = r#"
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'usage_record_no', l.txn_id, 'client_record_id', u.client_record_id,
               'record_error_code', CASE WHEN u.txn_id IS NULL THEN 23002 WHEN u.billing_batch_id IS NOT NULL THEN 23003 ELSE 23005 END,
               'record_error_msg', CASE WHEN u.txn_id IS NULL THEN 'usage record not found'
                                        WHEN u.billing_batch_id IS NOT NULL THEN 'usage record is already billed'
                                        ELSE 'usage record is already discarded' END)
               ORDER BY l.n), '[]'::jsonb)
    FROM unnest($2::bigint[], $3::bigint[]) AS l(txn_id, n)
    LEFT JOIN backout.usage_txn u ON u.client_id = $1 AND u.txn_id = l.txn_id"#;

struct Discarded {
    discarded: i64,
    failed: serde_json::Value,
}

fn found_sql(keys: &Keys) -> &'static str {
    match keys {
        Keys::RecordNos(_) => FOUND_BY_NO,
        Keys::ClientRecordIds(_) => FOUND_BY_CRID,
    }
}

fn key_arg(keys: &Keys) -> pgrx::datum::DatumWithOid<'static> {
    match keys {
        Keys::RecordNos(v) => v.clone().into(),
        Keys::ClientRecordIds(v) => v.clone().into(),
    }
}

fn merge(mut a: serde_json::Value, b: serde_json::Value) -> serde_json::Value {
    if let (Some(a), serde_json::Value::Array(b)) = (a.as_array_mut(), b) {
        a.extend(b);
    }
    a
}

struct Request<'a> {
    keys: Keys,
    reason: Option<i64>,
    comment: Option<&'a str>,
    by: String,
    qualifiers: Option<JsonB>,
}

fn discard(client_id: i64, request: &Request) -> Discarded {
    let found = found_sql(&request.keys);
    locks::lock_client_shared(client_id);
    let files = first_value::<Vec<String>>(
        &FILES.replace("{found}", found),
        &[client_id.into(), key_arg(&request.keys)],
    )
    .unwrap_or_default();
    locks::lock_files(client_id, &files);
    Spi::run_with_args(
        &LOCK_RECORDS.replace("{found}", found),
        &[client_id.into(), key_arg(&request.keys)],
    )
    .expect("lock the records");
    let sql = DISCARD
        .replace("{found}", found)
        .replace("{subtract}", SUBTRACT_GONE)
        .replace("{deltas}", BUCKET_DELTAS);
    let args = [
        client_id.into(),
        key_arg(&request.keys),
        request.reason.map(|r| r as i32).into(),
        request.comment.into(),
        request.by.as_str().into(),
        request
            .qualifiers
            .as_ref()
            .map(|q| JsonB(q.0.clone()))
            .into(),
    ];
    let (count, deltas, failed, left_ids, left_n) = Spi::connect_mut(|spi| {
        let row = spi.update(&sql, None, &args).expect("discard").first();
        (
            row.get::<i64>(1).expect("discarded").unwrap_or(0),
            row.get::<JsonB>(2).expect("deltas"),
            row.get::<JsonB>(3)
                .expect("failures")
                .map(|j| j.0)
                .unwrap_or(serde_json::Value::Array(vec![])),
            row.get::<Vec<i64>>(4)
                .expect("left over")
                .unwrap_or_default(),
            row.get::<Vec<i64>>(5)
                .expect("positions")
                .unwrap_or_default(),
        )
    });
    let (accounts, periods) = balances::apply(client_id, deltas);
    balances::drop_emptied_buckets(client_id, &accounts, &periods);
    let left = if left_ids.is_empty() {
        serde_json::Value::Array(vec![])
    } else {
        first_value::<JsonB>(
            LEFT_OVER,
            &[client_id.into(), left_ids.into(), left_n.into()],
        )
        .map(|j| j.0)
        .unwrap_or(serde_json::Value::Array(vec![]))
    };
    Discarded {
        discarded: count,
        failed: merge(failed, left),
    }
}

fn check<'a>(
    usage_record_no: Option<Dimensioned<i64>>,
    client_record_id: Option<Dimensioned<String>>,
    exclusion_reason_cd: Option<i64>,
    exclusion_comment: Option<&'a str>,
    alt_caller_id: Option<&str>,
    qualifiers: Option<RawJsonb>,
) -> Result<Request<'a>, AriaError> {
    let keys = keys(usage_record_no, client_record_id)?;
    if exclusion_reason_cd.is_some_and(|r| !(0..=9999).contains(&r)) {
        return Err(invalid(
            "exclusion_reason_cd must be 0 to 9999 (at most 4 digits)",
        ));
    }
    check_text(exclusion_comment, "exclusion_comment", 300)?;
    check_text(alt_caller_id, "alt_caller_id", 30)?;
    if let Some(problem) = alt_caller_id.and_then(crate::ingest::invisible_char_problem) {
        return Err(invalid(format!("alt_caller_id {problem}")));
    }
    let qualifiers = read_qualifiers(qualifiers)?;
    check_qualifiers(qualifiers.as_ref())?;
    let by = match alt_caller_id.filter(|a| !a.trim().is_empty()) {
        Some(a) => a.to_owned(),
        None => read_value::<String>("SELECT session_user::text", &[]).unwrap_or_default(),
    };
    Ok(Request {
        keys,
        reason: exclusion_reason_cd,
        comment: exclusion_comment,
        by,
        qualifiers,
    })
}

fn require_client_no(client_no: Option<i64>) -> Result<i64, AriaError> {
    let client = client_no.ok_or_else(|| invalid("client_no is required"))?;
    access::require_client(Some(client), Level::Operator, "discard_usage")
        .map_err(|_| invalid(format!("client_no {client} does not exist")))
}

/// The call's audit row (as the owner), with at most 1,000 failures.
fn record_discard(
    client_id: i64,
    request: Option<&Request>,
    answer: &(i64, String, Option<JsonB>),
    counts: (i64, i64, i64),
) {
    let failed = answer.2.as_ref().map(|j| match &j.0 {
        serde_json::Value::Array(a) if a.len() > 1000 => {
            JsonB(serde_json::Value::Array(a[..1000].to_vec()))
        }
        other => JsonB(other.clone()),
    });
    let by = request
        .map(|r| r.by.clone())
        .or_else(|| read_value::<String>("SELECT session_user::text", &[]))
        .unwrap_or_default();
    let role = access::role_name(access::caller()).unwrap_or_default();
    as_owner(|| {
        Spi::run_with_args(
            "INSERT INTO backout.discard_request (client_id, requested_by, role_name, records_requested, records_discarded,
                                                  records_failed, exclusion_reason_cd, exclusion_comment, qualifiers,
                                                  failed_records, error_code, error_msg)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                client_id.into(),
                by.into(),
                role.into(),
                counts.0.into(),
                counts.1.into(),
                counts.2.into(),
                request.and_then(|r| r.reason).map(|r| r as i32).into(),
                crate::reply::for_audit(request.and_then(|r| r.comment)).into(),
                request.and_then(|r| r.qualifiers.as_ref()).map(|q| JsonB(q.0.clone())).into(),
                failed.into(),
                answer.0.into(),
                answer.1.clone().into(),
            ],
        )
        .expect("record discard")
    });
}

/// Discard usage records (exclude them from billing and balances, keep them flagged for audit).
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
#[allow(clippy::too_many_arguments)]
fn discard_usage(
    client_no: Option<i64>,
    usage_record_no: default!(Option<Dimensioned<i64>>, "NULL"),
    client_record_id: default!(Option<Dimensioned<String>>, "NULL"),
    exclusion_reason_cd: default!(Option<i64>, "NULL"),
    exclusion_comment: default!(Option<&str>, "NULL"),
    alt_caller_id: default!(Option<&str>, "NULL"),
    optional_transaction_qualifiers: default!(Option<RawJsonb>, "NULL"),
    dry_run: default!(Option<bool>, false),
) -> TableIterator<
    'static,
    (
        name!(error_code, i64),
        name!(error_msg, String),
        name!(failed_records, Option<JsonB>),
    ),
> {
    crate::access::as_api(|| {
        let dry_run = dry_run.unwrap_or(false);
        let checked = check(
            usage_record_no,
            client_record_id,
            exclusion_reason_cd,
            exclusion_comment,
            alt_caller_id,
            optional_transaction_qualifiers,
        );
        let client = require_client_no(client_no);
        let (answer, request, counts) = match (checked, client) {
            (Err(e), _) | (Ok(_), Err(e)) => ((e.code, e.message, None), None, (0, 0, 0)),
            (Ok(request), Ok(client)) => {
                let requested = request.keys.len() as i64;
                // a dry run does the work in a subtransaction it always rolls back: the same answer, nothing kept
                let done = if dry_run {
                    crate::batches::rolled_back(|| discard(client, &request))
                } else {
                    discard(client, &request)
                };
                let failed = done.failed.as_array().map_or(0, Vec::len) as i64;
                let answer = if failed == 0 {
                    (0, "OK".to_owned(), None)
                } else {
                    (
                    SOME_FAILED,
                    format!("{failed} of {requested} usage records could not be discarded; see failed_records"),
                    Some(JsonB(done.failed)),
                )
                };
                (answer, Some(request), (requested, done.discarded, failed))
            }
        };
        if let Some(client) = client_no.filter(|c| !dry_run && access::may_file_under(*c)) {
            record_discard(client, request.as_ref(), &answer, counts);
        }
        TableIterator::once(answer)
    })
}

// ---------------------------------------------------------------------------------------------------
// get_usage_history

const ACCOUNT_NOT_FOUND: i64 = 1009;

/// The filters of a history request, checked.
struct History {
    client_id: i64,
    acct_no: i64,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    usage_type_no: Option<i64>,
    qualifiers: [Option<Vec<String>>; 4],
    limit: Option<i64>,
    offset: i64,
    invoice_no: Option<i64>,
    with_excluded: bool,
    client_record_id: Option<String>,
    billed_filter: i64,
    /// Keyset paging: the page starts after this record (its number and usage date).
    after: Option<(i64, Timestamp)>,
}

/// `YYYY-MM-DD` (then `time` of that day) or `YYYY-MM-DD HH:mm:ss`.
fn history_bound(
    text: Option<&str>,
    field: &str,
    end: bool,
) -> Result<Option<Timestamp>, AriaError> {
    let Some(text) = text else { return Ok(None) };
    let bad = || {
        invalid(format!(
            "{field} {text:?} is not a date: use YYYY-MM-DD or YYYY-MM-DD HH:mm:ss"
        ))
    };
    let parts = if text.len() == 10 {
        let day = crate::dates::parse_day(text).ok_or_else(bad)?;
        let (h, m, s) = if end { (23, 59, 59) } else { (0, 0, 0) };
        (day.year() as isize, day.month(), day.day(), h, m, s)
    } else {
        let p = crate::dates::parse_date_time(text).ok_or_else(bad)?;
        (p.year as isize, p.month, p.day, p.hour, p.minute, p.second)
    };
    Ok(Some(Timestamp::new_unchecked(
        parts.0,
        parts.1,
        parts.2,
        parts.3,
        parts.4,
        f64::from(parts.5),
    )))
}

fn qualifier_list(
    list: Option<Vec<Option<String>>>,
    field: &str,
) -> Result<Option<Vec<String>>, AriaError> {
    let Some(list) = list else { return Ok(None) };
    list.into_iter()
        .enumerate()
        .map(|(i, q)| match q {
            Some(q) if q.chars().count() <= 300 => Ok(q),
            Some(_) => Err(invalid(format!(
                "{field} element {} is longer than 300 characters",
                i + 1
            ))),
            None => Err(invalid(format!("{field} element {} is null", i + 1))),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The account of the request, by number or client id, of the client.
fn history_account(
    client_id: i64,
    acct_no: Option<i64>,
    client_acct_id: Option<&str>,
) -> Result<i64, AriaError> {
    match (acct_no, client_acct_id) {
        (None, None) => Err(AriaError {
            code: MISSING,
            message: "missing required parameters: acct_no or client_acct_id".into(),
        }),
        (Some(_), Some(_)) => Err(invalid("give acct_no or client_acct_id, not both")),
        (Some(no), None) => read_value::<i64>(
            "SELECT acct_no FROM backout.account WHERE client_id = $1 AND acct_no = $2",
            &[client_id.into(), no.into()],
        )
        .ok_or_else(|| AriaError {
            code: ACCOUNT_NOT_FOUND,
            message: format!("account does not exist (acct_no {no})"),
        }),
        (None, Some(id)) => {
            if id.chars().count() > 50 {
                return Err(invalid("client_acct_id is longer than 50 characters"));
            }
            read_value::<i64>(
                "SELECT acct_no FROM backout.account WHERE client_id = $1 AND client_acct_id = $2",
                &[client_id.into(), id.into()],
            )
            .ok_or_else(|| AriaError {
                code: ACCOUNT_NOT_FOUND,
                message: format!("account does not exist (client_acct_id {id:?})"),
            })
        }
    }
}

fn history_usage_type(
    client_id: i64,
    no: Option<i64>,
    code: Option<&str>,
) -> Result<Option<i64>, AriaError> {
    match (no, code) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(invalid("give specified_usage_type_no or specified_usage_type_code, not both")),
        (Some(no), None) => Ok(Some(no)),
        (None, Some(code)) => read_value::<i64>(
            "SELECT usage_type_no FROM backout.usage_type WHERE client_id = $1 AND usage_type_code = $2",
            &[client_id.into(), code.into()],
        )
        .map(Some)
        .ok_or_else(|| invalid(format!("specified_usage_type_code {code:?} does not exist"))),
    }
}

/// One query's WHERE over `u` (usage_txn), shared by the count and the page.
const HISTORY_WHERE: &str = r#"
    u.client_id = $1 AND u.acct_no = $2
    AND ($3::timestamp IS NULL OR u.usage_date >= $3) AND ($4::timestamp IS NULL OR u.usage_date <= $4)
    AND ($5::bigint IS NULL OR u.usage_type_no = $5)
    AND ($6::text[] IS NULL OR u.qualifier_1 = ANY ($6)) AND ($7::text[] IS NULL OR u.qualifier_2 = ANY ($7))
    AND ($8::text[] IS NULL OR u.qualifier_3 = ANY ($8)) AND ($9::text[] IS NULL OR u.qualifier_4 = ANY ($9))
    AND ($10::bigint IS NULL OR u.invoice_no = $10)
    AND ($11 OR NOT u.is_excluded)
    AND ($12::text IS NULL OR u.client_record_id = $12)
    AND CASE $13::bigint WHEN 1 THEN u.invoice_no IS NOT NULL WHEN 2 THEN u.invoice_no IS NULL ELSE true END"#;

/// The page's records as jsonb, in order, from the record numbers of `page`.
const PAGE_JSON: &str = r#"
           (SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'billable_acct_no', p.acct_no, 'incurring_acct_no', p.acct_no,
                       'client_billable_acct_id', a.client_acct_id, 'client_incurring_acct_id', a.client_acct_id,
                       'usage_type_no', p.usage_type_no, 'usage_type_description', t.name, 'usage_type_code', t.usage_type_code,
                       'usage_date', to_char(p.usage_date, 'YYYY-MM-DD'), 'usage_time', to_char(p.usage_date, 'HH24:MI:SS'),
                       'units', p.units, 'units_description', t.unit, 'invoice_no', p.invoice_no,
                       'specific_record_charge_amount', p.amount, 'is_excluded', p.is_excluded,
                       'exclude_reason_cd', p.exclude_reason_cd, 'exclusion_comments', p.exclusion_comment,
                       'qualifier_1', p.qualifier_1, 'qualifier_2', p.qualifier_2, 'qualifier_3', p.qualifier_3,
                       'qualifier_4', p.qualifier_4, 'usage_rec_no', p.txn_id, 'client_record_id', p.client_record_id)
                       ORDER BY p.usage_date, p.txn_id), '[]'::jsonb)
            FROM (SELECT u.txn_id FROM backout.usage_txn u WHERE {where}
                    AND u.usage_date >= {page_from}
                    AND ($16::bigint IS NULL OR (u.usage_date, u.txn_id) > ($17::timestamp, $16))
                  ORDER BY u.usage_date, u.txn_id LIMIT $14 OFFSET {page_skip}) page
            JOIN backout.usage_txn p ON p.client_id = $1 AND p.txn_id = page.txn_id
            JOIN backout.account a ON a.client_id = $1 AND a.acct_no = p.acct_no
            JOIN backout.usage_type t ON t.client_id = $1 AND t.usage_type_no = p.usage_type_no)"#;

/// Any filter: count the matching records one by one, page by OFFSET.
const HISTORY_BY_RECORDS: &str = r#"
    SELECT (SELECT count(*) FROM backout.usage_txn u WHERE {where}), {page}"#;

/// Filters that usage_day_count keeps apart (dates, usage type, billed, excluded): the whole days inside
/// [from, to] are counted by summing their day counts, only the records of the partial days at either end
/// one by one.  The page starts at the day its first record falls in, so a deep OFFSET walks the records of
/// that day and at most the partial day after it, not every record before it.  (Keyset pages start where the key says.)
const HISTORY_BY_DAYS: &str = r#"
    WITH days AS MATERIALIZED (
        SELECT d.usage_day, sum(d.records)::bigint AS n
        FROM backout.usage_day_count d
        WHERE d.client_id = $1 AND d.acct_no = $2 AND d.usage_day >= {lo} AND d.usage_day < {hi}
          AND ($5::bigint IS NULL OR d.usage_type_no = $5) AND ($11 OR NOT d.is_excluded)
          AND CASE $13::bigint WHEN 1 THEN d.billed WHEN 2 THEN NOT d.billed ELSE true END
        GROUP BY d.usage_day HAVING sum(d.records) <> 0),
    edges AS MATERIALIZED (
        SELECT (SELECT count(*) FROM backout.usage_txn u WHERE {where} AND u.usage_date < {lo}) AS before,
               (SELECT count(*) FROM backout.usage_txn u WHERE {where} AND u.usage_date >= greatest({lo}, {hi})) AS after),
    day_starts AS (
        SELECT d.usage_day::timestamp AS at, ((SELECT before FROM edges) + sum(d.n) OVER (ORDER BY d.usage_day) - d.n)::bigint AS skipped
        FROM days d),
    start AS MATERIALIZED (
        SELECT s.at, $15 - s.skipped AS skip
        FROM (SELECT $3::timestamp AS at, 0::bigint AS skipped UNION ALL SELECT at, skipped FROM day_starts) s
        WHERE s.skipped <= $15 AND ($16::bigint IS NULL OR s.at = $3)
        ORDER BY s.skipped DESC, s.at DESC
        LIMIT 1)
    SELECT (SELECT before + after FROM edges) + (SELECT coalesce(sum(n), 0) FROM days)::bigint, {page}"#;

/// The first whole day at or after `from`, and the day after the last whole day up to `to` (inclusive,
/// to the microsecond).
const WHOLE_DAYS_FROM: &str = "CASE WHEN $3 = date_trunc('day', $3) THEN $3 ELSE date_trunc('day', $3) + interval '1 day' END";
const WHOLE_DAYS_TO: &str =
    "coalesce(date_trunc('day', $4 + interval '1 microsecond'), 'infinity'::timestamp)";

impl History {
    /// Whether every filter is one that usage_day_count keeps apart.
    fn countable_by_day(&self) -> bool {
        self.from.is_some()
            && self.qualifiers.iter().all(Option::is_none)
            && self.invoice_no.is_none()
            && self.client_record_id.is_none()
    }

    fn sql(&self) -> String {
        let (query, page_from, page_skip) = if self.countable_by_day() {
            (
                HISTORY_BY_DAYS,
                "(SELECT at FROM start)",
                "(SELECT skip FROM start)",
            )
        } else {
            (HISTORY_BY_RECORDS, "'-infinity'::timestamp", "$15")
        };
        query
            .replace("{page}", PAGE_JSON)
            .replace("{page_from}", page_from)
            .replace("{page_skip}", page_skip)
            .replace("{where}", HISTORY_WHERE)
            .replace("{lo}", WHOLE_DAYS_FROM)
            .replace("{hi}", WHOLE_DAYS_TO)
    }
}

fn history(h: &History) -> (i64, JsonB) {
    let sql = h.sql();
    let [q1, q2, q3, q4] = h.qualifiers.clone();
    crate::reply::read(|spi| {
        let row = spi
            .select(
                &sql,
                Some(1),
                &[
                    h.client_id.into(),
                    h.acct_no.into(),
                    h.from.into(),
                    h.to.into(),
                    h.usage_type_no.into(),
                    q1.into(),
                    q2.into(),
                    q3.into(),
                    q4.into(),
                    h.invoice_no.into(),
                    h.with_excluded.into(),
                    h.client_record_id.clone().into(),
                    h.billed_filter.into(),
                    h.limit.into(),
                    h.offset.into(),
                    h.after.map(|a| a.0).into(),
                    h.after.map(|a| a.1).into(),
                ],
            )
            .expect("usage history")
            .first();
        (
            row.get::<i64>(1).expect("count").unwrap_or(0),
            row.get::<JsonB>(2)
                .expect("records")
                .unwrap_or(JsonB(serde_json::Value::Array(vec![]))),
        )
    })
}

#[allow(clippy::too_many_arguments)]
fn check_history(
    client_no: Option<i64>,
    acct_no: Option<i64>,
    client_acct_id: Option<&str>,
    specified_usage_type_no: Option<i64>,
    specified_usage_type_code: Option<&str>,
    date_range_start: Option<&str>,
    date_range_end: Option<&str>,
    qualifiers: [Option<Vec<Option<String>>>; 4],
    limit_records: Option<i64>,
    offset_records: Option<i64>,
    invoice_no: Option<i64>,
    retrieve_excluded_usage: Option<&str>,
    client_record_id: Option<&str>,
    billed_filter: Option<i64>,
    after_usage_rec_no: Option<i64>,
) -> Result<History, AriaError> {
    let client = client_no.ok_or_else(|| invalid("client_no is required"))?;
    let billed_filter = billed_filter.unwrap_or(0);
    if !(0..=2).contains(&billed_filter) {
        return Err(invalid(
            "billed_filter must be 0 (all), 1 (billed) or 2 (unbilled)",
        ));
    }
    let with_excluded = match retrieve_excluded_usage
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(invalid("retrieve_excluded_usage must be 'true' or 'false'")),
    };
    if limit_records.is_some_and(|l| l < 0) || offset_records.is_some_and(|o| o < 0) {
        return Err(invalid(
            "limit_records and offset_records must not be negative",
        ));
    }
    if client_record_id.is_some_and(|c| c.chars().count() > 100) {
        return Err(invalid("client_record_id is longer than 100 characters"));
    }
    let from = history_bound(date_range_start, "date_range_start", false)?;
    let to = history_bound(date_range_end, "date_range_end", true)?;
    if from.is_none() && invoice_no.is_none() {
        return Err(AriaError {
            code: MISSING,
            message: "missing required parameters: date_range_start (or invoice_no)".into(),
        });
    }
    let [q1, q2, q3, q4] = qualifiers;
    let qualifiers = [
        qualifier_list(q1, "usage_qualifier_1")?,
        qualifier_list(q2, "usage_qualifier_2")?,
        qualifier_list(q3, "usage_qualifier_3")?,
        qualifier_list(q4, "usage_qualifier_4")?,
    ];
    let client_id = access::require_client(Some(client), Level::Reader, "get_usage_history")
        .map_err(|_| invalid(format!("client_no {client} does not exist")))?;
    let acct_no = history_account(client_id, acct_no, client_acct_id)?;
    let usage_type_no = history_usage_type(
        client_id,
        specified_usage_type_no,
        specified_usage_type_code,
    )?;
    let after = match after_usage_rec_no {
        None => None,
        Some(no) => Some((
            no,
            read_value::<Timestamp>(
                "SELECT usage_date FROM backout.usage_txn WHERE client_id = $1 AND acct_no = $2 AND txn_id = $3",
                &[client_id.into(), acct_no.into(), no.into()],
            )
            .ok_or_else(|| {
                invalid(format!(
                    "after_usage_rec_no {no} is not a usage record of this account"
                ))
            })?,
        )),
    };
    Ok(History {
        client_id,
        acct_no,
        from,
        to,
        usage_type_no,
        qualifiers,
        limit: limit_records,
        offset: offset_records.unwrap_or(0),
        invoice_no,
        with_excluded,
        client_record_id: client_record_id.map(str::to_owned),
        billed_filter,
        after,
    })
}

/// An account's usage history, filtered and paged (read-only, one query).
// Parallel restricted, not safe: a refused call records its refusal (a write), which a parallel worker cannot do.
#[pg_extern(stable, parallel_restricted)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
#[allow(clippy::too_many_arguments)]
fn get_usage_history(
    client_no: Option<i64>,
    acct_no: default!(Option<i64>, "NULL"),
    client_acct_id: default!(Option<&str>, "NULL"),
    specified_usage_type_no: default!(Option<i64>, "NULL"),
    specified_usage_type_code: default!(Option<&str>, "NULL"),
    date_range_start: default!(Option<&str>, "NULL"),
    date_range_end: default!(Option<&str>, "NULL"),
    usage_qualifier_1: default!(Option<Vec<Option<String>>>, "NULL"),
    usage_qualifier_2: default!(Option<Vec<Option<String>>>, "NULL"),
    usage_qualifier_3: default!(Option<Vec<Option<String>>>, "NULL"),
    usage_qualifier_4: default!(Option<Vec<Option<String>>>, "NULL"),
    limit_records: default!(Option<i64>, "NULL"),
    offset_records: default!(Option<i64>, "NULL"),
    invoice_no: default!(Option<i64>, "NULL"),
    retrieve_excluded_usage: default!(Option<&str>, "'false'"),
    client_record_id: default!(Option<&str>, "NULL"),
    billed_filter: default!(Option<i64>, 0),
    after_usage_rec_no: default!(Option<i64>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(error_code, i64),
        name!(error_msg, String),
        name!(usage_history_recs, Option<JsonB>),
        name!(filtered_usage_count, Option<i64>),
    ),
> {
    crate::access::as_api(|| {
        let checked = check_history(
            client_no,
            acct_no,
            client_acct_id,
            specified_usage_type_no,
            specified_usage_type_code,
            date_range_start,
            date_range_end,
            [
                usage_qualifier_1,
                usage_qualifier_2,
                usage_qualifier_3,
                usage_qualifier_4,
            ],
            limit_records,
            offset_records,
            invoice_no,
            retrieve_excluded_usage,
            client_record_id,
            billed_filter,
            after_usage_rec_no,
        );
        TableIterator::once(match checked {
            Ok(h) => {
                let (count, records) = history(&h);
                (0, "OK".to_owned(), Some(records), Some(count))
            }
            Err(e) => (e.code, e.message, None, None),
        })
    })
}
