//! API keys per tenant: SCIM enabled or disabled for a tenant, keys generated from the
//! operating system's random source and shown once, kept only as SHA-256 digests, checked
//! in constant time, rotated and revoked.
//!
//! ```
//! use scimkit::service::{KeyStore, MemoryKeyStore};
//!
//! let keys = MemoryKeyStore::new();
//! keys.enable("acme");
//! let key = keys.generate("acme").unwrap();
//! // Shown once: the store keeps a digest, and `Debug` hides the secret.
//! assert!(!format!("{key:?}").contains(key.secret()));
//! assert_eq!(keys.verify(key.secret()).as_deref(), Some("acme"));
//! let new = keys.rotate("acme").unwrap();
//! assert_eq!(keys.verify(key.secret()), None); // the old key fails at once
//! assert_eq!(keys.verify(new.secret()).as_deref(), Some("acme"));
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::RwLock;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::auth::{bearer, Authenticator};

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
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// SCIM is not enabled for the tenant.
    #[error("SCIM is not enabled for this tenant")]
    NotEnabled,
    /// No key with this id.
    #[error("no such key")]
    NoSuchKey,
}

/// Tenants' SCIM switches and API keys. Implement it over the application's database;
/// [`MemoryKeyStore`] keeps them in memory. A key store shared in an `Arc` authenticates
/// requests (it is an [`Authenticator`]): a valid key of an enabled tenant gives that
/// tenant, so the application keeps one handle to manage keys and gives the service another.
pub trait KeyStore: Send + Sync {
    /// Turns SCIM on for a tenant (keys generated before stay revoked).
    fn enable(&self, tenant: &str);
    /// Turns SCIM off for a tenant: its keys stop working at once and are forgotten.
    fn disable(&self, tenant: &str);
    /// A new key for an enabled tenant, beside its existing ones.
    fn generate(&self, tenant: &str) -> Result<NewKey, KeyError>;
    /// A new key that replaces every existing key of the tenant, which fail at once.
    fn rotate(&self, tenant: &str) -> Result<NewKey, KeyError>;
    /// Revokes one key.
    fn revoke(&self, tenant: &str, key_id: &str) -> Result<(), KeyError>;
    /// The tenant's keys, without secrets.
    fn keys(&self, tenant: &str) -> Vec<KeyInfo>;
    /// The tenant a bearer token belongs to, when it is a live key of an enabled tenant.
    fn verify(&self, token: &str) -> Option<String>;
}

/// A [`KeyStore`] in memory.
#[derive(Default)]
pub struct MemoryKeyStore {
    tenants: RwLock<HashMap<String, Vec<Stored>>>,
}

struct Stored {
    id: String,
    digest: [u8; 32],
    created: DateTime<Utc>,
}

impl fmt::Debug for MemoryKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tenants = self.tenants.read().map(|t| t.len()).unwrap_or(0);
        f.debug_struct("MemoryKeyStore")
            .field("tenants", &tenants)
            .finish_non_exhaustive()
    }
}

/// A key is `scim_{id}_{secret}`: the id finds the record, the whole token is hashed.
const PREFIX: &str = "scim_";

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn random_hex() -> String {
    // v4 UUIDs take 122 bits from the operating system's CSPRNG.
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl MemoryKeyStore {
    /// An empty store: SCIM enabled for no tenant.
    pub fn new() -> MemoryKeyStore {
        MemoryKeyStore::default()
    }

    fn tenants(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Vec<Stored>>> {
        self.tenants
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn mint(tenant: &str, keys: &mut Vec<Stored>) -> NewKey {
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let secret = format!("{PREFIX}{id}_{}", random_hex());
        keys.push(Stored {
            id: id.clone(),
            digest: digest(&secret),
            created: DateTime::<Utc>::from(std::time::SystemTime::now()),
        });
        NewKey {
            tenant: tenant.to_owned(),
            id,
            secret,
        }
    }
}

impl KeyStore for MemoryKeyStore {
    fn enable(&self, tenant: &str) {
        self.tenants().entry(tenant.to_owned()).or_default();
    }

    fn disable(&self, tenant: &str) {
        self.tenants().remove(tenant);
    }

    fn generate(&self, tenant: &str) -> Result<NewKey, KeyError> {
        let mut tenants = self.tenants();
        let keys = tenants.get_mut(tenant).ok_or(KeyError::NotEnabled)?;
        Ok(MemoryKeyStore::mint(tenant, keys))
    }

    fn rotate(&self, tenant: &str) -> Result<NewKey, KeyError> {
        let mut tenants = self.tenants();
        let keys = tenants.get_mut(tenant).ok_or(KeyError::NotEnabled)?;
        keys.clear();
        Ok(MemoryKeyStore::mint(tenant, keys))
    }

    fn revoke(&self, tenant: &str, key_id: &str) -> Result<(), KeyError> {
        let mut tenants = self.tenants();
        let keys = tenants.get_mut(tenant).ok_or(KeyError::NotEnabled)?;
        let before = keys.len();
        keys.retain(|k| k.id != key_id);
        if keys.len() == before {
            return Err(KeyError::NoSuchKey);
        }
        Ok(())
    }

    fn keys(&self, tenant: &str) -> Vec<KeyInfo> {
        let tenants = self
            .tenants
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tenants
            .get(tenant)
            .map(|keys| {
                keys.iter()
                    .map(|k| KeyInfo {
                        id: k.id.clone(),
                        created: k.created,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn verify(&self, token: &str) -> Option<String> {
        let id = token.strip_prefix(PREFIX)?.split('_').next()?;
        let wanted = digest(token);
        let tenants = self
            .tenants
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Every key with this id is compared (ids are random, so there is one), in
        // constant time; which tenant holds it is not revealed by timing.
        let mut found = None;
        for (tenant, keys) in tenants.iter() {
            for key in keys.iter().filter(|k| k.id == id) {
                if bool::from(key.digest.ct_eq(&wanted)) {
                    found = Some(tenant.clone());
                }
            }
        }
        found
    }
}

#[async_trait]
impl<K: KeyStore + ?Sized> Authenticator for std::sync::Arc<K> {
    async fn authenticate(&self, request: &http::request::Parts) -> Option<String> {
        self.verify(bearer(request)?)
    }
}
