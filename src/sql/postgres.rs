//! PostgreSQL's `jsonb`: `$n` placeholders with every parameter bound as text, `#>` paths
//! and `jsonb_array_elements`.

use super::translate::{Syntax, Val};
use super::SqlParam;

/// The functions the PostgreSQL dialect calls, to run once in the database.
pub const POSTGRES_FUNCTIONS: &str = include_str!("postgres_functions.sql");

/// PostgreSQL with `jsonb` documents.
pub(super) struct Postgres;

/// A `text[]` path literal for `#>`: `'{"a","b"}'`; `None` when a name cannot be quoted.
pub(super) fn path(keys: &[&str]) -> Option<String> {
    if !keys.iter().all(|k| super::translate::quotable(k)) {
        return None;
    }
    let quoted: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
    Some(format!("'{{{}}}'", quoted.join(",")))
}

/// A `jsonb` value's parts.
fn val(json: String) -> Val {
    Val {
        text: format!("({json} #>> '{{}}')"),
        ty: format!("jsonb_typeof({json})"),
        json,
    }
}

impl Syntax for Postgres {
    fn bind(&self, param: SqlParam, n: usize) -> (String, SqlParam) {
        let (text, cast) = match param {
            SqlParam::Text(t) => (t, ""),
            SqlParam::Integer(i) => (i.to_string(), "::numeric"),
            SqlParam::Real(r) => (r.to_string(), "::numeric"),
        };
        (format!("(${n}::text){cast}"), SqlParam::Text(text))
    }

    fn truth(&self, value: bool) -> &'static str {
        if value {
            "TRUE"
        } else {
            "FALSE"
        }
    }

    fn each(&self, base: &str, keys: &[&str], alias: &str) -> String {
        let path = path(keys).unwrap_or_else(|| "'{}'".into());
        let j = format!("({base} #> {path})");
        // A lone value is one element, as the evaluator reads it.
        format!(
            "jsonb_array_elements(CASE WHEN jsonb_typeof({j}) = 'array' THEN {j} \
             WHEN {j} IS NULL THEN '[]'::jsonb ELSE jsonb_build_array({j}) END) AS {alias}(value)"
        )
    }

    fn value(&self, base: &str, keys: &[&str]) -> Option<Val> {
        Some(val(format!("({base} #> {})", path(keys)?)))
    }

    fn object_at(&self, base: &str, keys: &[&str]) -> Option<(String, String)> {
        let j = format!("({base} #> {})", path(keys)?);
        let is_object = format!("jsonb_typeof({j}) = 'object'");
        Some((j, is_object))
    }

    fn element_is_object(&self, alias: &str) -> String {
        format!("jsonb_typeof({alias}.value) = 'object'")
    }

    fn element(&self, alias: &str, sub: Option<&str>) -> Val {
        match sub {
            None => val(format!("{alias}.value")),
            Some(sub) => val(format!("({alias}.value -> '{sub}')")),
        }
    }

    fn present(&self, v: &Val) -> String {
        let Val { text, ty, json } = v;
        format!(
            "(CASE {ty} WHEN 'string' THEN {text} <> '' WHEN 'array' THEN jsonb_array_length({json}) > 0 \
             WHEN 'object' THEN {json} <> '{{}}'::jsonb WHEN 'null' THEN FALSE ELSE {ty} IS NOT NULL END)"
        )
    }

    fn is_text(&self, v: &Val) -> String {
        format!("{} = 'string'", v.ty)
    }

    fn is_bool(&self, v: &Val, want: bool) -> String {
        format!("{} = '{want}'::jsonb", v.json)
    }

    fn number(&self, v: &Val, op: &str, p: &str) -> String {
        format!(
            "(CASE WHEN {} = 'number' THEN {}::numeric END) {op} {p}",
            v.ty, v.text
        )
    }

    fn bytewise(&self, text: &str) -> String {
        format!("{text} COLLATE \"C\"")
    }

    fn find(&self) -> &'static str {
        "strpos"
    }

    fn ends_with(&self, text: &str, length_of: &str, suffix: &str) -> String {
        format!("right({text}, char_length({length_of})) = {suffix}")
    }
}
