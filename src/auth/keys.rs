//! API keys per tenant: SCIM enabled or disabled for a tenant with its settings, keys
//! generated from the operating system's random source and shown once, kept only as
//! SHA-256 digests, checked in constant time, rotated and revoked.
//!
//! ```
//! use scimkit::auth::{Idp, KeyStore, MemoryKeyStore, TenantSettings};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let keys = MemoryKeyStore::new();
//! keys.enable("acme", TenantSettings::for_idp(Idp::Okta)).await?;
//! let key = keys.generate("acme").await?;
//! // Shown once: the store keeps a digest, and `Debug` hides the secret.
//! assert!(!format!("{key:?}").contains(key.secret()));
//! let caller = keys.verify(key.secret()).await.unwrap();
//! assert_eq!(caller.tenant(), "acme");
//! assert_eq!(caller.settings().unwrap().idp, Idp::Okta);
//! let new = keys.rotate("acme").await?;
//! assert!(keys.verify(key.secret()).await.is_none()); // the old key fails at once
//! assert!(keys.verify(new.secret()).await.is_some());
//! # Ok::<(), scimkit::auth::KeyError>(())
//! # }).unwrap();
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq;

use super::{bearer, digest, Authenticator, Caller, TenantSettings};

/// A key just generated: the only time its secret is available.
pub struct NewKey {
    tenant: String,
    id: String,
    secret: String,
}

impl NewKey {
    /// The tenant the key is for.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The key's public identifier (part of the secret, safe to list and log).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The bearer token to give the identity provider. Show it once; it cannot be read
    /// back from the store.
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for NewKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewKey")
            .field("tenant", &self.tenant)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// What a key store says about a key, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key's public identifier.
    pub id: String,
    /// When it was generated.
    pub created: DateTime<Utc>,
}

/// Why a key operation was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// SCIM is not enabled for the tenant.
    #[error("SCIM is not enabled for this tenant")]
    NotEnabled,
    /// No key with this id.
    #[error("no such key")]
    NoSuchKey,
    /// A key of the application's own is too short to be a secret (16 characters at least).
    #[error("a key must have at least 16 characters")]
    TooShort,
    /// The secret is already another tenant's key.
    #[error("this key belongs to another tenant")]
    Taken,
    /// The store behind the keys failed.
    #[error("the key store is unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Tenants' SCIM switches, settings and API keys. [`MemoryKeyStore`] keeps them in
/// memory; `SqliteKeyStore` (feature `sqlite`) in a database. A key store shared in an
/// `Arc` authenticates requests (it is an [`Authenticator`]): a valid key of an enabled
/// tenant gives a [`Caller`] with the tenant's settings and the key's id as its subject,
/// so the application keeps one handle to manage keys and gives the service another.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Turns SCIM on for a tenant with these settings, or changes the settings of an
    /// enabled tenant (its keys stay as they are).
    async fn enable(&self, tenant: &str, settings: TenantSettings) -> Result<(), KeyError>;
    /// Turns SCIM off for a tenant: its keys stop working at once and are forgotten.
    async fn disable(&self, tenant: &str) -> Result<(), KeyError>;
    /// The settings of an enabled tenant; `None` when SCIM is off for it.
    async fn settings(&self, tenant: &str) -> Result<Option<TenantSettings>, KeyError>;
    /// A new key for an enabled tenant, beside its existing ones.
    async fn generate(&self, tenant: &str) -> Result<NewKey, KeyError>;
    /// A new key that replaces every existing key of the tenant, which fail at once.
    async fn rotate(&self, tenant: &str) -> Result<NewKey, KeyError>;
    /// Accepts a secret the application made itself (a deployment's configured token) as
    /// a key of the tenant; only its digest is kept. Adding the same secret again is a
    /// no-op that gives the same key.
    async fn add(&self, tenant: &str, secret: &str) -> Result<KeyInfo, KeyError>;
    /// Revokes one key.
    async fn revoke(&self, tenant: &str, key_id: &str) -> Result<(), KeyError>;
    /// The tenant's keys, without secrets.
    async fn keys(&self, tenant: &str) -> Result<Vec<KeyInfo>, KeyError>;
    /// The caller a bearer token names, when it is a live key of an enabled tenant.
    async fn verify(&self, token: &str) -> Option<Caller>;
}

#[async_trait]
impl<K: KeyStore + ?Sized> Authenticator for Arc<K> {
    async fn authenticate(&self, request: &http::request::Parts) -> Option<Caller> {
        self.verify(bearer(request)?).await
    }
}

/// A generated key is `scim_{id}_{secret}`: the id finds the record, the whole token is
/// hashed.
const PREFIX: &str = "scim_";

/// A key as stored: never its secret.
#[derive(Clone)]
pub(crate) struct StoredKey {
    pub(crate) id: String,
    pub(crate) tenant: String,
    pub(crate) digest: [u8; 32],
    pub(crate) created: DateTime<Utc>,
}

impl StoredKey {
    pub(crate) fn info(&self) -> KeyInfo {
        KeyInfo {
            id: self.id.clone(),
            created: self.created,
        }
    }
}

/// The id of a key the application made: taken from its digest, since its text has no
/// id of ours in it.
fn id_of_added(digest: &[u8; 32]) -> String {
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// The id a presented token's record would have.
pub(crate) fn id_of_token(token: &str) -> Option<String> {
    match token.strip_prefix(PREFIX) {
        Some(rest) => rest.split('_').next().map(str::to_owned),
        None => Some(id_of_added(&digest(token))),
    }
}

/// A fresh key for `tenant`: the record to keep and the secret to show.
pub(crate) fn mint(tenant: &str) -> (StoredKey, NewKey) {
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    // Two v4 UUIDs: 244 bits from the operating system's CSPRNG.
    let secret = format!(
        "{PREFIX}{id}_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let stored = StoredKey {
        id: id.clone(),
        tenant: tenant.to_owned(),
        digest: digest(&secret),
        created: DateTime::<Utc>::from(std::time::SystemTime::now()),
    };
    let new = NewKey {
        tenant: tenant.to_owned(),
        id,
        secret,
    };
    (stored, new)
}

/// The record of a secret the application made.
pub(crate) fn adopted(tenant: &str, secret: &str) -> Result<StoredKey, KeyError> {
    if secret.chars().count() < 16 {
        return Err(KeyError::TooShort);
    }
    let id = id_of_token(secret).ok_or(KeyError::TooShort)?;
    Ok(StoredKey {
        id,
        tenant: tenant.to_owned(),
        digest: digest(secret),
        created: DateTime::<Utc>::from(std::time::SystemTime::now()),
    })
}

/// What [`KeyTable::adopt`] found.
pub(crate) enum Adopted {
    /// A key to keep.
    New(StoredKey),
    /// The tenant has this key already.
    Known(KeyInfo),
}

/// Tenants and keys in memory: what [`MemoryKeyStore`] is, and what `SqliteKeyStore`
/// answers from (it writes through to its database).
#[derive(Default)]
pub(crate) struct KeyTable {
    /// Enabled tenants' settings.
    tenants: HashMap<String, Arc<TenantSettings>>,
    /// Keys by id.
    keys: HashMap<String, StoredKey>,
}

impl KeyTable {
    pub(crate) fn enable(&mut self, tenant: &str, settings: TenantSettings) {
        self.tenants.insert(tenant.to_owned(), Arc::new(settings));
    }

    pub(crate) fn disable(&mut self, tenant: &str) {
        self.tenants.remove(tenant);
        self.keys.retain(|_, k| k.tenant != tenant);
    }

    pub(crate) fn settings(&self, tenant: &str) -> Option<TenantSettings> {
        self.tenants.get(tenant).map(|s| (**s).clone())
    }

    pub(crate) fn check_enabled(&self, tenant: &str) -> Result<(), KeyError> {
        match self.tenants.contains_key(tenant) {
            true => Ok(()),
            false => Err(KeyError::NotEnabled),
        }
    }

    /// A fresh key for an enabled `tenant`, with an id no other key has.
    pub(crate) fn mint(&self, tenant: &str) -> Result<(StoredKey, NewKey), KeyError> {
        self.check_enabled(tenant)?;
        loop {
            let (stored, new) = mint(tenant);
            if !self.keys.contains_key(&stored.id) {
                return Ok((stored, new));
            }
        }
    }

    /// The record of a secret the application made, or the key it already is.
    pub(crate) fn adopt(&self, tenant: &str, secret: &str) -> Result<Adopted, KeyError> {
        self.check_enabled(tenant)?;
        let key = adopted(tenant, secret)?;
        match self.keys.get(&key.id) {
            None => Ok(Adopted::New(key)),
            Some(existing) if existing.tenant == tenant && existing.digest == key.digest => {
                Ok(Adopted::Known(existing.info()))
            }
            Some(_) => Err(KeyError::Taken),
        }
    }

    /// Keeps a key; with `replace_all`, every other key of its tenant goes.
    pub(crate) fn insert(&mut self, key: StoredKey, replace_all: bool) {
        if replace_all {
            self.keys.retain(|_, k| k.tenant != key.tenant);
        }
        self.keys.insert(key.id.clone(), key);
    }

    /// The key `key_id` of `tenant`, if it has it.
    pub(crate) fn find(&self, tenant: &str, key_id: &str) -> Option<&StoredKey> {
        self.keys.get(key_id).filter(|k| k.tenant == tenant)
    }

    pub(crate) fn revoke(&mut self, tenant: &str, key_id: &str) -> Result<(), KeyError> {
        self.check_enabled(tenant)?;
        self.find(tenant, key_id).ok_or(KeyError::NoSuchKey)?;
        self.keys.remove(key_id);
        Ok(())
    }

    pub(crate) fn keys(&self, tenant: &str) -> Vec<KeyInfo> {
        let mut keys: Vec<KeyInfo> = self
            .keys
            .values()
            .filter(|k| k.tenant == tenant)
            .map(StoredKey::info)
            .collect();
        keys.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
        keys
    }

    pub(crate) fn verify(&self, token: &str) -> Option<Caller> {
        let key = self.keys.get(&id_of_token(token)?)?;
        // The digest is compared in constant time; the id is public.
        if !bool::from(key.digest.ct_eq(&digest(token))) {
            return None;
        }
        let settings = self.tenants.get(&key.tenant)?;
        Some(
            Caller::new(key.tenant.clone())
                .with_subject(key.id.clone())
                .with_settings(Arc::clone(settings)),
        )
    }
}

/// A [`KeyStore`] in memory.
#[derive(Default)]
pub struct MemoryKeyStore {
    table: RwLock<KeyTable>,
}

impl fmt::Debug for MemoryKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let table = self.read();
        f.debug_struct("MemoryKeyStore")
            .field("tenants", &table.tenants.len())
            .field("keys", &table.keys.len())
            .finish_non_exhaustive()
    }
}

impl MemoryKeyStore {
    /// An empty store: SCIM enabled for no tenant.
    pub fn new() -> MemoryKeyStore {
        MemoryKeyStore::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, KeyTable> {
        self.table
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, KeyTable> {
        self.table
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn new_key(&self, tenant: &str, replace_all: bool) -> Result<NewKey, KeyError> {
        let mut table = self.write();
        let (stored, new) = table.mint(tenant)?;
        table.insert(stored, replace_all);
        Ok(new)
    }
}

#[async_trait]
impl KeyStore for MemoryKeyStore {
    async fn enable(&self, tenant: &str, settings: TenantSettings) -> Result<(), KeyError> {
        self.write().enable(tenant, settings);
        Ok(())
    }

    async fn disable(&self, tenant: &str) -> Result<(), KeyError> {
        self.write().disable(tenant);
        Ok(())
    }

    async fn settings(&self, tenant: &str) -> Result<Option<TenantSettings>, KeyError> {
        Ok(self.read().settings(tenant))
    }

    async fn generate(&self, tenant: &str) -> Result<NewKey, KeyError> {
        self.new_key(tenant, false)
    }

    async fn rotate(&self, tenant: &str) -> Result<NewKey, KeyError> {
        self.new_key(tenant, true)
    }

    async fn add(&self, tenant: &str, secret: &str) -> Result<KeyInfo, KeyError> {
        let mut table = self.write();
        let key = match table.adopt(tenant, secret)? {
            Adopted::New(key) => key,
            Adopted::Known(existing) => return Ok(existing),
        };
        let info = key.info();
        table.insert(key, false);
        Ok(info)
    }

    async fn revoke(&self, tenant: &str, key_id: &str) -> Result<(), KeyError> {
        self.write().revoke(tenant, key_id)
    }

    async fn keys(&self, tenant: &str) -> Result<Vec<KeyInfo>, KeyError> {
        Ok(self.read().keys(tenant))
    }

    async fn verify(&self, token: &str) -> Option<Caller> {
        self.read().verify(token)
    }
}
