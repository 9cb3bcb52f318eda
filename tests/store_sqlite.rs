//! The SQLite store: the public conformance suite, on a file and in memory; persistence
//! across reopening; and filters translated to SQL selecting exactly what the in-memory
//! evaluator selects.

#![cfg(feature = "sqlite")]

use scimkit::store::{conformance, ResourceStore, Scope, SqliteStore};
use serde_json::json;

fn temp_db(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("scimkit-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("scim.db")
}

#[tokio::test]
async fn passes_the_conformance_suite_on_a_file() {
    let store = SqliteStore::open(temp_db("conformance")).unwrap();
    conformance::run(&store, "sqlite").await;
}

#[tokio::test]
async fn passes_the_conformance_suite_in_memory() {
    conformance::run(&SqliteStore::in_memory().unwrap(), "sqlite-memory").await;
}

#[tokio::test]
async fn what_was_written_is_there_after_reopening() {
    let path = temp_db("reopen");
    let users = Scope::new("acme", "User");
    let groups = Scope::new("acme", "Group");
    {
        let store = SqliteStore::open(&path).unwrap();
        store
            .create(&users, json!({"id": "u1", "userName": "bjensen"}), &[])
            .await
            .unwrap();
        store
            .create(
                &groups,
                json!({"id": "g1", "displayName": "Ops", "members": [{"value": "u1"}]}),
                &[],
            )
            .await
            .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.get(&users, "u1").await.unwrap()["userName"],
        "bjensen"
    );
    let group = store.get(&groups, "g1").await.unwrap();
    assert_eq!(group["members"], json!([{"value": "u1"}]));
    assert_eq!(group["meta"]["version"], "W/\"1\"");
}

mod translation {
    use proptest::prelude::*;
    use scimkit::eval::Matcher;
    use scimkit::filter::Filter;
    use scimkit::schema::{Registry, Write};
    use scimkit::sql::Translator;
    use scimkit::store::{Paging, Query, ResourceStore, Scope, SqliteStore};
    use scimkit::Compat;
    use serde_json::{json, Value};

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn pick<T: Clone + std::fmt::Debug + 'static>(items: &[T]) -> prop::sample::Select<T> {
        prop::sample::select(items.to_vec())
    }

    const WORDS: &[&str] = &[
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
    const TIMES: &[&str] = &[
        "2026-01-01T00:00:00Z",
        "2026-01-01T01:00:00+01:00",
        "2026-01-01T00:00:00.5Z",
        "2025-12-31T23:59:59.999999999Z",
        "2027-06-30T12:00:00.000Z",
    ];

    fn user() -> impl Strategy<Value = Value> {
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

    fn literal() -> impl Strategy<Value = String> {
        prop_oneof![
            pick(WORDS).prop_map(|w| format!("{w:?}")),
            pick(TIMES).prop_map(|t| format!("{t:?}")),
            pick(&["true", "false", "null", "0", "42", "1.5"]).prop_map(str::to_owned),
        ]
    }

    fn atom() -> impl Strategy<Value = String> {
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

    fn filter() -> impl Strategy<Value = String> {
        atom().prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) and ({b})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) or ({b})")),
                inner.prop_map(|a| format!("not ({a})")),
            ]
        })
    }

    fn ids(values: &[Value]) -> Vec<String> {
        let mut ids: Vec<String> = values
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// For every filter the evaluator accepts, the SQL condition is exact and the store
        /// returns exactly the resources the evaluator matches.
        #[test]
        fn sqlite_selects_what_the_evaluator_matches(
            users in prop::collection::vec(user(), 1..12),
            filters in prop::collection::vec(filter(), 1..8),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let registry = Registry::scim_default();
            let view = registry.resource_type("User").unwrap();
            let store = SqliteStore::in_memory().unwrap();
            let scope = Scope::new("t", "User");
            let mut stored = Vec::new();
            for (i, u) in users.into_iter().enumerate() {
                let meta = u["meta"].clone();
                let mut n = view.normalize(u, Write::Create, &Compat::lenient()).unwrap().resource;
                n["id"] = json!(format!("u{i}"));
                n["meta"] = meta;
                stored.push(rt.block_on(store.create(&scope, n, &[])).unwrap());
            }
            for text in filters {
                let Ok(filter) = text.parse::<Filter>() else { continue };
                let Ok(matcher) = Matcher::new(&filter, &view) else { continue };
                let sql = Translator::new(&view, "r.doc").filter(&filter);
                prop_assert!(sql.exact, "{} was not translated exactly: {}", text, sql.sql);
                let expected: Vec<Value> = stored.iter().filter(|r| matcher.matches(r)).cloned().collect();
                let query = Query {
                    filter: Some(filter),
                    matcher: Some(matcher),
                    paging: Paging::Index { start_index: 1, count: 1000 },
                    ..Query::default()
                };
                let page = rt.block_on(store.query(&scope, &query)).unwrap();
                prop_assert_eq!(ids(&page.resources), ids(&expected), "{}\n{}", text, sql.sql);
                prop_assert_eq!(page.total_results, expected.len());
            }
        }
    }
}

#[tokio::test]
async fn group_members_live_apart_and_filters_reach_them() {
    use scimkit::eval::Matcher;
    use scimkit::patch::{MemberChanges, MemberOp};
    use scimkit::schema::Registry;
    use scimkit::store::Query;

    let store = SqliteStore::in_memory().unwrap();
    let scope = Scope::new("acme", "Group");
    for (id, members) in [("g1", vec!["u1", "u2"]), ("g2", vec!["u2"]), ("g3", vec![])] {
        let mut group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": id, "displayName": id});
        if !members.is_empty() {
            group["members"] = members
                .iter()
                .map(|m| json!({"value": m, "type": "User"}))
                .collect();
        }
        store.create(&scope, group, &[]).await.unwrap();
    }
    let registry = Registry::scim_default();
    let groups = registry.resource_type("Group").unwrap();
    let find = |filter: &str| {
        let filter: scimkit::Filter = filter.parse().unwrap();
        Query {
            matcher: Some(Matcher::new(&filter, &groups).unwrap()),
            filter: Some(filter),
            ..Query::default()
        }
    };
    let ids = |page: scimkit::store::Page| -> Vec<String> {
        page.resources
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    for (filter, expected) in [
        (r#"members eq "u1""#, vec!["g1"]),
        (r#"members[value eq "u2"]"#, vec!["g1", "g2"]),
        (r#"id eq "g1" and members eq "u2""#, vec!["g1"]),
        ("members pr", vec!["g1", "g2"]),
        ("not (members pr)", vec!["g3"]),
        (r#"members.type eq "user""#, vec!["g1", "g2"]),
    ] {
        assert_eq!(
            ids(store.query(&scope, &find(filter)).await.unwrap()),
            expected,
            "{filter}"
        );
    }
    // A member change touches the members table and the version, nothing else.
    let version = store
        .change_members(
            &scope,
            "g3",
            &MemberChanges {
                attribute: "members".into(),
                ops: vec![MemberOp::Add(vec![json!({"value": "u9"})])],
            },
            "2026-11-23T00:00:00.000Z",
            Some("W/\"1\""),
        )
        .await
        .unwrap();
    assert_eq!(version.as_deref(), Some("W/\"2\""));
    let g3 = store.get(&scope, "g3").await.unwrap();
    assert_eq!(g3["members"], json!([{"value": "u9"}]));
    assert_eq!(g3["meta"]["lastModified"], "2026-11-23T00:00:00.000Z");
    assert_eq!(
        ids(store
            .query(&scope, &find(r#"members eq "u9""#))
            .await
            .unwrap()),
        ["g3"]
    );
}

mod concurrency {
    use std::sync::Arc;

    use bytes::Bytes;
    use scimkit::service::{BearerToken, ScimService};
    use scimkit::store::SqliteStore;
    use serde_json::{json, Value};

    fn service(name: &str) -> ScimService {
        let store = SqliteStore::open(super::temp_db(name)).unwrap();
        ScimService::builder(store)
            .authenticator(BearerToken::new("t", "acme"))
            .build()
    }

    async fn call(svc: &ScimService, method: &str, uri: &str, body: Value) -> (u16, Value) {
        let request = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("Authorization", "Bearer t")
            .body(Bytes::from(body.to_string()))
            .unwrap();
        let response = svc.handle(request).await;
        let json = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
        (response.status().as_u16(), json)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_hundred_concurrent_creates_of_one_user_name_give_one_201() {
        let svc = Arc::new(service("race"));
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let svc = Arc::clone(&svc);
                tokio::spawn(async move {
                    // The same userName in different cases: caseExact is false.
                    let name = if i % 2 == 0 { "BJensen" } else { "bjensen" };
                    call(&svc, "POST", "/scim/v2/Users", json!({"userName": name})).await
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for t in tasks {
            let (status, body) = t.await.unwrap();
            if status == 409 {
                assert_eq!(body["scimType"], "uniqueness");
            }
            statuses.push(status);
        }
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1);
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 99);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_member_adds_to_one_group_all_land() {
        let svc = Arc::new(service("members"));
        let (_, group) = call(
            &svc,
            "POST",
            "/scim/v2/Groups",
            json!({"displayName": "Everyone"}),
        )
        .await;
        let uri = format!("/scim/v2/Groups/{}", group["id"].as_str().unwrap());
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let (svc, uri) = (Arc::clone(&svc), uri.clone());
                tokio::spawn(async move {
                    let add = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "add", "path": "members", "value": [{"value": format!("user-{i}")}]}]});
                    call(&svc, "PATCH", &uri, add).await.0
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), 200);
        }
        let (_, got) = call(&svc, "GET", &uri, Value::Null).await;
        let members = got["members"].as_array().unwrap();
        assert_eq!(members.len(), 100);
        assert_eq!(got["meta"]["version"], "W/\"101\"");
    }
}
