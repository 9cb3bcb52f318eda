//! Who is calling: tenants, their settings, and the credentials that name them.
//!
//! An [`Authenticator`] turns a request's credentials into a [`Caller`]: the tenant the
//! request acts for, who within it (a key id, a user), and the tenant's
//! [`TenantSettings`] — the identity provider it provisions from, what of that provider's
//! deviations is tolerated, what a `DELETE` does and what a `PATCH` answers. One service
//! serves every tenant; every store call carries the caller's tenant.
//!
//! [`BearerToken`] is one token for one tenant. A [`KeyStore`] — [`MemoryKeyStore`], or
//! (feature `sqlite`) `SqliteKeyStore`, or (feature `postgres`) `PostgresKeyStore` — keeps tenants and their API keys: keys are shown
//! once, kept as SHA-256 digests, compared in constant time, rotated and revoked.

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::compat::Compat;

mod keys;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use keys::{KeyError, KeyInfo, KeyStore, MemoryKeyStore, NewKey};
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::PostgresKeyStore;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::SqliteKeyStore;

/// Turns a request's credentials into the caller they name, or refuses them.
#[async_trait]
pub trait Authenticator: Send + Sync {
    /// The caller, or `None` to answer `401`.
    async fn authenticate(&self, request: &http::request::Parts) -> Option<Caller>;
}

#[async_trait]
impl<A: Authenticator + ?Sized> Authenticator for Box<A> {
    async fn authenticate(&self, request: &http::request::Parts) -> Option<Caller> {
        (**self).authenticate(request).await
    }
}

/// An authenticated caller: the tenant a request acts for, who within it, and the
/// tenant's settings (the service's defaults when it has none of its own).
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    tenant: String,
    subject: Option<String>,
    settings: Option<Arc<TenantSettings>>,
}

impl Caller {
    /// A caller acting for `tenant`, with the service's default settings.
    pub fn new(tenant: impl Into<String>) -> Caller {
        Caller {
            tenant: tenant.into(),
            subject: None,
            settings: None,
        }
    }

    /// Who the caller is within the tenant: an API key's id, a user's name. `/Me` resolvers
    /// read it.
    pub fn with_subject(mut self, subject: impl Into<String>) -> Caller {
        self.subject = Some(subject.into());
        self
    }

    /// The tenant's own settings, in place of the service's defaults.
    pub fn with_settings(mut self, settings: Arc<TenantSettings>) -> Caller {
        self.settings = Some(settings);
        self
    }

    /// The tenant.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// Who the caller is within the tenant, when the authenticator says.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// The tenant's own settings, when it has them.
    pub fn settings(&self) -> Option<&TenantSettings> {
        self.settings.as_deref()
    }
}

/// The identity provider a tenant provisions from, as an application's SCIM settings page
/// lets its customer choose it. [`TenantSettings::for_idp`] makes the provider's profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Idp {
    /// Microsoft Entra ID (Azure AD).
    Entra,
    /// Okta.
    Okta,
    /// JumpCloud.
    JumpCloud,
    /// OneLogin.
    OneLogin,
    /// Ping Identity.
    Ping,
    /// Google Workspace.
    Google,
    /// Any other SCIM client.
    #[default]
    Other,
}

impl Idp {
    /// Every provider, in the order a settings page would list them.
    pub const ALL: [Idp; 7] = [
        Idp::Entra,
        Idp::Okta,
        Idp::JumpCloud,
        Idp::OneLogin,
        Idp::Ping,
        Idp::Google,
        Idp::Other,
    ];

    /// The provider's name in lower case, as stored and parsed: `entra`, `okta`,
    /// `jumpcloud`, `onelogin`, `ping`, `google`, `other`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Idp::Entra => "entra",
            Idp::Okta => "okta",
            Idp::JumpCloud => "jumpcloud",
            Idp::OneLogin => "onelogin",
            Idp::Ping => "ping",
            Idp::Google => "google",
            Idp::Other => "other",
        }
    }
}

impl FromStr for Idp {
    type Err = UnknownIdp;

    /// A provider by its [`as_str`](Idp::as_str) name, in any case.
    fn from_str(s: &str) -> Result<Idp, UnknownIdp> {
        Idp::ALL
            .into_iter()
            .find(|idp| idp.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or(UnknownIdp)
    }
}

/// A name that is no [`Idp`]'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an identity provider this library knows")]
pub struct UnknownIdp;

/// What `DELETE` does to a resource that can be deactivated (one with `active`, a `User`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Deprovision {
    /// `DELETE` removes the resource (RFC 7644 §3.6).
    #[default]
    Delete,
    /// `DELETE` sets `active: false`: the user keeps its data, stays readable, and
    /// `active: true` reactivates it.
    Deactivate,
}

/// What a successful PATCH answers (RFC 7644 §3.5.2 allows either).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum PatchResponse {
    /// `200 OK` with the resource, subject to `attributes` (the default).
    #[default]
    Resource,
    /// `204 No Content` with the new `ETag`; the store need not be read again.
    NoContent,
}

/// A tenant's SCIM settings.
///
/// ```
/// use scimkit::auth::{Deprovision, Idp, PatchResponse, TenantSettings};
///
/// let entra = TenantSettings::for_idp(Idp::Entra);
/// assert_eq!(entra.patch_response, PatchResponse::NoContent);
/// let okta = TenantSettings::for_idp(Idp::Okta);
/// assert_eq!(okta.patch_response, PatchResponse::Resource);
/// // Settings are data: an application stores them with the tenant.
/// let json = serde_json::to_string(&okta).unwrap();
/// let back: TenantSettings = serde_json::from_str(&json).unwrap();
/// assert_eq!(back, okta);
/// # assert_eq!(back.deprovision, Deprovision::Delete);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct TenantSettings {
    /// The identity provider the tenant chose.
    pub idp: Idp,
    /// What deviations of the provider are tolerated.
    pub compat: Compat,
    /// What `DELETE` of a user does.
    pub deprovision: Deprovision,
    /// What a successful PATCH answers.
    pub patch_response: PatchResponse,
}

impl TenantSettings {
    /// The profile for `idp`: the lenient [`Compat`] (every provider's known deviations
    /// accepted), `DELETE` removing, and a PATCH answer the provider takes. Entra ID gets
    /// `204`, which Microsoft documents as fine for its provisioning service, so that its
    /// membership PATCHes of large groups cost only the change; every other provider gets
    /// the `200` with the resource that RFC 7644 §3.5.2 names first.
    pub fn for_idp(idp: Idp) -> TenantSettings {
        TenantSettings {
            idp,
            compat: Compat::lenient(),
            deprovision: Deprovision::Delete,
            patch_response: match idp {
                Idp::Entra => PatchResponse::NoContent,
                _ => PatchResponse::Resource,
            },
        }
    }
}

/// The tenant of an application that serves only one: what [`BearerToken::new`] acts
/// for.
pub const DEFAULT_TENANT: &str = "default";

/// One bearer token for one tenant, kept only as its SHA-256 digest and compared in
/// constant time.
///
/// ```
/// use scimkit::auth::{BearerToken, DEFAULT_TENANT};
///
/// // An application with one directory: the token's tenant is `default`.
/// let auth = BearerToken::new("s3cr3t-token-for-the-idp");
/// assert_eq!(auth.tenant(), DEFAULT_TENANT);
/// // The token itself is not kept, so it cannot leak through `Debug`.
/// assert!(!format!("{auth:?}").contains("s3cr3t"));
/// // One tenant of many.
/// assert_eq!(BearerToken::for_tenant("another-token", "acme").tenant(), "acme");
/// ```
#[derive(Clone)]
pub struct BearerToken {
    digest: [u8; 32],
    caller: Caller,
}

impl BearerToken {
    /// Accepts `Authorization: Bearer {token}` for the one tenant of an application that
    /// has one ([`DEFAULT_TENANT`]), with the service's default settings.
    pub fn new(token: &str) -> BearerToken {
        BearerToken::for_tenant(token, DEFAULT_TENANT)
    }

    /// Accepts `Authorization: Bearer {token}` for `tenant`, with the service's default
    /// settings.
    pub fn for_tenant(token: &str, tenant: impl Into<String>) -> BearerToken {
        BearerToken {
            digest: digest(token),
            caller: Caller::new(tenant),
        }
    }

    /// The tenant the token acts for.
    pub fn tenant(&self) -> &str {
        self.caller.tenant()
    }

    /// The same, for a caller of the application's making (with settings or a subject).
    pub fn for_caller(token: &str, caller: Caller) -> BearerToken {
        BearerToken {
            digest: digest(token),
            caller,
        }
    }

    /// Whether `token` is the token.
    pub fn verify(&self, token: &str) -> bool {
        bool::from(digest(token).ct_eq(&self.digest))
    }
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerToken")
            .field("tenant", &self.caller.tenant)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Authenticator for BearerToken {
    async fn authenticate(&self, request: &http::request::Parts) -> Option<Caller> {
        bearer(request)
            .filter(|token| self.verify(token))
            .map(|_| self.caller.clone())
    }
}

/// The SHA-256 digest of a secret.
pub(crate) fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The token of an `Authorization: Bearer …` header (the scheme in any case).
pub(crate) fn bearer(request: &http::request::Parts) -> Option<&str> {
    let value = request
        .headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}
