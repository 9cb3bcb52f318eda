//! PATCH errors: every failure names the operation and carries the right `scimType`, and
//! a request that fails changes nothing. Properties over generated requests, and large
//! groups.

use proptest::prelude::*;
use scimkit::patch::{PatchError, PatchRequest};
use scimkit::schema::{Registry, Write};
use scimkit::{Compat, ScimType};
use serde_json::{json, Value};

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "u1", "userName": "bjensen", "active": true,
        "name": {"givenName": "Barbara"},
        "emails": [{"value": "b@example.com", "type": "work", "primary": true}],
        "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z"}
    })
}

fn run(body: Value, compat: &Compat) -> Result<scimkit::patch::Patched, PatchError> {
    let registry = Registry::scim_default();
    let users = registry.resource_type("User").unwrap();
    let request = PatchRequest::from_json(body, compat)?;
    users.patch(&user(), &request, compat)
}

fn ops(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

#[test]
fn each_error_has_its_scim_type_and_names_the_operation() {
    let cases: Vec<(Value, ScimType, Option<usize>)> = vec![
        (json!("add"), ScimType::InvalidSyntax, None),
        (json!({"Operations": []}), ScimType::InvalidSyntax, None),
        (
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}),
            ScimType::InvalidSyntax,
            None,
        ),
        (ops(json!([])), ScimType::InvalidSyntax, None),
        (ops(json!(["add"])), ScimType::InvalidSyntax, Some(0)),
        (
            ops(json!([{"op": "merge", "path": "title", "value": "x"}])),
            ScimType::InvalidSyntax,
            Some(0),
        ),
        (
            ops(json!([{"op": "add", "path": "title"}])),
            ScimType::InvalidSyntax,
            Some(0),
        ),
        (
            ops(json!([{"op": "add", "path": 7, "value": "x"}])),
            ScimType::InvalidSyntax,
            Some(0),
        ),
        (ops(json!([{"op": "remove"}])), ScimType::NoTarget, Some(0)),
        (
            ops(
                json!([{"op": "add", "path": "title", "value": "ok"}, {"op": "replace", "path": "emails[type eq]", "value": "x"}]),
            ),
            ScimType::InvalidPath,
            Some(1),
        ),
        (
            ops(json!([{"op": "replace", "path": "emails[type eq \"work\"", "value": "x"}])),
            ScimType::InvalidPath,
            Some(0),
        ),
        (
            ops(json!([{"op": "replace", "path": "name..givenName", "value": "x"}])),
            ScimType::InvalidPath,
            Some(0),
        ),
        (
            ops(json!([{"op": "replace", "path": "shoeSize", "value": 42}])),
            ScimType::InvalidPath,
            Some(0),
        ),
        (
            ops(json!([{"op": "replace", "path": "name.middle", "value": "J"}])),
            ScimType::InvalidPath,
            Some(0),
        ),
        (
            ops(json!([{"op": "replace", "path": "userName[value eq \"x\"]", "value": "y"}])),
            ScimType::InvalidPath,
            Some(0),
        ),
        (
            ops(
                json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "h@x"}}]),
            ),
            ScimType::NoTarget,
            Some(0),
        ),
        (
            ops(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}])),
            ScimType::NoTarget,
            Some(0),
        ),
        (
            ops(json!([{"op": "remove", "path": "userName"}])),
            ScimType::Mutability,
            Some(0),
        ),
        (
            ops(json!([{"op": "replace", "path": "userName", "value": null}])),
            ScimType::Mutability,
            Some(0),
        ),
        (
            ops(json!([{"op": "replace", "path": "id", "value": "u2"}])),
            ScimType::Mutability,
            Some(0),
        ),
        (
            ops(json!([{"op": "remove", "path": "meta.created"}])),
            ScimType::Mutability,
            Some(0),
        ),
        (
            ops(json!([{"op": "add", "path": "groups", "value": [{"value": "g1"}]}])),
            ScimType::Mutability,
            Some(0),
        ),
        (
            ops(json!([{"op": "replace", "path": "active", "value": "yes"}])),
            ScimType::InvalidValue,
            Some(0),
        ),
        (
            ops(json!([{"op": "replace", "path": "emails", "value": {"value": 5}}])),
            ScimType::InvalidValue,
            Some(0),
        ),
        (
            ops(json!([{"op": "replace", "path": "name", "value": "Barbara"}])),
            ScimType::InvalidValue,
            Some(0),
        ),
        (
            ops(json!([{"op": "add", "value": ["title"]}])),
            ScimType::InvalidValue,
            Some(0),
        ),
        (
            ops(
                json!([{"op": "replace", "path": "emails[type gt true]", "value": {"value": "x"}}]),
            ),
            ScimType::InvalidPath,
            Some(0),
        ),
    ];
    for (body, scim_type, operation) in cases {
        let err = run(body.clone(), &Compat::strict()).expect_err(&body.to_string());
        assert_eq!(err.scim_type(), scim_type, "{body}: {err}");
        assert_eq!(err.operation(), operation, "{body}: {err}");
        // The message names the operation as the index says.
        let named = operation.map(|i| format!("Operations[{i}]"));
        assert_eq!(
            named.is_some_and(|n| err.to_string().starts_with(&n)),
            operation.is_some()
        );
        assert_eq!(scimkit::ScimError::from(err).status(), 400, "{body}");
    }
}

/// A path that does not parse is `invalidPath` with the path's own error, whose offset
/// points into the path.
#[test]
fn a_path_that_does_not_parse_points_at_its_byte() {
    for (path, offset) in [
        ("emails[type eq \"work\"", 6),
        ("name..givenName", 5),
        ("emails[type eq]", 14),
    ] {
        let body = ops(
            json!([{"op": "add", "path": "title", "value": "x"}, {"op": "replace", "path": path, "value": "x"}]),
        );
        let err = run(body, &Compat::lenient()).unwrap_err();
        assert_eq!(err.scim_type(), ScimType::InvalidPath, "{path}");
        assert_eq!(err.operation(), Some(1), "{path}");
        let cause = err.path_error().expect("the path's error");
        assert_eq!(
            (cause.input(), cause.offset()),
            (path, offset),
            "{path}: {err}"
        );
    }
}

#[test]
fn nothing_changes_when_nothing_changes() {
    for body in [
        ops(json!([{"op": "replace", "path": "userName", "value": "bjensen"}])),
        ops(
            json!([{"op": "add", "path": "emails", "value": [{"value": "b@example.com", "type": "work", "primary": true}]}]),
        ),
        ops(json!([{"op": "replace", "path": "title", "value": null}])),
        ops(json!([{"op": "remove", "path": "title"}])),
        ops(
            json!([{"op": "add", "path": "title", "value": "x"}, {"op": "remove", "path": "title"}]),
        ),
    ] {
        let out = run(body.clone(), &Compat::strict()).unwrap();
        assert!(!out.changed, "{body}");
        assert_eq!(out.resource, user());
    }
}

#[test]
fn a_failing_operation_undoes_the_ones_before_it() {
    let registry = Registry::scim_default();
    let users = registry.resource_type("User").unwrap();
    let stored = user();
    let request = PatchRequest::from_json(
        ops(json!([
            {"op": "replace", "path": "userName", "value": "someone-else"},
            {"op": "add", "path": "title", "value": "Tour Guide"},
            {"op": "remove", "path": "userName"}
        ])),
        &Compat::strict(),
    )
    .unwrap();
    let err = users
        .patch(&stored, &request, &Compat::strict())
        .unwrap_err();
    assert_eq!(
        (err.operation(), err.scim_type()),
        (Some(2), ScimType::Mutability)
    );
    assert!(
        err.to_string()
            .starts_with("Operations[2] (remove userName):"),
        "{err}"
    );
    assert_eq!(stored, user());
}

fn op_strategy() -> impl Strategy<Value = Value> {
    let path = prop::sample::select(vec![
        "userName",
        "title",
        "active",
        "name",
        "name.givenName",
        "emails",
        "emails.value",
        "emails[type eq \"work\"]",
        "emails[type eq \"home\"].value",
        "emails[primary eq true].type",
        "nickName",
        "id",
        "meta.created",
        "groups",
        "x509Certificates",
        "phoneNumbers[type eq \"mobile\"].value",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        "shoeSize",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ]);
    let value = prop_oneof![
        Just(json!("text")),
        Just(json!(true)),
        Just(json!(null)),
        Just(json!([])),
        Just(json!(42)),
        Just(json!({"value": "v@x", "type": "home", "primary": true})),
        Just(json!([{"value": "w@x", "type": "work"}])),
        Just(json!({"givenName": "G", "familyName": "F"})),
    ];
    let op = prop::sample::select(vec!["add", "remove", "replace"]);
    (op, proptest::option::of(path), value).prop_map(|(op, path, value)| {
        let mut o = json!({"op": op, "value": value});
        if let Some(p) = path {
            o["path"] = json!(p);
        }
        o
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    /// A request either fails naming one of its operations, or gives a valid resource
    /// that applying its operations one request at a time gives too.
    #[test]
    fn requests_are_atomic_and_sequential(list in prop::collection::vec(op_strategy(), 1..6), strict in any::<bool>()) {
        let compat = if strict { Compat::strict() } else { Compat::lenient() };
        let registry = Registry::scim_default();
        let users = registry.resource_type("User").unwrap();
        let stored = user();
        let whole = PatchRequest::from_json(ops(Value::Array(list.clone())), &compat)
            .and_then(|r| users.patch(&stored, &r, &compat));
        prop_assert_eq!(&stored, &user());
        match whole {
            Err(e) => {
                prop_assert!(e.operation().is_some_and(|i| i < list.len()), "{}", e);
            }
            Ok(out) => {
                // `changed` says exactly whether the resource differs.
                prop_assert_eq!(out.changed, out.resource != stored);
                // The attributes reported changed, with their values before, are the ones a
                // comparison of before and after finds.
                let mut reported = out.changes.clone();
                let mut compared = users.changes(&stored, &out.resource);
                let key = |c: &scimkit::patch::AttributeChange| c.path();
                reported.sort_by_key(key);
                compared.sort_by_key(key);
                prop_assert_eq!(reported, compared);
                // The result is a valid resource, in canonical form.
                let again = users.normalize(out.resource.clone(), Write::Create, &compat);
                prop_assert!(again.is_ok(), "{:?}", again);
                let mut canonical = again.unwrap().resource;
                for key in ["id", "meta"] {
                    if let Some(v) = out.resource.get(key) { canonical[key] = v.clone(); }
                }
                prop_assert_eq!(&canonical, &out.resource);
                // One operation at a time gives the same.
                let mut step = stored.clone();
                for op in &list {
                    let one = PatchRequest::from_json(ops(json!([op])), &compat).unwrap();
                    step = users.patch(&step, &one, &compat).unwrap().resource;
                }
                prop_assert_eq!(step, out.resource);
            }
        }
    }
}

#[test]
fn a_thousand_member_changes_on_a_hundred_thousand_member_group() {
    let registry = Registry::scim_default();
    let groups = registry.resource_type("Group").unwrap();
    let members: Vec<Value> = (0..100_000)
        .map(|i| json!({"value": format!("user-{i:06}")}))
        .collect();
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g",
                       "displayName": "Everyone", "members": members});
    // Okta's way: one operation per member; and Entra's: one list.
    let mut operations: Vec<Value> = (0..1000)
        .map(|i| json!({"op": "remove", "path": format!("members[value eq \"user-{:06}\"]", i * 100)}))
        .collect();
    operations.extend((0..1000).map(
        |i| json!({"op": "add", "path": "members", "value": [{"value": format!("new-{i}")}]}),
    ));
    operations.push(json!({"op": "remove", "path": "members",
        "value": (1..=1000).map(|i| json!({"value": format!("user-{:06}", i * 99)})).collect::<Vec<_>>()}));
    let request =
        PatchRequest::from_json(ops(Value::Array(operations)), &Compat::lenient()).unwrap();
    let out = groups.patch(&group, &request, &Compat::lenient()).unwrap();
    let members = out.resource["members"].as_array().unwrap();
    // 100,000 - 1,000 - (1,000 minus the 10 multiples of both 99 and 100 removed already) + 1,000.
    assert_eq!(members.len(), 100_000 - 1000 - 990 + 1000);
    assert!(!members
        .iter()
        .any(|m| m["value"] == "user-000100" || m["value"] == "user-000099"));
    assert!(members.iter().any(|m| m["value"] == "user-000101"));
    assert_eq!(members.last().unwrap()["value"], "new-999");
}

/// Found by fuzzing (`{"sChemas": […], "Operations": []}`): an empty request, accepted by
/// the lenient profile, changes nothing.
#[test]
fn an_empty_lenient_request_changes_nothing() {
    let body = json!({"sChemas": ["urn:ietf:paramsatchOp"], "Operations": []});
    let out = run(body.clone(), &Compat::lenient()).unwrap();
    assert!(!out.changed);
    assert_eq!(out.resource, user());
    let err = run(body, &Compat::strict()).unwrap_err();
    assert_eq!(err.scim_type(), ScimType::InvalidSyntax);
}

/// Found by fuzzing: an element created from a filter that matched nothing takes the
/// filter's literals through the same typing as any value (`type eq 0` gives `"0"`).
#[test]
fn elements_created_from_a_filter_are_typed() {
    let body = ops(json!([{"op": "Replace", "path": "emails[type eq 0].value", "value": "F"}]));
    let out = run(body, &Compat::lenient()).unwrap();
    assert_eq!(
        out.resource["emails"][1],
        json!({"type": "0", "value": "F"})
    );
    let body = ops(json!([{"op": "replace", "path": "emails[primary eq 5].value", "value": "F"}]));
    let err = run(body, &Compat::lenient()).unwrap_err();
    assert_eq!(err.scim_type(), ScimType::InvalidValue, "{err}");
}
