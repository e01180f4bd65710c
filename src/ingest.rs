//! The usage pipeline, and usage files through it: `process_usage_file` (records as a jsonb array) and
//! `process_staged_usage_file` (rows COPYed into `backout.usage_staging`); usage events
//! (`usage_events.rs`) run through the same stages.  One set-based statement per step, over a relation of
//! text records (`src`, from a source):
//!   source -> typed and resolved records (`resolved`) -> every record's problem (`checked`) -> insert
//!   (`ins`) -> balance deltas (`balances.rs`) -> a result per source (a file's stats row; events' answers).
//! A file is all or nothing (its first problem rejects it); events are posted or erred one by one.
use crate::access::{require_client, Level};
use crate::locks;
use crate::raw_jsonb::RawJsonb;
use crate::reply::{draw_ids, first_value, required, with_plan, Outcome, PlanShape, Rejection};
use pgrx::prelude::*;

pub const DUPLICATE_FILE: &str = "DUPLICATE_FILE";
const MAX_FILE_NAME: usize = 255;

/// Where records come from, and how the statements that read them are planned.  Every source gives the
/// same columns: record_no, record_id, acct_no, client_acct_id, usage_type_code, usage_date, units,
/// client_record_id, qualifier_1..4, reference_id, sequence_id, usage_uom, sid (all text as given),
/// shape_error, and how its problems are worded: event (an event, not a file record), account_key,
/// date_key, units_key (the names of its keys).
pub struct Source {
    pub sql: &'static str,
    pub shape: PlanShape,
}

/// The columns a file record does not have, and the names of its keys.
macro_rules! file_columns {
    () => {
        "NULL::text AS reference_id, NULL::text AS sequence_id, NULL::text AS usage_uom,
           false AS event, 'client_acct_id' AS account_key, 'usage_date' AS date_key, 'units' AS units_key"
    };
}

/// Records of a jsonb array: one row per element; `shape_error` flags non-objects and unknown keys.
const JSON_SOURCE: Source = Source {
    sql: JSON_RECORDS,
    shape: PlanShape::Generic,
};
const JSON_RECORDS: &str = concat!(
    r#"
    SELECT r.ord AS record_no,
           r.e->>'record_id' AS record_id, r.e->>'acct_no' AS acct_no, r.e->>'client_acct_id' AS client_acct_id,
           r.e->>'usage_type_code' AS usage_type_code, r.e->>'usage_date' AS usage_date, r.e->>'units' AS units,
           r.e->>'client_record_id' AS client_record_id,
           r.e->>'qualifier_1' AS qualifier_1, r.e->>'qualifier_2' AS qualifier_2,
           r.e->>'qualifier_3' AS qualifier_3, r.e->>'qualifier_4' AS qualifier_4, r.e->>'sid' AS sid,
           CASE WHEN jsonb_typeof(r.e) <> 'object' THEN 'is not a JSON object'
                -- every key known (the usual record): settled without a subquery per record
                WHEN r.e - ARRAY['record_id', 'acct_no', 'client_acct_id', 'usage_type_code', 'usage_date', 'units',
                                 'client_record_id', 'qualifier_1', 'qualifier_2', 'qualifier_3', 'qualifier_4', 'sid']
                     = '{}'::jsonb THEN NULL
                ELSE (SELECT format('has unknown key "%s"', k) FROM jsonb_object_keys(r.e) AS k
                      WHERE k <> ALL (ARRAY['record_id', 'acct_no', 'client_acct_id', 'usage_type_code',
                                            'usage_date', 'units', 'client_record_id', 'qualifier_1',
                                            'qualifier_2', 'qualifier_3', 'qualifier_4', 'sid'])
                      ORDER BY k LIMIT 1)
           END AS shape_error,
           "#,
    file_columns!(),
    r#"
    FROM jsonb_array_elements($3) WITH ORDINALITY AS r(e, ord)"#,
    crate::citus::on_the_clients_shard!()
);

/// Records staged for a file, in the order they were COPYed: the rows seen when the call started ($3 =
/// their staging ids), so that rows COPYed meanwhile are neither ingested unchecked nor deleted unread.
/// Joined with the ids, not filtered by `= ANY ($3)`: in the generic plan the array is a parameter, which
/// PostgreSQL 15 does not hash, so the filter compared every staged row with every id (200,000 x 200,000
/// for a big first file on a fresh install).  The join is pinned to a hash (PlanShape::GenericHashed): on a
/// staging table never analyzed the planner takes the file's rows for one and would rescan the ids once per
/// row.  Costs a hash of the client's accounts per file (about 2 ms for 10,000 accounts).
const STAGING_SOURCE: Source = Source {
    sql: STAGING_RECORDS,
    shape: PlanShape::GenericHashed,
};
const STAGING_RECORDS: &str = concat!(
    r#"
    SELECT row_number() OVER (ORDER BY s.staging_id) AS record_no,
           s.record_id, s.acct_no, s.client_acct_id, s.usage_type_code, s.usage_date, s.units,
           s.client_record_id, s.qualifier_1, s.qualifier_2, s.qualifier_3, s.qualifier_4, s.sid,
           NULL::text AS shape_error,
           "#,
    file_columns!(),
    r#"
    FROM pg_catalog.unnest($3::bigint[]) AS seen(staging_id)
    JOIN backout.usage_staging s ON s.client_id = $1 AND s.file_name = $2 AND s.staging_id = seen.staging_id"#
);

/// The rows of relation `$from` (record_no, usage_type_no, res_acct_no, usage_ts, ...) with the price in
/// force on their usage day (`price_offer_id`, `unit_price`; NULL when none), for client $1:
/// backout.price_offer_in_force's rule (the account's custom price if any, else the standard one; of those
/// the latest effective_from on or before the usage day) as two joins on (usage type, account) that can be
/// hashed, then the best version per record: set-based, so that no statistics can turn it into a scan of
/// the price table per record (as the per-record lookup did on a price table analyzed while it was empty).
/// Ingest rates with it, and reset_lines re-rates with it.
macro_rules! price_in_force {
    ($from:literal) => {
        concat!(
            r#"
        SELECT DISTINCT ON (r.record_no) r.*,
               coalesce(custom.price_offer_id, standard.price_offer_id) AS price_offer_id,
               coalesce(custom.unit_price, standard.unit_price) AS unit_price
        FROM "#,
            $from,
            r#" r
        LEFT JOIN backout.price_offer custom
          ON custom.client_id = $1 AND custom.usage_type_no = r.usage_type_no AND custom.acct_no = r.res_acct_no
         AND custom.effective_from <= CAST(r.usage_ts AS date)
        LEFT JOIN backout.price_offer standard
          ON standard.client_id = $1 AND standard.usage_type_no = r.usage_type_no AND standard.acct_no IS NULL
         AND standard.effective_from <= CAST(r.usage_ts AS date)
        ORDER BY r.record_no, custom.effective_from DESC NULLS LAST, standard.effective_from DESC NULLS LAST"#
        )
    };
}
pub(crate) use price_in_force;

/// Typed values and resolved references of every record ($1 = client_id); NULL where a value is invalid.
/// A file's usage_date is a date and time; an event's start_time may be a day alone (its midnight).
pub const RESOLVE: &str = concat!(
    r#"
    parsed AS (
        SELECT s.*, coalesce(s.record_id, s.record_no::text) AS record_key,
               CASE WHEN s.acct_no ~ '^[0-9]{1,18}$' THEN s.acct_no::bigint END AS acct_no_num,
               coalesce(backout.parse_usage_timestamp(s.usage_date),
                        CASE WHEN s.event THEN backout.parse_usage_timestamp(s.usage_date || ' 00:00:00') END) AS usage_ts,
               CASE WHEN s.units ~ '^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?$'
                    THEN s.units::numeric END AS units_num,
               CASE WHEN s.sid ~ '^[0-9]{1,18}$' THEN s.sid::bigint END AS sid_num
        FROM src s),
    referenced AS (
        SELECT p.*, by_no.acct_no AS by_no, by_id.acct_no AS by_id,
               coalesce(by_no.acct_no, by_id.acct_no) AS res_acct_no, ut.usage_type_no, ut.unit
        FROM parsed p
        LEFT JOIN backout.account by_no ON by_no.client_id = $1 AND by_no.acct_no = p.acct_no_num
        LEFT JOIN backout.account by_id ON by_id.client_id = $1 AND by_id.client_acct_id = p.client_acct_id
        LEFT JOIN backout.usage_type ut ON ut.client_id = $1 AND ut.usage_type_code = p.usage_type_code),
    resolved AS ("#,
    price_in_force!("referenced"),
    ")"
);

/// Every record with its problem (the first rule it breaks), NULL when it is good: the one list of rules
/// for files and events.
pub const CHECK: &str = r#"
    checked AS (
        SELECT r.*,
               CASE
                 WHEN r.shape_error IS NOT NULL THEN r.shape_error
                 WHEN r.record_id = '' OR length(r.record_id) > 100 THEN 'has a record_id that is empty or longer than 100 characters'
                 -- (an event's key is its position, unique: events are neither sorted by it nor checked)
                 WHEN NOT r.event AND r.record_no > min(r.record_no) OVER (PARTITION BY CASE WHEN NOT r.event THEN r.record_key END COLLATE "C")
                   THEN format('repeats the record_id of record %s', min(r.record_no) OVER (PARTITION BY CASE WHEN NOT r.event THEN r.record_key END COLLATE "C"))
                 WHEN r.event AND r.reference_id IS NULL THEN 'is missing key "reference_id"'
                 WHEN r.event AND (r.reference_id = '' OR length(r.reference_id) > 255) THEN 'has a reference_id that is empty or longer than 255 characters'
                 WHEN r.event AND r.sequence_id IS NULL THEN 'is missing key "sequence_id"'
                 WHEN r.event AND (r.sequence_id = '' OR length(r.sequence_id) > 255) THEN 'has a sequence_id that is empty or longer than 255 characters'
                 WHEN r.acct_no IS NULL AND r.client_acct_id IS NULL
                   THEN CASE WHEN r.event THEN 'is missing key "service_resource_identifier"' ELSE 'is missing key "acct_no" (or "client_acct_id")' END
                 WHEN r.acct_no IS NOT NULL AND r.acct_no_num IS NULL THEN format('has acct_no %L, which is not an account number', r.acct_no)
                 WHEN r.acct_no IS NOT NULL AND r.by_no IS NULL THEN format('names unknown account acct_no %s', r.acct_no)
                 WHEN r.client_acct_id IS NOT NULL AND r.by_id IS NULL THEN format('names unknown account %s %L', r.account_key, r.client_acct_id)
                 WHEN r.by_no <> r.by_id THEN format('has acct_no %s and client_acct_id %L, which name different accounts', r.acct_no, r.client_acct_id)
                 WHEN r.usage_type_code IS NULL THEN 'is missing key "usage_type_code"'
                 WHEN r.usage_type_no IS NULL THEN format('names unknown usage_type_code %L', r.usage_type_code)
                 WHEN r.usage_uom IS NOT NULL AND r.usage_uom IS DISTINCT FROM r.unit
                   THEN format('has usage_uom %L, but usage type %L is measured in %L', r.usage_uom, r.usage_type_code, r.unit)
                 WHEN r.usage_date IS NULL THEN format('is missing key "%s"', r.date_key)
                 WHEN r.usage_ts IS NULL
                   THEN format('has %s %L, expected %s', r.date_key, r.usage_date,
                               CASE WHEN r.event THEN 'YYYY-MM-DD or YYYY-MM-DD HH:mm:ss' ELSE 'YYYY-MM-DD HH:mm:ss' END)
                 WHEN r.units IS NULL THEN format('is missing key "%s"', r.units_key)
                 WHEN r.units_num IS NULL THEN format('has non-numeric %s %L', r.units_key, r.units)
                 WHEN r.units_num < 0 THEN format('has negative %s %s', r.units_key, r.units)
                 WHEN r.sid IS NOT NULL AND r.sid_num IS NULL THEN format('has sid %L, which is not a subscriber number', r.sid)
                 WHEN length(r.client_record_id) > 100 THEN 'has a client_record_id longer than 100 characters'
                 WHEN greatest(length(r.qualifier_1), length(r.qualifier_2), length(r.qualifier_3), length(r.qualifier_4)) > 300
                   THEN 'has a qualifier longer than 300 characters'
                 WHEN r.unit_price IS NULL
                   THEN format('has no price in force for usage_type_code %L on %s', r.usage_type_code, to_char(r.usage_ts, 'YYYY-MM-DD'))
               END AS problem
        FROM resolved r)"#;

/// A file's first invalid record, by position, with what is wrong and how many records are invalid.
const FIRST_PROBLEM: &str = r#"
    SELECT format('record %s%s %s%s', c.record_no,
                  CASE WHEN c.record_id IS NOT NULL THEN format(' (record_id %L)', c.record_id) ELSE '' END,
                  c.problem,
                  CASE WHEN count(*) OVER () > 1 THEN format('; %s records are invalid', count(*) OVER ()) ELSE '' END)
    FROM checked c
    WHERE c.problem IS NOT NULL
    ORDER BY c.record_no
    LIMIT 1"#;

/// Rate and insert the records of `posted` (resolved records with txn_id, file_record_key and
/// overwrite_counter), in record order; a record whose key is taken is skipped (`{conflict}`: a file's
/// record key, or an event's live pair).  The statement's last part: its contribution to the balances and
/// the caller's counts are read back from the table by the statements after it (an INSERT that reads the
/// rows of another CTE is sent by Citus with those rows to every node).
pub const INSERT: &str = r#"
    INSERT INTO backout.usage_txn (client_id, txn_id, acct_no, usage_type_no, usage_date, units, unit_price, amount,
                                   price_offer_id, file_name, record_key, client_record_id,
                                   qualifier_1, qualifier_2, qualifier_3, qualifier_4,
                                   reference_id, sequence_id, overwrite_counter, sid)
    SELECT $1, r.txn_id, r.res_acct_no, r.usage_type_no, r.usage_ts, r.units_num, r.unit_price, r.units_num * r.unit_price,
           r.price_offer_id, $2, r.file_record_key, r.client_record_id,
           r.qualifier_1, r.qualifier_2, r.qualifier_3, r.qualifier_4,
           r.reference_id, r.sequence_id, r.overwrite_counter, r.sid_num
    FROM posted r
    ORDER BY r.record_no
    ON CONFLICT {conflict} DO NOTHING"#;

/// A file's records, all good (checked first), with the ids drawn for them ($4, by position:
/// `reply::draw_ids`).
const FILE_POSTED: &str = r#"
    posted AS (
        SELECT r.*, ($4::bigint[])[r.record_no] AS txn_id, r.record_key AS file_record_key,
               NULL::integer AS overwrite_counter
        FROM resolved r)"#;

/// The file's stats row, from the rows this ingest inserted ($1 = client_id, $2 = file_name, $3 = records
/// received, $4 = the first id drawn for them).
const FILE_STATS: &str = r#"
    INSERT INTO backout.usage_file (client_id, file_name, records_received, records_processed, records_skipped,
                                    total_units, total_amount)
    SELECT $1, $2, $3, count(*), $3 - count(*), coalesce(sum(u.units), 0), coalesce(sum(u.amount), 0)
    FROM backout.usage_txn u
    WHERE u.client_id = $1 AND u.file_name = $2 AND u.txn_id >= $4
    RETURNING records_processed, records_skipped, total_amount"#;

/// The statement `WITH src AS (source), <stages>, <tail>`: the tail is more CTEs ending in the final
/// statement, or the final statement alone.
pub fn pipeline(source: &Source, stages: &[&str], tail: &str) -> String {
    let joint =
        if tail.trim_start().starts_with("SELECT") || tail.trim_start().starts_with("INSERT") {
            " "
        } else {
            ","
        };
    format!(
        "WITH src AS ({}),{}{joint}{tail}",
        source.sql,
        stages.join(",")
    )
}

fn file_insert_sql(source: &Source) -> String {
    let insert = INSERT.replace(
        "{conflict}",
        "(client_id, file_name, record_key) WHERE file_name IS NOT NULL",
    );
    pipeline(source, &[RESOLVE, FILE_POSTED], &insert)
}

type IngestRow = (
    name!(file_name, Option<String>),
    name!(records_processed, Option<i64>),
    name!(status, String),
    name!(error_message, Option<String>),
    name!(records_skipped, Option<i64>),
    name!(total_amount, Option<AnyNumeric>),
    name!(error_code, Option<String>),
    name!(client_id, Option<i64>),
);

struct Ingested {
    processed: i64,
    skipped: i64,
    total_amount: AnyNumeric,
}

fn reply(
    client_id: Option<i64>,
    file_name: Option<&str>,
    outcome: Outcome<Ingested>,
) -> TableIterator<'static, IngestRow> {
    let file_name = file_name.map(str::to_owned);
    TableIterator::once(match outcome {
        Ok(done) => (
            file_name,
            Some(done.processed),
            "COMPLETED".into(),
            None,
            Some(done.skipped),
            Some(done.total_amount),
            None,
            client_id,
        ),
        Err(rejected) => (
            file_name,
            Some(0),
            "ERROR".into(),
            Some(rejected.message),
            Some(0),
            None,
            Some(rejected.code.into()),
            client_id,
        ),
    })
}

/// Names are stored and matched exactly; backout takes them as a comma-separated list without spaces or
/// paths, so a name that could not be written there is refused here.
pub fn check_file_name(file_name: Option<&str>) -> Outcome<&str> {
    let name = required(file_name, "file_name")?;
    match file_name_problem(name) {
        Some(problem) => {
            let shown: String = name.chars().take(100).collect();
            Err(Rejection::invalid(format!("file_name {shown:?} {problem}")))
        }
        None => Ok(name),
    }
}

/// Unicode general category Cf (format characters: invisible, bidirectional controls), Unicode 15.
fn is_format_char(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2 | 0x180E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF
        | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F)
}

/// The first control (Cc) or format (Cf) character of an identifier a user typed, as a message naming
/// it and its 1-based position: two names that print the same must not be two different names.
pub fn invisible_char_problem(text: &str) -> Option<String> {
    text.chars()
        .enumerate()
        .find(|(_, c)| c.is_control() || is_format_char(*c))
        .map(|(i, c)| {
            format!(
                "contains the control or invisible character U+{:04X} at position {}",
                c as u32,
                i + 1
            )
        })
}

/// Why a file name cannot be stored (or named in a backout list), if it cannot.
pub fn file_name_problem(name: &str) -> Option<String> {
    file_name_shape_problem(name)
        .map(str::to_owned)
        .or_else(|| invisible_char_problem(name))
}

fn file_name_shape_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name.chars().count() > MAX_FILE_NAME {
        Some("is longer than 255 characters")
    } else if name.contains(['/', '\\']) {
        Some("contains a path separator (give the bare file name)")
    } else if name.contains(',') {
        Some("contains a comma")
    } else if name.trim() != name {
        Some("starts or ends with white space")
    } else {
        None
    }
}

/// How many records a jsonb array holds, or why it is not one.
fn check_records(records: &RawJsonb) -> Outcome<i64> {
    let (kind, len) = Spi::get_two_with_args::<String, i64>(
        "SELECT jsonb_typeof($1), CASE WHEN jsonb_typeof($1) = 'array' THEN jsonb_array_length($1) END",
        &[records.as_arg()],
    )
    .expect("records shape");
    match (kind.as_deref(), len) {
        (Some("array"), Some(0)) => Err(Rejection::invalid("records is an empty array")),
        (Some("array"), Some(len)) => Ok(len),
        (kind, _) => Err(Rejection::invalid(format!(
            "records must be a JSON array of objects, not {}",
            kind.unwrap_or("null")
        ))),
    }
}

fn reject_duplicate_file(client_id: i64, file_name: &str) -> Outcome<()> {
    let processed_at = first_value::<String>(
        "SELECT to_char(processed_at, 'YYYY-MM-DD HH24:MI:SS') FROM backout.usage_file
         WHERE client_id = $1 AND file_name = $2",
        &[client_id.into(), file_name.into()],
    );
    match processed_at {
        None => Ok(()),
        Some(at) => Err(Rejection::new(
            DUPLICATE_FILE,
            format!("file {file_name:?} was already processed for client {client_id} at {at}; back it out before processing it again"),
        )),
    }
}

/// A file claimed by a PROCESSING backout would be deleted by it right after being ingested.
fn reject_file_being_backed_out(client_id: i64, file_name: &str) -> Outcome<()> {
    match first_value::<String>(
        "SELECT backout_batch_id::text FROM backout.backout_file_claim WHERE client_id = $1 AND file_name = $2",
        &[client_id.into(), file_name.into()],
    ) {
        None => Ok(()),
        Some(batch) => Err(Rejection::new(
            crate::backout::BACKOUT_IN_PROGRESS,
            format!("file {file_name:?} is being backed out (backout batch {batch}); process it again after that backout completes"),
        )),
    }
}

fn first_invalid_record(source: &Source, args: &[pgrx::datum::DatumWithOid]) -> Outcome<()> {
    let problem = with_plan(
        source.shape,
        &pipeline(source, &[RESOLVE, CHECK], FIRST_PROBLEM),
        args,
        |rows| {
            if rows.is_empty() {
                None
            } else {
                rows.first().get_one::<String>().expect("validation")
            }
        },
    );
    match problem {
        None => Ok(()),
        Some(problem) => Err(Rejection::invalid(problem)),
    }
}

/// Insert the file's records, add them to the balances, write its stats row.
fn ingest(
    client_id: i64,
    file_name: &str,
    source: &Source,
    mut args: Vec<pgrx::datum::DatumWithOid>,
    records: i64,
) -> Ingested {
    let ids = draw_ids("backout.usage_txn_txn_id_seq", records);
    let first_id = ids.first().copied().unwrap_or(0);
    args.push(ids.into());
    with_plan(source.shape, &file_insert_sql(source), &args, |_| ());
    crate::balances::add_usage(
        PlanShape::CustomHashed,
        "u.file_name = $2 AND u.txn_id >= $3",
        vec![client_id.into(), file_name.into(), first_id.into()],
    );
    with_plan(
        PlanShape::Custom,
        FILE_STATS,
        &[
            client_id.into(),
            file_name.into(),
            records.into(),
            first_id.into(),
        ],
        |rows| {
            let row = rows.first();
            Ingested {
                processed: row.get::<i64>(1).expect("records_processed").unwrap_or(0),
                skipped: row.get::<i64>(2).expect("records_skipped").unwrap_or(0),
                total_amount: row
                    .get::<AnyNumeric>(3)
                    .expect("total_amount")
                    .unwrap_or_default(),
            }
        },
    )
}

/// Locks, duplicate check, validation, ingest: the common path once the arguments are known good
/// (`args` gives them: $1 client, $2 file name, $3 the source's input).
fn ingest_file<'a>(
    client_id: i64,
    file_name: &str,
    source: &Source,
    args: &dyn Fn() -> Vec<pgrx::datum::DatumWithOid<'a>>,
    records: i64,
) -> Outcome<Ingested> {
    locks::lock_client_shared(client_id);
    locks::lock_file(client_id, file_name);
    reject_duplicate_file(client_id, file_name)?;
    reject_file_being_backed_out(client_id, file_name)?;
    first_invalid_record(source, &args())?;
    Ok(ingest(client_id, file_name, source, args(), records))
}

fn process_json(
    client_id: Option<i64>,
    file_name: Option<&str>,
    records: Option<RawJsonb>,
) -> Outcome<Ingested> {
    let file_name = check_file_name(file_name)?;
    let records = required(records, "records")?;
    let count = check_records(&records)?;
    let client_id = require_client(client_id, Level::Operator, "process_usage_file")?;
    ingest_file(
        client_id,
        file_name,
        &JSON_SOURCE,
        &|| vec![client_id.into(), file_name.into(), records.as_arg()],
        count,
    )
}

fn process_staged(client_id: Option<i64>, file_name: Option<&str>) -> Outcome<Ingested> {
    let file_name = check_file_name(file_name)?;
    let client_id = require_client(client_id, Level::Operator, "process_staged_usage_file")?;
    let staged = first_value::<Vec<i64>>(
        "SELECT array_agg(staging_id) FROM backout.usage_staging WHERE client_id = $1 AND file_name = $2",
        &[client_id.into(), file_name.into()],
    )
    .unwrap_or_default();
    if staged.is_empty() {
        return Err(Rejection::invalid(format!(
            "no rows staged in backout.usage_staging for client {client_id} and file {file_name:?}"
        )));
    }
    let done = ingest_file(
        client_id,
        file_name,
        &STAGING_SOURCE,
        &|| vec![client_id.into(), file_name.into(), staged.clone().into()],
        staged.len() as i64,
    )?;
    Spi::run_with_args(
        "DELETE FROM backout.usage_staging s USING pg_catalog.unnest($3::bigint[]) AS seen(staging_id)
         WHERE s.client_id = $1 AND s.file_name = $2 AND s.staging_id = seen.staging_id",
        &[client_id.into(), file_name.into(), staged.into()],
    )
    .expect("clear staging");
    Ok(done)
}

/// Ingest a named usage file given as a jsonb array of records.  All or nothing: an invalid record rejects
/// the whole file (status ERROR, nothing written).
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn process_usage_file(
    client_id: Option<i64>,
    file_name: Option<&str>,
    records: Option<RawJsonb>,
) -> TableIterator<
    'static,
    (
        name!(file_name, Option<String>),
        name!(records_processed, Option<i64>),
        name!(status, String),
        name!(error_message, Option<String>),
        name!(records_skipped, Option<i64>),
        name!(total_amount, Option<AnyNumeric>),
        name!(error_code, Option<String>),
        name!(client_id, Option<i64>),
    ),
> {
    crate::access::as_api(|| {
        reply(
            client_id,
            file_name,
            process_json(client_id, file_name, records),
        )
    })
}

/// Ingest the rows staged for (client_id, file_name) in `backout.usage_staging` (bulk path: COPY, then
/// one call).  Same rules as `process_usage_file`; the staged rows are removed once ingested.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn process_staged_usage_file(
    client_id: Option<i64>,
    file_name: Option<&str>,
) -> TableIterator<
    'static,
    (
        name!(file_name, Option<String>),
        name!(records_processed, Option<i64>),
        name!(status, String),
        name!(error_message, Option<String>),
        name!(records_skipped, Option<i64>),
        name!(total_amount, Option<AnyNumeric>),
        name!(error_code, Option<String>),
        name!(client_id, Option<i64>),
    ),
> {
    crate::access::as_api(|| reply(client_id, file_name, process_staged(client_id, file_name)))
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::*;

    #[pg_test]
    fn file_names_that_backout_could_not_name_are_refused() {
        assert_eq!(
            check_file_name(Some("usage_2026_03.csv")),
            Ok("usage_2026_03.csv")
        );
        for bad in [
            "",
            "dir/file.csv",
            "c:\\file.csv",
            "a,b.csv",
            " file.csv",
            "file.csv ",
            "tab\tfile",
        ] {
            let err = check_file_name(Some(bad)).expect_err(bad);
            assert_eq!(err.code, crate::reply::INVALID_INPUT, "{bad:?}");
        }
        assert_eq!(
            check_file_name(None).unwrap_err().message,
            "file_name is required"
        );
        assert!(check_file_name(Some(&"x".repeat(256))).is_err());
    }
}
