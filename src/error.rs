//! The SCIM error: an HTTP status, an optional `scimType` and a detail.
//!
//! Every failure the library reports to a SCIM client ends up as a [`ScimError`], whose JSON
//! form is the RFC 7644 §3.12 error response:
//!
//! ```
//! use scimkit::{ScimError, ScimType};
//!
//! let err = ScimError::bad_request(ScimType::InvalidFilter, "expected an operator at byte 9");
//! assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
//! assert_eq!(
//!     err.to_json(),
//!     serde_json::json!({
//!         "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
//!         "status": "400",
//!         "scimType": "invalidFilter",
//!         "detail": "expected an operator at byte 9",
//!     })
//! );
//! ```

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};

/// The media type of every SCIM response.
pub const SCIM_JSON: &str = "application/scim+json";

/// The schema URN of a SCIM error response (RFC 7644 §3.12).
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` detail error keywords of RFC 7644 §3.12 (Table 9) and RFC 9865 §2.5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum ScimType {
    /// The filter syntax was invalid or the filter was not supported (400).
    InvalidFilter,
    /// The filter yields more results than the server will return (400).
    TooMany,
    /// A unique attribute value is already in use (409).
    Uniqueness,
    /// The attempted modification is not compatible with an attribute's mutability (400).
    Mutability,
    /// The request body structure was invalid or did not conform to the schema (400).
    InvalidSyntax,
    /// The `path` attribute was invalid or malformed (400).
    InvalidPath,
    /// The specified `path` did not yield an attribute that could be operated on (400).
    NoTarget,
    /// A required value was missing or a value was not compatible with the attribute (400).
    InvalidValue,
    /// The specified SCIM protocol version is not supported (400).
    InvalidVers,
    /// The request cannot be completed because it contains sensitive information (403).
    Sensitive,
    /// The cursor is not one the server gave out (400, RFC 9865).
    InvalidCursor,
    /// The cursor has expired (400, RFC 9865).
    ExpiredCursor,
    /// The count is out of range (400, RFC 9865).
    InvalidCount,
}

impl ScimType {
    /// The keyword as it appears on the wire, e.g. `"invalidFilter"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
            ScimType::InvalidCursor => "invalidCursor",
            ScimType::ExpiredCursor => "expiredCursor",
            ScimType::InvalidCount => "invalidCount",
        }
    }
}

impl fmt::Display for ScimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as a SCIM client sees it: status, `scimType` and a human-readable detail.
///
/// It is made once, where a response is made: each layer below has its own error
/// ([`FilterError`](crate::FilterError), [`PatchError`](crate::patch::PatchError),
/// [`SchemaError`](crate::schema::SchemaError), [`StoreError`](crate::store::StoreError))
/// that converts into it. What caused a server-side failure is kept for logs
/// ([`source`](std::error::Error::source)) and never shown to the client.
#[derive(Debug, Clone)]
pub struct ScimError {
    status: StatusCode,
    scim_type: Option<ScimType>,
    detail: String,
    /// The methods a `405` names in its `Allow` header.
    allow: Option<&'static str>,
    cause: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl PartialEq for ScimError {
    /// Equal when a client would see the same answer.
    fn eq(&self, other: &ScimError) -> bool {
        (self.status, self.scim_type, &self.detail, self.allow)
            == (other.status, other.scim_type, &other.detail, other.allow)
    }
}

impl Eq for ScimError {}

impl fmt::Display for ScimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.status)?;
        if let Some(t) = self.scim_type {
            write!(f, "{t}: ")?;
        }
        f.write_str(&self.detail)
    }
}

impl std::error::Error for ScimError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl ScimError {
    /// An error with any status.
    pub fn new(status: StatusCode, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
            allow: None,
            cause: None,
        }
    }

    /// A `400 Bad Request` with the given `scimType`.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    /// A `405 Method Not Allowed` whose `Allow` header lists `allow` (`"GET, POST"`), as
    /// RFC 9110 §15.5.6 requires.
    pub fn method_not_allowed(allow: &'static str) -> Self {
        let mut err = ScimError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            None,
            format!("allowed: {allow}"),
        );
        err.allow = Some(allow);
        err
    }

    /// A `413 Payload Too Large` for a body over `limit` bytes.
    pub fn payload_too_large(limit: usize) -> Self {
        ScimError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            format!("the body is larger than {limit} bytes"),
        )
    }

    /// The error, with what caused it kept for logs (see
    /// [`source`](std::error::Error::source)); the client never sees it.
    pub fn with_cause(
        mut self,
        cause: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.cause = Some(Arc::from(cause.into()));
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `scimType` keyword, if the error has one.
    pub fn scim_type(&self) -> Option<ScimType> {
        self.scim_type
    }

    /// The human-readable detail.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// For a `405`, the methods its `Allow` header names.
    pub fn allow(&self) -> Option<&str> {
        self.allow
    }

    /// The RFC 7644 §3.12 JSON body, with `status` as a string.
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::Map::new();
        body.insert("schemas".into(), serde_json::json!([ERROR_SCHEMA]));
        body.insert("status".into(), self.status.as_u16().to_string().into());
        if let Some(t) = self.scim_type {
            body.insert("scimType".into(), t.as_str().into());
        }
        body.insert("detail".into(), self.detail.clone().into());
        serde_json::Value::Object(body)
    }

    /// The HTTP response: the JSON body as `application/scim+json`, with `Allow` for a
    /// `405` and `WWW-Authenticate` for a `401`.
    ///
    /// ```
    /// use scimkit::ScimError;
    ///
    /// let response = ScimError::method_not_allowed("GET, POST").to_response();
    /// assert_eq!(response.status(), 405);
    /// assert_eq!(response.headers()["allow"], "GET, POST");
    /// assert_eq!(response.headers()["content-type"], "application/scim+json");
    /// ```
    pub fn to_response(&self) -> Response<Bytes> {
        let body = serde_json::to_vec(&self.to_json()).expect("JSON serialises");
        let mut response = Response::new(Bytes::from(body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        if let Some(allow) = self.allow {
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"SCIM\""),
            );
        }
        response
    }
}
