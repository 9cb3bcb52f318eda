//! The filter grammar, case by case: what parses (and how it prints), what does not (and
//! where the error points), the limits, and the Entra value-path form.

use scimkit::filter::{AttrPath, CompValue, CompareOp, Filter, FilterErrorKind as K, Limits};

fn parse(text: &str) -> Filter {
    text.parse::<Filter>()
        .unwrap_or_else(|e| panic!("{text:?} should parse:\n{}", e.render()))
}

/// Parses, checks the canonical printing, and checks that the printing parses back to the
/// same tree (and prints the same again).
fn verified(text: &str, canonical: &str) -> Filter {
    let filter = parse(text);
    let printed = filter.to_string();
    assert_eq!(printed, canonical, "printing of {text:?}");
    let again = parse(&printed);
    assert_eq!(again, filter, "round trip of {text:?}");
    assert_eq!(again.to_string(), printed);
    filter
}

const VALID: &[(&str, &str)] = &[
    // Attribute expressions, every operator.
    (r#"userName eq "bjensen""#, r#"userName eq "bjensen""#),
    (r#"userName ne "bjensen""#, r#"userName ne "bjensen""#),
    (
        r#"name.familyName co "O'Malley""#,
        r#"name.familyName co "O'Malley""#,
    ),
    (r#"userName sw "J""#, r#"userName sw "J""#),
    (r#"userName ew "son""#, r#"userName ew "son""#),
    (
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
    ),
    (
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
    ),
    (
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
    ),
    (
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
    ),
    ("title pr", "title pr"),
    // Operators and keywords in any case.
    (r#"userName EQ "x""#, r#"userName eq "x""#),
    (r#"userName Eq "x""#, r#"userName eq "x""#),
    (r#"userName eQ "x""#, r#"userName eq "x""#),
    (r#"displayName CO "x""#, r#"displayName co "x""#),
    (r#"displayName Sw "x""#, r#"displayName sw "x""#),
    (r#"displayName eW "x""#, r#"displayName ew "x""#),
    ("title PR", "title pr"),
    ("title Pr", "title pr"),
    ("x GT 1", "x gt 1"),
    ("x Lt 1", "x lt 1"),
    ("x gE 1", "x ge 1"),
    ("x LE 1", "x le 1"),
    ("x NE 1", "x ne 1"),
    ("a pr AND b pr", "a pr and b pr"),
    ("a pr Or b pr", "a pr or b pr"),
    ("NOT (a pr)", "not (a pr)"),
    ("Not(a pr)", "not (a pr)"),
    // Literals.
    ("active eq true", "active eq true"),
    ("active eq false", "active eq false"),
    ("active eq TRUE", "active eq true"),
    ("active eq False", "active eq false"),
    ("manager eq null", "manager eq null"),
    ("manager ne NULL", "manager ne null"),
    ("x eq 0", "x eq 0"),
    ("x eq 42", "x eq 42"),
    ("x eq -7", "x eq -7"),
    ("x eq 3.25", "x eq 3.25"),
    ("x eq -0.5", "x eq -0.5"),
    ("x eq 1e3", "x eq 1000.0"),
    ("x eq 1E+2", "x eq 100.0"),
    ("x eq 25e-1", "x eq 2.5"),
    ("x eq 18446744073709551615", "x eq 18446744073709551615"),
    ("x eq -9223372036854775808", "x eq -9223372036854775808"),
    (r#"x eq """#, r#"x eq """#),
    (r#"x eq "a\"b""#, r#"x eq "a\"b""#),
    (r#"x eq "a\\b""#, r#"x eq "a\\b""#),
    (r#"x eq "a\/b""#, r#"x eq "a/b""#),
    (r#"x eq "\b\f\n\r\t""#, r#"x eq "\b\f\n\r\t""#),
    (r#"x eq "\u0041\u00e9""#, r#"x eq "Aé""#),
    (r#"x eq "\u001f""#, r#"x eq "\u001f""#),
    (r#"x eq "\uD83D\uDE00""#, r#"x eq "😀""#),
    (r#"x eq "\ud83d\ude00 ok""#, r#"x eq "😀 ok""#),
    (r#"x eq "日本語 ü""#, r#"x eq "日本語 ü""#),
    (
        r#"x eq "and or not pr ) ( ] [""#,
        r#"x eq "and or not pr ) ( ] [""#,
    ),
    // Attribute paths.
    ("a pr", "a pr"),
    ("A1-b_c pr", "A1-b_c pr"),
    ("name.givenName pr", "name.givenName pr"),
    ("members.$ref pr", "members.$ref pr"),
    ("$ref pr", "$ref pr"),
    (
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
    ),
    (
        r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq "x""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq "x""#,
    ),
    (
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
    ),
    (
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915""#,
    ),
    (
        "urn:acme:custom:1.0:Device:serial pr",
        "urn:acme:custom:1.0:Device:serial pr",
    ),
    // Logical expressions: precedence and grouping.
    ("a pr and b pr and c pr", "a pr and b pr and c pr"),
    ("a pr or b pr or c pr", "a pr or b pr or c pr"),
    ("a pr and b pr or c pr", "a pr and b pr or c pr"),
    ("a pr or b pr and c pr", "a pr or b pr and c pr"),
    ("(a pr or b pr) and c pr", "(a pr or b pr) and c pr"),
    ("a pr and (b pr or c pr)", "a pr and (b pr or c pr)"),
    ("(a pr and b pr) or c pr", "a pr and b pr or c pr"),
    ("(a pr and b pr) and c pr", "(a pr and b pr) and c pr"),
    ("a pr or (b pr or c pr)", "a pr or (b pr or c pr)"),
    ("((a pr))", "a pr"),
    ("(((((a pr)))))", "a pr"),
    ("( a pr )", "a pr"),
    ("(a pr)and(b pr)", "a pr and b pr"),
    ("(a pr)or(b pr)", "a pr or b pr"),
    ("not (a pr)", "not (a pr)"),
    ("not(a pr)", "not (a pr)"),
    ("not   (a pr)", "not (a pr)"),
    ("not (a pr and b pr)", "not (a pr and b pr)"),
    ("not (not (a pr))", "not (not (a pr))"),
    ("a pr and not (b pr)", "a pr and not (b pr)"),
    ("not (a pr) or not (b pr)", "not (a pr) or not (b pr)"),
    ("(not (a pr))", "not (a pr)"),
    (
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
    ),
    (
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
    ),
    // White space.
    ("  a pr  ", "a pr"),
    ("a\tpr", "a pr"),
    ("a pr\nand\tb pr", "a pr and b pr"),
    ("a  eq  1", "a eq 1"),
    (r#"userName eq"bjensen""#, r#"userName eq "bjensen""#),
    (r#"x eq "y"and z pr"#, r#"x eq "y" and z pr"#),
    // Names that look like keywords are names where a name belongs.
    ("and pr", "and pr"),
    ("or eq 1", "or eq 1"),
    (r#"not eq "x""#, r#"not eq "x""#),
    ("notes pr", "notes pr"),
    ("pr pr", "pr pr"),
    ("eq eq 1", "eq eq 1"),
    ("not pr and nothing pr", "not pr and nothing pr"),
    // Value paths.
    (r#"emails[type eq "work"]"#, r#"emails[type eq "work"]"#),
    (
        r#"emails[type eq "work" and value co "@example.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"]"#,
    ),
    (r#"emails[ type eq "work" ]"#, r#"emails[type eq "work"]"#),
    (
        r#"emails[type eq "work" or (primary eq true and value pr)]"#,
        r#"emails[type eq "work" or primary eq true and value pr]"#,
    ),
    (
        r#"emails[not (type eq "work")]"#,
        r#"emails[not (type eq "work")]"#,
    ),
    (
        r#"emails[(type eq "work" or type eq "home") and primary eq true]"#,
        r#"emails[(type eq "work" or type eq "home") and primary eq true]"#,
    ),
    (
        r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
        r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
    ),
    (
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    ),
    (
        r#"not (emails[type eq "work"])"#,
        r#"not (emails[type eq "work"])"#,
    ),
    (
        r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"]"#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"]"#,
    ),
    (r#"a[b[c eq 1]]"#, r#"a[b[c eq 1]]"#),
    // Entra's `attr[filter].sub op value` means one element satisfies both.
    (
        r#"emails[type eq "work"].value eq "bjensen@example.com""#,
        r#"emails[type eq "work" and value eq "bjensen@example.com"]"#,
    ),
    (
        r#"emails[type eq "work"].value pr"#,
        r#"emails[type eq "work" and value pr]"#,
    ),
    (
        r#"emails[type eq "work" and primary eq true].value co "@""#,
        r#"emails[type eq "work" and primary eq true and value co "@"]"#,
    ),
    (
        r#"emails[type eq "work" or type eq "home"].value eq "x""#,
        r#"emails[(type eq "work" or type eq "home") and value eq "x"]"#,
    ),
    (
        r#"addresses[type eq "work"].streetAddress EQ "1 Main St" and active eq true"#,
        r#"addresses[type eq "work" and streetAddress eq "1 Main St"] and active eq true"#,
    ),
    (
        r#"phoneNumbers[type eq "mobile"].value eq "+1 555""#,
        r#"phoneNumbers[type eq "mobile" and value eq "+1 555"]"#,
    ),
    // What identity providers send, literally.
    (
        r#"userName eq "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081""#,
        r#"userName eq "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081""#,
    ),
    (
        r#"externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef""#,
        r#"externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef""#,
    ),
    (
        r#"displayName eq "Group1DisplayName""#,
        r#"displayName eq "Group1DisplayName""#,
    ),
    (
        r#"id eq "7d5f2b3c" and members eq "0b8d5f1e""#,
        r#"id eq "7d5f2b3c" and members eq "0b8d5f1e""#,
    ),
    (
        r#"userName eq "isabell.frost@example.com""#,
        r#"userName eq "isabell.frost@example.com""#,
    ),
];

#[test]
fn valid_filters_parse_and_print_canonically() {
    for (text, canonical) in VALID {
        verified(text, canonical);
    }
}

const INVALID: &[(&str, K, usize)] = &[
    ("", K::Empty, 0),
    ("   ", K::Empty, 0),
    (
        "userName",
        K::Expected("an operator (eq, ne, co, sw, ew, gt, lt, ge, le, pr) after white space"),
        8,
    ),
    (
        "userName ",
        K::Expected("an operator (eq, ne, co, sw, ew, gt, lt, ge, le, pr) after white space"),
        9,
    ),
    (r#"userName eqq "x""#, K::UnknownOperator, 9),
    (r#"userName equals "x""#, K::UnknownOperator, 9),
    (
        r#"userName = "x""#,
        K::Expected("an operator (eq, ne, co, sw, ew, gt, lt, ge, le, pr) after white space"),
        9,
    ),
    (
        r#"userName=="x""#,
        K::Expected("an operator (eq, ne, co, sw, ew, gt, lt, ge, le, pr) after white space"),
        8,
    ),
    (
        "userName eq",
        K::Expected("a value: a string, a number, true, false or null"),
        11,
    ),
    (
        "userName eq ",
        K::Expected("a value: a string, a number, true, false or null"),
        12,
    ),
    (
        "userName eq bjensen",
        K::Expected("a value: a string, a number, true, false or null"),
        12,
    ),
    (
        "userName eq 'bjensen'",
        K::Expected("a value: a string, a number, true, false or null"),
        12,
    ),
    (
        "active eq truee",
        K::Expected("a value: a string, a number, true, false or null"),
        10,
    ),
    ("userName eqtrue", K::UnknownOperator, 9),
    ("title prx", K::UnknownOperator, 6),
    (r#"userName eq "bjensen"#, K::UnterminatedString, 12),
    (r#"userName eq ""#, K::UnterminatedString, 12),
    (r#"x eq "a\"#, K::InvalidEscape, 7),
    (r#"x eq "a\x""#, K::InvalidEscape, 7),
    (r#"x eq "\u12""#, K::InvalidEscape, 6),
    (r#"x eq "\uzzzz""#, K::InvalidEscape, 6),
    (r#"x eq "\uD83D""#, K::LoneSurrogate, 6),
    (r#"x eq "\uD83Dx""#, K::LoneSurrogate, 6),
    (r#"x eq "\uDE00""#, K::LoneSurrogate, 6),
    (r#"x eq "\uD83D\u0041""#, K::LoneSurrogate, 6),
    ("x eq \"a\tb\"", K::ControlCharacter, 7),
    ("x eq \"a\nb\"", K::ControlCharacter, 7),
    (
        "x eq 01",
        K::Expected("'and', 'or' or the end of the filter"),
        6,
    ),
    (
        "x eq 1.",
        K::Expected("'and', 'or' or the end of the filter"),
        6,
    ),
    (
        "x eq .5",
        K::Expected("a value: a string, a number, true, false or null"),
        5,
    ),
    ("x eq -", K::InvalidNumber, 5),
    ("x eq -a", K::InvalidNumber, 5),
    (
        "x eq +1",
        K::Expected("a value: a string, a number, true, false or null"),
        5,
    ),
    (
        "x eq 1e",
        K::Expected("'and', 'or' or the end of the filter"),
        6,
    ),
    ("x eq 1e400", K::InvalidNumber, 5),
    (
        "a pr and",
        K::Expected("an attribute path, '(' or 'not ('"),
        8,
    ),
    (
        "a pr or ",
        K::Expected("an attribute path, '(' or 'not ('"),
        8,
    ),
    (
        "and",
        K::Expected("an operator (eq, ne, co, sw, ew, gt, lt, ge, le, pr) after white space"),
        3,
    ),
    (
        "a pr b pr",
        K::Expected("'and', 'or' or the end of the filter"),
        5,
    ),
    (
        "a pr andb pr",
        K::Expected("'and', 'or' or the end of the filter"),
        5,
    ),
    (
        "a pr && b pr",
        K::Expected("'and', 'or' or the end of the filter"),
        5,
    ),
    // `and` is an attribute name where a name belongs, so `b` is the operator.
    ("a pr and and b pr", K::UnknownOperator, 13),
    ("(a pr", K::Unclosed('('), 0),
    ("a pr and (b pr or (c pr)", K::Unclosed('('), 9),
    ("a pr)", K::Unmatched(')'), 4),
    ("(a pr))", K::Unmatched(')'), 6),
    ("()", K::Expected("an attribute path, '(' or 'not ('"), 1),
    ("( )", K::Expected("an attribute path, '(' or 'not ('"), 2),
    ("not a pr", K::UnknownOperator, 4),
    (
        "not ()",
        K::Expected("an attribute path, '(' or 'not ('"),
        5,
    ),
    ("(a pr]", K::Expected("'and', 'or' or ')'"), 5),
    (r#"emails[type eq "work""#, K::Unclosed('['), 6),
    (
        r#"emails[type eq "work")"#,
        K::Expected("'and', 'or' or ']'"),
        21,
    ),
    (
        r#"emails[]"#,
        K::Expected("an attribute path, '(' or 'not ('"),
        7,
    ),
    (r#"emails[type eq "work"]]"#, K::Unmatched(']'), 22),
    (
        r#"emails[type eq "work"].value"#,
        K::Expected("an operator (eq, ne, co, sw, ew, gt, lt, ge, le, pr) after white space"),
        28,
    ),
    (
        r#"emails[type eq "work"]."#,
        K::Expected("a sub-attribute name after '.'"),
        23,
    ),
    (
        r#"emails[type eq "work"].value.x eq 1"#,
        K::InvalidAttrPath,
        28,
    ),
    (
        r#"emails[type eq "work"] eq "x""#,
        K::Expected("'and', 'or' or the end of the filter"),
        23,
    ),
    ("name.given.family pr", K::InvalidAttrPath, 10),
    ("name. pr", K::Expected("an attribute name"), 5),
    (
        ".name pr",
        K::Expected("an attribute path, '(' or 'not ('"),
        0,
    ),
    (
        "1abc pr",
        K::Expected("an attribute path, '(' or 'not ('"),
        0,
    ),
    (
        "_abc pr",
        K::Expected("an attribute path, '(' or 'not ('"),
        0,
    ),
    ("a/b pr", K::InvalidAttrPath, 1),
    ("a.b/c pr", K::InvalidAttrPath, 3),
    (
        "urn:ietf:params:scim:schemas:core:2.0:User: pr",
        K::Expected("an attribute name"),
        43,
    ),
    (
        "urn:ietf:params:scim:schemas:core:2.0:User:1x pr",
        K::Expected("an attribute name"),
        43,
    ),
    (
        r#""userName" eq "x""#,
        K::Expected("an attribute path, '(' or 'not ('"),
        0,
    ),
    (
        "é eq 1",
        K::Expected("an attribute path, '(' or 'not ('"),
        0,
    ),
    (
        "userName eq \"x\" é",
        K::Expected("'and', 'or' or the end of the filter"),
        16,
    ),
    (
        "a eq 1 ; drop table users",
        K::Expected("'and', 'or' or the end of the filter"),
        7,
    ),
];

#[test]
fn invalid_filters_report_kind_and_offset() {
    for (text, kind, offset) in INVALID {
        let err = text
            .parse::<Filter>()
            .expect_err(&format!("{text:?} should not parse"));
        assert_eq!(
            (err.kind(), err.offset()),
            (kind, *offset),
            "{text:?}:\n{}",
            err.render()
        );
        assert!(err.span().end <= text.len() && err.span().start <= err.span().end);
        // Every error renders, with the caret line as long as the input's prefix.
        assert_eq!(err.render().lines().count(), 3, "message, input, carets");
    }
}

#[test]
fn the_corpus_has_at_least_150_cases() {
    assert!(
        VALID.len() + INVALID.len() >= 150,
        "{}",
        VALID.len() + INVALID.len()
    );
}

#[test]
fn trees_are_what_the_grammar_says() {
    use Filter::*;
    let cmp = |name: &str, op, value: CompValue| Compare {
        path: AttrPath::new(name),
        op,
        value,
    };
    let pr = |name: &str| Present(AttrPath::new(name));

    // `and` binds tighter than `or`.
    assert_eq!(
        parse("a pr or b pr and c pr or d pr"),
        Or(vec![pr("a"), And(vec![pr("b"), pr("c")]), pr("d")])
    );
    // Parentheses keep their grouping; chains are flat.
    assert_eq!(
        parse("(a pr or b pr) and c pr and d pr"),
        And(vec![Or(vec![pr("a"), pr("b")]), pr("c"), pr("d")])
    );
    assert_eq!(parse("not(a pr)"), Not(Box::new(pr("a"))));
    assert_eq!(
        parse(r#"x eq "v" and y ne 2 and z eq null and w eq false"#),
        And(vec![
            cmp("x", CompareOp::Eq, "v".into()),
            cmp("y", CompareOp::Ne, 2.into()),
            cmp("z", CompareOp::Eq, CompValue::Null),
            cmp("w", CompareOp::Eq, false.into()),
        ])
    );
    assert_eq!(
        parse("x eq -1.5"),
        cmp(
            "x",
            CompareOp::Eq,
            CompValue::Number(serde_json::Number::from_f64(-1.5).unwrap())
        )
    );
    // Paths keep the case they were written in, URN and all.
    assert_eq!(
        parse("URN:Example:Ext:User:Name.Given pr"),
        Present(AttrPath {
            urn: Some("URN:Example:Ext:User".into()),
            name: "Name".into(),
            sub_attr: Some("Given".into()),
        })
    );
    // Value paths, and Entra's form desugared to one.
    let work = cmp("type", CompareOp::Eq, "work".into());
    assert_eq!(
        parse(r#"emails[type eq "work"]"#),
        ValuePath {
            path: AttrPath::new("emails"),
            filter: Box::new(work.clone()),
        }
    );
    assert_eq!(
        parse(r#"emails[type eq "work"].value eq "x""#),
        ValuePath {
            path: AttrPath::new("emails"),
            filter: Box::new(And(vec![
                work.clone(),
                cmp("value", CompareOp::Eq, "x".into())
            ])),
        }
    );
    assert_eq!(
        parse(r#"emails[type eq "work"].value eq "x""#),
        parse(r#"emails[type eq "work" and value eq "x"]"#)
    );
}

#[test]
fn attr_paths_parse_alone() {
    let path: AttrPath = "name.familyName".parse().unwrap();
    assert_eq!(path, AttrPath::new("name").with_sub_attr("familyName"));
    let path: AttrPath = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
        .parse()
        .unwrap();
    assert_eq!(
        path,
        AttrPath::new("manager")
            .with_urn("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
    );
    assert_eq!(
        path.to_string(),
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
    );
    for bad in ["", "a b", "a.b.c", "a[", "1a", "a.", ":a"] {
        assert!(bad.parse::<AttrPath>().is_err(), "{bad:?}");
    }
}

#[test]
fn length_limit() {
    let limits = Limits {
        max_length: 20,
        ..Limits::default()
    };
    assert!(Filter::parse_with(r#"userName eq "abcd""#, &limits).is_ok());
    let err = Filter::parse_with(r#"userName eq "abcdefghij""#, &limits).unwrap_err();
    assert_eq!((err.kind(), err.offset()), (&K::TooLong { limit: 20 }, 20));
}

#[test]
fn depth_limit_counts_every_kind_of_group() {
    let limits = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    assert!(Filter::parse_with("(((a pr)))", &limits).is_ok());
    assert!(Filter::parse_with("not (a[b[c pr]])", &limits).is_ok());
    let err = Filter::parse_with("((((a pr))))", &limits).unwrap_err();
    assert_eq!((err.kind(), err.offset()), (&K::TooDeep { limit: 3 }, 3));
    let err = Filter::parse_with("not (a[b[not (c pr)]])", &limits).unwrap_err();
    assert_eq!((err.kind(), err.offset()), (&K::TooDeep { limit: 3 }, 9));
    // The default allows 32.
    let ok = format!("{}a pr{}", "(".repeat(32), ")".repeat(32));
    assert!(ok.parse::<Filter>().is_ok());
    let deep = format!("{}a pr{}", "(".repeat(33), ")".repeat(33));
    assert_eq!(
        deep.parse::<Filter>().unwrap_err().kind(),
        &K::TooDeep { limit: 32 }
    );
}

#[test]
fn clause_limit_counts_the_entra_form_too() {
    let limits = Limits {
        max_clauses: 2,
        ..Limits::default()
    };
    assert!(Filter::parse_with(r#"emails[type eq "work"].value pr"#, &limits).is_ok());
    let err =
        Filter::parse_with(r#"a pr and emails[type eq "work"].value pr"#, &limits).unwrap_err();
    assert_eq!(err.kind(), &K::TooManyClauses { limit: 2 });
    assert_eq!(err.offset(), 31, "the clause after ']' starts at the '.'");
    let thousand_and_one = vec!["a pr"; 1001].join(" or ");
    assert_eq!(
        thousand_and_one.parse::<Filter>().unwrap_err().kind(),
        &K::TooManyClauses { limit: 1000 }
    );
}

#[test]
fn long_chains_are_flat_and_need_no_stack() {
    let limits = Limits {
        max_length: usize::MAX,
        max_clauses: usize::MAX,
        ..Limits::default()
    };
    let or_chain = (0..20_000)
        .map(|i| format!(r#"id eq "{i}""#))
        .collect::<Vec<_>>()
        .join(" or ");
    let and_chain = vec!["a pr"; 20_000].join(" and ");
    let mixed = vec!["a pr and b pr"; 10_000].join(" or ");
    // A thread with a small stack: the chains must not recurse per clause.
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let f = Filter::parse_with(&or_chain, &limits).unwrap();
            let Filter::Or(terms) = &f else {
                panic!("an or chain")
            };
            assert_eq!(terms.len(), 20_000);
            assert_eq!(f.clauses(), 20_000);
            assert_eq!(f.to_string(), or_chain);
            let f = Filter::parse_with(&and_chain, &limits).unwrap();
            assert!(matches!(&f, Filter::And(t) if t.len() == 20_000));
            let f = Filter::parse_with(&mixed, &limits).unwrap();
            assert!(
                matches!(&f, Filter::Or(t) if t.len() == 10_000 && matches!(&t[0], Filter::And(_)))
            );
            assert_eq!(f.to_string(), mixed);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn unclosed_groups_at_any_depth_are_errors_not_crashes() {
    let limits = Limits {
        max_depth: 100_000,
        max_length: usize::MAX,
        ..Limits::default()
    };
    let opens = "(".repeat(100_000);
    let err = Filter::parse_with(&opens, &limits).unwrap_err();
    assert_eq!(err.offset(), 100_000);
    let err = Filter::parse_with(&format!("{opens}a pr"), &limits).unwrap_err();
    assert_eq!((err.kind(), err.offset()), (&K::Unclosed('('), 99_999));
    let err = Filter::parse_with(&format!("a pr{}", ")".repeat(100_000)), &limits).unwrap_err();
    assert_eq!((err.kind(), err.offset()), (&K::Unmatched(')'), 4));
}

#[test]
fn errors_render_with_a_caret_under_the_offending_bytes() {
    let err = r#"emails[type eq "work"] and (name.givenName eq "Zoë" or title prr)"#
        .parse::<Filter>()
        .unwrap_err();
    assert_eq!(err.kind(), &K::UnknownOperator);
    assert_eq!(
        err.render(),
        concat!(
            "unknown operator: expected one of eq, ne, co, sw, ew, gt, lt, ge, le, pr at byte 62\n",
            r#"emails[type eq "work"] and (name.givenName eq "Zoë" or title prr)"#,
            "\n",
            // 'ë' is two bytes but one column.
            "                                                             ^^^",
        )
    );
    // The detail a SCIM client gets names the byte offset.
    let scim = scimkit::ScimError::from(err);
    assert_eq!(scim.status(), 400);
    assert_eq!(scim.scim_type(), Some(scimkit::ScimType::InvalidFilter));
    assert!(scim.detail().ends_with("at byte 62"), "{}", scim.detail());
    assert_eq!(scim.to_json()["status"], "400");
    assert_eq!(scim.to_json()["scimType"], "invalidFilter");
}

#[test]
fn constructors_build_flat_chains_that_print_and_parse_back() {
    let f = Filter::Present(AttrPath::new("a"))
        .and(Filter::Present(AttrPath::new("b")))
        .and(Filter::Present(AttrPath::new("c")).or(Filter::Present(AttrPath::new("d"))))
        .not();
    assert_eq!(f.to_string(), "not (a pr and b pr and (c pr or d pr))");
    assert_eq!(parse(&f.to_string()), f);
    assert_eq!(f.clauses(), 4);
}
