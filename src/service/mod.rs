//! The SCIM service: an `http::Request` in, an `http::Response` out, storage through
//! [`ResourceStore`], no web framework.
//!
//! ```
//! use bytes::Bytes;
//! use scimkit::service::{BearerToken, ScimService};
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

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use serde_json::{json, Map, Value};

use crate::compat::Compat;
use crate::error::{ScimError, ScimType};
use crate::eval::Matcher;
use crate::filter::{AttrPath, Filter, Limits};
use crate::patch::PatchRequest;
use crate::resource::LIST_RESPONSE;
use crate::schema::{
    AttrKind, Attribute, AuthenticationScheme, BulkConfig, FilterConfig, PaginationConfig,
    Projection, Registry, ResourceTypeView, ServiceProviderConfig, Supported, Write,
};
use crate::store::{Paging, Query, ResourceStore, Scope, SortOrder, StoreError};

mod auth;
mod events;
mod keys;

pub use auth::{Authenticator, BearerToken, MeResolver};
pub use events::{Action, Event, EventSink};
pub use keys::{KeyError, KeyInfo, KeyStore, MemoryKeyStore, NewKey};

/// The media type of every SCIM response.
pub const SCIM_JSON: &str = "application/scim+json";

/// The schema URN of a search request body (RFC 7644 §3.4.3).
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// Bounds on requests, each advertised where SCIM has a place for it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceLimits {
    /// The largest request body, in bytes (`413` beyond). Default 1 MiB.
    pub max_body_bytes: usize,
    /// The page size when a request gives no `count`. Default 100.
    pub default_count: usize,
    /// The largest page; larger `count`s are clamped. Default 1,000 (`filter.maxResults`).
    pub max_count: usize,
    /// Filter limits.
    pub filter: Limits,
}

impl Default for ServiceLimits {
    fn default() -> ServiceLimits {
        ServiceLimits {
            max_body_bytes: 1024 * 1024,
            default_count: 100,
            max_count: 1000,
            filter: Limits::default(),
        }
    }
}

/// How many times a read-modify-write is tried when other writes to the same resource
/// keep landing in between (32 clients patching one user at once lose a few races each).
const WRITE_ATTEMPTS: usize = 64;

type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

struct Inner {
    base_path: String,
    base_url: Option<String>,
    registry: Registry,
    store: Arc<dyn ResourceStore>,
    auth: Arc<dyn Authenticator>,
    compat: Compat,
    limits: ServiceLimits,
    clock: Clock,
    events: Arc<dyn EventSink>,
    me: Option<Arc<dyn MeResolver>>,
    patch_response: PatchResponse,
    delete_deactivates: bool,
}

/// What a successful PATCH answers (RFC 7644 §3.5.2 allows either).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PatchResponse {
    /// `200 OK` with the resource, subject to `attributes` (the default).
    #[default]
    Resource,
    /// `204 No Content` with the new `ETag`; the store need not be read again.
    NoContent,
}

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
    async fn authenticate(&self, _: &http::request::Parts) -> Option<String> {
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

    /// The absolute URL clients reach the service at, for `meta.location` and `Location`;
    /// by default it is made from the request's `Host` header and the base path.
    pub fn base_url(mut self, url: impl Into<String>) -> ServiceBuilder {
        self.inner.base_url = Some(url.into().trim_end_matches('/').to_owned());
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

    /// What deviations of identity providers are tolerated. Default [`Compat::lenient`].
    pub fn compat(mut self, compat: Compat) -> ServiceBuilder {
        self.inner.compat = compat;
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

    /// Where events go after each write (see [`EventSink`]). Default: nowhere.
    pub fn events(mut self, sink: impl EventSink + 'static) -> ServiceBuilder {
        self.inner.events = Arc::new(sink);
        self
    }

    /// Serves `/Me` for the user `resolver` names. Without one, `/Me` answers `501`.
    pub fn me(mut self, resolver: impl MeResolver + 'static) -> ServiceBuilder {
        self.inner.me = Some(Arc::new(resolver));
        self
    }

    /// What a successful PATCH answers. Default [`PatchResponse::Resource`].
    pub fn patch_response(mut self, response: PatchResponse) -> ServiceBuilder {
        self.inner.patch_response = response;
        self
    }

    /// Whether `DELETE` of a resource with an `active` attribute (a `User`) sets it to
    /// `false` instead of removing the resource, so that it stays readable and can be
    /// reactivated. Default `false`: `DELETE` removes.
    pub fn delete_deactivates(mut self, deactivate: bool) -> ServiceBuilder {
        self.inner.delete_deactivates = deactivate;
        self
    }

    /// The service.
    pub fn build(self) -> ScimService {
        ScimService {
            inner: Arc::new(self.inner),
        }
    }
}

/// A response with a SCIM JSON body.
fn json_response(status: StatusCode, body: &Value) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(
        serde_json::to_vec(body).expect("JSON serialises"),
    ));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    response
}

fn error_response(err: &ScimError) -> Response<Bytes> {
    let mut response = json_response(err.status(), &err.to_json());
    if err.status() == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"SCIM\""),
        );
    }
    response
}

fn too_large(max: usize) -> ScimError {
    ScimError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        None,
        format!("the body is larger than {max} bytes"),
    )
}

fn invalid_syntax(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request(ScimType::InvalidSyntax, detail)
}

fn not_found(detail: impl Into<String>) -> ScimError {
    ScimError::new(StatusCode::NOT_FOUND, None, detail)
}

fn method_not_allowed(allow: &'static str) -> ScimError {
    ScimError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        format!("allowed: {allow}"),
    )
}

fn version_of(resource: &Value) -> Option<&str> {
    resource.get("meta")?.get("version")?.as_str()
}

/// The entity tags of an `If-Match` / `If-None-Match` header (`*` included).
fn etags(parts: &http::request::Parts, name: header::HeaderName) -> Option<Vec<String>> {
    let value = parts.headers.get(name)?.to_str().ok()?;
    Some(value.split(',').map(|t| t.trim().to_owned()).collect())
}

/// Whether an entity tag matches a stored version, weakly (`W/"3"` matches `"3"`).
fn tag_matches(tag: &str, version: &str) -> bool {
    tag == "*" || tag.trim_start_matches("W/") == version.trim_start_matches("W/")
}

/// List parameters, from a query string or a `/.search` body.
#[derive(Default)]
struct ListParams {
    filter: Option<String>,
    sort_by: Option<String>,
    sort_order: Option<String>,
    start_index: Option<String>,
    count: Option<String>,
    cursor: Option<String>,
    attributes: Option<String>,
    excluded: Option<String>,
}

impl ListParams {
    /// Sets the parameter `key` names, in any case (Entra, Okta and others differ);
    /// other keys are ignored.
    fn set(&mut self, key: &str, value: String) {
        let slot = match key.to_ascii_lowercase().as_str() {
            "filter" => &mut self.filter,
            "sortby" => &mut self.sort_by,
            "sortorder" => &mut self.sort_order,
            "startindex" => &mut self.start_index,
            "count" => &mut self.count,
            "cursor" => &mut self.cursor,
            "attributes" => &mut self.attributes,
            "excludedattributes" => &mut self.excluded,
            _ => return,
        };
        *slot = Some(value);
    }

    fn from_query(query: Option<&str>) -> ListParams {
        let mut params = ListParams::default();
        for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let value = value.into_owned();
            params.set(&key, value);
        }
        params
    }

    fn from_search(body: &Value) -> Result<ListParams, ScimError> {
        let Some(obj) = body.as_object() else {
            return Err(invalid_syntax("a search request must be a JSON object"));
        };
        let mut params = ListParams::default();
        for (key, value) in obj {
            let text = match value {
                Value::Null => continue,
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                _ => continue,
            };
            params.set(key, text);
        }
        Ok(params)
    }
}

fn number(value: Option<&str>, name: &str) -> Result<Option<i64>, ScimError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
            ScimError::bad_request(ScimType::InvalidValue, format!("{name} must be an integer"))
        }),
    }
}

impl ScimService {
    /// A builder for a service over `store`.
    pub fn builder(store: impl ResourceStore + 'static) -> ServiceBuilder {
        ServiceBuilder {
            inner: Inner {
                base_path: "/scim/v2".into(),
                base_url: None,
                registry: Registry::scim_default(),
                store: Arc::new(store),
                auth: Arc::new(DenyAll),
                compat: Compat::lenient(),
                limits: ServiceLimits::default(),
                clock: Arc::new(|| DateTime::<Utc>::from(std::time::SystemTime::now())),
                events: Arc::new(events::Discard),
                me: None,
                patch_response: PatchResponse::default(),
                delete_deactivates: false,
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
            bulk: BulkConfig::default(),
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

    /// The largest request body the service takes ([`ServiceLimits::max_body_bytes`]).
    /// Adapters read at most this much and answer [`body_too_large`](Self::body_too_large)
    /// beyond it, so that a huge body is never held in memory.
    pub fn max_body_bytes(&self) -> usize {
        self.inner.limits.max_body_bytes
    }

    /// The `413` SCIM error an adapter answers when a body is larger than
    /// [`max_body_bytes`](Self::max_body_bytes).
    pub fn body_too_large(&self) -> Response<Bytes> {
        error_response(&too_large(self.inner.limits.max_body_bytes))
    }

    /// Answers one request. Every failure is a SCIM error response; nothing panics.
    pub async fn handle(&self, request: Request<Bytes>) -> Response<Bytes> {
        match self.route(request).await {
            Ok(response) => response,
            Err(err) => error_response(&err),
        }
    }

    fn base_url(&self, parts: &http::request::Parts) -> String {
        if let Some(url) = &self.inner.base_url {
            return url.clone();
        }
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .unwrap_or("localhost");
        format!("http://{host}{}", self.inner.base_path)
    }

    async fn route(&self, request: Request<Bytes>) -> Result<Response<Bytes>, ScimError> {
        let (parts, body) = request.into_parts();
        let Some(rest) = parts.uri.path().strip_prefix(self.inner.base_path.as_str()) else {
            return Err(not_found("no SCIM endpoint here"));
        };
        if !rest.is_empty() && !rest.starts_with('/') {
            return Err(not_found("no SCIM endpoint here"));
        }
        let Some(tenant) = self.inner.auth.authenticate(&parts).await else {
            return Err(ScimError::new(
                StatusCode::UNAUTHORIZED,
                None,
                "authentication required",
            ));
        };
        if body.len() > self.inner.limits.max_body_bytes {
            return Err(too_large(self.inner.limits.max_body_bytes));
        }
        let segments: Vec<String> = rest
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let base = self.base_url(&parts);
        let method = parts.method.clone();
        match segments.as_slice() {
            ["ServiceProviderConfig"] => match method {
                Method::GET => Ok(json_response(
                    StatusCode::OK,
                    &self.service_provider_config().to_json(Some(&base)),
                )),
                _ => Err(method_not_allowed("GET")),
            },
            ["ResourceTypes", rest @ ..] if method == Method::GET => {
                self.resource_types(&base, rest)
            }
            ["Schemas", rest @ ..] if method == Method::GET => self.schemas(&base, rest),
            ["ResourceTypes", ..] | ["Schemas", ..] => Err(method_not_allowed("GET")),
            [".search"] => match method {
                Method::POST => self.search_all(&tenant, &body).await,
                _ => Err(method_not_allowed("POST")),
            },
            ["Me", rest @ ..] => {
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
                let Some(id) = resolver.user_id(&tenant, &parts).await else {
                    return Err(not_found("the caller is not a provisioned user"));
                };
                let ctx = Ctx {
                    view: &view,
                    scope: Scope::new(&tenant, &view.resource_type().name),
                    base: &base,
                    parts: &parts,
                };
                self.item(&ctx, &id, &method, &body).await
            }
            ["Bulk"] => Err(ScimError::new(
                StatusCode::NOT_IMPLEMENTED,
                None,
                "Bulk is not supported",
            )),
            [endpoint, rest @ ..] => {
                let Some(view) = self.inner.registry.resource_type_by_endpoint(endpoint) else {
                    return Err(not_found(format!("no endpoint /{endpoint}")));
                };
                let scope = Scope::new(&tenant, &view.resource_type().name);
                let ctx = Ctx {
                    view: &view,
                    scope,
                    base: &base,
                    parts: &parts,
                };
                match (rest, &method) {
                    ([], &Method::GET) => {
                        let params = ListParams::from_query(parts.uri.query());
                        self.list(&ctx, params).await
                    }
                    ([], &Method::POST) => self.create(&ctx, &body).await,
                    ([], _) => Err(method_not_allowed("GET, POST")),
                    ([".search"], &Method::POST) => {
                        let params = ListParams::from_search(&parse_json(&body)?)?;
                        self.list(&ctx, params).await
                    }
                    ([".search"], _) => Err(method_not_allowed("POST")),
                    ([id], method) => self.item(&ctx, id, method, &body).await,
                    _ => Err(not_found("no such endpoint")),
                }
            }
            [] => Err(not_found("no SCIM endpoint here")),
        }
    }

    /// A request for one resource.
    async fn item(
        &self,
        ctx: &Ctx<'_, '_>,
        id: &str,
        method: &Method,
        body: &Bytes,
    ) -> Result<Response<Bytes>, ScimError> {
        match *method {
            Method::GET => self.get(ctx, id).await,
            Method::PUT => self.replace(ctx, id, body).await,
            Method::PATCH => self.patch(ctx, id, body).await,
            Method::DELETE => self.delete(ctx, id).await,
            _ => Err(method_not_allowed("GET, PUT, PATCH, DELETE")),
        }
    }

    /// Reports a write: the resource as written, or its version alone when the service
    /// did not read it back.
    async fn event(
        &self,
        ctx: &Ctx<'_, '_>,
        id: &str,
        action: Action,
        version: Option<&str>,
        resource: Option<&Value>,
    ) {
        let display = resource.and_then(|r| {
            ["userName", "displayName"]
                .iter()
                .find_map(|k| r.get(*k).and_then(Value::as_str))
                .map(str::to_owned)
        });
        let event = Event {
            tenant: ctx.scope.tenant.to_owned(),
            resource_type: ctx.scope.resource_type.to_owned(),
            id: id.to_owned(),
            action,
            version: version
                .or_else(|| resource.and_then(version_of))
                .map(str::to_owned),
            display,
            at: (self.inner.clock)(),
        };
        self.inner.events.record(event).await;
    }

    fn resource_types(&self, base: &str, rest: &[&str]) -> Result<Response<Bytes>, ScimError> {
        let registry = &self.inner.registry;
        match rest {
            [] => {
                let all: Vec<Value> = registry
                    .resource_types()
                    .map(|rt| rt.resource_type().to_json(Some(base)))
                    .collect();
                Ok(json_response(
                    StatusCode::OK,
                    &list_body(all.len(), Some(1), all, None),
                ))
            }
            [name] => registry
                .resource_type(name)
                .map(|rt| json_response(StatusCode::OK, &rt.resource_type().to_json(Some(base))))
                .ok_or_else(|| not_found(format!("no resource type {name}"))),
            _ => Err(not_found("no such endpoint")),
        }
    }

    fn schemas(&self, base: &str, rest: &[&str]) -> Result<Response<Bytes>, ScimError> {
        let registry = &self.inner.registry;
        match rest {
            [] => {
                let all: Vec<Value> = registry.schemas().map(|s| s.to_json(Some(base))).collect();
                Ok(json_response(
                    StatusCode::OK,
                    &list_body(all.len(), Some(1), all, None),
                ))
            }
            [urn] => registry
                .schema(urn)
                .map(|s| json_response(StatusCode::OK, &s.to_json(Some(base))))
                .ok_or_else(|| not_found(format!("no schema {urn}"))),
            _ => Err(not_found("no such endpoint")),
        }
    }

    fn projection(&self, parts: &http::request::Parts) -> Result<Projection, ScimError> {
        let params = ListParams::from_query(parts.uri.query());
        Projection::parse(params.attributes.as_deref(), params.excluded.as_deref())
    }

    /// A response carrying one resource, projected, with its `ETag`.
    fn resource_response(
        &self,
        ctx: &Ctx<'_, '_>,
        status: StatusCode,
        resource: Value,
    ) -> Result<Response<Bytes>, ScimError> {
        let version = version_of(&resource).map(str::to_owned);
        let location = resource
            .get("meta")
            .and_then(|m| m.get("location"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let projected = ctx.view.project(resource, &self.projection(ctx.parts)?);
        let mut response = json_response(status, &projected);
        if let Some(tag) = version.and_then(|v| HeaderValue::from_str(&v).ok()) {
            response.headers_mut().insert(header::ETAG, tag);
        }
        if status == StatusCode::CREATED {
            if let Some(loc) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
                response.headers_mut().insert(header::LOCATION, loc);
            }
        }
        Ok(response)
    }

    fn stamp(&self, ctx: &Ctx<'_, '_>, resource: &mut Value, id: &str, created: Option<Value>) {
        let now = (self.inner.clock)().to_rfc3339_opts(SecondsFormat::Millis, true);
        let endpoint = ctx.view.resource_type().endpoint.trim_matches('/');
        let obj = resource
            .as_object_mut()
            .expect("a normalised resource is an object");
        obj.insert("id".into(), Value::String(id.to_owned()));
        let mut meta = Map::new();
        meta.insert(
            "resourceType".into(),
            Value::String(ctx.view.resource_type().name.clone()),
        );
        meta.insert(
            "created".into(),
            created.unwrap_or_else(|| Value::String(now.clone())),
        );
        meta.insert("lastModified".into(), Value::String(now));
        meta.insert(
            "location".into(),
            Value::String(format!("{}/{endpoint}/{id}", ctx.base)),
        );
        obj.insert("meta".into(), Value::Object(meta));
    }

    async fn create(&self, ctx: &Ctx<'_, '_>, body: &Bytes) -> Result<Response<Bytes>, ScimError> {
        let input = parse_json(body)?;
        let normalized = ctx
            .view
            .normalize(input, Write::Create, &self.inner.compat)?;
        let mut resource = normalized.resource;
        let id = uuid::Uuid::new_v4().to_string();
        self.stamp(ctx, &mut resource, &id, None);
        let stored = self
            .inner
            .store
            .create(&ctx.scope, resource, &normalized.unique)
            .await?;
        self.event(ctx, &id, Action::Created, None, Some(&stored))
            .await;
        self.resource_response(ctx, StatusCode::CREATED, stored)
    }

    async fn get(&self, ctx: &Ctx<'_, '_>, id: &str) -> Result<Response<Bytes>, ScimError> {
        let resource = self.inner.store.get(&ctx.scope, id).await?;
        if let (Some(tags), Some(version)) = (
            etags(ctx.parts, header::IF_NONE_MATCH),
            version_of(&resource),
        ) {
            if tags.iter().any(|t| tag_matches(t, version)) {
                let mut response = Response::new(Bytes::new());
                *response.status_mut() = StatusCode::NOT_MODIFIED;
                if let Ok(tag) = HeaderValue::from_str(version) {
                    response.headers_mut().insert(header::ETAG, tag);
                }
                return Ok(response);
            }
        }
        self.resource_response(ctx, StatusCode::OK, resource)
    }

    /// The version a write must find: the `If-Match` tag when given (checked against what
    /// was read), else the version read.
    fn expected_version(
        &self,
        ctx: &Ctx<'_, '_>,
        current: &Value,
    ) -> Result<Option<String>, ScimError> {
        let version = version_of(current).map(str::to_owned);
        if let Some(tags) = etags(ctx.parts, header::IF_MATCH) {
            let matches = version
                .as_deref()
                .is_some_and(|v| tags.iter().any(|t| tag_matches(t, v)));
            if !matches {
                return Err(StoreError::PreconditionFailed {
                    current: version.unwrap_or_default(),
                }
                .into());
            }
        }
        Ok(version)
    }

    async fn replace(
        &self,
        ctx: &Ctx<'_, '_>,
        id: &str,
        body: &Bytes,
    ) -> Result<Response<Bytes>, ScimError> {
        let input = parse_json(body)?;
        let compat = &self.inner.compat;
        self.read_modify_write(ctx, id, Action::Replaced, |current| {
            let normalized = ctx
                .view
                .normalize(input.clone(), Write::Replace(&current), compat)?;
            Ok(Modified::Changed(normalized.resource, normalized.unique))
        })
        .await
    }

    async fn patch(
        &self,
        ctx: &Ctx<'_, '_>,
        id: &str,
        body: &Bytes,
    ) -> Result<Response<Bytes>, ScimError> {
        let compat = &self.inner.compat;
        let request = PatchRequest::from_json(parse_json(body)?, compat)?;
        if let Some(response) = self.patch_members(ctx, id, &request).await? {
            return Ok(response);
        }
        self.read_modify_write(ctx, id, Action::Patched, |current| {
            let patched = ctx.view.patch_owned(current, &request, compat)?;
            if !patched.changed {
                // Nothing to write: the version stays.
                return Ok(Modified::Unchanged(patched.resource));
            }
            let unique = ctx.view.unique_values(&patched.resource);
            Ok(Modified::Changed(patched.resource, unique))
        })
        .await
    }

    /// A PATCH of a group's members, pushed down to the store when it takes such changes:
    /// `None` when the request is not of that shape or the store declines.
    async fn patch_members(
        &self,
        ctx: &Ctx<'_, '_>,
        id: &str,
        request: &PatchRequest,
    ) -> Result<Option<Response<Bytes>>, ScimError> {
        // A client's `If-Match` goes through the read-modify-write, which compares it the
        // way HTTP does (weakly, `*`, lists).
        if etags(ctx.parts, header::IF_MATCH).is_some() {
            return Ok(None);
        }
        let Some(changes) = ctx.view.member_changes(request, &self.inner.compat) else {
            return Ok(None);
        };
        let now = (self.inner.clock)().to_rfc3339_opts(SecondsFormat::Millis, true);
        let Some(version) = self
            .inner
            .store
            .change_members(&ctx.scope, id, &changes, &now, None)
            .await?
        else {
            return Ok(None);
        };
        let resource = match self.inner.patch_response {
            PatchResponse::NoContent => None,
            PatchResponse::Resource => Some(self.inner.store.get(&ctx.scope, id).await?),
        };
        self.event(ctx, id, Action::Patched, Some(&version), resource.as_ref())
            .await;
        match resource {
            Some(resource) => self
                .resource_response(ctx, StatusCode::OK, resource)
                .map(Some),
            None => Ok(Some(no_content(Some(&version)))),
        }
    }

    /// Reads the resource, lets `modify` make the new one, and writes it if it changed, on
    /// condition that the version is still the one read. A concurrent write in between is
    /// retried, unless the client named the version it expects (then it gets 412). Each
    /// lost race means another write landed, so retries end; after [`WRITE_ATTEMPTS`] the
    /// client is told to try again (409).
    async fn read_modify_write(
        &self,
        ctx: &Ctx<'_, '_>,
        id: &str,
        action: Action,
        mut modify: impl FnMut(Value) -> Result<Modified, ScimError>,
    ) -> Result<Response<Bytes>, ScimError> {
        for _ in 0..WRITE_ATTEMPTS {
            let current = self.inner.store.get(&ctx.scope, id).await?;
            let expected = self.expected_version(ctx, &current)?;
            let created = current.get("meta").and_then(|m| m.get("created")).cloned();
            let (mut resource, unique) = match modify(current)? {
                Modified::Unchanged(resource) => return self.written(ctx, action, resource),
                Modified::Changed(resource, unique) => (resource, unique),
            };
            self.stamp(ctx, &mut resource, id, created);
            match self
                .inner
                .store
                .replace(&ctx.scope, id, resource, &unique, expected.as_deref())
                .await
            {
                Ok(stored) => {
                    self.event(ctx, id, action, None, Some(&stored)).await;
                    return self.written(ctx, action, stored);
                }
                Err(StoreError::PreconditionFailed { .. })
                    if etags(ctx.parts, header::IF_MATCH).is_none() => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(ScimError::new(
            StatusCode::CONFLICT,
            None,
            "the resource is changing too fast; try again",
        ))
    }

    /// The answer to a successful PUT or PATCH.
    fn written(
        &self,
        ctx: &Ctx<'_, '_>,
        action: Action,
        resource: Value,
    ) -> Result<Response<Bytes>, ScimError> {
        let no_content_patch =
            action == Action::Patched && self.inner.patch_response == PatchResponse::NoContent;
        if no_content_patch || action == Action::Deactivated {
            return Ok(no_content(version_of(&resource)));
        }
        self.resource_response(ctx, StatusCode::OK, resource)
    }

    async fn delete(&self, ctx: &Ctx<'_, '_>, id: &str) -> Result<Response<Bytes>, ScimError> {
        if self.inner.delete_deactivates {
            if let Some(active) = ctx.view.resolve(None, "active", None) {
                let name = active.attribute.name.clone();
                return self
                    .read_modify_write(ctx, id, Action::Deactivated, |mut current| {
                        if current.get(&name) == Some(&Value::Bool(false)) {
                            return Ok(Modified::Unchanged(current));
                        }
                        current[&name] = Value::Bool(false);
                        let unique = ctx.view.unique_values(&current);
                        Ok(Modified::Changed(current, unique))
                    })
                    .await;
            }
        }
        let expected = match etags(ctx.parts, header::IF_MATCH) {
            Some(_) => {
                let current = self.inner.store.get(&ctx.scope, id).await?;
                self.expected_version(ctx, &current)?
            }
            None => None,
        };
        self.inner
            .store
            .delete(&ctx.scope, id, expected.as_deref())
            .await?;
        self.event(ctx, id, Action::Deleted, None, None).await;
        Ok(no_content(None))
    }

    /// The parts of a list request every resource type shares: the query without its
    /// matcher (compiled per type), and the projection.
    fn list_spec(&self, params: ListParams) -> Result<(Query, Projection), ScimError> {
        let limits = &self.inner.limits;
        let filter = match params
            .filter
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
        {
            Some(text) => Some(Filter::parse_with(text, &limits.filter)?),
            None => None,
        };
        let sort_by = match params
            .sort_by
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(text) => Some(text.parse::<AttrPath>().map_err(|e| {
                ScimError::bad_request(ScimType::InvalidValue, format!("sortBy: {e}"))
            })?),
            None => None,
        };
        let sort_order = match params.sort_order.as_deref().map(str::trim) {
            Some(o) if o.eq_ignore_ascii_case("descending") => SortOrder::Descending,
            Some(o) if o.is_empty() || o.eq_ignore_ascii_case("ascending") => SortOrder::Ascending,
            None => SortOrder::Ascending,
            Some(o) => {
                return Err(ScimError::bad_request(
                    ScimType::InvalidValue,
                    format!("sortOrder {o:?} is not ascending or descending"),
                ))
            }
        };
        // `count` is clamped to the maximum; below zero counts as zero.
        let count = number(params.count.as_deref(), "count")?.map_or(limits.default_count, |c| {
            c.clamp(0, limits.max_count as i64) as usize
        });
        let start_index = number(params.start_index.as_deref(), "startIndex")?
            .unwrap_or(1)
            .max(1) as usize;
        let paging = match params.cursor {
            Some(cursor) => Paging::Cursor {
                cursor: Some(cursor).filter(|c| !c.is_empty()),
                count,
            },
            None => Paging::Index { start_index, count },
        };
        let projection =
            Projection::parse(params.attributes.as_deref(), params.excluded.as_deref())?;
        let query = Query {
            filter,
            matcher: None,
            sort_by,
            sort_order,
            sort_case_exact: false,
            paging,
        };
        Ok((query, projection))
    }

    async fn list(
        &self,
        ctx: &Ctx<'_, '_>,
        params: ListParams,
    ) -> Result<Response<Bytes>, ScimError> {
        let (mut query, projection) = self.list_spec(params)?;
        typed_query(&mut query, ctx.view)?;
        let page = self.inner.store.query(&ctx.scope, &query).await?;
        let resources: Vec<Value> = page
            .resources
            .into_iter()
            .map(|r| ctx.view.project(r, &projection))
            .collect();
        let start = match query.paging {
            Paging::Index { start_index, .. } => Some(start_index),
            Paging::Cursor { .. } => None,
        };
        Ok(json_response(
            StatusCode::OK,
            &list_body(page.total_results, start, resources, page.next_cursor),
        ))
    }

    /// `POST /.search` at the root: every resource type, in registry order, one index-paged
    /// list (RFC 7644 §3.4.3). Sorting applies within each type.
    async fn search_all(&self, tenant: &str, body: &Bytes) -> Result<Response<Bytes>, ScimError> {
        let (query, projection) = self.list_spec(ListParams::from_search(&parse_json(body)?)?)?;
        let Paging::Index { start_index, count } = query.paging else {
            return Err(ScimError::bad_request(
                ScimType::InvalidValue,
                "cursor paging is per resource type; search /{type}/.search instead",
            ));
        };
        // Enough of each type to fill the page wherever it falls.
        let needed = start_index - 1 + count;
        let mut total = 0;
        let mut resources = Vec::new();
        for view in self.inner.registry.resource_types() {
            let mut typed = query.clone();
            typed.paging = Paging::Index {
                start_index: 1,
                count: needed.saturating_sub(resources.len()),
            };
            typed_query(&mut typed, &view)?;
            let scope = Scope::new(tenant, &view.resource_type().name);
            let page = self.inner.store.query(&scope, &typed).await?;
            total += page.total_results;
            resources.extend(
                page.resources
                    .into_iter()
                    .map(|r| view.project(r, &projection)),
            );
        }
        let page: Vec<Value> = resources
            .into_iter()
            .skip(start_index - 1)
            .take(count)
            .collect();
        Ok(json_response(
            StatusCode::OK,
            &list_body(total, Some(start_index), page, None),
        ))
    }
}

/// Completes a query with what depends on the resource type: the compiled filter, and
/// whether the sort attribute is case-exact.
fn typed_query(query: &mut Query, view: &ResourceTypeView<'_>) -> Result<(), ScimError> {
    if let Some(filter) = &query.filter {
        query.matcher = Some(Matcher::new(filter, view)?);
    }
    query.sort_case_exact = query
        .sort_by
        .as_ref()
        .and_then(|path| view.resolve_path(path))
        .is_some_and(|r| {
            let target = match (r.sub_attribute, r.attribute.kind) {
                (None, AttrKind::Complex) => r.attribute.sub_attribute("value"),
                _ => Some(r.target()),
            };
            target.is_some_and(Attribute::compares_case_exact)
        });
    Ok(())
}

fn list_body(
    total: usize,
    start_index: Option<usize>,
    resources: Vec<Value>,
    next_cursor: Option<String>,
) -> Value {
    let mut body = json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": resources.len(),
    });
    if let Some(start) = start_index {
        body["startIndex"] = json!(start);
    }
    if let Some(cursor) = next_cursor {
        body["nextCursor"] = json!(cursor);
    }
    body["Resources"] = Value::Array(resources);
    body
}

/// What a read-modify-write makes of the resource it read.
enum Modified {
    /// Nothing changed: the resource as it is.
    Unchanged(Value),
    /// The new resource and the values it must keep unique.
    Changed(Value, Vec<crate::schema::UniqueValue>),
}

struct Ctx<'a, 'r> {
    view: &'a ResourceTypeView<'r>,
    scope: Scope<'a>,
    base: &'a str,
    parts: &'a http::request::Parts,
}

/// `204 No Content`, with the resource's `ETag` when it still exists.
fn no_content(version: Option<&str>) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    if let Some(tag) = version.and_then(|v| HeaderValue::from_str(v).ok()) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    response
}

fn parse_json(body: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(body)
        .map_err(|e| invalid_syntax(format!("the body is not valid JSON: {e}")))
}

fn percent_decode(segment: &str) -> String {
    form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
