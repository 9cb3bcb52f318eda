//! A persistent [`ResourceStore`] on SQLite: one file, WAL journal, one transaction per
//! write, uniqueness by unique index, filters translated to SQL ([`crate::sql`]), and
//! group members in a table of their own so that a change to a 100,000-member group
//! touches the members it changes.
//!
//! ```
//! use scimkit::store::{ResourceStore, Scope, SqliteStore};
//! use serde_json::json;
//!
//! # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! # rt.block_on(async {
//! let dir = std::env::temp_dir().join(format!("scimkit-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let store = SqliteStore::open(dir.join("scim.db")).unwrap();
//! let scope = Scope::new("acme", "User");
//! let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u1", "userName": "bjensen"});
//! let stored = store.create(&scope, user, &[]).await.unwrap();
//! assert_eq!(stored["meta"]["version"], "W/\"1\"");
//! // Reopened, the user is still there.
//! drop(store);
//! let store = SqliteStore::open(dir.join("scim.db")).unwrap();
//! assert_eq!(store.get(&scope, "u1").await.unwrap()["userName"], "bjensen");
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # });
//! ```
//!
//! Reads run on the calling task: SQLite answers indexed reads in microseconds, and a pool
//! of read connections beside the writer means they never wait for writes. Writes go to a
//! thread of their own, which commits them in groups: every write queued while one commit
//! runs goes into the next transaction, each in a savepoint of its own (a write that fails
//! leaves the others alone), and each caller is answered only once its transaction has
//! committed. Under load, one commit then serves many writes; a caller awaiting a write
//! never blocks the async runtime.
//!
//! What the service's [`Renderer`] makes of a row is kept by row and version (up to
//! [`SqliteStore::RENDERINGS_BUDGET_BYTES`] in all), so a read of a resource that has not
//! changed copies its JSON instead of parsing and serialising it; any write gives the row a
//! new version, so nothing kept is ever served for it again.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use bytes::Bytes;
use rusqlite::config::DbConfig;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde_json::{Map, Value};

use super::{
    unique_keys, version_tag, MembersChanged, Page, Paging, Query, Rendered, RenderedPage,
    Renderer, ResourceStore, Scope, SortOrder, StoreError,
};
use crate::patch::{MemberChanges, MemberOp, NetChange};
use crate::schema::{Registry, UniqueValue};
use crate::sql::{fold, instant, SqlParam, Translator};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS resources (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (tenant, type, id)
);
CREATE TABLE IF NOT EXISTS unique_values (
    tenant TEXT NOT NULL,
    type TEXT NOT NULL,
    path TEXT NOT NULL,
    key TEXT NOT NULL,
    seq INTEGER NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    PRIMARY KEY (tenant, type, path, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS unique_values_seq ON unique_values (seq);
CREATE TABLE IF NOT EXISTS members (
    pos INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    value TEXT NOT NULL,
    member TEXT NOT NULL,
    UNIQUE (seq, value)
);
CREATE INDEX IF NOT EXISTS members_value ON members (value);
-- A scope's resources in insertion order (seq is the rowid): unfiltered pages walk it.
CREATE INDEX IF NOT EXISTS resources_scope ON resources (tenant, type);
CREATE INDEX IF NOT EXISTS resources_user_name
    ON resources (tenant, type, scim_fold(json_extract(doc, '$."userName"')));
CREATE INDEX IF NOT EXISTS resources_display_name
    ON resources (tenant, type, scim_fold(json_extract(doc, '$."displayName"')));
CREATE INDEX IF NOT EXISTS resources_external_id
    ON resources (tenant, type, json_extract(doc, '$."externalId"'));
CREATE INDEX IF NOT EXISTS resources_doc_id
    ON resources (tenant, type, json_extract(doc, '$."id"'));
-- How many resources each scope holds, for the totalResults of unfiltered pages: kept by
-- triggers, so in the transaction of every insert and delete.
CREATE TABLE IF NOT EXISTS scope_counts (
    tenant TEXT NOT NULL,
    type TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (tenant, type)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS resources_counted AFTER INSERT ON resources BEGIN
    INSERT INTO scope_counts (tenant, type, n) VALUES (new.tenant, new.type, 1)
        ON CONFLICT (tenant, type) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS resources_uncounted AFTER DELETE ON resources BEGIN
    UPDATE scope_counts SET n = n - 1 WHERE tenant = old.tenant AND type = old.type;
END;
"#;

/// Creates what is missing of the schema, in one transaction; a database made before the
/// scope counts existed gets them counted.
fn create_schema(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let counted: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'scope_counts')",
        [],
        |r| r.get(0),
    )?;
    tx.execute_batch(SCHEMA)?;
    if !counted {
        tx.execute(
            "INSERT OR REPLACE INTO scope_counts (tenant, type, n)
             SELECT tenant, type, count(*) FROM resources GROUP BY tenant, type",
            [],
        )?;
    }
    tx.commit()
}

/// The most writes one transaction takes.
const MAX_GROUP: usize = 256;

/// A write for the writer thread: run in a savepoint of the open transaction, or refused.
trait Job: Send {
    /// Runs the write; what it gives is answered once the transaction has ended.
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Finish>;
    /// The write cannot run: no transaction could be begun.
    fn refuse(self: Box<Self>, err: &rusqlite::Error);
}

/// A write that ran, waiting for its transaction to commit.
trait Finish: Send {
    /// Answers the caller: the write's own result if the transaction committed, else the
    /// commit's failure.
    fn finish(self: Box<Self>, committed: Result<(), &rusqlite::Error>);
}

struct Write<T, F> {
    f: F,
    done: futures_channel::oneshot::Sender<Result<T, StoreError>>,
}

struct Ran<T> {
    result: Result<T, StoreError>,
    done: futures_channel::oneshot::Sender<Result<T, StoreError>>,
}

/// A failure of the database, by its message (the error itself stays with the writer).
fn failed(err: &rusqlite::Error) -> StoreError {
    StoreError::Unavailable(err.to_string().into())
}

impl<T, F> Job for Write<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Finish> {
        let Write { f, done } = *self;
        let result = match control(conn, "SAVEPOINT write") {
            Err(e) => Err(failed(&e)),
            Ok(()) => {
                let result = catch_unwind(AssertUnwindSafe(|| f(conn))).unwrap_or_else(|_| {
                    Err(StoreError::Unavailable(
                        "the write failed unexpectedly".into(),
                    ))
                });
                let ended = match result {
                    Ok(_) => control(conn, "RELEASE write"),
                    Err(_) => control(conn, "ROLLBACK TO write")
                        .and_then(|()| control(conn, "RELEASE write")),
                };
                match ended {
                    Ok(()) => result,
                    Err(e) => Err(failed(&e)),
                }
            }
        };
        Box::new(Ran { result, done })
    }

    fn refuse(self: Box<Self>, err: &rusqlite::Error) {
        let _ = self.done.send(Err(failed(err)));
    }
}

impl<T: Send> Finish for Ran<T> {
    fn finish(self: Box<Self>, committed: Result<(), &rusqlite::Error>) {
        let result = match (self.result, committed) {
            (Ok(_), Err(e)) => Err(failed(e)),
            (result, _) => result,
        };
        let _ = self.done.send(result);
    }
}

/// A transaction statement, from the statement cache: a group of writes runs several.
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// The writer thread: takes the writes queued, runs them in one transaction, commits,
/// answers them; until the store is dropped.
fn write_groups(conn: Arc<Mutex<Connection>>, jobs: mpsc::Receiver<Box<dyn Job>>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let conn = lock(&conn);
        if let Err(e) = control(&conn, "BEGIN IMMEDIATE") {
            group.into_iter().for_each(|job| job.refuse(&e));
            continue;
        }
        let ran: Vec<Box<dyn Finish>> = group.into_iter().map(|job| job.run(&conn)).collect();
        match control(&conn, "COMMIT") {
            Ok(()) => ran.into_iter().for_each(|r| r.finish(Ok(()))),
            Err(e) => {
                let _ = control(&conn, "ROLLBACK");
                ran.into_iter().for_each(|r| r.finish(Err(&e)));
            }
        }
    }
}

/// A [`ResourceStore`] in a SQLite database.
pub struct SqliteStore {
    /// The writer's connection, used by the writer thread (and for every read of an
    /// in-memory database, which has no other).
    writer: Arc<Mutex<Connection>>,
    /// The writer thread's queue.
    jobs: mpsc::Sender<Box<dyn Job>>,
    /// What the service's renderer made of rows read, by version.
    renderings: Mutex<Renderings>,
    /// Idle read connections; `None` for an in-memory database, read through the writer.
    readers: Option<Mutex<Vec<Connection>>>,
    path: PathBuf,
    registry: Registry,
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

fn unavailable(err: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable(Box::new(err))
}

fn setup(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // The bundled SQLite lets bound values steer its plans, so a cached statement bound
    // anew (every page's LIMIT and OFFSET) would be compiled again at its next step: one
    // plan whatever the values keeps the statement cache worth having.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("scim_fold", 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Text(t) => SqlValue::Text(fold(&String::from_utf8_lossy(t))),
            other => SqlValue::from(other),
        })
    })?;
    conn.create_scalar_function("scim_instant", 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Text(t) => match instant(&String::from_utf8_lossy(t)) {
                Some(i) => SqlValue::Text(i),
                None => SqlValue::Null,
            },
            _ => SqlValue::Null,
        })
    })?;
    Ok(())
}

fn to_sql(param: &SqlParam) -> SqlValue {
    match param {
        SqlParam::Text(s) => SqlValue::Text(s.clone()),
        SqlParam::Integer(i) => SqlValue::Integer(*i),
        SqlParam::Real(r) => SqlValue::Real(*r),
    }
}

fn set_meta(resource: &mut Value, version: i64, last_modified: Option<&str>) {
    if let Some(obj) = resource.as_object_mut() {
        let meta = obj
            .entry("meta")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert("version".into(), Value::String(version_tag(version as u64)));
            if let Some(t) = last_modified {
                meta.insert("lastModified".into(), Value::String(t.into()));
            }
        }
    }
}

fn member_key(item: &Value) -> Option<&str> {
    item.get("value").and_then(Value::as_str)
}

/// A resource row being read: its sequence number and document.
struct Row {
    seq: i64,
    version: i64,
    doc: String,
}

impl Row {
    /// A row selected as `seq, version, doc`.
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
        Ok(Row {
            seq: r.get(0)?,
            version: r.get(1)?,
            doc: r.get(2)?,
        })
    }

    /// Every row a `SELECT seq, version, doc …` statement returns, compiled once per
    /// connection.
    fn all(conn: &Connection, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, StoreError> {
        let mut stmt = conn.prepare_cached(sql).map_err(unavailable)?;
        let rows = stmt
            .query_map(params_from_iter(params.iter()), Row::read)
            .map_err(unavailable)?
            .collect::<Result<Vec<Row>, _>>()
            .map_err(unavailable)?;
        Ok(rows)
    }
}

/// What the store keeps of the service's renderings: by row, the version rendered, the
/// renderer's key and the JSON; emptied whole when it would grow past its budget.
#[derive(Default)]
struct Renderings {
    used: usize,
    by_seq: HashMap<i64, (i64, u64, Bytes)>,
}

impl Renderings {
    fn get(&self, seq: i64, version: i64, key: u64) -> Option<Bytes> {
        match self.by_seq.get(&seq) {
            Some((v, k, json)) if *v == version && *k == key => Some(json.clone()),
            _ => None,
        }
    }

    fn put(&mut self, seq: i64, version: i64, key: u64, json: Bytes) {
        if json.len() > SqliteStore::KEPT_RENDERING_BYTES {
            return;
        }
        if self.used + json.len() > SqliteStore::RENDERINGS_BUDGET_BYTES {
            self.by_seq.clear();
            self.used = 0;
        }
        self.used += json.len();
        if let Some((_, _, old)) = self.by_seq.insert(seq, (version, key, json)) {
            self.used -= old.len();
        }
    }
}

impl SqliteStore {
    /// The largest rendering the store keeps (64 KiB).
    pub const KEPT_RENDERING_BYTES: usize = 64 * 1024;

    /// How much JSON the store keeps in all (64 MiB): past it, what it keeps is dropped
    /// and kept again as rows are read.
    pub const RENDERINGS_BUDGET_BYTES: usize = 64 * 1024 * 1024;

    /// Opens (creating if needed) the database at `path`, for the resource types of
    /// [`Registry::scim_default`].
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, Registry::scim_default())
    }

    /// Opens the database at `path` for the resource types of `registry` (the one the
    /// service uses), so that filters on its attributes are translated to SQL.
    pub fn open_with(
        path: impl AsRef<Path>,
        registry: Registry,
    ) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let in_memory = path.as_os_str() == ":memory:";
        let mut conn = Connection::open(&path).map_err(unavailable)?;
        if !in_memory {
            // WAL: readers never wait for the writer; NORMAL synchronisation keeps every
            // committed write through a crash of the process.
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(unavailable)?;
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(unavailable)?;
        }
        setup(&conn).map_err(unavailable)?;
        create_schema(&mut conn).map_err(unavailable)?;
        let writer = Arc::new(Mutex::new(conn));
        let (jobs, queue) = mpsc::channel();
        let thread_conn = Arc::clone(&writer);
        std::thread::Builder::new()
            .name("scimkit-sqlite-writer".into())
            .spawn(move || write_groups(thread_conn, queue))
            .map_err(unavailable)?;
        Ok(SqliteStore {
            writer,
            jobs,
            renderings: Mutex::default(),
            readers: (!in_memory).then(|| Mutex::new(Vec::new())),
            path,
            registry,
            split: vec![("group".into(), "members".into())],
        })
    }

    /// A store in memory (one connection, gone with the store), for tests.
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        SqliteStore::open(":memory:")
    }

    fn split_attribute(&self, scope: &Scope<'_>) -> Option<&str> {
        let ty = scope.resource_type.to_ascii_lowercase();
        self.split
            .iter()
            .find(|(t, _)| *t == ty)
            .map(|(_, a)| a.as_str())
    }

    /// Runs `f` on a read connection.
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let Some(pool) = &self.readers else {
            return f(&lock(&self.writer));
        };
        let conn = match lock(pool).pop() {
            Some(conn) => conn,
            None => {
                let conn = Connection::open(&self.path).map_err(unavailable)?;
                setup(&conn).map_err(unavailable)?;
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

    /// Runs `f` on the writer thread, in a savepoint of the transaction of its group: its
    /// changes stay when it returns `Ok` and the transaction commits, and are undone when
    /// it returns an error. The answer comes once the transaction has ended.
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (done, answer) = futures_channel::oneshot::channel();
        let job: Box<dyn Job> = Box::new(Write { f, done });
        let gone = || StoreError::Unavailable("the SQLite writer has stopped".into());
        self.jobs.send(job).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    /// The resource of a row, its members put back.
    fn resource(
        &self,
        conn: &Connection,
        scope: &Scope<'_>,
        row: Row,
    ) -> Result<Value, StoreError> {
        let mut resource: Value = serde_json::from_str(&row.doc).map_err(unavailable)?;
        if let Some(attr) = self.split_attribute(scope) {
            let mut stmt = conn
                .prepare_cached("SELECT member FROM members WHERE seq = ?1 ORDER BY pos")
                .map_err(unavailable)?;
            let members = stmt
                .query_map([row.seq], |r| r.get::<_, String>(0))
                .map_err(unavailable)?
                .map(|m| {
                    m.map_err(unavailable)
                        .and_then(|m| serde_json::from_str::<Value>(&m).map_err(unavailable))
                })
                .collect::<Result<Vec<Value>, StoreError>>()?;
            if !members.is_empty() {
                if let Some(obj) = resource.as_object_mut() {
                    obj.insert(attr.to_owned(), Value::Array(members));
                }
            }
        }
        Ok(resource)
    }

    /// Takes the split attribute out of a document to store.
    fn take_members(&self, scope: &Scope<'_>, resource: &mut Value) -> Vec<Value> {
        match (self.split_attribute(scope), resource.as_object_mut()) {
            (Some(attr), Some(obj)) => match obj.remove(attr) {
                Some(Value::Array(items)) => items,
                Some(other) => vec![other],
                None => Vec::new(),
            },
            _ => Vec::new(),
        }
    }
}

fn insert_members(tx: &Connection, seq: i64, members: &[Value]) -> Result<(), StoreError> {
    let mut stmt = tx
        .prepare_cached("INSERT OR IGNORE INTO members (seq, value, member) VALUES (?1, ?2, ?3)")
        .map_err(unavailable)?;
    for member in members {
        let key = member_key(member).map_or_else(|| member.to_string(), str::to_owned);
        stmt.execute(params![seq, key, member.to_string()])
            .map_err(unavailable)?;
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
        .map_err(unavailable)?;
    for ((path, key), value) in unique_keys(unique).into_iter().zip(unique) {
        match stmt.execute(params![tenant, ty, path, key, seq]) {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                return Err(StoreError::Conflict(value.path.clone()));
            }
            Err(e) => return Err(unavailable(e)),
        }
    }
    Ok(())
}

/// The row of an id, with its version, inside a write.
fn locate(tx: &Connection, tenant: &str, ty: &str, id: &str) -> Result<(i64, i64), StoreError> {
    tx.prepare_cached(
        "SELECT seq, version FROM resources WHERE tenant = ?1 AND type = ?2 AND id = ?3",
    )
    .map_err(unavailable)?
    .query_row(params![tenant, ty, id], |r| Ok((r.get(0)?, r.get(1)?)))
    .optional()
    .map_err(unavailable)?
    .ok_or(StoreError::NotFound)
}

fn check_version(current: i64, expected: Option<&str>) -> Result<(), StoreError> {
    match expected {
        Some(e) if e != version_tag(current as u64) => Err(StoreError::PreconditionFailed {
            current: version_tag(current as u64),
        }),
        _ => Ok(()),
    }
}

#[async_trait]
impl ResourceStore for SqliteStore {
    async fn create(
        &self,
        scope: &Scope<'_>,
        mut resource: Value,
        unique: &[UniqueValue],
    ) -> Result<Value, StoreError> {
        let id = super::resource_id(&resource)?;
        let ty = scope.resource_type.to_ascii_lowercase();
        set_meta(&mut resource, 1, None);
        let mut doc = resource.clone();
        let members = self.take_members(scope, &mut doc);
        let text = doc.to_string();
        let tenant = scope.tenant.to_owned();
        let unique = unique.to_vec();
        self.write(move |tx| {
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO resources (tenant, type, id, version, doc) VALUES (?1, ?2, ?3, 1, ?4)",
                )
                .map_err(unavailable)?
                .execute(params![tenant, ty, id, text]);
            match inserted {
                Ok(_) => {}
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    return Err(StoreError::Conflict("id".into()));
                }
                Err(e) => return Err(unavailable(e)),
            }
            let seq = tx.last_insert_rowid();
            insert_unique(tx, &tenant, &ty, seq, &unique)?;
            insert_members(tx, seq, &members)
        })
        .await?;
        Ok(resource)
    }

    async fn get(&self, scope: &Scope<'_>, id: &str) -> Result<Value, StoreError> {
        self.read(|conn| {
            let row = self.row(conn, scope, id)?;
            self.resource(conn, scope, row)
        })
    }

    async fn replace(
        &self,
        scope: &Scope<'_>,
        id: &str,
        mut resource: Value,
        unique: &[UniqueValue],
        expected_version: Option<&str>,
    ) -> Result<Value, StoreError> {
        let ty = scope.resource_type.to_ascii_lowercase();
        let tenant = scope.tenant.to_owned();
        let id = id.to_owned();
        let unique = unique.to_vec();
        let expected = expected_version.map(str::to_owned);
        let split = self.split_attribute(scope).is_some();
        // The document as stored: without the members kept in their own table.
        let mut doc = resource.clone();
        let members = self.take_members(scope, &mut doc);
        let version = self
            .write(move |tx| {
                let (seq, current) = locate(tx, &tenant, &ty, &id)?;
                check_version(current, expected.as_deref())?;
                let version = current + 1;
                set_meta(&mut doc, version, None);
                tx.prepare_cached("DELETE FROM unique_values WHERE seq = ?1")
                    .map_err(unavailable)?
                    .execute([seq])
                    .map_err(unavailable)?;
                insert_unique(tx, &tenant, &ty, seq, &unique)?;
                tx.prepare_cached("UPDATE resources SET version = ?1, doc = ?2 WHERE seq = ?3")
                    .map_err(unavailable)?
                    .execute(params![version, doc.to_string(), seq])
                    .map_err(unavailable)?;
                if split {
                    tx.prepare_cached("DELETE FROM members WHERE seq = ?1")
                        .map_err(unavailable)?
                        .execute([seq])
                        .map_err(unavailable)?;
                    insert_members(tx, seq, &members)?;
                }
                Ok(version)
            })
            .await?;
        set_meta(&mut resource, version, None);
        Ok(resource)
    }

    async fn delete(
        &self,
        scope: &Scope<'_>,
        id: &str,
        expected_version: Option<&str>,
    ) -> Result<(), StoreError> {
        let ty = scope.resource_type.to_ascii_lowercase();
        let tenant = scope.tenant.to_owned();
        let id = id.to_owned();
        let expected = expected_version.map(str::to_owned);
        self.write(move |tx| {
            let (seq, current) = locate(tx, &tenant, &ty, &id)?;
            check_version(current, expected.as_deref())?;
            tx.execute("DELETE FROM resources WHERE seq = ?1", [seq])
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn query(&self, scope: &Scope<'_>, query: &Query) -> Result<Page, StoreError> {
        let page = self.page(
            scope,
            query,
            |conn, row| self.resource(conn, scope, row),
            |_, _, resource| resource.clone(),
        )?;
        Ok(page)
    }

    async fn get_rendered(
        &self,
        scope: &Scope<'_>,
        id: &str,
        renderer: &Renderer<'_>,
    ) -> Result<Option<Rendered>, StoreError> {
        self.read(|conn| {
            let row = self.row(conn, scope, id)?;
            let version = row.version;
            let json = self.rendered(conn, scope, row, renderer)?;
            Ok(Some(Rendered {
                version: Some(version_tag(version as u64)),
                json,
            }))
        })
    }

    async fn query_rendered(
        &self,
        scope: &Scope<'_>,
        query: &Query,
        renderer: &Renderer<'_>,
    ) -> Result<Option<RenderedPage>, StoreError> {
        let page = self.page(
            scope,
            query,
            |conn, row| self.rendered(conn, scope, row, renderer),
            |seq, version, resource| self.rendered_value(seq, version, resource, renderer),
        )?;
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
        if self.split_attribute(scope) != Some(changes.attribute.as_str()) {
            return Ok(None);
        }
        let ty = scope.resource_type.to_ascii_lowercase();
        let tenant = scope.tenant.to_owned();
        let id = id.to_owned();
        let expected = expected_version.map(str::to_owned);
        let changes = changes.clone();
        let last_modified = last_modified.to_owned();
        let (version, net) = self.write(move |tx| {
            let (seq, current) = locate(tx, &tenant, &ty, &id)?;
            check_version(current, expected.as_deref())?;
            let mut net = NetChange::default();
            let mut insert = tx
                .prepare_cached("INSERT OR IGNORE INTO members (seq, value, member) VALUES (?1, ?2, ?3)")
                .map_err(unavailable)?;
            let mut remove = tx
                .prepare_cached("DELETE FROM members WHERE seq = ?1 AND value = ?2")
                .map_err(unavailable)?;
            for op in &changes.ops {
                match op {
                    MemberOp::Add(items) => {
                        for item in items {
                            let Some(key) = member_key(item) else { continue };
                            let n = insert
                                .execute(params![seq, key, item.to_string()])
                                .map_err(unavailable)?;
                            if n > 0 {
                                net.added(key);
                            }
                        }
                    }
                    MemberOp::Remove(keys) => {
                        for key in keys {
                            let n = remove.execute(params![seq, key]).map_err(unavailable)?;
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
                params![version, version_tag(version as u64), last_modified, seq],
            )
            .map_err(unavailable)?;
            Ok((version, net))
        })
        .await?;
        Ok(Some(MembersChanged {
            version: version_tag(version as u64),
            net,
        }))
    }
}

impl SqliteStore {
    /// A query SQL cannot answer exactly: the rows the condition selects, checked with the
    /// matcher, sorted and paged here.
    fn query_in_memory<R>(
        &self,
        scope: &Scope<'_>,
        query: &Query,
        cond: &str,
        params: &[SqlValue],
        value: impl Fn(i64, i64, &Value) -> R,
    ) -> Result<Page<R>, StoreError> {
        let candidates = self.read(|conn| {
            let rows = Row::all(
                conn,
                &format!(
                    "SELECT r.seq, r.version, r.doc FROM resources AS r WHERE {cond} ORDER BY r.seq"
                ),
                params,
            )?;
            rows.into_iter()
                .map(|row| {
                    let (seq, version) = (row.seq, row.version);
                    self.resource(conn, scope, row).map(|r| (seq, version, r))
                })
                .collect::<Result<Vec<(i64, i64, Value)>, StoreError>>()
        })?;
        let matched: Vec<(i64, i64, Value)> = candidates
            .into_iter()
            .filter(|(_, _, r)| query.matcher.as_ref().is_none_or(|m| m.matches(r)))
            .collect();
        super::memory::page_of(
            matched,
            query,
            |(seq, _, _)| *seq as u64,
            |(_, _, r)| r,
            |_| true,
            |(seq, version, r)| value(*seq, *version, r),
        )
    }

    /// The page of a query, each resource returned made `row` of its row when SQL selects
    /// it exactly, else `value` of its sequence number, version and parsed document.
    fn page<R>(
        &self,
        scope: &Scope<'_>,
        query: &Query,
        row: impl Fn(&Connection, Row) -> Result<R, StoreError>,
        value: impl Fn(i64, i64, &Value) -> R,
    ) -> Result<Page<R>, StoreError> {
        let ty = scope.resource_type.to_ascii_lowercase();
        let view = self.registry.resource_type(scope.resource_type);
        let split = self.split_attribute(scope).map(str::to_owned);
        let elements = move |attr: &crate::schema::Attribute| -> Option<String> {
            (split.as_deref() == Some(attr.name.as_str())).then(|| {
                "(SELECT m.member AS value, 'object' AS type FROM members AS m WHERE m.seq = r.seq)"
                    .to_owned()
            })
        };
        let mut cond = String::from("r.tenant = ? AND r.type = ?");
        let mut params: Vec<SqlValue> = vec![
            SqlValue::Text(scope.tenant.to_owned()),
            SqlValue::Text(ty.clone()),
        ];
        let mut exact = true;
        let mut order = String::from("r.seq");
        let mut sorted_in_sql = query.sort_by.is_none();
        if let Some(view) = &view {
            let translator = Translator::new(view, "r.doc").with_elements(&elements);
            if let Some(filter) = &query.filter {
                let sql = translator.filter(filter);
                cond.push_str(" AND ");
                cond.push_str(&sql.sql);
                params.extend(sql.params.iter().map(to_sql));
                exact = sql.exact;
            }
            if let Some(path) = &query.sort_by {
                if let Some((key, case_exact)) = translator.sort_key(path) {
                    let dir = match query.sort_order {
                        SortOrder::Ascending => "ASC",
                        SortOrder::Descending => "DESC",
                    };
                    order = if case_exact {
                        format!("({key}) IS NULL {dir}, {key} {dir}, r.seq")
                    } else {
                        format!("({key}) IS NULL {dir}, scim_fold({key}) {dir}, {key} {dir}, r.seq")
                    };
                    sorted_in_sql = true;
                }
            }
        } else {
            exact = query.filter.is_none();
        }
        if !exact || !sorted_in_sql {
            return self.query_in_memory(scope, query, &cond, &params, value);
        }
        let sorted = query.sort_by.is_some();
        let (count, skip_sql, after): (usize, usize, Option<i64>) = match &query.paging {
            Paging::Index { start_index, count } => (*count, start_index.saturating_sub(1), None),
            Paging::Cursor { cursor, count } => match cursor.as_deref() {
                None => (*count, 0, None),
                Some(c) => match (c.split_at_checked(1), sorted) {
                    (Some(("s", n)), false) => (
                        *count,
                        0,
                        Some(n.parse().map_err(|_| StoreError::InvalidCursor)?),
                    ),
                    (Some(("o", n)), true) => (
                        *count,
                        n.parse().map_err(|_| StoreError::InvalidCursor)?,
                        None,
                    ),
                    _ => return Err(StoreError::InvalidCursor),
                },
            },
        };
        self.read(|conn| {
            let mut page_params = params.clone();
            let mut page_cond = cond.clone();
            if let Some(after) = after {
                page_cond.push_str(" AND r.seq > ?");
                page_params.push(SqlValue::Integer(after));
            }
            page_params.push(SqlValue::Integer(count as i64));
            page_params.push(SqlValue::Integer(skip_sql as i64));
            let rows = Row::all(
                conn,
                &format!(
                    "SELECT r.seq, r.version, r.doc FROM resources AS r WHERE {page_cond} ORDER BY {order} LIMIT ? OFFSET ?"
                ),
                &page_params,
            )?;
            let last_seq = rows.last().map(|r| r.seq);
            let returned = rows.len();
            // A first page that is not full holds every match (an IdP's lookup by
            // userName or externalId): no need to count them again.
            let total = if skip_sql == 0 && after.is_none() && returned < count {
                returned
            } else if query.filter.is_none() {
                // Every resource of the scope: the count the triggers keep.
                let total: Option<i64> = conn
                    .prepare_cached("SELECT n FROM scope_counts WHERE tenant = ?1 AND type = ?2")
                    .map_err(unavailable)?
                    .query_row(params![scope.tenant, ty], |r| r.get(0))
                    .optional()
                    .map_err(unavailable)?;
                total.unwrap_or(0).max(0) as usize
            } else {
                let total: i64 = conn
                    .prepare_cached(&format!("SELECT count(*) FROM resources AS r WHERE {cond}"))
                    .map_err(unavailable)?
                    .query_row(params_from_iter(params.iter()), |r| r.get(0))
                    .map_err(unavailable)?;
                total as usize
            };
            if matches!(query.paging, Paging::Cursor { .. }) && skip_sql > total {
                return Err(StoreError::InvalidCursor);
            }
            let resources = rows
                .into_iter()
                .map(|r| row(conn, r))
                .collect::<Result<Vec<R>, _>>()?;
            let next_cursor = match &query.paging {
                Paging::Cursor { .. } if sorted && skip_sql + returned < total => {
                    Some(format!("o{}", skip_sql + returned))
                }
                Paging::Cursor { .. } if !sorted && returned == count && returned > 0 => {
                    // More rows after the last one returned?
                    let more: bool = conn
                        .prepare_cached(&format!(
                            "SELECT EXISTS (SELECT 1 FROM resources AS r WHERE {cond} AND r.seq > ?)"
                        ))
                        .map_err(unavailable)?
                        .query_row(
                            params_from_iter(
                                params.iter().cloned().chain([SqlValue::Integer(last_seq.unwrap_or(0))]),
                            ),
                            |r| r.get(0),
                        )
                        .map_err(unavailable)?;
                    more.then(|| format!("s{}", last_seq.unwrap_or(0)))
                }
                _ => None,
            };
            Ok(Page {
                resources,
                total_results: total,
                next_cursor,
            })
        })
    }

    /// The row of an id.
    fn row(&self, conn: &Connection, scope: &Scope<'_>, id: &str) -> Result<Row, StoreError> {
        let ty = scope.resource_type.to_ascii_lowercase();
        conn.prepare_cached(
            "SELECT seq, version, doc FROM resources WHERE tenant = ?1 AND type = ?2 AND id = ?3",
        )
        .map_err(unavailable)?
        .query_row(params![scope.tenant, ty, id], Row::read)
        .optional()
        .map_err(unavailable)?
        .ok_or(StoreError::NotFound)
    }

    /// A row as `renderer` makes it: kept from an earlier call for the same version when
    /// it can be.
    fn rendered(
        &self,
        conn: &Connection,
        scope: &Scope<'_>,
        row: Row,
        renderer: &Renderer<'_>,
    ) -> Result<Bytes, StoreError> {
        if let Some(json) = lock(&self.renderings).get(row.seq, row.version, renderer.key()) {
            return Ok(json);
        }
        let (seq, version) = (row.seq, row.version);
        let resource = self.resource(conn, scope, row)?;
        Ok(self.render_and_keep(seq, version, &resource, renderer))
    }

    /// [`rendered`](Self::rendered) of a document already read.
    fn rendered_value(
        &self,
        seq: i64,
        version: i64,
        resource: &Value,
        renderer: &Renderer<'_>,
    ) -> Bytes {
        let kept = lock(&self.renderings).get(seq, version, renderer.key());
        kept.unwrap_or_else(|| self.render_and_keep(seq, version, resource, renderer))
    }

    /// Renders a document and keeps the rendering.
    fn render_and_keep(
        &self,
        seq: i64,
        version: i64,
        resource: &Value,
        renderer: &Renderer<'_>,
    ) -> Bytes {
        let json = renderer.render(resource);
        lock(&self.renderings).put(seq, version, renderer.key(), json.clone());
        json
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cached statements run again with other values are not compiled again.
    #[test]
    fn statements_are_not_compiled_again_for_new_values() {
        let mut conn = Connection::open_in_memory().unwrap();
        setup(&conn).unwrap();
        create_schema(&mut conn).unwrap();
        for i in 0..100 {
            conn.execute(
                "INSERT INTO resources (tenant, type, id, version, doc) VALUES ('acme', 'user', ?1, 1, ?2)",
                params![format!("u{i}"), format!(r#"{{"id": "u{i}", "userName": "n{i}"}}"#)],
            )
            .unwrap();
        }
        // A page as `query` asks for it: the page's bounds change from call to call.
        let sql = "SELECT r.seq FROM resources AS r WHERE r.tenant = ?1 AND r.type = ?2 \
                   AND scim_fold(json_extract(r.doc, '$.\"userName\"')) >= ?3 \
                   ORDER BY r.seq LIMIT ?4 OFFSET ?5";
        let mut stmt = conn.prepare(sql).unwrap();
        for (i, name) in ["n1", "n2", "n3"].into_iter().enumerate() {
            let rows: Vec<i64> = stmt
                .query_map(params!["acme", "user", name, 10 + i, i], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(rows.len(), 10 + i);
        }
        assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0);
    }
}
