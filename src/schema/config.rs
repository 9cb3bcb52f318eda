//! The service provider configuration (RFC 7643 §5), with RFC 9865's `pagination`.

use serde::{Deserialize, Serialize};

/// The schema URN of the service provider configuration.
pub const SERVICE_PROVIDER_CONFIG: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// `{"supported": …}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supported {
    /// Whether the feature is supported.
    pub supported: bool,
}

/// Bulk support and its limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkConfig {
    /// Whether `/Bulk` is supported.
    pub supported: bool,
    /// The most operations one request may hold.
    pub max_operations: u64,
    /// The largest request body, in bytes.
    pub max_payload_size: u64,
}

/// Filter support and its limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterConfig {
    /// Whether filtering is supported.
    pub supported: bool,
    /// The most resources one response returns.
    pub max_results: u64,
}

/// Pagination support (RFC 9865 §4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaginationConfig {
    /// Whether cursor paging is supported.
    pub cursor: bool,
    /// Whether index paging is supported.
    pub index: bool,
    /// `cursor` or `index`: what a request that asks for neither gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_pagination_method: Option<String>,
    /// The page size when a request gives no `count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_page_size: Option<u64>,
    /// The largest page served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_page_size: Option<u64>,
    /// How long a cursor stays valid, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor_timeout: Option<u64>,
}

/// An authentication scheme the service accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationScheme {
    /// The common name, e.g. `OAuth Bearer Token`.
    pub name: String,
    /// A description.
    pub description: String,
    /// The scheme's type, e.g. `oauthbearertoken`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The URI of the scheme's specification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_uri: Option<String>,
    /// The URI of its documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_uri: Option<String>,
    /// Whether this is the preferred scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
}

impl AuthenticationScheme {
    /// An OAuth bearer token (RFC 6750), the scheme identity providers use with SCIM.
    pub fn bearer_token() -> AuthenticationScheme {
        AuthenticationScheme {
            name: "OAuth Bearer Token".into(),
            description:
                "Authentication with a bearer token (RFC 6750) in the Authorization header.".into(),
            kind: "oauthbearertoken".into(),
            spec_uri: Some("https://www.rfc-editor.org/info/rfc6750".into()),
            documentation_uri: None,
            primary: Some(true),
        }
    }
}

/// What the service supports (RFC 7643 §5), served at `/ServiceProviderConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceProviderConfig {
    /// Where humans find the service's documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_uri: Option<String>,
    /// PATCH support.
    pub patch: Supported,
    /// Bulk support.
    pub bulk: BulkConfig,
    /// Filter support.
    pub filter: FilterConfig,
    /// Password change support.
    pub change_password: Supported,
    /// Sorting support.
    pub sort: Supported,
    /// ETag support.
    pub etag: Supported,
    /// The accepted authentication schemes.
    pub authentication_schemes: Vec<AuthenticationScheme>,
    /// Pagination support (RFC 9865).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<PaginationConfig>,
}

impl ServiceProviderConfig {
    /// The RFC 7643 §5 representation, with `schemas` and, given the service's base URL,
    /// `meta`.
    pub fn to_json(&self, base_url: Option<&str>) -> serde_json::Value {
        let json = serde_json::to_value(self).expect("the configuration serialises");
        crate::json::with_schemas_and_meta(
            json,
            SERVICE_PROVIDER_CONFIG,
            base_url,
            "ServiceProviderConfig",
            "ServiceProviderConfig",
        )
    }
}
