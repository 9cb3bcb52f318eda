//! Translating a filter into a condition, whatever the dialect: the tree walked, each
//! comparison typed by the schema, untranslatable parts widened so that the condition
//! stays a superset. What differs between the dialects is a [`Syntax`].

use std::fmt::Write as _;

use super::{fold, instant, SqlParam, Translator};
use crate::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::schema::{AttrKind, Attribute};

/// Whether a part of a condition is negated: in the whole condition (`whole`, for the
/// superset an untranslatable part must keep), and below the nearest `WHERE` that reads
/// NULL as false (`local`, for whether a missing value may stay NULL).
#[derive(Clone, Copy)]
pub(super) struct Polarity {
    whole: bool,
    local: bool,
}

impl Polarity {
    pub(super) const ROOT: Polarity = Polarity {
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

/// What differs between the dialects: how JSON is read, how values are bound and tested.
pub(super) trait Syntax: Sync {
    /// The placeholder of the `n`th parameter (counting from 1) and the parameter as it
    /// is bound.
    fn bind(&self, param: SqlParam, n: usize) -> (String, SqlParam);
    /// The literal of `true` or `false`.
    fn truth(&self, value: bool) -> &'static str;
    /// The elements of the JSON array at `keys` under `base`, as a `FROM` item named
    /// `alias` with a column `value` (and, for SQLite, `type`).
    fn each(&self, base: &str, keys: &[&str], alias: &str) -> String;
    /// The JSON value at `keys` under the JSON object `base`.
    fn value(&self, base: &str, keys: &[&str]) -> Option<Val>;
    /// The object at `keys` under `base`, and the condition that it is one.
    fn object_at(&self, base: &str, keys: &[&str]) -> Option<(String, String)>;
    /// The condition that the element `alias` is an object.
    fn element_is_object(&self, alias: &str) -> String;
    /// The element `alias`, or its sub-attribute `sub`.
    fn element(&self, alias: &str, sub: Option<&str>) -> Val;
    /// The evaluator's `is_present` of one JSON value. `CASE` evaluates only the branch
    /// taken, so JSON functions never see text that is not JSON.
    fn present(&self, v: &Val) -> String;
    /// The condition that a value is a JSON string.
    fn is_text(&self, v: &Val) -> String;
    /// The condition that a value is the boolean `want`.
    fn is_bool(&self, v: &Val, want: bool) -> String;
    /// The condition that a value is a number and `op` the parameter `p`.
    fn number(&self, v: &Val, op: &str, p: &str) -> String;
    /// Text that orders by its bytes, as Rust's strings do.
    fn bytewise(&self, text: &str) -> String;
    /// The function giving the 1-based position of a substring (0: absent).
    fn find(&self) -> &'static str;
    /// The condition that `text` ends with the parameter `suffix` (also bound as
    /// `length_of`).
    fn ends_with(&self, text: &str, length_of: &str, suffix: &str) -> String;
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
pub(super) struct Val {
    /// SQLite: the SQL value (`json_extract`); PostgreSQL: the text (`#>> '{}'`).
    pub(super) text: String,
    /// Its JSON type, in the dialect's names.
    pub(super) ty: String,
    /// The value as JSON (SQLite: JSON text for arrays and objects; PostgreSQL: `jsonb`).
    pub(super) json: String,
}

/// What a translation makes besides the SQL text.
pub(super) struct Out {
    pub(super) params: Vec<SqlParam>,
    pub(super) exact: bool,
    aliases: usize,
    syntax: &'static dyn Syntax,
    first_param: usize,
}

impl Out {
    pub(super) fn new(syntax: &'static dyn Syntax, first_param: usize) -> Out {
        Out {
            params: Vec::new(),
            exact: true,
            aliases: 0,
            syntax,
            first_param,
        }
    }

    /// Binds a value; returns its placeholder.
    fn bind(&mut self, param: SqlParam) -> String {
        let n = self.first_param + self.params.len();
        let (placeholder, bound) = self.syntax.bind(param, n);
        self.params.push(bound);
        placeholder
    }

    fn truth(&self, value: bool) -> &'static str {
        self.syntax.truth(value)
    }
}

/// Whether a key can be written into a path literal as it is.
pub(super) fn quotable(key: &str) -> bool {
    !key.contains(['"', '\'', '\\', ',', '{', '}'])
        && !key.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// A JSON path literal for SQLite: `$."a"."b"`; `None` when a name cannot be quoted.
pub(super) fn json_path(keys: &[&str]) -> Option<String> {
    let mut path = String::from("$");
    for key in keys {
        if !quotable(key) {
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
    /// The condition for `filter` on the JSON object `base`; inside a value path,
    /// `within` is the complex attribute whose element `base` is. Untranslatable parts
    /// become `1` where the whole condition is not negated (it stays a superset) and `0`
    /// otherwise.
    pub(super) fn node(
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
                Some(slot) => self.exists(slot, pol.local, out, |v, out| out.syntax.present(v)),
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
                    let from = self.from(&source, &alias, out);
                    let is_object = out.syntax.element_is_object(&alias);
                    let element = format!("{alias}.value");
                    let inner = self.node(filter, &element, Some(attr), pol.in_where(), out);
                    let no = out.truth(false);
                    format!(
                        "EXISTS (SELECT 1 FROM {from} WHERE CASE WHEN {is_object} THEN {inner} ELSE {no} END)"
                    )
                } else {
                    let Some((object, is_object)) = out.syntax.object_at(base, &keys) else {
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
            return Some((
                Slot::One(self.syntax().value(base, &[&sub.name])?),
                sub,
                None,
            ));
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
        Some((Slot::One(self.syntax().value(base, &keys)?), attr, sub))
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
    fn from(&self, source: &Source, alias: &str, out: &Out) -> String {
        match source {
            Source::Table(table) => format!("{table} AS {alias}"),
            Source::Document(base, keys) => {
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                out.syntax.each(base, &keys, alias)
            }
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
                let from = self.from(&source, &alias, out);
                let cond = test(&out.syntax.element(&alias, sub.as_deref()), out);
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
                out.syntax.present(v)
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
                    Slot::One(self.syntax().value(base, &keys)?)
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

impl Test {
    fn sql(&self, op: CompareOp, v: &Val, out: &mut Out) -> String {
        let syntax = out.syntax;
        match self {
            Test::Bool(b) => {
                let want = match op {
                    CompareOp::Ne => !b,
                    _ => *b,
                };
                syntax.is_bool(v, want)
            }
            Test::Number(n) => {
                let p = out.bind(n.clone());
                syntax.number(v, sql_op(op), &p)
            }
            Test::Instant(i) => {
                let p = out.bind(SqlParam::Text(i.clone()));
                let instant = syntax.bytewise(&format!("scim_instant({})", v.text));
                format!("{} AND {instant} {} {p}", syntax.is_text(v), sql_op(op))
            }
            Test::Str(s, case_exact) => {
                let (value, wanted) = if *case_exact {
                    (v.text.clone(), s.clone())
                } else {
                    (format!("scim_fold({})", v.text), fold(s))
                };
                let is_text = syntax.is_text(v);
                // Orderings compare bytes, as Rust's strings do.
                let ordered = syntax.bytewise(&value);
                let cond = match op {
                    CompareOp::Co | CompareOp::Sw | CompareOp::Ew if wanted.is_empty() => {
                        return is_text;
                    }
                    CompareOp::Co | CompareOp::Sw => {
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
                        format!("{range}{}({value}, {p}) {at}", syntax.find())
                    }
                    CompareOp::Ew => {
                        let p = out.bind(SqlParam::Text(wanted.clone()));
                        let q = out.bind(SqlParam::Text(wanted));
                        syntax.ends_with(&value, &p, &q)
                    }
                    CompareOp::Eq | CompareOp::Ne => {
                        // Bytewise too: equality is the same, and one index on the bytewise
                        // value serves equality and prefixes alike.
                        let p = out.bind(SqlParam::Text(wanted));
                        format!("{ordered} {} {p}", sql_op(op))
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
