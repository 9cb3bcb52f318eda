//! PATCH (RFC 7644 §3.5.2): the request model, path grammar and atomic application,
//! tolerant of what identity providers really send.
//!
//! [`PatchRequest::from_json`] reads a body; [`ResourceTypeView::patch`] applies it to a
//! resource, all or nothing; a failure is a [`PatchError`] naming the operation.
//!
//! ```
//! use scimkit::patch::PatchRequest;
//! use scimkit::schema::Registry;
//! use scimkit::Compat;
//! use serde_json::json;
//!
//! let registry = Registry::scim_default();
//! let users = registry.resource_type("User").unwrap();
//! let user = json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "id": "2819c223", "userName": "bjensen", "active": true,
//!     "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}]
//! });
//! // Microsoft Entra ID: capitalised ops, a string boolean, a filter that matches nothing.
//! let request = PatchRequest::from_json(json!({
//!     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!     "Operations": [
//!         {"op": "Replace", "path": "active", "value": "False"},
//!         {"op": "Add", "path": "emails[type eq \"home\"].value", "value": "babs@jensen.org"}
//!     ]
//! }), &Compat::lenient())?;
//! let patched = users.patch(&user, &request, &Compat::lenient())?;
//! assert!(patched.changed);
//! assert_eq!(patched.resource["active"], false);
//! assert_eq!(patched.resource["emails"][1], json!({"type": "home", "value": "babs@jensen.org"}));
//! # Ok::<(), scimkit::patch::PatchError>(())
//! ```

mod apply;
mod changes;
mod error;
mod members;
mod remove;
mod request;
mod set;

pub use apply::Patched;
pub use changes::AttributeChange;
pub use error::PatchError;
pub use members::{MemberChanges, MemberOp, NetChange};
pub use request::{OpKind, Operation, PatchPath, PatchRequest, PATCH_OP};

pub(crate) use apply::apply;
pub(crate) use changes::changes;
pub(crate) use members::member_changes;

use apply::{identified_by_value, prune, value_key, Engine};

#[cfg(doc)]
use crate::schema::ResourceTypeView;
