//! Helpers shared by the service tests: a service over the in-memory store with a fixed
//! clock, and one call through it.

#![allow(dead_code)]

use bytes::Bytes;
use chrono::{TimeZone, Utc};
use http::{Request, Response, StatusCode};
use scimkit::auth::BearerToken;
use scimkit::service::{ScimService, ServiceBuilder};
use scimkit::store::MemoryStore;
use serde_json::Value;

/// The bearer token the test services accept, for tenant `acme`.
pub const TOKEN: &str = "test-token-3f9c";

/// A builder over a fresh in-memory store: token [`TOKEN`] for `acme`, base URL
/// `https://app.example.com/scim/v2`, the clock stopped at 2026-11-23T12:00:00Z.
pub fn builder() -> ServiceBuilder {
    ScimService::builder(MemoryStore::new())
        .authenticator(BearerToken::for_tenant(TOKEN, "acme"))
        .base_url("https://app.example.com/scim/v2")
        .clock(|| Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap())
}

/// [`builder`], built.
pub fn service() -> ScimService {
    builder().build().unwrap()
}

/// A file of `tests/data`, as JSON.
pub fn data(path: &str) -> Value {
    let full = format!("{}/tests/data/{path}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&full).unwrap()).unwrap()
}

/// One request with the test token; the body as JSON (`Null` when empty), checking the
/// media type of every non-empty response.
pub async fn call(
    service: &ScimService,
    method: &str,
    uri: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (StatusCode, Value, Response<Bytes>) {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header("Authorization", format!("Bearer {TOKEN}"))
        .header("Content-Type", "application/scim+json; charset=utf-8");
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let body = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
    let response = service.handle(builder.body(body).unwrap()).await;
    let status = response.status();
    let json = if response.body().is_empty() {
        Value::Null
    } else {
        assert_eq!(response.headers()["content-type"], "application/scim+json");
        serde_json::from_slice(response.body()).unwrap()
    };
    (status, json, response)
}

/// One request with a bearer `key` and, when given, a `User-Agent`; the status and the
/// body as JSON (`Null` when empty).
pub async fn call_with(
    service: &ScimService,
    key: &str,
    agent: Option<&str>,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header("Authorization", format!("Bearer {key}"));
    if let Some(agent) = agent {
        builder = builder.header("User-Agent", agent);
    }
    let body = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
    let response = service.handle(builder.body(body).unwrap()).await;
    let json = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
    (response.status(), json)
}
