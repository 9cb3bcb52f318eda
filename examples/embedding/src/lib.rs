//! An application that embeds scimkit as its users do: a store of its own
//! ([`AppStore`]), and the service mounted in its axum router — under `/scim/v2` beside the
//! application's own routes, or at the root of a router of its own (a host such as
//! `scim.example.com` that serves nothing else).

use axum::routing::get;
use axum::Router;
use scimkit::ScimService;

mod store;

pub use store::AppStore;

/// The application's router with the SCIM service under `/scim/v2`: axum strips the
/// prefix, and the service takes the rest as relative to its base path.
pub fn nested(scim: ScimService) -> Router {
    Router::new()
        .route("/", get(|| async { "the application" }))
        .nest_service("/scim/v2", scim)
}

/// A router that is the SCIM service and nothing else: the service at the root, built
/// with `base_path("/")`.
pub fn at_root(scim: ScimService) -> Router {
    Router::new().fallback_service(scim)
}
