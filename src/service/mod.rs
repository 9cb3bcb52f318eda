//! The SCIM service: an `http::Request` in, an `http::Response` out, storage through
//! [`ResourceStore`], no web framework.
//!
//! [`ScimService`] is a [`tower::Service`](tower_service::Service) for any
//! `http_body::Body`, so axum mounts it in one line, and hyper and tonic-style stacks take
//! it as it is; [`ScimService::handle`] answers a request whose body was read already.
//!
//! ```
//! use bytes::Bytes;
//! use scimkit::auth::BearerToken;
//! use scimkit::{MemoryStore, ScimService};
//!
//! # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! # rt.block_on(async {
//! let service = ScimService::builder(MemoryStore::new())
//!     .authenticator(BearerToken::new("a long random token"))
//!     .build()?;
//! let request = http::Request::post("/scim/v2/Users")
//!     .header("Authorization", "Bearer a long random token")
//!     .header("Content-Type", "application/scim+json")
//!     .body(Bytes::from(r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bjensen"}"#))
//!     .unwrap();
//! let response = service.handle(request).await;
//! assert_eq!(response.status(), 201);
//! assert_eq!(response.headers()["content-type"], "application/scim+json");
//! # Ok::<(), scimkit::service::BuildError>(())
//! # }).unwrap();
//! ```
//!
//! ## Requests
//!
//! A client without a valid key is answered `401` whatever it sends. As a
//! `tower::Service`, the service authenticates a request on its headers before it reads
//! the body, and reads the body up to the limit of its endpoint (`413` beyond, without
//! reading further); [`handle`](ScimService::handle) takes a body read already, which an
//! adapter should read no further than [`body_limit`](ScimService::body_limit). Paths are
//! taken with the base path (`/scim/v2/Users`) or without it (`/Users`, as a framework
//! that strips the prefix it mounted the service under passes them).
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

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};

use crate::auth::{Authenticator, Caller, TenantSettings};
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

mod builder;
mod bulk;
mod discovery;
mod lists;
mod resources;
mod respond;
mod roles;
mod trace;

pub use crate::error::SCIM_JSON;
pub use builder::{BuildError, ServiceBuilder};
pub use bulk::{BULK_REQUEST, BULK_RESPONSE};
pub use roles::RoleChange;

use resources::{Ctx, Preconditions};
use respond::{not_found, parse_json, ListParams};

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
    /// The base path as request paths carry it: `/scim/v2`, or empty for the root.
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
    /// What identifies this service's renderings of documents: the fingerprint of its
    /// registry, since services with other schemas render the same document otherwise.
    render_key: u64,
}

/// The SCIM service. Cheap to clone; share one across the server's tasks.
#[derive(Clone)]
pub struct ScimService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ScimService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimService")
            .field("base_path", &self.inner.base_path)
            .field("base_url", &self.inner.base_url)
            .field("tenant_in_path", &self.inner.tenant_in_path)
            .finish_non_exhaustive()
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
    /// A builder for a service over `store`. It needs an
    /// [`authenticator`](ServiceBuilder::authenticator) before it builds.
    pub fn builder(store: impl ResourceStore + 'static) -> ServiceBuilder {
        ServiceBuilder::new(Arc::new(store))
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

    /// The largest body the endpoint a request names takes: an adapter that reads bodies
    /// itself before calling [`handle`](Self::handle) reads at most this much, and answers
    /// [`ScimError::payload_too_large`] beyond it.
    pub fn body_limit(&self, request: &http::request::Parts) -> usize {
        let segments = self.segments(request.uri.path());
        self.limit_of(&self.endpoint(&segments))
    }

    /// The largest body `endpoint` takes: Bulk's, or any other's.
    fn limit_of(&self, endpoint: &[&str]) -> usize {
        let limits = &self.inner.limits;
        match endpoint {
            ["Bulk"] => limits.bulk_max_payload_bytes,
            _ => limits.max_body_bytes,
        }
    }

    /// Answers one request whose body was read already (a framework's adapter, a test).
    /// Every failure is a SCIM error response (and an event); nothing panics.
    pub async fn handle(&self, request: Request<Bytes>) -> Response<Bytes> {
        let (parts, body) = request.into_parts();
        self.respond(parts, |limit| async move {
            match body.len() > limit {
                true => Err(ScimError::payload_too_large(limit)),
                false => Ok(body),
            }
        })
        .await
    }

    /// Answers a request whose body is still to be read, reading at most the limit of its
    /// endpoint, once the caller is authenticated.
    async fn serve<B>(self, request: Request<B>) -> Response<Bytes>
    where
        B: http_body::Body + Send,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (parts, body) = request.into_parts();
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        self.respond(parts, |limit| async move {
            if declared.is_some_and(|n| n > limit as u64) {
                return Err(ScimError::payload_too_large(limit));
            }
            match Limited::new(body, limit).collect().await {
                Ok(collected) => Ok(collected.to_bytes()),
                Err(e) if e.is::<LengthLimitError>() => Err(ScimError::payload_too_large(limit)),
                Err(e) => Err(ScimError::bad_request(
                    crate::ScimType::InvalidSyntax,
                    "the body could not be read",
                )
                .with_cause(e)),
            }
        })
        .await
    }

    /// Authenticates, reads the body with `read` (given the endpoint's limit), routes,
    /// and makes every failure a SCIM error response.
    async fn respond<F, Fut>(&self, parts: http::request::Parts, read: F) -> Response<Bytes>
    where
        F: FnOnce(usize) -> Fut,
        Fut: Future<Output = Result<Bytes, ScimError>>,
    {
        let span = trace::Request::start(&parts);
        let mut tenant = None;
        let routed = span.within(self.route(&parts, read, &mut tenant)).await;
        let response = match routed {
            Ok(response) => response,
            Err(err) => {
                span.failed(&err, &parts.method, tenant.as_deref());
                if self.inner.events.is_some() {
                    let path = parts.uri.path();
                    self.rejected(tenant, initiator(&parts), &err, parts.method.as_str(), path)
                        .await;
                }
                err.to_response()
            }
        };
        span.finish(response.status());
        response
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

    /// The base path as a message shows it.
    fn base_path_shown(&self) -> &str {
        match self.inner.base_path.as_str() {
            "" => "/",
            path => path,
        }
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

    /// The decoded segments of a request path, after the base path when the path starts
    /// with it; a path without it is taken as relative to it (the service mounted under
    /// the base path by a framework that strips it).
    fn segments(&self, path: &str) -> Vec<String> {
        let base = self.inner.base_path.as_str();
        let rest = match path.strip_prefix(base) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
            _ => path,
        };
        rest.split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect()
    }

    /// The segments that name the endpoint: after the tenant's when it is in the path.
    fn endpoint<'s>(&self, segments: &'s [String]) -> Vec<&'s str> {
        let skip = usize::from(self.inner.tenant_in_path);
        segments.iter().skip(skip).map(String::as_str).collect()
    }

    /// Authenticates, reads the body, and routes; `tenant` learns the caller's tenant once
    /// it is authenticated, for the report of a failure.
    async fn route<F, Fut>(
        &self,
        parts: &http::request::Parts,
        read: F,
        tenant: &mut Option<String>,
    ) -> Result<Response<Bytes>, ScimError>
    where
        F: FnOnce(usize) -> Fut,
        Fut: Future<Output = Result<Bytes, ScimError>>,
    {
        let segments = self.segments(parts.uri.path());
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
        trace::record_tenant(caller.tenant());
        let path_tenant = match self.inner.tenant_in_path {
            true => Some(segments.first().ok_or_else(|| {
                not_found(format!(
                    "no SCIM endpoint at {}: the path names no tenant",
                    parts.uri.path()
                ))
            })?),
            false => None,
        };
        if path_tenant.is_some_and(|t| t != caller.tenant()) {
            // Another tenant's URL: as if the key were wrong, so that nothing is learnt
            // of the tenant the path names.
            return Err(unauthorized());
        }
        let endpoint = self.endpoint(&segments);
        let body = read(self.limit_of(&endpoint)).await?;
        let base = self.base_url(parts, caller.tenant());
        let call = Call {
            caller,
            base,
            // Only events name the initiator.
            initiator: self.inner.events.as_ref().and_then(|_| initiator(parts)),
            parts,
            defaults: &self.inner.defaults,
        };
        self.dispatch(&call, &endpoint, &body).await
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
                _ => Err(ScimError::method_not_allowed("GET")),
            },
            ["ResourceTypes", rest @ ..] if method == Method::GET => {
                self.resource_types(&call.base, rest)
            }
            ["Schemas", rest @ ..] if method == Method::GET => self.schemas(&call.base, rest),
            ["ResourceTypes", ..] | ["Schemas", ..] => Err(ScimError::method_not_allowed("GET")),
            [".search"] => match *method {
                Method::POST => self.search_all(call, body).await,
                _ => Err(ScimError::method_not_allowed("POST")),
            },
            ["Bulk"] => match *method {
                Method::POST => self.bulk(call, body).await,
                _ => Err(ScimError::method_not_allowed("POST")),
            },
            ["Me", rest @ ..] => self.me(call, rest, body).await,
            [endpoint, rest @ ..] => {
                let Some(view) = self.inner.registry.resource_type_by_endpoint(endpoint) else {
                    return Err(not_found(format!(
                        "no endpoint /{endpoint} (at {}; the service's base path is {})",
                        call.parts.uri.path(),
                        self.base_path_shown()
                    )));
                };
                trace::record_resource_type(&view.resource_type().name);
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
                    ([], _) => Err(ScimError::method_not_allowed("GET, POST")),
                    ([".search"], &Method::POST) => {
                        let params = ListParams::from_search(&parse_json(body)?)?;
                        self.list(&ctx, params).await
                    }
                    ([".search"], _) => Err(ScimError::method_not_allowed("POST")),
                    ([id], method) => {
                        let outcome = self.item(&ctx, id, method, body).await?;
                        ctx.respond(self, outcome)
                    }
                    _ => Err(not_found("no such endpoint")),
                }
            }
            [] => Err(not_found(format!(
                "no SCIM endpoint at {} (the service's base path is {})",
                call.parts.uri.path(),
                self.base_path_shown()
            ))),
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

/// A boxed future of a response: what the service's [`tower_service::Service`] calls
/// return.
pub type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send>>;

impl<B> tower_service::Service<Request<B>> for ScimService
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    /// Answers the request, reading at most the endpoint's limit of its body, only once it
    /// is authenticated.
    fn call(&mut self, request: Request<B>) -> ResponseFuture {
        let service = self.clone();
        Box::pin(async move { Ok(service.serve(request).await.map(Full::new)) })
    }
}
