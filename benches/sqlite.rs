//! The SQLite store at 1,000 and 1,000,000 users: a `userName eq` lookup and a filtered
//! page of 100 (`userName sw`, 1,000 matches), through the store as the service calls it;
//! and Entra's membership PATCH (one member added, one removed) on a 100,000-member group
//! through the service, answered with the group (200) and without it (204).
//!
//! The databases are built once into `target/scimkit-bench/` (the large one takes a few
//! minutes) and reused by later runs.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use scimkit::auth::{BearerToken, PatchResponse, TenantSettings};
use scimkit::schema::Registry;
use scimkit::service::ScimService;
use scimkit::store::{Paging, Query, ResourceStore, Scope, SqliteStore, WriteOptions};
use scimkit::Filter;
use serde_json::json;

fn database(rt: &tokio::runtime::Runtime, users: usize) -> SqliteStore {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/scimkit-bench");
    std::fs::create_dir_all(&dir).expect("bench directory");
    let path = dir.join(format!("users-{users}.db"));
    let ready = dir.join(format!("users-{users}.ready"));
    if !ready.exists() {
        let _ = std::fs::remove_file(&path);
        let store = SqliteStore::open(&path).expect("open");
        let scope = Scope::new("bench", "User");
        rt.block_on(async {
            for i in 0..users {
                let user = json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "id": format!("id-{i:07}"), "userName": format!("user-{i:07}@example.com"),
                    "externalId": format!("ext-{i}"), "active": true,
                    "name": {"givenName": format!("Given{i}"), "familyName": format!("Family{i}")},
                    "emails": [{"value": format!("user-{i:07}@example.com"), "type": "work", "primary": true}],
                    "meta": {"resourceType": "User", "created": "2026-11-23T12:00:00.000Z", "lastModified": "2026-11-23T12:00:00.000Z"}
                });
                store.create(&scope, user, WriteOptions::new()).await.expect("create");
            }
        });
        std::fs::write(&ready, "").expect("marker");
    }
    SqliteStore::open(&path).expect("open")
}

fn query<'r>(registry: &'r Registry, filter: &str, count: usize) -> Query<'r> {
    let users = registry.resource_type("User").expect("User");
    let filter: Filter = filter.parse().expect("filter");
    Query::new(users)
        .with_filter(filter)
        .expect("compiles")
        .with_paging(Paging::Index {
            start_index: 1,
            count,
        })
}

fn sqlite(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("sqlite");
    group.sample_size(30);
    let scope = Scope::new("bench", "User");
    let registry = Registry::scim_default();
    for users in [1_000usize, 1_000_000] {
        let store = database(&rt, users);
        let lookup = query(
            &registry,
            &format!(r#"userName eq "USER-{:07}@example.com""#, users / 2),
            100,
        );
        group.bench_with_input(BenchmarkId::new("user_name_eq", users), &users, |b, _| {
            b.iter(|| {
                let page = rt.block_on(store.query(&scope, &lookup)).expect("query");
                assert_eq!(page.total_results, 1);
            })
        });
        // No filter: `totalResults` is every user of the scope.
        let all =
            Query::new(registry.resource_type("User").expect("User")).with_paging(Paging::Index {
                start_index: 1,
                count: 100,
            });
        group.bench_with_input(
            BenchmarkId::new("unfiltered_page_of_100", users),
            &users,
            |b, _| {
                b.iter(|| {
                    let page = rt.block_on(store.query(&scope, &all)).expect("query");
                    assert_eq!(page.total_results, users);
                })
            },
        );
        // 1,000 matches at 1,000,000 users; every user at 1,000.
        let prefix = if users > 1_000 { "user-0001" } else { "user-" };
        let page = query(&registry, &format!(r#"userName sw "{prefix}""#), 100);
        group.bench_with_input(
            BenchmarkId::new("filtered_page_of_100", users),
            &users,
            |b, _| {
                b.iter(|| {
                    let page = rt.block_on(store.query(&scope, &page)).expect("query");
                    assert_eq!(page.resources.len(), 100);
                })
            },
        );
    }
    group.finish();
}

/// A database holding one group of 100,000 members, built once.
fn big_group() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/scimkit-bench");
    std::fs::create_dir_all(&dir).expect("bench directory");
    let path = dir.join("group-100000.db");
    let ready = dir.join("group-100000.ready");
    if !ready.exists() {
        let _ = std::fs::remove_file(&path);
        let store = SqliteStore::open(&path).expect("open");
        let members: Vec<_> = (0..100_000)
            .map(|i| json!({"value": format!("member-{i:06}"), "type": "User"}))
            .collect();
        let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": "big", "displayName": "Everyone", "members": members,
            "meta": {"resourceType": "Group", "created": "2026-11-23T12:00:00.000Z", "lastModified": "2026-11-23T12:00:00.000Z"}});
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(store.create(&Scope::new("bench", "Group"), group, WriteOptions::new()))
            .expect("create");
        std::fs::write(&ready, "").expect("marker");
    }
    path
}

/// The default settings with PATCH answered as `response` says.
fn settings(response: PatchResponse) -> TenantSettings {
    let mut settings = TenantSettings::default();
    settings.patch_response = response;
    settings
}

fn member_patch(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let path = big_group();
    let mut group = c.benchmark_group("sqlite_members");
    group.sample_size(20);
    for (name, response) in [
        ("patch_200", PatchResponse::Resource),
        ("patch_204", PatchResponse::NoContent),
    ] {
        let service = ScimService::builder(SqliteStore::open(&path).expect("open"))
            .authenticator(BearerToken::for_tenant("k", "bench"))
            .tenant_defaults(settings(response))
            .build()
            .expect("a service");
        let n = AtomicU64::new(0);
        group.bench_function(BenchmarkId::new(name, 100_000), |b| {
            b.iter(|| {
                let i = n.fetch_add(1, Ordering::Relaxed);
                let body = format!(
                    r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
                    {{"op":"Add","path":"members","value":[{{"value":"new-{i}"}}]}},
                    {{"op":"Remove","path":"members","value":[{{"value":"new-{}"}}]}}]}}"#,
                    i.wrapping_sub(1)
                );
                let request = http::Request::patch("/scim/v2/Groups/big")
                    .header("Authorization", "Bearer k")
                    .body(Bytes::from(body))
                    .expect("request");
                let response = rt.block_on(service.handle(request));
                assert!(response.status().is_success(), "{:?}", response.status());
            })
        });
    }
    group.finish();
}

criterion_group!(benches, sqlite, member_patch);
criterion_main!(benches);
