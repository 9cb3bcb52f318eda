//! One resource: create, read, replace, patch, delete — each a store call or a
//! read-modify-write on condition of the version read, each reported once it landed.

use bytes::Bytes;
use chrono::SecondsFormat;
use http::{header, HeaderValue, Method, Response, StatusCode};
use serde_json::{Map, Value};

use super::respond::{
    etags, json_bytes_response, json_response, no_content, parse_json, tag_matches, ListParams,
};
use super::{Call, ScimService};
use crate::auth::{Deprovision, PatchResponse};
use crate::error::ScimError;
use crate::events::{Action, Change, Event};
use crate::patch::{AttributeChange, PatchRequest};
use crate::schema::{Projection, ResourceTypeView, UniqueValue, Write};
use crate::store::{Document, Rendering, Scope, StoreError, WriteOptions};

/// How many times a read-modify-write is tried when other writes to the same resource
/// keep landing in between (32 clients patching one user at once lose a few races each).
const WRITE_ATTEMPTS: usize = 64;

/// The attributes whose values an event records before → after.
const RECORDED: [&str; 3] = ["active", "userName", "displayName"];

/// A write that lost [`WRITE_ATTEMPTS`] races in a row: the client is told to try again.
fn too_fast() -> ScimError {
    ScimError::new(
        StatusCode::CONFLICT,
        None,
        "the resource is changing too fast; try again",
    )
}

/// The entity tags a request (or a Bulk operation's `version`) conditions itself on.
#[derive(Default)]
pub(super) struct Preconditions {
    pub(super) if_match: Option<Vec<String>>,
    pub(super) if_none_match: Option<Vec<String>>,
}

impl Preconditions {
    pub(super) fn from_headers(parts: &http::request::Parts) -> Preconditions {
        let tags = |name: header::HeaderName| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(etags)
        };
        Preconditions {
            if_match: tags(header::IF_MATCH),
            if_none_match: tags(header::IF_NONE_MATCH),
        }
    }
}

/// A request for one resource type.
pub(super) struct Ctx<'a, 'r> {
    pub(super) call: &'a Call<'a>,
    pub(super) view: &'a ResourceTypeView<'r>,
    pub(super) scope: Scope<'a>,
    pub(super) pre: Preconditions,
}

/// What a request for one resource ended in.
pub(super) enum Outcome {
    /// `201 Created` with the resource.
    Created(Document),
    /// `200 OK` with the resource.
    Ok(Document),
    /// `204 No Content`, with the version when the resource still exists.
    NoContent(Option<String>),
    /// `304 Not Modified`, with the version.
    NotModified(String),
}

/// What a read-modify-write makes of the resource it read.
enum Modified {
    /// Nothing changed: the resource as it was read.
    Unchanged,
    /// The new resource, the values it must keep unique, and what changed.
    Changed(Value, Vec<UniqueValue>, Vec<AttributeChange>),
}

impl<'a, 'r> Ctx<'a, 'r> {
    pub(super) fn new(
        call: &'a Call<'a>,
        view: &'a ResourceTypeView<'r>,
        pre: Preconditions,
    ) -> Ctx<'a, 'r> {
        Ctx {
            call,
            view,
            scope: Scope::new(call.tenant(), &view.resource_type().name),
            pre,
        }
    }

    /// The HTTP response for an outcome: the resource projected as the query asks, with
    /// its `ETag` (and `Location` when created).
    pub(super) fn respond(
        &self,
        service: &ScimService,
        outcome: Outcome,
    ) -> Result<Response<Bytes>, ScimError> {
        let (status, doc) = match outcome {
            Outcome::Created(r) => (StatusCode::CREATED, r),
            Outcome::Ok(r) => (StatusCode::OK, r),
            Outcome::NoContent(version) => return Ok(no_content(version.as_deref())),
            Outcome::NotModified(version) => {
                let mut response = no_content(Some(&version));
                *response.status_mut() = StatusCode::NOT_MODIFIED;
                return Ok(response);
            }
        };
        let version = doc.version().and_then(|v| HeaderValue::from_str(v).ok());
        let location = (status == StatusCode::CREATED)
            .then(|| {
                doc.get("meta")
                    .and_then(|m| m.get("location"))
                    .and_then(Value::as_str)
                    .and_then(|l| HeaderValue::from_str(l).ok())
            })
            .flatten();
        let params = ListParams::from_query(self.call.parts.uri.query());
        let projection =
            Projection::parse(params.attributes.as_deref(), params.excluded.as_deref())?;
        let mut response = match projection.is_default() {
            true => json_bytes_response(status, service.rendered(self.view, &doc).into_bytes()),
            false => json_response(status, &self.view.project(doc.into_value(), &projection)),
        };
        if let Some(tag) = version {
            response.headers_mut().insert(header::ETAG, tag);
        }
        if let Some(loc) = location {
            response.headers_mut().insert(header::LOCATION, loc);
        }
        Ok(response)
    }
}

impl ScimService {
    /// A resource as a response that names no attributes carries it: kept beside its
    /// document, or made and kept.
    pub(super) fn rendered<'d>(
        &self,
        view: &ResourceTypeView<'_>,
        doc: &'d Document,
    ) -> Rendering<'d> {
        doc.rendered(self.inner.render_key, |resource| {
            let json = match view.hides_by_default(resource) {
                // What `returned: never` or `request` hides goes, from a copy.
                true => serde_json::to_vec(&view.project(resource.clone(), &Projection::default())),
                false => serde_json::to_vec(resource),
            };
            Bytes::from(json.expect("JSON serialises"))
        })
    }
}

/// A write's changes as an activity log shows them.
fn event_change(change: AttributeChange, after: Option<&Value>) -> Change {
    let path = change.path();
    match change {
        AttributeChange::Members { net, .. } if net.membership_changed() => Change::Members {
            attribute: path,
            added: net.added_values(),
            removed: net.removed_values(),
        },
        AttributeChange::Value {
            extension: None,
            name,
            before,
        } if RECORDED.contains(&name.as_str()) => Change::Value {
            to: after.and_then(|r| r.get(&name)).cloned(),
            attribute: name,
            from: before,
        },
        _ => Change::Attribute { attribute: path },
    }
}

/// A name for people: `userName`, else `displayName`.
pub(super) fn display_of(resource: &Value) -> Option<String> {
    ["userName", "displayName"]
        .iter()
        .find_map(|k| resource.get(*k).and_then(Value::as_str))
        .map(str::to_owned)
}

impl ScimService {
    /// Whether writes must say what they changed: for the activity log or for roles.
    pub(super) fn tracking(&self) -> bool {
        self.inner.events.is_some() || self.inner.roles.is_some()
    }

    /// A request for one resource, by method.
    pub(super) async fn item(
        &self,
        ctx: &Ctx<'_, '_>,
        id: &str,
        method: &Method,
        body: &Bytes,
    ) -> Result<Outcome, ScimError> {
        match *method {
            Method::GET => self.get(ctx, id).await,
            Method::PUT => self.replace(ctx, id, parse_json(body)?).await,
            Method::PATCH => self.patch(ctx, id, parse_json(body)?).await,
            Method::DELETE => self.delete(ctx, id).await,
            _ => Err(ScimError::method_not_allowed("GET, PUT, PATCH, DELETE")),
        }
    }

    /// Reports a write that landed, and brings the effective roles it affects up to date.
    /// `resource` is the resource as written (as it was, for a delete).
    async fn written(
        &self,
        ctx: &Ctx<'_, '_>,
        action: Action,
        id: &str,
        resource: Option<&Value>,
        version: Option<&str>,
        changes: Vec<AttributeChange>,
    ) -> Result<(), ScimError> {
        if !self.tracking() {
            return Ok(());
        }
        let role_changes = self.update_roles(ctx, action, id, resource, &changes).await;
        if let Some(sink) = &self.inner.events {
            let mut event = Event::new(
                (self.inner.clock)(),
                Some(ctx.scope.tenant.to_owned()),
                action,
            );
            event.initiator = ctx.call.initiator.clone();
            event.resource_type = Some(ctx.scope.resource_type.to_owned());
            event.id = Some(id.to_owned());
            event.display = resource.and_then(display_of);
            if action != Action::Deleted {
                event.version = version
                    .or_else(|| resource.and_then(crate::json::version_of))
                    .map(str::to_owned);
                event.changes = changes
                    .into_iter()
                    .map(|c| event_change(c, resource))
                    .collect();
            }
            sink.record(event).await;
            if let Ok(role_changes) = &role_changes {
                for change in role_changes {
                    sink.record(self.role_event(
                        ctx.scope.tenant,
                        ctx.call.initiator.clone(),
                        change,
                    ))
                    .await;
                }
            }
        }
        role_changes.map(|_| ())
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
            Value::String(format!("{}/{endpoint}/{id}", ctx.call.base)),
        );
        obj.insert("meta".into(), Value::Object(meta));
    }

    pub(super) async fn create(
        &self,
        ctx: &Ctx<'_, '_>,
        input: Value,
    ) -> Result<Outcome, ScimError> {
        let normalized = ctx
            .view
            .normalize(input, Write::Create, ctx.call.compat())?;
        let mut resource = normalized.resource;
        let id = uuid::Uuid::new_v4().to_string();
        self.stamp(ctx, &mut resource, &id, None);
        let options = WriteOptions::new().with_unique(normalized.unique);
        let stored = self
            .inner
            .store
            .create(&ctx.scope, resource, options)
            .await?;
        let changes = match self.tracking() {
            true => ctx.view.changes(&Value::Null, &stored),
            false => Vec::new(),
        };
        self.written(ctx, Action::Created, &id, Some(&stored), None, changes)
            .await?;
        Ok(Outcome::Created(stored))
    }

    pub(super) async fn get(&self, ctx: &Ctx<'_, '_>, id: &str) -> Result<Outcome, ScimError> {
        let resource = self.inner.store.get(&ctx.scope, id).await?;
        if let Some(tags) = &ctx.pre.if_none_match {
            if let Some(version) = resource.version() {
                if tags.iter().any(|t| tag_matches(t, version)) {
                    return Ok(Outcome::NotModified(version.to_owned()));
                }
            }
        }
        Ok(Outcome::Ok(resource))
    }

    /// The version a write must find: the `If-Match` tag when given (checked against what
    /// was read), else the version read.
    fn expected_version(
        &self,
        ctx: &Ctx<'_, '_>,
        current: &Document,
    ) -> Result<Option<String>, ScimError> {
        let version = current.version().map(str::to_owned);
        if let Some(tags) = &ctx.pre.if_match {
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

    pub(super) async fn replace(
        &self,
        ctx: &Ctx<'_, '_>,
        id: &str,
        input: Value,
    ) -> Result<Outcome, ScimError> {
        let compat = ctx.call.compat();
        let tracking = self.tracking();
        self.read_modify_write(ctx, id, Action::Replaced, |current| {
            let normalized = ctx
                .view
                .normalize(input.clone(), Write::Replace(&current), compat)?;
            let changes = match tracking {
                true => ctx.view.changes(&current, &normalized.resource),
                false => Vec::new(),
            };
            Ok(Modified::Changed(
                normalized.resource,
                normalized.unique,
                changes,
            ))
        })
        .await
    }

    pub(super) async fn patch(
        &self,
        ctx: &Ctx<'_, '_>,
        id: &str,
        body: Value,
    ) -> Result<Outcome, ScimError> {
        let compat = ctx.call.compat();
        let request = PatchRequest::from_json(body, compat)?;
        if let Some(outcome) = self.patch_members(ctx, id, &request).await? {
            return Ok(outcome);
        }
        self.read_modify_write(ctx, id, Action::Patched, |current| {
            let patched = ctx.view.patch_owned(current, &request, compat)?;
            if !patched.changed {
                // Nothing to write: the version stays.
                return Ok(Modified::Unchanged);
            }
            let unique = ctx.view.unique_values(&patched.resource);
            Ok(Modified::Changed(patched.resource, unique, patched.changes))
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
    ) -> Result<Option<Outcome>, ScimError> {
        // A client's `If-Match` goes through the read-modify-write, which compares it the
        // way HTTP does (weakly, `*`, lists).
        if ctx.pre.if_match.is_some() {
            return Ok(None);
        }
        let Some(changes) = ctx.view.member_changes(request, ctx.call.compat()) else {
            return Ok(None);
        };
        let now = (self.inner.clock)().to_rfc3339_opts(SecondsFormat::Millis, true);
        let Some(done) = self
            .inner
            .store
            .change_members(&ctx.scope, id, &changes, &now, WriteOptions::new())
            .await?
        else {
            return Ok(None);
        };
        let resource = match ctx.call.settings().patch_response {
            PatchResponse::NoContent => None,
            PatchResponse::Resource => Some(self.inner.store.get(&ctx.scope, id).await?),
        };
        let changed = match done.net.changed() {
            true => vec![AttributeChange::Members {
                extension: None,
                name: changes.attribute.clone(),
                net: done.net,
            }],
            false => Vec::new(),
        };
        if !changed.is_empty() {
            self.written(
                ctx,
                Action::Patched,
                id,
                resource.as_deref(),
                Some(&done.version),
                changed,
            )
            .await?;
        }
        Ok(Some(match resource {
            Some(resource) => Outcome::Ok(resource),
            None => Outcome::NoContent(Some(done.version)),
        }))
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
    ) -> Result<Outcome, ScimError> {
        for attempt in 0..WRITE_ATTEMPTS {
            if attempt > 0 {
                super::trace::retry(attempt);
            }
            let current = self.inner.store.get(&ctx.scope, id).await?;
            let expected = self.expected_version(ctx, &current)?;
            let created = current.get("meta").and_then(|m| m.get("created")).cloned();
            // A copy to change: the store holds the document, and an unchanged one is the
            // answer.
            let (mut resource, unique, changes) = match modify(current.value().clone())? {
                Modified::Unchanged => return Ok(self.answer(ctx, action, current)),
                Modified::Changed(resource, unique, changes) => (resource, unique, changes),
            };
            self.stamp(ctx, &mut resource, id, created);
            let mut options = WriteOptions::new().with_unique(unique);
            options.if_match = expected;
            match self
                .inner
                .store
                .replace(&ctx.scope, id, resource, options)
                .await
            {
                Ok(stored) => {
                    self.written(ctx, action, id, Some(&stored), None, changes)
                        .await?;
                    return Ok(self.answer(ctx, action, stored));
                }
                Err(StoreError::PreconditionFailed { .. }) if ctx.pre.if_match.is_none() => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(too_fast())
    }

    /// The answer to a successful PUT, PATCH or deactivation.
    fn answer(&self, ctx: &Ctx<'_, '_>, action: Action, resource: Document) -> Outcome {
        let no_content_patch = action == Action::Patched
            && ctx.call.settings().patch_response == PatchResponse::NoContent;
        if no_content_patch || action == Action::Deactivated {
            return Outcome::NoContent(resource.version().map(str::to_owned));
        }
        Outcome::Ok(resource)
    }

    pub(super) async fn delete(&self, ctx: &Ctx<'_, '_>, id: &str) -> Result<Outcome, ScimError> {
        if ctx.call.settings().deprovision == Deprovision::Deactivate {
            if let Some(active) = ctx.view.resolve(None, "active", None) {
                let name = active.attribute.name.clone();
                return self
                    .read_modify_write(ctx, id, Action::Deactivated, |mut current| {
                        let before = current.get(&name).cloned();
                        if before == Some(Value::Bool(false)) {
                            return Ok(Modified::Unchanged);
                        }
                        current[&name] = Value::Bool(false);
                        let unique = ctx.view.unique_values(&current);
                        let change = AttributeChange::Value {
                            extension: None,
                            name: name.clone(),
                            before,
                        };
                        Ok(Modified::Changed(current, unique, vec![change]))
                    })
                    .await;
            }
        }
        // Read first when the client names a version, and when the write is reported
        // (an activity log names what was deleted; roles need a group's members).
        let read_first = ctx.pre.if_match.is_some() || self.tracking();
        for attempt in 0..WRITE_ATTEMPTS {
            if attempt > 0 {
                super::trace::retry(attempt);
            }
            let current = match read_first {
                true => Some(self.inner.store.get(&ctx.scope, id).await?),
                false => None,
            };
            let expected = match &current {
                Some(current) => self.expected_version(ctx, current)?,
                None => None,
            };
            let mut options = WriteOptions::new();
            options.if_match = expected;
            match self.inner.store.delete(&ctx.scope, id, options).await {
                Ok(()) => {
                    self.written(
                        ctx,
                        Action::Deleted,
                        id,
                        current.as_deref(),
                        None,
                        Vec::new(),
                    )
                    .await?;
                    return Ok(Outcome::NoContent(None));
                }
                Err(StoreError::PreconditionFailed { .. }) if ctx.pre.if_match.is_none() => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(too_fast())
    }
}
