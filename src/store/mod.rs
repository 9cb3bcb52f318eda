//! Storage: the trait an application implements, its errors, a reference in-memory store,
//! and a conformance suite any store can run.
//!
//! The store gets the whole question. [`ResourceStore::query`] receives the parsed filter
//! (for stores that translate it, such as SQL), a compiled [`Matcher`] (for those that
//! evaluate in memory), the sort and the page. Uniqueness and the `If-Match` version check
//! are part of the writes, so a store enforces them atomically with the write itself:
//! never as a read followed by a write in the service.
//!
//! Every call carries a [`Scope`]: the tenant and the resource type. Nothing crosses
//! tenants, not even uniqueness.
//!
//! Reads that name no attributes may be served from what the store keeps of earlier
//! answers: [`ResourceStore::get_rendered`] and [`ResourceStore::query_rendered`] hand the
//! store a [`Renderer`], and a store that keeps its renderings until the resource changes
//! (both stores here do) answers them by copying JSON. A store that does not implement them
//! loses nothing but that speed.
//!
//! ```
//! use scimkit::store::{MemoryStore, Query, ResourceStore, Scope};
//! use serde_json::json;
//!
//! # futures_lite_block_on(async {
//! let store = MemoryStore::new();
//! let scope = Scope::new("acme", "User");
//! let created = store
//!     .create(&scope, json!({"id": "u1", "userName": "bjensen"}), &[])
//!     .await?;
//! assert_eq!(created["meta"]["version"], "W/\"1\"");
//! assert_eq!(store.get(&scope, "u1").await?["userName"], "bjensen");
//! // Another tenant sees nothing.
//! assert!(store.get(&Scope::new("globex", "User"), "u1").await.is_err());
//! let page = store.query(&scope, &Query::default()).await?;
//! assert_eq!(page.total_results, 1);
//! # Ok::<(), scimkit::store::StoreError>(())
//! # });
//! # fn futures_lite_block_on<F: std::future::Future<Output = Result<(), scimkit::store::StoreError>>>(f: F) {
//! #     // The memory store never suspends: poll once with a no-op waker.
//! #     let waker = std::task::Waker::noop();
//! #     let mut cx = std::task::Context::from_waker(waker);
//! #     let mut f = std::pin::pin!(f);
//! #     match f.as_mut().poll(&mut cx) { std::task::Poll::Ready(r) => r.unwrap(), _ => panic!("pending") }
//! # }
//! ```

use std::fmt;

use async_trait::async_trait;
use bytes::Bytes;
use serde_json::Value;

use crate::error::{ScimError, ScimType};
use crate::eval::Matcher;
use crate::filter::{AttrPath, Filter};
use crate::patch::{MemberChanges, NetChange};
use crate::schema::UniqueValue;

pub mod conformance;
mod memory;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use memory::MemoryStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

/// Which collection a call is about: a tenant and a resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scope<'a> {
    /// The tenant.
    pub tenant: &'a str,
    /// The resource type's name, e.g. `User`.
    pub resource_type: &'a str,
}

impl<'a> Scope<'a> {
    /// The scope of `resource_type` in `tenant`.
    pub fn new(tenant: &'a str, resource_type: &'a str) -> Scope<'a> {
        Scope {
            tenant,
            resource_type,
        }
    }
}

/// A store's failure, with the protocol meaning the service needs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No resource with that id in that scope.
    #[error("resource not found")]
    NotFound,
    /// A value that must be unique is taken: the attribute's path, as the
    /// [`UniqueValue`] spells it.
    #[error("{0} is already taken")]
    Conflict(String),
    /// The resource's version is not the one the write expected.
    #[error("the resource has changed: its version is {current}")]
    PreconditionFailed {
        /// The version the resource has now.
        current: String,
    },
    /// A cursor the store did not issue, or no longer honours.
    #[error("invalid cursor")]
    InvalidCursor,
    /// The store cannot answer now.
    #[error("the store is unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for ScimError {
    /// 404, `409 uniqueness`, 412, `400 invalidCursor` or 503. The detail of an
    /// unavailable store stays out of the response.
    fn from(err: StoreError) -> ScimError {
        use http::StatusCode;
        match err {
            StoreError::NotFound => {
                ScimError::new(StatusCode::NOT_FOUND, None, "resource not found")
            }
            StoreError::Conflict(path) => ScimError::new(
                StatusCode::CONFLICT,
                Some(ScimType::Uniqueness),
                format!("{path} is already taken"),
            ),
            StoreError::PreconditionFailed { .. } => ScimError::new(
                StatusCode::PRECONDITION_FAILED,
                None,
                "the resource has changed since the version given in If-Match",
            ),
            StoreError::InvalidCursor => ScimError::bad_request(
                ScimType::InvalidCursor,
                "the cursor is invalid or has expired",
            ),
            StoreError::Unavailable(_) => ScimError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "the directory is unavailable; try again later",
            ),
        }
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
    /// `count` resources.
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

/// A query: filter, sort and page.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// The parsed filter, for stores that translate it.
    pub filter: Option<Filter>,
    /// The same filter compiled against the resource type, for stores that evaluate in
    /// memory. Present whenever `filter` is.
    pub matcher: Option<Matcher>,
    /// The attribute to sort by; unsorted queries come in a stable order of the store's
    /// choosing.
    pub sort_by: Option<AttrPath>,
    /// The sort order.
    pub sort_order: SortOrder,
    /// Whether `sort_by` is `caseExact` (sorted by code point) rather than sorted without
    /// case (the default, as for `userName`).
    pub sort_case_exact: bool,
    /// The page.
    pub paging: Paging,
}

/// One page of a query's results: the resources as JSON values, or (as a
/// [`RenderedPage`]) as the JSON a [`Renderer`] made of them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page<R = Value> {
    /// The resources of the page.
    pub resources: Vec<R>,
    /// How many resources match in all.
    pub total_results: usize,
    /// With cursor paging, the cursor of the next page, if there is one.
    pub next_cursor: Option<String>,
}

/// How the service writes a resource into a response that names no attributes: the
/// resource as stored, less what the schema never returns, as JSON.
///
/// A store that keeps documents in memory may keep what a renderer made of each one (see
/// [`ResourceStore::query_rendered`]) and hand it out again until the resource changes:
/// renderers with the same [`key`](Renderer::key) make the same bytes of the same
/// resource, so the key tells whether a kept rendering is the one asked for.
#[derive(Clone, Copy)]
pub struct Renderer<'a> {
    key: u64,
    render: &'a (dyn Fn(&Value) -> Bytes + Send + Sync),
}

impl<'a> Renderer<'a> {
    /// A renderer: `render` must make the same bytes of the same resource every time it
    /// is called with the same `key`.
    pub fn new(key: u64, render: &'a (dyn Fn(&Value) -> Bytes + Send + Sync)) -> Renderer<'a> {
        Renderer { key, render }
    }

    /// What identifies this way of rendering.
    pub fn key(&self) -> u64 {
        self.key
    }

    /// The resource as JSON for a response.
    pub fn render(&self, resource: &Value) -> Bytes {
        (self.render)(resource)
    }
}

impl fmt::Debug for Renderer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Renderer").field("key", &self.key).finish()
    }
}

/// One resource as a [`Renderer`] made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The resource's `meta.version`, for the `ETag`.
    pub version: Option<String>,
    /// The resource as JSON.
    pub json: Bytes,
}

/// A page of resources as a [`Renderer`] made them, each a JSON document.
pub type RenderedPage = Page<Bytes>;

impl<R> Page<R> {
    /// The same page with each resource made `f` of it.
    pub(crate) fn map<S>(self, f: impl FnMut(R) -> S) -> Page<S> {
        Page {
            resources: self.resources.into_iter().map(f).collect(),
            total_results: self.total_results,
            next_cursor: self.next_cursor,
        }
    }
}

/// What [`ResourceStore::change_members`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembersChanged {
    /// The resource's version afterwards.
    pub version: String,
    /// The values added and removed, as [`MemberChanges::apply`] reports them.
    pub net: NetChange,
}

/// The storage an application provides: a JSON document store per tenant and resource
/// type with atomic uniqueness and version checks.
///
/// Resources come in normalised, with `id` set. The store sets `meta.version` on every
/// write, a weak entity tag that changes whenever the resource does (the reference store
/// counts: `W/"1"`, `W/"2"`, …). `expected_version`, when given, must equal the stored
/// version or the write fails with [`StoreError::PreconditionFailed`]; `unique` lists the
/// values no other resource of the scope may hold, compared without case unless
/// `case_exact`.
#[async_trait]
pub trait ResourceStore: Send + Sync {
    /// Stores a new resource; returns it as stored.
    async fn create(
        &self,
        scope: &Scope<'_>,
        resource: Value,
        unique: &[UniqueValue],
    ) -> Result<Value, StoreError>;

    /// The resource with this id.
    async fn get(&self, scope: &Scope<'_>, id: &str) -> Result<Value, StoreError>;

    /// Replaces the resource with this id; returns it as stored.
    async fn replace(
        &self,
        scope: &Scope<'_>,
        id: &str,
        resource: Value,
        unique: &[UniqueValue],
        expected_version: Option<&str>,
    ) -> Result<Value, StoreError>;

    /// Deletes the resource with this id.
    async fn delete(
        &self,
        scope: &Scope<'_>,
        id: &str,
        expected_version: Option<&str>,
    ) -> Result<(), StoreError>;

    /// The page of resources matching the query, and how many match in all.
    async fn query(&self, scope: &Scope<'_>, query: &Query) -> Result<Page, StoreError>;

    /// Applies member changes to the resource with this id without the service reading
    /// and rewriting it whole, so that a change to a 100,000-member group costs what the
    /// change costs. Returns the resource's version afterwards and what changed (the
    /// [`NetChange`] of [`MemberChanges::apply`], or of applying the same rule in a
    /// database), or `Ok(None)` when the store does not take such changes (the default):
    /// the service then reads, patches and replaces.
    ///
    /// The changes mean what [`MemberChanges::apply`] does. When they change the
    /// resource, the store sets `meta.lastModified` to `last_modified` and gives it a new
    /// version; when not, both stay. `expected_version` is checked as for
    /// [`replace`](Self::replace).
    async fn change_members(
        &self,
        scope: &Scope<'_>,
        id: &str,
        changes: &MemberChanges,
        last_modified: &str,
        expected_version: Option<&str>,
    ) -> Result<Option<MembersChanged>, StoreError> {
        let _ = (scope, id, changes, last_modified, expected_version);
        Ok(None)
    }

    /// The resource with this id as `renderer` makes it, or `Ok(None)` when the store
    /// does not keep renderings (the default): the service then calls
    /// [`get`](Self::get) and renders the resource itself.
    ///
    /// A store that keeps renderings answers exactly what `renderer.render(&get(…))`
    /// would: the rendering of the resource as it is now, never of an earlier version.
    async fn get_rendered(
        &self,
        scope: &Scope<'_>,
        id: &str,
        renderer: &Renderer<'_>,
    ) -> Result<Option<Rendered>, StoreError> {
        let _ = (scope, id, renderer);
        Ok(None)
    }

    /// [`query`](Self::query) with each resource as `renderer` makes it, or `Ok(None)`
    /// when the store does not keep renderings (the default). As for
    /// [`get_rendered`](Self::get_rendered), the answer is exactly what rendering each
    /// resource of [`query`](Self::query)'s page would give; a store that wraps another
    /// and changes the documents it returns must not pass this call through unchanged.
    async fn query_rendered(
        &self,
        scope: &Scope<'_>,
        query: &Query,
        renderer: &Renderer<'_>,
    ) -> Result<Option<RenderedPage>, StoreError> {
        let _ = (scope, query, renderer);
        Ok(None)
    }
}

#[async_trait]
impl<S: ResourceStore + ?Sized> ResourceStore for std::sync::Arc<S> {
    async fn create(
        &self,
        scope: &Scope<'_>,
        resource: Value,
        unique: &[UniqueValue],
    ) -> Result<Value, StoreError> {
        (**self).create(scope, resource, unique).await
    }
    async fn get(&self, scope: &Scope<'_>, id: &str) -> Result<Value, StoreError> {
        (**self).get(scope, id).await
    }
    async fn replace(
        &self,
        scope: &Scope<'_>,
        id: &str,
        resource: Value,
        unique: &[UniqueValue],
        expected_version: Option<&str>,
    ) -> Result<Value, StoreError> {
        (**self)
            .replace(scope, id, resource, unique, expected_version)
            .await
    }
    async fn delete(
        &self,
        scope: &Scope<'_>,
        id: &str,
        expected_version: Option<&str>,
    ) -> Result<(), StoreError> {
        (**self).delete(scope, id, expected_version).await
    }
    async fn query(&self, scope: &Scope<'_>, query: &Query) -> Result<Page, StoreError> {
        (**self).query(scope, query).await
    }
    async fn change_members(
        &self,
        scope: &Scope<'_>,
        id: &str,
        changes: &MemberChanges,
        last_modified: &str,
        expected_version: Option<&str>,
    ) -> Result<Option<MembersChanged>, StoreError> {
        (**self)
            .change_members(scope, id, changes, last_modified, expected_version)
            .await
    }
    async fn get_rendered(
        &self,
        scope: &Scope<'_>,
        id: &str,
        renderer: &Renderer<'_>,
    ) -> Result<Option<Rendered>, StoreError> {
        (**self).get_rendered(scope, id, renderer).await
    }
    async fn query_rendered(
        &self,
        scope: &Scope<'_>,
        query: &Query,
        renderer: &Renderer<'_>,
    ) -> Result<Option<RenderedPage>, StoreError> {
        (**self).query_rendered(scope, query, renderer).await
    }
}

/// The keys under which unique values are held: (attribute path, lower case; the value,
/// lower-cased unless `caseExact`).
pub(crate) fn unique_keys(unique: &[UniqueValue]) -> Vec<(String, String)> {
    unique
        .iter()
        .map(|u| {
            let text = match &u.value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let key = if u.case_exact {
                text
            } else {
                text.to_lowercase()
            };
            (u.path.to_ascii_lowercase(), key)
        })
        .collect()
}

/// The `id` of a resource to create.
pub(crate) fn resource_id(resource: &Value) -> Result<String, StoreError> {
    resource
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| StoreError::Unavailable("a resource to store needs an id".into()))
}

/// A version number as a weak entity tag.
pub(crate) fn version_tag(version: u64) -> String {
    format!("W/\"{version}\"")
}

impl fmt::Display for Scope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.tenant, self.resource_type)
    }
}
