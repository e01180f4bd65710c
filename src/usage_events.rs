//! Gotransverse usage events (SPEC §4.2): `post_usage_events` (FAIL_ON_EXISTING / OVERWRITE_ON_EXISTING),
//! `void_usage_events` (BY_ID / BY_REF_SEQ, at most 50 criteria, `dry_run`) and `get_voided_usage_events`.
//!
//! Events are usage: they run through the usage pipeline of `ingest.rs` (a source of their own, the same
//! resolution, rules, insert and balance deltas), each posted or erred on its own.  A live event is a row
//! of `usage_txn` with a (reference_id, sequence_id) pair, unique per client by a partial unique index:
//! concurrent posts of one pair cannot both insert.  Voiding deletes the row, takes its contribution out
//! of the balances (`balances.rs`) and keeps it in `voided_usage_event` when the client's
//! `retain_voided_usage` says so; an overwrite is a void (reason OVERWRITE) followed by the post.  Every
//! call is recorded in `usage_event_request` and shown in `backout.operations`.
use crate::access::{self, as_owner, Level};
use crate::balances::{self, BUCKET_DELTAS, SUBTRACT_GONE};
use crate::ingest::{invisible_char_problem, pipeline, Source, CHECK, INSERT, RESOLVE};
use crate::locks;
use crate::raw_jsonb::{RawJsonb, RawValue};
use crate::reply::{draw_ids, read_value, with_plan, PlanShape};
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

const MAX_EVENTS: i64 = 10_000;
const MAX_CRITERIA: i64 = 50;
const FAIL_ON_EXISTING: &str = "FAIL_ON_EXISTING";
const OVERWRITE_ON_EXISTING: &str = "OVERWRITE_ON_EXISTING";
/// How often an overwrite is tried again for events whose pair a concurrent post took meanwhile.
const OVERWRITE_ATTEMPTS: usize = 3;

/// Events of a jsonb array ($3), in the pipeline's columns (the answer echoes each event from $3 by its
/// position: carried through the pipeline, the events made every sort of it spill to disk).  Planned
/// generic, like a file's records: a custom plan would copy the whole document into the plan tree at every
/// step of planning (two seconds for 10,000 events).  Nothing in these statements joins on a list whose
/// size only a custom plan could know: overwrite counters are looked up in a jsonb object, live events by
/// an index probe per event.
const EVENT_SOURCE: Source = Source {
    sql: EVENT_RECORDS,
    shape: PlanShape::Generic,
};
/// The columns of the events of $3 (EVENT_SOURCE, LIVE_EVENT_SOURCE).
macro_rules! event_records {
    () => {
        concat!(
            r#"
    SELECT r.ord AS record_no, NULL::text AS record_id, NULL::text AS acct_no,
           r.e->>'service_resource_identifier' AS client_acct_id, r.e->>'usage_type_code' AS usage_type_code,
           r.e->>'start_time' AS usage_date, r.e->>'usage_amount' AS units, NULL::text AS client_record_id,
           NULL::text AS qualifier_1, NULL::text AS qualifier_2, NULL::text AS qualifier_3, NULL::text AS qualifier_4,
           CASE WHEN jsonb_typeof(r.e) <> 'object' THEN 'is not a JSON object'
                -- every key known and of its type (the usual event): settled without a subquery per event
                WHEN r.e - ARRAY['service_resource_identifier', 'usage_type_code', 'start_time', 'usage_amount',
                                 'reference_id', 'sequence_id', 'usage_uom', 'sid'] = '{}'::jsonb
                 AND coalesce(jsonb_typeof(r.e -> 'service_resource_identifier'), 'string') = 'string'
                 AND coalesce(jsonb_typeof(r.e -> 'usage_type_code'), 'string') = 'string'
                 AND coalesce(jsonb_typeof(r.e -> 'start_time'), 'string') = 'string'
                 AND coalesce(jsonb_typeof(r.e -> 'usage_amount'), 'number') = 'number'
                 AND coalesce(jsonb_typeof(r.e -> 'reference_id'), 'string') = 'string'
                 AND coalesce(jsonb_typeof(r.e -> 'sequence_id'), 'string') = 'string'
                 AND coalesce(jsonb_typeof(r.e -> 'usage_uom'), 'string') = 'string'
                 AND coalesce(jsonb_typeof(r.e -> 'sid'), 'number') = 'number' THEN NULL
                ELSE coalesce(
                    (SELECT format('has unknown key "%s"', k) FROM jsonb_object_keys(r.e) AS k
                     WHERE k <> ALL (ARRAY['service_resource_identifier', 'usage_type_code', 'start_time',
                                           'usage_amount', 'reference_id', 'sequence_id', 'usage_uom', 'sid'])
                     ORDER BY k LIMIT 1),
                    (SELECT format('has %s %s, which is not a JSON %s', t.k, r.e -> t.k, t.kind)
                     FROM (VALUES (1, 'service_resource_identifier', 'string'), (2, 'usage_type_code', 'string'),
                                  (3, 'start_time', 'string'), (4, 'usage_amount', 'number'),
                                  (5, 'reference_id', 'string'), (6, 'sequence_id', 'string'),
                                  (7, 'usage_uom', 'string'), (8, 'sid', 'number')) AS t(pos, k, kind)
                     WHERE r.e ? t.k AND jsonb_typeof(r.e -> t.k) <> t.kind
                     ORDER BY t.pos LIMIT 1))
           END AS shape_error,
           r.e->>'reference_id' AS reference_id, r.e->>'sequence_id' AS sequence_id,
           r.e->>'usage_uom' AS usage_uom, r.e->>'sid' AS sid,
           true AS event, 'service_resource_identifier' AS account_key, 'start_time' AS date_key,
           'usage_amount' AS units_key
    FROM jsonb_array_elements($3) WITH ORDINALITY AS r(e, ord)"#,
            crate::citus::on_the_clients_shard!()
        )
    };
}
const EVENT_RECORDS: &str = event_records!();

/// The events whose pair is live (an index probe each): what an overwrite may void.  The statement that
/// finds those to void judges only these (a tenth of a call, typically), not every event of the call;
/// events repeating a pair are all here, so "repeats the pair of event N" is decided as in the post.
const LIVE_EVENT_SOURCE: Source = Source {
    sql: concat!(
        event_records!(),
        "
    WHERE EXISTS (SELECT FROM backout.usage_txn u
                  WHERE u.client_id = $1 AND u.reference_id = r.e->>'reference_id' AND u.sequence_id = r.e->>'sequence_id')"
    ),
    shape: PlanShape::Generic,
};

/// Every event judged ($4 = mode, $5 = the record numbers this pass posts, empty: all): its problem from
/// the pipeline's rules, else a pair repeated in the call, else a live event of its pair (FAIL_ON_EXISTING:
/// it errs; OVERWRITE_ON_EXISTING: it errs only when that event is billed).  `live_txn_id` is the live
/// event an overwrite voids.  Live events are looked up when $8 says so: always but in the post of an
/// overwrite, which takes the verdicts of the events whose pair was live from the statement that found
/// them ($9, {record_no: verdict}) and leaves a pair taken since to the unique index.
const JUDGE: &str = r#"
    judged AS (
        SELECT c.*, l.txn_id AS live_txn_id,
               coalesce(c.problem, $9::jsonb ->> CAST(c.record_no AS text), CASE
                 WHEN c.record_no > min(c.record_no) FILTER (WHERE c.problem IS NULL) OVER (PARTITION BY c.reference_id COLLATE "C", c.sequence_id COLLATE "C")
                   THEN format('repeats the reference_id and sequence_id of event %s',
                               min(c.record_no) FILTER (WHERE c.problem IS NULL) OVER (PARTITION BY c.reference_id COLLATE "C", c.sequence_id COLLATE "C"))
                 WHEN l.txn_id IS NOT NULL AND $4 = 'FAIL_ON_EXISTING'
                   THEN format('has the reference_id %L and sequence_id %L of a posted event (id %s); void it first, or post with mode OVERWRITE_ON_EXISTING',
                               c.reference_id, c.sequence_id, l.txn_id)
                 WHEN l.billed
                   THEN format('has the reference_id %L and sequence_id %L of a billed event (id %s), which cannot be overwritten',
                               c.reference_id, c.sequence_id, l.txn_id)
               END) AS verdict
        FROM checked c
        -- an index probe per event, whatever the statistics say (a join with the live events as a relation
        -- was planned as a nested loop over both: 10,000 events x 1,000 live ones)
        LEFT JOIN LATERAL (
            SELECT u.txn_id, u.billing_batch_id IS NOT NULL AS billed
            FROM backout.usage_txn u
            WHERE $8 AND c.problem IS NULL
              AND u.client_id = $1 AND u.reference_id = c.reference_id AND u.sequence_id = c.sequence_id
            LIMIT 1) AS l ON true
        WHERE cardinality($5::bigint[]) = 0 OR c.record_no = ANY($5::bigint[]))"#;

/// The live events an overwrite replaces (OVERWRITE_ON_EXISTING, before the post), and the verdicts of
/// the events whose pair is live ({record_no: verdict}).
const TO_OVERWRITE: &str = r#"
    SELECT coalesce(array_agg(j.live_txn_id ORDER BY j.live_txn_id) FILTER (WHERE j.verdict IS NULL), '{}'),
           coalesce(jsonb_object_agg(CAST(j.record_no AS text), j.verdict) FILTER (WHERE j.verdict IS NOT NULL), '{}')
    FROM judged j
    WHERE j.live_txn_id IS NOT NULL OR j.verdict IS NOT NULL"#;

/// The good events to post ($6 = the overwrite counters of the pairs this call's overwrite voided, as a jsonb
/// object keyed by reference_id, U+0001, sequence_id).
const POSTED: &str = r#"
    posted AS MATERIALIZED (
        SELECT j.*, coalesce(CAST($6::jsonb ->> (j.reference_id || chr(1) || j.sequence_id) AS integer) + 1, 0) AS overwrite_counter
        FROM judged j
        WHERE j.verdict IS NULL)"#;

/// The columns of the events to post, one array each, aligned (the answer's last columns, in this order), and
/// the rows they make (`posted`, as the pipeline had them).
const TO_POST: [&str; 16] = [
    "record_no",
    "res_acct_no",
    "usage_type_no",
    "usage_ts",
    "units_num",
    "unit_price",
    "price_offer_id",
    "client_record_id",
    "qualifier_1",
    "qualifier_2",
    "qualifier_3",
    "qualifier_4",
    "reference_id",
    "sequence_id",
    "overwrite_counter",
    "sid_num",
];

/// `posted` again from the answer's arrays ($3..$18, TO_POST), the k-th event in record order with the k-th id
/// of $19 (drawn once the answer said how many), for `ingest::INSERT` ($1 = client_id, $2 = NULL: no file).
fn posted_from_answer() -> String {
    let arrays: Vec<String> = (3..3 + TO_POST.len()).map(|n| format!("${n}")).collect();
    format!(
        "WITH posted AS (
             SELECT x.*, ($19::bigint[])[row_number() OVER (ORDER BY x.record_no)] AS txn_id, NULL::text AS file_record_key
             FROM unnest({}) AS x({}))",
        arrays.join(", "),
        TO_POST.join(", ")
    )
}

/// What the post answers, read before it inserts: columns: events meant to be inserted, the erred events, the
/// record numbers of the rated events, how many erred, and the rows to insert: an array per column (TO_POST),
/// aligned, in no particular order (what `posted_from_answer` and RATED read).  The insert is a statement of its own, from
/// these rows: Citus sends an INSERT that reads another CTE's rows to every node.
const ANSWERS: &str = r#"
    SELECT (SELECT count(*) FROM posted),
           (SELECT coalesce(jsonb_agg(CASE WHEN jsonb_typeof(j.input) = 'object'
                                           THEN j.input || jsonb_build_object('error', 'usage event ' || j.verdict)
                                           ELSE jsonb_build_object('usage_event', j.input, 'error', 'usage event ' || j.verdict) END
                                      ORDER BY j.record_no), '[]')
            FROM (SELECT $3 -> CAST(e.record_no - 1 AS integer) AS input, e.record_no, e.verdict
                  FROM judged e WHERE e.verdict IS NOT NULL) AS j),
           (SELECT coalesce(array_agg(p.record_no ORDER BY p.record_no), '{}') FROM posted p),
           (SELECT count(*) FROM judged e WHERE e.verdict IS NOT NULL),
           to_post.*
    FROM (SELECT array_agg(p.record_no) AS record_no, array_agg(p.res_acct_no), array_agg(p.usage_type_no),
                 array_agg(p.usage_ts), array_agg(p.units_num), array_agg(p.unit_price), array_agg(p.price_offer_id),
                 array_agg(p.client_record_id), array_agg(p.qualifier_1), array_agg(p.qualifier_2),
                 array_agg(p.qualifier_3), array_agg(p.qualifier_4), array_agg(p.reference_id),
                 array_agg(p.sequence_id), array_agg(p.overwrite_counter), array_agg(p.sid_num)
          FROM posted p) AS to_post"#;

/// The live events to void ($2 = their record numbers), locked in record order.
const LOCK_VOIDED: &str = r#"
    SELECT count(*) FROM (
        SELECT u.txn_id FROM backout.usage_txn u
        WHERE u.client_id = $1 AND u.txn_id = ANY($2) AND u.reference_id IS NOT NULL
        ORDER BY u.txn_id
        FOR UPDATE OF u) AS locked"#;

/// The events a void deletes, kept in voided_usage_event when the client retains voided usage ($3 = why,
/// $4 = voided_by, $5 = request id): copied before they are deleted, by a statement of its own (an INSERT
/// that read the rows of a DELETE in the same statement would be sent by Citus to every node).
const KEEP_VOIDED: &str = r#"
    INSERT INTO backout.voided_usage_event (client_id, usage_event_id, acct_no, service_resource_identifier,
                                            usage_type_no, usage_type_code, usage_uom, start_time, usage_amount,
                                            unit_price, total_charge, reference_id, sequence_id,
                                            overwrite_counter, sid, posted_at, voided_by, void_reason, request_id)
    SELECT $1, g.txn_id, g.acct_no, a.client_acct_id, g.usage_type_no, ut.usage_type_code, ut.unit,
           g.usage_date, g.units, g.unit_price, g.amount, g.reference_id, g.sequence_id,
           coalesce(g.overwrite_counter, 0), g.sid, g.created_at, $4, $3, CAST($5 AS uuid)
    FROM backout.usage_txn g
    JOIN backout.account a ON a.client_id = $1 AND a.acct_no = g.acct_no
    JOIN backout.usage_type ut ON ut.client_id = $1 AND ut.usage_type_no = g.usage_type_no
    WHERE g.client_id = $1 AND g.txn_id = ANY($2) AND g.reference_id IS NOT NULL AND g.billing_batch_id IS NULL
      AND (SELECT c.retain_voided_usage FROM backout.client c WHERE c.client_id = $1)
    ORDER BY g.txn_id"#;

/// Void the locked events: each deleted unless billed, its contribution summed per bucket.  Columns: the ids
/// voided, their pairs and overwrite counters, the change per bucket (BUCKET_DELTAS).
const VOID: &str = r#"
    WITH gone AS (
        DELETE FROM backout.usage_txn u
         WHERE u.client_id = $1 AND u.txn_id = ANY($2) AND u.reference_id IS NOT NULL AND u.billing_batch_id IS NULL
        RETURNING u.*),
    {subtract}
    SELECT coalesce((SELECT array_agg(g.txn_id ORDER BY g.txn_id) FROM gone g), '{}'),
           coalesce((SELECT array_agg(g.reference_id ORDER BY g.txn_id) FROM gone g), '{}'),
           coalesce((SELECT array_agg(g.sequence_id ORDER BY g.txn_id) FROM gone g), '{}'),
           coalesce((SELECT array_agg(coalesce(g.overwrite_counter, 0) ORDER BY g.txn_id) FROM gone g), '{}'),
           {deltas}"#;

/// What a void did.
#[derive(Default)]
struct Voided {
    ids: Vec<i64>,
    references: Vec<String>,
    sequences: Vec<String>,
    counters: Vec<i32>,
}

/// Void live events: locked in record order, kept (when the client retains voided usage), deleted unless
/// billed, their contribution taken out of the balances.
fn void(client_id: i64, ids: &[i64], why: &str, by: &str, request: &str) -> Voided {
    if ids.is_empty() {
        return Voided::default();
    }
    let args = || {
        [
            client_id.into(),
            ids.to_vec().into(),
            why.into(),
            by.into(),
            request.into(),
        ]
    };
    with_plan(PlanShape::Custom, LOCK_VOIDED, &args()[..2], |_| ());
    with_plan(PlanShape::Custom, KEEP_VOIDED, &args(), |_| ());
    let sql = VOID
        .replace("{subtract}", SUBTRACT_GONE)
        .replace("{deltas}", BUCKET_DELTAS);
    let (voided, deltas) = with_plan(PlanShape::Custom, &sql, &args()[..2], |rows| {
        let row = rows.first();
        (
            Voided {
                ids: row.get::<Vec<i64>>(1).expect("ids").unwrap_or_default(),
                references: row.get::<Vec<String>>(2).expect("refs").unwrap_or_default(),
                sequences: row.get::<Vec<String>>(3).expect("seqs").unwrap_or_default(),
                counters: row
                    .get::<Vec<i32>>(4)
                    .expect("counters")
                    .unwrap_or_default(),
            },
            row.get::<JsonB>(5).expect("deltas"),
        )
    });
    let (accounts, periods) = balances::apply(client_id, deltas);
    balances::drop_emptied_buckets(client_id, &accounts, &periods);
    voided
}

/// A whole call refused: `{"error": message}`.
fn refusal(message: impl Into<String>) -> RawJsonb {
    RawJsonb::from_value(json!({ "error": message.into() }))
}

/// The caller's name for the audit: the given one, else the session user.
fn acting_as(given: Option<&str>, field: &str) -> Result<String, String> {
    match given.filter(|g| !g.trim().is_empty()) {
        Some(g) if g.chars().count() > 100 => Err(format!("{field} is longer than 100 characters")),
        Some(g) => match invisible_char_problem(g) {
            Some(problem) => Err(format!("{field} {problem}")),
            None => Ok(g.to_owned()),
        },
        None => Ok(read_value::<String>("SELECT session_user::text", &[]).unwrap_or_default()),
    }
}

/// `jsonb_typeof` and array length of a document, read before anything parses it.
fn shape_of(doc: &RawJsonb) -> (String, i64) {
    let (kind, len) = Spi::get_two_with_args::<String, i64>(
        "SELECT pg_catalog.jsonb_typeof($1),
                CASE WHEN pg_catalog.jsonb_typeof($1) = 'array' THEN pg_catalog.jsonb_array_length($1) END",
        &[doc.as_arg()],
    )
    .expect("jsonb shape");
    (kind.unwrap_or_else(|| "null".into()), len.unwrap_or(0))
}

fn array_problem(doc: Option<&RawJsonb>, field: &str, what: &str, max: i64) -> Option<String> {
    let Some(doc) = doc else {
        return Some(format!("{field} is required"));
    };
    match shape_of(doc) {
        (kind, _) if kind != "array" => Some(format!(
            "{field} must be a JSON array of {what}, not {kind}"
        )),
        (_, 0) => Some(format!("{field} is an empty array")),
        (_, n) if n > max => Some(format!("{field} has {n} elements; at most {max} per call")),
        _ => None,
    }
}

/// The call's client, or the refusal to answer with (nothing recorded for a client the caller may not
/// act for: it reads like an unknown one).
fn client(client_id: Option<i64>, level: Level, function: &str) -> Result<i64, RawJsonb> {
    access::require_client(client_id, level, function).map_err(|r| refusal(r.message))
}

/// One row of usage_event_request, written as the extension's owner.
struct Record<'a> {
    client_id: i64,
    request_id: &'a str,
    operation: &'a str,
    mode: Option<&'a str>,
    by: &'a str,
    requested: i64,
    posted: i64,
    overwritten: i64,
    voided: i64,
    erred: i64,
    error: Option<&'a str>,
}

impl<'a> Record<'a> {
    fn new(
        client_id: i64,
        request_id: &'a str,
        operation: &'a str,
        mode: Option<&'a str>,
        by: &'a str,
    ) -> Self {
        Record {
            client_id,
            request_id,
            operation,
            mode,
            by,
            requested: 0,
            posted: 0,
            overwritten: 0,
            voided: 0,
            erred: 0,
            error: None,
        }
    }
}

fn record(r: &Record) {
    let role = access::role_name(access::caller()).unwrap_or_default();
    as_owner(|| {
        Spi::run_with_args(
            "INSERT INTO backout.usage_event_request (client_id, request_id, operation, mode, requested_by, role_name,
                                                      events_requested, events_posted, events_overwritten,
                                                      events_voided, events_erred, error_message)
             VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                r.client_id.into(),
                r.request_id.into(),
                r.operation.into(),
                crate::reply::for_audit(r.mode).into(),
                r.by.into(),
                role.into(),
                r.requested.into(),
                r.posted.into(),
                r.overwritten.into(),
                r.voided.into(),
                r.erred.into(),
                r.error.into(),
            ],
        )
        .expect("record usage event request")
    });
}

fn new_request_id() -> String {
    read_value::<String>("SELECT pg_catalog.gen_random_uuid()::text", &[]).expect("uuid")
}

/// One pass of a post: the events of `only` (all when empty).  The answers stay jsonb datums: a call that
/// nothing pre-empted hands them back as they are (parsing 10,000 events into serde's tree and printing
/// them again cost more than the statement's own answer).
struct Pass {
    inserted: i64,
    meant: i64,
    rated: RawJsonb,
    erred: RawJsonb,
    erred_count: i64,
    record_nos: Vec<i64>,
    ids: Vec<i64>,
}

/// What a pass of a post knows: the events to post (all when empty), what its overwrite voided, whether to
/// look live events up, the verdicts found by the overwrite's lookup.
struct PassArgs<'a> {
    only: &'a [i64],
    voided: Voided,
    probe: bool,
    verdicts: Value,
}

fn event_args(
    client_id: i64,
    events: &RawJsonb,
    mode: &str,
    pass: &PassArgs,
    request: &str,
) -> Vec<DatumWithOid<'static>> {
    let voided = &pass.voided;
    let only = pass.only;
    let counters: serde_json::Map<String, Value> = voided
        .references
        .iter()
        .zip(&voided.sequences)
        .zip(&voided.counters)
        .map(|((r, s), c)| (format!("{r}\u{1}{s}"), json!(c)))
        .collect();
    vec![
        client_id.into(),
        Option::<String>::None.into(),
        events.as_arg(),
        mode.to_owned().into(),
        only.to_vec().into(),
        JsonB(Value::Object(counters)).into(),
        request.to_owned().into(),
        pass.probe.into(),
        JsonB(pass.verdicts.clone()).into(),
    ]
}

fn post_pass(
    client_id: i64,
    events: &RawJsonb,
    mode: &str,
    only: &[i64],
    by: &str,
    request: &str,
) -> (Pass, i64) {
    let mut args = PassArgs {
        only,
        voided: Voided::default(),
        probe: true,
        verdicts: json!({}),
    };
    if mode == OVERWRITE_ON_EXISTING {
        let sql = pipeline(&LIVE_EVENT_SOURCE, &[RESOLVE, CHECK, JUDGE], TO_OVERWRITE);
        let (live, verdicts) = with_plan(
            LIVE_EVENT_SOURCE.shape,
            &sql,
            &event_args(client_id, events, mode, &args, request),
            |rows| {
                let row = rows.first();
                (
                    row.get::<Vec<i64>>(1).expect("live").unwrap_or_default(),
                    row.get::<JsonB>(2)
                        .expect("verdicts")
                        .map(|j| j.0)
                        .unwrap_or(json!({})),
                )
            },
        );
        args.voided = void(client_id, &live, "OVERWRITE", by, request);
        args.probe = false;
        args.verdicts = verdicts;
    }
    let (mut pass, to_post) = with_plan(
        EVENT_SOURCE.shape,
        &pipeline(&EVENT_SOURCE, &[RESOLVE, CHECK, JUDGE, POSTED], ANSWERS),
        &event_args(client_id, events, mode, &args, request),
        |rows| {
            let row = rows.first();
            let pass = Pass {
                inserted: 0,
                meant: row.get::<i64>(1).expect("meant").unwrap_or(0),
                rated: RawJsonb::from_value(json!([])),
                erred: row.get::<RawJsonb>(2).expect("erred").expect("erred"),
                erred_count: row.get::<i64>(4).expect("erred count").unwrap_or(0),
                record_nos: row
                    .get::<Vec<i64>>(3)
                    .expect("record nos")
                    .unwrap_or_default(),
                ids: vec![],
            };
            let to_post: Vec<RawValue> = (0..TO_POST.len())
                .filter_map(|i| row.get::<RawValue>(5 + i).expect("to post"))
                .collect();
            (pass, to_post)
        },
    );
    if pass.meant > 0 {
        pass.ids = draw_ids("backout.usage_txn_txn_id_seq", pass.meant);
        let column =
            |name: &str| to_post[TO_POST.iter().position(|c| *c == name).expect(name)].as_arg();
        pass.rated = read_value::<RawJsonb>(
            RATED,
            &[
                events.as_arg(),
                column("record_no"),
                column("units_num"),
                column("unit_price"),
                column("overwrite_counter"),
                pass.ids.clone().into(),
                request.into(),
            ],
        )
        .expect("rated");
        let insert = INSERT.replace(
            "{conflict}",
            "(client_id, reference_id, sequence_id) WHERE reference_id IS NOT NULL",
        );
        pass.inserted = with_plan(
            PlanShape::Generic, // the rows are a document: a custom plan would copy it at every planning step
            &format!("{} {insert}", posted_from_answer()),
            &[client_id.into(), Option::<String>::None.into()]
                .into_iter()
                .chain(to_post.iter().map(RawValue::as_arg))
                .chain([pass.ids.clone().into()])
                .collect::<Vec<_>>(),
            |rows| rows.len() as i64,
        );
        balances::add_usage(
            PlanShape::Custom,
            "u.txn_id = ANY($2)",
            vec![client_id.into(), pass.ids.clone().into()],
        );
    }
    (pass, args.voided.ids.len() as i64)
}

/// The rated events, once their ids are drawn: each input event ($1) with its id (the k-th of $6 for the k-th
/// event in record order; record_no, units, unit price and overwrite counter: $2..$5, TO_POST's arrays),
/// total_charge, request_id ($7) and overwrite_counter, in record order.
const RATED: &str = r#"
    SELECT coalesce(pg_catalog.jsonb_agg(($1 -> CAST(x.record_no - 1 AS integer)) || pg_catalog.jsonb_build_object(
                        'id', ($6::bigint[])[x.k]::text, 'total_charge', x.units_num * x.unit_price,
                        'request_id', $7::text, 'overwrite_counter', x.overwrite_counter) ORDER BY x.record_no), '[]')
    FROM (SELECT u.*, row_number() OVER (ORDER BY u.record_no) AS k
          FROM unnest($2, $3, $4, $5) AS u(record_no, units_num, unit_price, overwrite_counter)) AS x"#;

/// The rated events whose insert a concurrent post of the same pair pre-empted: their record numbers.
fn pre_empted(client_id: i64, pass: &Pass) -> Vec<i64> {
    if pass.inserted == pass.meant {
        return vec![];
    }
    let present = with_plan(
        PlanShape::Custom,
        "SELECT coalesce(array_agg(u.txn_id), '{}') FROM backout.usage_txn u WHERE u.client_id = $1 AND u.txn_id = ANY($2)",
        &[client_id.into(), pass.ids.clone().into()],
        |rows| rows.first().get_one::<Vec<i64>>().expect("present").unwrap_or_default(),
    );
    pass.ids
        .iter()
        .zip(&pass.record_nos)
        .filter(|(id, _)| !present.contains(id))
        .map(|(_, n)| *n)
        .collect()
}

/// Rated events without the pre-empted ones (by id), and those as erred.
fn split_pre_empted(
    rated: Value,
    lost_ids: &[String],
    error: Option<&str>,
) -> (Vec<Value>, Vec<Value>) {
    let mut kept = vec![];
    let mut lost = vec![];
    for event in rated.as_array().cloned().unwrap_or_default() {
        let id = event
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if lost_ids.contains(&id) {
            if let (Some(message), Value::Object(mut object)) = (error, event) {
                for key in ["id", "total_charge", "request_id", "overwrite_counter"] {
                    object.remove(key);
                }
                object.insert("error".into(), Value::String(message.into()));
                lost.push(Value::Object(object));
            }
        } else {
            kept.push(event);
        }
    }
    (kept, lost)
}

struct Posted {
    answer: RawJsonb,
    posted: i64,
    overwritten: i64,
    erred: i64,
}

/// `{"rated_events": rated, "erred_events": erred}`, built from the datums as they are.
fn answer_of(rated: &RawJsonb, erred: &RawJsonb) -> RawJsonb {
    read_value::<RawJsonb>(
        "SELECT pg_catalog.jsonb_build_object('rated_events', $1::jsonb, 'erred_events', $2::jsonb)",
        &[rated.as_arg(), erred.as_arg()],
    )
    .expect("answer")
}

fn post(client_id: i64, events: &RawJsonb, mode: &str, by: &str, request: &str) -> Posted {
    locks::lock_client_shared(client_id);
    let mut rated: Vec<Value> = vec![];
    let mut erred: Vec<Value> = vec![];
    let mut overwritten = 0;
    let mut only: Vec<i64> = vec![];
    for attempt in 1..=OVERWRITE_ATTEMPTS {
        let (pass, voided) = post_pass(client_id, events, mode, &only, by, request);
        overwritten += voided;
        let lost = pre_empted(client_id, &pass);
        if attempt == 1 && lost.is_empty() {
            return Posted {
                answer: answer_of(&pass.rated, &pass.erred),
                posted: pass.meant,
                overwritten,
                erred: pass.erred_count,
            };
        }
        let lost_ids: Vec<String> = pass
            .ids
            .iter()
            .zip(&pass.record_nos)
            .filter(|(_, n)| lost.contains(n))
            .map(|(id, _)| id.to_string())
            .collect();
        let retry =
            mode == OVERWRITE_ON_EXISTING && attempt < OVERWRITE_ATTEMPTS && !lost.is_empty();
        let message = "usage event was pre-empted by a concurrent post of the same reference_id and sequence_id";
        let (kept, lost_events) =
            split_pre_empted(pass.rated.parse().0, &lost_ids, (!retry).then_some(message));
        rated.extend(kept);
        erred.extend(pass.erred.parse().0.as_array().cloned().unwrap_or_default());
        erred.extend(lost_events);
        if !retry {
            break;
        }
        only = lost;
    }
    let (posted, erred_count) = (rated.len() as i64, erred.len() as i64);
    Posted {
        answer: RawJsonb::from_value(json!({ "rated_events": rated, "erred_events": erred })),
        posted,
        overwritten,
        erred: erred_count,
    }
}

/// Post usage events (Gotransverse): each event rated and posted like ingested usage, or erred on its
/// own.  `{"rated_events": [...], "erred_events": [...]}`; a call refused whole answers `{"error": ...}`.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn post_usage_events(
    client_id: Option<i64>,
    usage_events: Option<RawJsonb>,
    mode: default!(Option<&str>, "'FAIL_ON_EXISTING'"),
    posted_by: default!(Option<&str>, "NULL"),
) -> RawJsonb {
    crate::access::as_api(|| {
        let client_id = match client(client_id, Level::Operator, "post_usage_events") {
            Ok(c) => c,
            Err(refused) => return refused,
        };
        let request = new_request_id();
        let by = acting_as(posted_by, "posted_by");
        let problem = match (&by, mode) {
            (Err(problem), _) => Some(problem.clone()),
            (_, Some(FAIL_ON_EXISTING | OVERWRITE_ON_EXISTING)) => array_problem(
                usage_events.as_ref(),
                "usage_events",
                "usage events",
                MAX_EVENTS,
            ),
            (_, Some(other)) => Some(format!(
                "mode must be FAIL_ON_EXISTING or OVERWRITE_ON_EXISTING, not {:?}",
                other.chars().take(100).collect::<String>()
            )),
            (_, None) => Some("mode is required".into()),
        };
        let by = by.unwrap_or_default();
        let mut entry = Record::new(client_id, &request, "post", mode, &by);
        if let Some(problem) = problem {
            entry.error = Some(&problem);
            record(&entry);
            return refusal(problem);
        }
        let events = usage_events.expect("checked").detoasted();
        let mode = mode.expect("checked");
        let done = post(client_id, &events, mode, &by, &request);
        entry.requested = done.posted + done.erred;
        entry.posted = done.posted;
        entry.overwritten = done.overwritten;
        entry.erred = done.erred;
        record(&entry);
        done.answer
    })
}

/// Each criterion ($2, mode $3) resolved to a live event of the client, or its problem: malformed, not
/// found, naming an event an earlier criterion named, billed.  Columns per criterion, in order: the
/// criterion as given, the event's id, the problem.
const CRITERIA: &str = r#"
    WITH crit AS (SELECT c.n, c.v FROM jsonb_array_elements($2) WITH ORDINALITY AS c(v, n)),
    shaped AS (
        SELECT c.n, c.v,
               CASE
                 WHEN jsonb_typeof(c.v) <> 'object' THEN 'criterion is not a JSON object'
                 WHEN (SELECT k FROM jsonb_object_keys(c.v) AS k
                       WHERE k <> ALL (CASE WHEN $3 = 'BY_ID' THEN ARRAY['id'] ELSE ARRAY['reference_id', 'sequence_id'] END)
                       ORDER BY k LIMIT 1) IS NOT NULL
                   THEN format('criterion has unknown key "%s" (mode %s)',
                               (SELECT k FROM jsonb_object_keys(c.v) AS k
                                WHERE k <> ALL (CASE WHEN $3 = 'BY_ID' THEN ARRAY['id'] ELSE ARRAY['reference_id', 'sequence_id'] END)
                                ORDER BY k LIMIT 1), $3)
                 WHEN $3 = 'BY_ID' AND NOT c.v ? 'id' THEN 'criterion is missing key "id"'
                 WHEN $3 = 'BY_ID' AND NOT (jsonb_typeof(c.v -> 'id') IN ('string', 'number') AND (c.v ->> 'id') ~ '^[0-9]{1,18}$')
                   THEN format('criterion has id %s, which is not a usage event id', c.v -> 'id')
                 WHEN $3 = 'BY_REF_SEQ' AND NOT c.v ? 'reference_id' THEN 'criterion is missing key "reference_id"'
                 WHEN $3 = 'BY_REF_SEQ' AND NOT c.v ? 'sequence_id' THEN 'criterion is missing key "sequence_id"'
                 WHEN $3 = 'BY_REF_SEQ' AND (jsonb_typeof(c.v -> 'reference_id') <> 'string' OR jsonb_typeof(c.v -> 'sequence_id') <> 'string')
                   THEN 'criterion has a reference_id or sequence_id that is not a JSON string'
               END AS problem,
               CASE WHEN $3 = 'BY_ID' AND (c.v ->> 'id') ~ '^[0-9]{1,18}$' THEN CAST(c.v ->> 'id' AS bigint) END AS id
        FROM crit c),
    found AS (
        SELECT s.n, s.v, s.problem, coalesce(by_id.txn_id, by_pair.txn_id) AS txn_id,
               coalesce(by_id.billing_batch_id, by_pair.billing_batch_id) IS NOT NULL AS billed
        FROM shaped s
        LEFT JOIN backout.usage_txn by_id
          ON s.problem IS NULL AND $3 = 'BY_ID' AND by_id.client_id = $1
         AND by_id.txn_id = s.id AND by_id.reference_id IS NOT NULL
        LEFT JOIN backout.usage_txn by_pair
          ON s.problem IS NULL AND $3 = 'BY_REF_SEQ' AND by_pair.client_id = $1
         AND by_pair.reference_id = s.v ->> 'reference_id' AND by_pair.sequence_id = s.v ->> 'sequence_id'
         AND by_pair.reference_id IS NOT NULL)
    SELECT f.v, f.txn_id,
           coalesce(f.problem, CASE
             WHEN f.txn_id IS NULL THEN 'usage event not found'
             WHEN f.n > min(f.n) OVER (PARTITION BY f.txn_id)
               THEN format('names the same usage event as criterion %s', min(f.n) OVER (PARTITION BY f.txn_id))
             WHEN f.billed THEN 'usage event is billed and cannot be voided'
           END)
    FROM found f
    ORDER BY f.n"#;

struct Criterion {
    given: JsonB,
    txn_id: Option<i64>,
    problem: Option<String>,
}

fn criteria(client_id: i64, given: &RawJsonb, mode: &str) -> Vec<Criterion> {
    with_plan(
        PlanShape::Custom,
        CRITERIA,
        &[client_id.into(), given.as_arg(), mode.into()],
        |rows| {
            rows.map(|row| Criterion {
                given: row.get::<JsonB>(1).expect("criterion").expect("criterion"),
                txn_id: row.get::<i64>(2).expect("id"),
                problem: row.get::<String>(3).expect("problem"),
            })
            .collect()
        },
    )
}

fn erred_criterion(c: &Criterion, problem: &str) -> Value {
    match &c.given.0 {
        Value::Object(o) => {
            let mut o = o.clone();
            o.insert("error".into(), Value::String(problem.into()));
            Value::Object(o)
        }
        other => json!({ "criterion": other, "error": problem }),
    }
}

/// Void usage events (Gotransverse), at most 50 criteria per call; `dry_run` answers the same and
/// changes nothing.  `{"num_voided": n, "voided_event_criterias": [...], "erred_event_criterias": [...]}`.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn void_usage_events(
    client_id: Option<i64>,
    mode: Option<&str>,
    void_event_criterias: Option<RawJsonb>,
    voided_by: default!(Option<&str>, "NULL"),
    dry_run: default!(Option<bool>, "false"),
) -> RawJsonb {
    crate::access::as_api(|| {
        let client_id = match client(client_id, Level::Operator, "void_usage_events") {
            Ok(c) => c,
            Err(refused) => return refused,
        };
        let dry_run = dry_run.unwrap_or(false);
        let request = new_request_id();
        let by = acting_as(voided_by, "voided_by");
        let problem = match (&by, mode) {
            (Err(problem), _) => Some(problem.clone()),
            (_, Some("BY_ID" | "BY_REF_SEQ")) => array_problem(
                void_event_criterias.as_ref(),
                "void_event_criterias",
                "criteria",
                MAX_CRITERIA,
            ),
            (_, Some(other)) => Some(format!(
                "mode must be BY_ID or BY_REF_SEQ, not {:?}",
                other.chars().take(100).collect::<String>()
            )),
            (_, None) => Some("mode is required".into()),
        };
        let by = by.unwrap_or_default();
        let mut entry = Record::new(client_id, &request, "void", mode, &by);
        if let Some(problem) = problem {
            if !dry_run {
                entry.error = Some(&problem);
                record(&entry);
            }
            return refusal(problem);
        }
        let mode = mode.expect("checked");
        locks::lock_client_shared(client_id);
        let judged = criteria(client_id, &void_event_criterias.expect("checked"), mode);
        let to_void: Vec<i64> = judged
            .iter()
            .filter(|c| c.problem.is_none())
            .filter_map(|c| c.txn_id)
            .collect();
        let voided: Vec<i64> = if dry_run {
            to_void
        } else {
            void(client_id, &to_void, "VOID", &by, &request).ids
        };
        let mut done = vec![];
        let mut erred = vec![];
        for c in &judged {
            match (&c.problem, c.txn_id) {
                (Some(problem), _) => erred.push(erred_criterion(c, problem)),
                (None, Some(id)) if voided.contains(&id) => done.push(c.given.0.clone()),
                // voided by a concurrent call between the lookup and the void
                _ => erred.push(erred_criterion(c, "usage event not found")),
            }
        }
        if !dry_run {
            entry.requested = judged.len() as i64;
            entry.voided = done.len() as i64;
            entry.erred = erred.len() as i64;
            record(&entry);
        }
        RawJsonb::from_value(json!({
            "num_voided": done.len(),
            "voided_event_criterias": done,
            "erred_event_criterias": erred,
        }))
    })
}

/// The voided events of the client by voided event id ($2), or by pair ($3 reference_id, $4
/// sequence_id), oldest first.
const VOIDED: &str = r#"
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', v.voided_usage_event_id::text, 'usage_event_id', v.usage_event_id::text,
               'service_resource_identifier', v.service_resource_identifier, 'usage_type_code', v.usage_type_code,
               'start_time', to_char(v.start_time, 'YYYY-MM-DD HH24:MI:SS'), 'usage_amount', v.usage_amount,
               'usage_uom', v.usage_uom, 'reference_id', v.reference_id, 'sequence_id', v.sequence_id,
               'total_charge', v.total_charge, 'overwrite_counter', v.overwrite_counter,
               'voided_by', v.voided_by, 'voided_at', to_char(v.voided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
               'void_reason', v.void_reason)
               ORDER BY v.voided_usage_event_id), '[]')
    FROM backout.voided_usage_event v
    WHERE v.client_id = $1
      AND ($2::bigint IS NULL OR v.voided_usage_event_id = $2)
      AND ($3::text IS NULL OR (v.reference_id = $3 AND v.sequence_id = $4))"#;

/// Voided usage events kept for audit (Gotransverse): by voided event id, or by (sequence_id,
/// reference_id), all voids of that pair oldest first.  A jsonb array; unknown or invalid values give `[]`.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn get_voided_usage_events(
    client_id: Option<i64>,
    id: default!(Option<&str>, "NULL"),
    sequence_id: default!(Option<&str>, "NULL"),
    reference_id: default!(Option<&str>, "NULL"),
) -> RawJsonb {
    crate::access::as_api(|| {
        let client_id = match client(client_id, Level::Reader, "get_voided_usage_events") {
            Ok(c) => c,
            Err(refused) => return refused,
        };
        if id.is_none() && (sequence_id.is_none() || reference_id.is_none()) {
            return refusal(match (sequence_id, reference_id) {
                (None, None) => "give id, or sequence_id and reference_id",
                _ => "sequence_id and reference_id go together: give both, or id",
            });
        }
        let id = match id {
            None => None,
            Some(text) => match text.parse::<i64>() {
                Ok(n) if n > 0 && text.bytes().all(|b| b.is_ascii_digit()) => Some(n),
                _ => return RawJsonb::from_value(json!([])),
            },
        };
        let (reference, sequence) = match (reference_id, sequence_id) {
            (Some(r), Some(s)) => (Some(r), Some(s)),
            _ => (None, None),
        };
        let found = read_value::<RawJsonb>(
            VOIDED,
            &[
                client_id.into(),
                id.into(),
                reference.into(),
                sequence.into(),
            ],
        );
        found.unwrap_or_else(|| RawJsonb::from_value(json!([])))
    })
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::*;

    #[pg_test]
    fn a_pre_empted_event_leaves_the_rated_and_errs_without_its_rating() {
        let rated = json!([
            {"id": "7", "total_charge": 1.0, "request_id": "r", "overwrite_counter": 0, "reference_id": "a", "sequence_id": "1"},
            {"id": "8", "total_charge": 2.0, "request_id": "r", "overwrite_counter": 0, "reference_id": "b", "sequence_id": "1"}
        ]);
        let (kept, lost) = split_pre_empted(rated.clone(), &["8".to_owned()], Some("pre-empted"));
        assert_eq!(kept, vec![rated[0].clone()]);
        assert_eq!(
            lost,
            vec![json!({"reference_id": "b", "sequence_id": "1", "error": "pre-empted"})]
        );
        // retried (no message): dropped from both, posted by the next round
        let (kept, lost) = split_pre_empted(rated, &["8".to_owned()], None);
        assert_eq!(kept.len(), 1);
        assert!(lost.is_empty());
    }

    #[pg_test]
    fn the_acting_name_is_checked_like_every_name() {
        assert_eq!(
            acting_as(Some("svc-rater"), "posted_by"),
            Ok("svc-rater".into())
        );
        assert!(acting_as(Some(&"x".repeat(101)), "posted_by").is_err());
        assert!(acting_as(Some("ops\u{200B}"), "voided_by")
            .unwrap_err()
            .contains("U+200B"));
        assert!(!acting_as(None, "posted_by").unwrap().is_empty());
    }
}
