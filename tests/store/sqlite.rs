//! The SQLite store: the public conformance suite, on a file and in memory; persistence
//! across reopening; and filters translated to SQL selecting exactly what the in-memory
//! evaluator selects.

#![cfg(feature = "sqlite")]

use scimkit::schema::{Registry, UniqueValue};
use scimkit::store::{Paging, Query, ResourceStore, Scope, SqliteStore, WriteOptions};
use serde_json::json;

fn temp_db(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("scimkit-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("scim.db")
}

/// The suite on a file, each rule with a database of its own.
mod conformance_on_a_file {
    use scimkit::store::SqliteStore;

    fn fresh() -> SqliteStore {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        SqliteStore::open(super::temp_db(&format!("conformance-{n}"))).unwrap()
    }

    scimkit::store_conformance_tests!(fresh());
}

mod conformance_in_memory {
    use scimkit::store::SqliteStore;

    scimkit::store_conformance_tests!(SqliteStore::in_memory().unwrap());
}

fn unique(name: &str) -> WriteOptions {
    WriteOptions::new().with_unique(vec![UniqueValue::new("userName", json!(name), false)])
}

fn users_page(registry: &Registry, count: usize) -> Query<'_> {
    Query::new(registry.resource_type("User").unwrap()).with_paging(Paging::Index {
        start_index: 1,
        count,
    })
}

#[tokio::test]
async fn what_was_written_is_there_after_reopening() {
    let path = temp_db("reopen");
    let users = Scope::new("acme", "User");
    let groups = Scope::new("acme", "Group");
    {
        let store = SqliteStore::open(&path).unwrap();
        store
            .create(
                &users,
                json!({"id": "u1", "userName": "bjensen"}),
                WriteOptions::new(),
            )
            .await
            .unwrap();
        store
            .create(
                &groups,
                json!({"id": "g1", "displayName": "Ops", "members": [{"value": "u1"}]}),
                WriteOptions::new(),
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

/// Writes are committed in groups: many at once, some failing half-way (an id that is
/// free but a userName that is taken, an out-of-date version), land or are undone each on
/// its own; every write answered `Ok` is there after reopening, and nothing else is.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_committed_in_groups_land_or_fail_each_alone() {
    let path = temp_db("groups");
    let store = std::sync::Arc::new(SqliteStore::open(&path).unwrap());
    let users = Scope::new("acme", "User");
    for i in 0..50 {
        let name = format!("user{i}");
        store
            .create(
                &users,
                json!({"id": format!("u{i}"), "userName": name}),
                unique(&name),
            )
            .await
            .unwrap();
    }
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let store = std::sync::Arc::clone(&store);
            tokio::spawn(async move {
                let users = Scope::new("acme", "User");
                match i % 3 {
                    // A new user whose userName another new user also wants (pairs i, i+3).
                    0 => {
                        let name = format!("new{}", i / 6);
                        let id = format!("n{i}");
                        let r = store
                            .create(&users, json!({"id": id, "userName": name}), unique(&name))
                            .await;
                        (i, r.map(|_| ()))
                    }
                    // A replace of an existing user, half of them with a stale version.
                    1 => {
                        let n = i % 50;
                        let name = format!("user{n}");
                        let expected = if i % 2 == 0 { "W/\"1\"" } else { "W/\"999\"" };
                        let r = store
                            .replace(
                                &users,
                                &format!("u{n}"),
                                json!({"id": format!("u{n}"), "userName": name, "title": format!("t{i}")}),
                                unique(&name).with_if_match(expected),
                            )
                            .await;
                        (i, r.map(|_| ()))
                    }
                    // A user taking a userName held by one of the first fifty: always refused.
                    _ => {
                        let name = format!("USER{}", i % 50);
                        let r = store
                            .create(&users, json!({"id": format!("x{i}"), "userName": name}), unique(&name))
                            .await;
                        (i, r.map(|_| ()))
                    }
                }
            })
        })
        .collect();
    let mut created = Vec::new();
    let mut replaced = 0;
    for task in tasks {
        let (i, result) = task.await.unwrap();
        match (i % 3, result) {
            (0, Ok(())) => created.push(format!("n{i}")),
            (0, Err(scimkit::store::StoreError::Conflict(path))) => assert_eq!(path, "userName"),
            (1, Ok(())) => replaced += 1,
            (1, Err(scimkit::store::StoreError::PreconditionFailed { .. })) => {}
            (2, Err(scimkit::store::StoreError::Conflict(path))) => assert_eq!(path, "userName"),
            (kind, other) => panic!("write {i} (kind {kind}): {other:?}"),
        }
    }
    // Each pair of new users shares a name: one of each pair.
    assert_eq!(created.len(), 50, "{created:?}");
    // The replaces with the right version target 25 users, each twice: one of the two
    // lands, the other finds version 2. The stale ones all fail.
    let targeted: std::collections::BTreeSet<usize> = (0..300)
        .filter(|i| i % 3 == 1 && i % 2 == 0)
        .map(|i| i % 50)
        .collect();
    assert_eq!((replaced, targeted.len()), (25, 25));
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    let registry = Registry::scim_default();
    let all = store
        .query(&users, &users_page(&registry, 1000))
        .await
        .unwrap();
    assert_eq!(
        all.total_results, 100,
        "50 users and 50 new ones, no half-written rows"
    );
    for id in &created {
        store
            .get(&users, id)
            .await
            .expect("a create answered Ok is there");
    }
    for i in (2..300).step_by(3) {
        assert!(
            store.get(&users, &format!("x{i}")).await.is_err(),
            "x{i} was refused"
        );
    }
    for n in 0..50 {
        let user = store.get(&users, &format!("u{n}")).await.unwrap();
        let version = if targeted.contains(&n) {
            "W/\"2\""
        } else {
            "W/\"1\""
        };
        assert_eq!(user["meta"]["version"], version, "u{n}");
        assert_eq!(user["title"].is_string(), targeted.contains(&n), "u{n}");
    }
}

/// `totalResults` of unfiltered pages comes from counts the database keeps through every
/// create and delete, and a database made before those counts gets them at its next open.
#[tokio::test]
async fn unfiltered_totals_follow_creates_and_deletes_and_survive_an_upgrade() {
    let path = temp_db("counts");
    let users = Scope::new("acme", "User");
    let registry = Registry::scim_default();
    let first_two = users_page(&registry, 2);
    {
        let store = SqliteStore::open(&path).unwrap();
        for i in 0..5 {
            store
                .create(
                    &users,
                    json!({"id": format!("u{i}"), "userName": format!("n{i}")}),
                    WriteOptions::new(),
                )
                .await
                .unwrap();
        }
        store
            .create(
                &Scope::new("globex", "User"),
                json!({"id": "g", "userName": "g"}),
                WriteOptions::new(),
            )
            .await
            .unwrap();
        store
            .delete(&users, "u3", WriteOptions::new())
            .await
            .unwrap();
        let page = store.query(&users, &first_two).await.unwrap();
        assert_eq!((page.resources.len(), page.total_results), (2, 4));
    }
    // As a database of an earlier version: no counts, no triggers.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP TRIGGER resources_counted; DROP TRIGGER resources_uncounted; DROP TABLE scope_counts;",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let page = store.query(&users, &first_two).await.unwrap();
    assert_eq!(page.total_results, 4, "counted at open");
    store
        .delete(&users, "u0", WriteOptions::new())
        .await
        .unwrap();
    store
        .create(
            &users,
            json!({"id": "u9", "userName": "n9"}),
            WriteOptions::new(),
        )
        .await
        .unwrap();
    store
        .create(
            &users,
            json!({"id": "u10", "userName": "n10"}),
            WriteOptions::new(),
        )
        .await
        .unwrap();
    let page = store.query(&users, &first_two).await.unwrap();
    assert_eq!(page.total_results, 5);
    let other = store
        .query(&Scope::new("globex", "User"), &first_two)
        .await
        .unwrap();
    assert_eq!(other.total_results, 1);
    let none = store
        .query(&Scope::new("initech", "User"), &first_two)
        .await
        .unwrap();
    assert_eq!(none.total_results, 0);
}

use crate::generators;

mod translation {
    use super::generators::{filter, user};
    use proptest::prelude::*;
    use scimkit::eval::Matcher;
    use scimkit::filter::Filter;
    use scimkit::schema::{Registry, Write};
    use scimkit::sql::Translator;
    use scimkit::store::{Paging, Query, ResourceStore, Scope, SqliteStore, WriteOptions};
    use scimkit::Compat;
    use serde_json::{json, Value};

    fn ids<V: std::ops::Deref<Target = Value>>(values: &[V]) -> Vec<String> {
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
                stored.push(rt.block_on(store.create(&scope, n, WriteOptions::new())).unwrap());
            }
            for text in filters {
                let Ok(filter) = text.parse::<Filter>() else { continue };
                let Ok(matcher) = Matcher::new(&filter, &view) else { continue };
                let sql = Translator::new(&view, "r.doc").filter(&filter);
                prop_assert!(sql.exact, "{} was not translated exactly: {}", text, sql.sql);
                let expected: Vec<_> = stored.iter().filter(|r| matcher.matches(r)).cloned().collect();
                let query = Query::new(view)
                    .with_filter(filter)
                    .unwrap()
                    .with_paging(Paging::Index { start_index: 1, count: 1000 });
                let page = rt.block_on(store.query(&scope, &query)).unwrap();
                prop_assert_eq!(ids(&page.resources), ids(&expected), "{}\n{}", text, sql.sql);
                prop_assert_eq!(page.total_results, expected.len());
            }
        }
    }
}

#[tokio::test]
async fn group_members_live_apart_and_filters_reach_them() {
    use scimkit::patch::{MemberChanges, MemberOp};

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
        store
            .create(&scope, group, WriteOptions::new())
            .await
            .unwrap();
    }
    let registry = Registry::scim_default();
    let groups = registry.resource_type("Group").unwrap();
    let find = |filter: &str| {
        Query::new(groups)
            .with_filter(filter.parse().unwrap())
            .unwrap()
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
            WriteOptions::new().with_if_match("W/\"1\""),
        )
        .await
        .unwrap();
    let version = version.unwrap();
    assert_eq!(
        (version.version.as_str(), version.net.added_values()),
        ("W/\"2\"", vec!["u9".to_owned()])
    );
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
    use scimkit::auth::BearerToken;
    use scimkit::service::ScimService;
    use scimkit::store::SqliteStore;
    use serde_json::{json, Value};

    fn service(name: &str) -> ScimService {
        let store = SqliteStore::open(super::temp_db(name)).unwrap();
        ScimService::builder(store)
            .authenticator(BearerToken::for_tenant("t", "acme"))
            .build()
            .unwrap()
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

/// Two key stores on one file — two processes of the example server: a key rotated,
/// revoked or a tenant disabled through one fails through the other within
/// `SqliteKeyStore::RECHECK`.
#[tokio::test]
async fn key_changes_through_another_connection_hold_within_the_recheck() {
    use scimkit::auth::{Idp, KeyStore, SqliteKeyStore, TenantSettings};

    let path = temp_db("keys-two");
    let one = SqliteKeyStore::open(&path).unwrap();
    let two = SqliteKeyStore::open(&path).unwrap();
    one.enable("acme", TenantSettings::for_idp(Idp::Okta))
        .await
        .unwrap();
    let first = one.generate("acme").await.unwrap();
    assert_eq!(
        two.verify(first.secret())
            .await
            .map(|c| c.tenant().to_owned()),
        Some("acme".to_owned()),
        "a key made through the other store works"
    );
    let settle =
        || tokio::time::sleep(SqliteKeyStore::RECHECK + std::time::Duration::from_millis(20));
    let second = two.rotate("acme").await.unwrap();
    settle().await;
    assert!(one.verify(first.secret()).await.is_none(), "rotated away");
    assert!(one.verify(second.secret()).await.is_some());
    let third = one.generate("acme").await.unwrap();
    two.revoke("acme", third.id()).await.unwrap();
    settle().await;
    assert!(one.verify(third.secret()).await.is_none(), "revoked");
    // Resource writes to the same file move its data_version; the keys stay valid, and a
    // key change after them is still seen.
    let store = SqliteStore::open(&path).unwrap();
    store
        .create(
            &Scope::new("acme", "User"),
            json!({"id": "u1", "userName": "bjensen"}),
            WriteOptions::new(),
        )
        .await
        .unwrap();
    assert!(one.verify(second.secret()).await.is_some());
    two.disable("acme").await.unwrap();
    settle().await;
    assert!(
        one.verify(second.secret()).await.is_none(),
        "tenant disabled"
    );
    assert_eq!(one.settings("acme").await.unwrap(), None);
}
