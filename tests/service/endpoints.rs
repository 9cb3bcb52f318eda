//! The service driven directly with `http` requests: Microsoft Entra ID's request sequence,
//! discovery, ETags, paging, and bad or hostile requests answered with SCIM errors.

use crate::common;

use bytes::Bytes;
use common::{call, data, service, TOKEN};
use http::{Request, StatusCode};
use scimkit::service::ServiceLimits;
use serde_json::{json, Value};

#[tokio::test]
async fn entra_provisions_updates_and_deprovisions_a_user() {
    let svc = service();
    let user_name = "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1";
    let lookup = format!("/scim/v2/Users?filter=userName+eq+%22{user_name}%22");
    // 1. Entra looks the user up first: an empty list with integer fields.
    let (status, body, _) = call(&svc, "GET", &lookup, None, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 0, "itemsPerPage": 0, "startIndex": 1, "Resources": []
        })
    );
    // 2. Creates it.
    let create: Value = data("idp/entra-create-user.json");
    let (status, created, response) = call(&svc, "POST", "/scim/v2/Users", Some(create), &[]).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let location = format!("https://app.example.com/scim/v2/Users/{id}");
    assert_eq!(response.headers()["location"], location.as_str());
    assert_eq!(response.headers()["etag"], "W/\"1\"");
    assert_eq!(
        created["meta"],
        json!({
            "resourceType": "User", "created": "2026-11-23T12:00:00.000Z", "lastModified": "2026-11-23T12:00:00.000Z",
            "location": location, "version": "W/\"1\""
        })
    );
    assert_eq!(created["userName"], user_name);
    // 3. Finds it, in any case.
    let (_, body, _) = call(
        &svc,
        "GET",
        &lookup
            .to_uppercase()
            .replace("/SCIM/V2/USERS", "/scim/v2/Users"),
        None,
        &[],
    )
    .await;
    assert_eq!(body["totalResults"], 1, "{body}");
    assert_eq!(body["Resources"][0]["id"], id.as_str());
    // 4. Reads it; a matching If-None-Match gives 304.
    let (status, got, _) = call(&svc, "GET", &format!("/scim/v2/Users/{id}"), None, &[]).await;
    assert_eq!((status, &got), (StatusCode::OK, &created));
    let (status, _, _) = call(
        &svc,
        "GET",
        &format!("/scim/v2/Users/{id}"),
        None,
        &[("If-None-Match", "W/\"1\"")],
    )
    .await;
    assert_eq!(status, 304);
    // 5. Updates it with Entra's PATCH.
    let update = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}]});
    let (status, patched, response) = call(
        &svc,
        "PATCH",
        &format!("/scim/v2/Users/{id}"),
        Some(update.clone()),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["emails"][0]["value"], "updatedEmail@microsoft.com");
    assert_eq!(patched["name"]["familyName"], "updatedFamilyName");
    assert_eq!(response.headers()["etag"], "W/\"2\"");
    // The same PATCH again changes nothing: the version stays.
    let (_, again, _) = call(
        &svc,
        "PATCH",
        &format!("/scim/v2/Users/{id}"),
        Some(update),
        &[],
    )
    .await;
    assert_eq!(again["meta"]["version"], "W/\"2\"");
    // A stale If-Match is refused.
    let disable = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    let (status, err, _) = call(
        &svc,
        "PATCH",
        &format!("/scim/v2/Users/{id}"),
        Some(disable.clone()),
        &[("If-Match", "W/\"1\"")],
    )
    .await;
    assert_eq!(
        (status, err["status"].clone()),
        (StatusCode::PRECONDITION_FAILED, json!("412"))
    );
    // 6. Disables it; it stays readable.
    let (status, disabled, _) = call(
        &svc,
        "PATCH",
        &format!("/scim/v2/Users/{id}"),
        Some(disable),
        &[("If-Match", "W/\"2\"")],
    )
    .await;
    assert_eq!(
        (status, disabled["active"].clone()),
        (StatusCode::OK, json!(false))
    );
    // 7. Deletes it.
    let (status, body, _) = call(&svc, "DELETE", &format!("/scim/v2/Users/{id}"), None, &[]).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (status, body, _) = call(&svc, "GET", &format!("/scim/v2/Users/{id}"), None, &[]).await;
    assert_eq!(
        (status, body["status"].clone()),
        (StatusCode::NOT_FOUND, json!("404"))
    );
}

#[tokio::test]
async fn groups_members_and_entras_membership_check() {
    let svc = service();
    let (_, user, _) = call(
        &svc,
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "member@example.com"})),
        &[],
    )
    .await;
    let uid = user["id"].as_str().unwrap();
    let group: Value = data("idp/entra-create-group.json");
    let (status, created, _) = call(&svc, "POST", "/scim/v2/Groups", Some(group), &[]).await;
    assert_eq!(status, 201, "{created}");
    let gid = created["id"].as_str().unwrap();
    let add = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"name": "addMember", "op": "Add", "path": "members", "value": [{"$ref": null, "value": uid}]}]});
    let (status, _, _) = call(
        &svc,
        "PATCH",
        &format!("/scim/v2/Groups/{gid}"),
        Some(add),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let check = format!("/scim/v2/Groups?excludedAttributes=members&filter=id%20eq%20%22{gid}%22%20and%20members%20eq%20%22{uid}%22");
    let (_, body, _) = call(&svc, "GET", &check, None, &[]).await;
    assert_eq!(body["totalResults"], 1, "{body}");
    assert!(
        body["Resources"][0].get("members").is_none(),
        "members excluded"
    );
    let other =
        format!("/scim/v2/Groups?filter=id%20eq%20%22{gid}%22%20and%20members%20eq%20%22nobody%22");
    let (_, body, _) = call(&svc, "GET", &other, None, &[]).await;
    assert_eq!(body["totalResults"], 0);
}

#[tokio::test]
async fn discovery_endpoints_come_from_the_registry() {
    let svc = service();
    let (status, spc, _) = call(&svc, "GET", "/scim/v2/ServiceProviderConfig", None, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["filter"]["maxResults"], 1000);
    assert_eq!(spc["authenticationSchemes"][0]["type"], "oauthbearertoken");
    assert_eq!(
        spc["meta"]["location"],
        "https://app.example.com/scim/v2/ServiceProviderConfig"
    );
    let (_, types, _) = call(&svc, "GET", "/scim/v2/ResourceTypes", None, &[]).await;
    assert_eq!(types["totalResults"], 2);
    let (_, user_type, _) = call(&svc, "GET", "/scim/v2/ResourceTypes/User", None, &[]).await;
    assert_eq!(user_type["endpoint"], "/Users");
    let (_, schemas, _) = call(&svc, "GET", "/scim/v2/Schemas", None, &[]).await;
    assert_eq!(schemas["totalResults"], 3);
    let (status, schema, _) = call(
        &svc,
        "GET",
        "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
        None,
        &[],
    )
    .await;
    assert_eq!(
        (status, schema["name"].clone()),
        (StatusCode::OK, json!("User"))
    );
    let (status, _, _) = call(&svc, "GET", "/scim/v2/Schemas/urn:nope", None, &[]).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn paging_sorting_and_projection() {
    let svc = service();
    for name in ["carol", "alice", "bob"] {
        call(
            &svc,
            "POST",
            "/scim/v2/Users",
            Some(json!({"userName": name, "title": "t"})),
            &[],
        )
        .await;
    }
    // startIndex below 1 is 1; parameter names in any case; count is clamped.
    let (_, body, _) = call(
        &svc,
        "GET",
        "/scim/v2/Users?STARTINDEX=0&Count=2&sortBy=userName&attributes=userName",
        None,
        &[],
    )
    .await;
    assert_eq!(body["startIndex"], 1);
    assert_eq!(body["itemsPerPage"], 2);
    assert_eq!(body["totalResults"], 3);
    let names: Vec<&str> = body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob"]);
    assert!(
        body["Resources"][0].get("title").is_none() && body["Resources"][0].get("id").is_some()
    );
    let (_, body, _) = call(&svc, "GET", "/scim/v2/Users?count=0", None, &[]).await;
    assert_eq!(
        (body["totalResults"].clone(), body["Resources"].clone()),
        (json!(3), json!([]))
    );
    let (_, body, _) = call(&svc, "GET", "/scim/v2/Users?count=100000", None, &[]).await;
    assert_eq!(body["itemsPerPage"], 3);
    // Cursor paging (RFC 9865).
    let (_, first, _) = call(
        &svc,
        "GET",
        "/scim/v2/Users?cursor&count=2&sortBy=userName&sortOrder=descending",
        None,
        &[],
    )
    .await;
    assert_eq!(first["Resources"][0]["userName"], "carol");
    let next = first["nextCursor"].as_str().unwrap();
    let (_, second, _) = call(
        &svc,
        "GET",
        &format!("/scim/v2/Users?cursor={next}&count=2&sortBy=userName&sortOrder=descending"),
        None,
        &[],
    )
    .await;
    assert_eq!(second["Resources"][0]["userName"], "alice");
    assert!(second.get("nextCursor").is_none());
    // POST /.search.
    let (status, body, _) = call(
        &svc,
        "POST",
        "/scim/v2/Users/.search",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "userName sw \"a\"", "attributes": ["userName"], "startIndex": 1, "count": 10
        })),
        &[],
    )
    .await;
    assert_eq!(
        (status, body["totalResults"].clone()),
        (StatusCode::OK, json!(1))
    );
}

#[tokio::test]
async fn bad_and_hostile_requests_get_scim_errors() {
    let svc = service();
    // No credentials, and wrong ones.
    let unauthenticated = Request::get("/scim/v2/Users").body(Bytes::new()).unwrap();
    let response = svc.handle(unauthenticated).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"SCIM\""
    );
    let wrong = Request::get("/scim/v2/Users")
        .header("Authorization", "Bearer nope")
        .body(Bytes::new())
        .unwrap();
    assert_eq!(svc.handle(wrong).await.status(), 401);
    // (method, uri, body, status, scimType)
    type Case<'a> = (&'a str, &'a str, Option<Value>, u16, Option<&'a str>);
    let cases: Vec<Case> = vec![
        ("GET", "/scim/v2/Widgets", None, 404, None),
        ("GET", "/elsewhere/Users", None, 404, None),
        ("DELETE", "/scim/v2/Users", None, 405, None),
        ("POST", "/scim/v2/ServiceProviderConfig", None, 405, None),
        (
            "GET",
            "/scim/v2/Users?filter=userName%20eqq%20%22x%22",
            None,
            400,
            Some("invalidFilter"),
        ),
        (
            "GET",
            "/scim/v2/Users?filter=active%20gt%20true",
            None,
            400,
            Some("invalidFilter"),
        ),
        (
            "GET",
            "/scim/v2/Users?count=many",
            None,
            400,
            Some("invalidValue"),
        ),
        (
            "GET",
            "/scim/v2/Users?cursor=bogus",
            None,
            400,
            Some("invalidCursor"),
        ),
        (
            "POST",
            "/scim/v2/Users",
            Some(json!({"displayName": "no userName"})),
            400,
            Some("invalidValue"),
        ),
        (
            "PATCH",
            "/scim/v2/Users/missing",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "remove", "path": "title"}]}),
            ),
            404,
            None,
        ),
        ("GET", "/scim/v2/Me", None, 501, None),
    ];
    for (method, uri, body, status, scim_type) in cases {
        let (got, json, _) = call(&svc, method, uri, body, &[]).await;
        assert_eq!(got.as_u16(), status, "{method} {uri}: {json}");
        assert_eq!(json["status"], status.to_string(), "{method} {uri}");
        assert_eq!(
            json["scimType"].as_str(),
            scim_type,
            "{method} {uri}: {json}"
        );
    }
    // Malformed and deeply nested JSON.
    for body in [
        "{not json",
        &format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000)),
    ] {
        let request = Request::post("/scim/v2/Users")
            .header("Authorization", format!("Bearer {TOKEN}"))
            .body(Bytes::from(body.to_owned()))
            .unwrap();
        let response = svc.handle(request).await;
        assert_eq!(response.status(), 400);
        let json: Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(json["scimType"], "invalidSyntax");
    }
    // A huge filter and a huge body.
    let huge = format!(
        "/scim/v2/Users?filter={}",
        vec!["userName%20eq%20%22x%22"; 2000].join("%20or%20")
    );
    let (status, json, _) = call(&svc, "GET", &huge, None, &[]).await;
    assert_eq!(
        (status.as_u16(), json["scimType"].clone()),
        (400, json!("invalidFilter"))
    );
    let small = common::builder()
        .limits({
            let mut l = ServiceLimits::default();
            l.max_body_bytes = 64;
            l
        })
        .build()
        .unwrap();
    let (status, _, _) = call(
        &small,
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "x".repeat(100)})),
        &[],
    )
    .await;
    assert_eq!(status, 413);
    // Uniqueness, without case.
    call(
        &svc,
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "Taken"})),
        &[],
    )
    .await;
    let (status, json, _) = call(
        &svc,
        "POST",
        "/scim/v2/Users/",
        Some(json!({"userName": "taken"})),
        &[],
    )
    .await;
    assert_eq!(
        (status.as_u16(), json["scimType"].clone()),
        (409, json!("uniqueness"))
    );
}

#[tokio::test]
async fn root_search_spans_every_resource_type() {
    let svc = service();
    for name in ["alice", "bob"] {
        call(
            &svc,
            "POST",
            "/scim/v2/Users",
            Some(json!({"userName": name, "displayName": format!("Team {name}")})),
            &[],
        )
        .await;
    }
    call(
        &svc,
        "POST",
        "/scim/v2/Groups",
        Some(json!({"displayName": "Team Rocket"})),
        &[],
    )
    .await;
    let search = |body: Value| {
        let svc = svc.clone();
        async move { call(&svc, "POST", "/scim/v2/.search", Some(body), &[]).await }
    };
    let (status, body, _) = search(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "displayName sw \"team\"", "attributes": ["displayName"]
    }))
    .await;
    assert_eq!(
        (status, body["totalResults"].clone()),
        (StatusCode::OK, json!(3)),
        "{body}"
    );
    let shown: Vec<&str> = body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(shown, ["Team alice", "Team bob", "Team Rocket"]);
    assert!(body["Resources"][0].get("userName").is_none(), "projected");
    // A page that straddles the two types.
    let (_, body, _) = search(json!({"startIndex": 2, "count": 2})).await;
    assert_eq!(body["totalResults"], 3);
    let ids: Vec<&Value> = body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["schemas"][0])
        .collect();
    assert_eq!(
        ids,
        [
            &json!("urn:ietf:params:scim:schemas:core:2.0:User"),
            &json!("urn:ietf:params:scim:schemas:core:2.0:Group")
        ]
    );
    // Cursors are per type; a bad filter is still a bad filter.
    let (status, _, _) = search(json!({"cursor": ""})).await;
    assert_eq!(status, 400);
    let (status, body, _) = search(json!({"filter": "displayName eqq \"x\""})).await;
    assert_eq!(
        (status.as_u16(), body["scimType"].clone()),
        (400, json!("invalidFilter"))
    );
    let (status, _, _) = call(&svc, "GET", "/scim/v2/.search", None, &[]).await;
    assert_eq!(status, 405);
}
