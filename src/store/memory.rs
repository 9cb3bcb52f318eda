//! The reference in-memory store: per tenant and resource type, resources by id, an
//! insertion order for stable paging, and indexes for unique values and `externalId`, so
//! that the lookups identity providers make (`userName eq`, `externalId eq`, `id eq`) never
//! scan.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use async_trait::async_trait;
use bytes::Bytes;
use serde_json::Value;

use super::{
    unique_keys, version_tag, MembersChanged, Page, Paging, Query, Rendered, RenderedPage,
    Renderer, ResourceStore, Scope, SortOrder, StoreError,
};
use crate::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::json::get_ci;
use crate::patch::MemberChanges;
use crate::schema::UniqueValue;

/// An in-memory [`ResourceStore`]: fast, indexed, and gone when the process ends.
///
/// It keeps what the service's [`Renderer`] makes of each resource (up to
/// [`MemoryStore::KEPT_RENDERING_BYTES`] of JSON), made on the first read that needs it
/// and dropped when the resource changes, so that pages and reads copy JSON instead of
/// serialising it again.
#[derive(Debug, Default)]
pub struct MemoryStore {
    tables: RwLock<HashMap<(String, String), Table>>,
}

#[derive(Debug, Default)]
struct Table {
    next_seq: u64,
    by_id: Sharded<String, Entry>,
    /// The ids in insertion order, so in the order of their sequence numbers: a page by
    /// index is a slice of it. (A delete moves the ids after it along, which is a copy of
    /// 24 bytes per id; deletes are rare next to reads.)
    order: Vec<String>,
    indexes: Indexes,
}

/// A table's indexes.
#[derive(Debug, Default)]
struct Indexes {
    /// (attribute path, comparison key) → id.
    unique: Sharded<(String, String), String>,
    /// `externalId` → ids (externalId is not unique, but IdPs look resources up by it).
    external: Sharded<String, Vec<String>>,
}

/// How many maps a [`Sharded`] map is split into.
const SHARDS: usize = 16;

/// A hash map split into [`SHARDS`] maps by a hash of the key, so that growing it moves a
/// sixteenth of it at a time: a create never holds the store's lock while every id of a
/// large table is rehashed and copied (on a 2-core virtual machine, the create that grew a
/// single map past 220,000 ids took 0.47 s, and every request waited for it).
///
/// The shard hash needs no secret: keys an attacker crowds into one shard make that one an
/// ordinary map, which still hashes with the standard library's keyed hasher.
#[derive(Debug)]
struct Sharded<K, V> {
    shards: [HashMap<K, V>; SHARDS],
}

impl<K, V> Default for Sharded<K, V> {
    fn default() -> Self {
        Sharded {
            shards: std::array::from_fn(|_| HashMap::new()),
        }
    }
}

/// A key's shard: a multiply-rotate hash of the key's bytes, eight at a time.
trait ShardOf {
    fn shard(&self) -> usize;
}

fn shard_of(bytes: &[u8]) -> usize {
    let mut hash = bytes.len() as u64;
    for chunk in bytes.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        hash = (hash ^ u64::from_le_bytes(word))
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
    // The multiply carries every byte into the high bits.
    (hash.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 60) as usize % SHARDS
}

impl ShardOf for str {
    fn shard(&self) -> usize {
        shard_of(self.as_bytes())
    }
}

impl ShardOf for String {
    fn shard(&self) -> usize {
        shard_of(self.as_bytes())
    }
}

impl ShardOf for (String, String) {
    fn shard(&self) -> usize {
        shard_of(self.1.as_bytes())
    }
}

impl<K: std::hash::Hash + Eq + ShardOf, V> Sharded<K, V> {
    fn map<Q>(&self, key: &Q) -> &HashMap<K, V>
    where
        Q: ShardOf + ?Sized,
    {
        &self.shards[key.shard()]
    }

    fn map_mut<Q>(&mut self, key: &Q) -> &mut HashMap<K, V>
    where
        Q: ShardOf + ?Sized,
    {
        &mut self.shards[key.shard()]
    }

    fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ShardOf + ?Sized,
    {
        self.map(key).get(key)
    }

    fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ShardOf + ?Sized,
    {
        self.map(key).get_key_value(key)
    }

    fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ShardOf + ?Sized,
    {
        self.map_mut(key).get_mut(key)
    }

    fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ShardOf + ?Sized,
    {
        self.map(key).contains_key(key)
    }

    fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.map_mut(&key).insert(key, value)
    }

    fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ShardOf + ?Sized,
    {
        self.map_mut(key).remove(key)
    }

    fn entry(&mut self, key: K) -> std::collections::hash_map::Entry<'_, K, V> {
        self.map_mut(&key).entry(key)
    }

    fn len(&self) -> usize {
        self.shards.iter().map(HashMap::len).sum()
    }

    fn keys(&self) -> impl Iterator<Item = &K> {
        self.shards.iter().flat_map(HashMap::keys)
    }
}

#[derive(Debug)]
struct Entry {
    seq: u64,
    version: u64,
    /// Shared so that readers copy it after the lock is released.
    resource: Arc<Value>,
    unique: Vec<(String, String)>,
    /// The renderer's key and what it made of `resource`; emptied whenever `resource`
    /// changes.
    rendered: OnceLock<(u64, Bytes)>,
}

impl Entry {
    /// `resource` as `renderer` makes it: kept from an earlier call when it can be.
    fn rendered(&self, renderer: &Renderer<'_>) -> Bytes {
        if let Some((key, json)) = self.rendered.get() {
            if *key == renderer.key() {
                return json.clone();
            }
            return renderer.render(&self.resource);
        }
        let json = renderer.render(&self.resource);
        if json.len() <= MemoryStore::KEPT_RENDERING_BYTES {
            // Another reader may have kept the same bytes meanwhile: either is right.
            let _ = self.rendered.set((renderer.key(), json.clone()));
        }
        json
    }
}

fn external_id(resource: &Value) -> Option<&str> {
    resource.get("externalId").and_then(Value::as_str)
}

fn set_version(resource: &mut Value, version: u64) {
    if let Some(obj) = resource.as_object_mut() {
        let meta = obj
            .entry("meta")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert("version".into(), Value::String(version_tag(version)));
        }
    }
}

impl MemoryStore {
    /// The largest rendering the store keeps (64 KiB): a group of thousands of members is
    /// rendered afresh each time rather than held twice.
    pub const KEPT_RENDERING_BYTES: usize = 64 * 1024;

    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn key(scope: &Scope<'_>) -> (String, String) {
        (
            scope.tenant.to_owned(),
            scope.resource_type.to_ascii_lowercase(),
        )
    }

    /// The page of a query, each resource returned made `out` of its entry.
    fn page<R>(
        &self,
        scope: &Scope<'_>,
        query: &Query,
        out: impl Fn(&Entry) -> R,
    ) -> Result<Page<R>, StoreError> {
        let tables = self.tables.read().expect("no panics while locked");
        // An empty scope still checks the cursor it is given.
        static EMPTY: OnceLock<Table> = OnceLock::new();
        let table = match tables.get(&Self::key(scope)) {
            Some(table) => table,
            None => EMPTY.get_or_init(Table::default),
        };
        if query.filter.is_none() && query.matcher.is_none() && query.sort_by.is_none() {
            if let Paging::Index { start_index, count } = query.paging {
                // Everything, in insertion order: no need to look at what is not returned.
                let start = start_index.saturating_sub(1).min(table.order.len());
                let end = start.saturating_add(count).min(table.order.len());
                let resources = table.order[start..end]
                    .iter()
                    .filter_map(|id| table.by_id.get(id))
                    .map(out)
                    .collect();
                return Ok(Page {
                    resources,
                    total_results: table.by_id.len(),
                    next_cursor: None,
                });
            }
        }
        let matched: Vec<&Entry> = table
            .candidates(query.filter.as_ref())
            .into_iter()
            .filter(|e| {
                query
                    .matcher
                    .as_ref()
                    .is_none_or(|m| m.matches(&e.resource))
            })
            .collect();
        let next_seq = table.next_seq;
        page_of(
            matched,
            query,
            |e| e.seq,
            |e| &*e.resource,
            |n| n < next_seq,
            |e| out(e),
        )
    }
}

impl Indexes {
    fn index(&mut self, id: &str, entry: &Entry) {
        for key in &entry.unique {
            self.unique.insert(key.clone(), id.to_owned());
        }
        if let Some(ext) = external_id(&entry.resource) {
            self.external
                .entry(ext.to_owned())
                .or_default()
                .push(id.to_owned());
        }
    }

    fn unindex(&mut self, id: &str, entry: &Entry) {
        for key in &entry.unique {
            self.unique.remove(key);
        }
        if let Some(ext) = external_id(&entry.resource) {
            if let Some(ids) = self.external.get_mut(ext) {
                ids.retain(|i| i != id);
                if ids.is_empty() {
                    self.external.remove(ext);
                }
            }
        }
    }
}

impl Table {
    /// The attribute (as the schema spells it) of the first value another resource holds.
    fn taken(
        &self,
        unique: &[UniqueValue],
        keys: &[(String, String)],
        except: Option<&str>,
    ) -> Option<String> {
        keys.iter()
            .position(|k| {
                self.indexes
                    .unique
                    .get(k)
                    .is_some_and(|owner| Some(owner.as_str()) != except)
            })
            .map(|i| unique[i].path.clone())
    }

    fn check_version(entry: &Entry, expected: Option<&str>) -> Result<(), StoreError> {
        match expected {
            Some(expected) if expected != version_tag(entry.version) => {
                Err(StoreError::PreconditionFailed {
                    current: version_tag(entry.version),
                })
            }
            _ => Ok(()),
        }
    }

    /// The candidates for a filter, in insertion order: from an index when the filter is a
    /// lookup by `id`, a unique attribute or `externalId`, else every resource.
    fn candidates(&self, filter: Option<&Filter>) -> Vec<&Entry> {
        if let Some(Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(wanted),
        }) = filter
        {
            if path.sub_attr.is_none() && is_core(path) {
                let ids: Option<Vec<&String>> = if path.name.eq_ignore_ascii_case("id") {
                    Some(
                        self.by_id
                            .get_key_value(wanted)
                            .map(|(k, _)| k)
                            .into_iter()
                            .collect(),
                    )
                } else if path.name.eq_ignore_ascii_case("externalId") {
                    Some(
                        self.indexes
                            .external
                            .get(wanted)
                            .map(|ids| ids.iter().collect())
                            .unwrap_or_default(),
                    )
                } else {
                    let name = path.name.to_ascii_lowercase();
                    let indexed = self.indexes.unique.keys().any(|(p, _)| *p == name);
                    indexed.then(|| {
                        self.indexes
                            .unique
                            .get(&(name.clone(), wanted.to_lowercase()))
                            .or_else(|| self.indexes.unique.get(&(name, wanted.clone())))
                            .into_iter()
                            .collect()
                    })
                };
                if let Some(ids) = ids {
                    let mut found: Vec<&Entry> = ids
                        .into_iter()
                        .filter_map(|id| self.by_id.get(id))
                        .collect();
                    found.sort_by_key(|e| e.seq);
                    return found;
                }
            }
        }
        self.order
            .iter()
            .filter_map(|id| self.by_id.get(id))
            .collect()
    }
}

fn is_core(path: &AttrPath) -> bool {
    path.urn.as_deref().is_none_or(|u| {
        u.to_ascii_lowercase()
            .starts_with("urn:ietf:params:scim:schemas:core:")
    })
}

/// The value a resource is sorted by: the attribute (or sub-attribute), taking a
/// multi-valued attribute's primary element, else its first.
fn sort_value<'v>(resource: &'v Value, path: &AttrPath) -> Option<&'v Value> {
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

/// Strings without case unless `case_exact`, numbers by value, booleans false first;
/// values of different kinds by kind.
fn compare_values(a: &Value, b: &Value, case_exact: bool) -> Ordering {
    match (a, b) {
        (Value::String(a), Value::String(b)) if case_exact => a.cmp(b),
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

fn rank(v: &Value) -> u8 {
    match v {
        Value::Bool(_) => 0,
        Value::Number(_) => 1,
        Value::String(_) => 2,
        _ => 3,
    }
}

/// Sorts and pages the resources a query matched, given in insertion order: the part of a
/// query every store that evaluates in memory shares. `known` tells whether a sequence
/// number named by a cursor was ever given out.
pub(super) fn page_of<T, R>(
    mut matched: Vec<T>,
    query: &Query,
    seq: impl Fn(&T) -> u64,
    resource: impl Fn(&T) -> &Value,
    known: impl Fn(u64) -> bool,
    out: impl Fn(&T) -> R,
) -> Result<Page<R>, StoreError> {
    if let Some(path) = &query.sort_by {
        // Stable: equal keys keep insertion order; absent values sort last.
        matched.sort_by(|a, b| {
            let ord = match (sort_value(resource(a), path), sort_value(resource(b), path)) {
                (Some(x), Some(y)) => compare_values(x, y, query.sort_case_exact),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            };
            match query.sort_order {
                SortOrder::Ascending => ord,
                SortOrder::Descending => ord.reverse(),
            }
        });
    }
    let total_results = matched.len();
    // Cursors: unsorted results are in insertion order, so the cursor names the last
    // resource returned ("s" and its sequence number) and the next page starts after it
    // however many resources were added or deleted meanwhile; sorted results page by
    // offset ("o" and the number returned so far).
    let sorted = query.sort_by.is_some();
    let (start, count) = match &query.paging {
        Paging::Index { start_index, count } => (start_index.saturating_sub(1), *count),
        Paging::Cursor { cursor, count } => {
            let start = match cursor.as_deref() {
                None => 0,
                Some(c) => match (c.split_at_checked(1), sorted) {
                    (Some(("s", n)), false) => n
                        .parse::<u64>()
                        .ok()
                        .filter(|n| known(*n))
                        .map(|n| matched.partition_point(|e| seq(e) <= n)),
                    (Some(("o", n)), true) => {
                        n.parse::<usize>().ok().filter(|n| *n <= total_results)
                    }
                    _ => None,
                }
                .ok_or(StoreError::InvalidCursor)?,
            };
            (start, *count)
        }
    };
    let resources: Vec<R> = matched.iter().skip(start).take(count).map(out).collect();
    let end = start + resources.len();
    let next_cursor = match query.paging {
        Paging::Cursor { .. } if end < total_results && sorted => Some(format!("o{end}")),
        Paging::Cursor { .. } if end < total_results && end > start => {
            Some(format!("s{}", seq(&matched[end - 1])))
        }
        _ => None,
    };
    Ok(Page {
        resources,
        total_results,
        next_cursor,
    })
}

#[async_trait]
impl ResourceStore for MemoryStore {
    async fn create(
        &self,
        scope: &Scope<'_>,
        mut resource: Value,
        unique: &[UniqueValue],
    ) -> Result<Value, StoreError> {
        let id = super::resource_id(&resource)?;
        let keys = unique_keys(unique);
        set_version(&mut resource, 1);
        // Copied before the lock is taken: the lock is held only to check and insert.
        let stored = Arc::new(resource.clone());
        let mut tables = self.tables.write().expect("no panics while locked");
        let table = tables.entry(Self::key(scope)).or_default();
        if table.by_id.contains_key(&id) {
            return Err(StoreError::Conflict("id".into()));
        }
        if let Some(path) = table.taken(unique, &keys, None) {
            return Err(StoreError::Conflict(path));
        }
        let seq = table.next_seq;
        table.next_seq += 1;
        let entry = Entry {
            seq,
            version: 1,
            resource: stored,
            unique: keys,
            rendered: OnceLock::new(),
        };
        table.indexes.index(&id, &entry);
        table.order.push(id.clone());
        table.by_id.insert(id, entry);
        Ok(resource)
    }

    async fn get(&self, scope: &Scope<'_>, id: &str) -> Result<Value, StoreError> {
        let shared = {
            let tables = self.tables.read().expect("no panics while locked");
            tables
                .get(&Self::key(scope))
                .and_then(|t| t.by_id.get(id))
                .map(|e| Arc::clone(&e.resource))
                .ok_or(StoreError::NotFound)?
        };
        Ok(Arc::unwrap_or_clone(shared))
    }

    async fn replace(
        &self,
        scope: &Scope<'_>,
        id: &str,
        mut resource: Value,
        unique: &[UniqueValue],
        expected_version: Option<&str>,
    ) -> Result<Value, StoreError> {
        let keys = unique_keys(unique);
        // Copied before the lock is taken, and the old resource dropped after it is
        // released: the lock is held only to check and swap.
        let mut stored = resource.clone();
        let (version, _old) = {
            let mut tables = self.tables.write().expect("no panics while locked");
            let table = tables
                .get_mut(&Self::key(scope))
                .ok_or(StoreError::NotFound)?;
            let entry = table.by_id.get(id).ok_or(StoreError::NotFound)?;
            Table::check_version(entry, expected_version)?;
            if let Some(path) = table.taken(unique, &keys, Some(id)) {
                return Err(StoreError::Conflict(path));
            }
            let reindex =
                entry.unique != keys || external_id(&entry.resource) != external_id(&stored);
            let entry = table.by_id.get_mut(id).expect("present");
            if reindex {
                table.indexes.unindex(id, entry);
            }
            entry.version += 1;
            set_version(&mut stored, entry.version);
            let old = std::mem::replace(&mut entry.resource, Arc::new(stored));
            entry.rendered = OnceLock::new();
            entry.unique = keys;
            if reindex {
                table.indexes.index(id, entry);
            }
            let version = entry.version;
            (version, old)
        };
        set_version(&mut resource, version);
        Ok(resource)
    }

    async fn delete(
        &self,
        scope: &Scope<'_>,
        id: &str,
        expected_version: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut tables = self.tables.write().expect("no panics while locked");
        let table = tables
            .get_mut(&Self::key(scope))
            .ok_or(StoreError::NotFound)?;
        let entry = table.by_id.get(id).ok_or(StoreError::NotFound)?;
        Table::check_version(entry, expected_version)?;
        let seq = entry.seq;
        let by_id = &table.by_id;
        if let Ok(at) = table
            .order
            .binary_search_by_key(&seq, |id| by_id.get(id).map_or(u64::MAX, |e| e.seq))
        {
            table.order.remove(at);
        }
        let entry = table.by_id.remove(id).expect("present");
        table.indexes.unindex(id, &entry);
        Ok(())
    }

    async fn query(&self, scope: &Scope<'_>, query: &Query) -> Result<Page, StoreError> {
        // The page's resources are copied after the lock is released.
        let shared = self.page(scope, query, |e| Arc::clone(&e.resource))?;
        Ok(shared.map(Arc::unwrap_or_clone))
    }

    async fn get_rendered(
        &self,
        scope: &Scope<'_>,
        id: &str,
        renderer: &Renderer<'_>,
    ) -> Result<Option<Rendered>, StoreError> {
        let tables = self.tables.read().expect("no panics while locked");
        let entry = tables
            .get(&Self::key(scope))
            .and_then(|t| t.by_id.get(id))
            .ok_or(StoreError::NotFound)?;
        Ok(Some(Rendered {
            version: Some(version_tag(entry.version)),
            json: entry.rendered(renderer),
        }))
    }

    async fn query_rendered(
        &self,
        scope: &Scope<'_>,
        query: &Query,
        renderer: &Renderer<'_>,
    ) -> Result<Option<RenderedPage>, StoreError> {
        let page = self.page(scope, query, |e| e.rendered(renderer))?;
        Ok(Some(page))
    }

    async fn change_members(
        &self,
        scope: &Scope<'_>,
        id: &str,
        changes: &MemberChanges,
        last_modified: &str,
        expected_version: Option<&str>,
    ) -> Result<Option<MembersChanged>, StoreError> {
        let mut tables = self.tables.write().expect("no panics while locked");
        let entry = tables
            .get_mut(&Self::key(scope))
            .and_then(|t| t.by_id.get_mut(id))
            .ok_or(StoreError::NotFound)?;
        Table::check_version(entry, expected_version)?;
        let name = changes.attribute.to_ascii_lowercase();
        if name == "externalid" || entry.unique.iter().any(|(p, _)| p.starts_with(&name)) {
            // An indexed attribute: the service's read-modify-write keeps the indexes.
            return Ok(None);
        }
        let resource = Arc::make_mut(&mut entry.resource);
        let net = changes.apply(resource);
        if net.changed() {
            entry.rendered = OnceLock::new();
            entry.version += 1;
            set_version(resource, entry.version);
            if let Some(meta) = resource.get_mut("meta").and_then(Value::as_object_mut) {
                meta.insert("lastModified".into(), Value::String(last_modified.into()));
            }
        }
        Ok(Some(MembersChanged {
            version: version_tag(entry.version),
            net,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys of the shapes the store holds spread over every shard, none holding more than
    /// twice its share: the point of sharding is that no map grows alone.
    #[test]
    fn keys_spread_over_the_shards() {
        let shapes: [fn(usize) -> String; 3] = [
            |i| format!("user{i}@example.com"),
            |i| format!("{:08x}-2c4d-4e5f-8a9b-{:012x}", i * 2_654_435_761, i),
            |i| format!("ext-{i}"),
        ];
        for shape in shapes {
            let mut map = Sharded::<String, usize>::default();
            for i in 0..16_000 {
                map.insert(shape(i), i);
            }
            assert_eq!(map.len(), 16_000);
            let sizes: Vec<usize> = map.shards.iter().map(HashMap::len).collect();
            assert!(
                sizes.iter().all(|&n| n > 0 && n <= 2_000),
                "{}: {sizes:?}",
                shape(0)
            );
            assert_eq!(map.get(shape(7).as_str()), Some(&7));
            assert_eq!(map.remove(shape(7).as_str()), Some(7));
            assert!(!map.contains_key(shape(7).as_str()));
            assert_eq!(map.keys().count(), 15_999);
        }
    }

    /// A unique key is found in the shard of its value, whatever its attribute.
    #[test]
    fn unique_keys_shard_by_value() {
        let mut map = Sharded::<(String, String), String>::default();
        map.insert(("username".into(), "bjensen".into()), "1".into());
        assert_eq!(
            ("username".to_owned(), "bjensen".to_owned()).shard(),
            "bjensen".shard()
        );
        assert_eq!(
            map.get(&("username".to_owned(), "bjensen".to_owned())),
            Some(&"1".to_owned())
        );
        assert_eq!(map.get(&("emails".to_owned(), "bjensen".to_owned())), None);
    }
}
