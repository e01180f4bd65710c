//! `query_lines` and `query_aggregate` (SPEC §4.3): read-only, inside the given accounts or subscribers
//! whatever the query says (the scope and the query are separate conditions, ANDed).
use super::{id_list, is_billrun_key, Input, MAX_IDS};
use crate::access::{self, Level};
use crate::query::field::{json_value, lines, Field, Kind, LINE_JSON};
use crate::query::sql::{condition, Params};
use crate::query::{self, Node};
use crate::raw_jsonb::RawJsonb;
use pgrx::prelude::*;
use serde_json::Value;

const MAX_PAGE_SIZE: i64 = 10_000;
/// At most this many groupby keys, and aggregates, per call.
const MAX_NAMES: usize = 20;

/// The lines a call may read: its client's, of the given accounts and/or subscribers (both: lines of
/// those accounts that are of those subscribers).
struct Scope {
    client_id: i64,
    aids: Option<Vec<i64>>,
    sids: Option<Vec<i64>>,
}

fn scope(
    client_id: Option<i64>,
    function: &str,
    aid: Option<&str>,
    sid: Option<&str>,
) -> Result<Scope, String> {
    let client_id =
        access::require_client(client_id, Level::Reader, function).map_err(|r| r.message)?;
    // each list given must be a list of numbers, and one must be given
    let (aids, sids) = (aid.map(|t| id_list(Some(t))), sid.map(|t| id_list(Some(t))));
    let (Some(aids), Some(sids)) = (aids.unwrap_or(Some(vec![])), sids.unwrap_or(Some(vec![])))
    else {
        return Err("Require to supply aid or sid".into());
    };
    if aids.is_empty() && sids.is_empty() {
        return Err("Require to supply aid or sid".into());
    }
    let (aids, sids) = (
        (!aids.is_empty()).then_some(aids),
        (!sids.is_empty()).then_some(sids),
    );
    if aids.as_ref().is_some_and(|a| a.len() > MAX_IDS) {
        return Err(format!("Maximum of aid is {MAX_IDS}"));
    }
    if sids.as_ref().is_some_and(|s| s.len() > MAX_IDS) {
        return Err(format!("Maximum of sid is {MAX_IDS}"));
    }
    Ok(Scope {
        client_id,
        aids,
        sids,
    })
}

/// What narrows the scope: billrun keys, the urt range, the query; and whether the answer reads the
/// lines' billing cycle otherwise (`cycle_read`).
#[derive(Default)]
struct Narrowing {
    billruns: Option<Vec<String>>,
    from: Option<String>,
    to: Option<String>,
    query: Option<Node>,
    cycle_read: bool,
}

impl Narrowing {
    fn reads_cycle(&self) -> bool {
        self.cycle_read
            || self.billruns.is_some()
            || self.query.as_ref().is_some_and(|q| q.names(Field::Billrun))
    }
}

/// `SELECT l.* FROM lines l WHERE ...`: $1 = client, $2 = aids, $3 = sids; the rest bound in `params`.
fn lines_sql(scope: &Scope, narrowing: &Narrowing, params: &mut Params) -> String {
    let mut conditions = vec![];
    if scope.aids.is_some() {
        conditions.push("l.aid = ANY ($2)".to_owned());
    }
    if scope.sids.is_some() {
        conditions.push("l.sid = ANY ($3)".to_owned());
    }
    if let Some(keys) = &narrowing.billruns {
        conditions.push(format!(
            "l.billrun = ANY (CAST({} AS text[]))",
            params.bind(keys.clone().into())
        ));
    }
    if let Some(from) = &narrowing.from {
        conditions.push(format!(
            "l.urt >= CAST({} AS timestamp)",
            params.bind(from.clone().into())
        ));
    }
    if let Some(to) = &narrowing.to {
        conditions.push(format!(
            "l.urt <= CAST({} AS timestamp)",
            params.bind(to.clone().into())
        ));
    }
    if let Some(query) = &narrowing.query {
        conditions.push(condition(query, params));
    }
    format!(
        "SELECT l.* FROM ({}) AS l WHERE {}",
        lines(narrowing.reads_cycle()),
        conditions.join(" AND ")
    )
}

/// The one row of `sql` (`details`).  Run without a row limit: PostgreSQL runs a statement with a limit
/// (what a one-value read passes to SPI) without parallel workers, and a query over an account of a million
/// lines is worth its workers (2x on this project's 2-core machine).
fn run(scope: &Scope, sql: &str, params: Params) -> RawJsonb {
    let mut args = vec![
        scope.client_id.into(),
        scope.aids.clone().into(),
        scope.sids.clone().into(),
    ];
    args.extend(params.into_values());
    crate::reply::read(|spi| {
        spi.select(sql, None, &args)
            .unwrap_or_else(|e| panic!("{e}: {sql}"))
            .first()
            .get_one::<RawJsonb>()
            .expect("details")
    })
    .expect("details")
}

fn object_query(query: Option<RawJsonb>) -> Result<Option<Node>, String> {
    query.map(|q| query::object_query(&q)).transpose()
}

fn iso_bound(text: Option<&str>, name: &str) -> Result<Option<String>, String> {
    text.map(|t| {
        crate::dates::iso_date_time(t).ok_or_else(|| {
            format!("{name} must be an ISO 8601 date or date and time (YYYY-MM-DD[THH:mm:ss])")
        })
    })
    .transpose()
}

/// Query a client's lines (BillRun's `query`): `{"status", "desc", "input", "details": [lines]}`, lines
/// ordered by urt then stamp, `size` per `page`; with `distinct_field`, the distinct values of that field.
#[allow(clippy::too_many_arguments)]
#[pg_extern(stable, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn query_lines(
    client_id: Option<i64>,
    aid: default!(Option<&str>, "NULL"),
    sid: default!(Option<&str>, "NULL"),
    billrun: default!(Option<&str>, "NULL"),
    query: default!(Option<RawJsonb>, "NULL"),
    from_date: default!(Option<&str>, "NULL"),
    to_date: default!(Option<&str>, "NULL"),
    size: default!(Option<i64>, 1000),
    page: default!(Option<i64>, 0),
    distinct_field: default!(Option<&str>, "NULL"),
) -> RawJsonb {
    crate::access::as_api(|| {
        let input = Input::default()
            .with("aid", aid.map(|v| v.to_owned().into()))
            .with("sid", sid.map(|v| v.to_owned().into()))
            .with("billrun", billrun.map(|v| v.to_owned().into()))
            .with("query", query.map(|q| q.as_arg()))
            .with("from", from_date.map(|v| v.to_owned().into()))
            .with("to", to_date.map(|v| v.to_owned().into()))
            .with("size", size.map(|v| v.into()))
            .with("page", page.map(|v| v.into()))
            .with("distinct", distinct_field.map(|v| v.to_owned().into()));
        let checked = (|| {
            let scope = scope(client_id, "query_lines", aid, sid)?;
            let size = size.unwrap_or(1000);
            if !(1..=MAX_PAGE_SIZE).contains(&size) {
                return Err(format!("size must be between 1 and {MAX_PAGE_SIZE}"));
            }
            let page = page.unwrap_or(0);
            if page < 0 {
                return Err("page must be 0 or more".to_owned());
            }
            if billrun.is_some_and(|b| !is_billrun_key(b)) {
                return Err("billrun must be a billrun key YYYYMM".to_owned());
            }
            let distinct = distinct_field
                .map(|d| {
                    Field::named(d)
                        .ok_or_else(|| format!("distinct field {d:?} is not a line field"))
                })
                .transpose()?;
            let narrowing = Narrowing {
                billruns: billrun.map(|b| vec![b.to_owned()]),
                from: iso_bound(from_date, "from_date")?,
                to: iso_bound(to_date, "to_date")?,
                query: object_query(query)?,
                // the lines answered carry every field; distinct values, only the one asked for
                cycle_read: distinct.is_none_or(|f| f == Field::Billrun),
            };
            Ok((scope, size, page, distinct, narrowing))
        })();
        let (scope, size, page, distinct, narrowing) = match checked {
            Ok(c) => c,
            Err(desc) => return input.failed(&desc),
        };
        let mut params = Params::after(3);
        let lines = lines_sql(&scope, &narrowing, &mut params);
        let sql = match distinct {
            Some(field) => format!(
                "SELECT jsonb_build_object('details', coalesce(jsonb_agg(d.v ORDER BY d.v), '[]'))
             FROM (SELECT DISTINCT {} AS v FROM ({lines}) AS l WHERE l.{} IS NOT NULL) AS d",
                json_value(field),
                field.name()
            ),
            None => {
                let limit = params.bind(size.into());
                let offset = params.bind(size.saturating_mul(page).into());
                format!(
                "SELECT jsonb_build_object('details', coalesce(jsonb_agg({LINE_JSON} ORDER BY l.urt, l.stamp), '[]'))
                 FROM (SELECT * FROM ({lines}) AS l ORDER BY l.urt, l.stamp LIMIT {limit} OFFSET {offset}) AS l"
            )
            }
        };
        let details = run(&scope, &sql, params);
        input.answer(1, "success", Some(details))
    })
}

/// `{"name": "$field", ...}`: the group keys, as (name, field).
fn group_keys(groupby: Option<RawJsonb>) -> Result<Vec<(String, Field)>, String> {
    let Some(doc) = groupby else {
        return Ok(vec![]);
    };
    let Value::Object(keys) = query::read(&doc)? else {
        return Err("groupby must be a JSON object {\"name\": \"$field\", ...}".into());
    };
    if keys.len() > MAX_NAMES {
        return Err(format!("groupby has more than {MAX_NAMES} keys"));
    }
    keys.into_iter()
        .map(|(name, v)| {
            let field = v
                .as_str()
                .and_then(|s| s.strip_prefix('$'))
                .and_then(Field::named)
                .ok_or_else(|| {
                    format!("groupby {name:?} must name a line field as \"$field\", not {v}")
                })?;
            Ok((name, field))
        })
        .collect()
}

/// One aggregate: `$sum`, `$avg`, `$max` or `$min` of a field or of 1.
enum Aggregate {
    Of(&'static str, Field),
    OfOne(&'static str),
}

/// `{"name": {"$sum": "$field" | 1}, ...}`; default `{"count": {"$sum": 1}}`.
fn aggregates(aggregate: Option<RawJsonb>) -> Result<Vec<(String, Aggregate)>, String> {
    let Some(doc) = aggregate else {
        return Ok(vec![("count".into(), Aggregate::OfOne("sum"))]);
    };
    let Value::Object(items) = query::read(&doc)? else {
        return Err(
            "aggregate must be a JSON object {\"name\": {\"$sum\": \"$field\"}, ...}".into(),
        );
    };
    if items.is_empty() {
        return Ok(vec![("count".into(), Aggregate::OfOne("sum"))]);
    }
    if items.len() > MAX_NAMES {
        return Err(format!("aggregate has more than {MAX_NAMES} names"));
    }
    items
        .into_iter()
        .map(|(name, spec)| {
            if name == "_id" {
                return Err("aggregate name \"_id\" is the group's own".to_owned());
            }
            let shape = || format!("aggregate {name:?} must be {{\"$sum\"|\"$avg\"|\"$max\"|\"$min\": \"$field\" or 1}}");
            let Value::Object(o) = &spec else { return Err(shape()) };
            let [(op, arg)] = o.iter().collect::<Vec<_>>()[..] else { return Err(shape()) };
            let function = match op.as_str() {
                "$sum" => "sum",
                "$avg" => "avg",
                "$max" => "max",
                "$min" => "min",
                other => return Err(format!("aggregate operator {other:?} is not supported")),
            };
            match arg {
                Value::Number(n) if n.as_i64() == Some(1) => Ok((name, Aggregate::OfOne(function))),
                Value::String(s) => {
                    let field = s
                        .strip_prefix('$')
                        .and_then(Field::named)
                        .ok_or_else(|| format!("aggregate {name:?} names {s:?}, which is not a line field"))?;
                    if matches!(function, "sum" | "avg") && field.kind() != Kind::Number {
                        return Err(format!("{op} of {} is not defined: it is not a number field", field.name()));
                    }
                    Ok((name, Aggregate::Of(function, field)))
                }
                _ => Err(shape()),
            }
        })
        .collect()
}

fn aggregate_sql(aggregate: &Aggregate) -> String {
    match aggregate {
        Aggregate::OfOne("sum") => "count(*)".into(),
        Aggregate::OfOne(_) => "1".into(),
        Aggregate::Of(function, field) if field.kind() == Kind::Time => format!(
            "to_char({function}(l.{}), 'YYYY-MM-DD\"T\"HH24:MI:SS')",
            field.name()
        ),
        Aggregate::Of(function, field) => format!("{function}(l.{})", field.name()),
    }
}

/// `billrun`: a key, or an array of keys.
fn billrun_keys(billrun: Option<RawJsonb>) -> Result<Option<Vec<String>>, String> {
    let Some(doc) = billrun else { return Ok(None) };
    let refused = || "billrun must be a billrun key YYYYMM or an array of them".to_owned();
    let keys = match query::read(&doc).map_err(|_| refused())? {
        Value::String(key) => vec![key],
        Value::Array(items) if items.len() <= MAX_IDS => items
            .into_iter()
            .map(|i| i.as_str().map(str::to_owned).ok_or_else(refused))
            .collect::<Result<_, _>>()?,
        _ => return Err(refused()),
    };
    if keys.iter().all(|k| is_billrun_key(k)) {
        Ok(Some(keys))
    } else {
        Err(refused())
    }
}

/// Aggregate a client's lines (BillRun's `queryaggregate`): one object per group, `{"_id": {keys},
/// "<name>": value, ...}`, ordered by the group keys; the line count under `count` by default.
#[pg_extern(stable, parallel_unsafe)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn query_aggregate(
    client_id: Option<i64>,
    aid: default!(Option<&str>, "NULL"),
    sid: default!(Option<&str>, "NULL"),
    billrun: default!(Option<RawJsonb>, "NULL"),
    query: default!(Option<RawJsonb>, "NULL"),
    groupby: default!(Option<RawJsonb>, "NULL"),
    aggregate: default!(Option<RawJsonb>, "NULL"),
) -> RawJsonb {
    crate::access::as_api(|| {
        let input = Input::default()
            .with("aid", aid.map(|v| v.to_owned().into()))
            .with("sid", sid.map(|v| v.to_owned().into()))
            .with("billrun", billrun.map(|v| v.as_arg()))
            .with("query", query.map(|q| q.as_arg()))
            .with("groupby", groupby.map(|v| v.as_arg()))
            .with("aggregate", aggregate.map(|v| v.as_arg()));
        let checked = (|| {
            let scope = scope(client_id, "query_aggregate", aid, sid)?;
            let narrowing = Narrowing {
                billruns: billrun_keys(billrun)?,
                query: object_query(query)?,
                ..Default::default()
            };
            Ok::<_, String>((
                scope,
                narrowing,
                group_keys(groupby)?,
                aggregates(aggregate)?,
            ))
        })();
        let (scope, narrowing, keys, aggregates) = match checked {
            Ok(c) => c,
            Err(desc) => return input.failed(&desc),
        };
        let mut params = Params::after(3);
        let lines = lines_sql(&scope, &narrowing, &mut params);
        let id = if keys.is_empty() {
            "'null'::jsonb".to_owned()
        } else {
            let pairs: Vec<String> = keys
                .iter()
                .map(|(name, field)| {
                    format!(
                        "{}::text, {}",
                        params.bind(name.clone().into()),
                        json_value(*field)
                    )
                })
                .collect();
            format!("jsonb_build_object({})", pairs.join(", "))
        };
        let values: Vec<String> = aggregates
            .iter()
            .map(|(name, a)| {
                format!(
                    "{}::text, {}",
                    params.bind(name.clone().into()),
                    aggregate_sql(a)
                )
            })
            .collect();
        let group_by = if keys.is_empty() {
            String::new()
        } else {
            let columns: Vec<String> = keys
                .iter()
                .map(|(_, f)| format!("l.{}", f.name()))
                .collect();
            format!("GROUP BY {}", columns.join(", "))
        };
        let sql = format!(
            "SELECT jsonb_build_object('details', coalesce(jsonb_agg(g.doc ORDER BY g.id), '[]'))
         FROM (SELECT {id} AS id, jsonb_build_object('_id', {id}) || jsonb_build_object({}) AS doc
               FROM ({lines}) AS l {group_by} HAVING count(*) > 0) AS g",
            values.join(", ")
        );
        let details = run(&scope, &sql, params);
        input.answer(1, "success", Some(details))
    })
}
