//! Authentication: who is calling, as a tenant.

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Turns a request's credentials into the tenant it acts for, or refuses it.
#[async_trait]
pub trait Authenticator: Send + Sync {
    /// The tenant the request is for, or `None` to answer `401`.
    async fn authenticate(&self, request: &http::request::Parts) -> Option<String>;
}

/// Tells which user the caller is, for `/Me` (RFC 7644 §3.11).
#[async_trait]
pub trait MeResolver: Send + Sync {
    /// The id of the `User` the request's subject is in `tenant`, or `None` when it is
    /// not one (answered `404`).
    async fn user_id(&self, tenant: &str, request: &http::request::Parts) -> Option<String>;
}

/// One bearer token for one tenant, kept only as its SHA-256 digest and compared in
/// constant time.
///
/// ```
/// use scimkit::service::BearerToken;
///
/// let auth = BearerToken::new("s3cr3t-token", "acme");
/// // The token itself is not kept, so it cannot leak through `Debug`.
/// assert!(!format!("{auth:?}").contains("s3cr3t"));
/// ```
#[derive(Clone)]
pub struct BearerToken {
    digest: [u8; 32],
    tenant: String,
}

impl BearerToken {
    /// Accepts `Authorization: Bearer {token}` for `tenant`.
    pub fn new(token: &str, tenant: impl Into<String>) -> BearerToken {
        BearerToken {
            digest: Sha256::digest(token.as_bytes()).into(),
            tenant: tenant.into(),
        }
    }

    /// Whether `token` is the token.
    pub fn verify(&self, token: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        bool::from(digest.ct_eq(&self.digest))
    }
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerToken")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
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

#[async_trait]
impl Authenticator for BearerToken {
    async fn authenticate(&self, request: &http::request::Parts) -> Option<String> {
        bearer(request)
            .filter(|token| self.verify(token))
            .map(|_| self.tenant.clone())
    }
}
