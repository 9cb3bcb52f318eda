//! A [`ResourceStore`] on PostgreSQL, for an application that runs as several replicas
//! on one database: every check is made by the database inside the write's transaction,
//! so replicas agree without talking to each other.
//!
//! - Resources are `jsonb` rows per tenant and resource type, numbered per scope (cursors
//!   name a scope's own numbers, never a global sequence).
//! - Uniqueness is a primary key over each scope's unique values: two replicas creating
//!   the same `userName` at once get one `201` and one `409`.
//! - A write locks the row it changes and checks `If-Match` against it: a stale version
//!   is `412` whichever replica wrote the newer one.
//! - A group's members are rows of their own, so a membership PATCH of a 100,000-member
//!   group touches the members it names.
//! - Filters and sorts are translated to SQL ([`crate::sql`], PostgreSQL dialect); what
//!   SQL cannot answer exactly is checked in memory over the rows the condition selects.
//! - Totals of unfiltered pages come from a counter kept in each write's transaction.
//!
//! The store keeps nothing of its own in memory: every read sees the database.
//!
//! ```no_run
//! use scimkit::store::{PostgresStore, ResourceStore, Scope, WriteOptions};
//! use serde_json::json;
//!
//! # async fn run() -> Result<(), scimkit::store::StoreError> {
//! // Connects, and brings the schema up to date.
//! let store = PostgresStore::connect("postgres://app@127.0.0.1/app").await?;
//! let scope = Scope::new("acme", "User");
//! let stored = store
//!     .create(&scope, json!({"id": "u1", "userName": "bjensen"}), WriteOptions::new())
//!     .await?;
//! assert_eq!(stored.version(), Some("W/\"1\""));
//! # Ok(())
//! # }
//! ```

use async_trait::async_trait;
use deadpool_postgres::{Pool, Transaction};
use serde_json::Value;
use tokio_postgres::types::ToSql;

use super::{
    set_version, version_tag, Document, MembersChanged, Page, Query, ResourceStore, Scope,
    StoreError, WriteOptions,
};
use crate::patch::{MemberChanges, MemberOp, NetChange};
use crate::pg::{classify, classify_pool, Class, Migration};
use crate::schema::UniqueValue;
use crate::store::split::{member_key, Split};

mod query;

/// A [`ResourceStore`] in a PostgreSQL database, on a pool of tokio-postgres
/// connections ([`deadpool_postgres::Pool`]).
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    /// (resource type, lower case; attribute) kept in the members table.
    split: Vec<(String, String)>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

/// How many times a transaction that lost a race (a deadlock, a serialization failure)
/// runs again before the client is told to try later.
const RETRIES: usize = 4;

/// A failure inside a transaction: the database's, or the store's verdict.
pub(crate) enum Failure {
    Db(tokio_postgres::Error),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(err: tokio_postgres::Error) -> Failure {
        Failure::Db(err)
    }
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Failure {
        Failure::Store(err)
    }
}

/// A failure as a [`StoreError`], by its class.
fn by_class<E: std::error::Error + Send + Sync + 'static>(class: Class, err: E) -> StoreError {
    match class {
        Class::Retry | Class::Unavailable => StoreError::unavailable(err),
        Class::Unstorable => StoreError::Unstorable(err.to_string()),
        Class::Internal => StoreError::internal(err),
    }
}

/// A database failure as a [`StoreError`].
pub(crate) fn db(err: tokio_postgres::Error) -> StoreError {
    by_class(classify(&err), err)
}

/// A failure to get a connection as a [`StoreError`].
pub(crate) fn pool_failed(err: deadpool_postgres::PoolError) -> StoreError {
    by_class(classify_pool(&err), err)
}

impl From<Failure> for StoreError {
    fn from(failure: Failure) -> StoreError {
        match failure {
            Failure::Db(err) => db(err),
            Failure::Store(err) => err,
        }
    }
}

/// Runs the body — an expression using `$tx: &Transaction` — in a transaction, again when
/// it lost a race, and commits.
macro_rules! transaction {
    ($self:ident, |$tx:ident| $body:expr) => {{
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut client = $self.pool.get().await.map_err(pool_failed)?;
            let tx = client.transaction().await.map_err(db)?;
            let outcome: Result<_, Failure> = async {
                let $tx: &Transaction<'_> = &tx;
                $body
            }
            .await;
            let outcome = match outcome {
                Ok(value) => tx.commit().await.map(|()| value).map_err(Failure::Db),
                Err(failure) => Err(failure),
            };
            match outcome {
                Err(Failure::Db(err)) if classify(&err) == Class::Retry && attempt < RETRIES => {
                    #[cfg(feature = "tracing")]
                    tracing::debug!(attempt, error = %err, "a PostgreSQL transaction lost a race; run again");
                    continue;
                }
                other => break other.map_err(StoreError::from),
            }
        }
    }};
}

impl PostgresStore {
    /// The schema's migrations, in order, for an application that applies them with its
    /// own tool (each once, in a transaction); [`migrate`](Self::migrate) does the same.
    pub const MIGRATIONS: &'static [Migration] = crate::pg::MIGRATIONS;

    /// Connects to the database at `url` (a `postgres://` URL or `key=value` settings,
    /// as [`tokio_postgres::Config`] reads them; a pool of up to 16 connections, without
    /// TLS) and applies the migrations it lacks.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let pool = crate::pg::pool(url).map_err(StoreError::Unavailable)?;
        PostgresStore::migrate(&pool).await?;
        Ok(PostgresStore::new(pool))
    }

    /// A store on the application's own pool. The schema must be up to date: call
    /// [`migrate`](Self::migrate) first, or apply [`MIGRATIONS`](Self::MIGRATIONS) with
    /// the application's migration tool.
    pub fn new(pool: Pool) -> PostgresStore {
        PostgresStore {
            pool,
            split: vec![("group".into(), "members".into())],
        }
    }

    /// Applies the migrations the database lacks (its `scimkit_migrations` table says
    /// which), in one transaction under an advisory lock: safe when several replicas start
    /// at once, and a no-op when the schema is up to date. Tables are created in the
    /// connection's `search_path`.
    pub async fn migrate(pool: &Pool) -> Result<(), StoreError> {
        let mut client = pool.get().await.map_err(pool_failed)?;
        crate::pg::migrate(&mut client).await.map_err(db)
    }

    /// The pool the store uses.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Brings the planner's statistics up to date, in a task of its own: a table the
    /// planner knows nothing of tempts it to walk a whole scope for a lookup by id, and
    /// the database's autovacuum (which would analyze it) may be off.
    fn refresh_statistics(&self) {
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let Ok(client) = pool.get().await else { return };
            let done = client
                .batch_execute("ANALYZE scim_resources, scim_unique_values, scim_members")
                .await;
            #[cfg(feature = "tracing")]
            if let Err(err) = done {
                tracing::warn!(error = %err, "the PostgreSQL store could not refresh its statistics");
            }
            #[cfg(not(feature = "tracing"))]
            let _ = done;
        });
    }

    /// The attribute of `scope`'s resource type kept in the members table.
    fn split_attribute(&self, scope: &Scope<'_>) -> Option<&str> {
        self.split
            .iter()
            .find(|(t, _)| t.eq_ignore_ascii_case(scope.resource_type))
            .map(|(_, a)| a.as_str())
    }
}

/// Runs a statement (prepared once per connection); how many rows it changed.
async fn exec(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, tokio_postgres::Error> {
    let statement = tx.prepare_cached(sql).await?;
    tx.execute(&statement, params).await
}

/// Runs a statement (prepared once per connection); the rows it returns.
async fn rows(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
    let statement = tx.prepare_cached(sql).await?;
    tx.query(&statement, params).await
}

/// Adds members to the resource `seq` (those it has already stay as they are); returns
/// the values added.
async fn insert_members(
    tx: &Transaction<'_>,
    tenant: &str,
    ty: &str,
    seq: i64,
    (keys, members): &(Vec<String>, Vec<String>),
) -> Result<Vec<String>, tokio_postgres::Error> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let added = rows(
        tx,
        "INSERT INTO scim_members (tenant, type, seq, value, member)
         SELECT $1, $2, $3, u.value, u.member::jsonb
         FROM unnest($4::text[], $5::text[]) WITH ORDINALITY AS u (value, member, n)
         ORDER BY u.n
         ON CONFLICT DO NOTHING
         RETURNING value",
        &[&tenant, &ty, &seq, keys, members],
    )
    .await?;
    Ok(added.iter().map(|r| r.get(0)).collect())
}

/// Claims the unique values for the resource `seq`; the path of the first one another
/// resource holds is a conflict.
async fn insert_unique(
    tx: &Transaction<'_>,
    tenant: &str,
    ty: &str,
    seq: i64,
    unique: &[UniqueValue],
) -> Result<(), Failure> {
    if unique.is_empty() {
        return Ok(());
    }
    // In one order, so that two writes claiming the same values wait rather than deadlock.
    let mut keys: Vec<((String, String), &str)> =
        unique.iter().map(|u| (u.key(), u.path.as_str())).collect();
    keys.sort();
    keys.dedup_by(|a, b| a.0 == b.0);
    let (paths, values): (Vec<String>, Vec<String>) = keys.iter().map(|(k, _)| k.clone()).unzip();
    let claimed: Vec<(String, String)> = rows(
        tx,
        "INSERT INTO scim_unique_values (tenant, type, path, key, seq)
         SELECT $1, $2, u.path, u.key, $3 FROM unnest($4::text[], $5::text[]) AS u (path, key)
         ON CONFLICT DO NOTHING
         RETURNING path, key",
        &[&tenant, &ty, &seq, &paths, &values],
    )
    .await?
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    if claimed.len() == keys.len() {
        return Ok(());
    }
    let taken = keys
        .iter()
        .find(|(k, _)| !claimed.contains(k))
        .map_or("a unique value", |(_, path)| path);
    Err(StoreError::Conflict(taken.to_owned()).into())
}

/// The row of an id, with its version, locked until the transaction ends.
async fn locate(
    tx: &Transaction<'_>,
    tenant: &str,
    ty: &str,
    id: &str,
) -> Result<(i64, i64), Failure> {
    let found = rows(
        tx,
        "SELECT seq, version FROM scim_resources WHERE tenant = $1 AND type = $2 AND id = $3 FOR UPDATE",
        &[&tenant, &ty, &id],
    )
    .await?;
    let row = found.first().ok_or(Failure::Store(StoreError::NotFound))?;
    Ok((row.get(0), row.get(1)))
}

/// Whether a scope has just reached 1,024 resources, or four times as many as when it last
/// did: when the store refreshes the planner's statistics.
fn grew_fourfold(seq: i64) -> bool {
    seq >= 1024 && (seq as u64).is_power_of_two() && seq.trailing_zeros() % 2 == 0
}

fn tag(version: i64) -> String {
    version_tag(version as u64)
}

/// Whether a value holds a character PostgreSQL cannot keep in `jsonb` (NUL): such a
/// write is refused before it reaches the database.
fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(obj) => obj.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

fn storable(resource: &Value) -> Result<(), StoreError> {
    match has_nul(resource) {
        true => Err(StoreError::Unstorable(
            "a value holds a NUL character".into(),
        )),
        false => Ok(()),
    }
}

#[async_trait]
impl ResourceStore for PostgresStore {
    async fn create(
        &self,
        scope: &Scope<'_>,
        mut resource: Value,
        options: WriteOptions,
    ) -> Result<Document, StoreError> {
        storable(&resource)?;
        let id = resource
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| StoreError::internal("a resource to store needs an id"))?;
        let ty = scope.resource_type.to_ascii_lowercase();
        let tenant = scope.tenant;
        set_version(&mut resource, &tag(1));
        let split = Split::take(self.split_attribute(scope), &mut resource);
        let members = split.columns();
        let seq = transaction!(self, |tx| {
            let counted = rows(
                tx,
                "INSERT INTO scim_scopes (tenant, type, last_seq, n) VALUES ($1, $2, 1, 1)
                 ON CONFLICT (tenant, type)
                 DO UPDATE SET last_seq = scim_scopes.last_seq + 1, n = scim_scopes.n + 1
                 RETURNING last_seq",
                &[&tenant, &ty],
            )
            .await?;
            let seq: i64 = counted[0].get(0);
            let inserted = exec(
                tx,
                "INSERT INTO scim_resources (tenant, type, seq, id, version, doc)
                 VALUES ($1, $2, $3, $4, 1, $5)
                 ON CONFLICT (tenant, type, id) DO NOTHING",
                &[&tenant, &ty, &seq, &id, &resource],
            )
            .await?;
            if inserted == 0 {
                return Err(StoreError::Conflict("id".into()).into());
            }
            insert_unique(tx, tenant, &ty, seq, &options.unique).await?;
            insert_members(tx, tenant, &ty, seq, &members).await?;
            Ok(seq)
        })?;
        if grew_fourfold(seq) {
            self.refresh_statistics();
        }
        split.restore(&mut resource);
        Ok(Document::new(resource))
    }

    async fn get(&self, scope: &Scope<'_>, id: &str) -> Result<Document, StoreError> {
        self.read_one(scope, id).await
    }

    async fn replace(
        &self,
        scope: &Scope<'_>,
        id: &str,
        mut resource: Value,
        options: WriteOptions,
    ) -> Result<Document, StoreError> {
        storable(&resource)?;
        let ty = scope.resource_type.to_ascii_lowercase();
        let tenant = scope.tenant;
        let attribute = self.split_attribute(scope);
        let split = Split::take(attribute, &mut resource);
        let members = split.columns();
        let version = transaction!(self, |tx| {
            let (seq, current) = locate(tx, tenant, &ty, id).await?;
            options.check_version(&tag(current))?;
            let version = current + 1;
            let mut doc = resource.clone();
            set_version(&mut doc, &tag(version));
            exec(
                tx,
                "DELETE FROM scim_unique_values WHERE tenant = $1 AND type = $2 AND seq = $3",
                &[&tenant, &ty, &seq],
            )
            .await?;
            insert_unique(tx, tenant, &ty, seq, &options.unique).await?;
            exec(
                tx,
                "UPDATE scim_resources SET version = $1, doc = $2
                 WHERE tenant = $3 AND type = $4 AND seq = $5",
                &[&version, &doc, &tenant, &ty, &seq],
            )
            .await?;
            if attribute.is_some() {
                exec(
                    tx,
                    "DELETE FROM scim_members WHERE tenant = $1 AND type = $2 AND seq = $3",
                    &[&tenant, &ty, &seq],
                )
                .await?;
                insert_members(tx, tenant, &ty, seq, &members).await?;
            }
            Ok(version)
        })?;
        set_version(&mut resource, &tag(version));
        split.restore(&mut resource);
        Ok(Document::new(resource))
    }

    async fn delete(
        &self,
        scope: &Scope<'_>,
        id: &str,
        options: WriteOptions,
    ) -> Result<(), StoreError> {
        let ty = scope.resource_type.to_ascii_lowercase();
        let tenant = scope.tenant;
        transaction!(self, |tx| {
            // The scope's counter first, as a create locks it: a create waiting on the
            // unique values this delete frees must not hold what the delete waits for.
            exec(
                tx,
                "UPDATE scim_scopes SET n = n - 1 WHERE tenant = $1 AND type = $2",
                &[&tenant, &ty],
            )
            .await?;
            let (seq, current) = locate(tx, tenant, &ty, id).await?;
            options.check_version(&tag(current))?;
            exec(
                tx,
                "DELETE FROM scim_resources WHERE tenant = $1 AND type = $2 AND seq = $3",
                &[&tenant, &ty, &seq],
            )
            .await?;
            Ok(())
        })
    }

    async fn query(&self, scope: &Scope<'_>, query: &Query<'_>) -> Result<Page, StoreError> {
        self.page(scope, query).await
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
        // Each step's rows, as arrays to bind.
        let mut steps: Vec<(bool, (Vec<String>, Vec<String>))> = Vec::new();
        for op in &changes.ops {
            match op {
                MemberOp::Add(items) => {
                    items.iter().try_for_each(storable)?;
                    let columns = items
                        .iter()
                        .filter_map(|i| Some((member_key(i)?.to_owned(), i.to_string())))
                        .unzip();
                    steps.push((true, columns));
                }
                MemberOp::Remove(keys) => steps.push((false, (keys.clone(), Vec::new()))),
            }
        }
        let ty = scope.resource_type.to_ascii_lowercase();
        let tenant = scope.tenant;
        let (version, net) = transaction!(self, |tx| {
            let (seq, current) = locate(tx, tenant, &ty, id).await?;
            options.check_version(&tag(current))?;
            let mut net = NetChange::default();
            for (add, columns) in &steps {
                if *add {
                    for key in insert_members(tx, tenant, &ty, seq, columns).await? {
                        net.added(&key);
                    }
                } else if !columns.0.is_empty() {
                    let gone = rows(
                        tx,
                        "DELETE FROM scim_members
                         WHERE tenant = $1 AND type = $2 AND seq = $3 AND value = ANY($4::text[])
                         RETURNING value",
                        &[&tenant, &ty, &seq, &columns.0],
                    )
                    .await?;
                    for row in &gone {
                        net.removed(row.get(0));
                    }
                }
            }
            if !net.changed() {
                return Ok((current, net));
            }
            let version = current + 1;
            exec(
                tx,
                "UPDATE scim_resources
                 SET version = $1,
                     doc = jsonb_set(jsonb_set(doc, '{meta,version}', to_jsonb($2::text)),
                                     '{meta,lastModified}', to_jsonb($3::text))
                 WHERE tenant = $4 AND type = $5 AND seq = $6",
                &[&version, &tag(version), &last_modified, &tenant, &ty, &seq],
            )
            .await?;
            Ok((version, net))
        })?;
        Ok(Some(MembersChanged {
            version: tag(version),
            net,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_are_refreshed_at_each_fourfold_growth() {
        let at: Vec<i64> = (1..=70_000).filter(|n| grew_fourfold(*n)).collect();
        assert_eq!(at, vec![1024, 4096, 16384, 65536]);
    }

    #[test]
    fn nul_characters_anywhere_are_refused() {
        assert!(storable(&serde_json::json!({"userName": "bjensen"})).is_ok());
        for bad in [
            serde_json::json!({"userName": "a\u{0}b"}),
            serde_json::json!({"emails": [{"value": "\u{0}"}]}),
            serde_json::json!({"a\u{0}": 1}),
        ] {
            assert!(
                matches!(storable(&bad), Err(StoreError::Unstorable(_))),
                "{bad}"
            );
        }
    }
}
