//! Tenants and API keys in PostgreSQL: every replica reads the database on every request,
//! so a key rotated or revoked, or a tenant disabled, on one replica fails on all of them
//! at once.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use deadpool_postgres::{Object, Pool, Transaction};
use subtle::ConstantTimeEq;
use tokio_postgres::types::Json;

use super::keys::{adopted, id_of_token, mint, StoredKey};
use super::{digest, Caller, KeyError, KeyInfo, KeyStore, NewKey, TenantSettings};

/// A [`KeyStore`] in a PostgreSQL database (the tables `scim_tenants` and
/// `scim_api_keys`, made by the same migrations as
/// [`PostgresStore`](crate::store::PostgresStore)'s). It keeps nothing in memory: a
/// request's key is looked up by its id and its digest compared in constant time, so a
/// change made through any replica holds on every replica from its commit on.
///
/// ```no_run
/// use scimkit::auth::{Idp, KeyStore, PostgresKeyStore, TenantSettings};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let keys = PostgresKeyStore::connect("postgres://app@127.0.0.1/app").await?;
/// keys.enable("acme", TenantSettings::for_idp(Idp::Entra)).await?;
/// let key = keys.generate("acme").await?;
/// assert_eq!(keys.verify(key.secret()).await.unwrap().tenant(), "acme");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PostgresKeyStore {
    pool: Pool,
}

impl std::fmt::Debug for PostgresKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresKeyStore").finish_non_exhaustive()
    }
}

fn unavailable(err: impl std::error::Error + Send + Sync + 'static) -> KeyError {
    KeyError::Unavailable(Box::new(err))
}

impl PostgresKeyStore {
    /// Connects to the database at `url` (as
    /// [`PostgresStore::connect`](crate::store::PostgresStore::connect) does) and applies
    /// the migrations it lacks.
    pub async fn connect(url: &str) -> Result<PostgresKeyStore, KeyError> {
        let pool = crate::pg::pool(url).map_err(KeyError::Unavailable)?;
        let mut client = pool.get().await.map_err(unavailable)?;
        crate::pg::migrate(&mut client).await.map_err(unavailable)?;
        drop(client);
        Ok(PostgresKeyStore::new(pool))
    }

    /// A key store on `pool`, whose schema is up to date
    /// ([`PostgresStore::migrate`](crate::store::PostgresStore::migrate)).
    pub fn new(pool: Pool) -> PostgresKeyStore {
        PostgresKeyStore { pool }
    }

    /// The tenant, digest and settings of the key `id`.
    async fn lookup(&self, id: &str) -> Result<Option<tokio_postgres::Row>, KeyError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "SELECT k.tenant, k.digest, t.settings
                 FROM scim_api_keys AS k JOIN scim_tenants AS t ON t.tenant = k.tenant
                 WHERE k.id = $1",
            )
            .await
            .map_err(unavailable)?;
        client
            .query_opt(&statement, &[&id])
            .await
            .map_err(unavailable)
    }

    async fn client(&self) -> Result<Object, KeyError> {
        self.pool.get().await.map_err(unavailable)
    }

    /// A new key for an enabled tenant; with `replace_all`, every other key of the tenant
    /// goes in the same transaction.
    async fn new_key(&self, tenant: &str, replace_all: bool) -> Result<NewKey, KeyError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(unavailable)?;
        lock_enabled(&tx, tenant).await?;
        if replace_all {
            tx.execute("DELETE FROM scim_api_keys WHERE tenant = $1", &[&tenant])
                .await
                .map_err(unavailable)?;
        }
        let new = loop {
            let (mut stored, new) = mint(tenant);
            if insert(&tx, &mut stored).await? {
                break new;
            }
        };
        tx.commit().await.map_err(unavailable)?;
        Ok(new)
    }
}

/// Locks the row of an enabled tenant until the transaction ends (its key changes happen
/// one after the other); [`KeyError::NotEnabled`] when SCIM is off for it.
async fn lock_enabled(tx: &Transaction<'_>, tenant: &str) -> Result<(), KeyError> {
    let found = tx
        .query_opt(
            "SELECT 1 FROM scim_tenants WHERE tenant = $1 FOR UPDATE",
            &[&tenant],
        )
        .await
        .map_err(unavailable)?;
    found.map(|_| ()).ok_or(KeyError::NotEnabled)
}

/// Keeps a key; `false` when its id is taken. Its time of creation is kept to the
/// microsecond, as PostgreSQL keeps it (so `key` says what a read gives back).
async fn insert(tx: &Transaction<'_>, key: &mut StoredKey) -> Result<bool, KeyError> {
    key.created = key.created.trunc_subsecs(6);
    let done = tx
        .execute(
            "INSERT INTO scim_api_keys (id, tenant, digest, created) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO NOTHING",
            &[&key.id, &key.tenant, &key.digest.as_slice(), &key.created],
        )
        .await
        .map_err(unavailable)?;
    Ok(done == 1)
}

#[async_trait]
impl KeyStore for PostgresKeyStore {
    async fn enable(&self, tenant: &str, settings: TenantSettings) -> Result<(), KeyError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO scim_tenants (tenant, settings) VALUES ($1, $2)
                 ON CONFLICT (tenant) DO UPDATE SET settings = excluded.settings",
                &[&tenant, &Json(&settings)],
            )
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn disable(&self, tenant: &str) -> Result<(), KeyError> {
        self.client()
            .await?
            .execute("DELETE FROM scim_tenants WHERE tenant = $1", &[&tenant])
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn settings(&self, tenant: &str) -> Result<Option<TenantSettings>, KeyError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT settings FROM scim_tenants WHERE tenant = $1",
                &[&tenant],
            )
            .await
            .map_err(unavailable)?;
        match row {
            None => Ok(None),
            Some(row) => {
                let Json(settings) = row.try_get(0).map_err(unavailable)?;
                Ok(Some(settings))
            }
        }
    }

    async fn generate(&self, tenant: &str) -> Result<NewKey, KeyError> {
        self.new_key(tenant, false).await
    }

    async fn rotate(&self, tenant: &str) -> Result<NewKey, KeyError> {
        self.new_key(tenant, true).await
    }

    async fn add(&self, tenant: &str, secret: &str) -> Result<KeyInfo, KeyError> {
        let mut key = adopted(tenant, secret)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(unavailable)?;
        lock_enabled(&tx, tenant).await?;
        if !insert(&tx, &mut key).await? {
            let row = tx
                .query_one(
                    "SELECT tenant, digest, created FROM scim_api_keys WHERE id = $1",
                    &[&key.id],
                )
                .await
                .map_err(unavailable)?;
            let owner: &str = row.get(0);
            let digest: &[u8] = row.get(1);
            if owner != tenant || digest != key.digest {
                return Err(KeyError::Taken);
            }
            return Ok(KeyInfo {
                id: key.id,
                created: row.get(2),
            });
        }
        tx.commit().await.map_err(unavailable)?;
        Ok(key.info())
    }

    async fn revoke(&self, tenant: &str, key_id: &str) -> Result<(), KeyError> {
        if self.settings(tenant).await?.is_none() {
            return Err(KeyError::NotEnabled);
        }
        let done = self
            .client()
            .await?
            .execute(
                "DELETE FROM scim_api_keys WHERE tenant = $1 AND id = $2",
                &[&tenant, &key_id],
            )
            .await
            .map_err(unavailable)?;
        match done {
            0 => Err(KeyError::NoSuchKey),
            _ => Ok(()),
        }
    }

    async fn keys(&self, tenant: &str) -> Result<Vec<KeyInfo>, KeyError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT id, created FROM scim_api_keys WHERE tenant = $1 ORDER BY created, id",
                &[&tenant],
            )
            .await
            .map_err(unavailable)?;
        Ok(rows
            .iter()
            .map(|r| KeyInfo {
                id: r.get(0),
                created: r.get::<_, DateTime<Utc>>(1),
            })
            .collect())
    }

    async fn verify(&self, token: &str) -> Option<Caller> {
        let id = id_of_token(token)?;
        let row = match self.lookup(&id).await {
            Ok(row) => row?,
            Err(err) => {
                // The caller is refused; the operator learns why.
                #[cfg(feature = "tracing")]
                tracing::error!(error = %err, "API keys could not be read: the request is refused");
                #[cfg(not(feature = "tracing"))]
                let _ = err;
                return None;
            }
        };
        let stored: &[u8] = row.get(1);
        // The digest is compared in constant time; the id is public.
        if !bool::from(stored.ct_eq(&digest(token))) {
            return None;
        }
        let Json(settings): Json<TenantSettings> = row.try_get(2).ok()?;
        Some(
            Caller::new(row.get::<_, String>(0))
                .with_subject(id)
                .with_settings(Arc::new(settings)),
        )
    }
}
