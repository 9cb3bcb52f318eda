//! Evaluating a [`Filter`] against JSON resources, with schema semantics.
//!
//! A [`Matcher`] is compiled once from a filter and a description of attribute types
//! ([`AttributeTypes`]), then tests any number of resources. Compiling resolves each
//! attribute's type, prepares literals (case-folded strings, parsed dateTimes) and rejects
//! comparisons the RFC forbids, such as ordering booleans, with `400 invalidFilter`.
//!
//! # Semantics (RFC 7644 §3.4.2.2)
//!
//! - Attribute names match case-insensitively, in resources and in filters.
//! - Strings compare case-insensitively unless the attribute is `caseExact`; `co`, `sw` and
//!   `ew` test substrings; `gt`, `ge`, `lt`, `le` order strings, numbers and dateTimes
//!   (chronologically: any number of fraction digits, any offset).
//! - Booleans compare only with `eq` and `ne`. `null` compares only with `eq` and `ne`:
//!   `attr eq null` means the attribute is not present and `attr ne null` that it is.
//! - A comparison holds if any value of the attribute satisfies it: for a multi-valued
//!   attribute any element, and for an absent attribute none (so `title ne "x"` does not
//!   hold for a user with no title).
//! - A complex attribute compared without a sub-attribute compares its `value`
//!   sub-attribute: `members eq "2819c223"` matches a group with that member.
//! - `attr[filter]` holds if one element satisfies the whole inner filter.
//! - `attr pr` holds if the attribute has a value that is not `null`, `""`, `[]` or `{}`.
//! - An attribute qualified by a schema URN is looked up in the resource's extension object
//!   of that name, or at the top level when the URN is the resource's core schema.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use serde_json::{Map, Number, Value};

use crate::error::{ScimError, ScimType};
use crate::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::json::get_ci;
pub use crate::schema::AttrKind;

/// What evaluation needs to know of an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttrType {
    /// The data type.
    pub kind: AttrKind,
    /// Whether string comparisons respect case.
    pub case_exact: bool,
    /// Whether the attribute holds a list of values.
    pub multi_valued: bool,
}

impl AttrType {
    /// A single-valued attribute of `kind`; `caseExact` as RFC 7643 defaults it (true for
    /// binary and reference values, false otherwise).
    pub const fn new(kind: AttrKind) -> AttrType {
        AttrType {
            kind,
            case_exact: matches!(kind, AttrKind::Binary | AttrKind::Reference),
            multi_valued: false,
        }
    }

    /// This type with `caseExact: true`.
    pub const fn case_exact(mut self) -> AttrType {
        self.case_exact = true;
        self
    }

    /// This type, multi-valued.
    pub const fn multi_valued(mut self) -> AttrType {
        self.multi_valued = true;
        self
    }
}

/// Where a top-level attribute's values live in a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container<'a> {
    /// Not known: a URN-qualified name is looked up in the extension object of that URN
    /// when the resource has one, else at the top level when the URN is the resource's
    /// core schema (its first `schemas` entry, or any `urn:ietf:params:scim:schemas:core:`
    /// URN); an unqualified name at the top level.
    Unknown,
    /// At the top level of the resource (core schema and common attributes).
    TopLevel,
    /// In the extension object named by this schema URN.
    Extension(&'a str),
}

/// A source of attribute types: a resource type of the schema
/// [`Registry`](crate::schema::Registry), a [`TypeMap`], or [`Untyped`].
pub trait AttributeTypes {
    /// The type of the attribute at `path` — an attribute name, then the names of its
    /// sub-attributes — in the schema `urn` (or the resource's own schema when `None`).
    /// Names are given as written and must be matched case-insensitively. `None` means
    /// unknown: values are then compared by their JSON type, strings case-insensitively.
    fn attribute_type(&self, urn: Option<&str>, path: &[&str]) -> Option<AttrType>;

    /// Where the top-level attribute `[urn:]name` lives. The default knows nothing.
    fn container(&self, urn: Option<&str>, name: &str) -> Container<'_> {
        let _ = (urn, name);
        Container::Unknown
    }
}

impl<T: AttributeTypes + ?Sized> AttributeTypes for &T {
    fn attribute_type(&self, urn: Option<&str>, path: &[&str]) -> Option<AttrType> {
        (**self).attribute_type(urn, path)
    }

    fn container(&self, urn: Option<&str>, name: &str) -> Container<'_> {
        (**self).container(urn, name)
    }
}

/// No type information: every value is compared by its JSON type.
#[derive(Debug, Clone, Copy, Default)]
pub struct Untyped;

impl AttributeTypes for Untyped {
    fn attribute_type(&self, _: Option<&str>, _: &[&str]) -> Option<AttrType> {
        None
    }
}

/// A minimal map from dotted attribute paths to types.
///
/// ```
/// use scimkit::eval::{AttrKind, AttrType, AttributeTypes, TypeMap};
///
/// let mut types = TypeMap::new();
/// types.insert("meta.lastModified", AttrType::new(AttrKind::DateTime));
/// types.insert(
///     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
///     AttrType::new(AttrKind::String).case_exact(),
/// );
/// assert_eq!(
///     types.attribute_type(None, &["Meta", "LASTMODIFIED"]).map(|t| t.kind),
///     Some(AttrKind::DateTime)
/// );
/// ```
#[derive(Debug, Clone, Default)]
pub struct TypeMap {
    types: HashMap<String, AttrType>,
}

impl TypeMap {
    /// An empty map.
    pub fn new() -> TypeMap {
        TypeMap::default()
    }

    /// Records the type of `path`: `name`, `name.sub`, or either prefixed by `urn:…:`.
    pub fn insert(&mut self, path: &str, ty: AttrType) -> &mut TypeMap {
        self.types.insert(path.to_ascii_lowercase(), ty);
        self
    }

    /// The types of the common and core User and Group attributes that change how
    /// comparisons behave: case-exact identifiers, dateTimes, booleans, binary values
    /// and the complex multi-valued attributes.
    pub fn scim_core() -> TypeMap {
        use AttrKind::*;
        let mut map = TypeMap::new();
        let string = AttrType::new(String);
        let complex_multi = AttrType::new(Complex).multi_valued();
        for (path, ty) in [
            ("id", string.case_exact()),
            ("externalId", string.case_exact()),
            ("meta", AttrType::new(Complex)),
            ("meta.created", AttrType::new(DateTime)),
            ("meta.lastModified", AttrType::new(DateTime)),
            ("meta.version", string.case_exact()),
            ("meta.location", AttrType::new(Reference)),
            ("meta.resourceType", string.case_exact()),
            ("name", AttrType::new(Complex)),
            ("active", AttrType::new(Boolean)),
            ("password", string.case_exact()),
            ("emails", complex_multi),
            ("emails.primary", AttrType::new(Boolean)),
            ("phoneNumbers", complex_multi),
            ("phoneNumbers.primary", AttrType::new(Boolean)),
            ("ims", complex_multi),
            ("photos", complex_multi),
            ("photos.value", AttrType::new(Reference)),
            ("addresses", complex_multi),
            ("addresses.primary", AttrType::new(Boolean)),
            ("groups", complex_multi),
            ("groups.value", string.case_exact()),
            ("entitlements", complex_multi),
            ("roles", complex_multi),
            ("x509Certificates", complex_multi),
            ("x509Certificates.value", AttrType::new(Binary)),
            ("members", complex_multi),
            ("members.value", string.case_exact()),
            ("manager", AttrType::new(Complex)),
            ("manager.value", string.case_exact()),
        ] {
            map.insert(path, ty);
        }
        map
    }
}

impl AttributeTypes for TypeMap {
    fn attribute_type(&self, urn: Option<&str>, path: &[&str]) -> Option<AttrType> {
        let mut key = path.join(".");
        if let Some(urn) = urn {
            let qualified = format!("{urn}:{key}").to_ascii_lowercase();
            if let Some(ty) = self.types.get(&qualified) {
                return Some(*ty);
            }
        }
        key.make_ascii_lowercase();
        self.types.get(&key).copied()
    }
}

/// A comparison the filter language does not allow for the attribute's type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct EvalError {
    path: String,
    reason: String,
}

impl EvalError {
    fn new(path: &AttrPath, reason: impl fmt::Display) -> EvalError {
        EvalError {
            path: path.to_string(),
            reason: reason.to_string(),
        }
    }

    /// The attribute path the comparison is about.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl From<EvalError> for ScimError {
    /// `400 invalidFilter`.
    fn from(err: EvalError) -> ScimError {
        ScimError::bad_request(ScimType::InvalidFilter, err.to_string())
    }
}

/// A filter compiled against attribute types, ready to test resources.
#[derive(Debug, Clone)]
pub struct Matcher {
    root: Node,
}

impl Matcher {
    /// Resolves `filter` against `types`; fails on comparisons the types forbid.
    pub fn new(filter: &Filter, types: &dyn AttributeTypes) -> Result<Matcher, EvalError> {
        let mut prefix = Vec::new();
        Ok(Matcher {
            root: compile(filter, types, None, &mut prefix)?,
        })
    }

    /// Whether `resource` (a JSON object) satisfies the filter.
    pub fn matches(&self, resource: &Value) -> bool {
        self.root.eval(resource)
    }
}

#[derive(Debug, Clone)]
enum Node {
    Compare(Box<Compare>),
    Present(Access),
    Absent(Access),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Elements(Access, Box<Node>),
}

#[derive(Debug, Clone)]
struct Compare {
    access: Access,
    op: CompareOp,
    test: Test,
}

#[derive(Debug, Clone)]
enum Test {
    Bool(bool),
    Number(Number),
    Str(StrTest),
    DateTime(DateTime<FixedOffset>),
}

#[derive(Debug, Clone)]
struct StrTest {
    raw: String,
    /// `raw` lower-cased, for comparisons that ignore case.
    folded: String,
    case_exact: bool,
}

/// Where an attribute's values are found in a resource.
#[derive(Debug, Clone)]
struct Access {
    urn: Option<String>,
    name: String,
    sub: Option<String>,
}

fn compile(
    filter: &Filter,
    types: &dyn AttributeTypes,
    urn: Option<&str>,
    prefix: &mut Vec<String>,
) -> Result<Node, EvalError> {
    Ok(match filter {
        Filter::Compare { path, op, value } => {
            compile_compare(path, *op, value, types, urn, prefix)?
        }
        Filter::Present(path) => Node::Present(Access::resolve(path, types, prefix)),
        Filter::And(terms) => Node::And(
            terms
                .iter()
                .map(|t| compile(t, types, urn, prefix))
                .collect::<Result<_, _>>()?,
        ),
        Filter::Or(terms) => Node::Or(
            terms
                .iter()
                .map(|t| compile(t, types, urn, prefix))
                .collect::<Result<_, _>>()?,
        ),
        Filter::Not(inner) => Node::Not(Box::new(compile(inner, types, urn, prefix)?)),
        Filter::ValuePath { path, filter } => {
            let depth = prefix.len();
            prefix.push(path.name.clone());
            prefix.extend(path.sub_attr.clone());
            let inner = compile(filter, types, path.urn.as_deref().or(urn), prefix);
            prefix.truncate(depth);
            Node::Elements(Access::resolve(path, types, prefix), Box::new(inner?))
        }
    })
}

fn compile_compare(
    path: &AttrPath,
    op: CompareOp,
    value: &CompValue,
    types: &dyn AttributeTypes,
    urn: Option<&str>,
    prefix: &[String],
) -> Result<Node, EvalError> {
    let access = Access::resolve(path, types, prefix);
    let mut names: Vec<&str> = prefix.iter().map(String::as_str).collect();
    names.push(&path.name);
    names.extend(path.sub_attr.as_deref());
    let urn = path.urn.as_deref().or(urn);
    let mut ty = types.attribute_type(urn, &names);
    if ty.is_some_and(|t| t.kind == AttrKind::Complex) {
        // A complex attribute compared as a whole compares its `value`.
        names.push("value");
        ty = types.attribute_type(urn, &names);
        if ty.is_none() && op.is_ordering() {
            return Err(EvalError::new(
                path,
                format!("a complex attribute cannot be compared with '{op}'"),
            ));
        }
    }
    let kind = ty.map(|t| t.kind);
    let case_exact = ty.is_some_and(|t| t.case_exact);
    let str_test = |s: &str| {
        Test::Str(StrTest {
            raw: s.to_owned(),
            folded: s.to_lowercase(),
            case_exact,
        })
    };
    let test = match value {
        CompValue::Null => {
            return match op {
                CompareOp::Eq => Ok(Node::Absent(access)),
                CompareOp::Ne => Ok(Node::Present(access)),
                _ => Err(EvalError::new(
                    path,
                    format!("null cannot be compared with '{op}'"),
                )),
            };
        }
        CompValue::Bool(b) => {
            if !matches!(op, CompareOp::Eq | CompareOp::Ne) {
                return Err(EvalError::new(
                    path,
                    format!("a boolean cannot be compared with '{op}'"),
                ));
            }
            Test::Bool(*b)
        }
        CompValue::Number(n) => {
            if op.is_substring() {
                return Err(EvalError::new(
                    path,
                    format!("'{op}' needs a string, not a number"),
                ));
            }
            match kind {
                Some(AttrKind::String | AttrKind::Reference) => str_test(&n.to_string()),
                _ => Test::Number(n.clone()),
            }
        }
        CompValue::String(s) => match kind {
            Some(AttrKind::Boolean) => {
                if !matches!(op, CompareOp::Eq | CompareOp::Ne) {
                    return Err(EvalError::new(
                        path,
                        format!("a boolean cannot be compared with '{op}'"),
                    ));
                }
                // Identity providers send booleans as strings ("True"); compare the truth value.
                match parse_bool(s) {
                    Some(b) => Test::Bool(b),
                    None => {
                        return Err(EvalError::new(path, format!("{s:?} is not a boolean")));
                    }
                }
            }
            Some(AttrKind::DateTime) if !op.is_substring() => match parse_datetime(s) {
                Some(t) => Test::DateTime(t),
                None => {
                    return Err(EvalError::new(
                        path,
                        format!("{s:?} is not an xsd:dateTime"),
                    ))
                }
            },
            Some(AttrKind::Integer | AttrKind::Decimal) if !op.is_substring() => {
                match s.trim().parse::<Number>() {
                    Ok(n) => Test::Number(n),
                    Err(_) => return Err(EvalError::new(path, format!("{s:?} is not a number"))),
                }
            }
            Some(AttrKind::Binary) if op.is_ordering() => {
                return Err(EvalError::new(
                    path,
                    format!("a binary value cannot be compared with '{op}'"),
                ));
            }
            _ => str_test(s),
        },
    };
    Ok(Node::Compare(Box::new(Compare { access, op, test })))
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Parses an `xsd:dateTime`: RFC 3339 with any number of fraction digits and any offset;
/// without an offset the time is taken as UTC.
pub fn parse_datetime(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s).ok().or_else(|| {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .map(|naive| naive.and_utc().fixed_offset())
    })
}

impl Access {
    /// Where `path` is found; at the top level (no `prefix`), routed by `types`.
    fn resolve(path: &AttrPath, types: &dyn AttributeTypes, prefix: &[String]) -> Access {
        let urn = if prefix.is_empty() {
            match types.container(path.urn.as_deref(), &path.name) {
                Container::TopLevel => None,
                Container::Extension(urn) => Some(urn.to_owned()),
                Container::Unknown => path.urn.clone(),
            }
        } else {
            path.urn.clone()
        };
        Access {
            urn,
            name: path.name.clone(),
            sub: path.sub_attr.clone(),
        }
    }

    /// The object holding the attribute: the resource, or its extension object.
    fn base<'v>(&self, resource: &'v Map<String, Value>) -> Option<&'v Map<String, Value>> {
        let Some(urn) = &self.urn else {
            return Some(resource);
        };
        if let Some(ext) = get_ci(resource, urn) {
            return ext.as_object();
        }
        let is_core = urn
            .get(..34)
            .is_some_and(|p| p.eq_ignore_ascii_case("urn:ietf:params:scim:schemas:core:"))
            || resource
                .get("schemas")
                .and_then(|s| s.get(0))
                .and_then(Value::as_str)
                .is_some_and(|first| first.eq_ignore_ascii_case(urn));
        is_core.then_some(resource)
    }

    /// Whether any value at this path satisfies `test`. Elements of a complex attribute
    /// reached without a sub-attribute are represented by their `value` when `by_value`.
    fn any(&self, resource: &Value, by_value: bool, test: &mut dyn FnMut(&Value) -> bool) -> bool {
        let Some(attr) = resource
            .as_object()
            .and_then(|obj| self.base(obj))
            .and_then(|obj| get_ci(obj, &self.name))
        else {
            return false;
        };
        match &self.sub {
            Some(sub) => each(attr, &mut |element| {
                element
                    .as_object()
                    .and_then(|obj| get_ci(obj, sub))
                    .is_some_and(|v| each(v, test))
            }),
            None => each(attr, &mut |element| match element {
                Value::Object(obj) if by_value => get_ci(obj, "value").is_some_and(&mut *test),
                other => test(other),
            }),
        }
    }
}

/// Applies `test` to a value, or to each element of an array, until one passes.
fn each(value: &Value, test: &mut dyn FnMut(&Value) -> bool) -> bool {
    match value {
        Value::Array(items) => items.iter().any(test),
        other => test(other),
    }
}

fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

impl Node {
    fn eval(&self, resource: &Value) -> bool {
        match self {
            Node::Compare(c) => c.access.any(resource, true, &mut |v| c.test.holds(c.op, v)),
            Node::Present(access) => access.any(resource, false, &mut is_present),
            Node::Absent(access) => !access.any(resource, false, &mut is_present),
            Node::And(terms) => terms.iter().all(|t| t.eval(resource)),
            Node::Or(terms) => terms.iter().any(|t| t.eval(resource)),
            Node::Not(inner) => !inner.eval(resource),
            Node::Elements(access, inner) => access.any(resource, false, &mut |element| {
                element.is_object() && inner.eval(element)
            }),
        }
    }
}

fn ordered(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

impl Test {
    fn holds(&self, op: CompareOp, value: &Value) -> bool {
        match (self, value) {
            (Test::Bool(b), Value::Bool(v)) => ordered(op, v.cmp(b)),
            (Test::Number(n), Value::Number(v)) => {
                compare_numbers(v, n).is_some_and(|o| ordered(op, o))
            }
            (Test::Str(t), Value::String(v)) => t.holds(op, v),
            (Test::DateTime(t), Value::String(v)) => {
                parse_datetime(v).is_some_and(|v| ordered(op, v.cmp(t)))
            }
            _ => false,
        }
    }
}

fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

/// Whether `haystack` holds `needle` ignoring ASCII case: a window scan for short inputs,
/// else a linear search over lower-cased copies, so that a long value and a long needle
/// cost their lengths, not their product.
fn contains_ignoring_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    if haystack.len().saturating_mul(needle.len()) <= 4096 {
        return haystack
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle));
    }
    memchr::memmem::find(&haystack.to_ascii_lowercase(), &needle.to_ascii_lowercase()).is_some()
}

impl StrTest {
    fn holds(&self, op: CompareOp, value: &str) -> bool {
        if self.case_exact {
            return match op {
                CompareOp::Co => value.contains(&self.raw),
                CompareOp::Sw => value.starts_with(&self.raw),
                CompareOp::Ew => value.ends_with(&self.raw),
                _ => ordered(op, value.cmp(&self.raw)),
            };
        }
        if value.is_ascii() && self.raw.is_ascii() {
            let (v, t) = (value.as_bytes(), self.raw.as_bytes());
            return match op {
                CompareOp::Co => t.is_empty() || contains_ignoring_ascii_case(v, t),
                CompareOp::Sw => v.len() >= t.len() && v[..t.len()].eq_ignore_ascii_case(t),
                CompareOp::Ew => {
                    v.len() >= t.len() && v[v.len() - t.len()..].eq_ignore_ascii_case(t)
                }
                _ => ordered(
                    op,
                    v.iter()
                        .map(u8::to_ascii_lowercase)
                        .cmp(t.iter().map(u8::to_ascii_lowercase)),
                ),
            };
        }
        let folded = value.to_lowercase();
        match op {
            CompareOp::Co => folded.contains(&self.folded),
            CompareOp::Sw => folded.starts_with(&self.folded),
            CompareOp::Ew => folded.ends_with(&self.folded),
            _ => ordered(op, folded.as_str().cmp(&self.folded)),
        }
    }
}
