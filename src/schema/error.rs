//! [`SchemaError`]: why a resource, a value or an attribute list was refused.

use crate::error::{ScimError, ScimType};

/// Why a resource, a value or an attribute list was refused: a `400` with its `scimType`
/// (`invalidSyntax`, `invalidValue` or `mutability`) and what was wrong, naming the
/// attribute.
///
/// ```
/// use scimkit::schema::{Registry, Write};
/// use scimkit::{Compat, ScimError, ScimType};
/// use serde_json::json;
///
/// let registry = Registry::scim_default();
/// let users = registry.resource_type("User").unwrap();
/// let err = users.normalize(json!({"active": true}), Write::Create, &Compat::lenient()).unwrap_err();
/// assert_eq!(err.scim_type(), ScimType::InvalidValue);
/// assert_eq!(err.to_string(), "userName is required");
/// let scim: ScimError = err.into();
/// assert_eq!(scim.status(), 400);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct SchemaError {
    scim_type: ScimType,
    detail: String,
}

impl SchemaError {
    pub(crate) fn new(scim_type: ScimType, detail: impl Into<String>) -> SchemaError {
        SchemaError {
            scim_type,
            detail: detail.into(),
        }
    }

    pub(crate) fn invalid_value(detail: impl Into<String>) -> SchemaError {
        SchemaError::new(ScimType::InvalidValue, detail)
    }

    pub(crate) fn invalid_syntax(detail: impl Into<String>) -> SchemaError {
        SchemaError::new(ScimType::InvalidSyntax, detail)
    }

    pub(crate) fn mutability(detail: impl Into<String>) -> SchemaError {
        SchemaError::new(ScimType::Mutability, detail)
    }

    /// The `scimType` a client is answered with.
    pub fn scim_type(&self) -> ScimType {
        self.scim_type
    }
}

impl From<SchemaError> for ScimError {
    /// A `400` with the error's `scimType` and message.
    fn from(err: SchemaError) -> ScimError {
        ScimError::bad_request(err.scim_type, err.detail)
    }
}
