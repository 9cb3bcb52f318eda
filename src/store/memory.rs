//! The reference in-memory store: per tenant and resource type, resources by id, an
//! insertion order for stable paging, and indexes for unique values and `externalId`, so
//! that the lookups identity providers make (`userName eq`, `externalId eq`, `id eq`) never
//! scan.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

use async_trait::async_trait;
use serde_json::Value;

use super::query::is_core;
use super::{
    paginate, set_version, version_tag, Document, MembersChanged, Page, Paging, Query,
    ResourceStore, Scope, StoreError, WriteOptions,
};
use crate::filter::{CompValue, CompareOp, Filter};
use crate::patch::MemberChanges;

/// An in-memory [`ResourceStore`]: fast, indexed, and gone when the process ends.
///
/// It hands out the same [`Document`] for a resource until the resource changes, so the
/// service renders each version of a resource once and later reads copy its JSON.
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
    /// Shared with readers, who copy a pointer.
    doc: Document,
    /// The unique values' keys ([`UniqueValue::key`](crate::schema::UniqueValue::key)).
    unique: Vec<(String, String)>,
}

fn external_id(resource: &Value) -> Option<&str> {
    resource.get("externalId").and_then(Value::as_str)
}

impl MemoryStore {
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

    /// The page of a query.
    fn page(&self, scope: &Scope<'_>, query: &Query<'_>) -> Result<Page, StoreError> {
        let tables = self.tables.read().expect("no panics while locked");
        // An empty scope still checks the cursor it is given.
        static EMPTY: OnceLock<Table> = OnceLock::new();
        let table = match tables.get(&Self::key(scope)) {
            Some(table) => table,
            None => EMPTY.get_or_init(Table::default),
        };
        if query.filter().is_none() && query.sort().is_none() {
            if let Paging::Index { start_index, count } = *query.paging() {
                // Everything, in insertion order: no need to look at what is not returned.
                let start = start_index.saturating_sub(1).min(table.order.len());
                let end = start.saturating_add(count).min(table.order.len());
                let resources = table.order[start..end]
                    .iter()
                    .filter_map(|id| table.by_id.get(id))
                    .map(|e| e.doc.clone())
                    .collect();
                return Ok(Page {
                    resources,
                    total_results: table.by_id.len(),
                    next_cursor: None,
                });
            }
        }
        let matched: Vec<&Entry> = table
            .candidates(query.filter())
            .into_iter()
            .filter(|e| query.matches(&e.doc))
            .collect();
        let next_seq = table.next_seq;
        let page = paginate(
            matched,
            query,
            |e| e.seq,
            |e| e.doc.value(),
            |n| n < next_seq,
        )?;
        Ok(page.map(|e| e.doc.clone()))
    }
}

impl Indexes {
    fn index(&mut self, id: &str, entry: &Entry) {
        for key in &entry.unique {
            self.unique.insert(key.clone(), id.to_owned());
        }
        if let Some(ext) = external_id(&entry.doc) {
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
        if let Some(ext) = external_id(&entry.doc) {
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
        options: &WriteOptions,
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
            .map(|i| options.unique[i].path.clone())
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

#[async_trait]
impl ResourceStore for MemoryStore {
    async fn create(
        &self,
        scope: &Scope<'_>,
        mut resource: Value,
        options: WriteOptions,
    ) -> Result<Document, StoreError> {
        let id = resource
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| StoreError::internal("a resource to store needs an id"))?;
        let keys: Vec<(String, String)> = options.unique.iter().map(|u| u.key()).collect();
        set_version(&mut resource, &version_tag(1));
        let doc = Document::new(resource);
        let mut tables = self.tables.write().expect("no panics while locked");
        let table = tables.entry(Self::key(scope)).or_default();
        if table.by_id.contains_key(&id) {
            return Err(StoreError::Conflict("id".into()));
        }
        if let Some(path) = table.taken(&options, &keys, None) {
            return Err(StoreError::Conflict(path));
        }
        let seq = table.next_seq;
        table.next_seq += 1;
        let entry = Entry {
            seq,
            version: 1,
            doc: doc.clone(),
            unique: keys,
        };
        table.indexes.index(&id, &entry);
        table.order.push(id.clone());
        table.by_id.insert(id, entry);
        Ok(doc)
    }

    async fn get(&self, scope: &Scope<'_>, id: &str) -> Result<Document, StoreError> {
        let tables = self.tables.read().expect("no panics while locked");
        tables
            .get(&Self::key(scope))
            .and_then(|t| t.by_id.get(id))
            .map(|e| e.doc.clone())
            .ok_or(StoreError::NotFound)
    }

    async fn replace(
        &self,
        scope: &Scope<'_>,
        id: &str,
        mut resource: Value,
        options: WriteOptions,
    ) -> Result<Document, StoreError> {
        let keys: Vec<(String, String)> = options.unique.iter().map(|u| u.key()).collect();
        // The old document is dropped after the lock is released: the lock is held only
        // to check and swap.
        let (doc, _old) = {
            let mut tables = self.tables.write().expect("no panics while locked");
            let table = tables
                .get_mut(&Self::key(scope))
                .ok_or(StoreError::NotFound)?;
            let entry = table.by_id.get(id).ok_or(StoreError::NotFound)?;
            options.check_version(&version_tag(entry.version))?;
            if let Some(path) = table.taken(&options, &keys, Some(id)) {
                return Err(StoreError::Conflict(path));
            }
            let reindex = entry.unique != keys || external_id(&entry.doc) != external_id(&resource);
            let entry = table.by_id.get_mut(id).expect("present");
            if reindex {
                table.indexes.unindex(id, entry);
            }
            entry.version += 1;
            set_version(&mut resource, &version_tag(entry.version));
            let doc = Document::new(resource);
            let old = std::mem::replace(&mut entry.doc, doc.clone());
            entry.unique = keys;
            if reindex {
                table.indexes.index(id, entry);
            }
            (doc, old)
        };
        Ok(doc)
    }

    async fn delete(
        &self,
        scope: &Scope<'_>,
        id: &str,
        options: WriteOptions,
    ) -> Result<(), StoreError> {
        let _old = {
            let mut tables = self.tables.write().expect("no panics while locked");
            let table = tables
                .get_mut(&Self::key(scope))
                .ok_or(StoreError::NotFound)?;
            let entry = table.by_id.get(id).ok_or(StoreError::NotFound)?;
            options.check_version(&version_tag(entry.version))?;
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
            entry
        };
        Ok(())
    }

    async fn query(&self, scope: &Scope<'_>, query: &Query<'_>) -> Result<Page, StoreError> {
        self.page(scope, query)
    }

    async fn change_members(
        &self,
        scope: &Scope<'_>,
        id: &str,
        changes: &MemberChanges,
        last_modified: &str,
        options: WriteOptions,
    ) -> Result<Option<MembersChanged>, StoreError> {
        let mut tables = self.tables.write().expect("no panics while locked");
        let entry = tables
            .get_mut(&Self::key(scope))
            .and_then(|t| t.by_id.get_mut(id))
            .ok_or(StoreError::NotFound)?;
        options.check_version(&version_tag(entry.version))?;
        let name = changes.attribute.to_ascii_lowercase();
        if name == "externalid" || entry.unique.iter().any(|(p, _)| p.starts_with(&name)) {
            // An indexed attribute: the service's read-modify-write keeps the indexes.
            return Ok(None);
        }
        // Moved out rather than copied when no reader holds it (a large group's members).
        let mut resource =
            std::mem::replace(&mut entry.doc, Document::new(Value::Null)).into_value();
        let net = changes.apply(&mut resource);
        if net.changed() {
            entry.version += 1;
            set_version(&mut resource, &version_tag(entry.version));
            if let Some(meta) = resource.get_mut("meta").and_then(Value::as_object_mut) {
                meta.insert("lastModified".into(), Value::String(last_modified.into()));
            }
        }
        entry.doc = Document::new(resource);
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
