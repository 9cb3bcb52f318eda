//! A persistent [`ResourceStore`] on SQLite: one file, WAL journal, writes committed in
//! groups on a thread of their own, uniqueness by unique index, filters and sorts
//! translated to SQL ([`crate::sql`]), and group members in a table of their own so that
//! a change to a 100,000-member group touches the members it changes.
//!
//! ```
//! use scimkit::store::{ResourceStore, Scope, SqliteStore, WriteOptions};
//! use serde_json::json;
//!
//! # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! # rt.block_on(async {
//! let dir = std::env::temp_dir().join(format!("scimkit-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let store = SqliteStore::open(dir.join("scim.db")).unwrap();
//! let scope = Scope::new("acme", "User");
//! let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u1", "userName": "bjensen"});
//! let stored = store.create(&scope, user, WriteOptions::new()).await.unwrap();
//! assert_eq!(stored.version(), Some("W/\"1\""));
//! // Reopened, the user is still there.
//! drop(store);
//! let store = SqliteStore::open(dir.join("scim.db")).unwrap();
//! assert_eq!(store.get(&scope, "u1").await.unwrap()["userName"], "bjensen");
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # });
//! ```
//!
//! Reads run on the calling task: SQLite answers indexed reads in microseconds, and a pool
//! of read connections beside the writer means they never wait for writes. Writes go to
//! the writer thread ([`writer`]), which commits them in groups and answers each caller
//! once its transaction has committed.
//!
//! The documents read or written lately are kept by row and version ([`cache`]), so a
//! read of a resource that has not changed hands out the same [`Document`]: its JSON is
//! not parsed again, and the service's rendering of it is reused.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use super::{
    set_version, version_tag, Document, MembersChanged, Page, Query, ResourceStore, Scope,
    StoreError, WriteOptions,
};
use crate::patch::{MemberChanges, MemberOp, NetChange};
use crate::schema::UniqueValue;
use crate::store::split::{member_key, Split};

mod cache;
mod query;
mod schema;
mod writer;

use cache::Documents;
use query::Row;
use schema::{create_schema, setup};
use writer::Writer;

/// A [`ResourceStore`] in a SQLite database.
pub struct SqliteStore {
    /// The writer's connection, used by the writer thread (and for every read of an
    /// in-memory database, which has no other).
    conn: Arc<Mutex<Connection>>,
    writer: Writer,
    documents: Mutex<Documents>,
    /// Idle read connections; `None` for an in-memory database, read through the writer.
    readers: Option<Mutex<Vec<Connection>>>,
    path: PathBuf,
    /// (resource type, lower case; attribute) kept in the members table.
    split: Vec<(String, String)>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// A lock, also after a panic elsewhere: every write is a transaction that rolled back if
/// it did not finish, so what the lock guards is whole.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a database failure means to a client: the database busy, locked, full or out of
/// reach may pass (`Unavailable`); anything else will not (`Internal`).
fn classify(err: &rusqlite::Error, message: String) -> StoreError {
    use rusqlite::ErrorCode::*;
    match err.sqlite_error_code() {
        Some(
            DatabaseBusy
            | DatabaseLocked
            | CannotOpen
            | DiskFull
            | SystemIoFailure
            | OutOfMemory
            | FileLockingProtocolFailed,
        ) => StoreError::unavailable(message),
        _ => StoreError::internal(message),
    }
}

/// A database failure as a [`StoreError`].
fn db(err: rusqlite::Error) -> StoreError {
    let message = err.to_string();
    classify(&err, message)
}

/// A document the store cannot read back.
fn corrupt(err: serde_json::Error) -> StoreError {
    StoreError::internal(err)
}

impl SqliteStore {
    /// How much memory the documents kept for reads may take, by estimate (128 MiB, about
    /// 15 MB of JSON): past it, they are dropped and kept again as rows are read.
    pub const DOCUMENT_CACHE_BYTES: usize = 128 * 1024 * 1024;

    /// Opens (creating what is missing) the database at `path`; `:memory:` makes one in
    /// memory.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let in_memory = path.as_os_str() == ":memory:";
        let mut conn = Connection::open(&path).map_err(db)?;
        if !in_memory {
            // WAL: readers never wait for the writer; NORMAL synchronisation keeps every
            // committed write through a crash of the process.
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(db)?;
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(db)?;
        }
        setup(&conn).map_err(db)?;
        create_schema(&mut conn).map_err(db)?;
        let conn = Arc::new(Mutex::new(conn));
        let writer = Writer::start(Arc::clone(&conn)).map_err(StoreError::unavailable)?;
        Ok(SqliteStore {
            conn,
            writer,
            documents: Mutex::new(Documents::new(SqliteStore::DOCUMENT_CACHE_BYTES)),
            readers: (!in_memory).then(|| Mutex::new(Vec::new())),
            path,
            split: vec![("group".into(), "members".into())],
        })
    }

    /// A store in memory (one connection, gone with the store), for tests.
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        SqliteStore::open(":memory:")
    }

    /// The attribute of `scope`'s resource type kept in the members table.
    fn split_attribute(&self, scope: &Scope<'_>) -> Option<&str> {
        self.split
            .iter()
            .find(|(t, _)| t.eq_ignore_ascii_case(scope.resource_type))
            .map(|(_, a)| a.as_str())
    }

    /// Runs `f` on a read connection.
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let Some(pool) = &self.readers else {
            return f(&lock(&self.conn));
        };
        let conn = match lock(pool).pop() {
            Some(conn) => conn,
            None => {
                let conn = Connection::open(&self.path).map_err(db)?;
                setup(&conn).map_err(db)?;
                conn
            }
        };
        let result = f(&conn);
        let mut idle = lock(pool);
        if idle.len() < 8 {
            idle.push(conn);
        }
        result
    }

    /// The document of a row: kept from an earlier read of the same version, else read
    /// (its members put back) and kept.
    fn document(
        &self,
        conn: &Connection,
        scope: &Scope<'_>,
        row: Row,
    ) -> Result<Document, StoreError> {
        if let Some(doc) = lock(&self.documents).get(row.seq, row.version) {
            return Ok(doc);
        }
        let (seq, version) = (row.seq, row.version);
        let mut size = row.doc.len();
        let mut resource: Value = serde_json::from_str(&row.doc).map_err(corrupt)?;
        if let Some(attr) = self.split_attribute(scope) {
            let mut stmt = conn
                .prepare_cached("SELECT member FROM members WHERE seq = ?1 ORDER BY pos")
                .map_err(db)?;
            let members = stmt
                .query_map([seq], |r| r.get::<_, String>(0))
                .map_err(db)?
                .map(|m| {
                    let m = m.map_err(db)?;
                    size += m.len();
                    serde_json::from_str::<Value>(&m).map_err(corrupt)
                })
                .collect::<Result<Vec<Value>, StoreError>>()?;
            if !members.is_empty() {
                if let Some(obj) = resource.as_object_mut() {
                    obj.insert(attr.to_owned(), Value::Array(members));
                }
            }
        }
        let doc = Document::new(resource);
        lock(&self.documents).put(seq, version, &doc, size);
        Ok(doc)
    }

    /// The row of an id.
    fn row(&self, conn: &Connection, scope: &Scope<'_>, id: &str) -> Result<Row, StoreError> {
        let ty = scope.resource_type.to_ascii_lowercase();
        conn.prepare_cached(
            "SELECT seq, version, doc FROM resources WHERE tenant = ?1 AND type = ?2 AND id = ?3",
        )
        .map_err(db)?
        .query_row(params![scope.tenant, ty, id], Row::read)
        .optional()
        .map_err(db)?
        .ok_or(StoreError::NotFound)
    }
}

fn insert_members(tx: &Connection, seq: i64, members: &[Value]) -> Result<(), StoreError> {
    let mut stmt = tx
        .prepare_cached("INSERT OR IGNORE INTO members (seq, value, member) VALUES (?1, ?2, ?3)")
        .map_err(db)?;
    for member in members {
        let key = member_key(member).map_or_else(|| member.to_string(), str::to_owned);
        stmt.execute(params![seq, key, member.to_string()])
            .map_err(db)?;
    }
    Ok(())
}

fn insert_unique(
    tx: &Connection,
    tenant: &str,
    ty: &str,
    seq: i64,
    unique: &[UniqueValue],
) -> Result<(), StoreError> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO unique_values (tenant, type, path, key, seq) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(db)?;
    for value in unique {
        let (path, key) = value.key();
        match stmt.execute(params![tenant, ty, path, key, seq]) {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                return Err(StoreError::Conflict(value.path.clone()));
            }
            Err(e) => return Err(db(e)),
        }
    }
    Ok(())
}

/// The row of an id, with its version, inside a write.
fn locate(tx: &Connection, tenant: &str, ty: &str, id: &str) -> Result<(i64, i64), StoreError> {
    tx.prepare_cached(
        "SELECT seq, version FROM resources WHERE tenant = ?1 AND type = ?2 AND id = ?3",
    )
    .map_err(db)?
    .query_row(params![tenant, ty, id], |r| Ok((r.get(0)?, r.get(1)?)))
    .optional()
    .map_err(db)?
    .ok_or(StoreError::NotFound)
}

fn tag(version: i64) -> String {
    version_tag(version as u64)
}

#[async_trait]
impl ResourceStore for SqliteStore {
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
        let ty = scope.resource_type.to_ascii_lowercase();
        set_version(&mut resource, &tag(1));
        let split = Split::take(self.split_attribute(scope), &mut resource);
        let text = resource.to_string();
        let size = text.len();
        let tenant = scope.tenant.to_owned();
        let (seq, split) = self
            .writer
            .run(move |tx| {
                let inserted = tx
                    .prepare_cached(
                        "INSERT INTO resources (tenant, type, id, version, doc) VALUES (?1, ?2, ?3, 1, ?4)",
                    )
                    .map_err(db)?
                    .execute(params![tenant, ty, id, text]);
                match inserted {
                    Ok(_) => {}
                    Err(rusqlite::Error::SqliteFailure(e, _))
                        if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                    {
                        return Err(StoreError::Conflict("id".into()));
                    }
                    Err(e) => return Err(db(e)),
                }
                let seq = tx.last_insert_rowid();
                insert_unique(tx, &tenant, &ty, seq, &options.unique)?;
                insert_members(tx, seq, &split.members)?;
                Ok((seq, split))
            })
            .await?;
        split.restore(&mut resource);
        let doc = Document::new(resource);
        lock(&self.documents).put(seq, 1, &doc, size);
        Ok(doc)
    }

    async fn get(&self, scope: &Scope<'_>, id: &str) -> Result<Document, StoreError> {
        self.read(|conn| {
            let row = self.row(conn, scope, id)?;
            self.document(conn, scope, row)
        })
    }

    async fn replace(
        &self,
        scope: &Scope<'_>,
        id: &str,
        resource: Value,
        options: WriteOptions,
    ) -> Result<Document, StoreError> {
        let ty = scope.resource_type.to_ascii_lowercase();
        let tenant = scope.tenant.to_owned();
        let id = id.to_owned();
        let attribute = self.split_attribute(scope).map(str::to_owned);
        let (seq, version, resource, size) = self
            .writer
            .run(move |tx| {
                let mut resource = resource;
                let (seq, current) = locate(tx, &tenant, &ty, &id)?;
                options.check_version(&tag(current))?;
                let version = current + 1;
                set_version(&mut resource, &tag(version));
                tx.prepare_cached("DELETE FROM unique_values WHERE seq = ?1")
                    .map_err(db)?
                    .execute([seq])
                    .map_err(db)?;
                insert_unique(tx, &tenant, &ty, seq, &options.unique)?;
                // The document as stored: without the members kept in their own table.
                let split = Split::take(attribute.as_deref(), &mut resource);
                let text = resource.to_string();
                tx.prepare_cached("UPDATE resources SET version = ?1, doc = ?2 WHERE seq = ?3")
                    .map_err(db)?
                    .execute(params![version, text, seq])
                    .map_err(db)?;
                if attribute.is_some() {
                    tx.prepare_cached("DELETE FROM members WHERE seq = ?1")
                        .map_err(db)?
                        .execute([seq])
                        .map_err(db)?;
                    insert_members(tx, seq, &split.members)?;
                }
                split.restore(&mut resource);
                Ok((seq, version, resource, text.len()))
            })
            .await?;
        let doc = Document::new(resource);
        lock(&self.documents).put(seq, version, &doc, size);
        Ok(doc)
    }

    async fn delete(
        &self,
        scope: &Scope<'_>,
        id: &str,
        options: WriteOptions,
    ) -> Result<(), StoreError> {
        let ty = scope.resource_type.to_ascii_lowercase();
        let tenant = scope.tenant.to_owned();
        let id = id.to_owned();
        let seq = self
            .writer
            .run(move |tx| {
                let (seq, current) = locate(tx, &tenant, &ty, &id)?;
                options.check_version(&tag(current))?;
                tx.execute("DELETE FROM resources WHERE seq = ?1", [seq])
                    .map_err(db)?;
                Ok(seq)
            })
            .await?;
        lock(&self.documents).forget(seq);
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
        if self.split_attribute(scope) != Some(changes.attribute.as_str()) {
            return Ok(None);
        }
        let ty = scope.resource_type.to_ascii_lowercase();
        let tenant = scope.tenant.to_owned();
        let id = id.to_owned();
        let changes = changes.clone();
        let last_modified = last_modified.to_owned();
        let (version, net) = self
            .writer
            .run(move |tx| {
                let (seq, current) = locate(tx, &tenant, &ty, &id)?;
                options.check_version(&tag(current))?;
                let mut net = NetChange::default();
                let mut insert = tx
                    .prepare_cached(
                        "INSERT OR IGNORE INTO members (seq, value, member) VALUES (?1, ?2, ?3)",
                    )
                    .map_err(db)?;
                let mut remove = tx
                    .prepare_cached("DELETE FROM members WHERE seq = ?1 AND value = ?2")
                    .map_err(db)?;
                for op in &changes.ops {
                    match op {
                        MemberOp::Add(items) => {
                            for item in items {
                                let Some(key) = member_key(item) else { continue };
                                let n = insert
                                    .execute(params![seq, key, item.to_string()])
                                    .map_err(db)?;
                                if n > 0 {
                                    net.added(key);
                                }
                            }
                        }
                        MemberOp::Remove(keys) => {
                            for key in keys {
                                let n = remove.execute(params![seq, key]).map_err(db)?;
                                if n > 0 {
                                    net.removed(key);
                                }
                            }
                        }
                    }
                }
                if !net.changed() {
                    return Ok((current, net));
                }
                let version = current + 1;
                tx.execute(
                    "UPDATE resources SET version = ?1, doc = json_set(doc, '$.meta.version', ?2, '$.meta.lastModified', ?3) WHERE seq = ?4",
                    params![version, tag(version), last_modified, seq],
                )
                .map_err(db)?;
                Ok((version, net))
            })
            .await?;
        Ok(Some(MembersChanged {
            version: tag(version),
            net,
        }))
    }
}
