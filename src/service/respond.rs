//! Responses, errors and what the service reads from a request besides its path: list
//! parameters, entity tags, JSON bodies.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use serde_json::Value;

use crate::error::{ScimError, ScimType, SCIM_JSON};

/// A response with a SCIM JSON body.
pub(super) fn json_response(status: StatusCode, body: &Value) -> Response<Bytes> {
    json_bytes_response(
        status,
        Bytes::from(serde_json::to_vec(body).expect("JSON serialises")),
    )
}

/// A response with a SCIM JSON body already serialised.
pub(super) fn json_bytes_response(status: StatusCode, body: Bytes) -> Response<Bytes> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    response
}

/// `204 No Content`, with the resource's `ETag` when it still exists.
pub(super) fn no_content(version: Option<&str>) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    if let Some(tag) = version.and_then(|v| HeaderValue::from_str(v).ok()) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    response
}

pub(super) fn invalid_syntax(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request(ScimType::InvalidSyntax, detail)
}

pub(super) fn not_found(detail: impl Into<String>) -> ScimError {
    ScimError::new(StatusCode::NOT_FOUND, None, detail)
}

pub(super) fn parse_json(body: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(body)
        .map_err(|e| invalid_syntax(format!("the body is not valid JSON: {e}")))
}

/// The entity tags of an `If-Match` / `If-None-Match` header value (`*` included).
pub(super) fn etags(value: &str) -> Vec<String> {
    value.split(',').map(|t| t.trim().to_owned()).collect()
}

/// Whether an entity tag matches a stored version, weakly (`W/"3"` matches `"3"`).
pub(super) fn tag_matches(tag: &str, version: &str) -> bool {
    tag == "*" || tag.trim_start_matches("W/") == version.trim_start_matches("W/")
}

/// List parameters, from a query string or a `/.search` body.
#[derive(Default)]
pub(super) struct ListParams {
    pub(super) filter: Option<String>,
    pub(super) sort_by: Option<String>,
    pub(super) sort_order: Option<String>,
    pub(super) start_index: Option<String>,
    pub(super) count: Option<String>,
    pub(super) cursor: Option<String>,
    pub(super) attributes: Option<String>,
    pub(super) excluded: Option<String>,
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

    pub(super) fn from_query(query: Option<&str>) -> ListParams {
        let mut params = ListParams::default();
        for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let value = value.into_owned();
            params.set(&key, value);
        }
        params
    }

    pub(super) fn from_search(body: &Value) -> Result<ListParams, ScimError> {
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

pub(super) fn number(value: Option<&str>, name: &str) -> Result<Option<i64>, ScimError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
            ScimError::bad_request(ScimType::InvalidValue, format!("{name} must be an integer"))
        }),
    }
}
