//! The SCIM service: an `http::Request` in, an `http::Response` out, storage through
//! [`ResourceStore`], no web framework.
//!
//! ```
//! use bytes::Bytes;
//! use scimkit::auth::BearerToken;
//! use scimkit::service::ScimService;
//! use scimkit::store::MemoryStore;
//!
//! # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! # rt.block_on(async {
//! let service = ScimService::builder(MemoryStore::new())
//!     .authenticator(BearerToken::new("token", "acme"))
//!     .build();
//! let request = http::Request::post("/scim/v2/Users")
//!     .header("Authorization", "Bearer token")
//!     .header("Content-Type", "application/scim+json")
//!     .body(Bytes::from(r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bjensen"}"#))
//!     .unwrap();
//! let response = service.handle(request).await;
//! assert_eq!(response.status(), 201);
//! assert_eq!(response.headers()["content-type"], "application/scim+json");
//! # });
//! ```
//!
//! ## Tenants
//!
//! Every request acts for the tenant its [`Authenticator`] names; a [`KeyStore`] in an
//! `Arc` names the tenant whose key the request carries, with that tenant's
//! [`TenantSettings`]. With [`tenant_in_path`](ServiceBuilder::tenant_in_path) the tenant
//! is also the first path segment (`/scim/v2/{tenant}/Users`), which must be the caller's
//! (`401` otherwise), and the URLs the service generates carry it. Nothing crosses
//! tenants: ids of another tenant's resources are not found, uniqueness is per tenant, and
//! errors never name another tenant.
//!
//! [`KeyStore`]: crate::auth::KeyStore

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{header, Method, Request, Response, StatusCode};

use crate::auth::{Authenticator, Caller, Deprovision, PatchResponse, TenantSettings};
use crate::compat::Compat;
use crate::error::ScimError;
use crate::events::{Action, Event, EventSink, Failure};
use crate::filter::Limits;
use crate::roles::RoleStore;
use crate::schema::{
    AuthenticationScheme, BulkConfig, FilterConfig, PaginationConfig, Registry,
    ServiceProviderConfig, Supported,
};
use crate::store::{ResourceStore, Scope};

mod bulk;
mod discovery;
mod lists;
mod resources;
mod respond;
mod roles;

pub use bulk::{BULK_REQUEST, BULK_RESPONSE};
pub use roles::RoleChange;

use resources::{Ctx, Preconditions};
use respond::{error_response, method_not_allowed, not_found, parse_json, too_large, ListParams};

/// The media type of every SCIM response.
pub const SCIM_JSON: &str = "application/scim+json";

/// The schema URN of a search request body (RFC 7644 §3.4.3).
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// Bounds on requests, each advertised where SCIM has a place for it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceLimits {
    /// The largest request body other than a Bulk request, in bytes (`413` beyond).
    /// Default 1 MiB.
    pub max_body_bytes: usize,
    /// The page size when a request gives no `count`. Default 100.
    pub default_count: usize,
    /// The largest page; larger `count`s are clamped. Default 1,000 (`filter.maxResults`).
    pub max_count: usize,
    /// Filter limits.
    pub filter: Limits,
    /// The most operations one Bulk request may hold (`bulk.maxOperations`; `413 tooMany`
    /// beyond). Default 1,000.
    pub bulk_max_operations: usize,
    /// The largest Bulk request body, in bytes (`bulk.maxPayloadSize`; `413` beyond).
    /// Default 4 MiB.
    pub bulk_max_payload_bytes: usize,
}

impl Default for ServiceLimits {
    fn default() -> ServiceLimits {
        ServiceLimits {
            max_body_bytes: 1024 * 1024,
            default_count: 100,
            max_count: 1000,
            filter: Limits::default(),
            bulk_max_operations: 1000,
            bulk_max_payload_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Tells which user the caller is, for `/Me` (RFC 7644 §3.11).
#[async_trait::async_trait]
pub trait MeResolver: Send + Sync {
    /// The id of the `User` the caller is in its tenant (from its
    /// [`subject`](Caller::subject) or the request), or `None` when it is not one
    /// (answered `404`).
    async fn user_id(&self, caller: &Caller, request: &http::request::Parts) -> Option<String>;
}

#[async_trait::async_trait]
impl<M: MeResolver + ?Sized> MeResolver for Arc<M> {
    async fn user_id(&self, caller: &Caller, request: &http::request::Parts) -> Option<String> {
        (**self).user_id(caller, request).await
    }
}

type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

struct Inner {
    base_path: String,
    base_url: Option<String>,
    tenant_in_path: bool,
    registry: Registry,
    store: Arc<dyn ResourceStore>,
    auth: Arc<dyn Authenticator>,
    defaults: TenantSettings,
    limits: ServiceLimits,
    clock: Clock,
    events: Option<Arc<dyn EventSink>>,
    roles: Option<Arc<dyn RoleStore>>,
    me: Option<Arc<dyn MeResolver>>,
    /// What identifies this service's renderings to the store (see `Renderer::key`):
    /// each service built gets its own.
    render_key: u64,
}

/// The next service's `render_key`.
static RENDER_KEYS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// The SCIM service. Cheap to clone; share one across the server's tasks.
#[derive(Clone)]
pub struct ScimService {
    inner: Arc<Inner>,
}

/// Configures a [`ScimService`].
pub struct ServiceBuilder {
    inner: Inner,
}

/// Refuses every request: the authenticator a service has until one is set.
struct DenyAll;

#[async_trait::async_trait]
impl Authenticator for DenyAll {
    async fn authenticate(&self, _: &http::request::Parts) -> Option<Caller> {
        None
    }
}

impl ServiceBuilder {
    /// The path the service is mounted at. Default `/scim/v2`.
    pub fn base_path(mut self, path: impl Into<String>) -> ServiceBuilder {
        let path = path.into();
        self.inner.base_path = format!("/{}", path.trim_matches('/'));
        self
    }

    /// The absolute URL clients reach the service at, for `meta.location` and `Location`
    /// (with [`tenant_in_path`](Self::tenant_in_path), the tenant's segment follows it);
    /// by default it is made from the request's `Host` header and the base path.
    pub fn base_url(mut self, url: impl Into<String>) -> ServiceBuilder {
        self.inner.base_url = Some(url.into().trim_end_matches('/').to_owned());
        self
    }

    /// Whether the tenant is the first segment of every path (`/scim/v2/{tenant}/Users`),
    /// so that each tenant has a SCIM URL of its own. The caller's tenant must be that
    /// one. Default `false`: the tenant is the one the credentials name.
    pub fn tenant_in_path(mut self, in_path: bool) -> ServiceBuilder {
        self.inner.tenant_in_path = in_path;
        self
    }

    /// The schemas and resource types. Default [`Registry::scim_default`].
    pub fn registry(mut self, registry: Registry) -> ServiceBuilder {
        self.inner.registry = registry;
        self
    }

    /// Who may call. Until set, every request is refused with `401`.
    pub fn authenticator(mut self, auth: impl Authenticator + 'static) -> ServiceBuilder {
        self.inner.auth = Arc::new(auth);
        self
    }

    /// The settings of callers whose tenant has none of its own (a [`Caller`] without
    /// settings, as [`BearerToken`](crate::auth::BearerToken) makes). Default
    /// [`TenantSettings::default`]: lenient, `DELETE` removes, PATCH answers `200`.
    pub fn tenant_defaults(mut self, settings: TenantSettings) -> ServiceBuilder {
        self.inner.defaults = settings;
        self
    }

    /// What deviations of identity providers are tolerated, by default (see
    /// [`tenant_defaults`](Self::tenant_defaults)). Default [`Compat::lenient`].
    pub fn compat(mut self, compat: Compat) -> ServiceBuilder {
        self.inner.defaults.compat = compat;
        self
    }

    /// What a successful PATCH answers, by default. Default [`PatchResponse::Resource`].
    pub fn patch_response(mut self, response: PatchResponse) -> ServiceBuilder {
        self.inner.defaults.patch_response = response;
        self
    }

    /// Whether `DELETE` of a resource with an `active` attribute (a `User`) sets it to
    /// `false` instead of removing the resource, by default. Default `false`.
    pub fn delete_deactivates(mut self, deactivate: bool) -> ServiceBuilder {
        self.inner.defaults.deprovision = match deactivate {
            true => Deprovision::Deactivate,
            false => Deprovision::Delete,
        };
        self
    }

    /// Request limits.
    pub fn limits(mut self, limits: ServiceLimits) -> ServiceBuilder {
        self.inner.limits = limits;
        self
    }

    /// Where `meta.created` and `meta.lastModified` come from. Default the system clock.
    pub fn clock(
        mut self,
        clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static,
    ) -> ServiceBuilder {
        self.inner.clock = Arc::new(clock);
        self
    }

    /// Where [`Event`]s go: every successful write and every failed request. Default:
    /// nowhere (and no work is spent on them).
    pub fn events(mut self, sink: impl EventSink + 'static) -> ServiceBuilder {
        self.inner.events = Some(Arc::new(sink));
        self
    }

    /// Group-based roles: the rules and the users' effective roles live in `roles`, which
    /// the service keeps up to date after every write that can change a user's role (see
    /// [`crate::roles`]). Default: no roles.
    pub fn roles(mut self, roles: impl RoleStore + 'static) -> ServiceBuilder {
        self.inner.roles = Some(Arc::new(roles));
        self
    }

    /// Serves `/Me` for the user `resolver` names. Without one, `/Me` answers `501`.
    pub fn me(mut self, resolver: impl MeResolver + 'static) -> ServiceBuilder {
        self.inner.me = Some(Arc::new(resolver));
        self
    }

    /// The service.
    pub fn build(mut self) -> ScimService {
        self.inner.render_key = RENDER_KEYS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ScimService {
            inner: Arc::new(self.inner),
        }
    }
}

/// What a request is, once authenticated: who calls, under which settings, from where.
pub(crate) struct Call<'a> {
    caller: Caller,
    base: String,
    initiator: Option<String>,
    parts: &'a http::request::Parts,
    defaults: &'a TenantSettings,
}

impl Call<'_> {
    fn tenant(&self) -> &str {
        self.caller.tenant()
    }

    fn settings(&self) -> &TenantSettings {
        self.caller.settings().unwrap_or(self.defaults)
    }

    fn compat(&self) -> &Compat {
        &self.settings().compat
    }
}

/// The `User-Agent` of a request, for the activity log: at most 200 characters of it,
/// control characters dropped.
fn initiator(parts: &http::request::Parts) -> Option<String> {
    let agent = parts.headers.get(header::USER_AGENT)?;
    let text: String = String::from_utf8_lossy(agent.as_bytes())
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

fn percent_decode(segment: &str) -> String {
    if !segment.contains('%') {
        return segment.to_owned();
    }
    form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// A path segment as it goes into a URL.
fn percent_encode(segment: &str) -> String {
    form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

impl ScimService {
    /// A builder for a service over `store`.
    pub fn builder(store: impl ResourceStore + 'static) -> ServiceBuilder {
        ServiceBuilder {
            inner: Inner {
                base_path: "/scim/v2".into(),
                base_url: None,
                tenant_in_path: false,
                registry: Registry::scim_default(),
                store: Arc::new(store),
                auth: Arc::new(DenyAll),
                defaults: TenantSettings::default(),
                limits: ServiceLimits::default(),
                clock: Arc::new(|| DateTime::<Utc>::from(std::time::SystemTime::now())),
                events: None,
                roles: None,
                me: None,
                render_key: 0,
            },
        }
    }

    /// The registry of schemas and resource types the service serves.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The service configuration, as `/ServiceProviderConfig` shows it.
    pub fn service_provider_config(&self) -> ServiceProviderConfig {
        let limits = &self.inner.limits;
        ServiceProviderConfig {
            documentation_uri: None,
            patch: Supported { supported: true },
            bulk: BulkConfig {
                supported: true,
                max_operations: limits.bulk_max_operations as u64,
                max_payload_size: limits.bulk_max_payload_bytes as u64,
            },
            filter: FilterConfig {
                supported: true,
                max_results: limits.max_count as u64,
            },
            change_password: Supported { supported: false },
            sort: Supported { supported: true },
            etag: Supported { supported: true },
            authentication_schemes: vec![AuthenticationScheme::bearer_token()],
            pagination: Some(PaginationConfig {
                cursor: true,
                index: true,
                default_pagination_method: Some("index".into()),
                default_page_size: Some(limits.default_count as u64),
                max_page_size: Some(limits.max_count as u64),
                cursor_timeout: None,
            }),
        }
    }

    /// The largest request body the service takes (a Bulk request's limit, when that is
    /// larger than [`ServiceLimits::max_body_bytes`]). Adapters read at most this much and
    /// answer [`body_too_large`](Self::body_too_large) beyond it, so that a huge body is
    /// never held in memory.
    pub fn max_body_bytes(&self) -> usize {
        let limits = &self.inner.limits;
        limits.max_body_bytes.max(limits.bulk_max_payload_bytes)
    }

    /// The `413` SCIM error an adapter answers when a body is larger than
    /// [`max_body_bytes`](Self::max_body_bytes).
    pub fn body_too_large(&self) -> Response<Bytes> {
        error_response(&too_large(self.max_body_bytes()))
    }

    /// Answers one request. Every failure is a SCIM error response (and an event);
    /// nothing panics.
    pub async fn handle(&self, request: Request<Bytes>) -> Response<Bytes> {
        let (parts, body) = request.into_parts();
        let mut tenant = None;
        match self.route(&parts, &body, &mut tenant).await {
            Ok(response) => response,
            Err(err) => {
                if self.inner.events.is_some() {
                    let path = parts.uri.path();
                    self.rejected(tenant, initiator(&parts), &err, parts.method.as_str(), path)
                        .await;
                }
                error_response(&err)
            }
        }
    }

    /// Reports a failed request or Bulk operation.
    async fn rejected(
        &self,
        tenant: Option<String>,
        initiator: Option<String>,
        err: &ScimError,
        method: &str,
        path: &str,
    ) {
        let Some(sink) = &self.inner.events else {
            return;
        };
        let mut event = Event::new((self.inner.clock)(), tenant, Action::Rejected);
        event.initiator = initiator;
        event.failure = Some(Failure {
            status: err.status().as_u16(),
            scim_type: err.scim_type(),
            detail: err.detail().to_owned(),
            method: method.to_owned(),
            path: path.to_owned(),
        });
        sink.record(event).await;
    }

    /// The base URL of the service for a tenant.
    fn base_url(&self, parts: &http::request::Parts, tenant: &str) -> String {
        let mut base = match &self.inner.base_url {
            Some(url) => url.clone(),
            None => {
                let host = parts
                    .headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .or_else(|| parts.uri.authority().map(|a| a.as_str()))
                    .unwrap_or("localhost");
                format!("http://{host}{}", self.inner.base_path)
            }
        };
        if self.inner.tenant_in_path {
            base.push('/');
            base.push_str(&percent_encode(tenant));
        }
        base
    }

    /// Authenticates and routes; `tenant` learns the caller's tenant once it is
    /// authenticated, for the report of a failure.
    async fn route(
        &self,
        parts: &http::request::Parts,
        body: &Bytes,
        tenant: &mut Option<String>,
    ) -> Result<Response<Bytes>, ScimError> {
        let Some(rest) = parts.uri.path().strip_prefix(self.inner.base_path.as_str()) else {
            return Err(not_found("no SCIM endpoint here"));
        };
        if !rest.is_empty() && !rest.starts_with('/') {
            return Err(not_found("no SCIM endpoint here"));
        }
        let segments: Vec<String> = rest
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect();
        let mut segments: &[String] = &segments;
        let mut path_tenant = None;
        if self.inner.tenant_in_path {
            let Some((first, others)) = segments.split_first() else {
                return Err(not_found("no SCIM endpoint here"));
            };
            path_tenant = Some(first);
            segments = others;
        }
        let unauthorized =
            || ScimError::new(StatusCode::UNAUTHORIZED, None, "authentication required");
        let caller = self
            .inner
            .auth
            .authenticate(parts)
            .await
            .ok_or_else(unauthorized)?;
        // Only an authenticated tenant gets a failure on its record: a path names any
        // tenant anyone likes.
        *tenant = Some(caller.tenant().to_owned());
        if path_tenant.is_some_and(|t| t != caller.tenant()) {
            // Another tenant's URL: as if the key were wrong, so that nothing is learnt
            // of the tenant the path names.
            return Err(unauthorized());
        }
        let limit = match segments {
            [bulk] if bulk == "Bulk" => self.inner.limits.bulk_max_payload_bytes,
            _ => self.inner.limits.max_body_bytes,
        };
        if body.len() > limit {
            return Err(too_large(limit));
        }
        let base = self.base_url(parts, caller.tenant());
        let call = Call {
            caller,
            base,
            // Only events name the initiator.
            initiator: self.inner.events.as_ref().and_then(|_| initiator(parts)),
            parts,
            defaults: &self.inner.defaults,
        };
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        self.dispatch(&call, &segments, body).await
    }

    async fn dispatch(
        &self,
        call: &Call<'_>,
        segments: &[&str],
        body: &Bytes,
    ) -> Result<Response<Bytes>, ScimError> {
        let method = &call.parts.method;
        match segments {
            ["ServiceProviderConfig"] => match *method {
                Method::GET => Ok(self.config_response(&call.base)),
                _ => Err(method_not_allowed("GET")),
            },
            ["ResourceTypes", rest @ ..] if method == Method::GET => {
                self.resource_types(&call.base, rest)
            }
            ["Schemas", rest @ ..] if method == Method::GET => self.schemas(&call.base, rest),
            ["ResourceTypes", ..] | ["Schemas", ..] => Err(method_not_allowed("GET")),
            [".search"] => match *method {
                Method::POST => self.search_all(call, body).await,
                _ => Err(method_not_allowed("POST")),
            },
            ["Bulk"] => match *method {
                Method::POST => self.bulk(call, body).await,
                _ => Err(method_not_allowed("POST")),
            },
            ["Me", rest @ ..] => self.me(call, rest, body).await,
            [endpoint, rest @ ..] => {
                let Some(view) = self.inner.registry.resource_type_by_endpoint(endpoint) else {
                    return Err(not_found(format!("no endpoint /{endpoint}")));
                };
                let ctx = Ctx::new(call, &view, Preconditions::from_headers(call.parts));
                match (rest, method) {
                    ([], &Method::GET) => {
                        let params = ListParams::from_query(call.parts.uri.query());
                        self.list(&ctx, params).await
                    }
                    ([], &Method::POST) => {
                        let outcome = self.create(&ctx, parse_json(body)?).await?;
                        ctx.respond(self, outcome)
                    }
                    ([], _) => Err(method_not_allowed("GET, POST")),
                    ([".search"], &Method::POST) => {
                        let params = ListParams::from_search(&parse_json(body)?)?;
                        self.list(&ctx, params).await
                    }
                    ([".search"], _) => Err(method_not_allowed("POST")),
                    ([id], method) => {
                        let outcome = self.item(&ctx, id, method, body).await?;
                        ctx.respond(self, outcome)
                    }
                    _ => Err(not_found("no such endpoint")),
                }
            }
            [] => Err(not_found("no SCIM endpoint here")),
        }
    }

    /// `/Me`: the caller's own user, through the application's resolver.
    async fn me(
        &self,
        call: &Call<'_>,
        rest: &[&str],
        body: &Bytes,
    ) -> Result<Response<Bytes>, ScimError> {
        let Some(resolver) = &self.inner.me else {
            return Err(ScimError::new(
                StatusCode::NOT_IMPLEMENTED,
                None,
                "/Me is not supported",
            ));
        };
        if !rest.is_empty() {
            return Err(not_found("no such endpoint"));
        }
        let Some(view) = self.inner.registry.resource_type("User") else {
            return Err(not_found("this service has no User resource type"));
        };
        let Some(id) = resolver.user_id(&call.caller, call.parts).await else {
            return Err(not_found("the caller is not a provisioned user"));
        };
        let ctx = Ctx::new(call, &view, Preconditions::from_headers(call.parts));
        let outcome = self.item(&ctx, &id, &call.parts.method, body).await?;
        ctx.respond(self, outcome)
    }

    /// The scope of a resource type in the caller's tenant.
    fn scope<'a>(&self, call: &'a Call<'_>, resource_type: &'a str) -> Scope<'a> {
        Scope::new(call.tenant(), resource_type)
    }
}
