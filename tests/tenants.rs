//! Tenants and their API keys through one service: keys shown once and kept hashed, the
//! same `userName` in two tenants without either seeing the other, rotation that kills the
//! old key at once, revocation and disabling that answer 401.

use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use scimkit::service::{KeyError, KeyStore, MemoryKeyStore, ScimService};
use scimkit::store::MemoryStore;
use serde_json::{json, Value};

async fn call(
    svc: &ScimService,
    key: &str,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let request = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("Authorization", format!("Bearer {key}"))
        .body(body.map(|b| Bytes::from(b.to_string())).unwrap_or_default())
        .unwrap();
    let response = svc.handle(request).await;
    let json = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
    (response.status(), json)
}

#[tokio::test]
async fn two_tenants_share_nothing() {
    let keys = Arc::new(MemoryKeyStore::new());
    let svc = ScimService::builder(MemoryStore::new())
        .authenticator(Arc::clone(&keys))
        .build();
    keys.enable("acme");
    keys.enable("globex");
    let acme = keys.generate("acme").unwrap();
    let globex = keys.generate("globex").unwrap();
    assert_ne!(acme.secret(), globex.secret());
    // The same userName and group name in both tenants: no uniqueness conflict.
    let (status, a_user) = call(
        &svc,
        acme.secret(),
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "bjensen"})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, g_user) = call(
        &svc,
        globex.secret(),
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "bjensen"})),
    )
    .await;
    assert_eq!(status, 201);
    for (key, other_id) in [
        (acme.secret(), &g_user["id"]),
        (globex.secret(), &a_user["id"]),
    ] {
        let other = format!("/scim/v2/Users/{}", other_id.as_str().unwrap());
        // Another tenant's id is not found, for reads and writes alike, with no detail.
        for method in ["GET", "PUT", "PATCH", "DELETE"] {
            let body = match method {
                "PUT" => Some(json!({"userName": "x"})),
                "PATCH" => Some(
                    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "title", "value": "x"}]}),
                ),
                _ => None,
            };
            let (status, err) = call(&svc, key, method, &other, body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {other}");
            assert!(
                !err.to_string().contains("globex") && !err.to_string().contains("acme"),
                "{err}"
            );
        }
        let (_, list) = call(&svc, key, "GET", "/scim/v2/Users", None).await;
        assert_eq!(list["totalResults"], 1);
        let (_, search) = call(
            &svc,
            key,
            "POST",
            "/scim/v2/.search",
            Some(json!({"filter": "userName eq \"bjensen\""})),
        )
        .await;
        assert_eq!(search["totalResults"], 1);
        assert_ne!(search["Resources"][0]["id"], *other_id);
    }
}

#[tokio::test]
async fn rotation_revocation_and_disabling() {
    let keys = Arc::new(MemoryKeyStore::new());
    let svc = ScimService::builder(MemoryStore::new())
        .authenticator(Arc::clone(&keys))
        .build();
    assert_eq!(keys.generate("acme").unwrap_err(), KeyError::NotEnabled);
    keys.enable("acme");
    let first = keys.generate("acme").unwrap();
    let second = keys.generate("acme").unwrap();
    assert_eq!(keys.keys("acme").len(), 2);
    for key in [first.secret(), second.secret()] {
        assert_eq!(
            call(&svc, key, "GET", "/scim/v2/Users", None).await.0,
            StatusCode::OK
        );
    }
    // Revoking one key leaves the other working.
    keys.revoke("acme", first.id()).unwrap();
    assert_eq!(keys.revoke("acme", first.id()), Err(KeyError::NoSuchKey));
    let (status, err) = call(&svc, first.secret(), "GET", "/scim/v2/Users", None).await;
    assert_eq!(
        (status, err["status"].clone()),
        (StatusCode::UNAUTHORIZED, json!("401"))
    );
    assert_eq!(
        call(&svc, second.secret(), "GET", "/scim/v2/Users", None)
            .await
            .0,
        StatusCode::OK
    );
    // Rotation: the new key works, every old one fails at once.
    let rotated = keys.rotate("acme").unwrap();
    assert_eq!(
        call(&svc, second.secret(), "GET", "/scim/v2/Users", None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&svc, rotated.secret(), "GET", "/scim/v2/Users", None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        keys.keys("acme")
            .iter()
            .map(|k| k.id.as_str())
            .collect::<Vec<_>>(),
        [rotated.id()]
    );
    // A key with another key's id but a different secret, or garbage, fails.
    let forged = format!("scim_{}_{}", rotated.id(), "0".repeat(64));
    for key in [forged.as_str(), "", "scim_", "scim__", "Bearer"] {
        assert_eq!(
            call(&svc, key, "GET", "/scim/v2/Users", None).await.0,
            StatusCode::UNAUTHORIZED,
            "{key:?}"
        );
    }
    // Disabling SCIM: 401 at once; enabling again does not bring old keys back.
    keys.disable("acme");
    assert_eq!(
        call(&svc, rotated.secret(), "GET", "/scim/v2/Users", None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    keys.enable("acme");
    assert_eq!(
        call(&svc, rotated.secret(), "GET", "/scim/v2/Users", None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert!(keys.keys("acme").is_empty());
    // Secrets never show in Debug output.
    let fresh = keys.generate("acme").unwrap();
    assert!(!format!("{fresh:?} {keys:?}").contains(fresh.secret()));
}
