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
//! registered on each connection (`SqliteStore` does this);
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

use crate::eval::parse_datetime;
use crate::filter::{AttrPath, Filter};
use crate::schema::{AttrKind, Attribute, ResourceTypeView};

mod postgres;
mod sqlite;
mod translate;

pub use postgres::POSTGRES_FUNCTIONS;

use translate::{json_path, Out, Polarity, Syntax};

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

impl Dialect {
    fn syntax(self) -> &'static dyn Syntax {
        match self {
            Dialect::Sqlite => &sqlite::Sqlite,
            Dialect::Postgres => &postgres::Postgres,
        }
    }
}

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
        let mut out = Out::new(self.dialect.syntax(), self.first_param);
        let sql = self.node(filter, self.doc, None, Polarity::ROOT, &mut out);
        SqlFilter {
            sql,
            params: out.params,
            exact: out.exact,
        }
    }

    /// An `ORDER BY` key for `path`: its value (a multi-valued attribute's primary
    /// element, else its first), and whether it is `caseExact` (else sort by `scim_fold`
    /// of it first). On SQLite the value is what `json_extract` gives (text, a number or
    /// `NULL`); on PostgreSQL it is `jsonb` (`NULL` when absent; its text is `#>> '{}'`
    /// of it, and `jsonb` orders numbers by value and `false` before `true`). `None` when
    /// the path cannot be sorted in SQL.
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
        if attr.kind == AttrKind::Complex && target.is_none() {
            // A complex attribute without a `value` has nothing to sort by (the evaluator
            // puts every resource among those without a value): none in SQL either.
            return None;
        }
        let case_exact = target.unwrap_or(attr).compares_case_exact();
        let leaf = target.filter(|_| attr.kind == AttrKind::Complex);
        let value = if attr.multi_valued {
            if self.elements.and_then(|e| e(attr)).is_some() {
                return None;
            }
            match self.dialect {
                Dialect::Sqlite => {
                    let list = json_path(&keys)?;
                    let leaf = match leaf {
                        Some(t) => json_path(&[&t.name])?,
                        None => "$".into(),
                    };
                    format!(
                        "(SELECT json_extract(s.value, '{leaf}') FROM json_each({doc}, '{list}') AS s \
                         ORDER BY coalesce(json_extract(s.value, '$.\"primary\"'), 0) = 1 DESC, s.key LIMIT 1)",
                        doc = self.doc
                    )
                }
                Dialect::Postgres => {
                    let list = format!("({} #> {})", self.doc, postgres::path(&keys)?);
                    let leaf = match leaf {
                        Some(t) => format!("s.value #> {}", postgres::path(&[&t.name])?),
                        None => "s.value".into(),
                    };
                    // A lone value is one element, as the evaluator reads it.
                    format!(
                        "(SELECT {leaf} FROM jsonb_array_elements(CASE WHEN jsonb_typeof({list}) = 'array' \
                         THEN {list} WHEN {list} IS NULL THEN '[]'::jsonb ELSE jsonb_build_array({list}) END) \
                         WITH ORDINALITY AS s(value, n) \
                         ORDER BY (s.value -> 'primary') = 'true'::jsonb DESC NULLS LAST, s.n LIMIT 1)"
                    )
                }
            }
        } else {
            if let Some(t) = target {
                keys.push(&t.name);
            }
            match self.dialect {
                Dialect::Sqlite => format!("json_extract({}, '{}')", self.doc, json_path(&keys)?),
                Dialect::Postgres => format!("({} #> {})", self.doc, postgres::path(&keys)?),
            }
        };
        Some((value, case_exact))
    }

    fn syntax(&self) -> &'static dyn Syntax {
        self.dialect.syntax()
    }
}
