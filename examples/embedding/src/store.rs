//! The application's own store: rows of compact JSON text per tenant and resource type,
//! written with nothing but scimkit's public API and its helpers for store authors.

use std::collections::HashMap;
use std::sync::Mutex;

use scimkit::async_trait;
use scimkit::store::{
    paginate, set_version, version_tag, Document, Page, Query, ResourceStore, Scope, StoreError,
    WriteOptions,
};
use serde_json::Value;

/// A row: the resource as JSON text (as a database column would hold it), its version,
/// its place in insertion order and the keys of its unique values.
struct Row {
    id: String,
    seq: u64,
    version: u64,
    json: String,
    unique: Vec<(String, String)>,
}

/// One collection: the rows of a tenant's resource type, in insertion order.
#[derive(Default)]
struct Table {
    next_seq: u64,
    rows: Vec<Row>,
}

impl Table {
    /// The path of the first of `options.unique` another row holds.
    fn taken(&self, options: &WriteOptions, except: Option<&str>) -> Option<String> {
        options.unique.iter().find_map(|value| {
            let key = value.key();
            self.rows
                .iter()
                .any(|r| Some(r.id.as_str()) != except && r.unique.contains(&key))
                .then(|| value.path.clone())
        })
    }
}

/// The application's store. Reads parse the row's text afresh: every `Document` it hands
/// out is new, so the service renders it anew too.
#[derive(Default)]
pub struct AppStore {
    tables: Mutex<HashMap<(String, String), Table>>,
}

fn key(scope: &Scope<'_>) -> (String, String) {
    (
        scope.tenant.to_owned(),
        scope.resource_type.to_ascii_lowercase(),
    )
}

fn parse(json: &str) -> Result<Document, StoreError> {
    serde_json::from_str::<Value>(json)
        .map(Document::new)
        .map_err(StoreError::internal)
}

impl AppStore {
    /// An empty store.
    pub fn new() -> AppStore {
        AppStore::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Table>> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl ResourceStore for AppStore {
    async fn create(
        &self,
        scope: &Scope<'_>,
        mut resource: Value,
        options: WriteOptions,
    ) -> Result<Document, StoreError> {
        let id = resource["id"]
            .as_str()
            .ok_or_else(|| StoreError::internal("a resource without an id"))?
            .to_owned();
        set_version(&mut resource, &version_tag(1));
        let json = resource.to_string();
        let mut tables = self.lock();
        let table = tables.entry(key(scope)).or_default();
        if table.rows.iter().any(|r| r.id == id) {
            return Err(StoreError::Conflict("id".into()));
        }
        if let Some(path) = table.taken(&options, None) {
            return Err(StoreError::Conflict(path));
        }
        let seq = table.next_seq;
        table.next_seq += 1;
        table.rows.push(Row {
            id,
            seq,
            version: 1,
            json,
            unique: options.unique.iter().map(|u| u.key()).collect(),
        });
        Ok(Document::new(resource))
    }

    async fn get(&self, scope: &Scope<'_>, id: &str) -> Result<Document, StoreError> {
        let tables = self.lock();
        let row = tables
            .get(&key(scope))
            .and_then(|t| t.rows.iter().find(|r| r.id == id))
            .ok_or(StoreError::NotFound)?;
        parse(&row.json)
    }

    async fn replace(
        &self,
        scope: &Scope<'_>,
        id: &str,
        mut resource: Value,
        options: WriteOptions,
    ) -> Result<Document, StoreError> {
        let mut tables = self.lock();
        let table = tables.get_mut(&key(scope)).ok_or(StoreError::NotFound)?;
        let taken = table.taken(&options, Some(id));
        let row = table
            .rows
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or(StoreError::NotFound)?;
        options.check_version(&version_tag(row.version))?;
        if let Some(path) = taken {
            return Err(StoreError::Conflict(path));
        }
        row.version += 1;
        set_version(&mut resource, &version_tag(row.version));
        row.json = resource.to_string();
        row.unique = options.unique.iter().map(|u| u.key()).collect();
        Ok(Document::new(resource))
    }

    async fn delete(
        &self,
        scope: &Scope<'_>,
        id: &str,
        options: WriteOptions,
    ) -> Result<(), StoreError> {
        let mut tables = self.lock();
        let table = tables.get_mut(&key(scope)).ok_or(StoreError::NotFound)?;
        let at = table
            .rows
            .iter()
            .position(|r| r.id == id)
            .ok_or(StoreError::NotFound)?;
        options.check_version(&version_tag(table.rows[at].version))?;
        table.rows.remove(at);
        Ok(())
    }

    async fn query(&self, scope: &Scope<'_>, query: &Query<'_>) -> Result<Page, StoreError> {
        let tables = self.lock();
        let Some(table) = tables.get(&key(scope)) else {
            // Nothing to page through: an empty page, or a cursor that cannot be ours.
            return paginate(
                Vec::<(u64, Document)>::new(),
                query,
                |r| r.0,
                |r| r.1.value(),
                |_| false,
            )
            .map(|page| page.map(|(_, doc)| doc));
        };
        let mut matched = Vec::new();
        for row in &table.rows {
            let doc = parse(&row.json)?;
            if query.matches(&doc) {
                matched.push((row.seq, doc));
            }
        }
        let next = table.next_seq;
        let page = paginate(matched, query, |r| r.0, |r| r.1.value(), |seq| seq < next)?;
        Ok(page.map(|(_, doc)| doc))
    }
}
