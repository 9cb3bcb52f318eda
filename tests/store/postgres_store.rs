//! The PostgreSQL store and key store against a real server: the conformance suite, filters
//! and sorts answered as the evaluator answers them, group members apart, what PostgreSQL
//! cannot keep, and two stores on one database (two replicas) seeing each other's writes
//! and key changes at once.
//!
//! The server is `host=127.0.0.1 port=5432 user=postgres dbname=test` (trust
//! authentication), or `SCIMKIT_PG` when set; each test process works in a schema of its
//! own. Without a server the tests print SKIPPED (where `cargo test` shows it) and pass,
//! unless `SCIMKIT_REQUIRE_PG` is set, as `.ci/run` does.

#![cfg(feature = "postgres")]

use std::sync::atomic::{AtomicBool, Ordering};

use scimkit::store::deadpool_postgres::{Manager, Pool};
use scimkit::store::tokio_postgres::{self, NoTls};
use scimkit::store::PostgresStore;

pub(crate) fn settings() -> String {
    std::env::var("SCIMKIT_PG")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into())
}

pub(crate) fn schema() -> String {
    format!("scimkit_store_{}", std::process::id())
}

/// A pool on this process's schema (made, and earlier runs' dropped, on first use), with
/// the migrations applied; `None` when no server answers and none is required.
async fn pool() -> Option<Pool> {
    static CLEANED: AtomicBool = AtomicBool::new(false);
    let settings = settings();
    let (client, connection) = match tokio_postgres::connect(&settings, NoTls).await {
        Ok(c) => c,
        Err(e) if std::env::var_os("SCIMKIT_REQUIRE_PG").is_none() => {
            skipped(&format!("PostgreSQL at {settings} is not reachable ({e}): the PostgreSQL store tests are skipped"));
            return None;
        }
        Err(e) => panic!("PostgreSQL at {settings} is required: {e}"),
    };
    tokio::spawn(connection);
    let schema = schema();
    let clean = !CLEANED.swap(true, Ordering::SeqCst);
    client
        .batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock(4242);
             DO $$ DECLARE s text; BEGIN
               IF {clean} THEN
                 FOR s IN SELECT nspname FROM pg_namespace
                          WHERE nspname LIKE 'scimkit\\_store\\_%' AND nspname <> '{schema}' LOOP
                   EXECUTE format('DROP SCHEMA %I CASCADE', s);
                 END LOOP;
               END IF;
             END $$;
             CREATE SCHEMA IF NOT EXISTS {schema}; COMMIT;"
        ))
        .await
        .unwrap();
    let mut config: tokio_postgres::Config = settings.parse().unwrap();
    config.options(format!("-c search_path={schema}"));
    let pool = Pool::builder(Manager::new(config, NoTls))
        .max_size(8)
        .build()
        .unwrap();
    PostgresStore::migrate(&pool).await.unwrap();
    Some(pool)
}

async fn store() -> Option<PostgresStore> {
    Some(PostgresStore::new(pool().await?))
}

mod conformance {
    scimkit::store_conformance_tests!(match super::store().await {
        Some(store) => store,
        None => return,
    });
}

mod translation {
    use crate::generators::{filter, user};
    use proptest::prelude::*;
    use scimkit::eval::Matcher;
    use scimkit::filter::{AttrPath, Filter};
    use scimkit::schema::{Registry, Write};
    use scimkit::store::{
        MemoryStore, Paging, Query, ResourceStore, Scope, SortOrder, WriteOptions,
    };
    use scimkit::Compat;
    use serde_json::{json, Value};

    fn ids<V: std::ops::Deref<Target = Value>>(values: &[V]) -> Vec<String> {
        values
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    }

    fn sorted(mut ids: Vec<String>) -> Vec<String> {
        ids.sort();
        ids
    }

    /// One runtime and store for every case, each case in a tenant of its own.
    struct Fixture {
        rt: tokio::runtime::Runtime,
        store: scimkit::store::PostgresStore,
    }

    fn fixture() -> Option<&'static Fixture> {
        static FIXTURE: std::sync::OnceLock<Option<Fixture>> = std::sync::OnceLock::new();
        FIXTURE
            .get_or_init(|| {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .unwrap();
                let store = rt.block_on(super::store())?;
                Some(Fixture { rt, store })
            })
            .as_ref()
    }

    static CASE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        /// For every filter the evaluator accepts, the store returns exactly the users the
        /// evaluator matches, and counts them; sorted by any of the users' attributes, in
        /// the order the in-memory store (the evaluator's comparison) gives.
        #[test]
        fn postgres_store_answers_what_the_evaluator_answers(
            users in prop::collection::vec(user(), 1..12),
            filters in prop::collection::vec(filter(), 1..6),
            sort_by in crate::generators::pick(&[
                "userName", "displayName", "externalId", "active", "emails", "emails.type",
                "name", "name.familyName", "name.givenName", "meta.lastModified", "meta.created",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            ]),
            descending in any::<bool>(),
        ) {
            let Some(fx) = fixture() else { return Ok(()) };
            let tenant = format!("case-{}", CASE.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
            let scope = Scope::new(&tenant, "User");
            let registry = Registry::scim_default();
            let view = registry.resource_type("User").unwrap();
            let memory = MemoryStore::new();
            let mut stored = Vec::new();
            for (i, u) in users.into_iter().enumerate() {
                let meta = u["meta"].clone();
                let mut n = view.normalize(u, Write::Create, &Compat::lenient()).unwrap().resource;
                n["id"] = json!(format!("u{i}"));
                n["meta"] = meta;
                fx.rt.block_on(memory.create(&scope, n.clone(), WriteOptions::new())).unwrap();
                stored.push(fx.rt.block_on(fx.store.create(&scope, n, WriteOptions::new())).unwrap());
            }
            let all = Paging::Index { start_index: 1, count: 1000 };
            for text in filters {
                let Ok(filter) = text.parse::<Filter>() else { continue };
                let Ok(matcher) = Matcher::new(&filter, &view) else { continue };
                let expected: Vec<_> = stored.iter().filter(|r| matcher.matches(r)).cloned().collect();
                let query = Query::new(view).with_filter(filter).unwrap().with_paging(all.clone());
                let page = fx.rt.block_on(fx.store.query(&scope, &query)).unwrap();
                prop_assert_eq!(sorted(ids(&page.resources)), sorted(ids(&expected)), "{}", text);
                prop_assert_eq!(page.total_results, expected.len());
            }
            let order = if descending { SortOrder::Descending } else { SortOrder::Ascending };
            let query = Query::new(view)
                .with_sort(sort_by.parse::<AttrPath>().unwrap(), order)
                .with_paging(all);
            let got = fx.rt.block_on(fx.store.query(&scope, &query)).unwrap();
            let want = fx.rt.block_on(memory.query(&scope, &query)).unwrap();
            prop_assert_eq!(ids(&got.resources), ids(&want.resources), "sortBy={} {:?}", sort_by, order);
        }
    }
}

mod groups {
    use scimkit::patch::{MemberChanges, MemberOp};
    use scimkit::schema::Registry;
    use scimkit::store::{Paging, Query, ResourceStore, Scope, StoreError, WriteOptions};
    use serde_json::{json, Value};

    fn group(id: &str, members: &[&str]) -> Value {
        let mut g = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": id, "displayName": id,
            "meta": {"resourceType": "Group", "lastModified": "2026-01-01T00:00:00Z"}
        });
        if !members.is_empty() {
            g["members"] = members
                .iter()
                .map(|m| json!({"value": m, "type": "User"}))
                .collect();
        }
        g
    }

    #[tokio::test]
    async fn members_live_apart_keep_their_order_and_filters_reach_them() {
        let Some(store) = super::store().await else {
            return;
        };
        let scope = Scope::new("groups-apart", "Group");
        for (id, members) in [
            ("g1", &["u3", "u1", "u2"][..]),
            ("g2", &["u2"]),
            ("g3", &[]),
        ] {
            store
                .create(&scope, group(id, members), WriteOptions::new())
                .await
                .unwrap();
        }
        let g1 = store.get(&scope, "g1").await.unwrap();
        assert_eq!(g1["members"], group("g1", &["u3", "u1", "u2"])["members"]);
        assert!(store
            .get(&scope, "g3")
            .await
            .unwrap()
            .get("members")
            .is_none());
        let registry = Registry::scim_default();
        let view = registry.resource_type("Group").unwrap();
        for (filter, expected) in [
            (r#"members[value eq "u2"]"#, vec!["g1", "g2"]),
            (r#"members.value eq "u1""#, vec!["g1"]),
            ("members pr", vec!["g1", "g2"]),
            ("not (members pr)", vec!["g3"]),
        ] {
            let query = Query::new(view)
                .with_filter(filter.parse().unwrap())
                .unwrap();
            let page = store.query(&scope, &query).await.unwrap();
            let ids: Vec<&str> = page
                .resources
                .iter()
                .map(|r| r["id"].as_str().unwrap())
                .collect();
            assert_eq!(ids, expected, "{filter}");
            assert_eq!(page.total_results, expected.len(), "{filter}");
        }
        let page = store
            .query(
                &scope,
                &Query::new(view).with_paging(Paging::Index {
                    start_index: 2,
                    count: 1,
                }),
            )
            .await
            .unwrap();
        assert_eq!(
            (page.resources[0]["id"].clone(), page.total_results),
            (json!("g2"), 3)
        );
    }

    /// Member changes mean what `MemberChanges::apply` does to the document, and bump the
    /// version only when something changed.
    #[tokio::test]
    async fn member_changes_mean_what_apply_does() {
        let Some(store) = super::store().await else {
            return;
        };
        let scope = Scope::new("groups-changes", "Group");
        store
            .create(&scope, group("g", &["a", "b"]), WriteOptions::new())
            .await
            .unwrap();
        let mut expected = group("g", &["a", "b"]);
        let steps = [
            vec![MemberOp::Add(vec![
                json!({"value": "c"}),
                json!({"value": "a", "display": "new"}),
            ])],
            vec![
                MemberOp::Remove(vec!["b".into(), "zz".into()]),
                MemberOp::Add(vec![json!({"value": "b"})]),
            ],
            vec![MemberOp::Remove(vec!["zz".into()])],
            vec![
                MemberOp::Add(vec![json!({"value": "d"})]),
                MemberOp::Remove(vec!["d".into()]),
            ],
            vec![MemberOp::Remove(vec!["a".into(), "b".into(), "c".into()])],
        ];
        let mut version = 1;
        for ops in steps {
            let changes = MemberChanges {
                attribute: "members".into(),
                ops,
            };
            let want = changes.apply(&mut expected);
            let done = store
                .change_members(
                    &scope,
                    "g",
                    &changes,
                    "2026-02-02T00:00:00Z",
                    WriteOptions::new(),
                )
                .await
                .unwrap()
                .expect("the store takes member changes");
            assert_eq!(done.net, want, "{changes:?}");
            if want.changed() {
                version += 1;
            }
            assert_eq!(done.version, format!("W/\"{version}\""));
            let got = store.get(&scope, "g").await.unwrap();
            assert_eq!(got.get("members"), expected.get("members"), "{changes:?}");
            assert_eq!(got["meta"]["version"], json!(done.version));
        }
        // A stale version is refused.
        let changes = MemberChanges {
            attribute: "members".into(),
            ops: vec![MemberOp::Add(vec![json!({"value": "x"})])],
        };
        let stale = store
            .change_members(
                &scope,
                "g",
                &changes,
                "2026-02-03T00:00:00Z",
                WriteOptions::new().with_if_match("W/\"1\""),
            )
            .await;
        assert!(
            matches!(stale, Err(StoreError::PreconditionFailed { .. })),
            "{stale:?}"
        );
    }

    /// A membership change of a large group writes the rows it names, not the group.
    #[tokio::test]
    async fn a_large_group_changes_by_the_members_named() {
        let Some(store) = super::store().await else {
            return;
        };
        let scope = Scope::new("groups-large", "Group");
        let names: Vec<String> = (0..20_000).map(|i| format!("u{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        store
            .create(&scope, group("big", &refs), WriteOptions::new())
            .await
            .unwrap();
        let changes = MemberChanges {
            attribute: "members".into(),
            ops: vec![
                MemberOp::Remove(vec!["u7".into()]),
                MemberOp::Add(vec![json!({"value": "new", "type": "User"})]),
            ],
        };
        let done = store
            .change_members(
                &scope,
                "big",
                &changes,
                "2026-02-02T00:00:00Z",
                WriteOptions::new(),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (done.net.added_values(), done.net.removed_values()),
            (vec!["new".to_owned()], vec!["u7".to_owned()])
        );
        let got = store.get(&scope, "big").await.unwrap();
        let members = got["members"].as_array().unwrap();
        assert_eq!(members.len(), 20_000);
        assert_eq!(members.last().unwrap()["value"], "new");
        assert!(!members.iter().any(|m| m["value"] == "u7"));
    }
}

mod writes {
    use scimkit::schema::{Registry, UniqueValue};
    use scimkit::store::{Paging, Query, ResourceStore, Scope, StoreError, WriteOptions};
    use scimkit::ScimError;
    use serde_json::json;

    /// What PostgreSQL cannot keep is the client's error (`400 invalidValue`), not the
    /// server's.
    #[tokio::test]
    async fn nul_characters_are_the_clients_error() {
        let Some(store) = super::store().await else {
            return;
        };
        let scope = Scope::new("nul", "User");
        let err = store
            .create(
                &scope,
                json!({"id": "u1", "userName": "a\u{0}b"}),
                WriteOptions::new(),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Unstorable(_)), "{err:?}");
        assert_eq!(ScimError::from(err).status(), 400);
        // A lookup by such a value finds nothing it could have stored.
        let registry = Registry::scim_default();
        let view = registry.resource_type("User").unwrap();
        let query = Query::new(view)
            .with_filter(r#"userName eq "a\u0000b""#.parse().unwrap())
            .unwrap();
        let answer = store.query(&scope, &query).await;
        assert!(
            matches!(&answer, Ok(page) if page.total_results == 0)
                || matches!(&answer, Err(StoreError::Unstorable(_))),
            "{answer:?}"
        );
    }

    /// Cursors and positions are a scope's own: another tenant's writes do not move them.
    #[tokio::test]
    async fn cursors_are_per_tenant() {
        let Some(store) = super::store().await else {
            return;
        };
        let registry = Registry::scim_default();
        let view = registry.resource_type("User").unwrap();
        let (a, b) = (
            Scope::new("cursor-a", "User"),
            Scope::new("cursor-b", "User"),
        );
        for i in 0..3 {
            store
                .create(
                    &a,
                    json!({"id": format!("a{i}"), "userName": format!("a{i}")}),
                    WriteOptions::new(),
                )
                .await
                .unwrap();
        }
        let first = Query::new(view).with_paging(Paging::Cursor {
            cursor: None,
            count: 1,
        });
        let page = store.query(&a, &first).await.unwrap();
        assert_eq!(page.next_cursor.as_deref(), Some("s1"));
        for i in 0..5 {
            store
                .create(
                    &b,
                    json!({"id": format!("b{i}"), "userName": format!("b{i}")}),
                    WriteOptions::new(),
                )
                .await
                .unwrap();
        }
        let page = store.query(&b, &first).await.unwrap();
        assert_eq!(
            page.next_cursor.as_deref(),
            Some("s1"),
            "b numbers its own resources"
        );
    }

    /// Two stores on one database — two replicas — race to create the same userName: one
    /// wins, every other is a conflict.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replicas_racing_for_a_user_name_make_one_user() {
        let (Some(one), Some(two)) = (super::store().await, super::store().await) else {
            return;
        };
        let scope = Scope::new("race", "User");
        let mut tasks = Vec::new();
        for i in 0..40 {
            let store = if i % 2 == 0 { one.clone() } else { two.clone() };
            tasks.push(tokio::spawn(async move {
                let scope = Scope::new("race", "User");
                let unique = WriteOptions::new().with_unique(vec![UniqueValue::new(
                    "userName",
                    json!("BJensen"),
                    false,
                )]);
                store
                    .create(
                        &scope,
                        json!({"id": format!("u{i}"), "userName": "bjensen"}),
                        unique,
                    )
                    .await
            }));
        }
        let mut created = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => created += 1,
                Err(StoreError::Conflict(path)) => assert_eq!(path, "userName"),
                Err(other) => panic!("{other:?}"),
            }
        }
        assert_eq!(created, 1);
        let registry = Registry::scim_default();
        let page = one
            .query(&scope, &Query::new(registry.resource_type("User").unwrap()))
            .await
            .unwrap();
        assert_eq!(page.total_results, 1);
    }

    /// A replica's write with the version another replica replaced is refused.
    #[tokio::test]
    async fn a_stale_version_fails_on_every_replica() {
        let (Some(one), Some(two)) = (super::store().await, super::store().await) else {
            return;
        };
        let scope = Scope::new("stale", "User");
        let v1 = one
            .create(
                &scope,
                json!({"id": "u", "userName": "u"}),
                WriteOptions::new(),
            )
            .await
            .unwrap();
        let v1 = v1.version().unwrap().to_owned();
        two.replace(
            &scope,
            "u",
            json!({"id": "u", "userName": "u2"}),
            WriteOptions::new().with_if_match(&v1),
        )
        .await
        .unwrap();
        let stale = one
            .replace(
                &scope,
                "u",
                json!({"id": "u", "userName": "u3"}),
                WriteOptions::new().with_if_match(&v1),
            )
            .await;
        assert!(
            matches!(stale, Err(StoreError::PreconditionFailed { ref current }) if current == "W/\"2\""),
            "{stale:?}"
        );
        assert_eq!(one.get(&scope, "u").await.unwrap()["userName"], "u2");
    }

    /// Replicas starting at once on an empty database apply each migration once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn migrations_are_safe_to_run_at_once() {
        let Some(pool) = super::pool().await else {
            return;
        };
        // A schema of its own, empty: the four runs race for the first migration.
        let schema = format!("{}_fresh", super::schema());
        let client = pool.get().await.unwrap();
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .await
            .unwrap();
        let mut config: scimkit::store::tokio_postgres::Config = super::settings().parse().unwrap();
        config.options(format!("-c search_path={schema}"));
        let fresh = scimkit::store::deadpool_postgres::Pool::builder(
            scimkit::store::deadpool_postgres::Manager::new(
                config,
                scimkit::store::tokio_postgres::NoTls,
            ),
        )
        .max_size(4)
        .build()
        .unwrap();
        let runs: Vec<_> = (0..4)
            .map(|_| {
                let pool = fresh.clone();
                tokio::spawn(async move { scimkit::store::PostgresStore::migrate(&pool).await })
            })
            .collect();
        for run in runs {
            run.await.unwrap().unwrap();
        }
        let n: i64 = client
            .query_one(
                &format!("SELECT count(*) FROM {schema}.scimkit_migrations"),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(n as usize, scimkit::store::PostgresStore::MIGRATIONS.len());
        client
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .unwrap();
    }

    /// Writes racing with the same `If-Match` through two replicas: one wins, the others
    /// are told the version changed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn racing_writes_with_one_version_make_one_change() {
        let (Some(one), Some(two)) = (super::store().await, super::store().await) else {
            return;
        };
        let scope = Scope::new("if-match-race", "User");
        let created = one
            .create(
                &scope,
                json!({"id": "u", "userName": "u"}),
                WriteOptions::new(),
            )
            .await
            .unwrap();
        let v1 = created.version().unwrap().to_owned();
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let store = if i % 2 == 0 { one.clone() } else { two.clone() };
                let v1 = v1.clone();
                tokio::spawn(async move {
                    let scope = Scope::new("if-match-race", "User");
                    let body = json!({"id": "u", "userName": format!("u{i}")});
                    store
                        .replace(&scope, "u", body, WriteOptions::new().with_if_match(v1))
                        .await
                })
            })
            .collect();
        let mut won = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(doc) => {
                    won += 1;
                    assert_eq!(doc.version(), Some("W/\"2\""));
                }
                Err(StoreError::PreconditionFailed { current }) => assert_eq!(current, "W/\"2\""),
                Err(other) => panic!("{other:?}"),
            }
        }
        assert_eq!(won, 1);
    }

    /// The lookups identity providers make before each create use the expression indexes.
    #[tokio::test]
    async fn lookups_use_the_indexes() {
        let Some(pool) = super::pool().await else {
            return;
        };
        let store = scimkit::store::PostgresStore::new(pool.clone());
        let scope = Scope::new("lookups", "User");
        for i in 0..2000 {
            let user = json!({"id": format!("u{i}"), "userName": format!("user{i}"), "externalId": format!("e{i}")});
            store
                .create(&scope, user, WriteOptions::new())
                .await
                .unwrap();
        }
        let client = pool.get().await.unwrap();
        client
            .batch_execute("ANALYZE scim_resources")
            .await
            .unwrap();
        let registry = Registry::scim_default();
        let view = registry.resource_type("User").unwrap();
        for (filter, index) in [
            (r#"userName eq "User7""#, "scim_resources_user_name"),
            (r#"userName sw "User19""#, "scim_resources_user_name"),
            (r#"externalId eq "e7""#, "scim_resources_external_id"),
        ] {
            let sql = scimkit::sql::Translator::new(&view, "r.doc")
                .dialect(scimkit::sql::Dialect::Postgres, 3)
                .filter(&filter.parse().unwrap());
            let mut values: Vec<String> = vec!["lookups".into(), "user".into()];
            values.extend(sql.params.iter().map(|p| match p {
                scimkit::sql::SqlParam::Text(t) => t.clone(),
                other => panic!("the PostgreSQL dialect binds text only, not {other:?}"),
            }));
            let params: Vec<&(dyn scimkit::store::tokio_postgres::types::ToSql + Sync)> = values
                .iter()
                .map(|v| v as &(dyn scimkit::store::tokio_postgres::types::ToSql + Sync))
                .collect();
            let plan: Vec<String> = client
                .query(
                    &format!("EXPLAIN SELECT r.seq FROM scim_resources AS r WHERE r.tenant = $1 AND r.type = $2 AND {}", sql.sql),
                    &params,
                )
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            assert!(
                plan.iter().any(|l| l.contains(index)),
                "{filter}: {plan:#?}"
            );
        }
    }
}

mod roles_and_activity {
    use chrono::{DateTime, Utc};
    use scimkit::events::{Action, Change, Event, EventSink, PostgresEventLog};
    use scimkit::roles::{PostgresRoleStore, RoleRules, RoleStore, Rule};

    fn now() -> DateTime<Utc> {
        DateTime::from(std::time::SystemTime::now())
    }

    #[tokio::test]
    async fn rules_and_roles_are_the_databases() {
        let (Some(a), Some(b)) = (super::pool().await, super::pool().await) else {
            return;
        };
        let (one, two) = (PostgresRoleStore::new(a), PostgresRoleStore::new(b));
        assert!(one.rules("roles-acme").await.unwrap().is_empty());
        let rules = RoleRules::new(vec![
            Rule::group("Admins", "admin"),
            Rule::default_role("viewer"),
        ])
        .unwrap();
        one.set_rules("roles-acme", &rules).await.unwrap();
        assert_eq!(*two.rules("roles-acme").await.unwrap(), rules);
        assert_eq!(
            two.assign("roles-acme", "u1", Some("viewer"))
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            one.assign("roles-acme", "u1", Some("admin")).await.unwrap(),
            Some("viewer".into())
        );
        assert_eq!(
            two.role("roles-acme", "u1").await.unwrap(),
            Some("admin".into())
        );
        assert_eq!(
            two.assign("roles-acme", "u1", None).await.unwrap(),
            Some("admin".into())
        );
        assert_eq!(one.role("roles-acme", "u1").await.unwrap(), None);
        assert_eq!(one.role("roles-other", "u1").await.unwrap(), None);
    }

    #[tokio::test]
    async fn the_activity_log_pages_newest_first_and_keeps_the_newest() {
        let Some(pool) = super::pool().await else {
            return;
        };
        let log = PostgresEventLog::with_capacity(pool, 5);
        for i in 0..8 {
            let mut event = Event::new(now(), Some("log-acme".into()), Action::Created);
            event.id = Some(format!("u{i}"));
            event.changes = vec![Change::Role {
                from: None,
                to: Some("admin".into()),
            }];
            log.record(event).await;
        }
        log.record(Event::new(now(), None, Action::Rejected)).await;
        let page = log.page(Some("log-acme"), None, 3).await.unwrap();
        let ids: Vec<&str> = page
            .entries
            .iter()
            .map(|e| e.event.id.as_deref().unwrap())
            .collect();
        assert_eq!((ids, page.total), (vec!["u7", "u6", "u5"], 5));
        assert_eq!(
            page.entries[0].event.changes,
            vec![Change::Role {
                from: None,
                to: Some("admin".into())
            }]
        );
        let next = log.page(Some("log-acme"), page.next, 3).await.unwrap();
        let ids: Vec<&str> = next
            .entries
            .iter()
            .map(|e| e.event.id.as_deref().unwrap())
            .collect();
        assert_eq!((ids, next.next), (vec!["u4", "u3"], None));
        let refused = log.page(None, None, 10).await.unwrap();
        assert_eq!(refused.entries.len(), 1);
        assert_eq!(refused.entries[0].event.action, Action::Rejected);
    }
}

mod keys {
    use scimkit::auth::{Idp, KeyError, KeyStore, PostgresKeyStore, TenantSettings};

    /// Two key stores on one database — two replicas: what one changes holds on the other
    /// at once.
    #[tokio::test]
    async fn key_changes_hold_on_every_replica_at_once() {
        let (Some(a), Some(b)) = (super::pool().await, super::pool().await) else {
            return;
        };
        let (one, two) = (PostgresKeyStore::new(a), PostgresKeyStore::new(b));
        one.enable("keys-acme", TenantSettings::for_idp(Idp::Okta))
            .await
            .unwrap();
        let first = one.generate("keys-acme").await.unwrap();
        let caller = two
            .verify(first.secret())
            .await
            .expect("valid on the other replica");
        assert_eq!(
            (caller.tenant(), caller.subject()),
            ("keys-acme", Some(first.id()))
        );
        assert_eq!(caller.settings().unwrap().idp, Idp::Okta);
        let second = two.rotate("keys-acme").await.unwrap();
        assert!(one.verify(first.secret()).await.is_none(), "rotated away");
        assert!(one.verify(second.secret()).await.is_some());
        let third = one.generate("keys-acme").await.unwrap();
        assert_eq!(two.keys("keys-acme").await.unwrap().len(), 2);
        two.revoke("keys-acme", third.id()).await.unwrap();
        assert!(one.verify(third.secret()).await.is_none(), "revoked");
        assert!(matches!(
            one.revoke("keys-acme", third.id()).await,
            Err(KeyError::NoSuchKey)
        ));
        // A wrong secret with a real id fails.
        let forged = format!("scim_{}_{}", second.id(), "0".repeat(64));
        assert!(one.verify(&forged).await.is_none());
        two.disable("keys-acme").await.unwrap();
        assert!(
            one.verify(second.secret()).await.is_none(),
            "tenant disabled"
        );
        assert!(matches!(
            one.generate("keys-acme").await,
            Err(KeyError::NotEnabled)
        ));
    }

    #[tokio::test]
    async fn an_applications_own_secret_is_kept_once() {
        let Some(pool) = super::pool().await else {
            return;
        };
        let keys = PostgresKeyStore::new(pool);
        keys.enable("keys-own", TenantSettings::for_idp(Idp::Entra))
            .await
            .unwrap();
        keys.enable("keys-other", TenantSettings::for_idp(Idp::Entra))
            .await
            .unwrap();
        let secret = "a deployment's configured token";
        let first = keys.add("keys-own", secret).await.unwrap();
        assert_eq!(keys.add("keys-own", secret).await.unwrap(), first);
        assert!(matches!(
            keys.add("keys-other", secret).await,
            Err(KeyError::Taken)
        ));
        assert!(matches!(
            keys.add("keys-own", "short").await,
            Err(KeyError::TooShort)
        ));
        assert_eq!(keys.verify(secret).await.unwrap().tenant(), "keys-own");
    }
}

/// Says that tests were skipped where `cargo test` shows it: straight on the standard
/// error, which the test harness does not capture (it captures `eprintln!`).
fn skipped(why: &str) {
    use std::io::Write as _;
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
    });
}
