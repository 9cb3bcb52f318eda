//! SCIM filters and sorts as SQL over resources stored as JSON documents.
//!
//! [`Translator::filter`] turns a [`Filter`] into a parameterised `WHERE` condition with
//! the same meaning as [`Matcher`](crate::eval::Matcher) for resources that follow their
//! schemas (as the service's normalised resources do): `caseExact` and case-insensitive
//! strings, "any element" for multi-valued attributes, value paths where one element must
//! satisfy the whole inner filter, dateTime comparisons by instant, `pr`, `eq null`.
//! Values are always bound parameters, never spliced into the SQL text.
//!
//! What cannot be translated (attributes no schema defines, unusual shapes) is not
//! dropped: it becomes `1` or `0` so that the condition selects a superset, and
//! [`SqlFilter::exact`] is `false` — the store then checks the rows it reads with the
//! `Matcher`. A store can always trust the rows an exact condition selects.
//!
//! Two dialects: SQLite's JSON1 (the default: documents in a `TEXT` column, `?`
//! placeholders) and PostgreSQL's `jsonb` ([`Dialect::Postgres`]: `$n` placeholders, every
//! parameter bound as text). Both call two functions the database must have:
//! `scim_fold(text)`, which lower-cases as [`fold`] does, and `scim_instant(text)`, which
//! maps an `xsd:dateTime` to [`instant`]'s sortable text or `NULL`. On SQLite they are
//! registered on each connection ([`SqliteStore`](crate::store::SqliteStore) does this);
//! on PostgreSQL [`POSTGRES_FUNCTIONS`] creates them. PostgreSQL's `lower` differs from
//! [`fold`] on two characters (a final `Σ`, which Rust folds to `ς`, and `İ`), and its
//! timestamps keep microseconds where [`instant`] keeps nanoseconds; `scim_instant` there
//! reads the text itself, so dateTimes compare exactly in both.
//!
//! ```
//! use scimkit::schema::Registry;
//! use scimkit::sql::{SqlParam, Translator};
//!
//! let registry = Registry::scim_default();
//! let users = registry.resource_type("User").unwrap();
//! let filter = r#"userName eq "BJensen" and emails[type eq "work"]"#.parse()?;
//! let sql = Translator::new(&users, "r.doc").filter(&filter);
//! assert!(sql.exact);
//! assert!(sql.sql.contains("scim_fold(json_extract(r.doc, '$.\"userName\"')) = ?"));
//! assert_eq!(sql.params[0], SqlParam::Text("bjensen".into()));
//! # Ok::<(), scimkit::FilterError>(())
//! ```

use std::fmt::Write as _;

use crate::eval::parse_datetime;
use crate::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::schema::{AttrKind, Attribute, ResourceTypeView};

/// The SQL a [`Translator`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Dialect {
    /// SQLite with JSON1: documents as JSON text, `?` placeholders.
    #[default]
    Sqlite,
    /// PostgreSQL: documents as `jsonb`, `$1`, `$2`, … placeholders, every parameter text.
    Postgres,
}

/// The functions the PostgreSQL dialect calls, to run once in the database.
pub const POSTGRES_FUNCTIONS: &str = r#"
CREATE OR REPLACE FUNCTION scim_fold(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT lower(t) $$;
CREATE OR REPLACE FUNCTION scim_instant(t text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    m text[];
    secs numeric;
BEGIN
    m := regexp_match(t, '^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$');
    IF m IS NULL THEN
        RETURN NULL;
    END IF;
    secs := extract(epoch FROM (m[1] || ' ' || m[2] || coalesce(upper(m[4]), 'Z'))::timestamptz);
    RETURN lpad((trunc(secs)::bigint + 4611686018427387904)::text, 20, '0') || '.'
        || substr(rpad(coalesce(substr(m[3], 2), ''), 9, '0'), 1, 9);
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;
"#;

/// A value bound to a placeholder, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlParam {
    /// A text value.
    Text(String),
    /// An integer.
    Integer(i64),
    /// A floating-point number.
    Real(f64),
}

/// A translated filter: a condition with `?` placeholders and their values.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlFilter {
    /// The condition, to be `AND`ed into a `WHERE` clause.
    pub sql: String,
    /// The values of the placeholders, in order.
    pub params: Vec<SqlParam>,
    /// Whether the condition selects exactly the matching resources. When `false` it
    /// selects a superset, and the rows must be checked with the filter's `Matcher`.
    pub exact: bool,
}

/// Where the elements of a multi-valued attribute come from when a store keeps them
/// outside the document: a table expression with a column `value`, the element (SQLite:
/// its JSON text, with a column `type` naming its JSON type as `json_each` does;
/// PostgreSQL: `jsonb`).
pub type ElementSource<'a> = dyn Fn(&Attribute) -> Option<String> + 'a;

/// Translates filters and sorts for one resource type.
pub struct Translator<'a> {
    view: &'a ResourceTypeView<'a>,
    doc: &'a str,
    elements: Option<&'a ElementSource<'a>>,
    dialect: Dialect,
    first_param: usize,
}

/// SCIM's case folding for case-insensitive strings: Unicode lower case, as the
/// in-memory evaluator compares. Register it as `scim_fold` (deterministic).
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// An `xsd:dateTime` as text that sorts as the instants do, or `None` when it is not one.
/// Register it as `scim_instant` (deterministic).
pub fn instant(text: &str) -> Option<String> {
    let t = parse_datetime(text)?;
    // Seconds biased to be positive, zero-padded, then nanoseconds: text order is time order.
    let secs = (t.timestamp() as i128 + (1i128 << 62)) as u128;
    Some(format!("{secs:020}.{:09}", t.timestamp_subsec_nanos()))
}

/// Whether a part of a condition is negated: in the whole condition (`whole`, for the
/// superset an untranslatable part must keep), and below the nearest `WHERE` that reads
/// NULL as false (`local`, for whether a missing value may stay NULL).
#[derive(Clone, Copy)]
struct Polarity {
    whole: bool,
    local: bool,
}

impl Polarity {
    const ROOT: Polarity = Polarity {
        whole: true,
        local: true,
    };

    fn negated(self) -> Polarity {
        Polarity {
            whole: !self.whole,
            local: !self.local,
        }
    }

    /// At the root of a subquery's `WHERE`.
    fn in_where(self) -> Polarity {
        Polarity {
            whole: self.whole,
            local: true,
        }
    }
}

/// Where a comparison reads its values.
enum Slot {
    /// One JSON value.
    One(Val),
    /// Each element of a multi-valued attribute: the table function or subquery, and the
    /// element's sub-attribute to read (`None`: the element itself).
    Each { source: Source, sub: Option<String> },
}

/// The elements of a multi-valued attribute.
enum Source {
    /// In the document: the JSON expression holding it and the keys to it.
    Document(String, Vec<String>),
    /// Where the store keeps them.
    Table(String),
}

/// One JSON value, as SQL expressions.
struct Val {
    /// SQLite: the SQL value (`json_extract`); PostgreSQL: the text (`#>> '{}'`).
    text: String,
    /// Its JSON type, in the dialect's names.
    ty: String,
    /// The value as JSON (SQLite: JSON text for arrays and objects; PostgreSQL: `jsonb`).
    json: String,
}

struct Out {
    params: Vec<SqlParam>,
    exact: bool,
    aliases: usize,
    dialect: Dialect,
    first_param: usize,
}

impl Out {
    /// Binds a value; returns its placeholder.
    fn bind(&mut self, param: SqlParam) -> String {
        match self.dialect {
            Dialect::Sqlite => {
                self.params.push(param);
                "?".into()
            }
            Dialect::Postgres => {
                let n = self.first_param + self.params.len();
                let (text, cast) = match param {
                    SqlParam::Text(t) => (t, ""),
                    SqlParam::Integer(i) => (i.to_string(), "::numeric"),
                    SqlParam::Real(r) => (r.to_string(), "::numeric"),
                };
                self.params.push(SqlParam::Text(text));
                format!("(${n}::text){cast}")
            }
        }
    }

    fn truth(&self, value: bool) -> &'static str {
        match (self.dialect, value) {
            (Dialect::Sqlite, true) => "1",
            (Dialect::Sqlite, false) => "0",
            (Dialect::Postgres, true) => "TRUE",
            (Dialect::Postgres, false) => "FALSE",
        }
    }
}

/// Whether a key can be written into a path literal as it is.
fn quotable(key: &str) -> bool {
    !key.contains(['"', '\'', '\\', ',', '{', '}'])
        && !key.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// A JSON path literal for SQLite: `$."a"."b"`; `None` when a name cannot be quoted.
fn json_path(keys: &[&str]) -> Option<String> {
    let mut path = String::from("$");
    for key in keys {
        if !quotable(key) {
            return None;
        }
        let _ = write!(path, ".\"{key}\"");
    }
    Some(path)
}

/// A `text[]` path literal for PostgreSQL's `#>`: `'{"a","b"}'`.
fn pg_path(keys: &[&str]) -> Option<String> {
    if !keys.iter().all(|k| quotable(k)) {
        return None;
    }
    let quoted: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
    Some(format!("'{{{}}}'", quoted.join(",")))
}

fn is_string_kind(kind: AttrKind) -> bool {
    matches!(
        kind,
        AttrKind::String | AttrKind::Reference | AttrKind::Binary
    )
}

impl<'a> Translator<'a> {
    /// A translator for resources of `view` whose JSON document is the SQL expression
    /// `doc` (a column, such as `r.doc`).
    pub fn new(view: &'a ResourceTypeView<'a>, doc: &'a str) -> Translator<'a> {
        Translator {
            view,
            doc,
            elements: None,
            dialect: Dialect::Sqlite,
            first_param: 1,
        }
    }

    /// Writes `dialect`. For PostgreSQL, `first_param` is the number of the first
    /// placeholder (`$1` when the condition's parameters come first in the query).
    pub fn dialect(mut self, dialect: Dialect, first_param: usize) -> Translator<'a> {
        self.dialect = dialect;
        self.first_param = first_param.max(1);
        self
    }

    /// Reads the elements of the multi-valued attributes `source` names from where the
    /// store keeps them (a members table, say) instead of the document.
    pub fn with_elements(mut self, source: &'a ElementSource<'a>) -> Translator<'a> {
        self.elements = Some(source);
        self
    }

    /// The condition for `filter`.
    pub fn filter(&self, filter: &Filter) -> SqlFilter {
        let mut out = Out {
            params: Vec::new(),
            exact: true,
            aliases: 0,
            dialect: self.dialect,
            first_param: self.first_param,
        };
        let sql = self.node(filter, self.doc, None, Polarity::ROOT, &mut out);
        SqlFilter {
            sql,
            params: out.params,
            exact: out.exact,
        }
    }

    /// An `ORDER BY` key for `path` (SQLite): its value (a multi-valued attribute's
    /// primary element, else its first), and whether it is `caseExact` (else sort by
    /// `scim_fold` of it first). `None` when the path cannot be sorted in SQL.
    pub fn sort_key(&self, path: &AttrPath) -> Option<(String, bool)> {
        if self.dialect != Dialect::Sqlite {
            return None;
        }
        let resolved = self.view.resolve_path(path)?;
        let attr = resolved.attribute;
        let ext = resolved
            .extension
            .then(|| resolved.schema.map(|s| s.id.as_str()))
            .flatten();
        let mut keys: Vec<&str> = ext.into_iter().collect();
        keys.push(&attr.name);
        let target = match resolved.sub_attribute {
            Some(sub) => Some(sub),
            None if attr.kind == AttrKind::Complex => attr.sub_attribute("value"),
            None => None,
        };
        let case_exact = target.unwrap_or(attr).compares_case_exact();
        let value = if attr.multi_valued {
            if self.elements.and_then(|e| e(attr)).is_some() {
                return None;
            }
            let list = json_path(&keys)?;
            let leaf = match target.filter(|_| attr.kind == AttrKind::Complex) {
                Some(t) => json_path(&[&t.name])?,
                None => "$".into(),
            };
            format!(
                "(SELECT json_extract(s.value, '{leaf}') FROM json_each({doc}, '{list}') AS s \
                 ORDER BY coalesce(json_extract(s.value, '$.\"primary\"'), 0) = 1 DESC, s.key LIMIT 1)",
                doc = self.doc
            )
        } else {
            if let Some(t) = target {
                keys.push(&t.name);
            }
            format!("json_extract({}, '{}')", self.doc, json_path(&keys)?)
        };
        Some((value, case_exact))
    }

    /// The condition for `filter` on the JSON object `base`; inside a value path,
    /// `within` is the complex attribute whose element `base` is. Untranslatable parts
    /// become `1` where the whole condition is not negated (it stays a superset) and `0`
    /// otherwise.
    fn node(
        &self,
        filter: &Filter,
        base: &str,
        within: Option<&'a Attribute>,
        pol: Polarity,
        out: &mut Out,
    ) -> String {
        let give_up = |out: &mut Out| {
            out.exact = false;
            out.truth(pol.whole).to_owned()
        };
        match filter {
            Filter::And(terms) | Filter::Or(terms) => {
                let joiner = if matches!(filter, Filter::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                let parts: Vec<String> = terms
                    .iter()
                    .map(|t| self.node(t, base, within, pol, out))
                    .collect();
                format!("({})", parts.join(joiner))
            }
            Filter::Not(inner) => {
                format!(
                    "(NOT {})",
                    self.node(inner, base, within, pol.negated(), out)
                )
            }
            Filter::Present(path) if !self.defined(path, within) => out.truth(false).into(),
            Filter::Present(path) => match self.slot(path, base, within) {
                Some(slot) => self.exists(slot, pol.local, out, |v, out| present(v, out.dialect)),
                None => give_up(out),
            },
            Filter::Compare { path, op, value } if !self.defined(path, within) => {
                // An attribute no schema defines is absent from resources that follow
                // their schemas: only `eq null` holds.
                let absent = matches!((op, value), (CompareOp::Eq, CompValue::Null));
                out.truth(absent).into()
            }
            Filter::Compare { path, op, value } => {
                match self.compare((path, *op, value), base, within, pol.local, out) {
                    Some(sql) => sql,
                    None => give_up(out),
                }
            }
            Filter::ValuePath { path, filter } => {
                if within.is_some() || path.sub_attr.is_some() {
                    return give_up(out);
                }
                let Some((attr, keys)) = self.top(path) else {
                    return give_up(out);
                };
                if attr.kind != AttrKind::Complex {
                    return give_up(out);
                }
                if !keys.iter().all(|k| quotable(k)) {
                    return give_up(out);
                }
                if attr.multi_valued {
                    let source = self.source(attr, base, &keys);
                    out.aliases += 1;
                    let alias = format!("e{}", out.aliases);
                    let from = self.from(&source, &alias);
                    let is_object = self.element_is_object(&alias);
                    let element = format!("{alias}.value");
                    let inner = self.node(filter, &element, Some(attr), pol.in_where(), out);
                    let no = out.truth(false);
                    format!(
                        "EXISTS (SELECT 1 FROM {from} WHERE CASE WHEN {is_object} THEN {inner} ELSE {no} END)"
                    )
                } else {
                    let Some((object, is_object)) = self.object_at(base, &keys) else {
                        return give_up(out);
                    };
                    let inner = self.node(filter, &object, Some(attr), pol, out);
                    let cond = format!("{is_object} AND {inner}");
                    if pol.local {
                        format!("({cond})")
                    } else {
                        format!("coalesce(({cond}), {})", out.truth(false))
                    }
                }
            }
        }
    }

    /// Whether a schema defines what `path` names (inside a value path, a sub-attribute
    /// of `within`).
    fn defined(&self, path: &AttrPath, within: Option<&Attribute>) -> bool {
        match within {
            Some(parent) => {
                path.urn.is_none()
                    && path.sub_attr.is_none()
                    && parent.sub_attribute(&path.name).is_some()
            }
            None => match self.top(path) {
                Some((attr, _)) => path
                    .sub_attr
                    .as_deref()
                    .is_none_or(|s| attr.sub_attribute(s).is_some()),
                None => false,
            },
        }
    }

    /// The attribute a top-level path names, with the JSON keys leading to it.
    fn top(&self, path: &AttrPath) -> Option<(&'a Attribute, Vec<&'a str>)> {
        let bare = AttrPath {
            urn: path.urn.clone(),
            name: path.name.clone(),
            sub_attr: None,
        };
        let resolved = self.view.resolve_path(&bare)?;
        let mut keys = Vec::new();
        if resolved.extension {
            keys.push(resolved.schema?.id.as_str());
        }
        keys.push(resolved.attribute.name.as_str());
        Some((resolved.attribute, keys))
    }

    /// Where `path` reads its values, and the definition of what it reads.
    fn slot(
        &self,
        path: &AttrPath,
        base: &str,
        within: Option<&'a Attribute>,
    ) -> Option<(Slot, &'a Attribute, Option<&'a Attribute>)> {
        if let Some(parent) = within {
            // Inside a value path: a sub-attribute of the element.
            if path.sub_attr.is_some() || path.urn.is_some() {
                return None;
            }
            let sub = parent.sub_attribute(&path.name)?;
            if sub.multi_valued {
                return None;
            }
            return Some((Slot::One(self.scalar(base, &[&sub.name])?), sub, None));
        }
        let (attr, mut keys) = self.top(path)?;
        let sub = match &path.sub_attr {
            Some(name) => Some(attr.sub_attribute(name)?),
            None => None,
        };
        if sub.is_some_and(|s| s.multi_valued) || !keys.iter().all(|k| quotable(k)) {
            return None;
        }
        if attr.multi_valued {
            let source = self.source(attr, base, &keys);
            let sub_name = sub.map(|s| s.name.clone());
            if sub_name.as_deref().is_some_and(|n| !quotable(n)) {
                return None;
            }
            return Some((
                Slot::Each {
                    source,
                    sub: sub_name,
                },
                attr,
                sub,
            ));
        }
        if let Some(s) = sub {
            keys.push(&s.name);
        }
        Some((Slot::One(self.scalar(base, &keys)?), attr, sub))
    }

    /// The elements of a multi-valued attribute.
    fn source(&self, attr: &Attribute, base: &str, keys: &[&str]) -> Source {
        match self.elements.and_then(|e| e(attr)) {
            Some(table) => Source::Table(table),
            None => Source::Document(
                base.to_owned(),
                keys.iter().map(|k| (*k).to_owned()).collect(),
            ),
        }
    }

    /// The elements as a `FROM` item named `alias`, with a column `value`.
    fn from(&self, source: &Source, alias: &str) -> String {
        match (source, self.dialect) {
            (Source::Table(table), _) => format!("{table} AS {alias}"),
            (Source::Document(base, keys), Dialect::Sqlite) => {
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                let path = json_path(&keys).unwrap_or_else(|| "$.\"\"".into());
                format!("json_each({base}, '{path}') AS {alias}")
            }
            (Source::Document(base, keys), Dialect::Postgres) => {
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                let path = pg_path(&keys).unwrap_or_else(|| "'{}'".into());
                let j = format!("({base} #> {path})");
                // A lone value is one element, as the evaluator reads it.
                format!(
                    "jsonb_array_elements(CASE WHEN jsonb_typeof({j}) = 'array' THEN {j} \
                     WHEN {j} IS NULL THEN '[]'::jsonb ELSE jsonb_build_array({j}) END) AS {alias}(value)"
                )
            }
        }
    }

    /// The JSON value at `keys` under the JSON object `base`.
    fn scalar(&self, base: &str, keys: &[&str]) -> Option<Val> {
        Some(match self.dialect {
            Dialect::Sqlite => {
                let p = json_path(keys)?;
                let value = format!("json_extract({base}, '{p}')");
                Val {
                    text: value.clone(),
                    ty: format!("json_type({base}, '{p}')"),
                    json: value,
                }
            }
            Dialect::Postgres => pg_val(format!("({base} #> {})", pg_path(keys)?)),
        })
    }

    /// The object at `keys` under `base`, and the condition that it is one.
    fn object_at(&self, base: &str, keys: &[&str]) -> Option<(String, String)> {
        Some(match self.dialect {
            Dialect::Sqlite => {
                let p = json_path(keys)?;
                (
                    format!("json_extract({base}, '{p}')"),
                    format!("json_type({base}, '{p}') = 'object'"),
                )
            }
            Dialect::Postgres => {
                let j = format!("({base} #> {})", pg_path(keys)?);
                let is_object = format!("jsonb_typeof({j}) = 'object'");
                (j, is_object)
            }
        })
    }

    fn element_is_object(&self, alias: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("{alias}.type = 'object'"),
            Dialect::Postgres => format!("jsonb_typeof({alias}.value) = 'object'"),
        }
    }

    /// An element, or its sub-attribute `sub`.
    fn element(&self, alias: &str, sub: Option<&str>) -> Val {
        match (self.dialect, sub) {
            (Dialect::Sqlite, None) => Val {
                text: format!("{alias}.value"),
                ty: format!("{alias}.type"),
                json: format!("{alias}.value"),
            },
            (Dialect::Sqlite, Some(sub)) => {
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
            (Dialect::Postgres, None) => pg_val(format!("{alias}.value")),
            (Dialect::Postgres, Some(sub)) => pg_val(format!("({alias}.value -> '{sub}')")),
        }
    }

    /// `EXISTS` over the slot's values (or the one value).
    fn exists(
        &self,
        slot: (Slot, &Attribute, Option<&Attribute>),
        positive: bool,
        out: &mut Out,
        test: impl FnOnce(&Val, &mut Out) -> String,
    ) -> String {
        match slot.0 {
            // A missing value makes SQL's NULL, which a WHERE clause takes for false: right
            // where the condition is not negated, and kept bare there so that an index on
            // the value can serve it; under NOT it must be a plain false.
            Slot::One(val) if positive => format!("({})", test(&val, out)),
            Slot::One(val) => {
                let cond = test(&val, out);
                format!("coalesce(({cond}), {})", out.truth(false))
            }
            Slot::Each { source, sub } => {
                out.aliases += 1;
                let alias = format!("e{}", out.aliases);
                let from = self.from(&source, &alias);
                let cond = test(&self.element(&alias, sub.as_deref()), out);
                format!("EXISTS (SELECT 1 FROM {from} WHERE {cond})")
            }
        }
    }

    /// `path op value`, where a missing value may stay NULL when `positive`.
    fn compare(
        &self,
        (path, op, value): (&AttrPath, CompareOp, &CompValue),
        base: &str,
        within: Option<&'a Attribute>,
        positive: bool,
        out: &mut Out,
    ) -> Option<String> {
        let (mut slot, attr, sub) = self.slot(path, base, within)?;
        if let CompValue::Null = value {
            // `eq null` and `ne null` ask whether the attribute itself has a value; `eq`
            // negates it.
            let inner = positive == (op == CompareOp::Ne);
            let present = self.exists((slot, attr, sub), inner, out, |v, out| {
                present(v, out.dialect)
            });
            return match op {
                CompareOp::Eq => Some(format!("(NOT {present})")),
                CompareOp::Ne => Some(present),
                _ => None,
            };
        }
        let mut target = sub.unwrap_or(attr);
        if target.kind == AttrKind::Complex {
            // A complex attribute compared as a whole compares its `value`; without one
            // there is nothing to compare.
            let Some(value_sub) = target.sub_attribute("value") else {
                return Some(out.truth(false).into());
            };
            slot = match slot {
                Slot::One(_) if within.is_some() => return None,
                Slot::One(_) => {
                    let (_, mut keys) = self.top(path)?;
                    keys.push(&value_sub.name);
                    Slot::One(self.scalar(base, &keys)?)
                }
                Slot::Each { source, sub: None } => Slot::Each {
                    source,
                    sub: Some(value_sub.name.clone()),
                },
                Slot::Each { .. } => return None,
            };
            target = value_sub;
        }
        let kind = target.kind;
        let case_exact = target.compares_case_exact();
        let test: Test = match value {
            CompValue::Null => return None,
            CompValue::Bool(b) => {
                if !matches!(op, CompareOp::Eq | CompareOp::Ne) {
                    return None;
                }
                Test::Bool(*b)
            }
            CompValue::Number(n) => {
                if op.is_substring() {
                    return None;
                }
                if is_string_kind(kind) {
                    Test::Str(n.to_string(), case_exact)
                } else {
                    Test::Number(number_param(n)?)
                }
            }
            CompValue::String(s) => match kind {
                AttrKind::Boolean => {
                    if !matches!(op, CompareOp::Eq | CompareOp::Ne) {
                        return None;
                    }
                    Test::Bool(match s.to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        _ => return None,
                    })
                }
                AttrKind::DateTime if !op.is_substring() => Test::Instant(instant(s)?),
                AttrKind::Integer | AttrKind::Decimal if !op.is_substring() => {
                    Test::Number(number_param(&s.trim().parse().ok()?)?)
                }
                AttrKind::Binary if op.is_ordering() => return None,
                _ => Test::Str(s.clone(), case_exact),
            },
        };
        Some(self.exists((slot, attr, sub), positive, out, |v, out| {
            test.sql(op, v, out)
        }))
    }
}

enum Test {
    Bool(bool),
    Number(SqlParam),
    Str(String, bool),
    Instant(String),
}

fn number_param(n: &serde_json::Number) -> Option<SqlParam> {
    if let Some(i) = n.as_i64() {
        Some(SqlParam::Integer(i))
    } else {
        n.as_f64().map(SqlParam::Real)
    }
}

fn sql_op(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => "=",
    }
}

/// The least string above every string that starts with `prefix` (its last character
/// stepped up), or `None` when there is none.
fn successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    let last = chars.pop()?;
    let next = (last as u32 + 1..=char::MAX as u32).find_map(char::from_u32)?;
    chars.push(next);
    Some(chars.into_iter().collect())
}

/// `is_present` of the evaluator on one JSON value. `CASE` evaluates only the branch
/// taken, so JSON functions never see text that is not JSON.
fn present(v: &Val, dialect: Dialect) -> String {
    let Val { text, ty, json } = v;
    match dialect {
        Dialect::Sqlite => format!(
            "(CASE {ty} WHEN 'text' THEN {text} <> '' WHEN 'array' THEN json_array_length({json}) > 0 \
             WHEN 'object' THEN {json} <> '{{}}' WHEN 'null' THEN 0 ELSE {ty} IS NOT NULL END)"
        ),
        Dialect::Postgres => format!(
            "(CASE {ty} WHEN 'string' THEN {text} <> '' WHEN 'array' THEN jsonb_array_length({json}) > 0 \
             WHEN 'object' THEN {json} <> '{{}}'::jsonb WHEN 'null' THEN FALSE ELSE {ty} IS NOT NULL END)"
        ),
    }
}

/// The condition that a value is a JSON string.
fn is_text(v: &Val, dialect: Dialect) -> String {
    match dialect {
        Dialect::Sqlite => format!("{} = 'text'", v.ty),
        Dialect::Postgres => format!("{} = 'string'", v.ty),
    }
}

impl Test {
    fn sql(&self, op: CompareOp, v: &Val, out: &mut Out) -> String {
        let dialect = out.dialect;
        match self {
            Test::Bool(b) => {
                let want = match op {
                    CompareOp::Ne => !b,
                    _ => *b,
                };
                match dialect {
                    Dialect::Sqlite => format!("{} = '{want}'", v.ty),
                    Dialect::Postgres => format!("{} = '{want}'::jsonb", v.json),
                }
            }
            Test::Number(n) => {
                let p = out.bind(n.clone());
                match dialect {
                    Dialect::Sqlite => {
                        format!(
                            "{} IN ('integer', 'real') AND {} {} {p}",
                            v.ty,
                            v.text,
                            sql_op(op)
                        )
                    }
                    Dialect::Postgres => format!(
                        "(CASE WHEN {} = 'number' THEN {}::numeric END) {} {p}",
                        v.ty,
                        v.text,
                        sql_op(op)
                    ),
                }
            }
            Test::Instant(i) => {
                let p = out.bind(SqlParam::Text(i.clone()));
                let collate = if dialect == Dialect::Postgres {
                    " COLLATE \"C\""
                } else {
                    ""
                };
                format!(
                    "{} AND scim_instant({}){collate} {} {p}",
                    is_text(v, dialect),
                    v.text,
                    sql_op(op)
                )
            }
            Test::Str(s, case_exact) => {
                let (value, wanted) = if *case_exact {
                    (v.text.clone(), s.clone())
                } else {
                    (format!("scim_fold({})", v.text), fold(s))
                };
                let is_text = is_text(v, dialect);
                // Orderings compare bytes, as Rust's strings do.
                let ordered = match dialect {
                    Dialect::Sqlite => value.clone(),
                    Dialect::Postgres => format!("{value} COLLATE \"C\""),
                };
                let cond = match op {
                    CompareOp::Co | CompareOp::Sw | CompareOp::Ew if wanted.is_empty() => {
                        return is_text;
                    }
                    CompareOp::Co | CompareOp::Sw => {
                        let find = match dialect {
                            Dialect::Sqlite => "instr",
                            Dialect::Postgres => "strpos",
                        };
                        let at = if op == CompareOp::Co { "> 0" } else { "= 1" };
                        // A prefix is also a range, which an index on the value can serve.
                        let range = match successor(&wanted).filter(|_| op == CompareOp::Sw) {
                            Some(upper) => {
                                let lo = out.bind(SqlParam::Text(wanted.clone()));
                                let hi = out.bind(SqlParam::Text(upper));
                                format!("{ordered} >= {lo} AND {ordered} < {hi} AND ")
                            }
                            None => String::new(),
                        };
                        let p = out.bind(SqlParam::Text(wanted));
                        format!("{range}{find}({value}, {p}) {at}")
                    }
                    CompareOp::Ew => {
                        let p = out.bind(SqlParam::Text(wanted.clone()));
                        let q = out.bind(SqlParam::Text(wanted));
                        match dialect {
                            Dialect::Sqlite => format!("substr({value}, -length({p})) = {q}"),
                            Dialect::Postgres => {
                                format!("right({value}, char_length({p})) = {q}")
                            }
                        }
                    }
                    CompareOp::Eq | CompareOp::Ne => {
                        let p = out.bind(SqlParam::Text(wanted));
                        format!("{value} {} {p}", sql_op(op))
                    }
                    _ => {
                        let p = out.bind(SqlParam::Text(wanted));
                        format!("{ordered} {} {p}", sql_op(op))
                    }
                };
                format!("{is_text} AND {cond}")
            }
        }
    }
}

/// A `jsonb` value's parts.
fn pg_val(json: String) -> Val {
    Val {
        text: format!("({json} #>> '{{}}')"),
        ty: format!("jsonb_typeof({json})"),
        json,
    }
}
