//! # scimkit
//!
//! An embeddable SCIM 2.0 service-provider library: the part of a SaaS application that
//! lets identity providers such as Microsoft Entra ID, Okta, JumpCloud, OneLogin and Ping
//! provision users and groups into it (RFC 7643, RFC 7644, RFC 9865).
//!
//! The core does no I/O. It parses what an identity provider sends, checks it against the
//! schemas, and answers with SCIM JSON; transport and storage come from the application.
//!
//! ## Filters
//!
//! Every list, search, PATCH path and storage query stands on the filter language of
//! RFC 7644 §3.4.2.2. A [`Filter`] parses from a string, prints back in canonical syntax,
//! and is evaluated against JSON resources by an [`eval::Matcher`]:
//!
//! ```
//! use scimkit::eval::{Matcher, TypeMap};
//! use scimkit::Filter;
//! use serde_json::json;
//!
//! // The filter Microsoft Entra ID sends to find a user before creating it.
//! let filter: Filter = r#"userName eq "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081""#.parse()?;
//! let user = json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "userName": "test_user_DFEEF4C5-5681-4387-b016-bdf221e82081",
//!     "active": true,
//!     "emails": [{"type": "work", "value": "Test_User@example.com", "primary": true}],
//! });
//!
//! // Compile once (names and types resolved, literals prepared), then match many resources.
//! let matcher = Matcher::new(&filter, &TypeMap::scim_core())?;
//! assert!(matcher.matches(&user)); // userName is not case-exact
//!
//! let work: Filter = r#"emails[type eq "work"].value ew "@EXAMPLE.com" and active eq true"#.parse()?;
//! assert!(Matcher::new(&work, &TypeMap::scim_core())?.matches(&user));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Schemas and validation
//!
//! [`schema::Registry`] knows the resource types and their schemas (User, Group and the
//! Enterprise User extension built in, the application's own added). A resource type
//! resolves names, normalises what an identity provider sends into a canonical resource
//! under a [`Compat`] profile, and projects resources for responses; it is also the
//! evaluator's source of attribute types:
//!
//! ```
//! use scimkit::eval::Matcher;
//! use scimkit::schema::{Registry, Write};
//! use scimkit::{Compat, Filter};
//! use serde_json::json;
//!
//! let registry = Registry::scim_default();
//! let users = registry.resource_type("User").unwrap();
//! let user = users.normalize(json!({
//!     "userName": "bjensen",
//!     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984"}
//! }), Write::Create, &Compat::lenient())?.resource;
//!
//! let filter: Filter = r#"employeeNumber eq "701984""#.parse()?;
//! assert!(Matcher::new(&filter, &users)?.matches(&user));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## PATCH
//!
//! [`patch::PatchRequest`] reads a PatchOp body and [`schema::ResourceTypeView::patch`]
//! applies it all or nothing, tolerating what Entra ID, Okta and JumpCloud send under the
//! lenient [`Compat`] profile (see the [`patch`] module).
//!
//! ## Serving and storing
//!
//! [`service::ScimService`] answers `http::Request`s with `http::Response`s, without a web
//! framework; it reaches storage through the [`store::ResourceStore`] trait. Two stores come
//! with the crate: [`store::MemoryStore`], and (feature `sqlite`, on by default)
//! `store::SqliteStore`, persistent, with filters pushed down to SQL through the
//! `sql` module. `examples/server.rs` is a complete server under axum:
//!
//! ```no_run
//! use scimkit::auth::BearerToken;
//! use scimkit::service::ScimService;
//! use scimkit::store::SqliteStore;
//!
//! let service = ScimService::builder(SqliteStore::open("scim.db")?)
//!     .authenticator(BearerToken::for_tenant("a long random token", "tenant-1"))
//!     .build();
//! // In the web framework's handler: `service.handle(request).await`.
//! # Ok::<(), scimkit::store::StoreError>(())
//! ```
//!
//! ## Tenants, the activity log and roles
//!
//! One service serves every tenant of an application. [`auth`] names the caller's tenant
//! and its settings (identity provider profile, deprovisioning policy, PATCH answer) from
//! an API key that a [`auth::KeyStore`] shows once, keeps as a digest, rotates and revokes;
//! [`events`] reports every write and every failed request with what changed and who sent
//! it, for an activity log; [`roles`] keeps each user's application role from ordered
//! rules over the identity provider's groups. `POST /Bulk` runs many operations in one
//! request, with `bulkId` references resolved.
//!
//! Bad filters are errors that point at the offending byte and become a SCIM
//! `400 invalidFilter`:
//!
//! ```
//! use scimkit::{Filter, ScimError, ScimType};
//!
//! let err = r#"userName eq "bjensen" and"#.parse::<Filter>().unwrap_err();
//! assert_eq!(err.offset(), 25);
//! let scim: ScimError = err.into();
//! assert_eq!(scim.scim_type(), Some(ScimType::InvalidFilter));
//! ```

pub mod auth;
pub mod compat;
pub mod error;
pub mod eval;
pub mod events;
pub mod filter;
mod json;
pub mod patch;
pub mod resource;
pub mod roles;
pub mod schema;
pub mod service;
#[cfg(feature = "sql")]
pub mod sql;
pub mod store;

/// The attribute the crate's traits are implemented with (`#[scimkit::async_trait]` on
/// an `impl ResourceStore for …`), re-exported so that implementers need not depend on
/// `async-trait` themselves.
pub use async_trait::async_trait;
#[cfg(feature = "sqlite")]
pub use auth::SqliteKeyStore;
pub use auth::{Authenticator, BearerToken, Caller, Idp, KeyStore, MemoryKeyStore, TenantSettings};
pub use compat::Compat;
pub use error::{ScimError, ScimType};
pub use filter::{Filter, FilterError};
pub use schema::Registry;
pub use service::ScimService;
#[cfg(feature = "sqlite")]
pub use store::SqliteStore;
pub use store::{MemoryStore, ResourceStore};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
