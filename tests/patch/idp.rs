//! PATCH bodies as Microsoft Entra ID (default job and `aadOptscim062020`), Okta and
//! JumpCloud send them, each asserting the whole resulting resource; the deviations they
//! rely on are refused by the strict profile.

use scimkit::patch::{PatchError, PatchRequest};
use scimkit::schema::Registry;
use scimkit::{Compat, ScimType};
use serde_json::{json, Value};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "6c8a3c47",
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee@testuser.com",
        "active": true,
        "name": {"givenName": "givenName", "familyName": "familyName"},
        "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
        "meta": {"resourceType": "User", "version": "W/\"1\""}
    })
}

fn group(members: &[&str]) -> Value {
    let mut g = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "f1b2c3",
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": {"resourceType": "Group"}
    });
    if !members.is_empty() {
        g["members"] = members.iter().map(|m| json!({"value": m})).collect();
    }
    g
}

fn apply(
    resource_type: &str,
    resource: &Value,
    body: Value,
    compat: &Compat,
) -> Result<scimkit::patch::Patched, PatchError> {
    let registry = Registry::scim_default();
    let view = registry.resource_type(resource_type).unwrap();
    let request = PatchRequest::from_json(body, compat)?;
    view.patch(resource, &request, compat)
}

fn lenient(resource_type: &str, resource: &Value, body: Value) -> Value {
    apply(resource_type, resource, body, &Compat::lenient())
        .unwrap_or_else(|e| panic!("{e}"))
        .resource
}

#[track_caller]
fn strict_refuses(resource_type: &str, resource: &Value, body: Value, scim_type: ScimType) {
    let err = apply(resource_type, resource, body, &Compat::strict()).expect_err("strict refuses");
    assert_eq!(err.scim_type(), scim_type, "{err}");
}

fn edit(mut v: Value, f: impl FnOnce(&mut Value)) -> Value {
    f(&mut v);
    v
}

#[test]
fn entra_updates_a_user_through_a_filter_and_a_sub_attribute() {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}
        ]
    });
    let out = lenient("User", &user(), body.clone());
    assert_eq!(
        out,
        edit(user(), |u| {
            u["emails"][0]["value"] = json!("updatedEmail@microsoft.com");
            u["name"]["familyName"] = json!("updatedFamilyName");
        })
    );
    // `Replace` with a capital R is outside the RFC.
    strict_refuses("User", &user(), body, ScimType::InvalidSyntax);
}

#[test]
fn entra_disables_a_user_with_a_boolean_or_a_string() {
    for value in [json!(false), json!("False")] {
        let body = json!({"Operations": [{"op": "Replace", "path": "active", "value": value}],
                          "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]});
        assert_eq!(
            lenient("User", &user(), body),
            edit(user(), |u| u["active"] = json!(false))
        );
    }
    let body = json!({"Operations": [{"op": "replace", "path": "active", "value": "False"}],
                      "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]});
    strict_refuses("User", &user(), body, ScimType::InvalidValue);
}

#[test]
fn entra_adds_and_removes_group_members() {
    let add = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"name": "addMember", "op": "Add", "path": "members",
                        "value": [{"$ref": null, "value": "f648f8d5ea4e4cd38e9c"}]}]
    });
    let start = group(&["a1", "b2"]);
    let added = lenient("Group", &start, add.clone());
    assert_eq!(added, group(&["a1", "b2", "f648f8d5ea4e4cd38e9c"]));
    // Adding again changes nothing.
    let again = apply("Group", &added, add, &Compat::lenient()).unwrap();
    assert!(!again.changed);
    assert_eq!(again.resource, added);
    let remove = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"name": "removeMember", "op": "Remove", "path": "members",
                        "value": [{"$ref": null, "value": "f648f8d5ea4e4cd38e9c"}]}]
    });
    // Exactly that member goes; the group and its other members stay.
    assert_eq!(
        lenient("Group", &added, remove.clone()),
        group(&["a1", "b2"])
    );
    // The RFC reading would remove every member: strict refuses the capitalised op first.
    strict_refuses("Group", &added, remove, ScimType::InvalidSyntax);
}

#[test]
fn jumpcloud_removes_members_with_a_value_list() {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": "members",
                        "value": [{"value": "5e6d9a52a1b2"}, {"value": "5e6d9a52c3d4"}]}]
    });
    let start = group(&["5e6d9a52a1b2", "keep-me", "5e6d9a52c3d4"]);
    assert_eq!(lenient("Group", &start, body.clone()), group(&["keep-me"]));
    // Under the strict RFC reading the value is ignored and every member removed.
    let strict = apply("Group", &start, body, &Compat::strict())
        .unwrap()
        .resource;
    assert_eq!(strict, group(&[]));
}

#[test]
fn entra_renames_a_group() {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "displayName",
                        "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}]
    });
    assert_eq!(
        lenient("Group", &group(&["a1"]), body),
        edit(group(&["a1"]), |g| g["displayName"] = json!(
            "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
        ))
    );
}

#[test]
fn entra_creates_an_email_through_a_filter_that_matches_nothing() {
    let start = edit(user(), |u| {
        u.as_object_mut().unwrap().remove("emails");
    });
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "new@contoso.com"}]});
    assert_eq!(
        lenient("User", &start, body),
        edit(start.clone(), |u| u["emails"] =
            json!([{"type": "work", "value": "new@contoso.com"}]))
    );
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@contoso.com"}]});
    strict_refuses("User", &start, body, ScimType::NoTarget);
}

#[test]
fn entra_manager_forms() {
    let path = format!("{ENTERPRISE}:manager");
    let with_manager = edit(user(), |u| {
        u["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]);
        u[ENTERPRISE] = json!({"manager": {"value": "2819c223"}});
    });
    for value in [
        json!("2819c223"),
        json!([{"$ref": null, "value": "2819c223"}]),
        json!({"value": "2819c223"}),
    ] {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Add", "path": path, "value": value}]});
        assert_eq!(lenient("User", &user(), body), with_manager);
    }
    let remove = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Remove", "path": format!("{ENTERPRISE}:manager[value eq \"2819c223\"]")}]});
    assert_eq!(lenient("User", &with_manager, remove), user());
    // The extension's object and its URN in `schemas` go with its last attribute.
    let remove = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": path}]});
    assert_eq!(
        apply("User", &with_manager, remove, &Compat::strict())
            .unwrap()
            .resource,
        user()
    );
    let bare = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": format!("{ENTERPRISE}:manager"), "value": "2819c223"}]});
    strict_refuses("User", &user(), bare, ScimType::InvalidValue);
}

#[test]
fn entra_aad_opt_scim_062020_path_less_values() {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "replace", "value": {
                "id": "6c8a3c47",
                "active": false,
                "name.givenName": "Barbara",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "701984"
            }},
            {"op": "add", "value": {"title": "Tour Guide", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Tours"}}
        ]
    });
    assert_eq!(
        lenient("User", &user(), body.clone()),
        edit(user(), |u| {
            u["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]);
            u["active"] = json!(false);
            u["name"]["givenName"] = json!("Barbara");
            u["title"] = json!("Tour Guide");
            u[ENTERPRISE] = json!({"employeeNumber": "701984", "department": "Tours"});
        })
    );
    strict_refuses("User", &user(), body, ScimType::InvalidPath);
}

#[test]
fn okta_deactivates_changes_the_password_and_pushes_groups() {
    let deactivate = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]});
    for compat in [Compat::strict(), Compat::lenient()] {
        let out = apply("User", &user(), deactivate.clone(), &compat).unwrap();
        assert_eq!(out.resource, edit(user(), |u| u["active"] = json!(false)));
    }
    let password = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"password": "newPassword1"}}]});
    let out = apply("User", &user(), password, &Compat::lenient()).unwrap();
    assert!(!out.changed);
    assert_eq!(
        out.write_only,
        vec![("password".to_owned(), json!("newPassword1"))]
    );
    assert_eq!(out.resource, user());

    let rename = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"id": "f1b2c3", "displayName": "Test SCIMv2"}}]});
    for compat in [Compat::strict(), Compat::lenient()] {
        let out = apply("Group", &group(&[]), rename.clone(), &compat)
            .unwrap()
            .resource;
        assert_eq!(
            out,
            edit(group(&[]), |g| g["displayName"] = json!("Test SCIMv2"))
        );
    }
    let add = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members",
            "value": [{"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "display": "test.user@okta.local"}]}]});
    let added = lenient("Group", &group(&[]), add);
    assert_eq!(
        added["members"],
        json!([{"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "display": "test.user@okta.local"}])
    );
    let remove = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": "members[value eq \"23a35c27-23d3-4c03-b4c5-6443c09e7173\"]"}]});
    for compat in [Compat::strict(), Compat::lenient()] {
        assert_eq!(
            apply("Group", &added, remove.clone(), &compat)
                .unwrap()
                .resource,
            group(&[])
        );
    }
    // A changed id inside a path-less value is an attempt to change it.
    let steal = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"id": "other", "displayName": "x"}}]});
    strict_refuses("Group", &group(&[]), steal, ScimType::Mutability);
}

#[test]
fn group_membership_edge_cases() {
    let ops = |ops: Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    // `replace members []` empties the group.
    assert_eq!(
        lenient(
            "Group",
            &group(&["a", "b"]),
            ops(json!([{"op": "replace", "path": "members", "value": []}]))
        ),
        group(&[])
    );
    // Add then remove of the same member in one request.
    let out = lenient(
        "Group",
        &group(&["a"]),
        ops(json!([
            {"op": "add", "path": "members", "value": [{"value": "b"}]},
            {"op": "remove", "path": "members[value eq \"b\"]"}
        ])),
    );
    assert_eq!(out, group(&["a"]));
    // Remove then add it back.
    let out = lenient(
        "Group",
        &group(&["a", "b"]),
        ops(json!([
            {"op": "remove", "path": "members", "value": [{"value": "a"}]},
            {"op": "add", "path": "members", "value": [{"value": "a"}]}
        ])),
    );
    assert_eq!(out, group(&["b", "a"]));
    // Members given as bare strings.
    assert_eq!(
        lenient(
            "Group",
            &group(&["a"]),
            ops(json!([{"op": "add", "path": "members", "value": ["b", "c"]}]))
        ),
        group(&["a", "b", "c"])
    );
    // Removing a member who is not there is done already, or noTarget when strict.
    assert_eq!(
        lenient(
            "Group",
            &group(&["a"]),
            ops(json!([{"op": "remove", "path": "members[value eq \"zz\"]"}]))
        ),
        group(&["a"])
    );
    strict_refuses(
        "Group",
        &group(&["a"]),
        ops(json!([{"op": "remove", "path": "members[value eq \"zz\"]"}])),
        ScimType::NoTarget,
    );
    // A member's value is immutable.
    strict_refuses(
        "Group",
        &group(&["a"]),
        ops(json!([{"op": "replace", "path": "members[value eq \"a\"].value", "value": "b"}])),
        ScimType::Mutability,
    );
}

#[test]
fn the_pre_2018_path_form() {
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.manager", "value": {"value": "m2"}}]});
    let out = lenient("User", &user(), body.clone());
    assert_eq!(out[ENTERPRISE], json!({"manager": {"value": "m2"}}));
    strict_refuses("User", &user(), body, ScimType::InvalidPath);
}

#[test]
fn a_new_primary_clears_the_others() {
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "emails", "value": [{"value": "home@x.org", "type": "home", "primary": true}]}]});
    let out = apply("User", &user(), body, &Compat::strict())
        .unwrap()
        .resource;
    assert_eq!(
        out["emails"],
        json!([
            {"primary": false, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"},
            {"value": "home@x.org", "type": "home", "primary": true}
        ])
    );
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "emails[value eq \"home@x.org\"].primary", "value": true}]});
    let two = edit(user(), |u| {
        u["emails"]
            .as_array_mut()
            .unwrap()
            .push(json!({"value": "home@x.org"}))
    });
    let out = apply("User", &two, body, &Compat::strict())
        .unwrap()
        .resource;
    assert_eq!(out["emails"][0]["primary"], false);
    assert_eq!(out["emails"][1]["primary"], true);
}

/// Found by the scim2-tester compliance suite: a path naming a whole extension.
#[test]
fn a_whole_extension_as_the_path() {
    let ext = json!({"employeeNumber": "701984", "department": "Tours"});
    for compat in [Compat::strict(), Compat::lenient()] {
        let add = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": ENTERPRISE, "value": ext.clone()}]});
        let added = apply("User", &user(), add, &compat).unwrap();
        assert!(added.changed);
        let expected = edit(user(), |u| {
            u["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]);
            u[ENTERPRISE] = ext.clone();
        });
        assert_eq!(added.resource, expected);
        let replace = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": ENTERPRISE, "value": {"costCenter": "4130"}}]});
        let replaced = apply("User", &expected, replace, &compat).unwrap().resource;
        assert_eq!(replaced[ENTERPRISE], json!({"costCenter": "4130"}));
        let remove = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove", "path": ENTERPRISE}]});
        let removed = apply("User", &expected, remove.clone(), &compat).unwrap();
        assert_eq!(removed.resource, user());
        // Removing what is not there changes nothing.
        let again = apply("User", &user(), remove, &compat).unwrap();
        assert!(!again.changed);
    }
}
