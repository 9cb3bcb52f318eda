//! [`ServiceBuilder`]: how a [`ScimService`] is configured, checked once by
//! [`build`](ServiceBuilder::build).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use http::Uri;

use super::{Clock, Inner, MeResolver, ScimService, ServiceLimits};
use crate::auth::{Authenticator, TenantSettings};
use crate::events::EventSink;
use crate::roles::RoleStore;
use crate::schema::Registry;
use crate::store::ResourceStore;

/// Configures a [`ScimService`]; [`ScimService::builder`] makes one.
///
/// ```
/// use scimkit::auth::{BearerToken, Idp, TenantSettings};
/// use scimkit::{MemoryStore, ScimService};
///
/// let service = ScimService::builder(MemoryStore::new())
///     .authenticator(BearerToken::new("a long random token"))
///     .base_url("https://app.example.com/scim/v2")
///     .tenant_defaults(TenantSettings::for_idp(Idp::Entra))
///     .build()?;
/// # Ok::<(), scimkit::service::BuildError>(())
/// ```
#[must_use = "a builder does nothing until built"]
pub struct ServiceBuilder {
    store: Arc<dyn ResourceStore>,
    auth: Option<Arc<dyn Authenticator>>,
    base_path: String,
    base_url: Option<String>,
    tenant_in_path: bool,
    registry: Registry,
    defaults: TenantSettings,
    limits: ServiceLimits,
    clock: Clock,
    events: Option<Arc<dyn EventSink>>,
    roles: Option<Arc<dyn RoleStore>>,
    me: Option<Arc<dyn MeResolver>>,
}

/// Why [`ServiceBuilder::build`] refused a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No [`authenticator`](ServiceBuilder::authenticator) was set: every request would
    /// be refused.
    #[error(
        "no authenticator: set one with `.authenticator(…)` — `BearerToken::new(token)` for \
         one tenant, a key store in an `Arc` for many"
    )]
    NoAuthenticator,
    /// The [`base_url`](ServiceBuilder::base_url) is not an absolute `http` or `https`
    /// URL without a query or fragment.
    #[error("base URL {url:?}: {reason}")]
    BaseUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The [`base_path`](ServiceBuilder::base_path) is not a URL path.
    #[error("base path {0:?} is not a URL path")]
    BasePath(String),
    /// The [`limits`](ServiceBuilder::limits) contradict each other.
    #[error("limits: {0}")]
    Limits(&'static str),
}

impl ServiceBuilder {
    pub(super) fn new(store: Arc<dyn ResourceStore>) -> ServiceBuilder {
        ServiceBuilder {
            store,
            auth: None,
            base_path: "/scim/v2".into(),
            base_url: None,
            tenant_in_path: false,
            registry: Registry::scim_default(),
            defaults: TenantSettings::default(),
            limits: ServiceLimits::default(),
            clock: Arc::new(|| DateTime::<Utc>::from(std::time::SystemTime::now())),
            events: None,
            roles: None,
            me: None,
        }
    }

    /// Who may call: [`BearerToken`](crate::auth::BearerToken) for one tenant and one
    /// token, a [`KeyStore`](crate::auth::KeyStore) in an `Arc` for tenants and their API
    /// keys, or an authenticator of the application's. Required.
    pub fn authenticator(mut self, auth: impl Authenticator + 'static) -> ServiceBuilder {
        self.auth = Some(Arc::new(auth));
        self
    }

    /// The path the service answers under, default `/scim/v2` (`/` for none). Requests
    /// may arrive with it (the service mounted at the root of an application) or without
    /// it (mounted under it by a framework that strips it, as axum's `nest_service` does);
    /// `meta.location` is made with it when no [`base_url`](Self::base_url) is set.
    pub fn base_path(mut self, path: impl Into<String>) -> ServiceBuilder {
        self.base_path = path.into();
        self
    }

    /// The absolute URL clients reach the service at, for `meta.location` and `Location`
    /// (with [`tenant_in_path`](Self::tenant_in_path), the tenant's segment follows it);
    /// by default it is made from the request's `Host` header and the base path.
    pub fn base_url(mut self, url: impl Into<String>) -> ServiceBuilder {
        self.base_url = Some(url.into());
        self
    }

    /// Whether the tenant is the first segment of every path (`/scim/v2/{tenant}/Users`),
    /// so that each tenant has a SCIM URL of its own. The caller's tenant must be that
    /// one. Default `false`: the tenant is the one the credentials name.
    pub fn tenant_in_path(mut self, in_path: bool) -> ServiceBuilder {
        self.tenant_in_path = in_path;
        self
    }

    /// The schemas and resource types. Default [`Registry::scim_default`].
    pub fn registry(mut self, registry: Registry) -> ServiceBuilder {
        self.registry = registry;
        self
    }

    /// The settings of callers whose tenant has none of its own (a
    /// [`Caller`](crate::auth::Caller) without settings, as
    /// [`BearerToken`](crate::auth::BearerToken) makes): the identity provider's profile,
    /// what is tolerated of it, what `DELETE` does and what PATCH answers. Default
    /// [`TenantSettings::default`]: lenient, `DELETE` removes, PATCH answers `200`.
    pub fn tenant_defaults(mut self, settings: TenantSettings) -> ServiceBuilder {
        self.defaults = settings;
        self
    }

    /// Request limits.
    pub fn limits(mut self, limits: ServiceLimits) -> ServiceBuilder {
        self.limits = limits;
        self
    }

    /// Where `meta.created` and `meta.lastModified` come from. Default the system clock.
    pub fn clock(
        mut self,
        clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static,
    ) -> ServiceBuilder {
        self.clock = Arc::new(clock);
        self
    }

    /// Where [`Event`](crate::events::Event)s go: every successful write and every failed
    /// request. Default: nowhere (and no work is spent on them).
    pub fn events(mut self, sink: impl EventSink + 'static) -> ServiceBuilder {
        self.events = Some(Arc::new(sink));
        self
    }

    /// Group-based roles: the rules and the users' effective roles live in `roles`, which
    /// the service keeps up to date after every write that can change a user's role (see
    /// [`crate::roles`]). Default: no roles.
    pub fn roles(mut self, roles: impl RoleStore + 'static) -> ServiceBuilder {
        self.roles = Some(Arc::new(roles));
        self
    }

    /// Serves `/Me` for the user `resolver` names. Without one, `/Me` answers `501`.
    pub fn me(mut self, resolver: impl MeResolver + 'static) -> ServiceBuilder {
        self.me = Some(Arc::new(resolver));
        self
    }

    /// The service, or why the configuration cannot serve.
    pub fn build(self) -> Result<ScimService, BuildError> {
        let auth = self.auth.ok_or(BuildError::NoAuthenticator)?;
        let base_path = base_path(&self.base_path)?;
        let base_url = self.base_url.as_deref().map(base_url).transpose()?;
        let limits = &self.limits;
        if limits.default_count > limits.max_count {
            return Err(BuildError::Limits("default_count is larger than max_count"));
        }
        if limits.max_body_bytes == 0 || limits.bulk_max_payload_bytes == 0 {
            return Err(BuildError::Limits("a body limit of 0 refuses every body"));
        }
        let render_key = self.registry.fingerprint();
        Ok(ScimService {
            inner: Arc::new(Inner {
                base_path,
                base_url,
                tenant_in_path: self.tenant_in_path,
                registry: self.registry,
                store: self.store,
                auth,
                defaults: self.defaults,
                limits: self.limits,
                clock: self.clock,
                events: self.events,
                roles: self.roles,
                me: self.me,
                render_key,
            }),
        })
    }
}

/// `/scim/v2` as it is compared with request paths: a leading `/`, no trailing one, and
/// empty for the root.
fn base_path(path: &str) -> Result<String, BuildError> {
    let trimmed = path.trim_matches('/');
    let valid = !path.contains(['?', '#', ' '])
        && trimmed
            .split('/')
            .all(|s| !s.is_empty() || trimmed.is_empty())
        && format!("/{trimmed}").parse::<Uri>().is_ok();
    if !valid {
        return Err(BuildError::BasePath(path.to_owned()));
    }
    Ok(match trimmed {
        "" => String::new(),
        t => format!("/{t}"),
    })
}

/// An absolute `http(s)` URL without a trailing `/`.
fn base_url(url: &str) -> Result<String, BuildError> {
    let invalid = |reason| BuildError::BaseUrl {
        url: url.to_owned(),
        reason,
    };
    let uri: Uri = url.parse().map_err(|_| invalid("not a URL"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(_) => return Err(invalid("the scheme is not http or https")),
        None => return Err(invalid("not absolute: it needs a scheme and a host")),
    }
    if uri.authority().is_none_or(|a| a.host().is_empty()) {
        return Err(invalid("it has no host"));
    }
    if uri.query().is_some() || url.contains('#') {
        return Err(invalid("it has a query or a fragment"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths_are_normalised_or_refused() {
        for (given, normal) in [
            ("/scim/v2", "/scim/v2"),
            ("scim/v2/", "/scim/v2"),
            ("/", ""),
            ("", ""),
            ("/api/scim", "/api/scim"),
        ] {
            assert_eq!(base_path(given).as_deref(), Ok(normal), "{given:?}");
        }
        for bad in ["/scim?x=1", "/a//b", "/with space", "/#frag"] {
            assert!(base_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn base_urls_must_be_absolute_http() {
        assert_eq!(
            base_url("https://app.example.com/scim/v2/").as_deref(),
            Ok("https://app.example.com/scim/v2")
        );
        assert!(base_url("http://127.0.0.1:8080/scim/v2").is_ok());
        for bad in [
            "app.example.com/scim/v2",
            "/scim/v2",
            "ftp://app.example.com/scim",
            "https://app.example.com/scim?tenant=1",
            "https://app.example.com/scim#top",
            "not a url",
        ] {
            assert!(
                matches!(base_url(bad), Err(BuildError::BaseUrl { .. })),
                "{bad:?}"
            );
        }
    }
}
