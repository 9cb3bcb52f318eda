//! `POST /Bulk` (RFC 7644 §3.7): operations in order, each as its own request would be,
//! with `bulkId` references resolved.
//!
//! A reference `"bulkId:{id}"` — anywhere in an operation's `data` (a group's `members`,
//! a user's `manager`) or as a segment of its `path` — becomes the id of the resource the
//! `POST` with that `bulkId` created. An operation that refers to a `POST` later in the
//! request runs after it: operations run in request order, each preceded by the
//! operations it needs. Operations that refer to each other in a circle are refused with
//! `409`, as RFC 7644 §3.7.1 allows; so is one that needs an operation that failed. A
//! reference to no operation's `bulkId` is `400 invalidValue`. `failOnErrors` stops the
//! request once that many operations failed; the response lists what ran, in the order
//! it ran.

use std::collections::HashMap;

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use serde_json::{json, Map, Value};

use super::resources::{Ctx, Outcome, Preconditions};
use super::respond::{json_response, parse_json};
use super::{Call, ScimService};
use crate::error::{ScimError, ScimType};
use crate::json::{get_ci, remove_ci};

/// The schema URN of a Bulk request.
pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

/// The schema URN of a Bulk response.
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// What a reference looks like.
const REFERENCE: &str = "bulkId:";

/// What a successful operation reports.
struct Done {
    status: StatusCode,
    location: Option<String>,
    version: Option<String>,
    /// The id of its resource.
    id: Option<String>,
}

/// One operation as the request gave it.
struct Op {
    method: Option<Method>,
    /// The method as given, for the response.
    method_text: String,
    bulk_id: Option<String>,
    version: Option<String>,
    path: String,
    data: Option<Value>,
    /// The `bulkId`s it refers to.
    refs: Vec<String>,
    /// Why it cannot run, found before anything ran.
    error: Option<ScimError>,
}

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request(ScimType::InvalidValue, detail)
}

fn text(op: &Map<String, Value>, key: &str) -> Option<String> {
    get_ci(op, key).and_then(Value::as_str).map(str::to_owned)
}

/// Every `bulkId` `value` refers to, in the order found.
fn references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix(REFERENCE) {
                out.push(id.to_owned());
            }
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        Value::Object(fields) => fields.values().for_each(|v| references(v, out)),
        _ => {}
    }
}

/// Replaces each reference in `value` by the id it names.
fn resolve(value: &mut Value, ids: &HashMap<String, String>) {
    match value {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix(REFERENCE).and_then(|r| ids.get(r)) {
                *s = id.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| resolve(v, ids)),
        Value::Object(fields) => fields.values_mut().for_each(|v| resolve(v, ids)),
        _ => {}
    }
}

fn parse_op(value: Value) -> Op {
    let mut op = Op {
        method: None,
        method_text: String::new(),
        bulk_id: None,
        version: None,
        path: String::new(),
        data: None,
        refs: Vec::new(),
        error: None,
    };
    let Value::Object(mut fields) = value else {
        op.error = Some(ScimError::bad_request(
            ScimType::InvalidSyntax,
            "an operation must be a JSON object",
        ));
        return op;
    };
    op.method_text = text(&fields, "method").unwrap_or_default();
    op.bulk_id = text(&fields, "bulkId");
    op.version = text(&fields, "version");
    op.path = text(&fields, "path").unwrap_or_default();
    op.data = remove_ci(&mut fields, "data").filter(|d| !d.is_null());
    op.method = match op.method_text.to_ascii_uppercase().as_str() {
        "POST" => Some(Method::POST),
        "PUT" => Some(Method::PUT),
        "PATCH" => Some(Method::PATCH),
        "DELETE" => Some(Method::DELETE),
        _ => None,
    };
    op.error = match (&op.method, &op.data) {
        (None, _) => Some(invalid(format!(
            "method {:?} is not POST, PUT, PATCH or DELETE",
            op.method_text
        ))),
        (_, _) if op.path.is_empty() => Some(invalid("an operation needs a path")),
        (Some(m), None) if *m != Method::DELETE => Some(invalid(format!("{m} needs data"))),
        (Some(m), _) if *m == Method::POST && op.bulk_id.is_none() => {
            Some(invalid("POST needs a bulkId"))
        }
        _ => None,
    };
    for segment in op.path.split('/') {
        if let Some(id) = segment.strip_prefix(REFERENCE) {
            op.refs.push(id.to_owned());
        }
    }
    if let Some(data) = &op.data {
        references(data, &mut op.refs);
    }
    op
}

/// The order to run operations in: request order, each preceded by the `POST`s it refers
/// to; operations in a circle of references get their error instead.
fn plan(ops: &mut [Op]) -> Vec<usize> {
    let mut producers: HashMap<String, usize> = HashMap::new();
    for (i, op) in ops.iter_mut().enumerate() {
        if op.error.is_some() || op.method != Some(Method::POST) {
            continue;
        }
        let Some(id) = op.bulk_id.clone() else {
            continue;
        };
        match producers.entry(id) {
            std::collections::hash_map::Entry::Occupied(taken) => {
                op.error = Some(invalid(format!("bulkId {:?} is used twice", taken.key())));
            }
            std::collections::hash_map::Entry::Vacant(free) => {
                free.insert(i);
            }
        }
    }
    for op in ops.iter_mut().filter(|op| op.error.is_none()) {
        if let Some(unknown) = op.refs.iter().find(|r| !producers.contains_key(*r)) {
            op.error = Some(invalid(format!(
                "{REFERENCE}{unknown} names no POST of this request"
            )));
        }
    }
    let needs: Vec<Vec<usize>> = ops
        .iter()
        .map(|op| match op.error {
            Some(_) => Vec::new(),
            None => op
                .refs
                .iter()
                .filter_map(|r| producers.get(r).copied())
                .collect(),
        })
        .collect();
    // 0: not seen; 1: on the path being explored; 2: placed.
    let mut state = vec![0u8; ops.len()];
    let mut order = Vec::with_capacity(ops.len());
    let mut circular = vec![false; ops.len()];
    for start in 0..ops.len() {
        if state[start] != 0 {
            continue;
        }
        // Depth first without recursion: (operation, next of its needs to look at).
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(&mut (op, ref mut next)) = path.last_mut() {
            if let Some(&need) = needs[op].get(*next) {
                *next += 1;
                match state[need] {
                    0 => {
                        state[need] = 1;
                        path.push((need, 0));
                    }
                    1 => {
                        // A circle: every operation from `need` to here is on it.
                        let from = path.iter().position(|(o, _)| *o == need).expect("on path");
                        for (o, _) in &path[from..] {
                            circular[*o] = true;
                        }
                    }
                    _ => {}
                }
            } else {
                state[op] = 2;
                order.push(op);
                path.pop();
            }
        }
    }
    for (op, circular) in ops.iter_mut().zip(circular) {
        if circular && op.error.is_none() {
            op.error = Some(ScimError::new(
                StatusCode::CONFLICT,
                None,
                "the operation is part of a circle of bulkId references",
            ));
        }
    }
    order
}

impl ScimService {
    pub(super) async fn bulk(
        &self,
        call: &Call<'_>,
        body: &Bytes,
    ) -> Result<Response<Bytes>, ScimError> {
        let request = parse_json(body)?;
        let Value::Object(mut fields) = request else {
            return Err(ScimError::bad_request(
                ScimType::InvalidSyntax,
                "a Bulk request must be a JSON object",
            ));
        };
        let schemas = get_ci(&fields, "schemas").and_then(Value::as_array);
        let declared = schemas.is_some_and(|s| s.iter().any(|u| u == BULK_REQUEST));
        let inferred = schemas.is_none() && call.compat().infer_missing_schemas;
        if !(declared || inferred) {
            return Err(ScimError::bad_request(
                ScimType::InvalidSyntax,
                format!("a Bulk request's schemas must list {BULK_REQUEST}"),
            ));
        }
        let fail_on_errors = match get_ci(&fields, "failOnErrors") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_u64() {
                Some(n) if n > 0 => Some(n as usize),
                _ => return Err(invalid("failOnErrors must be a positive integer")),
            },
        };
        let Some(Value::Array(items)) = remove_ci(&mut fields, "Operations") else {
            return Err(ScimError::bad_request(
                ScimType::InvalidSyntax,
                "a Bulk request needs Operations, a list",
            ));
        };
        let max = self.inner.limits.bulk_max_operations;
        if items.len() > max {
            return Err(ScimError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                Some(ScimType::TooMany),
                format!(
                    "the request has {} operations; maxOperations is {max}",
                    items.len()
                ),
            ));
        }
        let mut ops: Vec<Op> = items.into_iter().map(parse_op).collect();
        let order = plan(&mut ops);
        let mut ids: HashMap<String, String> = HashMap::new();
        let mut results = Vec::with_capacity(ops.len());
        let mut errors = 0;
        for index in order {
            if fail_on_errors.is_some_and(|n| errors >= n) {
                break;
            }
            let op = &mut ops[index];
            let mut result = Map::new();
            result.insert("method".into(), Value::String(op.method_text.clone()));
            if let Some(bulk_id) = &op.bulk_id {
                result.insert("bulkId".into(), Value::String(bulk_id.clone()));
            }
            match self.run(call, op, &ids).await {
                Ok(done) => {
                    if let (Some(bulk_id), Some(id)) = (&op.bulk_id, done.id) {
                        if op.method == Some(Method::POST) {
                            ids.insert(bulk_id.clone(), id);
                        }
                    }
                    if let Some(location) = done.location {
                        result.insert("location".into(), Value::String(location));
                    }
                    if let Some(version) = done.version {
                        result.insert("version".into(), Value::String(version));
                    }
                    let status = done.status.as_u16().to_string();
                    result.insert("status".into(), Value::String(status));
                }
                Err(err) => {
                    errors += 1;
                    super::trace::fault(&err, &op.method_text, Some(call.tenant()));
                    self.rejected(
                        Some(call.tenant().to_owned()),
                        call.initiator.clone(),
                        &err,
                        &op.method_text,
                        &op.path,
                    )
                    .await;
                    result.insert(
                        "status".into(),
                        Value::String(err.status().as_u16().to_string()),
                    );
                    result.insert("response".into(), err.to_json());
                }
            }
            results.push(Value::Object(result));
        }
        Ok(json_response(
            StatusCode::OK,
            &json!({"schemas": [BULK_RESPONSE], "Operations": results}),
        ))
    }

    /// Runs one operation.
    async fn run(
        &self,
        call: &Call<'_>,
        op: &mut Op,
        ids: &HashMap<String, String>,
    ) -> Result<Done, ScimError> {
        if let Some(err) = op.error.take() {
            return Err(err);
        }
        if let Some(missing) = op.refs.iter().find(|r| !ids.contains_key(*r)) {
            return Err(ScimError::new(
                StatusCode::CONFLICT,
                None,
                format!("{REFERENCE}{missing} did not create a resource"),
            ));
        }
        let Some(method) = op.method.clone() else {
            return Err(invalid("the operation has no method"));
        };
        // The path is relative to the service's base; a full one (URL or path, with the
        // tenant's segment when the tenant is in the path) is taken as well.
        let base_path = match self.inner.tenant_in_path {
            true => format!(
                "{}/{}",
                self.inner.base_path,
                super::percent_encode(call.tenant())
            ),
            false => self.inner.base_path.clone(),
        };
        let relative = op
            .path
            .strip_prefix(call.base.as_str())
            .or_else(|| op.path.strip_prefix(base_path.as_str()))
            .unwrap_or(&op.path);
        let segments: Vec<String> = relative
            .split('/')
            .filter(|s| !s.is_empty())
            .map(
                |s| match s.strip_prefix(REFERENCE).and_then(|r| ids.get(r)) {
                    Some(id) => id.clone(),
                    None => super::percent_decode(s),
                },
            )
            .collect();
        let (endpoint, id) = match (segments.as_slice(), &method) {
            ([endpoint], &Method::POST) => (endpoint, None),
            ([endpoint, id], m) if *m != Method::POST => (endpoint, Some(id.as_str())),
            _ => {
                return Err(invalid(format!(
                    "{method} cannot have the path {:?}",
                    op.path
                )))
            }
        };
        let Some(view) = self.inner.registry.resource_type_by_endpoint(endpoint) else {
            return Err(super::respond::not_found(format!(
                "no endpoint /{endpoint}"
            )));
        };
        let pre = Preconditions {
            if_match: op.version.clone().map(|v| vec![v]),
            if_none_match: None,
        };
        let ctx = Ctx::new(call, &view, pre);
        let mut data = op.data.take().unwrap_or(Value::Null);
        resolve(&mut data, ids);
        // A path without an id is a POST's, as checked above.
        let outcome = match (id, &method) {
            (None, _) => self.create(&ctx, data).await?,
            (Some(id), &Method::PUT) => self.replace(&ctx, id, data).await?,
            (Some(id), &Method::PATCH) => self.patch(&ctx, id, data).await?,
            (Some(id), _) => self.delete(&ctx, id).await?,
        };
        let endpoint = view.resource_type().endpoint.trim_matches('/');
        let location_of = |id: &str| format!("{}/{endpoint}/{id}", call.base);
        Ok(match outcome {
            Outcome::Created(resource) | Outcome::Ok(resource) => {
                let id = resource
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                Done {
                    status: match method {
                        Method::POST => StatusCode::CREATED,
                        _ => StatusCode::OK,
                    },
                    location: id.as_deref().map(location_of),
                    version: resource.version().map(str::to_owned),
                    id,
                }
            }
            Outcome::NoContent(version) => Done {
                status: StatusCode::NO_CONTENT,
                location: id.filter(|_| version.is_some()).map(location_of),
                version,
                id: id.map(str::to_owned),
            },
            Outcome::NotModified(version) => Done {
                status: StatusCode::NOT_MODIFIED,
                location: id.map(location_of),
                version: Some(version),
                id: id.map(str::to_owned),
            },
        })
    }
}
