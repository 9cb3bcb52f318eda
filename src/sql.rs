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
//! The dialect is SQLite's JSON1. Two functions must be registered on the connection:
//! `scim_fold(text)`, which lower-cases as [`fold`] does (SQLite's `lower` knows ASCII
//! only), and `scim_instant(text)`, which maps an `xsd:dateTime` to [`instant`]'s sortable
//! text or `NULL`. [`SqliteStore`](crate::store::SqliteStore) does this.
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

/// A value bound to a `?` placeholder, in order.
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
/// outside the document: a table expression with columns `value` (the element's JSON
/// text) and `type` (its JSON type, as `json_each` names it).
pub type ElementSource<'a> = dyn Fn(&Attribute) -> Option<String> + 'a;

/// Translates filters and sorts for one resource type.
pub struct Translator<'a> {
    view: &'a ResourceTypeView<'a>,
    doc: &'a str,
    elements: Option<&'a ElementSource<'a>>,
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
    /// One JSON value: a SQL expression for its value and one for its JSON type.
    One { value: String, ty: String },
    /// Each element of a multi-valued attribute: the table expression, and the element's
    /// sub-attribute to read (`None`: the element itself).
    Each { source: String, sub: Option<String> },
}

struct Out {
    params: Vec<SqlParam>,
    exact: bool,
    aliases: usize,
}

/// A JSON path literal for SQLite: `$."a"."b"`; `None` when a name cannot be quoted.
fn json_path(keys: &[&str]) -> Option<String> {
    let mut path = String::from("$");
    for key in keys {
        if key.contains(['"', '\'', '\\']) || key.chars().any(char::is_control) {
            return None;
        }
        let _ = write!(path, ".\"{key}\"");
    }
    Some(path)
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
        }
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
        };
        let sql = self.node(filter, self.doc, None, Polarity::ROOT, &mut out);
        SqlFilter {
            sql,
            params: out.params,
            exact: out.exact,
        }
    }

    /// An `ORDER BY` key for `path`: its value (a multi-valued attribute's primary
    /// element, else its first), with the text folded unless `caseExact`. `None` when the
    /// path cannot be sorted in SQL.
    pub fn sort_key(&self, path: &AttrPath) -> Option<(String, bool)> {
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
            if pol.whole { "1" } else { "0" }.to_owned()
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
            Filter::Present(path) if !self.defined(path, within) => "0".into(),
            Filter::Present(path) => match self.slot(path, base, within) {
                Some(slot) => self.exists(slot, pol.local, out, |v, t, _| present(v, t)),
                None => give_up(out),
            },
            Filter::Compare { path, op, value } if !self.defined(path, within) => {
                // An attribute no schema defines is absent from resources that follow
                // their schemas: only `eq null` holds.
                let absent = matches!((op, value), (CompareOp::Eq, CompValue::Null));
                if absent { "1" } else { "0" }.into()
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
                let Some(list) = json_path(&keys) else {
                    return give_up(out);
                };
                if attr.multi_valued {
                    let source = self
                        .elements
                        .and_then(|e| e(attr))
                        .unwrap_or_else(|| format!("json_each({base}, '{list}')"));
                    out.aliases += 1;
                    let alias = format!("e{}", out.aliases);
                    let element = format!("{alias}.value");
                    let inner = self.node(filter, &element, Some(attr), pol.in_where(), out);
                    format!(
                        "EXISTS (SELECT 1 FROM {source} AS {alias} WHERE CASE WHEN {alias}.type = 'object' THEN {inner} ELSE 0 END)"
                    )
                } else {
                    let object = format!("json_extract({base}, '{list}')");
                    let inner = self.node(filter, &object, Some(attr), pol, out);
                    let cond = format!("json_type({base}, '{list}') = 'object' AND {inner}");
                    if pol.local {
                        format!("({cond})")
                    } else {
                        format!("coalesce(({cond}), 0)")
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
            let p = json_path(&[&sub.name])?;
            return Some((
                Slot::One {
                    value: format!("json_extract({base}, '{p}')"),
                    ty: format!("json_type({base}, '{p}')"),
                },
                sub,
                None,
            ));
        }
        let (attr, mut keys) = self.top(path)?;
        let sub = match &path.sub_attr {
            Some(name) => Some(attr.sub_attribute(name)?),
            None => None,
        };
        if sub.is_some_and(|s| s.multi_valued) {
            return None;
        }
        if attr.multi_valued {
            let source = match self.elements.and_then(|e| e(attr)) {
                Some(source) => source,
                None => format!("json_each({base}, '{}')", json_path(&keys)?),
            };
            let sub_name = sub.map(|s| s.name.clone());
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
        let p = json_path(&keys)?;
        Some((
            Slot::One {
                value: format!("json_extract({base}, '{p}')"),
                ty: format!("json_type({base}, '{p}')"),
            },
            attr,
            sub,
        ))
    }

    /// `EXISTS` over the slot's values (or the one value): `test(value, type, out)`.
    fn exists(
        &self,
        slot: (Slot, &Attribute, Option<&Attribute>),
        positive: bool,
        out: &mut Out,
        test: impl FnOnce(&str, &str, &mut Out) -> String,
    ) -> String {
        match slot.0 {
            // A missing value makes SQL's NULL, which a WHERE clause takes for false: right
            // where the condition is not negated, and kept bare there so that an index on
            // the value can serve it; under NOT it must be a plain false.
            Slot::One { value, ty } if positive => format!("({})", test(&value, &ty, out)),
            Slot::One { value, ty } => format!("coalesce(({}), 0)", test(&value, &ty, out)),
            Slot::Each { source, sub } => {
                out.aliases += 1;
                let alias = format!("e{}", out.aliases);
                let cond = match sub {
                    Some(sub) => {
                        let p = json_path(&[&sub]).unwrap_or_default();
                        test(
                            &format!("(CASE WHEN {alias}.type = 'object' THEN json_extract({alias}.value, '{p}') END)"),
                            &format!("(CASE WHEN {alias}.type = 'object' THEN json_type({alias}.value, '{p}') END)"),
                            out,
                        )
                    }
                    None => test(&format!("{alias}.value"), &format!("{alias}.type"), out),
                };
                format!("EXISTS (SELECT 1 FROM {source} AS {alias} WHERE {cond})")
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
            let present = self.exists((slot, attr, sub), inner, out, |v, t, _| present(v, t));
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
                return Some("0".into());
            };
            slot = match slot {
                Slot::One { .. } if within.is_some() => return None,
                Slot::One { .. } => {
                    let (_, mut keys) = self.top(path)?;
                    keys.push(&value_sub.name);
                    let p = json_path(&keys)?;
                    Slot::One {
                        value: format!("json_extract({base}, '{p}')"),
                        ty: format!("json_type({base}, '{p}')"),
                    }
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
        Some(self.exists((slot, attr, sub), positive, out, |v, t, out| {
            test.sql(op, v, t, out)
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
fn present(v: &str, t: &str) -> String {
    format!(
        "(CASE {t} WHEN 'text' THEN {v} <> '' WHEN 'array' THEN json_array_length({v}) > 0 \
         WHEN 'object' THEN {v} <> '{{}}' WHEN 'null' THEN 0 ELSE {t} IS NOT NULL END)"
    )
}

impl Test {
    fn sql(&self, op: CompareOp, v: &str, t: &str, out: &mut Out) -> String {
        match self {
            Test::Bool(b) => {
                let want = match op {
                    CompareOp::Ne => !b,
                    _ => *b,
                };
                format!("{t} = '{want}'")
            }
            Test::Number(n) => {
                out.params.push(n.clone());
                format!("{t} IN ('integer', 'real') AND {v} {} ?", sql_op(op))
            }
            Test::Instant(i) => {
                out.params.push(SqlParam::Text(i.clone()));
                format!("{t} = 'text' AND scim_instant({v}) {} ?", sql_op(op))
            }
            Test::Str(s, case_exact) => {
                let (value, wanted) = if *case_exact {
                    (v.to_owned(), s.clone())
                } else {
                    (format!("scim_fold({v})"), fold(s))
                };
                let cond = match op {
                    CompareOp::Co | CompareOp::Sw | CompareOp::Ew if wanted.is_empty() => {
                        return format!("{t} = 'text'");
                    }
                    CompareOp::Co => format!("instr({value}, ?) > 0"),
                    CompareOp::Sw => match successor(&wanted) {
                        // Also as a range, which an index on the value can serve.
                        Some(upper) => {
                            out.params.push(SqlParam::Text(wanted.clone()));
                            out.params.push(SqlParam::Text(upper));
                            format!("{value} >= ? AND {value} < ? AND instr({value}, ?) = 1")
                        }
                        None => format!("instr({value}, ?) = 1"),
                    },
                    CompareOp::Ew => {
                        out.params.push(SqlParam::Text(wanted.clone()));
                        format!("substr({value}, -length(?)) = ?")
                    }
                    _ => format!("{value} {} ?", sql_op(op)),
                };
                out.params.push(SqlParam::Text(wanted));
                format!("{t} = 'text' AND {cond}")
            }
        }
    }
}
