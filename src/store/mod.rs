//! Storage: the trait an application implements, its errors, the stores of this crate,
//! and (feature `conformance`) a suite any store can run.
//!
//! A [`ResourceStore`] keeps JSON documents per tenant and resource type. The service
//! hands it normalised resources and the whole question: uniqueness and the `If-Match`
//! version travel with each write as [`WriteOptions`], so that a store checks them
//! atomically with the write itself, never as a read followed by a write; a list arrives
//! as a [`Query`] whose filter is compiled once for the resource type, with its sort and
//! page.
//!
//! Every call carries a [`Scope`]: the tenant and the resource type. Nothing crosses
//! tenants, not even uniqueness.
//!
//! Stores hand resources out as [`Document`]s: the JSON, shared. The service keeps what
//! it makes of a document for a response beside it, so a store that keeps documents in
//! memory and hands out the same `Document` until the resource changes (as
//! [`MemoryStore`] does) has its reads answered by copying bytes.
//!
//! ```
//! use scimkit::schema::Registry;
//! use scimkit::store::{MemoryStore, Query, ResourceStore, Scope, WriteOptions};
//! use serde_json::json;
//!
//! # futures_lite_block_on(async {
//! let store = MemoryStore::new();
//! let scope = Scope::new("acme", "User");
//! let created = store
//!     .create(&scope, json!({"id": "u1", "userName": "bjensen"}), WriteOptions::new())
//!     .await?;
//! assert_eq!(created.version(), Some("W/\"1\""));
//! assert_eq!(store.get(&scope, "u1").await?["userName"], "bjensen");
//! // Another tenant sees nothing.
//! assert!(store.get(&Scope::new("globex", "User"), "u1").await.is_err());
//! let registry = Registry::scim_default();
//! let page = store.query(&scope, &Query::new(registry.resource_type("User").unwrap())).await?;
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
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use bytes::Bytes;
use serde_json::{Map, Value};

use crate::patch::{MemberChanges, NetChange};
use crate::schema::UniqueValue;

#[cfg(feature = "conformance")]
#[cfg_attr(docsrs, doc(cfg(feature = "conformance")))]
pub mod conformance;
mod error;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod query;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod split;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use crate::pg::Migration;
/// The pool and driver the PostgreSQL stores are built on, for an application that makes
/// its own pool (with TLS, say) to hand to [`PostgresStore::new`].
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use deadpool_postgres;
pub use error::StoreError;
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::PostgresStore;
pub use query::{paginate, Cursor, Paging, Query, Sort, SortOrder};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::SqliteStore;
/// The driver under [`deadpool_postgres`], for its `Config` (TLS, options) and errors.
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use tokio_postgres;

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

impl fmt::Display for Scope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.tenant, self.resource_type)
    }
}

/// A resource as a store hands it out: its JSON document, shared, so that cloning a
/// `Document` copies a pointer. It dereferences to the [`Value`].
///
/// A document never changes. The service keeps its JSON rendering of the document beside
/// it, so handing out the same `Document` again while the resource is unchanged spares
/// that work; a store that changes what it returns builds a new `Document`, which starts
/// without any rendering, so nothing stale can be served.
#[derive(Clone)]
pub struct Document(Arc<Inner>);

struct Inner {
    value: Value,
    /// The service's key and what it made of `value`, when kept.
    rendered: OnceLock<(u64, Bytes)>,
}

/// The largest rendering a document keeps (64 KiB): a group of thousands of members is
/// rendered afresh each time rather than held twice.
const KEPT_RENDERING_BYTES: usize = 64 * 1024;

impl Document {
    /// A document holding `value`.
    pub fn new(value: Value) -> Document {
        Document(Arc::new(Inner {
            value,
            rendered: OnceLock::new(),
        }))
    }

    /// The JSON value.
    pub fn value(&self) -> &Value {
        &self.0.value
    }

    /// The JSON value, owned: moved out when this is the only handle, else copied.
    pub fn into_value(self) -> Value {
        match Arc::try_unwrap(self.0) {
            Ok(inner) => inner.value,
            Err(shared) => shared.value.clone(),
        }
    }

    /// The resource's `id`.
    pub fn id(&self) -> Option<&str> {
        self.0.value.get("id")?.as_str()
    }

    /// The resource's `meta.version`, as the store set it.
    pub fn version(&self) -> Option<&str> {
        crate::json::version_of(&self.0.value)
    }

    /// What `render` makes of the document, kept from an earlier call with the same `key`
    /// when there was one (`render` must make the same bytes for the same key).
    pub(crate) fn rendered(&self, key: u64, render: impl FnOnce(&Value) -> Bytes) -> Rendering<'_> {
        if let Some((kept, json)) = self.0.rendered.get() {
            if *kept == key {
                return Rendering::Kept(json);
            }
            return Rendering::Made(render(&self.0.value));
        }
        let json = render(&self.0.value);
        if json.len() <= KEPT_RENDERING_BYTES {
            // Another reader may have kept the same bytes meanwhile: either is right.
            if let Ok(()) = self.0.rendered.set((key, json.clone())) {
                if let Some((_, kept)) = self.0.rendered.get() {
                    return Rendering::Kept(kept);
                }
            }
        }
        Rendering::Made(json)
    }
}

/// A document's rendering: the one kept beside it, or one just made.
pub(crate) enum Rendering<'a> {
    Kept(&'a Bytes),
    Made(Bytes),
}

impl Rendering<'_> {
    /// The JSON.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Rendering::Kept(json) => json,
            Rendering::Made(json) => json,
        }
    }

    /// The JSON, owned.
    pub(crate) fn into_bytes(self) -> Bytes {
        match self {
            Rendering::Kept(json) => json.clone(),
            Rendering::Made(json) => json,
        }
    }
}

impl Deref for Document {
    type Target = Value;

    fn deref(&self) -> &Value {
        &self.0.value
    }
}

impl From<Value> for Document {
    fn from(value: Value) -> Document {
        Document::new(value)
    }
}

impl PartialEq for Document {
    fn eq(&self, other: &Document) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.value == other.0.value
    }
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0.value, f)
    }
}

/// What a write requires besides the resource: the values it must keep unique and the
/// version it expects to replace. Built with [`WriteOptions::new`] and the `with_`
/// methods; fields can be read directly.
///
/// ```
/// use scimkit::schema::UniqueValue;
/// use scimkit::store::{StoreError, WriteOptions};
/// use serde_json::json;
///
/// let options = WriteOptions::new()
///     .with_unique(vec![UniqueValue::new("userName", json!("bjensen"), false)])
///     .with_if_match("W/\"3\"");
/// assert!(options.check_version("W/\"3\"").is_ok());
/// assert!(matches!(options.check_version("W/\"4\""), Err(StoreError::PreconditionFailed { .. })));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct WriteOptions {
    /// Values no other resource of the scope may hold after the write: compare them by
    /// [`UniqueValue::key`]; a taken one fails the write with [`StoreError::Conflict`]
    /// naming its path.
    pub unique: Vec<UniqueValue>,
    /// The version the resource must have for the write to happen (its `meta.version`,
    /// compared exactly); another fails the write with
    /// [`StoreError::PreconditionFailed`]. `None`: any version.
    pub if_match: Option<String>,
}

impl WriteOptions {
    /// No unique values, any version.
    pub fn new() -> WriteOptions {
        WriteOptions::default()
    }

    /// With these values to keep unique.
    pub fn with_unique(mut self, unique: Vec<UniqueValue>) -> WriteOptions {
        self.unique = unique;
        self
    }

    /// On condition that the stored version is `version`.
    pub fn with_if_match(mut self, version: impl Into<String>) -> WriteOptions {
        self.if_match = Some(version.into());
        self
    }

    /// `Ok` when the write may replace a resource whose version is `current`, else
    /// [`StoreError::PreconditionFailed`].
    pub fn check_version(&self, current: &str) -> Result<(), StoreError> {
        match &self.if_match {
            Some(expected) if expected != current => Err(StoreError::PreconditionFailed {
                current: current.to_owned(),
            }),
            _ => Ok(()),
        }
    }
}

/// One page of a query's results.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page<R = Document> {
    /// The resources of the page.
    pub resources: Vec<R>,
    /// How many resources match in all.
    pub total_results: usize,
    /// With cursor paging, the cursor of the next page, if there is one.
    pub next_cursor: Option<String>,
}

impl<R> Page<R> {
    /// The same page with each resource made `f` of it.
    pub fn map<S>(self, f: impl FnMut(R) -> S) -> Page<S> {
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

/// The storage an application provides: JSON documents per tenant and resource type, with
/// uniqueness and version checks made atomically with each write.
///
/// Implement it with the [`async_trait`](macro@crate::async_trait) attribute, which this
/// crate re-exports (a plain `async fn` in the impl does not match the trait's
/// signatures):
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
///
/// use scimkit::async_trait;
/// use scimkit::store::{
///     paginate, set_version, version_tag, Document, Page, Query, ResourceStore, Scope,
///     StoreError, WriteOptions,
/// };
/// use serde_json::Value;
///
/// /// Resources in insertion order, by tenant and resource type.
/// #[derive(Default)]
/// struct ListStore {
///     tables: Mutex<HashMap<(String, String), Table>>,
/// }
///
/// #[derive(Default)]
/// struct Table {
///     /// The sequence number of the next row: never given out twice, so a cursor that
///     /// names a deleted row still says where paging was.
///     next: u64,
///     rows: Vec<Row>,
/// }
///
/// struct Row {
///     seq: u64,
///     version: u64,
///     doc: Document,
///     unique: Vec<(String, String)>,
/// }
///
/// impl ListStore {
///     fn key(scope: &Scope<'_>) -> (String, String) {
///         (scope.tenant.to_owned(), scope.resource_type.to_owned())
///     }
/// }
///
/// /// The first key of `options.unique` another row holds: its attribute's path.
/// fn taken(rows: &[Row], options: &WriteOptions, id: &str) -> Option<String> {
///     options.unique.iter().find_map(|u| {
///         let key = u.key();
///         rows.iter()
///             .any(|r| r.doc.id() != Some(id) && r.unique.contains(&key))
///             .then(|| u.path.clone())
///     })
/// }
///
/// #[async_trait]
/// impl ResourceStore for ListStore {
///     async fn create(&self, scope: &Scope<'_>, mut resource: Value, options: WriteOptions) -> Result<Document, StoreError> {
///         let mut all = self.tables.lock().unwrap();
///         let table = all.entry(Self::key(scope)).or_default();
///         let id = resource["id"].as_str().unwrap_or_default().to_owned();
///         if table.rows.iter().any(|r| r.doc.id() == Some(id.as_str())) {
///             return Err(StoreError::Conflict("id".into()));
///         }
///         if let Some(path) = taken(&table.rows, &options, &id) {
///             return Err(StoreError::Conflict(path));
///         }
///         set_version(&mut resource, &version_tag(1));
///         let doc = Document::new(resource);
///         let unique = options.unique.iter().map(|u| u.key()).collect();
///         table.rows.push(Row { seq: table.next, version: 1, doc: doc.clone(), unique });
///         table.next += 1;
///         Ok(doc)
///     }
///
///     async fn get(&self, scope: &Scope<'_>, id: &str) -> Result<Document, StoreError> {
///         let all = self.tables.lock().unwrap();
///         let table = all.get(&Self::key(scope)).ok_or(StoreError::NotFound)?;
///         let row = table.rows.iter().find(|r| r.doc.id() == Some(id)).ok_or(StoreError::NotFound)?;
///         Ok(row.doc.clone())
///     }
///
///     async fn replace(&self, scope: &Scope<'_>, id: &str, mut resource: Value, options: WriteOptions) -> Result<Document, StoreError> {
///         let mut all = self.tables.lock().unwrap();
///         let table = all.get_mut(&Self::key(scope)).ok_or(StoreError::NotFound)?;
///         if let Some(path) = taken(&table.rows, &options, id) {
///             return Err(StoreError::Conflict(path));
///         }
///         let row = table.rows.iter_mut().find(|r| r.doc.id() == Some(id)).ok_or(StoreError::NotFound)?;
///         options.check_version(&version_tag(row.version))?;
///         row.version += 1;
///         set_version(&mut resource, &version_tag(row.version));
///         row.doc = Document::new(resource);
///         row.unique = options.unique.iter().map(|u| u.key()).collect();
///         Ok(row.doc.clone())
///     }
///
///     async fn delete(&self, scope: &Scope<'_>, id: &str, options: WriteOptions) -> Result<(), StoreError> {
///         let mut all = self.tables.lock().unwrap();
///         let table = all.get_mut(&Self::key(scope)).ok_or(StoreError::NotFound)?;
///         let at = table.rows.iter().position(|r| r.doc.id() == Some(id)).ok_or(StoreError::NotFound)?;
///         options.check_version(&version_tag(table.rows[at].version))?;
///         table.rows.remove(at);
///         Ok(())
///     }
///
///     async fn query(&self, scope: &Scope<'_>, query: &Query<'_>) -> Result<Page, StoreError> {
///         let all = self.tables.lock().unwrap();
///         let empty = Table::default();
///         let table = all.get(&Self::key(scope)).unwrap_or(&empty);
///         let matched: Vec<&Row> = table.rows.iter().filter(|r| query.matches(&r.doc)).collect();
///         let page = paginate(matched, query, |r| r.seq, |r| r.doc.value(), |seq| seq < table.next)?;
///         Ok(page.map(|r| r.doc.clone()))
///     }
/// }
/// ```
///
/// Resources come in normalised, with `id` and `meta` set by the service. The store sets
/// `meta.version` on every write: a weak entity tag that changes whenever the resource
/// does ([`version_tag`] makes them from a counter: `W/"1"`, `W/"2"`, …). What a write
/// returns, and every read until the next write, carries that version.
///
/// [`change_members`](ResourceStore::change_members) is optional: a store that keeps a
/// group's members apart (a table, say) implements it so that a membership PATCH of a
/// large group costs what the change costs. A store that wraps another should forward it
/// too; `#[warn(clippy::missing_trait_methods)]` on the wrapper's `impl` names any method
/// left to its default. `Arc`, `Box` and `&` of a store are stores, forwarding every
/// method.
///
/// Check a store with the conformance suite (feature `conformance`): one test per rule.
#[async_trait]
pub trait ResourceStore: Send + Sync {
    /// Stores a new resource. Fails with [`StoreError::Conflict`] when its `id` or one of
    /// `options.unique` is taken in the scope. Returns the resource as stored (with its
    /// `meta.version`).
    async fn create(
        &self,
        scope: &Scope<'_>,
        resource: Value,
        options: WriteOptions,
    ) -> Result<Document, StoreError>;

    /// The resource with this id.
    async fn get(&self, scope: &Scope<'_>, id: &str) -> Result<Document, StoreError>;

    /// Replaces the resource with this id, on condition of `options.if_match`, keeping
    /// `options.unique` unique among the others. Returns the resource as stored.
    async fn replace(
        &self,
        scope: &Scope<'_>,
        id: &str,
        resource: Value,
        options: WriteOptions,
    ) -> Result<Document, StoreError>;

    /// Deletes the resource with this id, on condition of `options.if_match`.
    async fn delete(
        &self,
        scope: &Scope<'_>,
        id: &str,
        options: WriteOptions,
    ) -> Result<(), StoreError>;

    /// The page of resources the query asks for, and how many match in all.
    async fn query(&self, scope: &Scope<'_>, query: &Query<'_>) -> Result<Page, StoreError>;

    /// Applies member changes to the resource with this id without the service reading
    /// and rewriting it whole. Returns the resource's version afterwards and what changed
    /// (the [`NetChange`] of [`MemberChanges::apply`], or of applying the same rule in a
    /// database), or `Ok(None)` when the store does not take such changes (the default):
    /// the service then reads, patches and replaces.
    ///
    /// The changes mean what [`MemberChanges::apply`] does. When they change the
    /// resource, the store sets `meta.lastModified` to `last_modified` and gives it a new
    /// version; when not, both stay. `options.if_match` is checked as for
    /// [`replace`](Self::replace).
    async fn change_members(
        &self,
        scope: &Scope<'_>,
        id: &str,
        changes: &MemberChanges,
        last_modified: &str,
        options: WriteOptions,
    ) -> Result<Option<MembersChanged>, StoreError> {
        let _ = (scope, id, changes, last_modified, options);
        Ok(None)
    }
}

macro_rules! forward {
    ($($ty:ty),*) => {$(
        #[async_trait]
        impl<S: ResourceStore + ?Sized> ResourceStore for $ty {
            async fn create(
                &self,
                scope: &Scope<'_>,
                resource: Value,
                options: WriteOptions,
            ) -> Result<Document, StoreError> {
                (**self).create(scope, resource, options).await
            }

            async fn get(&self, scope: &Scope<'_>, id: &str) -> Result<Document, StoreError> {
                (**self).get(scope, id).await
            }

            async fn replace(
                &self,
                scope: &Scope<'_>,
                id: &str,
                resource: Value,
                options: WriteOptions,
            ) -> Result<Document, StoreError> {
                (**self).replace(scope, id, resource, options).await
            }

            async fn delete(
                &self,
                scope: &Scope<'_>,
                id: &str,
                options: WriteOptions,
            ) -> Result<(), StoreError> {
                (**self).delete(scope, id, options).await
            }

            async fn query(
                &self,
                scope: &Scope<'_>,
                query: &Query<'_>,
            ) -> Result<Page, StoreError> {
                (**self).query(scope, query).await
            }

            async fn change_members(
                &self,
                scope: &Scope<'_>,
                id: &str,
                changes: &MemberChanges,
                last_modified: &str,
                options: WriteOptions,
            ) -> Result<Option<MembersChanged>, StoreError> {
                (**self)
                    .change_members(scope, id, changes, last_modified, options)
                    .await
            }
        }
    )*};
}

forward!(Arc<S>, Box<S>, &S);

/// A version number as a weak entity tag: `W/"3"`.
pub fn version_tag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// Sets `meta.version` of a resource (a JSON object; anything else is left alone).
pub fn set_version(resource: &mut Value, version: &str) {
    if let Some(obj) = resource.as_object_mut() {
        let meta = obj
            .entry("meta")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert("version".into(), Value::String(version.to_owned()));
        }
    }
}
