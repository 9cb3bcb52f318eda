//! Tenants and API keys in a SQLite database: settings as JSON, keys as SHA-256 digests.
//! Every change is written to the database before it takes effect; the keys are also held
//! in memory, so verifying a request's key reads no key from disk. Another process (or
//! another store) changing the keys of the same file is seen within
//! [`SqliteKeyStore::RECHECK`] (100 ms): each change counts in `scim_keys_version`, and a
//! request at most that often asks SQLite whether anyone else committed to the file
//! (`PRAGMA data_version`), then, if so, whether the count moved, and only then reads the
//! keys again. Every other call of the store asks first.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};

use super::keys::{Adopted, KeyTable, StoredKey};
use super::{Caller, KeyError, KeyInfo, KeyStore, NewKey, TenantSettings};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS scim_tenants (
    tenant TEXT PRIMARY KEY,
    settings TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scim_api_keys (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL REFERENCES scim_tenants (tenant) ON DELETE CASCADE,
    digest BLOB NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS scim_api_keys_tenant ON scim_api_keys (tenant);
-- How many times the tenants and keys changed: what another process's copy checks.
CREATE TABLE IF NOT EXISTS scim_keys_version (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    n INTEGER NOT NULL
);
INSERT OR IGNORE INTO scim_keys_version (id, n) VALUES (0, 0);
"#;

/// A [`KeyStore`] in a SQLite database file, which may be the one a
/// [`SqliteStore`](crate::store::SqliteStore) uses (its tables are `scim_tenants` and
/// `scim_api_keys`).
///
/// ```
/// use scimkit::auth::{Idp, KeyStore, SqliteKeyStore, TenantSettings};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let dir = std::env::temp_dir().join(format!("scimkit-keys-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let keys = SqliteKeyStore::open(dir.join("scim.db"))?;
/// keys.enable("acme", TenantSettings::for_idp(Idp::Entra)).await?;
/// let key = keys.generate("acme").await?;
/// drop(keys);
/// // Reopened: the key still works, and the file holds only its digest.
/// let keys = SqliteKeyStore::open(dir.join("scim.db"))?;
/// assert_eq!(keys.verify(key.secret()).await.unwrap().tenant(), "acme");
/// let file = std::fs::read(dir.join("scim.db")).unwrap();
/// assert!(!file.windows(key.secret().len()).any(|w| w == key.secret().as_bytes()));
/// # drop(keys);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), scimkit::auth::KeyError>(())
/// # }).unwrap();
/// ```
pub struct SqliteKeyStore {
    conn: Mutex<Connection>,
    table: RwLock<KeyTable>,
    /// The file's `data_version` and `scim_keys_version` the table was read at.
    seen: Mutex<(i64, i64)>,
    /// When a request last asked the file: milliseconds after `opened`, plus one (zero:
    /// never).
    checked: AtomicU64,
    opened: Instant,
}

impl std::fmt::Debug for SqliteKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteKeyStore").finish_non_exhaustive()
    }
}

fn unavailable(err: impl std::error::Error + Send + Sync + 'static) -> KeyError {
    KeyError::Unavailable(Box::new(err))
}

/// Every tenant and key of the database.
fn load(conn: &Connection) -> Result<KeyTable, KeyError> {
    let mut table = KeyTable::default();
    let mut tenants = conn
        .prepare("SELECT tenant, settings FROM scim_tenants")
        .map_err(unavailable)?;
    let rows = tenants
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .map_err(unavailable)?;
    for row in rows {
        let (tenant, settings) = row.map_err(unavailable)?;
        let settings: TenantSettings = serde_json::from_str(&settings).map_err(unavailable)?;
        table.enable(&tenant, settings);
    }
    let mut keys = conn
        .prepare("SELECT id, tenant, digest, created FROM scim_api_keys")
        .map_err(unavailable)?;
    let rows = keys
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Vec<u8>>(2)?,
                row.get::<_, String>(3)?,
            ))
        })
        .map_err(unavailable)?;
    for row in rows {
        let (id, tenant, digest, created) = row.map_err(unavailable)?;
        let Ok(digest) = <[u8; 32]>::try_from(digest.as_slice()) else {
            return Err(KeyError::Unavailable(
                format!("key {id} has a digest of the wrong length").into(),
            ));
        };
        let created = DateTime::parse_from_rfc3339(&created)
            .map_err(unavailable)?
            .with_timezone(&Utc);
        table.insert(
            StoredKey {
                id,
                tenant,
                digest,
                created,
            },
            false,
        );
    }
    Ok(table)
}

/// The file's `data_version`: it moves when another connection commits to the file.
fn data_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("PRAGMA data_version")?
        .query_row([], |r| r.get(0))
}

/// The file's `data_version` (which moves when another connection commits) and the count
/// of changes to the tenants and keys.
fn versions(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    let data_version = data_version(conn)?;
    let keys_version = conn.query_row("SELECT n FROM scim_keys_version WHERE id = 0", [], |r| {
        r.get(0)
    })?;
    Ok((data_version, keys_version))
}

impl SqliteKeyStore {
    /// How long a key rotated or revoked, or a tenant disabled, through another connection
    /// to the file (another process) may still be accepted here: requests ask the file at
    /// most this often. Changes made through this store hold at once.
    pub const RECHECK: Duration = Duration::from_millis(100);

    /// Opens (creating when missing) the database at `path` and loads its tenants and keys.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteKeyStore, KeyError> {
        let conn = Connection::open(path).map_err(unavailable)?;
        SqliteKeyStore::from_connection(conn)
    }

    /// A store in a database that lives as long as the value (for tests).
    pub fn open_in_memory() -> Result<SqliteKeyStore, KeyError> {
        SqliteKeyStore::from_connection(Connection::open_in_memory().map_err(unavailable)?)
    }

    fn from_connection(conn: Connection) -> Result<SqliteKeyStore, KeyError> {
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(unavailable)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(unavailable)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(unavailable)?;
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        let table = load(&conn)?;
        let seen = versions(&conn).map_err(unavailable)?;
        Ok(SqliteKeyStore {
            conn: Mutex::new(conn),
            table: RwLock::new(table),
            seen: Mutex::new(seen),
            checked: AtomicU64::new(0),
            opened: Instant::now(),
        })
    }

    /// Reads the tenants and keys again when another connection changed them since they
    /// were read. Locks are taken in the order writes take them: table, connection, seen.
    fn refresh(&self) -> Result<(), KeyError> {
        if !self.keys_changed()? {
            return Ok(());
        }
        let mut table = self.table();
        let conn = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = versions(&conn).map_err(unavailable)?;
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if now.1 != seen.1 {
            *table = load(&conn)?;
        }
        *seen = now;
        Ok(())
    }

    /// Whether another connection changed the keys since they were read. Commits to the
    /// file that left the keys alone (a resource written) are taken note of here, without
    /// the table's lock.
    fn keys_changed(&self) -> Result<bool, KeyError> {
        let conn = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let data_version = data_version(&conn).map_err(unavailable)?;
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if data_version == seen.0 {
            return Ok(false);
        }
        let now = versions(&conn).map_err(unavailable)?;
        if now.1 == seen.1 {
            *seen = now;
            return Ok(false);
        }
        Ok(true)
    }

    fn table(&self) -> std::sync::RwLockWriteGuard<'_, KeyTable> {
        self.table
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, KeyTable> {
        self.table
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` in one transaction.
    fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, KeyError> {
        let mut conn = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let tx = conn.transaction().map_err(unavailable)?;
        let out = f(&tx).map_err(unavailable)?;
        let before: i64 = tx
            .query_row("SELECT n FROM scim_keys_version WHERE id = 0", [], |r| {
                r.get(0)
            })
            .map_err(unavailable)?;
        tx.execute("UPDATE scim_keys_version SET n = n + 1 WHERE id = 0", [])
            .map_err(unavailable)?;
        tx.commit().map_err(unavailable)?;
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *seen = match before == seen.1 {
            // This connection's own commit leaves `data_version` as it was, and the count
            // is one more: nothing to read after the commit.
            true => (seen.0, before + 1),
            // Another connection changed the keys since they were read: read them all
            // again at the next call.
            false => (-1, -1),
        };
        Ok(out)
    }

    fn keep(&self, key: &StoredKey, replace_all: bool) -> Result<(), KeyError> {
        self.write(|tx| {
            if replace_all {
                tx.execute(
                    "DELETE FROM scim_api_keys WHERE tenant = ?1",
                    params![key.tenant],
                )?;
            }
            tx.execute(
                "INSERT INTO scim_api_keys (id, tenant, digest, created) VALUES (?1, ?2, ?3, ?4)",
                params![
                    key.id,
                    key.tenant,
                    key.digest.as_slice(),
                    key.created.to_rfc3339()
                ],
            )?;
            Ok(())
        })
    }

    fn new_key(&self, tenant: &str, replace_all: bool) -> Result<NewKey, KeyError> {
        self.refresh()?;
        // The table's lock is held across the database write, so that the two agree.
        let mut table = self.table();
        let (stored, new) = table.mint(tenant)?;
        self.keep(&stored, replace_all)?;
        table.insert(stored, replace_all);
        Ok(new)
    }
}

#[async_trait]
impl KeyStore for SqliteKeyStore {
    async fn enable(&self, tenant: &str, settings: TenantSettings) -> Result<(), KeyError> {
        self.refresh()?;
        let json = serde_json::to_string(&settings).map_err(unavailable)?;
        let mut table = self.table();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO scim_tenants (tenant, settings) VALUES (?1, ?2)
                 ON CONFLICT (tenant) DO UPDATE SET settings = excluded.settings",
                params![tenant, json],
            )?;
            Ok(())
        })?;
        table.enable(tenant, settings);
        Ok(())
    }

    async fn disable(&self, tenant: &str) -> Result<(), KeyError> {
        self.refresh()?;
        let mut table = self.table();
        self.write(|tx| {
            tx.execute(
                "DELETE FROM scim_tenants WHERE tenant = ?1",
                params![tenant],
            )?;
            Ok(())
        })?;
        table.disable(tenant);
        Ok(())
    }

    async fn settings(&self, tenant: &str) -> Result<Option<TenantSettings>, KeyError> {
        self.refresh()?;
        Ok(self.read().settings(tenant))
    }

    async fn generate(&self, tenant: &str) -> Result<NewKey, KeyError> {
        self.new_key(tenant, false)
    }

    async fn rotate(&self, tenant: &str) -> Result<NewKey, KeyError> {
        self.new_key(tenant, true)
    }

    async fn add(&self, tenant: &str, secret: &str) -> Result<KeyInfo, KeyError> {
        self.refresh()?;
        let mut table = self.table();
        let key = match table.adopt(tenant, secret)? {
            Adopted::New(key) => key,
            Adopted::Known(existing) => return Ok(existing),
        };
        self.keep(&key, false)?;
        let info = key.info();
        table.insert(key, false);
        Ok(info)
    }

    async fn revoke(&self, tenant: &str, key_id: &str) -> Result<(), KeyError> {
        self.refresh()?;
        let mut table = self.table();
        table.check_enabled(tenant)?;
        if table.find(tenant, key_id).is_none() {
            return Err(KeyError::NoSuchKey);
        }
        self.write(|tx| {
            tx.execute(
                "DELETE FROM scim_api_keys WHERE tenant = ?1 AND id = ?2",
                params![tenant, key_id],
            )?;
            Ok(())
        })?;
        table.revoke(tenant, key_id)
    }

    async fn keys(&self, tenant: &str) -> Result<Vec<KeyInfo>, KeyError> {
        self.refresh()?;
        Ok(self.read().keys(tenant))
    }

    async fn verify(&self, token: &str) -> Option<Caller> {
        // The file is asked at most every RECHECK: each ask costs a request as much as
        // the rest of its authentication. A key this copy cannot check is refused.
        let now = self.opened.elapsed().as_millis() as u64 + 1;
        let last = self.checked.load(Ordering::Relaxed);
        if last == 0 || now.saturating_sub(last) >= SqliteKeyStore::RECHECK.as_millis() as u64 {
            self.checked.store(now, Ordering::Relaxed);
            self.refresh().ok()?;
        }
        self.read().verify(token)
    }
}
