//! The built-in schemas against RFC 7643 §8.7.1, the RFC JSON forms, and name resolution
//! through the registry (also as the filter evaluator's source of types).

use scimkit::eval::Matcher;
use scimkit::schema::{
    Attribute, Registry, RegistryError, ResourceType, Schema, ENTERPRISE_USER, GROUP, USER,
};
use scimkit::Filter;
use serde_json::{json, Value};

/// RFC 7643 §8.7.1: path | type | multiValued | required | caseExact | mutability |
/// returned | uniqueness | canonicalValues | referenceTypes. Two rows are not in §8.7.1:
/// `addresses.primary` and `members.display`, which §2.4 defines for every multi-valued
/// attribute and the §8.2 and §8.4 examples use.
const USER_8_7_1: &str = "
userName|string|false|true|false|readWrite|default|server||
name|complex|false|false|false|readWrite|default|none||
name.formatted|string|false|false|false|readWrite|default|none||
name.familyName|string|false|false|false|readWrite|default|none||
name.givenName|string|false|false|false|readWrite|default|none||
name.middleName|string|false|false|false|readWrite|default|none||
name.honorificPrefix|string|false|false|false|readWrite|default|none||
name.honorificSuffix|string|false|false|false|readWrite|default|none||
displayName|string|false|false|false|readWrite|default|none||
nickName|string|false|false|false|readWrite|default|none||
profileUrl|reference|false|false|false|readWrite|default|none||external
title|string|false|false|false|readWrite|default|none||
userType|string|false|false|false|readWrite|default|none||
preferredLanguage|string|false|false|false|readWrite|default|none||
locale|string|false|false|false|readWrite|default|none||
timezone|string|false|false|false|readWrite|default|none||
active|boolean|false|false|false|readWrite|default|none||
password|string|false|false|false|writeOnly|never|none||
emails|complex|true|false|false|readWrite|default|none||
emails.value|string|false|false|false|readWrite|default|none||
emails.display|string|false|false|false|readWrite|default|none||
emails.type|string|false|false|false|readWrite|default|none|work,home,other|
emails.primary|boolean|false|false|false|readWrite|default|none||
phoneNumbers|complex|true|false|false|readWrite|default|none||
phoneNumbers.value|string|false|false|false|readWrite|default|none||
phoneNumbers.display|string|false|false|false|readWrite|default|none||
phoneNumbers.type|string|false|false|false|readWrite|default|none|work,home,mobile,fax,pager,other|
phoneNumbers.primary|boolean|false|false|false|readWrite|default|none||
ims|complex|true|false|false|readWrite|default|none||
ims.value|string|false|false|false|readWrite|default|none||
ims.display|string|false|false|false|readWrite|default|none||
ims.type|string|false|false|false|readWrite|default|none|aim,gtalk,icq,xmpp,msn,skype,qq,yahoo|
ims.primary|boolean|false|false|false|readWrite|default|none||
photos|complex|true|false|false|readWrite|default|none||
photos.value|reference|false|false|false|readWrite|default|none||external
photos.display|string|false|false|false|readWrite|default|none||
photos.type|string|false|false|false|readWrite|default|none|photo,thumbnail|
photos.primary|boolean|false|false|false|readWrite|default|none||
addresses|complex|true|false|false|readWrite|default|none||
addresses.formatted|string|false|false|false|readWrite|default|none||
addresses.streetAddress|string|false|false|false|readWrite|default|none||
addresses.locality|string|false|false|false|readWrite|default|none||
addresses.region|string|false|false|false|readWrite|default|none||
addresses.postalCode|string|false|false|false|readWrite|default|none||
addresses.country|string|false|false|false|readWrite|default|none||
addresses.type|string|false|false|false|readWrite|default|none|work,home,other|
addresses.primary|boolean|false|false|false|readWrite|default|none||
groups|complex|true|false|false|readOnly|default|none||
groups.value|string|false|false|false|readOnly|default|none||
groups.$ref|reference|false|false|false|readOnly|default|none||User,Group
groups.display|string|false|false|false|readOnly|default|none||
groups.type|string|false|false|false|readOnly|default|none|direct,indirect|
entitlements|complex|true|false|false|readWrite|default|none||
entitlements.value|string|false|false|false|readWrite|default|none||
entitlements.display|string|false|false|false|readWrite|default|none||
entitlements.type|string|false|false|false|readWrite|default|none||
entitlements.primary|boolean|false|false|false|readWrite|default|none||
roles|complex|true|false|false|readWrite|default|none||
roles.value|string|false|false|false|readWrite|default|none||
roles.display|string|false|false|false|readWrite|default|none||
roles.type|string|false|false|false|readWrite|default|none||
roles.primary|boolean|false|false|false|readWrite|default|none||
x509Certificates|complex|true|false|false|readWrite|default|none||
x509Certificates.value|binary|false|false|false|readWrite|default|none||
x509Certificates.display|string|false|false|false|readWrite|default|none||
x509Certificates.type|string|false|false|false|readWrite|default|none||
x509Certificates.primary|boolean|false|false|false|readWrite|default|none||
";

const GROUP_8_7_1: &str = "
displayName|string|false|false|false|readWrite|default|none||
members|complex|true|false|false|readWrite|default|none||
members.value|string|false|false|false|immutable|default|none||
members.$ref|reference|false|false|false|immutable|default|none||User,Group
members.type|string|false|false|false|immutable|default|none|User,Group|
members.display|string|false|false|false|readWrite|default|none||
";

const ENTERPRISE_8_7_1: &str = "
employeeNumber|string|false|false|false|readWrite|default|none||
costCenter|string|false|false|false|readWrite|default|none||
organization|string|false|false|false|readWrite|default|none||
division|string|false|false|false|readWrite|default|none||
department|string|false|false|false|readWrite|default|none||
manager|complex|false|false|false|readWrite|default|none||
manager.value|string|false|false|false|readWrite|default|none||
manager.$ref|reference|false|false|false|readWrite|default|none||User
manager.displayName|string|false|false|false|readOnly|default|none||
";

/// Each attribute and sub-attribute as a table row, from the schema's own JSON form.
fn rows(schema: &Schema) -> Vec<String> {
    fn row(path: &str, a: &Value) -> String {
        let list = |key: &str| {
            a.get(key)
                .and_then(Value::as_array)
                .map(|v| {
                    v.iter()
                        .map(|x| x.as_str().unwrap())
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default()
        };
        format!(
            "{path}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
            a["type"].as_str().unwrap(),
            a["multiValued"],
            a["required"],
            a["caseExact"],
            a["mutability"].as_str().unwrap(),
            a["returned"].as_str().unwrap(),
            a["uniqueness"].as_str().unwrap(),
            list("canonicalValues"),
            list("referenceTypes"),
        )
    }
    let json = serde_json::to_value(schema).unwrap();
    let mut out = Vec::new();
    for a in json["attributes"].as_array().unwrap() {
        let name = a["name"].as_str().unwrap();
        out.push(row(name, a));
        for s in a
            .get("subAttributes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.push(row(&format!("{name}.{}", s["name"].as_str().unwrap()), s));
        }
    }
    out
}

fn table(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn built_in_schemas_match_rfc7643_section_8_7_1() {
    let registry = Registry::scim_default();
    for (urn, expected) in [
        (USER, USER_8_7_1),
        (GROUP, GROUP_8_7_1),
        (ENTERPRISE_USER, ENTERPRISE_8_7_1),
    ] {
        let schema = registry.schema(urn).unwrap();
        assert_eq!(rows(schema), table(expected), "{urn}");
        assert!(schema.attributes.iter().all(|a| !a.description.is_empty()));
    }
}

#[test]
fn schemas_round_trip_through_the_rfc_json_form() {
    let registry = Registry::scim_default();
    for schema in registry.schemas() {
        let json = schema.to_json(Some("https://example.com/scim/v2/"));
        assert_eq!(
            json["schemas"],
            json!(["urn:ietf:params:scim:schemas:core:2.0:Schema"])
        );
        assert_eq!(
            json["meta"]["location"],
            format!("https://example.com/scim/v2/Schemas/{}", schema.id)
        );
        let back: Schema = serde_json::from_value(json).unwrap();
        assert_eq!(&back, schema);
    }
    for rt in registry.resource_types() {
        let json = rt
            .resource_type()
            .to_json(Some("https://example.com/scim/v2"));
        assert_eq!(
            json["schemas"],
            json!(["urn:ietf:params:scim:schemas:core:2.0:ResourceType"])
        );
        let back: ResourceType = serde_json::from_value(json).unwrap();
        assert_eq!(&back, rt.resource_type());
    }
    let user = registry.resource_type("User").unwrap();
    assert_eq!(
        serde_json::to_value(user.resource_type()).unwrap(),
        json!({
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "User Account",
            "schema": USER,
            "schemaExtensions": [{"schema": ENTERPRISE_USER, "required": false}]
        })
    );
}

#[test]
fn characteristics_left_out_take_the_rfc_defaults() {
    let attr: Attribute =
        serde_json::from_value(json!({"name": "nick", "type": "string"})).unwrap();
    assert_eq!(attr, Attribute::string("nick"));
    let bad = serde_json::from_value::<Attribute>(json!({"name": "x", "type": "text"}));
    assert!(bad.is_err());
    let bad = serde_json::from_value::<Attribute>(
        json!({"name": "x", "type": "string", "mutability": "sometimes"}),
    );
    assert!(bad.is_err());
}

#[test]
fn names_resolve_in_any_case_with_urn_routing() {
    let registry = Registry::scim_default();
    let user = registry.resource_type("user").unwrap();
    let r = user.resolve(None, "USERNAME", None).unwrap();
    assert_eq!(
        (r.attribute.name.as_str(), r.extension),
        ("userName", false)
    );
    assert_eq!(r.schema.unwrap().id, USER);
    let r = user.resolve(None, "name", Some("GIVENNAME")).unwrap();
    assert_eq!(r.target().name, "givenName");
    let r = user
        .resolve(
            Some("URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER"),
            "emails",
            Some("value"),
        )
        .unwrap();
    assert_eq!(r.target().name, "value");
    // Common attributes belong to no schema.
    let r = user.resolve(None, "Meta", Some("lastmodified")).unwrap();
    assert!(r.schema.is_none());
    assert_eq!(r.target().name, "lastModified");
    assert!(user.resolve(Some(USER), "id", None).is_some());
    // The Enterprise extension: qualified, and unqualified where unambiguous.
    let r = user
        .resolve(Some(ENTERPRISE_USER), "manager", Some("value"))
        .unwrap();
    assert!(r.extension);
    let r = user.resolve(None, "employeeNumber", None).unwrap();
    assert_eq!(
        (r.schema.unwrap().id.as_str(), r.extension),
        (ENTERPRISE_USER, true)
    );
    // Unknown names, sub-attributes, URNs, and URNs of another type's schema.
    assert!(user.resolve(None, "shoeSize", None).is_none());
    assert!(user.resolve(None, "userName", Some("first")).is_none());
    assert!(user
        .resolve(Some("urn:example:nope"), "userName", None)
        .is_none());
    assert!(user.resolve(Some(GROUP), "displayName", None).is_none());
    let group = registry.resource_type_by_endpoint("Groups/").unwrap();
    assert!(group.resolve(None, "employeeNumber", None).is_none());
    assert!(group.resolve(None, "members", Some("$REF")).is_some());
}

#[test]
fn an_unqualified_name_two_extensions_define_is_ambiguous() {
    let mut registry = Registry::scim_default();
    registry
        .add_schema(Schema::new(
            "urn:acme:ext:User",
            "Acme",
            "",
            vec![Attribute::string("department")],
        ))
        .unwrap();
    registry
        .add_schema(Schema::new(
            "urn:acme:ext:Device",
            "Device",
            "",
            vec![Attribute::string("serial")],
        ))
        .unwrap();
    registry
        .add_resource_type(
            ResourceType::new("Staff", "/Staff", USER)
                .extension(ENTERPRISE_USER, true)
                .extension("urn:acme:ext:User", false),
        )
        .unwrap();
    let staff = registry.resource_type("Staff").unwrap();
    assert!(staff.resolve(None, "department", None).is_none());
    assert!(staff
        .resolve(Some("urn:acme:ext:User"), "department", None)
        .is_some());
    assert!(staff.resolve(None, "employeeNumber", None).is_some());
    assert_eq!(
        staff
            .extensions()
            .map(|(s, req)| (s.id.as_str(), req))
            .collect::<Vec<_>>(),
        vec![(ENTERPRISE_USER, true), ("urn:acme:ext:User", false)]
    );
}

#[test]
fn registration_errors() {
    let mut registry = Registry::scim_default();
    assert_eq!(
        registry
            .add_schema(Schema::new(USER.to_lowercase(), "", "", vec![]))
            .err(),
        Some(RegistryError::DuplicateSchema(USER.to_lowercase()))
    );
    assert!(matches!(
        registry.add_schema(Schema::new(
            "urn:x",
            "",
            "",
            vec![Attribute::string("a"), Attribute::string("A")]
        )),
        Err(RegistryError::DuplicateAttribute { .. })
    ));
    assert!(matches!(
        registry.add_schema(Schema::new("urn:y", "", "", vec![Attribute::string("ID")])),
        Err(RegistryError::DuplicateAttribute { .. })
    ));
    assert_eq!(
        registry
            .add_resource_type(ResourceType::new("USER", "/People", USER))
            .err(),
        Some(RegistryError::DuplicateResourceType("USER".into()))
    );
    assert_eq!(
        registry
            .add_resource_type(ResourceType::new("People", "users/", USER))
            .err(),
        Some(RegistryError::DuplicateResourceType("People".into()))
    );
    assert!(matches!(
        registry.add_resource_type(ResourceType::new("Device", "/Devices", "urn:missing")),
        Err(RegistryError::UnknownSchema { .. })
    ));
    assert_eq!(registry.resource_types().count(), 2);
}

fn enterprise_user() -> Value {
    let path = format!(
        "{}/tests/data/rfc7643-enterprise-user.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_evaluator_takes_types_and_locations_from_the_registry() {
    let registry = Registry::scim_default();
    let user = registry.resource_type("User").unwrap();
    let resource = enterprise_user();
    let check = |filter: &str, expected: bool| {
        let f: Filter = filter.parse().unwrap();
        let m = Matcher::new(&f, &user).unwrap_or_else(|e| panic!("{filter}: {e}"));
        assert_eq!(m.matches(&resource), expected, "{filter}");
    };
    // Unqualified extension attributes are found in the extension object.
    check(r#"employeeNumber eq "701984""#, true);
    check(
        r#"Manager.Value eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
        true,
    );
    check(r#"manager eq "26118915-6090-4610-87e4-49d8ca9f808d""#, true);
    check(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "BJENSEN@example.com""#,
        true,
    );
    // Types come from the schemas: id is case-exact, meta.lastModified a dateTime.
    check(r#"id eq "2819C223-7F76-453A-919D-413861904646""#, false);
    check(r#"meta.lastModified eq "2011-05-13T06:42:34+02:00""#, true);
    // Binary values are case-exact (RFC 7643 §2.3.6) although the schema says caseExact false.
    check(
        r#"x509Certificates.value eq "miidqzccaqygawibagicEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx""#,
        false,
    );
    check(
        r#"x509Certificates.value eq "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx""#,
        true,
    );
    check(r#"groups[display eq "tour guides"]"#, true);
    check(r#"emails[type eq "WORK" and primary eq "True"]"#, true);
    let refused: Filter = "active gt true".parse().unwrap();
    assert!(Matcher::new(&refused, &user).is_err());
    let refused: Filter = r#"meta.created lt "soon""#.parse().unwrap();
    assert!(Matcher::new(&refused, &user).is_err());
}

#[test]
fn rfc7643_service_provider_config_example_round_trips() {
    use scimkit::schema::{PaginationConfig, ServiceProviderConfig};
    let example = data_file("rfc7643-service-provider-config.json");
    let config: ServiceProviderConfig = serde_json::from_value(example.clone()).unwrap();
    assert_eq!(config.bulk.max_operations, 1000);
    assert_eq!(config.filter.max_results, 200);
    assert_eq!(config.authentication_schemes[0].kind, "oauthbearertoken");
    let mut back = config.to_json(Some("https://example.com/v2"));
    assert_eq!(back["meta"]["location"], example["meta"]["location"]);
    back.as_object_mut().unwrap().remove("meta");
    let mut expected = example.clone();
    expected.as_object_mut().unwrap().remove("meta");
    assert_eq!(back, expected);
    // RFC 9865 pagination, when configured.
    let mut with_cursors = config.clone();
    with_cursors.pagination = Some(PaginationConfig {
        cursor: true,
        index: true,
        default_pagination_method: Some("index".into()),
        default_page_size: Some(100),
        max_page_size: Some(1000),
        cursor_timeout: Some(3600),
    });
    let json = with_cursors.to_json(None);
    assert_eq!(
        json["pagination"],
        json!({"cursor": true, "index": true, "defaultPaginationMethod": "index",
               "defaultPageSize": 100, "maxPageSize": 1000, "cursorTimeout": 3600})
    );
    assert_eq!(
        serde_json::from_value::<ServiceProviderConfig>(json).unwrap(),
        with_cursors
    );
}

#[test]
fn rfc7643_resource_type_examples_round_trip() {
    let examples = data_file("rfc7643-resource-types.json");
    let mut registry = Registry::empty();
    for schema in [
        scimkit::schema::user_schema(),
        scimkit::schema::group_schema(),
        scimkit::schema::enterprise_user_schema(),
    ] {
        registry.add_schema(schema).unwrap();
    }
    for example in examples.as_array().unwrap() {
        let rt: ResourceType = serde_json::from_value(example.clone()).unwrap();
        assert_eq!(&rt.to_json(Some("https://example.com/v2")), example);
        registry.add_resource_type(rt).unwrap();
    }
    // The RFC's User type requires the extension; scimkit's default does not.
    let users = registry.resource_type("User").unwrap();
    assert_eq!(
        users.extensions().next().map(|(_, required)| required),
        Some(true)
    );
    let err = users
        .normalize(
            json!({"userName": "b"}),
            scimkit::schema::Write::Create,
            &scimkit::Compat::lenient(),
        )
        .unwrap_err();
    assert_eq!(err.scim_type(), scimkit::ScimType::InvalidValue);
    assert_eq!(
        err.to_string(),
        format!("the {ENTERPRISE_USER} extension is required")
    );
}

fn data_file(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}
