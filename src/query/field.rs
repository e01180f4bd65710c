//! The line fields a query may name (SPEC §4.3): a closed enum, read by serde from the field's name, each
//! with its column in `lines()` and its type.  No other name can reach SQL.
use serde::Deserialize;

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Aid,
    Sid,
    Stamp,
    Usaget,
    Usagev,
    Urt,
    Arate,
    Aprice,
    Billrun,
    File,
    ClientRecordId,
    #[serde(rename = "qualifier_1")]
    Qualifier1,
    #[serde(rename = "qualifier_2")]
    Qualifier2,
    #[serde(rename = "qualifier_3")]
    Qualifier3,
    #[serde(rename = "qualifier_4")]
    Qualifier4,
    Excluded,
    Billed,
    InvoiceNo,
}

/// What a field's values are, and so what a query may compare it with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Number,
    Text,
    Bool,
    /// An ISO 8601 day or day and time.
    Time,
}

impl Field {
    #[cfg_attr(not(any(test, feature = "pg_test")), allow(dead_code))]
    pub const ALL: [Field; 18] = [
        Field::Aid,
        Field::Sid,
        Field::Stamp,
        Field::Usaget,
        Field::Usagev,
        Field::Urt,
        Field::Arate,
        Field::Aprice,
        Field::Billrun,
        Field::File,
        Field::ClientRecordId,
        Field::Qualifier1,
        Field::Qualifier2,
        Field::Qualifier3,
        Field::Qualifier4,
        Field::Excluded,
        Field::Billed,
        Field::InvoiceNo,
    ];

    /// The field named `name`, if it is one.
    pub fn named(name: &str) -> Option<Field> {
        Field::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(name))
            .ok()
    }

    /// Its name, which is also its column in `lines()`.
    pub fn name(self) -> &'static str {
        match self {
            Field::Aid => "aid",
            Field::Sid => "sid",
            Field::Stamp => "stamp",
            Field::Usaget => "usaget",
            Field::Usagev => "usagev",
            Field::Urt => "urt",
            Field::Arate => "arate",
            Field::Aprice => "aprice",
            Field::Billrun => "billrun",
            Field::File => "file",
            Field::ClientRecordId => "client_record_id",
            Field::Qualifier1 => "qualifier_1",
            Field::Qualifier2 => "qualifier_2",
            Field::Qualifier3 => "qualifier_3",
            Field::Qualifier4 => "qualifier_4",
            Field::Excluded => "excluded",
            Field::Billed => "billed",
            Field::InvoiceNo => "invoice_no",
        }
    }

    pub fn kind(self) -> Kind {
        match self {
            Field::Aid
            | Field::Sid
            | Field::Stamp
            | Field::Usagev
            | Field::Arate
            | Field::Aprice
            | Field::InvoiceNo => Kind::Number,
            Field::Excluded | Field::Billed => Kind::Bool,
            Field::Urt => Kind::Time,
            _ => Kind::Text,
        }
    }

    /// The SQL type its values are bound as.
    pub fn sql_type(self) -> &'static str {
        match self.kind() {
            Kind::Number => "numeric",
            Kind::Text => "text",
            Kind::Bool => "boolean",
            Kind::Time => "timestamp",
        }
    }
}

/// The lines of a client (`$1`) as fields: one row per usage record, its columns named after the fields
/// (and two more that no query can name, for reset_lines: the usage type's number and the account's next
/// bill date).  The joins are LEFT, on unique keys, and bind the client as `$1` (so that a hash join hashes
/// one key); the planner drops the usage type's when `usaget` is not read.  The billing cycle's joins
/// (`billrun`, `next_bill_date`) are left out when nothing reads them (`with_cycle` false): even dropped by
/// the planner, a join leaves its key column needed, and `billing_batch_id` is not in the index that
/// answers an account's lines from the index alone (a query of a million lines by usage type took 1.5x
/// the hand-written one).  A line's `billrun` is the month of the bill date that closes its cycle: its
/// billing run's date when billed, else its account's next bill date.
pub fn lines(with_cycle: bool) -> String {
    let (billrun, next_bill_date, joins) = if with_cycle {
        (
            "to_char(coalesce(b.billing_date, p.next_bill_date), 'YYYYMM')",
            "p.next_bill_date",
            "
    LEFT JOIN backout.billing_batch b ON b.client_id = $1 AND b.billing_batch_id = u.billing_batch_id
    LEFT JOIN backout.billing_profile p ON p.client_id = $1 AND p.acct_no = u.acct_no",
        )
    } else {
        ("NULL::text", "NULL::date", "")
    };
    format!(
        r#"
    SELECT u.acct_no AS aid, u.sid, u.txn_id AS stamp, ut.usage_type_code AS usaget, u.units AS usagev,
           u.usage_date AS urt, u.unit_price AS arate, u.amount AS aprice, {billrun} AS billrun, u.file_name AS file,
           u.client_record_id, u.qualifier_1, u.qualifier_2, u.qualifier_3, u.qualifier_4,
           u.is_excluded AS excluded, u.billing_batch_id IS NOT NULL AS billed, u.invoice_no,
           u.usage_type_no, {next_bill_date} AS next_bill_date
    FROM backout.usage_txn u
    LEFT JOIN backout.usage_type ut ON ut.client_id = $1 AND ut.usage_type_no = u.usage_type_no{joins}
    WHERE u.client_id = $1"#
    )
}

/// A line as BillRun answers it: `{"aid": ..., "urt": "YYYY-MM-DDTHH:mm:ss", ...}` (over `lines()` as `l`).
pub const LINE_JSON: &str = r#"jsonb_build_object(
        'aid', l.aid, 'sid', l.sid, 'stamp', l.stamp, 'usaget', l.usaget, 'usagev', l.usagev,
        'urt', to_char(l.urt, 'YYYY-MM-DD"T"HH24:MI:SS'), 'arate', l.arate, 'aprice', l.aprice,
        'billrun', l.billrun, 'file', l.file, 'client_record_id', l.client_record_id,
        'qualifier_1', l.qualifier_1, 'qualifier_2', l.qualifier_2, 'qualifier_3', l.qualifier_3,
        'qualifier_4', l.qualifier_4, 'excluded', l.excluded, 'billed', l.billed, 'invoice_no', l.invoice_no)"#;

/// A field's plain value as json (`distinct_field`, group keys): times in the lines' ISO form.
pub fn json_value(field: Field) -> String {
    match field.kind() {
        Kind::Time => format!(
            "to_jsonb(to_char(l.{}, 'YYYY-MM-DD\"T\"HH24:MI:SS'))",
            field.name()
        ),
        _ => format!("to_jsonb(l.{})", field.name()),
    }
}

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use super::*;
    use pgrx::prelude::*;

    #[pg_test]
    fn every_field_is_named_as_its_column_and_nothing_else_is_a_field() {
        for field in Field::ALL {
            assert_eq!(Field::named(field.name()), Some(field));
            let column = [
                format!("AS {},", field.name()),
                format!("u.{},", field.name()),
            ];
            let lines = lines(true);
            assert!(
                column.iter().any(|c| lines.contains(c)),
                "{} is a column of the lines",
                field.name()
            );
        }
        for name in [
            "client_id",
            "txn_id",
            "amount",
            "AID",
            "aid ",
            "usage_type_no",
            "next_bill_date",
            "",
        ] {
            assert_eq!(Field::named(name), None, "{name:?}");
        }
    }
}
