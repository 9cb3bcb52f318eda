//! Typed views convert to and from normalised JSON resources without losing anything the
//! view models.

use scimkit::resource::{ErrorResponse, Group, ListResponse, Member, Resource, User};
use scimkit::schema::{Registry, Write};
use scimkit::{Compat, ScimError, ScimType};
use serde_json::{json, Value};

fn data(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_rfc_enterprise_user_round_trips_through_user() {
    let example = data("rfc7643-enterprise-user.json");
    let user = User::from_resource(&example).unwrap();
    assert_eq!(user.user_name, "bjensen@example.com");
    assert_eq!(
        user.name.as_ref().unwrap().given_name.as_deref(),
        Some("Barbara")
    );
    assert_eq!(user.primary_email(), Some("bjensen@example.com"));
    assert_eq!(
        user.addresses[0].street_address.as_deref(),
        Some("100 Universal City Plaza")
    );
    assert_eq!(user.groups.len(), 3);
    let enterprise = user.enterprise.as_ref().unwrap();
    assert_eq!(enterprise.employee_number.as_deref(), Some("701984"));
    assert_eq!(
        enterprise.manager.as_ref().unwrap().display_name.as_deref(),
        Some("John Smith")
    );
    let meta = user.meta.as_ref().unwrap();
    assert_eq!(
        meta.last_modified.unwrap().to_rfc3339(),
        "2011-05-13T04:42:34+00:00"
    );
    // Everything the view models comes back out as it went in.
    let mut expected = example.clone();
    expected.as_object_mut().unwrap().remove("password");
    let mut back = user.to_resource();
    back["meta"]["created"] = example["meta"]["created"].clone();
    back["meta"]["lastModified"] = example["meta"]["lastModified"].clone();
    assert_eq!(back, expected);
}

#[test]
fn a_user_built_in_code_is_a_valid_resource() {
    let mut user = User::new("bjensen");
    user.active = Some(true);
    user.enterprise = Some(Default::default());
    user.enterprise.as_mut().unwrap().department = Some("Sales".into());
    let resource = user.to_resource();
    assert_eq!(
        resource["schemas"],
        json!([
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ])
    );
    let registry = Registry::scim_default();
    let users = registry.resource_type("User").unwrap();
    let normalized = users
        .normalize(resource.clone(), Write::Create, &Compat::strict())
        .unwrap();
    assert_eq!(normalized.resource, resource);
}

#[test]
fn groups_round_trip() {
    let example = data("rfc7643-group.json");
    let group = Group::from_resource(&example).unwrap();
    assert_eq!(group.display_name, "Tour Guides");
    assert_eq!(
        group.members[1],
        Member {
            value: "902c246b-6245-4190-8e05-00816be7344a".into(),
            reference: Some(
                "https://example.com/v2/Users/902c246b-6245-4190-8e05-00816be7344a".into()
            ),
            display: Some("Mandy Pepperidge".into()),
            kind: None,
        }
    );
    let mut back = group.to_resource();
    back["meta"]["created"] = example["meta"]["created"].clone();
    back["meta"]["lastModified"] = example["meta"]["lastModified"].clone();
    assert_eq!(back, example);
    // A member is nothing without its value.
    assert!(
        Group::from_resource(&json!({"displayName": "g", "members": [{"display": "x"}]})).is_err()
    );
}

#[test]
fn an_empty_list_response_has_integer_fields() {
    let empty: ListResponse = ListResponse::new(0, 1, vec![]);
    assert_eq!(
        serde_json::to_value(&empty).unwrap(),
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []
        })
    );
    let page: ListResponse<User> = serde_json::from_value(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 2, "itemsPerPage": 1, "nextCursor": "VZUTiy",
        "Resources": [{"userName": "a"}]
    }))
    .unwrap();
    assert_eq!(page.resources[0].user_name, "a");
    assert_eq!(page.next_cursor.as_deref(), Some("VZUTiy"));
}

#[test]
fn error_responses_carry_the_status_as_a_string() {
    let err = ScimError::new(
        http::StatusCode::CONFLICT,
        Some(ScimType::Uniqueness),
        "userName is taken",
    );
    let body = ErrorResponse::from(&err);
    assert_eq!(serde_json::to_value(&body).unwrap(), err.to_json());
    assert_eq!(body.status, "409");
}
