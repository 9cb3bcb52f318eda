//! What a list asks of a store — [`Query`]: a filter compiled for the resource type, a
//! [`Sort`] and the [`Paging`] — and [`paginate`], the sorting and paging a store that
//! evaluates in memory needs, with its [`Cursor`]s.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use super::{Page, StoreError};
use crate::eval::{parse_datetime, AttrType, EvalError, Matcher};
use crate::filter::{AttrPath, Filter};
use crate::json::get_ci;
use crate::schema::{AttrKind, ResourceTypeView};

/// A list request as a store receives it: which resources (a filter, compiled for the
/// resource type), in which order, and which page.
///
/// The filter comes twice, made together so that they always agree: as its parsed tree
/// ([`filter`](Query::filter)), for stores that translate it (the `scimkit::sql` module
/// takes it with [`resource_type`](Query::resource_type)), and compiled
/// ([`matches`](Query::matches)), for stores that test resources in memory.
///
/// ```
/// use scimkit::schema::Registry;
/// use scimkit::store::{Paging, Query, SortOrder};
/// use serde_json::json;
///
/// let registry = Registry::scim_default();
/// let users = registry.resource_type("User").unwrap();
/// let query = Query::new(users)
///     .with_filter(r#"userName sw "b""#.parse()?)?
///     .with_sort("name.familyName".parse()?, SortOrder::Descending)
///     .with_paging(Paging::Index { start_index: 1, count: 10 });
/// assert!(query.matches(&json!({"userName": "BJensen"}))); // userName ignores case
/// assert!(!query.matches(&json!({"userName": "ajensen"})));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Query<'r> {
    resource_type: ResourceTypeView<'r>,
    filter: Option<(Filter, Matcher)>,
    sort: Option<Sort>,
    paging: Paging,
}

impl<'r> Query<'r> {
    /// Every resource of `resource_type`, unsorted, the first page of 100.
    pub fn new(resource_type: ResourceTypeView<'r>) -> Query<'r> {
        Query {
            resource_type,
            filter: None,
            sort: None,
            paging: Paging::default(),
        }
    }

    /// Only the resources `filter` matches; fails on comparisons the schema forbids, such
    /// as ordering booleans (`400 invalidFilter`).
    pub fn with_filter(mut self, filter: Filter) -> Result<Query<'r>, EvalError> {
        let matcher = Matcher::new(&filter, &self.resource_type)?;
        self.filter = Some((filter, matcher));
        Ok(self)
    }

    /// Sorted by the attribute at `path`.
    pub fn with_sort(mut self, path: AttrPath, order: SortOrder) -> Query<'r> {
        self.sort = Some(Sort::new(path, order, self.resource_type));
        self
    }

    /// This page.
    pub fn with_paging(mut self, paging: Paging) -> Query<'r> {
        self.paging = paging;
        self
    }

    /// The resource type queried.
    pub fn resource_type(&self) -> ResourceTypeView<'r> {
        self.resource_type
    }

    /// The filter as parsed, for stores that translate it.
    pub fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref().map(|(f, _)| f)
    }

    /// Whether `resource` is one the query asks for (all are without a filter).
    pub fn matches(&self, resource: &Value) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|(_, m)| m.matches(resource))
    }

    /// The order asked for; unsorted results come in a stable order of the store's
    /// choosing (insertion order, for the stores of this crate).
    pub fn sort(&self) -> Option<&Sort> {
        self.sort.as_ref()
    }

    /// The page asked for.
    pub fn paging(&self) -> &Paging {
        &self.paging
    }

    /// Asks for another page of the same results.
    pub fn set_paging(&mut self, paging: Paging) {
        self.paging = paging;
    }
}

/// The order of a sorted query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortOrder {
    /// Smallest first (the default).
    #[default]
    Ascending,
    /// Largest first.
    Descending,
}

/// What a query is sorted by (RFC 7644 §3.4.2.3), resolved against the resource type so
/// that every store sorts as the others do: strings without case unless `caseExact`,
/// numbers by value, dateTimes by instant, booleans `false` first; a multi-valued
/// attribute by its primary element (else its first), a complex one by its `value`;
/// resources without a value after the others in ascending order, before them in
/// descending order.
#[derive(Debug, Clone, PartialEq)]
pub struct Sort {
    path: AttrPath,
    order: SortOrder,
    /// The type of what is compared, when the schema defines it.
    ty: Option<AttrType>,
}

impl Sort {
    /// Sorting by `path` in `order`, with the attribute's type from `resource_type`.
    pub fn new(path: AttrPath, order: SortOrder, resource_type: ResourceTypeView<'_>) -> Sort {
        let ty = resource_type.resolve_path(&path).and_then(|r| {
            let target = match (r.sub_attribute, r.attribute.kind) {
                (None, AttrKind::Complex) => r.attribute.sub_attribute("value")?,
                _ => r.target(),
            };
            Some(target.attr_type())
        });
        Sort { path, order, ty }
    }

    /// The attribute sorted by.
    pub fn path(&self) -> &AttrPath {
        &self.path
    }

    /// The order.
    pub fn order(&self) -> SortOrder {
        self.order
    }

    /// Whether strings compare with case (by code point) rather than without it.
    pub fn case_exact(&self) -> bool {
        self.ty.is_some_and(|t| t.case_exact)
    }

    /// The data type of what is compared, when the schema defines the attribute.
    pub fn kind(&self) -> Option<AttrKind> {
        self.ty.map(|t| t.kind)
    }

    /// The value `resource` is sorted by, if it has one.
    pub fn value<'v>(&self, resource: &'v Value) -> Option<&'v Value> {
        let path = &self.path;
        let obj = resource.as_object()?;
        let obj = match &path.urn {
            Some(urn) => match get_ci(obj, urn).and_then(Value::as_object) {
                Some(ext) => ext,
                None if is_core(path) => obj,
                None => return None,
            },
            None => obj,
        };
        let mut value = get_ci(obj, &path.name)?;
        if let Value::Array(items) = value {
            value = items
                .iter()
                .find(|i| i.get("primary") == Some(&Value::Bool(true)))
                .or_else(|| items.first())?;
        }
        match &path.sub_attr {
            Some(sub) => value.as_object().and_then(|o| get_ci(o, sub)),
            None => match value {
                Value::Object(o) => get_ci(o, "value"),
                other => Some(other),
            },
        }
        .filter(|v| !v.is_null())
    }

    /// The order of two resources in the sort's order: ascending by their values with
    /// those without a value last, descending the reverse.
    pub fn compare(&self, a: &Value, b: &Value) -> Ordering {
        let ascending = match (self.value(a), self.value(b)) {
            (Some(x), Some(y)) => self.compare_values(x, y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        match self.order {
            SortOrder::Ascending => ascending,
            SortOrder::Descending => ascending.reverse(),
        }
    }

    /// Two values in ascending order.
    fn compare_values(&self, a: &Value, b: &Value) -> Ordering {
        if self.kind() == Some(AttrKind::DateTime) {
            if let (Some(x), Some(y)) = (
                a.as_str().and_then(parse_datetime),
                b.as_str().and_then(parse_datetime),
            ) {
                return x.cmp(&y);
            }
        }
        match (a, b) {
            (Value::String(a), Value::String(b)) if self.case_exact() => a.cmp(b),
            (Value::String(a), Value::String(b)) => a
                .to_lowercase()
                .cmp(&b.to_lowercase())
                .then_with(|| a.cmp(b)),
            (Value::Number(a), Value::Number(b)) => a
                .as_f64()
                .partial_cmp(&b.as_f64())
                .unwrap_or(Ordering::Equal),
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            _ => rank(a).cmp(&rank(b)),
        }
    }
}

/// Whether a path names an attribute of a core schema (unqualified, or qualified by a
/// `urn:ietf:params:scim:schemas:core:` URN).
pub(super) fn is_core(path: &AttrPath) -> bool {
    path.urn.as_deref().is_none_or(|u| {
        u.to_ascii_lowercase()
            .starts_with("urn:ietf:params:scim:schemas:core:")
    })
}

/// Values of different kinds order by kind.
fn rank(v: &Value) -> u8 {
    match v {
        Value::Bool(_) => 0,
        Value::Number(_) => 1,
        Value::String(_) => 2,
        _ => 3,
    }
}

/// Which page of the results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paging {
    /// Index paging: from the 1-based `start_index`, at most `count` resources.
    Index {
        /// The 1-based index of the first resource.
        start_index: usize,
        /// The most resources to return.
        count: usize,
    },
    /// Cursor paging (RFC 9865): from `cursor` (the first page when `None`), at most
    /// `count` resources. The cursor is one the store gave out as
    /// [`Page::next_cursor`]; what it holds is the store's business.
    Cursor {
        /// A cursor the store issued, or `None` for the first page.
        cursor: Option<String>,
        /// The most resources to return.
        count: usize,
    },
}

impl Default for Paging {
    fn default() -> Paging {
        Paging::Index {
            start_index: 1,
            count: 100,
        }
    }
}

impl Paging {
    /// The most resources the page holds.
    pub fn count(&self) -> usize {
        match self {
            Paging::Index { count, .. } | Paging::Cursor { count, .. } => *count,
        }
    }
}

/// The cursors of a store that pages by position, as [`paginate`] gives them out: after
/// the resource with a sequence number, for unsorted results (so that the next page starts
/// where the last ended however many resources were added or deleted meanwhile), or at an
/// offset, for sorted ones. On the wire `s{n}` and `o{n}`.
///
/// ```
/// use scimkit::store::Cursor;
///
/// assert_eq!(Cursor::After(41).to_string(), "s41");
/// assert_eq!("o200".parse::<Cursor>()?, Cursor::Offset(200));
/// assert!("x".parse::<Cursor>().is_err());
/// # Ok::<(), scimkit::store::StoreError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// After the resource with this sequence number (insertion order).
    After(u64),
    /// After this many resources of the sorted results.
    Offset(usize),
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cursor::After(seq) => write!(f, "s{seq}"),
            Cursor::Offset(n) => write!(f, "o{n}"),
        }
    }
}

impl FromStr for Cursor {
    type Err = StoreError;

    /// A cursor as [`Display`](fmt::Display) writes it; anything else is
    /// [`StoreError::InvalidCursor`].
    fn from_str(s: &str) -> Result<Cursor, StoreError> {
        let parsed = match s.split_at_checked(1) {
            Some(("s", n)) => n.parse().ok().map(Cursor::After),
            Some(("o", n)) => n.parse().ok().map(Cursor::Offset),
            _ => None,
        };
        parsed.ok_or(StoreError::InvalidCursor)
    }
}

/// Sorts and pages the resources a query matched, given in insertion order: what a store
/// that evaluates queries in memory does after filtering with [`Query::matches`].
///
/// `seq` gives each item's sequence number (increasing in insertion order) and `resource`
/// its document; `issued` tells whether a sequence number named by a cursor is one the
/// store ever gave out. Cursors are [`Cursor`]s; one that is not, or that does not fit the
/// query (an offset cursor for an unsorted query), is [`StoreError::InvalidCursor`].
/// `total_results` counts every matched item.
///
/// ```
/// use scimkit::schema::Registry;
/// use scimkit::store::{paginate, Paging, Query};
/// use serde_json::json;
///
/// let registry = Registry::scim_default();
/// let users: Vec<(u64, serde_json::Value)> = (0..5)
///     .map(|i| (i, json!({"userName": format!("user{i}")})))
///     .collect();
/// let mut query = Query::new(registry.resource_type("User").unwrap())
///     .with_paging(Paging::Cursor { cursor: None, count: 2 });
/// let page = paginate(users.clone(), &query, |u| u.0, |u| &u.1, |seq| seq < 5)?;
/// assert_eq!((page.resources.len(), page.total_results), (2, 5));
/// query.set_paging(Paging::Cursor { cursor: page.next_cursor, count: 2 });
/// let next = paginate(users, &query, |u| u.0, |u| &u.1, |seq| seq < 5)?;
/// assert_eq!(next.resources[0].1["userName"], "user2");
/// # Ok::<(), scimkit::store::StoreError>(())
/// ```
pub fn paginate<T>(
    mut matched: Vec<T>,
    query: &Query<'_>,
    seq: impl Fn(&T) -> u64,
    resource: impl Fn(&T) -> &Value,
    issued: impl Fn(u64) -> bool,
) -> Result<Page<T>, StoreError> {
    if let Some(sort) = query.sort() {
        // Stable: equal keys keep insertion order.
        matched.sort_by(|a, b| sort.compare(resource(a), resource(b)));
    }
    let total_results = matched.len();
    let sorted = query.sort().is_some();
    let start = match query.paging() {
        Paging::Index { start_index, .. } => start_index.saturating_sub(1),
        Paging::Cursor { cursor: None, .. } => 0,
        Paging::Cursor {
            cursor: Some(c), ..
        } => match (c.parse::<Cursor>()?, sorted) {
            (Cursor::After(n), false) if issued(n) => matched.partition_point(|e| seq(e) <= n),
            (Cursor::Offset(n), true) if n <= total_results => n,
            _ => return Err(StoreError::InvalidCursor),
        },
    };
    let count = query.paging().count();
    let start = start.min(total_results);
    let end = start.saturating_add(count).min(total_results);
    let next_cursor = match query.paging() {
        Paging::Cursor { .. } if end < total_results && sorted => Some(Cursor::Offset(end)),
        Paging::Cursor { .. } if end < total_results && end > start => {
            Some(Cursor::After(seq(&matched[end - 1])))
        }
        _ => None,
    };
    matched.truncate(end);
    let resources: Vec<T> = matched.drain(start..).collect();
    Ok(Page {
        resources,
        total_results,
        next_cursor: next_cursor.map(|c| c.to_string()),
    })
}
