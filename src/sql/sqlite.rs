//! SQLite's JSON1: documents as JSON text, `?` placeholders, `json_extract` and
//! `json_each`.

use super::translate::{json_path, Syntax, Val};
use super::SqlParam;

/// SQLite with JSON1.
pub(super) struct Sqlite;

impl Syntax for Sqlite {
    fn bind(&self, param: SqlParam, _: usize) -> (String, SqlParam) {
        ("?".into(), param)
    }

    fn truth(&self, value: bool) -> &'static str {
        if value {
            "1"
        } else {
            "0"
        }
    }

    fn each(&self, base: &str, keys: &[&str], alias: &str) -> String {
        let path = json_path(keys).unwrap_or_else(|| "$.\"\"".into());
        format!("json_each({base}, '{path}') AS {alias}")
    }

    fn value(&self, base: &str, keys: &[&str]) -> Option<Val> {
        let p = json_path(keys)?;
        let value = format!("json_extract({base}, '{p}')");
        Some(Val {
            text: value.clone(),
            ty: format!("json_type({base}, '{p}')"),
            json: value,
        })
    }

    fn object_at(&self, base: &str, keys: &[&str]) -> Option<(String, String)> {
        let p = json_path(keys)?;
        Some((
            format!("json_extract({base}, '{p}')"),
            format!("json_type({base}, '{p}') = 'object'"),
        ))
    }

    fn element_is_object(&self, alias: &str) -> String {
        format!("{alias}.type = 'object'")
    }

    fn element(&self, alias: &str, sub: Option<&str>) -> Val {
        match sub {
            None => Val {
                text: format!("{alias}.value"),
                ty: format!("{alias}.type"),
                json: format!("{alias}.value"),
            },
            Some(sub) => {
                let p = json_path(&[sub]).unwrap_or_default();
                let value = format!(
                    "(CASE WHEN {alias}.type = 'object' THEN json_extract({alias}.value, '{p}') END)"
                );
                Val {
                    text: value.clone(),
                    ty: format!(
                        "(CASE WHEN {alias}.type = 'object' THEN json_type({alias}.value, '{p}') END)"
                    ),
                    json: value,
                }
            }
        }
    }

    fn present(&self, v: &Val) -> String {
        let Val { text, ty, json } = v;
        format!(
            "(CASE {ty} WHEN 'text' THEN {text} <> '' WHEN 'array' THEN json_array_length({json}) > 0 \
             WHEN 'object' THEN {json} <> '{{}}' WHEN 'null' THEN 0 ELSE {ty} IS NOT NULL END)"
        )
    }

    fn is_text(&self, v: &Val) -> String {
        format!("{} = 'text'", v.ty)
    }

    fn is_bool(&self, v: &Val, want: bool) -> String {
        format!("{} = '{want}'", v.ty)
    }

    fn number(&self, v: &Val, op: &str, p: &str) -> String {
        format!("{} IN ('integer', 'real') AND {} {op} {p}", v.ty, v.text)
    }

    fn bytewise(&self, text: &str) -> String {
        // SQLite compares text by its bytes already.
        text.to_owned()
    }

    fn find(&self) -> &'static str {
        "instr"
    }

    fn ends_with(&self, text: &str, length_of: &str, suffix: &str) -> String {
        format!("substr({text}, -length({length_of})) = {suffix}")
    }
}
