//! `attributes` / `excludedAttributes` with the `returned` characteristics, on the RFC 7643
//! enterprise user and on a group.

use scimkit::schema::{Attribute, Projection, Registry, ResourceType, Returned, Schema};
use scimkit::ScimType;
use serde_json::{json, Value};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn user() -> Value {
    let path = format!(
        "{}/tests/data/rfc7643-enterprise-user.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn project(attributes: Option<&str>, excluded: Option<&str>) -> Value {
    let registry = Registry::scim_default();
    let users = registry.resource_type("User").unwrap();
    users.project(user(), &Projection::parse(attributes, excluded).unwrap())
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

#[test]
fn default_returns_everything_but_never_returned_attributes() {
    let out = project(None, None);
    let mut expected = user();
    expected.as_object_mut().unwrap().remove("password");
    assert_eq!(out, expected);
}

#[test]
fn attributes_narrow_to_what_is_asked_plus_always_returned() {
    let out = project(Some("userName"), None);
    assert_eq!(
        out,
        json!({
            "schemas": user()["schemas"], "id": "2819c223-7f76-453a-919d-413861904646",
            "userName": "bjensen@example.com"
        })
    );
    let out = project(
        Some("NAME.givenName, emails.value,urn:ietf:params:scim:schemas:core:2.0:User:title"),
        None,
    );
    assert_eq!(out["name"], json!({"givenName": "Barbara"}));
    assert_eq!(
        out["emails"],
        json!([{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}])
    );
    assert_eq!(out["title"], "Tour Guide");
    assert_eq!(keys(&out), vec!["emails", "id", "name", "schemas", "title"]);
    // Asking for the password does not return it.
    assert_eq!(
        keys(&project(Some("password"), None)),
        vec!["id", "schemas"]
    );
    // A name nothing defines selects nothing.
    assert_eq!(
        keys(&project(Some("shoeSize"), None)),
        vec!["id", "schemas"]
    );
}

#[test]
fn extension_attributes_by_urn_or_by_name() {
    let out = project(Some(ENTERPRISE), None);
    assert_eq!(out[ENTERPRISE], user()[ENTERPRISE]);
    assert_eq!(keys(&out), vec!["id", "schemas", ENTERPRISE]);
    let out = project(
        Some(&format!("{ENTERPRISE}:manager.displayName,employeeNumber")),
        None,
    );
    assert_eq!(
        out[ENTERPRISE],
        json!({"employeeNumber": "701984", "manager": {"displayName": "John Smith"}})
    );
    let out = project(None, Some(ENTERPRISE));
    assert!(out.get(ENTERPRISE).is_none());
    let out = project(None, Some("department,manager.$ref"));
    assert!(out[ENTERPRISE].get("department").is_none());
    assert_eq!(
        out[ENTERPRISE]["manager"],
        json!({
            "value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"
        })
    );
}

#[test]
fn excluded_attributes() {
    let out = project(None, Some("emails,name.familyName,groups"));
    assert!(out.get("emails").is_none() && out.get("groups").is_none());
    assert!(out["name"].get("familyName").is_none());
    assert_eq!(out["name"]["givenName"], "Barbara");
    // `id` is returned always; excluding it has no effect.
    assert_eq!(
        project(None, Some("id"))["id"],
        "2819c223-7f76-453a-919d-413861904646"
    );
    // Excluding every sub-attribute that is there leaves no empty object behind.
    let out = project(None, Some("name.formatted,name.familyName,name.givenName,name.middleName,name.honorificPrefix,name.honorificSuffix"));
    assert!(out.get("name").is_none());
}

#[test]
fn entra_excludes_members_of_a_group() {
    let registry = Registry::scim_default();
    let groups = registry.resource_type("Group").unwrap();
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1",
        "displayName": "Tour Guides", "members": [{"value": "u1"}, {"value": "u2"}],
        "meta": {"resourceType": "Group"}
    });
    let out = groups.project(
        group.clone(),
        &Projection::parse(None, Some("members")).unwrap(),
    );
    assert_eq!(
        out,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1",
            "displayName": "Tour Guides", "meta": {"resourceType": "Group"}
        })
    );
}

#[test]
fn request_attributes_only_when_asked_for() {
    let mut registry = Registry::scim_default();
    registry
        .add_schema(Schema::new(
            "urn:acme:Device",
            "Device",
            "",
            vec![
                Attribute::string("name"),
                Attribute::string("secretHint").returned(Returned::Request),
                Attribute::complex(
                    "owner",
                    vec![
                        Attribute::string("id").returned(Returned::Always),
                        Attribute::string("note").returned(Returned::Request),
                        Attribute::string("team"),
                    ],
                ),
            ],
        ))
        .unwrap();
    registry
        .add_resource_type(ResourceType::new("Device", "/Devices", "urn:acme:Device"))
        .unwrap();
    let devices = registry.resource_type("Device").unwrap();
    let device = json!({"schemas": ["urn:acme:Device"], "id": "d1", "name": "n", "secretHint": "h",
                        "owner": {"id": "o", "note": "x", "team": "t"}});
    let run = |a: Option<&str>, e: Option<&str>| {
        devices.project(device.clone(), &Projection::parse(a, e).unwrap())
    };
    let out = run(None, None);
    assert!(out.get("secretHint").is_none());
    assert_eq!(out["owner"], json!({"id": "o", "team": "t"}));
    assert_eq!(run(Some("secretHint"), None)["secretHint"], "h");
    assert_eq!(
        run(Some("owner.note"), None)["owner"],
        json!({"id": "o", "note": "x"})
    );
    // Naming the schema returns its default attributes, not the request ones.
    assert!(run(Some("urn:acme:Device"), None)
        .get("secretHint")
        .is_none());
    // Sub-attributes returned always survive the exclusion of their parent.
    assert_eq!(run(None, Some("owner"))["owner"], json!({"id": "o"}));
    assert_eq!(run(Some("name"), None)["owner"], json!({"id": "o"}));
}

#[test]
fn malformed_entries_are_invalid_values() {
    for bad in [
        "name..givenName",
        "emails[type eq \"work\"]",
        "a b",
        "name.given.x",
    ] {
        let err = Projection::parse(Some(bad), None).unwrap_err();
        assert_eq!(err.scim_type(), ScimType::InvalidValue, "{bad}");
        let err = Projection::parse(None, Some(bad)).unwrap_err();
        assert_eq!(err.scim_type(), ScimType::InvalidValue, "{bad}");
    }
    assert!(Projection::parse(Some(" , userName ,"), None).is_ok());
    assert!(Projection::parse(None, None).unwrap().is_default());
}
