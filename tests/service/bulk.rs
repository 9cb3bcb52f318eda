//! Bulk (RFC 7644 §3.7): the RFC's examples, forward references, circles of references,
//! `failOnErrors`, the limits and what ServiceProviderConfig says of them.

use crate::common;

use std::sync::Arc;

use common::{builder, call, service};
use http::StatusCode;
use scimkit::events::{Action, MemoryEventLog};
use scimkit::service::ServiceLimits;
use serde_json::{json, Value};

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn bulk(ops: Value) -> Value {
    json!({"schemas": [BULK], "Operations": ops})
}

fn statuses(response: &Value) -> Vec<String> {
    response["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap().to_owned())
        .collect()
}

fn id_of(location: &Value) -> String {
    location
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_rfc_bulk_id_example() {
    let svc = service();
    let (status, body, _) = call(
        &svc,
        "POST",
        "/scim/v2/Bulk",
        Some(bulk(json!([
            {"method": "POST", "path": "/Users", "bulkId": "qwerty",
             "data": {"schemas": [USER], "userName": "Alice"}},
            {"method": "POST", "path": "/Groups", "bulkId": "ytrewq",
             "data": {"schemas": [GROUP], "displayName": "Tour Guides",
                      "members": [{"type": "User", "value": "bulkId:qwerty"}]}}
        ]))),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"])
    );
    let ops = body["Operations"].as_array().unwrap();
    assert_eq!(statuses(&body), ["201", "201"]);
    assert_eq!(
        (ops[0]["bulkId"].clone(), ops[0]["method"].clone()),
        (json!("qwerty"), json!("POST"))
    );
    assert_eq!(ops[1]["version"], "W/\"1\"");
    let alice = id_of(&ops[0]["location"]);
    assert!(ops[1]["location"]
        .as_str()
        .unwrap()
        .starts_with("https://app.example.com/scim/v2/Groups/"));
    let (_, group, _) = call(
        &svc,
        "GET",
        &format!("/scim/v2/Groups/{}", id_of(&ops[1]["location"])),
        None,
        &[],
    )
    .await;
    assert_eq!(group["members"], json!([{"type": "User", "value": alice}]));
}

#[tokio::test]
async fn the_rfc_mixed_request_with_versions() {
    let svc = service();
    let mut ids = Vec::new();
    for name in ["Bob", "Dave", "Eve"] {
        let (_, user, _) = call(
            &svc,
            "POST",
            "/scim/v2/Users",
            Some(json!({"userName": name, "nickName": "n"})),
            &[],
        )
        .await;
        ids.push(user["id"].as_str().unwrap().to_owned());
    }
    let request = json!({
        "schemas": [BULK],
        "failOnErrors": 1,
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "qwerty", "data": {"schemas": [USER], "userName": "Alice"}},
            {"method": "PUT", "path": format!("/Users/{}", ids[0]), "version": "W/\"1\"",
             "data": {"schemas": [USER], "id": ids[0], "userName": "Bob"}},
            {"method": "PATCH", "path": format!("/Users/{}", ids[1]), "version": "W/\"1\"",
             "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                      "Operations": [{"op": "remove", "path": "nickName"},
                                     {"op": "replace", "path": "userName", "value": "Dave"}]}},
            {"method": "DELETE", "path": format!("/Users/{}", ids[2]), "version": "W/\"1\""}
        ]
    });
    let (status, body, _) = call(&svc, "POST", "/scim/v2/Bulk", Some(request), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(statuses(&body), ["201", "200", "200", "204"]);
    let ops = body["Operations"].as_array().unwrap();
    assert_eq!(ops[1]["version"], "W/\"2\"");
    assert_eq!(
        ops[1]["location"],
        format!("https://app.example.com/scim/v2/Users/{}", ids[0])
    );
    assert_eq!(ops[3].get("location"), None);
    let (_, dave, _) = call(
        &svc,
        "GET",
        &format!("/scim/v2/Users/{}", ids[1]),
        None,
        &[],
    )
    .await;
    assert_eq!(dave.get("nickName"), None);
    assert_eq!(
        call(
            &svc,
            "GET",
            &format!("/scim/v2/Users/{}", ids[2]),
            None,
            &[]
        )
        .await
        .0,
        404
    );
    // A stale version fails its operation with 412, and the rest go on.
    let stale = bulk(json!([
        {"method": "DELETE", "path": format!("/Users/{}", ids[0]), "version": "W/\"1\""},
        {"method": "PATCH", "path": format!("/Users/{}", ids[0]), "version": "W/\"2\"",
         "data": {"Operations": [{"op": "add", "path": "title", "value": "t"}]}}
    ]));
    let (_, body, _) = call(&svc, "POST", "/scim/v2/Bulk", Some(stale), &[]).await;
    assert_eq!(statuses(&body), ["412", "200"]);
    assert_eq!(body["Operations"][0]["response"]["status"], "412");
}

#[tokio::test]
async fn forward_references_run_what_they_need_first() {
    let svc = service();
    // The group refers to a user created later, the user's manager to one later still,
    // and a PATCH names the group by its bulkId in its path.
    let request = bulk(json!([
        {"method": "POST", "path": "/Groups", "bulkId": "g",
         "data": {"displayName": "Ops", "members": [{"value": "bulkId:u1"}]}},
        {"method": "PATCH", "path": "/Groups/bulkId:g",
         "data": {"Operations": [{"op": "add", "path": "members", "value": [{"value": "bulkId:u2"}]}]}},
        {"method": "POST", "path": "/Users", "bulkId": "u1",
         "data": {"userName": "worker", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "bulkId:u2"}}}},
        {"method": "POST", "path": "/Users", "bulkId": "u2", "data": {"userName": "boss"}}
    ]));
    let (status, body, _) = call(&svc, "POST", "/scim/v2/Bulk", Some(request), &[]).await;
    assert_eq!(status, 200, "{body}");
    // What ran, in the order it ran: boss, worker, the group, the PATCH.
    let order: Vec<(String, Option<String>)> = body["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["status"].as_str().unwrap().to_owned(),
                o["bulkId"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let s = |x: &str| Some(x.to_owned());
    assert_eq!(
        order,
        [
            ("201".into(), s("u2")),
            ("201".into(), s("u1")),
            ("201".into(), s("g")),
            ("200".into(), None)
        ]
    );
    let ops = body["Operations"].as_array().unwrap();
    let (boss, worker, group) = (
        id_of(&ops[0]["location"]),
        id_of(&ops[1]["location"]),
        id_of(&ops[2]["location"]),
    );
    let (_, w, _) = call(&svc, "GET", &format!("/scim/v2/Users/{worker}"), None, &[]).await;
    assert_eq!(
        w["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"],
        boss.as_str()
    );
    let (_, g, _) = call(&svc, "GET", &format!("/scim/v2/Groups/{group}"), None, &[]).await;
    assert_eq!(g["members"], json!([{"value": worker}, {"value": boss}]));
}

#[tokio::test]
async fn circles_of_references_are_refused_and_the_rest_runs() {
    let svc = service();
    let request = bulk(json!([
        {"method": "POST", "path": "/Groups", "bulkId": "groupA",
         "data": {"schemas": [GROUP], "displayName": "circA", "members": [{"value": "bulkId:groupB", "type": "Group"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "groupB",
         "data": {"schemas": [GROUP], "displayName": "circB", "members": [{"value": "bulkId:groupA", "type": "Group"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "self",
         "data": {"displayName": "me", "members": [{"value": "bulkId:self"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "after",
         "data": {"displayName": "needs A", "members": [{"value": "bulkId:groupA"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "fine", "data": {"userName": "fine"}}
    ]));
    let (status, body, _) = call(&svc, "POST", "/scim/v2/Bulk", Some(request), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(statuses(&body), ["409", "409", "409", "409", "201"]);
    let details: Vec<&str> = body["Operations"].as_array().unwrap()[..4]
        .iter()
        .map(|o| o["response"]["detail"].as_str().unwrap())
        .collect();
    assert_eq!(
        details,
        [
            "the operation is part of a circle of bulkId references",
            "the operation is part of a circle of bulkId references",
            "the operation is part of a circle of bulkId references",
            "bulkId:groupA did not create a resource",
        ]
    );
    let (_, groups, _) = call(&svc, "GET", "/scim/v2/Groups", None, &[]).await;
    assert_eq!(
        groups["totalResults"], 0,
        "nothing of the circle was created"
    );
}

#[tokio::test]
async fn fail_on_errors_stops_at_the_right_operation() {
    let ops = json!([
        {"method": "POST", "path": "/Users", "bulkId": "1", "data": {"userName": "one"}},
        {"method": "POST", "path": "/Users", "bulkId": "2", "data": {"userName": "ONE"}},
        {"method": "POST", "path": "/Users", "bulkId": "3", "data": {"userName": "three"}},
        {"method": "PATCH", "path": "/Users/missing", "data": {"Operations": [{"op": "add", "path": "title", "value": "x"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "5", "data": {"userName": "five"}}
    ]);
    for (fail_on_errors, expected, users) in [
        (Some(1), vec!["201", "409"], 1),
        (Some(2), vec!["201", "409", "201", "404"], 2),
        (Some(3), vec!["201", "409", "201", "404", "201"], 3),
        (None, vec!["201", "409", "201", "404", "201"], 3),
    ] {
        let svc = service();
        let mut request = bulk(ops.clone());
        if let Some(n) = fail_on_errors {
            request["failOnErrors"] = json!(n);
        }
        let (status, body, _) = call(&svc, "POST", "/scim/v2/Bulk", Some(request), &[]).await;
        assert_eq!(status, 200);
        assert_eq!(statuses(&body), expected, "failOnErrors {fail_on_errors:?}");
        let (_, list, _) = call(&svc, "GET", "/scim/v2/Users", None, &[]).await;
        assert_eq!(
            list["totalResults"], users,
            "failOnErrors {fail_on_errors:?}"
        );
    }
    let (status, err, _) = call(
        &service(),
        "POST",
        "/scim/v2/Bulk",
        Some(json!({"schemas": [BULK], "failOnErrors": 0, "Operations": []})),
        &[],
    )
    .await;
    assert_eq!(
        (status, err["scimType"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalidValue"))
    );
}

#[tokio::test]
async fn limits_are_enforced_and_advertised() {
    let mut limits = ServiceLimits::default();
    limits.bulk_max_operations = 3;
    limits.bulk_max_payload_bytes = 2048;
    let svc = builder().limits(limits).build().unwrap();
    let (_, config, _) = call(&svc, "GET", "/scim/v2/ServiceProviderConfig", None, &[]).await;
    assert_eq!(
        config["bulk"],
        json!({"supported": true, "maxOperations": 3, "maxPayloadSize": 2048})
    );
    let parts = |uri: &str| http::Request::get(uri).body(()).unwrap().into_parts().0;
    assert_eq!(
        svc.body_limit(&parts("/scim/v2/Bulk")),
        2048,
        "Bulk's own limit"
    );
    assert_eq!(
        svc.body_limit(&parts("/Users")),
        1024 * 1024,
        "any other endpoint's"
    );
    let op = json!({"method": "POST", "path": "/Users", "bulkId": "x", "data": {"userName": "x"}});
    let (status, err, _) = call(
        &svc,
        "POST",
        "/scim/v2/Bulk",
        Some(bulk(json!([op, op, op, op]))),
        &[],
    )
    .await;
    assert_eq!(
        (status, err["scimType"].clone(), err["detail"].clone()),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            json!("tooMany"),
            json!("the request has 4 operations; maxOperations is 3")
        )
    );
    let big = json!({"method": "POST", "path": "/Users", "bulkId": "x", "data": {"userName": "x".repeat(3000)}});
    let (status, err, _) = call(&svc, "POST", "/scim/v2/Bulk", Some(bulk(json!([big]))), &[]).await;
    assert_eq!(
        (status, err["status"].clone()),
        (StatusCode::PAYLOAD_TOO_LARGE, json!("413"))
    );
    let (_, users, _) = call(&svc, "GET", "/scim/v2/Users", None, &[]).await;
    assert_eq!(users["totalResults"], 0, "nothing of a refused request ran");
}

#[tokio::test]
async fn bad_operations_fail_alone() {
    let log = Arc::new(MemoryEventLog::new());
    let svc = builder().events(Arc::clone(&log)).build().unwrap();
    let request = bulk(json!([
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "a"}},
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "b"}},
        {"method": "POST", "path": "/Users", "data": {"userName": "c"}},
        {"method": "GET", "path": "/Users"},
        {"method": "PUT", "path": "/Users/x"},
        {"method": "PATCH", "path": "/Groups", "data": {}},
        {"method": "POST", "path": "/Widgets", "bulkId": "w", "data": {}},
        {"method": "POST", "path": "/Users", "bulkId": "d", "data": {"userName": "d", "manager": "bulkId:nowhere"}},
        "not an operation",
        {"method": "delete", "path": "/Users/bulkId:a"}
    ]));
    let (status, body, _) = call(&svc, "POST", "/scim/v2/Bulk", Some(request), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        statuses(&body),
        ["201", "400", "400", "400", "400", "400", "404", "400", "400", "204"]
    );
    let details: Vec<&str> = body["Operations"].as_array().unwrap()[1..9]
        .iter()
        .map(|o| o["response"]["detail"].as_str().unwrap())
        .collect();
    assert_eq!(
        details,
        [
            "bulkId \"a\" is used twice",
            "POST needs a bulkId",
            "method \"GET\" is not POST, PUT, PATCH or DELETE",
            "PUT needs data",
            "PATCH cannot have the path \"/Groups\"",
            "no endpoint /Widgets",
            "bulkId:nowhere names no POST of this request",
            "an operation must be a JSON object",
        ]
    );
    // Each operation is in the activity log: two writes, eight failures with their paths.
    let page = log.page(Some("acme"), None, 100);
    let actions: Vec<Action> = page.entries.iter().rev().map(|l| l.event.action).collect();
    let mut expected = vec![Action::Created];
    expected.extend([Action::Rejected; 8]);
    expected.push(Action::Deleted);
    assert_eq!(actions, expected);
    assert_eq!(page.entries[1].event.failure.as_ref().unwrap().path, "");
    assert_eq!(
        page.entries[2].event.failure.as_ref().unwrap().path,
        "/Users"
    );
    // Whole-request errors.
    for (body, scim_type) in [
        (json!([]), "invalidSyntax"),
        (
            json!({"schemas": ["urn:x"], "Operations": []}),
            "invalidSyntax",
        ),
        (json!({"schemas": [BULK]}), "invalidSyntax"),
    ] {
        let (status, err, _) = call(&svc, "POST", "/scim/v2/Bulk", Some(body), &[]).await;
        assert_eq!(
            (status, err["scimType"].clone()),
            (StatusCode::BAD_REQUEST, json!(scim_type))
        );
    }
    let (status, _, _) = call(&svc, "GET", "/scim/v2/Bulk", None, &[]).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    // The lenient profile takes a request without schemas; the strict one does not.
    let bare = json!({"Operations": [{"method": "POST", "path": "/Users", "bulkId": "z", "data": {"userName": "z"}}]});
    assert_eq!(
        call(&svc, "POST", "/scim/v2/Bulk", Some(bare.clone()), &[])
            .await
            .0,
        200
    );
    let mut settings = scimkit::TenantSettings::default();
    settings.compat = scimkit::Compat::strict();
    let strict = builder().tenant_defaults(settings).build().unwrap();
    assert_eq!(
        call(&strict, "POST", "/scim/v2/Bulk", Some(bare), &[])
            .await
            .0,
        400
    );
}

#[tokio::test]
async fn a_thousand_creates_and_a_group_of_all_of_them() {
    // A thousand creates, then one group with all of them as bulkId members.
    let svc = service();
    let mut ops: Vec<Value> = (0..999)
        .map(|i| json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"), "data": {"userName": format!("user{i}")}}))
        .collect();
    let members: Vec<Value> = (0..999)
        .map(|i| json!({"value": format!("bulkId:u{i}")}))
        .collect();
    ops.insert(0, json!({"method": "POST", "path": "/Groups", "bulkId": "all", "data": {"displayName": "All", "members": members}}));
    let (status, body, _) = call(
        &svc,
        "POST",
        "/scim/v2/Bulk",
        Some(bulk(Value::Array(ops))),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let statuses = statuses(&body);
    assert_eq!(
        (statuses.len(), statuses.iter().all(|s| s == "201")),
        (1000, true)
    );
    assert_eq!(
        body["Operations"][999]["bulkId"], "all",
        "the group runs after its members"
    );
    let (_, group, _) = call(
        &svc,
        "GET",
        &format!(
            "/scim/v2/Groups/{}",
            id_of(&body["Operations"][999]["location"])
        ),
        None,
        &[],
    )
    .await;
    assert_eq!(group["members"].as_array().unwrap().len(), 999);
}
