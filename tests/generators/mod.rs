//! Generators shared by the translation property tests: users that follow the User
//! schema (with the Enterprise extension), and filters over their attributes with every
//! operator, literals of every kind, value paths and `not`.

#![allow(dead_code)]

use proptest::prelude::*;
use serde_json::{json, Value};

pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

pub fn pick<T: Clone + std::fmt::Debug + 'static>(items: &[T]) -> prop::sample::Select<T> {
    prop::sample::select(items.to_vec())
}

pub const WORDS: &[&str] = &[
    "alice",
    "Alice",
    "ALICE",
    "al",
    "bob",
    "ärger",
    "ÄRGER",
    "",
    "work",
    "home",
    "x@example.com",
    "X@Example.com",
];
pub const TIMES: &[&str] = &[
    "2026-01-01T00:00:00Z",
    "2026-01-01T01:00:00+01:00",
    "2026-01-01T00:00:00.5Z",
    "2025-12-31T23:59:59.999999999Z",
    "2027-06-30T12:00:00.000Z",
];

pub fn user() -> impl Strategy<Value = Value> {
    (
        pick(WORDS),
        prop::option::of(pick(WORDS)),
        prop::option::of(pick(WORDS)),
        prop::option::of(any::<bool>()),
        prop::collection::vec((pick(WORDS), prop::option::of(pick(&["work", "home", "other"])), any::<bool>()), 0..3),
        prop::option::of((prop::option::of(pick(WORDS)), prop::option::of(pick(WORDS)))),
        pick(TIMES),
        prop::option::of(pick(WORDS)),
    )
        .prop_map(|(user_name, display, external, active, emails, name, time, employee)| {
            let mut u = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name});
            if user_name.is_empty() {
                u["userName"] = json!("empty");
            }
            if let Some(d) = display { u["displayName"] = json!(d); }
            if let Some(e) = external { u["externalId"] = json!(e); }
            if let Some(a) = active { u["active"] = json!(a); }
            if !emails.is_empty() {
                u["emails"] = emails
                    .iter()
                    .map(|(v, t, p)| match t {
                        Some(t) => json!({"value": v, "type": t, "primary": p}),
                        None => json!({"value": v, "primary": p}),
                    })
                    .collect();
            }
            if let Some((g, f)) = name {
                u["name"] = json!({});
                if let Some(g) = g { u["name"]["givenName"] = json!(g); }
                if let Some(f) = f { u["name"]["familyName"] = json!(f); }
            }
            if let Some(e) = employee {
                u[ENTERPRISE] = json!({"employeeNumber": e});
                u["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]);
            }
            u["meta"] = json!({"created": time, "lastModified": time});
            u
        })
}

pub fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        pick(WORDS).prop_map(|w| format!("{w:?}")),
        pick(TIMES).prop_map(|t| format!("{t:?}")),
        pick(&["true", "false", "null", "0", "42", "1.5"]).prop_map(str::to_owned),
    ]
}

pub fn atom() -> impl Strategy<Value = String> {
    let path = pick(&[
        "userName",
        "USERNAME",
        "displayName",
        "externalId",
        "active",
        "emails",
        "emails.value",
        "emails.type",
        "emails.primary",
        "name.givenName",
        "name.familyName",
        "name",
        "meta.lastModified",
        "meta.created",
        "employeeNumber",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        "urn:ietf:params:scim:schemas:core:2.0:User:userName",
        "title",
        "id",
    ]);
    let op = pick(&["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ"]);
    prop_oneof![
        4 => (path.clone(), op, literal()).prop_map(|(p, o, v)| format!("{p} {o} {v}")),
        1 => path.prop_map(|p| format!("{p} pr")),
        1 => (pick(&["type", "value", "primary"]), pick(&["eq", "co", "ne"]), literal(), pick(&["emails", "name"]))
            .prop_map(|(s, o, v, a)| format!("{a}[{s} {o} {v}]")),
        1 => (literal(), literal()).prop_map(|(t, v)| format!("emails[type eq {t} and not (value co {v})]")),
        1 => literal().prop_map(|t| format!("not (emails[not (type eq {t})])")),
    ]
}

pub fn filter() -> impl Strategy<Value = String> {
    atom().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) and ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) or ({b})")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
}
