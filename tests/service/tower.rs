//! The service as a `tower::Service` over any `http_body::Body`: the caller authenticated
//! on its headers before a byte of the body is read, each endpoint's body limit, paths with
//! and without the base path, `405` with `Allow`, and what the builder refuses.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use scimkit::auth::BearerToken;
use scimkit::service::BuildError;
use scimkit::{MemoryStore, ScimService};
use serde_json::{json, Value};
use tower_service::Service;

use crate::common::{self, TOKEN};

/// A body of `chunks` chunks of 64 KiB, counting how many were read.
struct Counted {
    left: usize,
    read: Arc<AtomicUsize>,
}

impl Body for Counted {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        self.left -= 1;
        self.read.fetch_add(1, Ordering::Relaxed);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b' '; 64 * 1024])))))
    }
}

/// One request through `tower::Service::call`; the status, the headers and the body.
async fn tower_call<B>(
    service: &ScimService,
    request: Request<B>,
) -> (StatusCode, Response<()>, Value)
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut service = service.clone();
    let response = service.call(request).await.unwrap_or_else(|e| match e {});
    let (parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .unwrap_or_else(|e| match e {})
        .to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (parts.status, Response::from_parts(parts, ()), json)
}

fn post(uri: &str, token: Option<&str>) -> http::request::Builder {
    let builder = Request::post(uri).header("Content-Type", "application/scim+json");
    match token {
        Some(t) => builder.header("Authorization", format!("Bearer {t}")),
        None => builder,
    }
}

#[tokio::test]
async fn a_caller_is_authenticated_before_its_body_is_read() {
    let service = common::service();
    let read = Arc::new(AtomicUsize::new(0));
    // 5 MiB from a client without a key: 401, and not one chunk read.
    let body = Counted {
        left: 80,
        read: Arc::clone(&read),
    };
    let (status, response, _) =
        tower_call(&service, post("/scim/v2/Users", None).body(body).unwrap()).await;
    assert_eq!(status, 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"SCIM\""
    );
    assert_eq!(read.load(Ordering::Relaxed), 0, "the body was read");
    // The same with a key: 413 naming the limit of /Users (1 MiB), not Bulk's, and the
    // body read no further than the limit.
    let body = Counted {
        left: 80,
        read: Arc::clone(&read),
    };
    let (status, _, err) = tower_call(
        &service,
        post("/scim/v2/Users", Some(TOKEN)).body(body).unwrap(),
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(err["detail"], "the body is larger than 1048576 bytes");
    assert!(read.load(Ordering::Relaxed) <= 17, "read past the limit");
    // A declared length over the limit is refused before reading.
    read.store(0, Ordering::Relaxed);
    let body = Counted {
        left: 80,
        read: Arc::clone(&read),
    };
    let request = post("/scim/v2/Users", Some(TOKEN))
        .header("Content-Length", (80 * 64 * 1024).to_string())
        .body(body)
        .unwrap();
    assert_eq!(tower_call(&service, request).await.0, 413);
    assert_eq!(read.load(Ordering::Relaxed), 0);
    // handle() answers the same for bodies read already: 401 first, then the limit.
    let huge = Bytes::from(vec![b' '; 5 * 1024 * 1024]);
    let anonymous = post("/scim/v2/Users", None).body(huge.clone()).unwrap();
    assert_eq!(service.handle(anonymous).await.status(), 401);
    let keyed = post("/scim/v2/Users", Some(TOKEN)).body(huge).unwrap();
    let response = service.handle(keyed).await;
    assert_eq!(response.status(), 413);
    let err: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(err["detail"], "the body is larger than 1048576 bytes");
}

#[tokio::test]
async fn bulk_takes_a_larger_body_than_one_resource() {
    let service = common::service();
    let users: Vec<Value> = (0..1000)
        .map(|i| {
            json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"),
                   "data": {"userName": format!("user{i}@example.com"), "title": "x".repeat(1100)}})
        })
        .collect();
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": users})
        .to_string();
    assert!(body.len() > 1024 * 1024, "{} bytes", body.len());
    let request = post("/scim/v2/Bulk", Some(TOKEN))
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let (status, _, answer) = tower_call(&service, request).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["Operations"][999]["status"], "201");
    let mut service_request = http::request::Builder::new()
        .uri("/scim/v2/Bulk")
        .body(())
        .unwrap()
        .into_parts()
        .0;
    assert_eq!(service.body_limit(&service_request), 4 * 1024 * 1024);
    service_request.uri = "/scim/v2/Users".parse().unwrap();
    assert_eq!(service.body_limit(&service_request), 1024 * 1024);
}

#[tokio::test]
async fn paths_are_taken_with_the_base_path_or_without_it() {
    let service = common::service();
    for uri in ["/scim/v2/Users", "/Users"] {
        let request = post(uri, Some(TOKEN))
            .body(Full::new(Bytes::from(format!(
                r#"{{"userName": "at {uri}"}}"#
            ))))
            .unwrap();
        let (status, response, created) = tower_call(&service, request).await;
        assert_eq!(status, 201, "{uri}: {created}");
        let location = format!(
            "https://app.example.com/scim/v2/Users/{}",
            created["id"].as_str().unwrap()
        );
        assert_eq!(created["meta"]["location"], location.as_str(), "{uri}");
        assert_eq!(response.headers()["location"], location.as_str(), "{uri}");
    }
    // Without a base URL, locations are made from the Host header and the base path, so
    // that they are right under a framework that stripped the base path.
    let service = ScimService::builder(MemoryStore::new())
        .authenticator(BearerToken::new(TOKEN))
        .build()
        .unwrap();
    let request = post("/Users", Some(TOKEN))
        .header("Host", "app.example.com")
        .body(Full::new(Bytes::from(r#"{"userName": "nested"}"#)))
        .unwrap();
    let (_, _, created) = tower_call(&service, request).await;
    assert!(
        created["meta"]["location"]
            .as_str()
            .unwrap()
            .starts_with("http://app.example.com/scim/v2/Users/"),
        "{created}"
    );
    // An unknown endpoint says where it looked and what the base path is.
    let request = Request::get("/scim/v1/Users")
        .header("Authorization", format!("Bearer {TOKEN}"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let (status, _, err) = tower_call(&service, request).await;
    assert_eq!(status, 404);
    let detail = err["detail"].as_str().unwrap();
    assert!(
        detail.contains("/scim/v1/Users") && detail.contains("/scim/v2"),
        "{detail}"
    );
}

#[tokio::test]
async fn a_service_at_the_root_answers_at_the_root() {
    let service = ScimService::builder(MemoryStore::new())
        .authenticator(BearerToken::new(TOKEN))
        .base_path("/")
        .base_url("https://scim.example.com")
        .build()
        .unwrap();
    let request = Request::get("/ServiceProviderConfig")
        .header("Authorization", format!("Bearer {TOKEN}"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let (status, _, config) = tower_call(&service, request).await;
    assert_eq!(status, 200, "{config}");
    assert_eq!(
        config["meta"]["location"],
        "https://scim.example.com/ServiceProviderConfig"
    );
}

#[tokio::test]
async fn a_method_not_allowed_names_the_allowed_ones() {
    let service = common::service();
    for (method, uri, allow) in [
        ("DELETE", "/scim/v2/Users", "GET, POST"),
        ("PUT", "/scim/v2/ServiceProviderConfig", "GET"),
        ("GET", "/scim/v2/Bulk", "POST"),
        ("GET", "/scim/v2/.search", "POST"),
        ("POST", "/scim/v2/Schemas", "GET"),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("Authorization", format!("Bearer {TOKEN}"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let (status, response, err) = tower_call(&service, request).await;
        assert_eq!(status, 405, "{method} {uri}");
        assert_eq!(response.headers()["allow"], allow, "{method} {uri}");
        assert_eq!(err["status"], "405");
    }
}

#[test]
fn the_builder_refuses_what_cannot_serve() {
    let err = ScimService::builder(MemoryStore::new())
        .build()
        .unwrap_err();
    assert_eq!(err, BuildError::NoAuthenticator);
    assert!(err.to_string().contains("BearerToken::new"), "{err}");
    let err = ScimService::builder(MemoryStore::new())
        .authenticator(BearerToken::new(TOKEN))
        .base_url("app.example.com/scim/v2")
        .build()
        .unwrap_err();
    assert!(matches!(err, BuildError::BaseUrl { .. }), "{err}");
    let err = ScimService::builder(MemoryStore::new())
        .authenticator(BearerToken::new(TOKEN))
        .base_path("/scim v2")
        .build()
        .unwrap_err();
    assert!(matches!(err, BuildError::BasePath(_)), "{err}");
    let mut limits = scimkit::service::ServiceLimits::default();
    limits.default_count = limits.max_count + 1;
    let err = ScimService::builder(MemoryStore::new())
        .authenticator(BearerToken::new(TOKEN))
        .limits(limits)
        .build()
        .unwrap_err();
    assert!(matches!(err, BuildError::Limits(_)), "{err}");
}

/// Without a key of the tenant, the service answers `401` whatever the path.
#[tokio::test]
async fn a_single_tenant_token_needs_no_tenant_name() {
    let service = ScimService::builder(MemoryStore::new())
        .authenticator(BearerToken::new(TOKEN))
        .build()
        .unwrap();
    let request = post("/scim/v2/Users", Some(TOKEN))
        .body(Bytes::from(r#"{"userName": "solo"}"#))
        .unwrap();
    assert_eq!(service.handle(request).await.status(), 201);
    let request = post("/scim/v2/Users", Some("another-token-entirely"))
        .body(Bytes::from(r#"{"userName": "solo"}"#))
        .unwrap();
    assert_eq!(service.handle(request).await.status(), 401);
}
