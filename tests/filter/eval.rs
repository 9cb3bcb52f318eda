//! Evaluation with schema semantics: every operator on every type, the multi-valued and
//! value-path rules, presence, URN routing, and the comparisons that are refused.

use scimkit::eval::{AttrType, Matcher, TypeMap, Untyped};
use scimkit::schema::AttrKind;
use scimkit::{Filter, ScimError, ScimType};
use serde_json::{json, Value};

fn types() -> TypeMap {
    let mut types = TypeMap::scim_core();
    types
        .insert("employeeCode", AttrType::new(AttrKind::String).case_exact())
        .insert("loginCount", AttrType::new(AttrKind::Integer))
        .insert("score", AttrType::new(AttrKind::Decimal))
        .insert("birthday", AttrType::new(AttrKind::DateTime))
        .insert("badge", AttrType::new(AttrKind::Binary))
        .insert("website", AttrType::new(AttrKind::Reference));
    types
}

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "userName": "BJensen@Example.com",
        "displayName": "Zoë Ångström",
        "title": "",
        "nickName": null,
        "employeeCode": "AbC-42",
        "loginCount": 17,
        "score": 4.5,
        "big": 18446744073709551615u64,
        "negative": -3,
        "birthday": "1990-04-01T09:30:00.123456+02:00",
        "badge": "SGVsbG8=",
        "website": "https://Example.com/bjensen",
        "active": true,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "phoneNumbers": [],
        "addresses": {},
        "groups": [{"value": "e9e30dba", "display": "Tour Guides"}],
        "roles": [{}],
        "tags": ["blue", "Green"],
        "meta": {
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34.5Z",
            "version": "W/\"a330bc54f0671c9\""
        },
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "manager": {"value": "26118915", "displayName": "John Smith"}
        }
    })
}

#[track_caller]
fn check(filter: &str, expected: bool) {
    let parsed = filter
        .parse::<Filter>()
        .unwrap_or_else(|e| panic!("{}", e.render()));
    let matcher = Matcher::new(&parsed, &types()).unwrap_or_else(|e| panic!("{filter}: {e}"));
    assert_eq!(matcher.matches(&user()), expected, "{filter}");
}

#[track_caller]
fn refused(filter: &str) -> ScimError {
    let parsed: Filter = filter.parse().unwrap();
    let err = Matcher::new(&parsed, &types()).expect_err(filter);
    let scim = ScimError::from(err);
    assert_eq!(scim.status(), 400);
    assert_eq!(scim.scim_type(), Some(ScimType::InvalidFilter));
    scim
}

#[test]
fn strings_ignore_case_unless_case_exact() {
    check(r#"userName eq "bjensen@example.com""#, true);
    check(r#"userName eq "BJENSEN@EXAMPLE.COM""#, true);
    check(r#"userName eq "bjensen""#, false);
    check(r#"userName ne "bjensen@example.com""#, false);
    check(r#"userName ne "someone@example.com""#, true);
    check(r#"employeeCode eq "AbC-42""#, true);
    check(r#"employeeCode eq "abc-42""#, false);
    check(r#"employeeCode ne "abc-42""#, true);
    check(r#"id eq "2819C223-7F76-453A-919D-413861904646""#, false);
    check(r#"id eq "2819c223-7f76-453a-919d-413861904646""#, true);
    // Non-ASCII letters fold too.
    check(r#"displayName eq "ZOË ÅNGSTRÖM""#, true);
    check(r#"displayName co "ångs""#, true);
    check(r#"displayName sw "zoë""#, true);
    check(r#"displayName ew "STRÖM""#, true);
    // Reference values are case-exact by default.
    check(r#"website eq "https://example.com/bjensen""#, false);
    check(r#"website eq "https://Example.com/bjensen""#, true);
}

#[test]
fn substring_operators() {
    check(r#"userName co "jensen@""#, true);
    check(r#"userName co "JENSEN@EX""#, true);
    check(r#"userName co "smith""#, false);
    check(r#"userName co """#, true);
    check(r#"userName sw "bj""#, true);
    check(r#"userName sw "jensen""#, false);
    check(r#"userName ew ".COM""#, true);
    check(r#"userName ew "example""#, false);
    check(r#"userName sw "BJensen@Example.com and more""#, false);
    check(r#"employeeCode co "bc""#, false);
    check(r#"employeeCode co "bC""#, true);
    check(r#"employeeCode sw "Ab""#, true);
    check(r#"employeeCode ew "42""#, true);
}

#[test]
fn ordering_strings_numbers_and_datetimes() {
    check(r#"userName gt "a""#, true);
    check(r#"userName gt "C""#, false);
    check(r#"userName lt "c""#, true);
    check(r#"userName ge "BJENSEN@EXAMPLE.COM""#, true);
    check(r#"userName le "bjensen@example.com""#, true);
    check(r#"employeeCode gt "AbC-41""#, true);
    check(
        r#"employeeCode lt "abc""#,
        true, /* 'A' < 'a' when case matters */
    );
    check("loginCount eq 17", true);
    check("loginCount eq 17.0", true);
    check("loginCount gt 16", true);
    check("loginCount gt 17", false);
    check("loginCount ge 17", true);
    check("loginCount lt 17.5", true);
    check("loginCount le 16", false);
    check("loginCount ne 17", false);
    check(r#"loginCount eq "17""#, true);
    check("score gt 4.25", true);
    check("score lt 4.5e0", false);
    check("score le 45e-1", true);
    check("big gt 9223372036854775807", true);
    check("big eq 18446744073709551615", true);
    check("negative lt 0", true);
    check("negative gt -4", true);
    check("big gt -1", true);
    // dateTimes compare as instants: fraction digits and offsets do not matter.
    check(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, true);
    check(
        r#"meta.lastModified eq "2011-05-13T04:42:34.500000000Z""#,
        true,
    );
    check(
        r#"meta.lastModified eq "2011-05-13T06:42:34.5+02:00""#,
        true,
    );
    check(r#"meta.lastModified lt "2011-05-13T04:42:34.51Z""#, true);
    check(r#"meta.created ge "2010-01-22T23:56:22-05:00""#, true);
    check(r#"meta.created gt "2010-01-22T23:56:22-05:00""#, false);
    check(r#"meta.created le "2010-01-23T04:56:22""#, true);
    check(r#"meta.created lt "2009-12-31T23:59:59.999999999Z""#, false);
    check(r#"birthday eq "1990-04-01T07:30:00.123456Z""#, true);
    check(r#"birthday gt "1990-04-01T07:30:00.123Z""#, true);
    // Lexical order would say otherwise.
    check(r#"meta.created gt "2010-01-23T05:00:00+01:00""#, true);
    check(r#"meta.created co "2010-01""#, true);
}

#[test]
fn booleans_and_null() {
    check("active eq true", true);
    check("active eq false", false);
    check("active ne false", true);
    check("active ne true", false);
    // Entra sends booleans as strings.
    check(r#"active eq "True""#, true);
    check(r#"active eq "false""#, false);
    check("emails.primary eq true", true);
    check("title eq null", true);
    check("nickName eq null", true);
    check("missing eq null", true);
    check("userName eq null", false);
    check("title ne null", false);
    check("userName ne null", true);
    // A boolean never equals a string or a number.
    check(r#"userName eq true"#, false);
    check("loginCount eq true", false);
}

#[test]
fn multi_valued_attributes_match_if_any_value_does() {
    check(r#"emails.value eq "babs@jensen.org""#, true);
    check(r#"emails.value ew "@example.com""#, true);
    check(r#"emails.value co "nowhere""#, false);
    check(r#"emails.type eq "home""#, true);
    // `ne` holds when some value differs.
    check(r#"emails.type ne "home""#, true);
    check(r#"groups.value ne "e9e30dba""#, false);
    // A complex attribute compared without a sub-attribute compares `value`.
    check(r#"emails co "jensen.org""#, true);
    check(r#"emails eq "bjensen@example.com""#, true);
    check(r#"groups eq "e9e30dba""#, true);
    check(r#"groups eq "E9E30DBA""#, false);
    // Multi-valued strings.
    check(r#"tags eq "green""#, true);
    check(r#"tags sw "bl""#, true);
    check(r#"tags eq "red""#, false);
    check(
        r#"schemas eq "urn:ietf:params:scim:schemas:core:2.0:User""#,
        true,
    );
    // No element of an absent attribute satisfies anything, `ne` included.
    check(r#"nickName ne "x""#, false);
    check(r#"missing ne "x""#, false);
    check(r#"phoneNumbers.value ne "x""#, false);
}

#[test]
fn value_paths_need_one_element_to_satisfy_the_whole_filter() {
    check(
        r#"emails[type eq "work" and value co "@example.com"]"#,
        true,
    );
    check(
        r#"emails[type eq "home" and value co "@example.com"]"#,
        false,
    );
    // Without the brackets each condition may hold on a different element.
    check(
        r#"emails.type eq "home" and emails.value co "@example.com""#,
        true,
    );
    check(r#"emails[type eq "home" or primary eq true]"#, true);
    check(r#"emails[not (type eq "work")]"#, true);
    check(r#"emails[not (value pr)]"#, false);
    check(r#"emails[primary eq true and type eq "home"]"#, false);
    check(
        r#"emails[type eq "work"].value eq "BJENSEN@example.com""#,
        true,
    );
    check(
        r#"emails[type eq "home"].value eq "bjensen@example.com""#,
        false,
    );
    check(r#"groups[display sw "tour"]"#, true);
    check(r#"phoneNumbers[type eq "work"]"#, false);
    // A single-valued complex attribute is one element.
    check(
        r#"name[givenName eq "barbara" and familyName eq "jensen"]"#,
        true,
    );
    check(
        r#"name[givenName eq "barbara" and familyName eq "smith"]"#,
        false,
    );
}

#[test]
fn presence() {
    check("userName pr", true);
    check("title pr", false);
    check("nickName pr", false);
    check("missing pr", false);
    check("phoneNumbers pr", false);
    check("addresses pr", false);
    check("roles pr", false);
    check("emails pr", true);
    check("emails.value pr", true);
    check("emails.display pr", false);
    check("name pr", true);
    check("name.middleName pr", false);
    check("active pr", true);
    check("loginCount pr", true);
    check("not (title pr)", true);
}

#[test]
fn names_match_in_any_case_and_urns_route_to_extensions() {
    check(r#"USERNAME eq "bjensen@example.com""#, true);
    check(r#"Name.GivenName eq "BARBARA""#, true);
    check(r#"EMAILS[TYPE eq "work"].VALUE pr"#, true);
    check(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen@example.com""#,
        true,
    );
    check(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq "jensen""#,
        true,
    );
    check(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
        true,
    );
    check(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName co "smith""#,
        true,
    );
    check(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "26118915""#,
        true,
    );
    // Extension attributes are not at the top level.
    check(r#"employeeNumber eq "701984""#, false);
    check(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName pr"#,
        false,
    );
}

#[test]
fn logic() {
    check(r#"userName sw "bj" and active eq true"#, true);
    check(r#"userName sw "bj" and active eq false"#, false);
    check(r#"userName sw "x" or active eq true"#, true);
    check(r#"userName sw "x" or active eq false"#, false);
    check(r#"not (userName sw "x")"#, true);
    check(r#"not (userName sw "bj" and active eq true)"#, false);
    check(
        r#"userName sw "x" or userName sw "y" or loginCount eq 17"#,
        true,
    );
    check(
        r#"(userName sw "x" or loginCount eq 17) and not (active eq false)"#,
        true,
    );
}

#[test]
fn comparisons_the_types_forbid_are_invalid_filters() {
    for filter in [
        "active gt true",
        "active lt false",
        "title ge true",
        "manager gt null",
        "title co null",
        r#"active co "tr""#,
        r#"active eq "yes""#,
        r#"meta.created eq "yesterday""#,
        r#"meta.lastModified gt "2011-13-45T00:00:00Z""#,
        r#"loginCount gt "many""#,
        "userName co 5",
        r#"badge gt "SGVs""#,
        r#"name gt "x""#,
    ] {
        let err = refused(filter);
        assert!(!err.detail().is_empty());
    }
    let err = refused(r#"meta.created eq "yesterday""#);
    assert_eq!(
        err.detail(),
        r#"meta.created: "yesterday" is not an xsd:dateTime"#
    );
}

#[test]
fn untyped_evaluation_compares_json_types() {
    let resource =
        json!({"Count": 3, "Flag": false, "Name": "Ann", "When": "2020-01-01T00:00:00Z"});
    let eval = |f: &str| {
        Matcher::new(&f.parse().unwrap(), &Untyped)
            .unwrap()
            .matches(&resource)
    };
    assert!(eval("count gt 2"));
    assert!(eval("flag eq false"));
    assert!(eval(r#"name eq "ANN""#));
    assert!(!eval(r#"count eq "3""#));
    // Without a type, a dateTime is a string: compared as text, not as an instant.
    assert!(!eval(r#"when eq "2020-01-01T00:00:00.000Z""#));
    assert!(eval(r#"when sw "2020-""#));
}

#[test]
fn non_object_resources_match_nothing_but_negations() {
    let matcher = Matcher::new(&"userName pr".parse().unwrap(), &Untyped).unwrap();
    for resource in [json!(null), json!([]), json!("userName"), json!(7)] {
        assert!(!matcher.matches(&resource));
    }
    let matcher = Matcher::new(&"not (userName pr)".parse().unwrap(), &Untyped).unwrap();
    assert!(matcher.matches(&json!([])));
}

/// `co` over a long value with a long needle that almost matches everywhere answers as the
/// short path does: case ignored unless `caseExact`.
#[test]
fn long_substrings_are_found_ignoring_case() {
    let value = format!("{}B{}", "a".repeat(200_000), "c".repeat(10));
    let user = json!({"displayName": value, "employeeCode": value});
    let matches = |filter: &str| {
        let parsed: Filter = filter.parse().unwrap();
        Matcher::new(&parsed, &types()).unwrap().matches(&user)
    };
    // Filters are 16 KiB at most by default; values as long as a body allows.
    let near = format!("{}b", "A".repeat(8_000));
    assert!(matches(&format!(r#"displayName co "{near}""#)));
    assert!(!matches(&format!(r#"displayName co "{near}d""#)));
    let missing = format!("{}d", "a".repeat(8_000));
    assert!(!matches(&format!(r#"displayName co "{missing}""#)));
    // caseExact: the case of the needle counts.
    assert!(!matches(&format!(r#"employeeCode co "{near}""#)));
    assert!(matches(&format!(
        r#"employeeCode co "{}B""#,
        "a".repeat(8_000)
    )));
}
