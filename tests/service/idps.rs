//! Okta, JumpCloud and OneLogin request sequences through the service, and the service
//! options IdPs meet: PATCH answered `204`, `DELETE` that deactivates, `/Me`, events, and
//! group membership changes pushed down to the store.

use crate::common;

use std::sync::{Arc, Mutex};

use common::{builder, call, data, service};
use http::StatusCode;
use scimkit::auth::{Caller, Deprovision, PatchResponse, TenantSettings};
use scimkit::events::{Action, Event, EventSink};
use scimkit::service::MeResolver;
use serde_json::{json, Value};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn patch(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

#[tokio::test]
async fn okta_spec_test_and_lifecycle() {
    let svc = service();
    // Okta's connection test and its spec test's first steps.
    let (status, body, _) = call(
        &svc,
        "GET",
        "/scim/v2/Users?startIndex=1&count=2",
        None,
        &[],
    )
    .await;
    assert_eq!(
        (status, body["totalResults"].clone()),
        (StatusCode::OK, json!(0))
    );
    let (status, body, _) = call(
        &svc,
        "GET",
        "/scim/v2/Groups?startIndex=1&count=100",
        None,
        &[],
    )
    .await;
    assert_eq!(
        (status, body["Resources"].clone()),
        (StatusCode::OK, json!([]))
    );
    let lookup =
        "/scim/v2/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100";
    let (_, body, _) = call(&svc, "GET", lookup, None, &[]).await;
    assert_eq!(body["totalResults"], 0);
    // Create: the password is taken and never returned; groups: [] is ignored.
    let (status, created, _) = call(
        &svc,
        "POST",
        "/scim/v2/Users",
        Some(data("idp/okta-create-user.json")),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert!(created.get("password").is_none() && created.get("groups").is_none());
    assert_eq!(created["externalId"], "00ujl29u0le5T6Aj10h7");
    let id = created["id"].as_str().unwrap().to_owned();
    let user_uri = format!("/scim/v2/Users/{id}");
    // Okta looks the user up with another case: userName is caseExact false.
    let upper = lookup.replace("test.user", "TEST.User");
    let (_, body, _) = call(&svc, "GET", &upper, None, &[]).await;
    assert_eq!(body["Resources"][0]["id"], id.as_str());
    // The spec test creates the same user again: 409 uniqueness.
    let (status, err, _) = call(
        &svc,
        "POST",
        "/scim/v2/Users",
        Some(data("idp/okta-create-user.json")),
        &[],
    )
    .await;
    assert_eq!(
        (status, err["scimType"].clone()),
        (StatusCode::CONFLICT, json!("uniqueness"))
    );
    // And reads a user that does not exist.
    let (status, err, _) = call(&svc, "GET", "/scim/v2/Users/010101001010101010", None, &[]).await;
    assert_eq!(
        (status, err["status"].clone()),
        (StatusCode::NOT_FOUND, json!("404"))
    );
    // Profile update: Okta PUTs the whole user, id included.
    let mut put = data("idp/okta-create-user.json");
    put["id"] = json!(id);
    put["name"]["familyName"] = json!("Renamed");
    put["emails"][0]["value"] = json!("renamed@okta.local");
    let (status, replaced, response) = call(&svc, "PUT", &user_uri, Some(put), &[]).await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["name"]["familyName"], "Renamed");
    assert_eq!(replaced["meta"]["created"], created["meta"]["created"]);
    assert_eq!(response.headers()["etag"], "W/\"2\"");
    // Deactivation, never DELETE: the user stays readable.
    let deactivate = patch(json!([{"op": "replace", "value": {"active": false}}]));
    let (status, body, _) = call(&svc, "PATCH", &user_uri, Some(deactivate), &[]).await;
    assert_eq!(
        (status, body["active"].clone()),
        (StatusCode::OK, json!(false))
    );
    let (_, body, _) = call(&svc, "GET", &user_uri, None, &[]).await;
    assert_eq!(body["active"], false);
    // A password change is taken but changes nothing visible: the version stays.
    let password = patch(json!([{"op": "replace", "value": {"password": "newPassword1"}}]));
    let (status, body, _) = call(&svc, "PATCH", &user_uri, Some(password), &[]).await;
    assert_eq!(
        (status, body["meta"]["version"].clone()),
        (StatusCode::OK, json!("W/\"3\""))
    );
    assert!(body.get("password").is_none());
}

#[tokio::test]
async fn okta_group_push() {
    let svc = service();
    let mut users = Vec::new();
    for name in ["a@okta.local", "b@okta.local"] {
        let (_, u, _) = call(
            &svc,
            "POST",
            "/scim/v2/Users",
            Some(json!({"userName": name})),
            &[],
        )
        .await;
        users.push(u["id"].as_str().unwrap().to_owned());
    }
    let create = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Test SCIMv2", "members": []});
    let (status, group, _) = call(&svc, "POST", "/scim/v2/Groups", Some(create), &[]).await;
    assert_eq!(status, 201, "{group}");
    assert!(group.get("members").is_none());
    let gid = group["id"].as_str().unwrap().to_owned();
    let uri = format!("/scim/v2/Groups/{gid}");
    // Okta lists groups without their members.
    let (_, list, _) = call(
        &svc,
        "GET",
        "/scim/v2/Groups?excludedAttributes=members&startIndex=1&count=100",
        None,
        &[],
    )
    .await;
    assert_eq!(list["Resources"][0]["displayName"], "Test SCIMv2");
    // Rename, with the unchanged id in the value.
    let rename =
        patch(json!([{"op": "replace", "value": {"id": gid, "displayName": "Engineering"}}]));
    let (status, body, _) = call(&svc, "PATCH", &uri, Some(rename), &[]).await;
    assert_eq!(
        (status, body["displayName"].clone()),
        (StatusCode::OK, json!("Engineering"))
    );
    // Members pushed one request at a time, then one removed and the other added again.
    for (uid, name) in users.iter().zip(["a@okta.local", "b@okta.local"]) {
        let add = patch(
            json!([{"op": "add", "path": "members", "value": [{"value": uid, "display": name}]}]),
        );
        let (status, _, _) = call(&svc, "PATCH", &uri, Some(add), &[]).await;
        assert_eq!(status, 200);
    }
    let swap = patch(json!([
        {"op": "remove", "path": format!("members[value eq \"{}\"]", users[0])},
        {"op": "add", "path": "members", "value": [{"value": users[1], "display": "b@okta.local"}]}]));
    let (status, body, _) = call(&svc, "PATCH", &uri, Some(swap), &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["members"],
        json!([{"value": users[1], "display": "b@okta.local"}])
    );
    assert_eq!(body["meta"]["version"], "W/\"5\"");
    assert_eq!(
        body["meta"]["location"],
        format!("https://app.example.com{uri}")
    );
    let (status, _, _) = call(&svc, "DELETE", &uri, None, &[]).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = call(&svc, "DELETE", &uri, None, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn jumpcloud_membership_by_value_lists() {
    let svc = service();
    let create = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "jc-group"});
    let (_, group, _) = call(&svc, "POST", "/scim/v2/Groups", Some(create), &[]).await;
    let uri = format!("/scim/v2/Groups/{}", group["id"].as_str().unwrap());
    let add = patch(json!([{"op": "add", "path": "members",
        "value": [{"value": "5e6d9a52a1b2"}, {"value": "keep-me"}, {"value": "5e6d9a52c3d4"}]}]));
    let (_, body, _) = call(&svc, "PATCH", &uri, Some(add), &[]).await;
    assert_eq!(body["members"].as_array().unwrap().len(), 3);
    // Remove with a value list takes out exactly those members, never the whole list.
    let remove = patch(json!([{"op": "remove", "path": "members",
        "value": [{"value": "5e6d9a52a1b2"}, {"value": "5e6d9a52c3d4"}]}]));
    let (status, body, _) = call(&svc, "PATCH", &uri, Some(remove), &[]).await;
    assert_eq!(
        (status, body["members"].clone()),
        (StatusCode::OK, json!([{"value": "keep-me"}]))
    );
    // Removing members that are gone already changes nothing.
    let again =
        patch(json!([{"op": "remove", "path": "members", "value": [{"value": "5e6d9a52a1b2"}]}]));
    let (_, after, _) = call(&svc, "PATCH", &uri, Some(again), &[]).await;
    assert_eq!(after["meta"]["version"], body["meta"]["version"]);
}

#[tokio::test]
async fn onelogin_lone_objects_and_application_json() {
    let svc = service();
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ol.user@example.com", "externalId": "98765",
        "name": {"givenName": "One", "familyName": "Login"},
        "emails": {"value": "ol.user@example.com", "primary": true, "type": "work"},
        "phoneNumbers": {"value": "+1 555 0100", "type": "work"}});
    let request = http::Request::post("/scim/v2/Users")
        .header("Authorization", format!("Bearer {}", common::TOKEN))
        .header("Content-Type", "application/json")
        .body(bytes::Bytes::from(body.to_string()))
        .unwrap();
    let response = svc.handle(request).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["content-type"], "application/scim+json");
    let created: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(
        created["emails"],
        json!([{"value": "ol.user@example.com", "primary": true, "type": "work"}])
    );
    assert_eq!(
        created["phoneNumbers"],
        json!([{"value": "+1 555 0100", "type": "work"}])
    );
    // OneLogin finds users by externalId.
    let (_, found, _) = call(
        &svc,
        "GET",
        "/scim/v2/Users?filter=externalId%20eq%20%2298765%22",
        None,
        &[],
    )
    .await;
    assert_eq!(found["Resources"][0]["id"], created["id"]);
}

#[tokio::test]
async fn patch_can_answer_no_content() {
    let mut settings = TenantSettings::default();
    settings.patch_response = PatchResponse::NoContent;
    let svc = builder().tenant_defaults(settings).build().unwrap();
    let (_, user, _) = call(
        &svc,
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "nc"})),
        &[],
    )
    .await;
    let uri = format!("/scim/v2/Users/{}", user["id"].as_str().unwrap());
    let (status, body, response) = call(
        &svc,
        "PATCH",
        &uri,
        Some(patch(
            json!([{"op": "replace", "path": "title", "value": "CTO"}]),
        )),
        &[],
    )
    .await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    assert_eq!(response.headers()["etag"], "W/\"2\"");
    let (_, got, _) = call(&svc, "GET", &uri, None, &[]).await;
    assert_eq!(got["title"], "CTO");
    // Group member changes too.
    let (_, group, _) = call(
        &svc,
        "POST",
        "/scim/v2/Groups",
        Some(json!({"displayName": "g"})),
        &[],
    )
    .await;
    let guri = format!("/scim/v2/Groups/{}", group["id"].as_str().unwrap());
    let add = patch(json!([{"op": "add", "path": "members", "value": [{"value": user["id"]}]}]));
    let (status, _, response) = call(&svc, "PATCH", &guri, Some(add), &[]).await;
    assert_eq!(
        (status, &response.headers()["etag"]),
        (
            StatusCode::NO_CONTENT,
            &"W/\"2\"".parse::<http::HeaderValue>().unwrap()
        )
    );
}

#[tokio::test]
async fn delete_can_deactivate() {
    let mut settings = TenantSettings::default();
    settings.deprovision = Deprovision::Deactivate;
    let svc = builder().tenant_defaults(settings).build().unwrap();
    let (_, user, _) = call(
        &svc,
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "soft"})),
        &[],
    )
    .await;
    let uri = format!("/scim/v2/Users/{}", user["id"].as_str().unwrap());
    let (status, _, _) = call(&svc, "DELETE", &uri, None, &[]).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, got, _) = call(&svc, "GET", &uri, None, &[]).await;
    assert_eq!(
        (
            status,
            got["active"].clone(),
            got["meta"]["version"].clone()
        ),
        (StatusCode::OK, json!(false), json!("W/\"2\""))
    );
    // Reactivation is an ordinary PATCH.
    let (_, got, _) = call(
        &svc,
        "PATCH",
        &uri,
        Some(patch(
            json!([{"op": "replace", "path": "active", "value": true}]),
        )),
        &[],
    )
    .await;
    assert_eq!(got["active"], true);
    // Groups have no `active`: they are removed.
    let (_, group, _) = call(
        &svc,
        "POST",
        "/scim/v2/Groups",
        Some(json!({"displayName": "g"})),
        &[],
    )
    .await;
    let guri = format!("/scim/v2/Groups/{}", group["id"].as_str().unwrap());
    call(&svc, "DELETE", &guri, None, &[]).await;
    let (status, _, _) = call(&svc, "GET", &guri, None, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The caller is the user whose `userName` the test put in `X-Test-User`.
struct ByHeader;

#[async_trait::async_trait]
impl MeResolver for ByHeader {
    async fn user_id(&self, caller: &Caller, request: &http::request::Parts) -> Option<String> {
        assert_eq!(caller.tenant(), "acme");
        request
            .headers
            .get("x-test-user")?
            .to_str()
            .ok()
            .map(str::to_owned)
    }
}

#[tokio::test]
async fn me_is_the_callers_user_when_a_resolver_is_set() {
    let (status, err, _) = call(&service(), "GET", "/scim/v2/Me", None, &[]).await;
    assert_eq!(
        (status, err["status"].clone()),
        (StatusCode::NOT_IMPLEMENTED, json!("501"))
    );
    let svc = builder().me(ByHeader).build().unwrap();
    let (_, user, _) = call(
        &svc,
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "me"})),
        &[],
    )
    .await;
    let id = user["id"].as_str().unwrap();
    let (status, me, _) = call(
        &svc,
        "GET",
        "/scim/v2/Me?attributes=userName",
        None,
        &[("X-Test-User", id)],
    )
    .await;
    assert_eq!(
        (status, me["userName"].clone(), me.get("name")),
        (StatusCode::OK, json!("me"), None)
    );
    let (status, me, _) = call(
        &svc,
        "PATCH",
        "/scim/v2/Me",
        Some(patch(
            json!([{"op": "add", "path": "nickName", "value": "Babs"}]),
        )),
        &[("X-Test-User", id)],
    )
    .await;
    assert_eq!(
        (status, me["nickName"].clone()),
        (StatusCode::OK, json!("Babs"))
    );
    let (status, _, _) = call(&svc, "GET", "/scim/v2/Me", None, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call(
        &svc,
        "POST",
        "/scim/v2/Me",
        Some(json!({})),
        &[("X-Test-User", id)],
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

/// Resource type, id, action, version, display.
type Seen = (String, String, Action, Option<String>, Option<String>);

/// Status and scimType of a rejected request.
type Refused = (u16, Option<&'static str>);

#[derive(Default, Clone)]
struct Recorder(Arc<Mutex<Vec<Event>>>);

#[async_trait::async_trait]
impl EventSink for Recorder {
    async fn record(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }
}

#[tokio::test]
async fn every_accepted_write_is_reported_once() {
    let events = Recorder::default();
    let svc = builder().events(events.clone()).build().unwrap();
    let (_, user, _) = call(
        &svc,
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "ev"})),
        &[],
    )
    .await;
    let uid = user["id"].as_str().unwrap().to_owned();
    let uri = format!("/scim/v2/Users/{uid}");
    // Refused writes are reported as rejected, with what the client was told.
    call(
        &svc,
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "EV"})),
        &[],
    )
    .await;
    call(
        &svc,
        "PATCH",
        &uri,
        Some(json!({"Operations": "nope"})),
        &[],
    )
    .await;
    let (_, group, _) = call(
        &svc,
        "POST",
        "/scim/v2/Groups",
        Some(json!({"displayName": "Ops"})),
        &[],
    )
    .await;
    let gid = group["id"].as_str().unwrap().to_owned();
    call(
        &svc,
        "PATCH",
        &format!("/scim/v2/Groups/{gid}"),
        Some(patch(
            json!([{"op": "add", "path": "members", "value": [{"value": uid}]}]),
        )),
        &[],
    )
    .await;
    call(
        &svc,
        "PUT",
        &uri,
        Some(json!({"userName": "ev", "title": "x"})),
        &[],
    )
    .await;
    call(&svc, "DELETE", &uri, None, &[]).await;
    let all = events.0.lock().unwrap().clone();
    for e in &all {
        assert_eq!(e.tenant.as_deref(), Some("acme"));
    }
    let refused: Vec<Refused> = all
        .iter()
        .filter(|e| e.action == Action::Rejected)
        .map(|e| {
            let failure = e.failure.as_ref().unwrap();
            (failure.status, failure.scim_type.map(|t| t.as_str()))
        })
        .collect();
    assert_eq!(
        refused,
        vec![(409, Some("uniqueness")), (400, Some("invalidSyntax"))]
    );
    let seen: Vec<Seen> = all
        .iter()
        .filter(|e| e.action != Action::Rejected)
        .map(|e| {
            (
                e.resource_type.clone().unwrap(),
                e.id.clone().unwrap(),
                e.action,
                e.version.clone(),
                e.display.clone(),
            )
        })
        .collect();
    let s = |x: &str| Some(x.to_owned());
    assert_eq!(
        seen,
        vec![
            (
                "User".into(),
                uid.clone(),
                Action::Created,
                s("W/\"1\""),
                s("ev")
            ),
            (
                "Group".into(),
                gid.clone(),
                Action::Created,
                s("W/\"1\""),
                s("Ops")
            ),
            ("Group".into(), gid, Action::Patched, s("W/\"2\""), s("Ops")),
            (
                "User".into(),
                uid.clone(),
                Action::Replaced,
                s("W/\"2\""),
                s("ev")
            ),
            ("User".into(), uid, Action::Deleted, None, s("ev")),
        ]
    );
}

#[tokio::test]
async fn sorting_follows_case_exactness() {
    let svc = service();
    for (name, ext) in [("bob", "b"), ("Alice", "B"), ("carol", "a")] {
        let body = json!({"userName": name, "externalId": ext});
        call(&svc, "POST", "/scim/v2/Users", Some(body), &[]).await;
    }
    let names = |body: &Value, key: &str| -> Vec<String> {
        body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[key].as_str().unwrap().to_owned())
            .collect()
    };
    // userName is caseExact false: "Alice" sorts before "bob".
    let (_, body, _) = call(&svc, "GET", "/scim/v2/Users?sortBy=userName", None, &[]).await;
    assert_eq!(names(&body, "userName"), ["Alice", "bob", "carol"]);
    // externalId is caseExact: "B" sorts before "a" and "b".
    let (_, body, _) = call(&svc, "GET", "/scim/v2/Users?sortBy=externalId", None, &[]).await;
    assert_eq!(names(&body, "externalId"), ["B", "a", "b"]);
}

#[tokio::test]
async fn cursors_survive_writes_between_pages() {
    let svc = service();
    let mut ids = Vec::new();
    for i in 0..5 {
        let (_, u, _) = call(
            &svc,
            "POST",
            "/scim/v2/Users",
            Some(json!({"userName": format!("u{i}")})),
            &[],
        )
        .await;
        ids.push(u["id"].as_str().unwrap().to_owned());
    }
    let names = |body: &Value| -> Vec<String> {
        body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["userName"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, first, _) = call(&svc, "GET", "/scim/v2/Users?cursor&count=2", None, &[]).await;
    assert_eq!(names(&first), ["u0", "u1"]);
    let cursor = first["nextCursor"].as_str().unwrap().to_owned();
    // Deleting a resource already seen and adding one shifts nothing.
    call(
        &svc,
        "DELETE",
        &format!("/scim/v2/Users/{}", ids[0]),
        None,
        &[],
    )
    .await;
    call(
        &svc,
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "u5"})),
        &[],
    )
    .await;
    let (_, second, _) = call(
        &svc,
        "GET",
        &format!("/scim/v2/Users?cursor={cursor}&count=2"),
        None,
        &[],
    )
    .await;
    assert_eq!(names(&second), ["u2", "u3"]);
    let cursor = second["nextCursor"].as_str().unwrap().to_owned();
    let (_, third, _) = call(
        &svc,
        "GET",
        &format!("/scim/v2/Users?cursor={cursor}&count=2"),
        None,
        &[],
    )
    .await;
    assert_eq!(names(&third), ["u4", "u5"]);
    assert!(third.get("nextCursor").is_none());
    // count=0 gives the total alone; a forged cursor is a SCIM error.
    let (_, none, _) = call(&svc, "GET", "/scim/v2/Users?cursor&count=0", None, &[]).await;
    assert_eq!(
        (none["totalResults"].clone(), none["Resources"].clone()),
        (json!(5), json!([]))
    );
    let (status, err, _) = call(
        &svc,
        "GET",
        "/scim/v2/Users?cursor=s99999&count=2",
        None,
        &[],
    )
    .await;
    assert_eq!(
        (status, err["scimType"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalidCursor"))
    );
}

/// Entra ID with the `aadOptscim062020` flag, through the service on the SQLite store:
/// path-less values with dotted and URN-qualified keys and the unchanged `id`, real
/// booleans, the manager added and removed, and the group membership check.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn entra_aad_opt_scim_062020_on_the_sqlite_store() {
    let store = scimkit::store::SqliteStore::in_memory().unwrap();
    let svc = scimkit::service::ScimService::builder(store)
        .authenticator(scimkit::auth::BearerToken::for_tenant(
            common::TOKEN,
            "acme",
        ))
        .build()
        .unwrap();
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let (status, user, _) = call(
        &svc,
        "POST",
        "/scim/v2/Users",
        Some(data("idp/entra-create-user.json")),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{user}");
    let id = user["id"].as_str().unwrap().to_owned();
    let uri = format!("/scim/v2/Users/{id}");
    let update = patch(json!([
        {"op": "replace", "value": {
            "id": id, "active": false, "name.givenName": "Barbara",
            format!("{enterprise}:employeeNumber"): "701984"}},
        {"op": "add", "value": {"title": "Tour Guide", format!("{enterprise}:department"): "Tours"}}]));
    let (status, patched, _) = call(&svc, "PATCH", &uri, Some(update), &[]).await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        (
            &patched["active"],
            &patched["name"]["givenName"],
            &patched["title"],
            &patched[enterprise]
        ),
        (
            &json!(false),
            &json!("Barbara"),
            &json!("Tour Guide"),
            &json!({"employeeNumber": "701984", "department": "Tours"})
        )
    );
    let manager =
        patch(json!([{"op": "Add", "path": format!("{enterprise}:manager"), "value": "2819c223"}]));
    let (_, with_manager, _) = call(&svc, "PATCH", &uri, Some(manager), &[]).await;
    assert_eq!(
        with_manager[enterprise]["manager"],
        json!({"value": "2819c223"})
    );
    let remove = patch(
        json!([{"op": "Remove", "path": format!("{enterprise}:manager[value eq \"2819c223\"]")}]),
    );
    let (_, without, _) = call(&svc, "PATCH", &uri, Some(remove), &[]).await;
    assert!(without[enterprise].get("manager").is_none(), "{without}");
    // Found by the extension attribute, pushed down to SQL.
    let (_, found, _) = call(
        &svc,
        "GET",
        "/scim/v2/Users?filter=employeeNumber%20eq%20%22701984%22",
        None,
        &[],
    )
    .await;
    assert_eq!(found["Resources"][0]["id"], id.as_str());
    let (_, group, _) = call(
        &svc,
        "POST",
        "/scim/v2/Groups",
        Some(data("idp/entra-create-group.json")),
        &[],
    )
    .await;
    let gid = group["id"].as_str().unwrap().to_owned();
    let add =
        patch(json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": id}]}]));
    let (status, _, _) = call(
        &svc,
        "PATCH",
        &format!("/scim/v2/Groups/{gid}"),
        Some(add),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let check = format!("/scim/v2/Groups?excludedAttributes=members&filter=id%20eq%20%22{gid}%22%20and%20members%20eq%20%22{id}%22");
    let (_, body, _) = call(&svc, "GET", &check, None, &[]).await;
    assert_eq!(body["totalResults"], 1, "{body}");
    let remove = patch(json!([{"op": "Remove", "path": "members", "value": [{"value": id}]}]));
    call(
        &svc,
        "PATCH",
        &format!("/scim/v2/Groups/{gid}"),
        Some(remove),
        &[],
    )
    .await;
    let (_, body, _) = call(&svc, "GET", &check, None, &[]).await;
    assert_eq!(body["totalResults"], 0, "{body}");
}
