//! A query tree as SQL over `field::lines()` (alias `l`): column names from the field enum, every value a bind
//! parameter cast to its field's type.
use super::tree::{Node, Op, Operand};
use pgrx::datum::DatumWithOid;

/// The parameters of a statement, numbered from the first one the query may use.
pub struct Params {
    first: usize,
    values: Vec<DatumWithOid<'static>>,
}

impl Params {
    /// Parameters after the statement's own `$1..$before`.
    pub fn after(before: usize) -> Params {
        Params {
            first: before + 1,
            values: vec![],
        }
    }

    pub fn bind(&mut self, value: DatumWithOid<'static>) -> String {
        self.values.push(value);
        format!("${}", self.first + self.values.len() - 1)
    }

    pub fn into_values(self) -> Vec<DatumWithOid<'static>> {
        self.values
    }
}

/// The condition the tree stands for.  Missing values behave as in BillRun: `$ne` and `$nin` match a line
/// without the field, the other comparisons do not.
pub fn condition(node: &Node, params: &mut Params) -> String {
    match node {
        Node::All(c) if c.is_empty() => "true".into(),
        Node::Any(c) if c.is_empty() => "false".into(),
        Node::All(c) => join(c, " AND ", params),
        Node::Any(c) => join(c, " OR ", params),
        Node::Test { field, op, operand } => {
            let column = format!("l.{}", field.name());
            let ty = field.sql_type();
            match (op, operand) {
                (Op::Exists, Operand::Flag(true)) => format!("{column} IS NOT NULL"),
                (Op::Exists, _) => format!("{column} IS NULL"),
                (Op::In, Operand::Many(v)) => {
                    format!(
                        "{column} = ANY (CAST({} AS {ty}[]))",
                        params.bind(v.clone().into())
                    )
                }
                (Op::Nin, Operand::Many(v)) => format!(
                    "NOT coalesce({column} = ANY (CAST({} AS {ty}[])), false)",
                    params.bind(v.clone().into())
                ),
                (Op::Regex, Operand::One(p)) => {
                    format!("{column} ~ {}", params.bind(p.clone().into()))
                }
                (op, Operand::One(v)) => {
                    let value = format!("CAST({} AS {ty})", params.bind(v.clone().into()));
                    match op {
                        Op::Ne => format!("{column} IS DISTINCT FROM {value}"),
                        Op::Gt => format!("{column} > {value}"),
                        Op::Gte => format!("{column} >= {value}"),
                        Op::Lt => format!("{column} < {value}"),
                        Op::Lte => format!("{column} <= {value}"),
                        _ => format!("{column} = {value}"),
                    }
                }
                // the tree never pairs an operator with another operand shape
                _ => "false".into(),
            }
        }
    }
}

fn join(children: &[Node], with: &str, params: &mut Params) -> String {
    let parts: Vec<String> = children.iter().map(|c| condition(c, params)).collect();
    format!("({})", parts.join(with))
}
