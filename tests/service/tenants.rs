//! Tenants through one service: keys shown once and kept hashed, the same `userName` and
//! group names in two tenants without either seeing the other on any endpoint (with the
//! tenant from the key and from the path), rotation that kills the old key at once,
//! revocation and disabling that answer 401, and each tenant's own settings.

use crate::common;

use std::sync::{Arc, Mutex};

use http::StatusCode;
use scimkit::auth::{Deprovision, Idp, KeyError, KeyStore, MemoryKeyStore, TenantSettings};
use scimkit::events::{Event, EventSink};
use scimkit::service::ScimService;
use scimkit::store::MemoryStore;
use serde_json::{json, Value};

async fn call(
    svc: &ScimService,
    key: &str,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    common::call_with(svc, key, None, method, uri, body).await
}

#[derive(Default, Clone)]
struct Recorder(Arc<Mutex<Vec<Event>>>);

#[async_trait::async_trait]
impl EventSink for Recorder {
    async fn record(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }
}

fn patch_op(path: &str, value: Value) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": path, "value": value}]
    })
}

/// Two tenants with the same user and group names, each through its own key, with the
/// tenant in the path (`prefix` `/scim/v2/{tenant}`) or not (`/scim/v2`): every endpoint
/// answers each with its own directory, and nothing of the other — not an id, not a
/// uniqueness conflict, not a word in an error.
async fn check_isolation(
    svc: &ScimService,
    keys: &MemoryKeyStore,
    in_path: bool,
    events: &Recorder,
) {
    keys.enable("acme", TenantSettings::default())
        .await
        .unwrap();
    keys.enable("globex", TenantSettings::default())
        .await
        .unwrap();
    let acme = keys.generate("acme").await.unwrap();
    let globex = keys.generate("globex").await.unwrap();
    assert_ne!(acme.secret(), globex.secret());
    let prefix = |tenant: &str| match in_path {
        true => format!("/scim/v2/{tenant}"),
        false => "/scim/v2".to_owned(),
    };
    let mut made = Vec::new();
    for (tenant, key) in [("acme", acme.secret()), ("globex", globex.secret())] {
        let base = prefix(tenant);
        let (status, user) = call(
            svc,
            key,
            "POST",
            &format!("{base}/Users"),
            Some(json!({"userName": "bjensen"})),
        )
        .await;
        assert_eq!(status, 201, "{tenant}: {user}");
        // The generated URLs say which tenant.
        let location = user["meta"]["location"].as_str().unwrap();
        assert_eq!(
            location.contains(&format!("/{tenant}/")),
            in_path,
            "{location}"
        );
        let (status, group) = call(
            svc,
            key,
            "POST",
            &format!("{base}/Groups"),
            Some(json!({"displayName": "Admins", "members": [{"value": user["id"]}]})),
        )
        .await;
        assert_eq!(status, 201, "{tenant}: {group}");
        // Uniqueness is per tenant: a second bjensen in the same tenant is refused.
        let (status, err) = call(
            svc,
            key,
            "POST",
            &format!("{base}/Users"),
            Some(json!({"userName": "BJensen"})),
        )
        .await;
        assert_eq!(
            (status, err["scimType"].clone()),
            (StatusCode::CONFLICT, json!("uniqueness"))
        );
        made.push((tenant, key.to_owned(), user, group));
    }
    for (i, (tenant, key, user, group)) in made.iter().enumerate() {
        let (other_tenant, _, other_user, other_group) = &made[1 - i];
        let base = prefix(tenant);
        for (endpoint, other) in [("Users", other_user), ("Groups", other_group)] {
            let other = format!("{base}/{endpoint}/{}", other["id"].as_str().unwrap());
            // Another tenant's id is not found, for reads and writes alike, with no detail.
            for method in ["GET", "PUT", "PATCH", "DELETE"] {
                let body = match (method, endpoint) {
                    ("PUT", "Users") => Some(json!({"userName": "x"})),
                    ("PUT", _) => Some(json!({"displayName": "x"})),
                    ("PATCH", _) => Some(patch_op("displayName", json!("x"))),
                    _ => None,
                };
                let (status, err) = call(svc, key, method, &other, body).await;
                assert_eq!(status, StatusCode::NOT_FOUND, "{method} {other}");
                let text = err.to_string();
                assert!(
                    !text.contains(other_tenant) && !text.contains(tenant),
                    "{text}"
                );
            }
        }
        for endpoint in ["Users", "Groups"] {
            let (_, list) = call(svc, key, "GET", &format!("{base}/{endpoint}"), None).await;
            assert_eq!(list["totalResults"], 1, "{tenant} {endpoint}");
        }
        let (_, search) = call(
            svc,
            key,
            "POST",
            &format!("{base}/.search"),
            Some(json!({"filter": "userName eq \"bjensen\" or displayName eq \"Admins\""})),
        )
        .await;
        assert_eq!(search["totalResults"], 2);
        let found: Vec<&Value> = search["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["id"])
            .collect();
        assert_eq!(found, [&user["id"], &group["id"]]);
        // Bulk: a reference to the other tenant's user is just an unknown id, and a PATCH
        // of the other tenant's group is not found.
        let (status, bulk) = call(
            svc,
            key,
            "POST",
            &format!("{base}/Bulk"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": [
                    {"method": "POST", "path": "/Users", "bulkId": "b1", "data": {"userName": "bjensen"}},
                    {"method": "PATCH", "path": format!("/Groups/{}", other_group["id"].as_str().unwrap()),
                     "data": patch_op("displayName", json!("taken"))},
                    {"method": "POST", "path": "/Users", "bulkId": "b2", "data": {"userName": "new-in-bulk"}}
                ]
            })),
        )
        .await;
        assert_eq!(status, 200);
        let statuses: Vec<&Value> = bulk["Operations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| &o["status"])
            .collect();
        assert_eq!(statuses, ["409", "404", "201"], "{bulk}");
        assert!(!bulk.to_string().contains(other_tenant));
    }
    // Bulk-created users stay in their tenant: each tenant has its own new-in-bulk.
    for (tenant, key, _, _) in &made {
        let (_, list) = call(
            svc,
            key,
            "GET",
            &format!(
                "{}/Users?filter=userName%20eq%20%22new-in-bulk%22",
                prefix(tenant)
            ),
            None,
        )
        .await;
        assert_eq!(list["totalResults"], 1);
    }
    // The activity log files every event under its own tenant.
    for event in events.0.lock().unwrap().iter() {
        let tenant = event.tenant.as_deref().unwrap();
        let text = format!("{event:?}");
        let other = if tenant == "acme" { "globex" } else { "acme" };
        assert!(!text.contains(other), "{text}");
        assert!(!text.contains(acme.secret()) && !text.contains(globex.secret()));
    }
}

#[tokio::test]
async fn two_tenants_share_nothing_with_the_tenant_from_the_key() {
    let keys = Arc::new(MemoryKeyStore::new());
    let events = Recorder::default();
    let svc = ScimService::builder(MemoryStore::new())
        .authenticator(Arc::clone(&keys))
        .events(events.clone())
        .build()
        .unwrap();
    check_isolation(&svc, &keys, false, &events).await;
}

#[tokio::test]
async fn two_tenants_share_nothing_with_the_tenant_in_the_path() {
    let keys = Arc::new(MemoryKeyStore::new());
    let events = Recorder::default();
    let svc = ScimService::builder(MemoryStore::new())
        .authenticator(Arc::clone(&keys))
        .tenant_in_path(true)
        .base_url("https://app.example.com/scim/v2")
        .events(events.clone())
        .build()
        .unwrap();
    check_isolation(&svc, &keys, true, &events).await;
    // A key of one tenant on the other tenant's URL is refused like a wrong key, and the
    // refusal does not say the tenant exists.
    let acme = keys.rotate("acme").await.unwrap();
    for uri in ["/scim/v2/globex/Users", "/scim/v2/nobody/Users"] {
        let (status, err) = call(&svc, acme.secret(), "GET", uri, None).await;
        assert_eq!(
            (status, err["detail"].clone()),
            (StatusCode::UNAUTHORIZED, json!("authentication required"))
        );
    }
    // A Bulk operation may give its path whole, with the tenant's segment.
    let full = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        {"method": "POST", "path": "/scim/v2/acme/Users", "bulkId": "f", "data": {"userName": "full-path"}},
        {"method": "POST", "path": "https://app.example.com/scim/v2/acme/Users", "bulkId": "u", "data": {"userName": "full-url"}}
    ]});
    let (_, body) = call(
        &svc,
        acme.secret(),
        "POST",
        "/scim/v2/acme/Bulk",
        Some(full),
    )
    .await;
    assert_eq!(body["Operations"][0]["status"], "201", "{body}");
    assert_eq!(body["Operations"][1]["status"], "201", "{body}");
    // Discovery is per tenant too.
    let (status, config) = call(
        &svc,
        acme.secret(),
        "GET",
        "/scim/v2/acme/ServiceProviderConfig",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        config["meta"]["location"],
        "https://app.example.com/scim/v2/acme/ServiceProviderConfig"
    );
    // No tenant segment at all: nothing here.
    assert_eq!(
        call(&svc, acme.secret(), "GET", "/scim/v2", None).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn rotation_revocation_and_disabling() {
    let keys = Arc::new(MemoryKeyStore::new());
    let events = Recorder::default();
    let svc = ScimService::builder(MemoryStore::new())
        .authenticator(Arc::clone(&keys))
        .events(events.clone())
        .build()
        .unwrap();
    assert!(matches!(
        keys.generate("acme").await,
        Err(KeyError::NotEnabled)
    ));
    keys.enable("acme", TenantSettings::default())
        .await
        .unwrap();
    let first = keys.generate("acme").await.unwrap();
    let second = keys.generate("acme").await.unwrap();
    assert_eq!(keys.keys("acme").await.unwrap().len(), 2);
    for key in [first.secret(), second.secret()] {
        assert_eq!(
            call(&svc, key, "GET", "/scim/v2/Users", None).await.0,
            StatusCode::OK
        );
    }
    // Revoking one key leaves the other working.
    keys.revoke("acme", first.id()).await.unwrap();
    assert!(matches!(
        keys.revoke("acme", first.id()).await,
        Err(KeyError::NoSuchKey)
    ));
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
    let rotated = keys.rotate("acme").await.unwrap();
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
    let ids: Vec<String> = keys
        .keys("acme")
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(ids, [rotated.id()]);
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
    keys.disable("acme").await.unwrap();
    assert_eq!(
        call(&svc, rotated.secret(), "GET", "/scim/v2/Users", None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    keys.enable("acme", TenantSettings::default())
        .await
        .unwrap();
    assert_eq!(
        call(&svc, rotated.secret(), "GET", "/scim/v2/Users", None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert!(keys.keys("acme").await.unwrap().is_empty());
    // A secret of the application's own: too short is refused; the same secret twice is one
    // key; another tenant cannot take it.
    assert!(matches!(
        keys.add("acme", "short").await,
        Err(KeyError::TooShort)
    ));
    let own = keys.add("acme", "a-deployment-secret-0123").await.unwrap();
    assert_eq!(
        keys.add("acme", "a-deployment-secret-0123").await.unwrap(),
        own
    );
    keys.enable("globex", TenantSettings::default())
        .await
        .unwrap();
    assert!(matches!(
        keys.add("globex", "a-deployment-secret-0123").await,
        Err(KeyError::Taken)
    ));
    assert_eq!(
        call(
            &svc,
            "a-deployment-secret-0123",
            "GET",
            "/scim/v2/Users",
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    // Secrets never show in Debug output, errors or the activity log (the failed requests
    // above are in it, with their status).
    let fresh = keys.generate("acme").await.unwrap();
    assert!(!format!("{fresh:?} {keys:?}").contains(fresh.secret()));
    let log = format!("{:?}", events.0.lock().unwrap());
    for secret in [
        first.secret(),
        second.secret(),
        rotated.secret(),
        forged.as_str(),
        "a-deployment-secret-0123",
    ] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
    let refused = events
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.failure.as_ref().is_some_and(|f| f.status == 401))
        .count();
    assert_eq!(refused, 9);
}

#[tokio::test]
async fn each_tenant_has_its_own_settings() {
    let keys = Arc::new(MemoryKeyStore::new());
    let svc = ScimService::builder(MemoryStore::new())
        .authenticator(Arc::clone(&keys))
        .build()
        .unwrap();
    let mut entra = TenantSettings::for_idp(Idp::Entra);
    entra.deprovision = Deprovision::Deactivate;
    keys.enable("entra-co", entra).await.unwrap();
    let mut okta = TenantSettings::for_idp(Idp::Okta);
    okta.compat = scimkit::Compat::strict();
    keys.enable("okta-co", okta).await.unwrap();
    let entra_key = keys.generate("entra-co").await.unwrap();
    let okta_key = keys.generate("okta-co").await.unwrap();
    let mut uris = Vec::new();
    for key in [entra_key.secret(), okta_key.secret()] {
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "u", "active": true});
        let (status, user) = call(&svc, key, "POST", "/scim/v2/Users", Some(body)).await;
        assert_eq!(status, 201);
        uris.push(format!("/scim/v2/Users/{}", user["id"].as_str().unwrap()));
    }
    // Entra's string boolean: taken for the lenient tenant, refused for the strict one.
    let entra_patch = patch_op("active", json!("False"));
    let (status, body) = call(
        &svc,
        entra_key.secret(),
        "PATCH",
        &uris[0],
        Some(entra_patch.clone()),
    )
    .await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (status, err) = call(
        &svc,
        okta_key.secret(),
        "PATCH",
        &uris[1],
        Some(entra_patch),
    )
    .await;
    assert_eq!(
        (status, err["scimType"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalidValue"))
    );
    // Okta's PATCH gets the user back (200).
    let (status, user) = call(
        &svc,
        okta_key.secret(),
        "PATCH",
        &uris[1],
        Some(patch_op("active", json!(false))),
    )
    .await;
    assert_eq!(
        (status, user["active"].clone()),
        (StatusCode::OK, json!(false))
    );
    // DELETE deactivates for one, removes for the other.
    assert_eq!(
        call(&svc, entra_key.secret(), "DELETE", &uris[0], None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (status, user) = call(&svc, entra_key.secret(), "GET", &uris[0], None).await;
    assert_eq!(
        (status, user["active"].clone()),
        (StatusCode::OK, json!(false))
    );
    let (status, user) = call(
        &svc,
        entra_key.secret(),
        "PATCH",
        &uris[0],
        Some(patch_op("active", json!(true))),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{user}");
    assert_eq!(
        call(&svc, entra_key.secret(), "GET", &uris[0], None)
            .await
            .1["active"],
        true
    );
    assert_eq!(
        call(&svc, okta_key.secret(), "DELETE", &uris[1], None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&svc, okta_key.secret(), "GET", &uris[1], None).await.0,
        StatusCode::NOT_FOUND
    );
    // Settings can be changed; the key stays.
    keys.enable("okta-co", TenantSettings::for_idp(Idp::Okta))
        .await
        .unwrap();
    assert_eq!(
        keys.settings("okta-co").await.unwrap().unwrap().compat,
        scimkit::Compat::lenient()
    );
    assert_eq!(
        call(&svc, okta_key.secret(), "GET", "/scim/v2/Users", None)
            .await
            .0,
        StatusCode::OK
    );
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn the_sqlite_key_store_keeps_digests_across_restarts() {
    use scimkit::auth::SqliteKeyStore;

    let dir = std::env::temp_dir().join(format!("scimkit-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("keys.db");
    let (kept, revoked, rotated_away) = {
        let keys = SqliteKeyStore::open(&path).unwrap();
        keys.enable("acme", TenantSettings::for_idp(Idp::Okta))
            .await
            .unwrap();
        keys.enable("globex", TenantSettings::for_idp(Idp::Entra))
            .await
            .unwrap();
        let revoked = keys.generate("acme").await.unwrap();
        let kept = keys.generate("acme").await.unwrap();
        keys.revoke("acme", revoked.id()).await.unwrap();
        let rotated_away = keys.generate("globex").await.unwrap();
        keys.rotate("globex").await.unwrap();
        keys.add("acme", "an-operators-own-secret").await.unwrap();
        (kept, revoked, rotated_away)
    };
    let keys = Arc::new(SqliteKeyStore::open(&path).unwrap());
    let caller = keys.verify(kept.secret()).await.unwrap();
    assert_eq!(
        (caller.tenant(), caller.settings().unwrap().idp),
        ("acme", Idp::Okta)
    );
    assert_eq!(caller.subject(), Some(kept.id()));
    assert!(keys.verify(revoked.secret()).await.is_none());
    assert!(keys.verify(rotated_away.secret()).await.is_none());
    assert_eq!(
        keys.verify("an-operators-own-secret")
            .await
            .unwrap()
            .tenant(),
        "acme"
    );
    assert_eq!(keys.keys("globex").await.unwrap().len(), 1);
    // The file holds digests, never a secret.
    let mut bytes = std::fs::read(&path).unwrap();
    if let Ok(wal) = std::fs::read(dir.join("keys.db-wal")) {
        bytes.extend(wal);
    }
    for secret in [
        kept.secret(),
        revoked.secret(),
        rotated_away.secret(),
        "an-operators-own-secret",
    ] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret}"
        );
    }
    // Disabling forgets the tenant's keys, on disk too.
    keys.disable("acme").await.unwrap();
    drop(keys);
    let keys = SqliteKeyStore::open(&path).unwrap();
    assert!(keys.verify(kept.secret()).await.is_none());
    assert_eq!(keys.settings("acme").await.unwrap(), None);
    drop(keys);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `/Me` for callers whose keys the application gave to its users: the key's id (the
/// caller's subject) names the user.
struct KeyHolders(Mutex<std::collections::HashMap<String, String>>);

#[async_trait::async_trait]
impl scimkit::service::MeResolver for KeyHolders {
    async fn user_id(
        &self,
        caller: &scimkit::auth::Caller,
        _: &http::request::Parts,
    ) -> Option<String> {
        let holders = self.0.lock().unwrap();
        holders
            .get(&format!("{}/{}", caller.tenant(), caller.subject()?))
            .cloned()
    }
}

#[tokio::test]
async fn me_is_the_user_the_callers_subject_names() {
    let keys = Arc::new(MemoryKeyStore::new());
    let holders = Arc::new(KeyHolders(Mutex::default()));
    let svc = ScimService::builder(MemoryStore::new())
        .authenticator(Arc::clone(&keys))
        .me(Arc::clone(&holders))
        .build()
        .unwrap();
    keys.enable("acme", TenantSettings::default())
        .await
        .unwrap();
    let admin = keys.generate("acme").await.unwrap();
    let personal = keys.generate("acme").await.unwrap();
    let (_, user) = call(
        &svc,
        admin.secret(),
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "bjensen"})),
    )
    .await;
    holders.0.lock().unwrap().insert(
        format!("acme/{}", personal.id()),
        user["id"].as_str().unwrap().to_owned(),
    );
    let (status, me) = call(&svc, personal.secret(), "GET", "/scim/v2/Me", None).await;
    assert_eq!(
        (status, me["userName"].clone()),
        (StatusCode::OK, json!("bjensen"))
    );
    let (status, _) = call(&svc, admin.secret(), "GET", "/scim/v2/Me", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the admin key is no user");
    // Without a resolver: 501.
    let bare = ScimService::builder(MemoryStore::new())
        .authenticator(Arc::clone(&keys))
        .build()
        .unwrap();
    let (status, err) = call(&bare, personal.secret(), "GET", "/scim/v2/Me", None).await;
    assert_eq!(
        (status, err["status"].clone()),
        (StatusCode::NOT_IMPLEMENTED, json!("501"))
    );
}
