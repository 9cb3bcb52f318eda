//! Filter parsing and evaluation over a corpus of realistic filters, with the Rust peers
//! `scim_v2` (parse) and `scim-filter` (parse and evaluate) measured in the same groups.
//!
//! Run with `cargo bench --bench filter`; a peer that cannot parse a filter is left out of
//! that filter's group, and the run says so.

use std::hint::black_box;
use std::str::FromStr;

use criterion::{criterion_group, criterion_main, Criterion};
use scimkit::eval::{Matcher, TypeMap};
use scimkit::filter::Limits;
use scimkit::Filter;
use serde_json::{json, Value};

/// (name, filter): what identity providers send, the RFC's examples, value paths, a long
/// `or` chain and deep parentheses.
fn corpus() -> Vec<(&'static str, String)> {
    let or_chain = (0..50)
        .map(|i| format!(r#"id eq "2819c223-7f76-453a-919d-4138619{i:05}""#))
        .collect::<Vec<_>>()
        .join(" or ");
    let deep = format!(
        r#"{}userName eq "bjensen@example.com"{}"#,
        "(".repeat(20),
        ")".repeat(20)
    );
    vec![
        ("entra_username_eq", r#"userName eq "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081""#.to_owned()),
        ("okta_username_eq", r#"userName eq "isabell.frost@example.com""#.to_owned()),
        ("entra_externalid_eq", r#"externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef""#.to_owned()),
        ("group_displayname_eq", r#"displayName eq "Tour Guides""#.to_owned()),
        ("rfc_lastmodified_gt", r#"meta.lastModified gt "2011-05-13T04:42:34Z""#.to_owned()),
        ("rfc_and_or", r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#.to_owned()),
        ("rfc_not", r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#.to_owned()),
        ("rfc_value_paths", r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#.to_owned()),
        ("enterprise_urn", r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#.to_owned()),
        ("or_chain_50", or_chain),
        ("deep_parens_20", deep),
    ]
}

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "701984",
        "userName": "bjensen@example.com",
        "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara"},
        "displayName": "Babs Jensen",
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "ims": [{"value": "someaimhandle", "type": "aim"}],
        "userType": "Employee",
        "title": "Tour Guide",
        "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984", "department": "Tour Operations"
        },
        "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z",
                 "lastModified": "2011-05-13T04:42:34Z"}
    })
}

fn scim_filter_parses(text: &str) -> bool {
    matches!(scim_filter::parser::filter(text), Ok(("", _)))
}

fn scim_v2_parses(text: &str) -> bool {
    scim_v2::filter::Filter::from_str(text).is_ok()
}

fn parse(c: &mut Criterion) {
    for (name, text) in corpus() {
        let mut group = c.benchmark_group(format!("parse/{name}"));
        group.bench_function("scimkit", |b| {
            b.iter(|| black_box(text.as_str()).parse::<Filter>().unwrap())
        });
        if scim_v2_parses(&text) {
            group.bench_function("scim_v2", |b| {
                b.iter(|| scim_v2::filter::Filter::from_str(black_box(&text)).unwrap())
            });
        } else {
            eprintln!("parse/{name}: scim_v2 does not parse it; left out");
        }
        if scim_filter_parses(&text) {
            group.bench_function("scim-filter", |b| {
                b.iter(|| scim_filter::parser::filter(black_box(&text)).unwrap())
            });
        } else {
            eprintln!("parse/{name}: scim-filter does not parse it; left out");
        }
        group.finish();
    }
}

fn evaluate(c: &mut Criterion) {
    let user = user();
    let types = TypeMap::scim_core();
    for (name, text) in corpus() {
        let mut group = c.benchmark_group(format!("evaluate/{name}"));
        let filter: Filter = text.parse().unwrap();
        let matcher = Matcher::new(&filter, &types).unwrap();
        // The compile-once cost, then the per-resource cost.
        group.bench_function("scimkit_compile", |b| {
            b.iter(|| Matcher::new(black_box(&filter), &types).unwrap())
        });
        group.bench_function("scimkit", |b| b.iter(|| matcher.matches(black_box(&user))));
        if scim_filter_parses(&text) {
            let (_, theirs) = scim_filter::parser::filter(&text).unwrap();
            if theirs.r#match(&user).is_ok() {
                group.bench_function("scim-filter", |b| {
                    b.iter(|| theirs.r#match(black_box(&user)).unwrap())
                });
            } else {
                eprintln!("evaluate/{name}: scim-filter cannot evaluate it; left out");
            }
        }
        group.finish();
    }
}

/// Parse time is linear in the input: 20 nested parentheses against a flat filter of the
/// same length, and chains of 10, 100 and 1,000 clauses.
fn linearity(c: &mut Criterion) {
    let nested = format!(
        r#"{}userName eq "bjensen@example.com"{}"#,
        "(".repeat(20),
        ")".repeat(20)
    );
    let flat = format!(r#"userName eq "bjensen@example.com{}""#, "x".repeat(40));
    assert_eq!(nested.len(), flat.len());
    let mut group = c.benchmark_group("linearity/same_length");
    group.bench_function("flat", |b| {
        b.iter(|| black_box(flat.as_str()).parse::<Filter>().unwrap())
    });
    group.bench_function("nested_20", |b| {
        b.iter(|| black_box(nested.as_str()).parse::<Filter>().unwrap())
    });
    group.finish();
    let mut group = c.benchmark_group("linearity/or_chain");
    let limits = Limits {
        max_length: usize::MAX,
        max_clauses: usize::MAX,
        ..Limits::default()
    };
    for n in [10, 100, 1000, 10_000] {
        let chain = (0..n)
            .map(|i| format!(r#"id eq "{i:08}""#))
            .collect::<Vec<_>>()
            .join(" or ");
        group.bench_function(n.to_string(), |b| {
            b.iter(|| Filter::parse_with(black_box(&chain), &limits).unwrap())
        });
    }
    group.finish();
}

/// `co` is linear in the value and the needle: a value of n characters and a needle of n/2
/// that matches up to its last character at every position, at n = 1,000 and 10,000 (a
/// filter is 16 KiB at most).
fn contains(c: &mut Criterion) {
    let mut group = c.benchmark_group("linearity/co");
    for n in [1_000usize, 10_000] {
        let user = serde_json::json!({"displayName": "a".repeat(n)});
        let filter: Filter = format!(r#"displayName co "{}b""#, "A".repeat(n / 2))
            .parse()
            .unwrap();
        let registry = scimkit::Registry::scim_default();
        let matcher =
            scimkit::eval::Matcher::new(&filter, &registry.resource_type("User").unwrap()).unwrap();
        group.bench_function(n.to_string(), |b| {
            b.iter(|| assert!(!matcher.matches(black_box(&user))))
        });
    }
    group.finish();
}

criterion_group!(benches, parse, evaluate, linearity, contains);
criterion_main!(benches);
