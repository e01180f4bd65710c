//! BillRun (SPEC §4.3): `reset_lines` re-rates lines of a cycle as a batch (`reset.rs`); `query_lines` and
//! `query_aggregate` read them (`lines.rs`).  A BillRun line is a usage record, its fields those of
//! `query::field`.  Every answer is `{"status": 1|0, "desc": ..., "input": {...}, ...}`: bad input is
//! answered with status 0 and a `desc` naming what is wrong, never raised.
pub mod lines;
pub mod reset;

use crate::raw_jsonb::RawJsonb;
use crate::reply::read_value;
use pgrx::datum::DatumWithOid;

/// At most this many aids, or sids, per call.
pub const MAX_IDS: usize = 1000;

/// The arguments as received, echoed under `input` (those given only; a jsonb argument as it came).
#[derive(Default)]
pub struct Input {
    keys: Vec<&'static str>,
    values: Vec<DatumWithOid<'static>>,
}

impl Input {
    pub fn with(mut self, key: &'static str, value: Option<DatumWithOid<'static>>) -> Self {
        if let Some(v) = value {
            self.keys.push(key);
            self.values.push(v);
        }
        self
    }

    /// `{"status": status, "desc": desc, "input": {...}}` merged with `extra` (a jsonb object or NULL).
    pub fn answer(self, status: i32, desc: &str, extra: Option<RawJsonb>) -> RawJsonb {
        let n = self.keys.len();
        let pairs: Vec<String> = self
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| format!("'{k}', ${}", i + 4))
            .collect();
        let sql = format!(
            "SELECT pg_catalog.jsonb_build_object('status', $1, 'desc', $2, 'input', pg_catalog.jsonb_build_object({}))
                    || coalesce($3::jsonb, '{{}}')",
            pairs.join(", ")
        );
        let mut args: Vec<DatumWithOid> = vec![status.into(), desc.into(), extra.into()];
        args.extend(self.values);
        debug_assert_eq!(args.len(), n + 3);
        read_value::<RawJsonb>(&sql, &args).expect("answer")
    }

    pub fn failed(self, desc: &str) -> RawJsonb {
        self.answer(0, desc, None)
    }
}

/// A comma-separated list of ids (`223456,554321`): None when empty or when any element is not a number.
pub fn id_list(text: Option<&str>) -> Option<Vec<i64>> {
    let ids: Option<Vec<i64>> = text?
        .split(',')
        .map(|t| {
            let t = t.trim();
            (!t.is_empty() && t.len() <= 18 && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse().ok())
                .flatten()
        })
        .collect();
    ids.filter(|v| !v.is_empty())
}

/// A billrun key: `YYYYMM`.
pub fn is_billrun_key(text: &str) -> bool {
    text.len() == 6
        && text.bytes().all(|b| b.is_ascii_digit())
        && (1..=12).contains(&text[4..].parse::<u32>().unwrap_or(0))
}
