//! The SCIM filter language of RFC 7644 §3.4.2.2.
//!
//! A [`Filter`] is plain data: it is produced by [`str::parse`] (or [`Filter::parse_with`]
//! for custom [`Limits`]), printed back in canonical syntax by [`Display`](fmt::Display),
//! and evaluated against resources by [`crate::eval`]. Parsing is purely syntactic: the
//! parser knows nothing of schemas, so `foo.bar eq 1` parses even where no `foo` attribute
//! exists; names are resolved when the filter is evaluated or translated.
//!
//! ```
//! use scimkit::filter::{AttrPath, CompValue, CompareOp, Filter};
//!
//! let filter: Filter = r#"userName Eq "bjensen" and not (emails[type eq "work"])"#.parse()?;
//! // Printing gives the canonical form: lower-case keywords, minimal parentheses.
//! assert_eq!(
//!     filter.to_string(),
//!     r#"userName eq "bjensen" and not (emails[type eq "work"])"#
//! );
//! let Filter::And(terms) = &filter else { unreachable!() };
//! assert_eq!(
//!     terms[0],
//!     Filter::Compare {
//!         path: AttrPath::new("userName"),
//!         op: CompareOp::Eq,
//!         value: CompValue::from("bjensen"),
//!     }
//! );
//! # Ok::<(), scimkit::filter::FilterError>(())
//! ```
//!
//! # Microsoft Entra ID's value-path form
//!
//! Entra ID sends `emails[type eq "work"].value eq "x"`, which is outside the RFC grammar.
//! It is accepted and parsed to the filter it means, in which one element must satisfy both
//! conditions: `emails[type eq "work" and value eq "x"]`.
//!
//! # Hostile input
//!
//! Parsing keeps its own stack on the heap, so neither long `and`/`or` chains nor nested
//! parentheses grow the call stack, and its cost is linear in the input's length. The
//! [`Limits`] on length, nesting depth and number of clauses are enforced while parsing.
//! Parsed trees are at most [`Limits::max_depth`] groups deep, so dropping, printing and
//! evaluating them uses bounded stack; `and`/`or` chains are stored flat
//! ([`Filter::And`], [`Filter::Or`]) and add no depth however long they are.

use std::fmt;

mod error;
mod parse;
mod print;

pub use error::{FilterError, FilterErrorKind};
pub(crate) use parse::parse_patch_path;
pub use parse::Limits;

/// A parsed SCIM filter.
///
/// Trees produced by the parser satisfy `s.parse::<Filter>()?.to_string().parse() == Ok(f)`:
/// printing gives canonical syntax that parses back to the same tree. `And` and `Or` built
/// by hand must have at least two terms for that to hold; [`Filter::and`] and
/// [`Filter::or`] build them correctly.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath op compValue`, e.g. `userName eq "bjensen"`.
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The comparison operator.
        op: CompareOp,
        /// The literal compared against.
        value: CompValue,
    },
    /// `attrPath pr`: the attribute has a non-empty value.
    Present(AttrPath),
    /// Two or more filters joined by `and`.
    And(Vec<Filter>),
    /// Two or more filters joined by `or`.
    Or(Vec<Filter>),
    /// `not (filter)`.
    Not(Box<Filter>),
    /// `attrPath[filter]`: some element of a (usually multi-valued, complex) attribute
    /// satisfies the whole inner filter, whose paths are relative to the element.
    ValuePath {
        /// The attribute whose elements are tested.
        path: AttrPath,
        /// The filter each element is tested against.
        filter: Box<Filter>,
    },
}

impl Filter {
    /// Parses `input` with custom [`Limits`]. `input.parse::<Filter>()` uses
    /// [`Limits::default`].
    ///
    /// ```
    /// use scimkit::filter::{Filter, FilterErrorKind, Limits};
    ///
    /// let limits = Limits { max_clauses: 2, ..Limits::default() };
    /// let err = Filter::parse_with("a pr or b pr or c pr", &limits).unwrap_err();
    /// assert_eq!(err.kind(), &FilterErrorKind::TooManyClauses { limit: 2 });
    /// assert_eq!(err.offset(), 16);
    /// ```
    pub fn parse_with(input: &str, limits: &Limits) -> Result<Filter, FilterError> {
        parse::parse(input, limits)
    }

    /// `self and other`, flattening nested `and`s so that chains stay flat.
    pub fn and(self, other: Filter) -> Filter {
        join(self, other, true)
    }

    /// `self or other`, flattening nested `or`s so that chains stay flat.
    pub fn or(self, other: Filter) -> Filter {
        join(self, other, false)
    }

    /// `not (self)`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Filter {
        Filter::Not(Box::new(self))
    }

    /// The number of attribute expressions (comparisons and presence tests) in the filter,
    /// the quantity [`Limits::max_clauses`] bounds.
    pub fn clauses(&self) -> usize {
        match self {
            Filter::Compare { .. } | Filter::Present(_) => 1,
            Filter::And(terms) | Filter::Or(terms) => terms.iter().map(Filter::clauses).sum(),
            Filter::Not(inner) | Filter::ValuePath { filter: inner, .. } => inner.clauses(),
        }
    }
}

fn join(left: Filter, right: Filter, and: bool) -> Filter {
    let mut terms = Vec::new();
    for side in [left, right] {
        match side {
            Filter::And(inner) if and => terms.extend(inner),
            Filter::Or(inner) if !and => terms.extend(inner),
            other => terms.push(other),
        }
    }
    if and {
        Filter::And(terms)
    } else {
        Filter::Or(terms)
    }
}

impl std::str::FromStr for Filter {
    type Err = FilterError;

    fn from_str(input: &str) -> Result<Filter, FilterError> {
        parse::parse(input, &Limits::default())
    }
}

/// An attribute path: `[schemaURN ":"] name ["." subAttribute]`.
///
/// Names keep the case they were written in; they are matched case-insensitively when
/// resolved against a schema or a resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN prefix, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`:
    /// everything before the last `:` of the path.
    pub urn: Option<String>,
    /// The attribute name, e.g. `emails`.
    pub name: String,
    /// The sub-attribute name, e.g. `value` in `emails.value`.
    pub sub_attr: Option<String>,
}

impl AttrPath {
    /// A path to a top-level attribute with no URN and no sub-attribute.
    pub fn new(name: impl Into<String>) -> AttrPath {
        AttrPath {
            urn: None,
            name: name.into(),
            sub_attr: None,
        }
    }

    /// This path with the sub-attribute `sub`.
    pub fn with_sub_attr(mut self, sub: impl Into<String>) -> AttrPath {
        self.sub_attr = Some(sub.into());
        self
    }

    /// This path qualified by the schema URN `urn`.
    pub fn with_urn(mut self, urn: impl Into<String>) -> AttrPath {
        self.urn = Some(urn.into());
        self
    }
}

impl std::str::FromStr for AttrPath {
    type Err = FilterError;

    /// Parses a whole string as an attribute path.
    ///
    /// ```
    /// use scimkit::filter::AttrPath;
    ///
    /// let path: AttrPath = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value".parse()?;
    /// assert_eq!(path.urn.as_deref(), Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
    /// assert_eq!(path.name, "manager");
    /// assert_eq!(path.sub_attr.as_deref(), Some("value"));
    /// # Ok::<(), scimkit::filter::FilterError>(())
    /// ```
    fn from_str(input: &str) -> Result<AttrPath, FilterError> {
        parse::parse_attr_path(input)
    }
}

/// A comparison operator. `pr` is not one: it is [`Filter::Present`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`: equal.
    Eq,
    /// `ne`: not equal.
    Ne,
    /// `co`: contains.
    Co,
    /// `sw`: starts with.
    Sw,
    /// `ew`: ends with.
    Ew,
    /// `gt`: greater than.
    Gt,
    /// `lt`: less than.
    Lt,
    /// `ge`: greater than or equal to.
    Ge,
    /// `le`: less than or equal to.
    Le,
}

impl CompareOp {
    /// Every operator, in the RFC's order.
    pub const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Lt,
        CompareOp::Ge,
        CompareOp::Le,
    ];

    /// The canonical (lower-case) keyword.
    pub const fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Lt => "lt",
            CompareOp::Ge => "ge",
            CompareOp::Le => "le",
        }
    }

    /// The operator named by `keyword`, in any case.
    pub fn from_keyword(keyword: &str) -> Option<CompareOp> {
        let &[a, b] = keyword.as_bytes() else {
            return None;
        };
        Some(match [a.to_ascii_lowercase(), b.to_ascii_lowercase()] {
            [b'e', b'q'] => CompareOp::Eq,
            [b'n', b'e'] => CompareOp::Ne,
            [b'c', b'o'] => CompareOp::Co,
            [b's', b'w'] => CompareOp::Sw,
            [b'e', b'w'] => CompareOp::Ew,
            [b'g', b't'] => CompareOp::Gt,
            [b'l', b't'] => CompareOp::Lt,
            [b'g', b'e'] => CompareOp::Ge,
            [b'l', b'e'] => CompareOp::Le,
            _ => return None,
        })
    }

    /// Whether the operator orders values (`gt`, `lt`, `ge`, `le`).
    pub const fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Lt | CompareOp::Ge | CompareOp::Le
        )
    }

    /// Whether the operator matches substrings (`co`, `sw`, `ew`).
    pub const fn is_substring(self) -> bool {
        matches!(self, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A literal in a comparison: `false`, `null`, `true`, a JSON number or a JSON string.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A JSON number.
    Number(serde_json::Number),
    /// A JSON string, unescaped.
    String(String),
}

impl From<&str> for CompValue {
    fn from(s: &str) -> CompValue {
        CompValue::String(s.to_owned())
    }
}

impl From<String> for CompValue {
    fn from(s: String) -> CompValue {
        CompValue::String(s)
    }
}

impl From<bool> for CompValue {
    fn from(b: bool) -> CompValue {
        CompValue::Bool(b)
    }
}

impl From<i64> for CompValue {
    fn from(n: i64) -> CompValue {
        CompValue::Number(n.into())
    }
}

impl From<serde_json::Number> for CompValue {
    fn from(n: serde_json::Number) -> CompValue {
        CompValue::Number(n)
    }
}
