//! The service mounted with `Router::nest_service("/scim/v2", …)` and at the root of a
//! router, each driven as Microsoft Entra ID drives it: `meta.location` and `Location`
//! name the URLs the identity provider calls, whatever the framework stripped.

use axum::body::Body;
use axum::Router;
use http_body_util::BodyExt;
use scimkit::auth::{Idp, TenantSettings};
use scimkit::{BearerToken, ScimService};
use scimkit_example_embedding::{at_root, nested, AppStore};
use serde_json::{json, Value};
use tower::ServiceExt;

const TOKEN: &str = "embedding-test-token-0123456789";

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (u16, Value, Option<String>) {
    let request = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("Host", "app.example.com")
        .header("Authorization", format!("Bearer {TOKEN}"))
        .header("Content-Type", "application/scim+json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        location,
    )
}

/// Entra ID's user lifecycle at `base` (the path prefix of the app's SCIM URL).
async fn entra_lifecycle(app: &Router, base: &str, url: &str) {
    let (status, found, _) = call(
        app,
        "GET",
        &format!("{base}/Users?filter=userName+eq+%22Test_User_9f1%22"),
        None,
    )
    .await;
    assert_eq!(
        (status, found["totalResults"].clone()),
        (200, json!(0)),
        "{found}"
    );
    let (status, created, location) = call(
        app,
        "POST",
        &format!("{base}/Users"),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_9f1",
            "active": true,
            "emails": [{"primary": true, "type": "work", "value": "Test_User_9f1@testuser.com"}],
            "meta": {"resourceType": "User"},
            "name": {"familyName": "familyName", "givenName": "givenName"},
            "roles": []
        })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let expected = format!("{url}/Users/{id}");
    assert_eq!(created["meta"]["location"], expected.as_str());
    assert_eq!(location.as_deref(), Some(expected.as_str()));
    let (status, patched, _) = call(
        app,
        "PATCH",
        &format!("{base}/Users/{id}"),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}]
        })),
    )
    .await;
    assert_eq!(
        (status, patched),
        (204, Value::Null),
        "Entra's profile answers 204"
    );
    let (status, got, _) = call(app, "GET", &format!("{base}/Users/{id}"), None).await;
    assert_eq!((status, got["active"].clone()), (200, json!(false)));
    let (status, _, _) = call(app, "DELETE", &format!("{base}/Users/{id}"), None).await;
    assert_eq!(status, 204);
    let (status, _, _) = call(app, "GET", &format!("{base}/Users/{id}"), None).await;
    assert_eq!(status, 404);
}

fn service(base_path: &str) -> ScimService {
    ScimService::builder(AppStore::new())
        .authenticator(BearerToken::new(TOKEN))
        .base_path(base_path)
        .tenant_defaults(TenantSettings::for_idp(Idp::Entra))
        .build()
        .unwrap()
}

#[tokio::test]
async fn nested_under_scim_v2_beside_the_applications_routes() {
    let app = nested(service("/scim/v2"));
    entra_lifecycle(&app, "/scim/v2", "http://app.example.com/scim/v2").await;
    let (status, config, _) = call(&app, "GET", "/scim/v2/ServiceProviderConfig", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        config["meta"]["location"],
        "http://app.example.com/scim/v2/ServiceProviderConfig"
    );
    // The application's own route is the application's.
    let (status, _, _) = call(&app, "GET", "/", None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn at_the_root_of_a_router_of_its_own() {
    let app = at_root(service("/"));
    entra_lifecycle(&app, "", "http://app.example.com").await;
    let (status, _, _) = call(&app, "GET", "/ResourceTypes/User", None).await;
    assert_eq!(status, 200);
}
