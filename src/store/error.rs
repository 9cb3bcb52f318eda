//! [`StoreError`]: a store's failure, with the protocol meaning the service needs.

use http::StatusCode;

use crate::error::{ScimError, ScimType};

/// A store's failure, with the protocol meaning the service needs: what the client did
/// (`NotFound`, `Conflict`, `PreconditionFailed`, `InvalidCursor`, `Unstorable`), what may pass
/// (`Unavailable`: try again) and what will not (`Internal`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No resource with that id in that scope (`404`).
    #[error("resource not found")]
    NotFound,
    /// A value that must be unique is taken: the attribute's path, as the
    /// [`UniqueValue`](crate::schema::UniqueValue) spells it (`409 uniqueness`). Also a
    /// create whose id is taken (the path `id`).
    #[error("{0} is already taken")]
    Conflict(String),
    /// The resource's version is not the one the write expected (`412`).
    #[error("the resource has changed: its version is {current}")]
    PreconditionFailed {
        /// The version the resource has now.
        current: String,
    },
    /// A cursor the store did not issue, or no longer honours (`400 invalidCursor`).
    #[error("invalid cursor")]
    InvalidCursor,
    /// A value the store cannot keep as given (PostgreSQL keeps no NUL character in text
    /// or JSON, and no indexed value longer than about 2,700 bytes): what it is
    /// (`400 invalidValue`).
    #[error("the store cannot keep this value: {0}")]
    Unstorable(String),
    /// The store cannot answer now but may soon: a connection lost, a pool exhausted, a
    /// lock timed out (`503`; the client should try again).
    #[error("the store is unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The store failed in a way retrying will not mend: data it cannot read, a query it
    /// rejects (`500`).
    #[error("the store failed: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// [`StoreError::Unavailable`] with `source` as its cause.
    pub fn unavailable(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
        StoreError::Unavailable(source.into())
    }

    /// [`StoreError::Internal`] with `source` as its cause.
    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
        StoreError::Internal(source.into())
    }

    /// Whether the same request may succeed later: the store was unavailable.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

impl From<StoreError> for ScimError {
    /// 404, `409 uniqueness`, 412, `400 invalidCursor`, `400 invalidValue`, 503 or 500. What a failing store
    /// said stays out of the response; it is the error's
    /// [`source`](std::error::Error::source), for logs.
    fn from(err: StoreError) -> ScimError {
        match err {
            StoreError::NotFound => {
                ScimError::new(StatusCode::NOT_FOUND, None, "resource not found")
            }
            StoreError::Conflict(path) => ScimError::new(
                StatusCode::CONFLICT,
                Some(ScimType::Uniqueness),
                format!("{path} is already taken"),
            ),
            StoreError::PreconditionFailed { .. } => ScimError::new(
                StatusCode::PRECONDITION_FAILED,
                None,
                "the resource has changed since the version given in If-Match",
            ),
            StoreError::InvalidCursor => ScimError::bad_request(
                ScimType::InvalidCursor,
                "the cursor is invalid or has expired",
            ),
            StoreError::Unstorable(what) => ScimError::bad_request(
                ScimType::InvalidValue,
                format!("the directory cannot keep this value: {what}"),
            ),
            StoreError::Unavailable(cause) => ScimError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "the directory is unavailable; try again later",
            )
            .with_cause(cause),
            StoreError::Internal(cause) => ScimError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                "the directory failed to answer",
            )
            .with_cause(cause),
        }
    }
}
