//! Normalisation and validation of incoming resources: the RFC 7643 §8 examples, the
//! literal bodies identity providers send, and each rule with a passing and a failing case.

use scimkit::schema::{Attribute, Mutability, Registry, ResourceType, Schema, Write};
use scimkit::{Compat, ScimError, ScimType};
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn data(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn registry() -> Registry {
    Registry::scim_default()
}

fn create(resource_type: &str, body: Value, compat: &Compat) -> Result<Value, ScimError> {
    let registry = registry();
    let view = registry.resource_type(resource_type).unwrap();
    let normalized = view.normalize(body.clone(), Write::Create, compat)?;
    Ok(normalized.resource)
}

fn lenient(resource_type: &str, body: Value) -> Value {
    create(resource_type, body, &Compat::lenient()).unwrap_or_else(|e| panic!("{e}"))
}

#[track_caller]
fn rejected(resource_type: &str, body: Value, compat: &Compat, scim_type: ScimType) -> ScimError {
    let err = create(resource_type, body, compat).expect_err("should be rejected");
    assert_eq!(err.status(), 400);
    assert_eq!(err.scim_type(), Some(scim_type), "{}", err.detail());
    err
}

/// The example without what a client may not set: `id`, `meta`, `groups`, `password`.
fn without_server_attributes(mut v: Value) -> Value {
    let obj = v.as_object_mut().unwrap();
    for key in ["id", "meta", "groups", "password"] {
        obj.remove(key);
    }
    if let Some(Value::Object(ext)) = obj.get_mut(ENTERPRISE) {
        if let Some(Value::Object(manager)) = ext.get_mut("manager") {
            manager.remove("displayName");
        }
    }
    v
}

#[test]
fn rfc7643_examples_validate_and_round_trip() {
    for compat in [Compat::lenient(), Compat::strict()] {
        for (resource_type, example) in [
            ("User", data("rfc7643-user-minimal.json")),
            ("User", data("rfc7643-enterprise-user.json")),
            ("Group", data("rfc7643-group.json")),
        ] {
            let registry = registry();
            let view = registry.resource_type(resource_type).unwrap();
            let expected = without_server_attributes(example.clone());
            let out = view
                .normalize(example.clone(), Write::Create, &compat)
                .unwrap_or_else(|e| panic!("{resource_type}: {e}"));
            assert_eq!(out.resource, expected, "{resource_type}");
            // Normalising the result again changes nothing.
            let again = view
                .normalize(out.resource.clone(), Write::Create, &compat)
                .unwrap();
            assert_eq!(again.resource, out.resource);
        }
    }
    // The full user without its extension is the RFC 7643 §8.2 example.
    let mut full = data("rfc7643-enterprise-user.json");
    full.as_object_mut().unwrap().remove(ENTERPRISE);
    full["schemas"] = json!([USER]);
    let out = create("User", full.clone(), &Compat::strict()).unwrap();
    assert_eq!(out, without_server_attributes(full));
}

#[test]
fn entra_create_user_body() {
    let out = lenient("User", data("idp/entra-create-user.json"));
    assert_eq!(
        out,
        json!({
            "schemas": [USER],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
            "active": true,
            "emails": [{
                "primary": true,
                "type": "work",
                "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"
            }],
            "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"}
        })
    );
    // It is valid RFC input too: nothing in it needs tolerance.
    assert_eq!(
        create(
            "User",
            data("idp/entra-create-user.json"),
            &Compat::strict()
        )
        .unwrap(),
        out
    );
}

#[test]
fn entra_create_group_body_with_its_adscim_urn() {
    let out = lenient("Group", data("idp/entra-create-group.json"));
    assert_eq!(
        out,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "displayName"
        })
    );
    let err = rejected(
        "Group",
        data("idp/entra-create-group.json"),
        &Compat::strict(),
        ScimType::InvalidValue,
    );
    assert!(err.to_string().contains("ADSCIM"), "{err}");
}

#[test]
fn okta_create_user_body_hands_back_the_password() {
    let registry = registry();
    let users = registry.resource_type("User").unwrap();
    let out = users
        .normalize(
            data("idp/okta-create-user.json"),
            Write::Create,
            &Compat::lenient(),
        )
        .unwrap();
    assert_eq!(out.resource.get("password"), None);
    assert_eq!(out.resource.get("groups"), None);
    assert_eq!(
        out.write_only,
        vec![("password".to_owned(), json!("1mz050nq"))]
    );
    assert_eq!(out.resource["userName"], "test.user@okta.local");
    assert_eq!(out.resource["locale"], "en-US");
    assert_eq!(out.unique.len(), 1);
    assert_eq!(out.unique[0].path, "userName");
    assert_eq!(out.unique[0].value, "test.user@okta.local");
    assert!(!out.unique[0].case_exact);
    assert_eq!(
        out.unique[0].key(),
        ("username".to_owned(), "test.user@okta.local".to_owned())
    );
}

#[test]
fn messy_bodies_normalise_to_the_same_resource() {
    let clean = json!({
        "schemas": [USER, ENTERPRISE],
        "userName": "bjensen",
        "active": false,
        "name": {"givenName": "Barbara"},
        "emails": [{"value": "b@example.com", "type": "work", "primary": true}],
        ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "26118915"}}
    });
    let expected = lenient("User", clean.clone());
    assert_eq!(expected, create("User", clean, &Compat::strict()).unwrap());
    for messy in [
        // Names in any case, string booleans, nulls, placeholders and read-only input.
        json!({
            "Schemas": [USER.to_uppercase(), ENTERPRISE, "urn:example:unknown:1.0"],
            "id": "client-chosen", "meta": {"resourceType": "User"}, "groups": [],
            "USERNAME": "bjensen", "Active": "False", "nickName": null, "title": "",
            "NAME": {"GivenName": "Barbara", "familyName": null},
            "EMAILS": [{"Value": "b@example.com", "TYPE": "work", "Primary": "true", "display": null}, null],
            "phoneNumbers": [], "addresses": null, "roles": [{}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {
                "EmployeeNumber": 701984, "manager": "26118915", "department": null
            }
        }),
        // OneLogin's lone object, Entra's manager as a list, qualified names as keys.
        json!({
            "schemas": [USER],
            "urn:ietf:params:scim:schemas:core:2.0:User:userName": "bjensen",
            "active": false,
            "name": {"givenName": "Barbara"},
            "emails": {"value": "b@example.com", "type": "work", "primary": true},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "701984",
            ENTERPRISE: {"manager": [{"value": "26118915", "$ref": null}]},
            "unknownAttribute": {"x": 1}
        }),
    ] {
        let mut out = lenient("User", messy);
        // An empty string is a value: `title: ""` is kept as given.
        if let Some(obj) = out.as_object_mut() {
            obj.remove("title");
        }
        assert_eq!(out, expected);
    }
}

#[test]
fn strict_mode_rejects_each_deviation() {
    let strict = Compat::strict();
    let base = || json!({"schemas": [USER], "userName": "bjensen"});
    let with = |key: &str, value: Value| {
        let mut b = base();
        b[key] = value;
        b
    };
    for (body, what) in [
        (with("active", json!("true")), "active"),
        (with("emails", json!({"value": "x@example.com"})), "emails"),
        (with("shoeSize", json!(42)), "shoeSize"),
        (with("displayName", json!(42)), "displayName"),
        (
            with("schemas", json!([USER, "urn:example:other"])),
            "urn:example:other",
        ),
        (json!({"userName": "bjensen"}), "schemas"),
        (
            with("emails", json!([{"value": "a@x", "type": "pager"}])),
            "emails.type",
        ),
        (
            with(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                json!({"manager": "m1"}),
            ),
            "manager",
        ),
        (
            with(
                "emails",
                json!([{"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]),
            ),
            "primary",
        ),
    ] {
        let err = rejected("User", body, &strict, ScimType::InvalidValue);
        assert!(err.to_string().contains(what), "{what}: {err}");
    }
}

#[test]
fn lenient_mode_keeps_the_first_primary() {
    let out = lenient(
        "User",
        json!({"userName": "b", "emails": [
            {"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}, {"value": "c@x"}
        ]}),
    );
    assert_eq!(
        out["emails"],
        json!([{"value": "a@x", "primary": true}, {"value": "b@x", "primary": false}, {"value": "c@x"}])
    );
}

#[test]
fn type_errors_in_any_mode() {
    for compat in [Compat::lenient(), Compat::strict()] {
        let cases = [
            json!("not an object"),
            json!([{"userName": "x"}]),
            json!(null),
        ];
        for body in cases {
            rejected("User", body, &compat, ScimType::InvalidSyntax);
        }
        for (body, what) in [
            (
                json!({"schemas": [USER], "userName": ["a", "b"]}),
                "userName",
            ),
            (json!({"schemas": [USER], "userName": {"x": 1}}), "userName"),
            (
                json!({"schemas": [USER], "userName": "b", "active": "maybe"}),
                "active",
            ),
            (
                json!({"schemas": [USER], "userName": "b", "active": 1}),
                "active",
            ),
            (
                json!({"schemas": [USER], "userName": "b", "name": "Barbara"}),
                "name",
            ),
            (
                json!({"schemas": [USER], "userName": "b", "emails": [["a@x"]]}),
                "emails",
            ),
            (
                json!({"schemas": [USER], "userName": "b", "emails": [{"value": 5.5e300, "primary": "yes"}]}),
                "emails.primary",
            ),
            (
                json!({"schemas": [USER], "userName": "b", "photos": [{"value": 7}]}),
                "photos.value",
            ),
            (
                json!({"schemas": [USER], "userName": "b", ENTERPRISE: "sales"}),
                ENTERPRISE,
            ),
            (
                json!({"schemas": "nonsense-not-a-list", "userName": "b", "x509Certificates": [{"value": true}]}),
                "",
            ),
        ] {
            let err = create("User", body, &compat).expect_err(what);
            assert_eq!(
                err.scim_type(),
                Some(ScimType::InvalidValue),
                "{what}: {}",
                err
            );
            assert!(err.to_string().contains(what), "{what}: {err}");
        }
    }
}

#[test]
fn an_attribute_given_twice_is_invalid_syntax() {
    for body in [
        json!({"userName": "a", "USERNAME": "b"}),
        json!({"userName": "a", "urn:ietf:params:scim:schemas:core:2.0:User:userName": "a"}),
        json!({"userName": "a", "name": {"givenName": "x", "GIVENNAME": "y"}}),
    ] {
        rejected("User", body, &Compat::lenient(), ScimType::InvalidSyntax);
    }
}

#[test]
fn required_attributes() {
    for compat in [Compat::lenient(), Compat::strict()] {
        for body in [
            json!({"schemas": [USER]}),
            json!({"schemas": [USER], "userName": null}),
            json!({"schemas": [USER], "userName": []}),
            json!({"schemas": [USER], "id": "x", "meta": {}, "displayName": "Babs"}),
        ] {
            let err = rejected("User", body, &compat, ScimType::InvalidValue);
            assert_eq!(err.detail(), "userName is required");
        }
    }
    // A required extension, and a required attribute of an extension.
    let mut registry = Registry::scim_default();
    registry
        .add_schema(Schema::new(
            "urn:acme:Badge",
            "Badge",
            "",
            vec![Attribute::string("number").required()],
        ))
        .unwrap();
    registry
        .add_resource_type(
            ResourceType::new("Staff", "/Staff", USER).extension("urn:acme:Badge", true),
        )
        .unwrap();
    let staff = registry.resource_type("Staff").unwrap();
    let err = staff
        .normalize(json!({"userName": "a"}), Write::Create, &Compat::lenient())
        .unwrap_err();
    assert_eq!(err.to_string(), "the urn:acme:Badge extension is required");
    let ok = staff
        .normalize(
            json!({"userName": "a", "urn:acme:Badge": {"number": "7"}}),
            Write::Create,
            &Compat::lenient(),
        )
        .unwrap();
    assert_eq!(ok.resource["schemas"], json!([USER, "urn:acme:Badge"]));
}

#[test]
fn immutable_attributes_are_set_once() {
    let mut registry = Registry::scim_default();
    registry
        .add_schema(Schema::new(
            "urn:acme:Device",
            "Device",
            "",
            vec![
                Attribute::string("serial")
                    .required()
                    .mutability(Mutability::Immutable),
                Attribute::string("label"),
                Attribute::complex(
                    "owner",
                    vec![
                        Attribute::string("team").mutability(Mutability::Immutable),
                        Attribute::string("person"),
                    ],
                ),
            ],
        ))
        .unwrap();
    registry
        .add_resource_type(ResourceType::new("Device", "/Devices", "urn:acme:Device"))
        .unwrap();
    let devices = registry.resource_type("Device").unwrap();
    let compat = Compat::lenient();
    let existing = devices
        .normalize(
            json!({"serial": "S1", "label": "a", "owner": {"team": "blue", "person": "p"}}),
            Write::Create,
            &compat,
        )
        .unwrap()
        .resource;
    // Omitted: kept. Same value: fine. Other attributes: replaced.
    let out = devices
        .normalize(
            json!({"label": "b", "owner": {"person": "q"}}),
            Write::Replace(&existing),
            &compat,
        )
        .unwrap();
    assert_eq!(out.resource["serial"], "S1");
    assert_eq!(out.resource["label"], "b");
    assert_eq!(
        out.resource["owner"],
        json!({"team": "blue", "person": "q"})
    );
    assert!(devices
        .normalize(json!({"serial": "S1"}), Write::Replace(&existing), &compat)
        .is_ok());
    // Changed: 400 mutability, at the top level and inside a complex attribute.
    for body in [
        json!({"serial": "S2"}),
        json!({"serial": "S1", "owner": {"team": "red"}}),
    ] {
        let err = devices
            .normalize(body.clone(), Write::Replace(&existing), &compat)
            .unwrap_err();
        assert_eq!(err.scim_type(), ScimType::Mutability, "{}", err);
    }
    // Unset before: may be set now.
    let bare = devices
        .normalize(json!({"serial": "S1"}), Write::Create, &compat)
        .unwrap()
        .resource;
    let out = devices
        .normalize(
            json!({"serial": "S1", "owner": {"team": "green"}}),
            Write::Replace(&bare),
            &compat,
        )
        .unwrap();
    assert_eq!(out.resource["owner"]["team"], "green");
}

#[test]
fn coercions_of_numbers_and_dates() {
    let mut registry = Registry::scim_default();
    registry
        .add_schema(Schema::new(
            "urn:acme:Stats",
            "Stats",
            "",
            vec![
                Attribute::new("logins", scimkit::schema::AttrKind::Integer),
                Attribute::new("score", scimkit::schema::AttrKind::Decimal),
                Attribute::new("since", scimkit::schema::AttrKind::DateTime),
            ],
        ))
        .unwrap();
    registry
        .add_resource_type(ResourceType::new("Stats", "/Stats", "urn:acme:Stats"))
        .unwrap();
    let stats = registry.resource_type("Stats").unwrap();
    let run = |mut body: Value, compat: &Compat| {
        body["schemas"] = json!(["urn:acme:Stats"]);
        stats
            .normalize(body.clone(), Write::Create, compat)
            .map(|n| n.resource)
    };
    let out = run(
        json!({"logins": "42", "score": "4.5", "since": "2011-05-13T04:42:34.123456789+02:00"}),
        &Compat::lenient(),
    )
    .unwrap();
    assert_eq!(
        (out["logins"].clone(), out["score"].clone()),
        (json!(42), json!(4.5))
    );
    for (body, what) in [
        (json!({"logins": "42"}), "logins"),
        (json!({"logins": 4.5}), "logins"),
        (json!({"score": "4.5"}), "score"),
        (json!({"since": "yesterday"}), "since"),
        (json!({"since": 20110513}), "since"),
    ] {
        let err = run(body, &Compat::strict()).unwrap_err();
        assert_eq!(err.scim_type(), ScimType::InvalidValue);
        assert!(err.to_string().contains(what), "{err}");
    }
    assert!(run(json!({"logins": "many"}), &Compat::lenient()).is_err());
    assert!(run(json!({"since": "2011-05-13T04:42:34"}), &Compat::strict()).is_ok());
}
