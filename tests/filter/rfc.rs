//! Every filter example of RFC 7644 §3.4.2.2, parsed, printed canonically, and evaluated
//! against the RFC 7643 §8.3 enterprise user. The examples are data (`tests/data/`).

use scimkit::eval::{Matcher, TypeMap};
use scimkit::Filter;
use serde_json::Value;

fn data(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("test data")).expect("JSON")
}

#[test]
fn rfc7644_filter_examples() {
    let user = data("rfc7643-enterprise-user.json");
    let examples = data("rfc7644-filters.json");
    let examples = examples["examples"].as_array().expect("examples");
    assert_eq!(
        examples.len(),
        17,
        "RFC 7644 §3.4.2.2 lists 17 filter examples"
    );
    for example in examples {
        let text = example["filter"].as_str().expect("filter");
        let filter = text
            .parse::<Filter>()
            .unwrap_or_else(|e| panic!("{text}: {}", e.render()));
        let printed = filter.to_string();
        assert_eq!(
            printed,
            example["canonical"].as_str().expect("canonical"),
            "{text}"
        );
        assert_eq!(
            printed.parse::<Filter>().as_ref(),
            Ok(&filter),
            "{text} round trip"
        );
        let matcher = Matcher::new(&filter, &TypeMap::scim_core()).expect("compiles");
        assert_eq!(
            matcher.matches(&user),
            example["matches"].as_bool().expect("matches"),
            "{text} against the RFC 7643 enterprise user"
        );
    }
}

/// The RFC's own example of operators in any case: `filter=userName Eq "john"` style
/// lookups and an upper-case `AND`, as Ping and Entra send them.
#[test]
fn operators_and_keywords_in_any_case() {
    let user = data("rfc7643-enterprise-user.json");
    for text in [
        r#"userName Eq "BJENSEN@example.com""#,
        r#"USERNAME EQ "bjensen@example.com" AND Title PR"#,
        r#"userName eq "bjensen@example.com" Or title Eq "x""#,
        r#"NOT (userName eq "nobody") and active EQ TRUE"#,
        r#"Emails[Type EQ "work" aNd Value Co "@EXAMPLE.COM"]"#,
    ] {
        let filter = text
            .parse::<Filter>()
            .unwrap_or_else(|e| panic!("{}", e.render()));
        let matcher = Matcher::new(&filter, &TypeMap::scim_core()).expect("compiles");
        assert!(matcher.matches(&user), "{text}");
    }
}

#[test]
fn enterprise_extension_attributes_by_urn() {
    let user = data("rfc7643-enterprise-user.json");
    let types = TypeMap::scim_core();
    let cases = [
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
            true,
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
            true,
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName sw "john""#,
            true,
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Sales""#,
            false,
        ),
        (
            r#"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:costCenter eq "4130""#,
            true,
        ),
        // An extension the resource does not carry: nothing to match, not the top level.
        (r#"urn:example:ext:1.0:User:userName pr"#, false),
    ];
    for (text, expected) in cases {
        let filter: Filter = text.parse().expect("parses");
        let matcher = Matcher::new(&filter, &types).expect("compiles");
        assert_eq!(matcher.matches(&user), expected, "{text}");
    }
}
