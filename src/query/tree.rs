//! A query parsed into a typed tree: BillRun's object form (`query_lines`, `query_aggregate`) and its
//! array-of-arrays form (`reset_lines`) give the same tree, checked for depth, size and the type of every
//! value against its field, before any SQL exists.
use super::field::{Field, Kind};
use serde::Deserialize;
use serde_json::Value;

pub const MAX_DEPTH: usize = 8;
pub const MAX_NODES: usize = 200;
pub const MAX_VALUE_CHARS: usize = 1000;

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
pub enum Op {
    #[serde(rename = "$eq")]
    Eq,
    #[serde(rename = "$ne")]
    Ne,
    #[serde(rename = "$gt")]
    Gt,
    #[serde(rename = "$gte")]
    Gte,
    #[serde(rename = "$lt")]
    Lt,
    #[serde(rename = "$lte")]
    Lte,
    #[serde(rename = "$in")]
    In,
    #[serde(rename = "$nin")]
    Nin,
    #[serde(rename = "$regex")]
    Regex,
    #[serde(rename = "$exists")]
    Exists,
}

impl Op {
    fn named(name: &str) -> Option<Op> {
        Op::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(name))
            .ok()
    }
}

/// A value as it is bound: text in the field's SQL form (a number's digits, an ISO time made
/// `YYYY-MM-DD HH:mm:ss`), cast to the field's type in SQL.
#[derive(Clone, PartialEq, Debug)]
pub enum Operand {
    One(String),
    Many(Vec<String>),
    Flag(bool),
}

#[derive(Clone, PartialEq, Debug)]
pub enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Test {
        field: Field,
        op: Op,
        operand: Operand,
    },
}

pub type Refused = String;

/// Counts nodes while a tree is built.
struct Budget {
    nodes: usize,
}

impl Budget {
    fn take(&mut self, n: usize) -> Result<(), Refused> {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            return Err(format!("query has more than {MAX_NODES} nodes"));
        }
        Ok(())
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// One value of `field`, typed: the text it is bound as.
fn scalar(field: Field, v: &Value) -> Result<String, Refused> {
    let wrong = || {
        let expected = match field.kind() {
            Kind::Number => "a number",
            Kind::Text => "a string",
            Kind::Bool => "a boolean",
            Kind::Time => "an ISO 8601 date or date and time (YYYY-MM-DD[THH:mm:ss])",
        };
        format!("{} takes {expected}, not {}", field.name(), json_kind(v))
    };
    match (field.kind(), v) {
        (Kind::Number, Value::Number(n)) => Ok(n.to_string()),
        (Kind::Bool, Value::Bool(b)) => Ok(b.to_string()),
        (Kind::Text, Value::String(s)) if s.chars().count() > MAX_VALUE_CHARS => Err(format!(
            "a value of {} is longer than {MAX_VALUE_CHARS} characters",
            field.name()
        )),
        (Kind::Text, Value::String(s)) => Ok(s.clone()),
        (Kind::Time, Value::String(s)) => crate::dates::iso_date_time(s).ok_or_else(|| {
            format!(
                "{} takes an ISO 8601 date or date and time (YYYY-MM-DD[THH:mm:ss]), not {:?}",
                field.name(),
                s.chars().take(40).collect::<String>()
            )
        }),
        _ => Err(wrong()),
    }
}

/// `field op value`, typed.
fn test(field: Field, op_name: &str, v: &Value, budget: &mut Budget) -> Result<Node, Refused> {
    let op =
        Op::named(op_name).ok_or_else(|| format!("query operator {op_name:?} is not supported"))?;
    budget.take(1)?;
    let operand = match op {
        Op::In | Op::Nin => {
            let items = v.as_array().ok_or_else(|| {
                format!(
                    "{op_name} on {} takes an array, not {}",
                    field.name(),
                    json_kind(v)
                )
            })?;
            budget.take(items.len())?;
            Operand::Many(
                items
                    .iter()
                    .map(|i| scalar(field, i))
                    .collect::<Result<_, _>>()?,
            )
        }
        Op::Exists => Operand::Flag(v.as_bool().ok_or_else(|| {
            format!(
                "$exists on {} takes true or false, not {}",
                field.name(),
                json_kind(v)
            )
        })?),
        Op::Regex if field.kind() != Kind::Text => {
            return Err(format!(
                "$regex applies to text fields; {} is not one",
                field.name()
            ))
        }
        _ => Operand::One(scalar(field, v)?),
    };
    Ok(Node::Test { field, op, operand })
}

fn field_named(name: &str) -> Result<Field, Refused> {
    Field::named(name).ok_or_else(|| format!("query field {name:?} is not a line field"))
}

/// The object form: `{"field": value, "field": {"$op": value, ...}, "$and": [...], "$or": [...]}`.
pub fn from_object(v: &Value) -> Result<Node, Refused> {
    object(v, 1, &mut Budget { nodes: 0 })
}

fn object(v: &Value, depth: usize, budget: &mut Budget) -> Result<Node, Refused> {
    if depth > MAX_DEPTH {
        return Err(format!("query is nested deeper than {MAX_DEPTH} levels"));
    }
    let Value::Object(members) = v else {
        return Err(format!("query must be a JSON object, not {}", json_kind(v)));
    };
    let mut all = vec![];
    for (key, value) in members {
        match key.as_str() {
            "$and" | "$or" => {
                let items = value
                    .as_array()
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| format!("{key} takes a non-empty array of queries"))?;
                budget.take(1)?;
                let children = items
                    .iter()
                    .map(|i| object(i, depth + 1, budget))
                    .collect::<Result<Vec<_>, _>>()?;
                all.push(if key == "$and" {
                    Node::All(children)
                } else {
                    Node::Any(children)
                });
            }
            op if op.starts_with('$') => {
                return Err(format!("query operator {op:?} is not supported"))
            }
            name => {
                let field = field_named(name)?;
                match value {
                    Value::Object(ops) if ops.is_empty() => {
                        return Err(format!("{name} has an empty condition"))
                    }
                    Value::Object(ops) => {
                        for (op, operand) in ops {
                            all.push(test(field, op, operand, budget)?);
                        }
                    }
                    plain => all.push(test(field, "$eq", plain, budget)?),
                }
            }
        }
    }
    Ok(Node::All(all))
}

/// One condition of the array form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Condition {
    field_name: String,
    op: String,
    value: Value,
}

/// The array form: `[[{"field_name", "op", "value"}, ...], ...]`, the outer array OR, the inner AND.
pub fn from_conditions(v: &Value) -> Result<Node, Refused> {
    let shape = || {
        "query must be an array of arrays of {\"field_name\", \"op\", \"value\"} conditions"
            .to_owned()
    };
    let groups = v.as_array().filter(|a| !a.is_empty()).ok_or_else(shape)?;
    let mut budget = Budget { nodes: 0 };
    let mut any = vec![];
    for group in groups {
        let conditions = group
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(shape)?;
        budget.take(1)?;
        let mut all = vec![];
        for c in conditions {
            let c = Condition::deserialize(c).map_err(|e| format!("{}: {e}", shape()))?;
            all.push(test(
                field_named(&c.field_name)?,
                &c.op,
                &c.value,
                &mut budget,
            )?);
        }
        any.push(Node::All(all));
    }
    Ok(Node::Any(any))
}

impl Node {
    /// Does the tree name `field`?
    pub fn names(&self, field: Field) -> bool {
        match self {
            Node::All(c) | Node::Any(c) => c.iter().any(|n| n.names(field)),
            Node::Test { field: f, .. } => *f == field,
        }
    }

    /// Every `$regex` pattern of the tree (checked by PostgreSQL before the query runs).
    pub fn patterns(&self) -> Vec<&str> {
        match self {
            Node::All(c) | Node::Any(c) => c.iter().flat_map(Node::patterns).collect(),
            Node::Test {
                op: Op::Regex,
                operand: Operand::One(p),
                ..
            } => vec![p.as_str()],
            Node::Test { .. } => vec![],
        }
    }
}

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use super::*;
    use pgrx::prelude::*;
    use serde_json::json;

    #[pg_test]
    fn the_object_form_is_typed() {
        let node = from_object(&json!({"usaget": "call", "usagev": {"$gt": 2}})).unwrap();
        assert_eq!(
            node,
            Node::All(vec![
                Node::Test {
                    field: Field::Usaget,
                    op: Op::Eq,
                    operand: Operand::One("call".into())
                },
                Node::Test {
                    field: Field::Usagev,
                    op: Op::Gt,
                    operand: Operand::One("2".into())
                },
            ])
        );
        assert!(from_object(&json!({"usagev": "2"}))
            .unwrap_err()
            .contains("usagev takes a number"));
        assert!(from_object(&json!({"$where": "1"}))
            .unwrap_err()
            .contains("\"$where\""));
        assert!(from_object(&json!({"tenant": 1}))
            .unwrap_err()
            .contains("\"tenant\""));
        assert!(from_object(&json!({"usagev": {"$function": 1}}))
            .unwrap_err()
            .contains("\"$function\""));
        assert!(from_object(&json!({"usagev": {"$regex": "1"}}))
            .unwrap_err()
            .contains("text fields"));
    }

    #[pg_test]
    fn depth_and_size_are_bounded() {
        let mut deep = json!({"aid": 1});
        for _ in 0..MAX_DEPTH {
            deep = json!({"$and": [deep]});
        }
        assert!(from_object(&deep).unwrap_err().contains("nested deeper"));
        let wide: Vec<i64> = (0..MAX_NODES as i64).collect();
        assert!(from_object(&json!({"aid": {"$in": wide}}))
            .unwrap_err()
            .contains("nodes"));
    }

    #[pg_test]
    fn the_array_form_is_or_of_and() {
        let node =
            from_conditions(&json!([[{"field_name": "usaget", "op": "$eq", "value": "call"}]]))
                .unwrap();
        assert_eq!(
            node,
            Node::Any(vec![Node::All(vec![Node::Test {
                field: Field::Usaget,
                op: Op::Eq,
                operand: Operand::One("call".into())
            }])])
        );
        assert!(from_conditions(
            &json!([[{"field_name": "usaget", "op": "$eq", "value": "x", "extra": 1}]])
        )
        .is_err());
        assert!(from_conditions(&json!([{"field_name": "usaget"}])).is_err());
    }
}
