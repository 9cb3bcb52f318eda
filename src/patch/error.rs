//! [`PatchError`]: why a PATCH request was refused, and where.

use std::fmt;

use super::Operation;
use crate::error::{ScimError, ScimType};
use crate::filter::FilterError;
use crate::schema::SchemaError;

/// Why a PATCH request was refused: its `scimType`, the operation that failed (its index
/// in `Operations`), and for a path that does not parse, the path's own [`FilterError`]
/// with the byte offset. A `400` once it becomes a [`ScimError`].
///
/// ```
/// use scimkit::patch::PatchRequest;
/// use scimkit::{Compat, ScimType};
/// use serde_json::json;
///
/// let err = PatchRequest::from_json(json!({
///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
///     "Operations": [
///         {"op": "add", "path": "title", "value": "Boss"},
///         {"op": "replace", "path": "emails[type eq]", "value": "x"}
///     ]
/// }), &Compat::lenient()).unwrap_err();
/// assert_eq!(err.scim_type(), ScimType::InvalidPath);
/// assert_eq!(err.operation(), Some(1));
/// assert_eq!(err.path_error().unwrap().offset(), 14);
/// assert!(err.to_string().starts_with("Operations[1]: path \"emails[type eq]\""));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchError(Box<Inner>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Inner {
    scim_type: ScimType,
    detail: String,
    operation: Option<usize>,
    /// How the failing operation is named in the message: `(remove userName)`.
    label: Option<String>,
    path_error: Option<FilterError>,
}

impl PatchError {
    pub(super) fn new(scim_type: ScimType, detail: impl Into<String>) -> PatchError {
        PatchError(Box::new(Inner {
            scim_type,
            detail: detail.into(),
            operation: None,
            label: None,
            path_error: None,
        }))
    }

    pub(super) fn syntax(detail: impl Into<String>) -> PatchError {
        PatchError::new(ScimType::InvalidSyntax, detail)
    }

    pub(super) fn no_target(detail: impl Into<String>) -> PatchError {
        PatchError::new(ScimType::NoTarget, detail)
    }

    pub(super) fn invalid_path(detail: impl Into<String>) -> PatchError {
        PatchError::new(ScimType::InvalidPath, detail)
    }

    pub(super) fn mutability(detail: impl Into<String>) -> PatchError {
        PatchError::new(ScimType::Mutability, detail)
    }

    pub(super) fn invalid_value(detail: impl Into<String>) -> PatchError {
        PatchError::new(ScimType::InvalidValue, detail)
    }

    /// A path that does not parse.
    pub(super) fn path(path: &str, err: FilterError) -> PatchError {
        let mut out = PatchError::invalid_path(format!("path {path:?}: {err}"));
        out.0.path_error = Some(err);
        out
    }

    /// The error, as the failure of operation `index` (described when it was read).
    pub(super) fn at(mut self, index: usize, op: Option<&Operation>) -> PatchError {
        self.0.operation = Some(index);
        self.0.label = op.map(|o| match &o.path {
            Some(path) => format!("{} {path}", o.op.as_str()),
            None => o.op.as_str().to_owned(),
        });
        self
    }

    /// The `scimType` a client is answered with: `invalidSyntax`, `invalidPath`,
    /// `noTarget`, `invalidValue` or `mutability`.
    pub fn scim_type(&self) -> ScimType {
        self.0.scim_type
    }

    /// The index in `Operations` of the operation that failed; `None` when the request as
    /// a whole is malformed.
    pub fn operation(&self) -> Option<usize> {
        self.0.operation
    }

    /// For a path that does not parse, why, with the byte offset in the path.
    pub fn path_error(&self) -> Option<&FilterError> {
        self.0.path_error.as_ref()
    }
}

impl fmt::Display for PatchError {
    /// `Operations[2] (remove userName): userName is required and cannot be removed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(index) = self.0.operation {
            write!(f, "Operations[{index}]")?;
            if let Some(label) = &self.0.label {
                write!(f, " ({label})")?;
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.0.detail)
    }
}

impl std::error::Error for PatchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .path_error
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<SchemaError> for PatchError {
    fn from(err: SchemaError) -> PatchError {
        PatchError::new(err.scim_type(), err.to_string())
    }
}

impl From<PatchError> for ScimError {
    /// A `400` with the error's `scimType`; the detail names the operation.
    fn from(err: PatchError) -> ScimError {
        ScimError::bad_request(err.scim_type(), err.to_string())
    }
}
