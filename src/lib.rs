//! # scimkit
//!
//! An embeddable SCIM 2.0 service provider: the part of a SaaS application that lets
//! identity providers — Microsoft Entra ID, Okta, Google Workspace, JumpCloud, OneLogin,
//! Ping — provision users and groups into it (RFC 7643, RFC 7644, RFC 9865).
//!
//! The core does no I/O: [`ScimService`] turns an `http::Request` into an
//! `http::Response`, tolerating what identity providers really send, and reaches the
//! application's data through the [`ResourceStore`] trait. It is a `tower::Service`, so an
//! axum application mounts it in one line:
//!
//! ```no_run
//! use axum::Router;
//! use scimkit::store::{Document, Page, Query, Scope, StoreError, WriteOptions};
//! use scimkit::{async_trait, BearerToken, ResourceStore, ScimService};
//! use serde_json::Value;
//!
//! /// The application's database, behind the five calls SCIM needs.
//! struct AppStore;
//!
//! #[async_trait]
//! impl ResourceStore for AppStore {
//!     async fn create(&self, scope: &Scope<'_>, resource: Value, options: WriteOptions) -> Result<Document, StoreError> {
//!         todo!("insert, keeping options.unique unique in the tenant")
//!     }
//!     async fn get(&self, scope: &Scope<'_>, id: &str) -> Result<Document, StoreError> {
//!         todo!("select by id")
//!     }
//!     async fn replace(&self, scope: &Scope<'_>, id: &str, resource: Value, options: WriteOptions) -> Result<Document, StoreError> {
//!         todo!("update where the version is options.if_match, if given")
//!     }
//!     async fn delete(&self, scope: &Scope<'_>, id: &str, options: WriteOptions) -> Result<(), StoreError> {
//!         todo!("delete, on the same condition")
//!     }
//!     async fn query(&self, scope: &Scope<'_>, query: &Query<'_>) -> Result<Page, StoreError> {
//!         todo!("query.filter() as SQL (scimkit::sql), or query.matches() in memory")
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let scim = ScimService::builder(AppStore)
//!         .authenticator(BearerToken::new(&std::env::var("SCIM_TOKEN")?))
//!         .build()?;
//!     let app = Router::new().nest_service("/scim/v2", scim);
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! [`MemoryStore`] and (feature `sqlite`, on by default) `SqliteStore` are stores ready to
//! use; the [stores guide](guide::stores) shows how to write one, and
//! [`store::paginate`], [`store::Sort`] and the conformance suite are there to help.
//!
//! ## The crate
//!
//! | module | what it holds |
//! |---|---|
//! | [`service`] | [`ScimService`] and its builder: endpoints, Bulk, discovery, ETags, limits |
//! | [`store`] | the [`ResourceStore`] trait, its [`Query`](store::Query), the stores of the crate, the conformance suite |
//! | [`auth`] | authenticators: [`BearerToken`], [`KeyStore`]s of tenants and their API keys |
//! | [`schema`] | schemas, resource types, the [`Registry`]; validation and projection of resources |
//! | [`filter`], [`eval`] | the filter language: [`Filter`] parsed and printed, a [`Matcher`](eval::Matcher) evaluating it |
//! | [`patch`] | PATCH requests and their application, all or nothing |
//! | [`events`], [`roles`] | the provisioning activity log; group-based roles |
//! | `sql` | filters and sorts as SQL, for SQLite and PostgreSQL (feature `sql`) |
//! | [`error`] | [`ScimError`]: what a client is answered when something fails |
//!
//! Each layer has its own error — [`FilterError`], [`PatchError`](patch::PatchError),
//! [`SchemaError`](schema::SchemaError), [`StoreError`](store::StoreError) — that converts
//! into a [`ScimError`] where the response is made.
//!
//! ## Guides
//!
//! - [Embedding](guide::embedding): authenticators, mounting, base paths, logs.
//! - [Identity providers](guide::identity_providers): what they send and what is accepted;
//!   filters, validation, PATCH, Bulk.
//! - [Stores](guide::stores): the stores of the crate, writing one, the conformance suite.
//! - [Tenants](guide::tenants): API keys, the activity log and roles — a settings page.
//! - [Limits](guide::limits): what bounds hostile input.
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `sqlite` | yes | `SqliteStore` and `SqliteKeyStore`, with SQLite built in (implies `sql`) |
//! | `tracing` | yes | a span per request, events for store faults and retries |
//! | `sql` | no | the `sql` module, without a database driver |
//! | `conformance` | no | `store::conformance` and `store_conformance_tests!`, for a store author's tests |

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
pub mod compat;
pub mod error;
pub mod eval;
pub mod events;
pub mod filter;
mod json;
pub mod patch;
#[cfg(feature = "postgres")]
mod pg;
pub mod resource;
pub mod roles;
pub mod schema;
pub mod service;
#[cfg(feature = "sql")]
#[cfg_attr(docsrs, doc(cfg(feature = "sql")))]
pub mod sql;
pub mod store;

/// The attribute the crate's traits are implemented with (`#[scimkit::async_trait]` on
/// an `impl ResourceStore for …`), re-exported so that implementers need not depend on
/// `async-trait` themselves.
pub use async_trait::async_trait;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use auth::SqliteKeyStore;
pub use auth::{Authenticator, BearerToken, Caller, Idp, KeyStore, MemoryKeyStore, TenantSettings};
pub use compat::Compat;
pub use error::{ScimError, ScimType};
pub use filter::{Filter, FilterError};
pub use schema::Registry;
pub use service::ScimService;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use store::SqliteStore;
pub use store::{MemoryStore, ResourceStore};

/// Guides: how the pieces fit together, with examples that run.
pub mod guide {
    #[doc = include_str!("../docs/embedding.md")]
    pub mod embedding {}
    #[doc = include_str!("../docs/identity-providers.md")]
    pub mod identity_providers {}
    #[doc = include_str!("../docs/stores.md")]
    pub mod stores {}
    #[doc = include_str!("../docs/tenants.md")]
    pub mod tenants {}
    #[doc = include_str!("../docs/limits.md")]
    pub mod limits {}
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
