//! The PATCH examples of RFC 7644 §3.5.2, each applied to the RFC 7643 example resources
//! with the whole resulting resource asserted, in the strict and the lenient profile.

use scimkit::patch::PatchRequest;
use scimkit::schema::Registry;
use scimkit::Compat;
use serde_json::{json, Value};

const BABS: &str = "2819c223-7f76-453a-919d-413861904646";
const MANDY: &str = "902c246b-6245-4190-8e05-00816be7344a";
const JAMES: &str = "08e1d05d-121c-4561-8b96-473d93df9210";

fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "displayName": "Tour Guides",
        "members": [
            {"value": BABS, "$ref": format!("https://example.com/v2/Users/{BABS}"), "display": "Babs Jensen"},
            {"value": MANDY, "$ref": format!("https://example.com/v2/Users/{MANDY}"), "display": "Mandy Pepperidge"}
        ],
        "meta": {"resourceType": "Group", "version": "W/\"3694e05e9dff592\""}
    })
}

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": BABS,
        "userName": "bjensen@example.com",
        "nickName": "Barbie",
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
        "addresses": [
            {"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood",
             "region": "CA", "postalCode": "91608", "country": "USA", "primary": true},
            {"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood",
             "region": "CA", "postalCode": "91608", "country": "USA"}
        ],
        "meta": {"resourceType": "User"}
    })
}

/// Applies `ops` to `resource` in both profiles; both must give the same resource.
fn patch(resource_type: &str, resource: Value, ops: Value) -> Value {
    let registry = Registry::scim_default();
    let view = registry.resource_type(resource_type).unwrap();
    let body =
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    let mut results = Vec::new();
    for compat in [Compat::strict(), Compat::lenient()] {
        let request =
            PatchRequest::from_json(body.clone(), &compat).unwrap_or_else(|e| panic!("{e}"));
        let out = view
            .patch(&resource, &request, &compat)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(out.changed);
        results.push(out.resource);
    }
    assert_eq!(
        results[0], results[1],
        "strict and lenient agree on RFC input"
    );
    results.pop().unwrap()
}

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

#[test]
fn add_a_member() {
    let out = patch(
        "Group",
        group(),
        json!([{
            "op": "add", "path": "members",
            "value": [{"display": "James Smith", "$ref": format!("https://example.com/v2/Users/{JAMES}"), "value": JAMES}]
        }]),
    );
    let mut members = group()["members"].as_array().unwrap().clone();
    members.push(json!({"display": "James Smith", "$ref": format!("https://example.com/v2/Users/{JAMES}"), "value": JAMES}));
    assert_eq!(out, with(group(), "members", Value::Array(members)));
}

#[test]
fn add_without_a_path() {
    let out = patch(
        "User",
        user(),
        json!([{
            "op": "add",
            "value": {"emails": [{"value": "babs@jensen.org", "type": "home"}], "nickname": "Babs"}
        }]),
    );
    let mut expected = user();
    expected["emails"]
        .as_array_mut()
        .unwrap()
        .push(json!({"value": "babs@jensen.org", "type": "home"}));
    expected["nickName"] = json!("Babs");
    assert_eq!(out, expected);
}

#[test]
fn remove_all_members() {
    let out = patch(
        "Group",
        group(),
        json!([{"op": "remove", "path": "members"}]),
    );
    let mut expected = group();
    expected.as_object_mut().unwrap().remove("members");
    assert_eq!(out, expected);
}

#[test]
fn remove_one_member() {
    let out = patch(
        "Group",
        group(),
        json!([{"op": "remove", "path": format!("members[value eq \"{BABS}\"]")}]),
    );
    let mut expected = group();
    expected["members"].as_array_mut().unwrap().remove(0);
    assert_eq!(out, expected);
}

#[test]
fn remove_emails_matching_a_filter() {
    let out = patch(
        "User",
        user(),
        json!([{
            "op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"
        }]),
    );
    let mut expected = user();
    expected.as_object_mut().unwrap().remove("emails");
    assert_eq!(out, expected);
}

#[test]
fn remove_and_add_members_in_one_request() {
    let out = patch(
        "Group",
        group(),
        json!([
            {"op": "remove", "path": format!("members[value eq \"{BABS}\"]")},
            {"op": "add", "path": "members", "value": [
                {"display": "James Smith", "$ref": format!("https://example.com/v2/Users/{JAMES}"), "value": JAMES}
            ]}
        ]),
    );
    let mut expected = group();
    let members = expected["members"].as_array_mut().unwrap();
    members.remove(0);
    members.push(json!({"display": "James Smith", "$ref": format!("https://example.com/v2/Users/{JAMES}"), "value": JAMES}));
    assert_eq!(out, expected);
}

#[test]
fn replace_all_members() {
    let new = json!([
        {"display": "Babs Jensen", "$ref": format!("https://example.com/v2/Users/{BABS}"), "value": BABS},
        {"display": "James Smith", "$ref": format!("https://example.com/v2/Users/{JAMES}"), "value": JAMES}
    ]);
    let out = patch(
        "Group",
        group(),
        json!([{"op": "replace", "path": "members", "value": new.clone()}]),
    );
    assert_eq!(out, with(group(), "members", new));
}

#[test]
fn replace_the_work_address() {
    let address = json!({
        "type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood",
        "region": "CA", "postalCode": "91608", "country": "US",
        "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US", "primary": true
    });
    let out = patch(
        "User",
        user(),
        json!([{"op": "replace", "path": "addresses[type eq \"work\"]", "value": address.clone()}]),
    );
    let mut expected = user();
    expected["addresses"][0] = address;
    assert_eq!(out, expected);
}

#[test]
fn replace_a_sub_attribute_of_the_work_address() {
    let out = patch(
        "User",
        user(),
        json!([{
            "op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1010 Broadway Ave"
        }]),
    );
    let mut expected = user();
    expected["addresses"][0]["streetAddress"] = json!("1010 Broadway Ave");
    assert_eq!(out, expected);
}

#[test]
fn replace_without_a_path() {
    let emails = json!([
        {"value": "bjensen@example.com", "type": "work", "primary": true},
        {"value": "babs@jensen.org", "type": "home"}
    ]);
    let out = patch(
        "User",
        user(),
        json!([{"op": "replace", "value": {"emails": emails.clone(), "nickname": "Babs"}}]),
    );
    let mut expected = with(user(), "emails", emails);
    expected["nickName"] = json!("Babs");
    assert_eq!(out, expected);
}
