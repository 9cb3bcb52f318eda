//! The PostgreSQL store at 1,000 and 1,000,000 users: a `userName eq` lookup, the
//! unfiltered page of 100 and a filtered page of 100 (`userName sw`, 1,000 matches),
//! through the store as the service calls it; and Entra's membership PATCH (one member
//! added, one removed) on a 100,000-member group through the service, answered with the
//! group (200) and without it (204).
//!
//! Needs PostgreSQL on `host=127.0.0.1 port=5432 user=postgres dbname=test` (or
//! `SCIMKIT_PG`). The data is loaded once, in SQL, into the schemas `scimkit_bench_*`
//! (rows as the store writes them), and reused by later runs.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use scimkit::auth::{BearerToken, PatchResponse, TenantSettings};
use scimkit::schema::Registry;
use scimkit::service::ScimService;
use scimkit::store::deadpool_postgres::{Manager, Pool};
use scimkit::store::tokio_postgres::{self, NoTls};
use scimkit::store::{Paging, PostgresStore, Query, ResourceStore, Scope};
use scimkit::Filter;

fn settings() -> String {
    std::env::var("SCIMKIT_PG")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into())
}

/// A store on the schema `name`, made and filled by `load` (SQL, after the migrations)
/// when it does not hold a finished load yet.
fn database(rt: &tokio::runtime::Runtime, name: &str, load: &str) -> PostgresStore {
    rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(&settings(), NoTls)
            .await
            .expect("PostgreSQL for the benchmark");
        tokio::spawn(connection);
        let ready = client
            .query_opt(
                "SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'bench_ready'",
                &[&name],
            )
            .await
            .expect("catalog");
        let mut config: tokio_postgres::Config = settings().parse().expect("settings");
        config.options(format!("-c search_path={name}"));
        let pool = Pool::builder(Manager::new(config, NoTls))
            .max_size(4)
            .build()
            .expect("pool");
        if ready.is_none() {
            client
                .batch_execute(&format!(
                    "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name};"
                ))
                .await
                .expect("schema");
            PostgresStore::migrate(&pool).await.expect("migrations");
            client
                .batch_execute(&format!(
                    "SET search_path TO {name}; {load}; ANALYZE; CREATE TABLE bench_ready ();"
                ))
                .await
                .expect("load");
        }
        PostgresStore::new(pool)
    })
}

/// `n` users as the store writes them (their userNames kept unique too).
fn users(n: usize) -> String {
    format!(
        r#"INSERT INTO scim_resources (tenant, type, seq, id, version, doc)
        SELECT 'bench', 'user', i + 1, 'id-' || lpad(i::text, 7, '0'), 1, jsonb_build_object(
            'schemas', jsonb_build_array('urn:ietf:params:scim:schemas:core:2.0:User'),
            'id', 'id-' || lpad(i::text, 7, '0'),
            'userName', 'user-' || lpad(i::text, 7, '0') || '@example.com',
            'externalId', 'ext-' || i, 'active', true,
            'name', jsonb_build_object('givenName', 'Given' || i, 'familyName', 'Family' || i),
            'emails', jsonb_build_array(jsonb_build_object(
                'value', 'user-' || lpad(i::text, 7, '0') || '@example.com', 'type', 'work', 'primary', true)),
            'meta', jsonb_build_object('resourceType', 'User', 'created', '2026-11-23T12:00:00.000Z',
                'lastModified', '2026-11-23T12:00:00.000Z', 'version', 'W/"1"'))
        FROM generate_series(0, {last}) AS i;
        INSERT INTO scim_unique_values (tenant, type, path, key, seq)
        SELECT 'bench', 'user', 'username', 'user-' || lpad(i::text, 7, '0') || '@example.com', i + 1
        FROM generate_series(0, {last}) AS i;
        INSERT INTO scim_scopes (tenant, type, last_seq, n) VALUES ('bench', 'user', {n}, {n})"#,
        last = n - 1
    )
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

fn postgres(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("postgres");
    group.sample_size(30);
    let scope = Scope::new("bench", "User");
    let registry = Registry::scim_default();
    for n in [1_000usize, 1_000_000] {
        let store = database(&rt, &format!("scimkit_bench_users_{n}"), &users(n));
        let lookup = query(
            &registry,
            &format!(r#"userName eq "USER-{:07}@example.com""#, n / 2),
            100,
        );
        group.bench_with_input(BenchmarkId::new("user_name_eq", n), &n, |b, _| {
            b.iter(|| {
                let page = rt.block_on(store.query(&scope, &lookup)).expect("query");
                assert_eq!(page.total_results, 1);
            })
        });
        let all =
            Query::new(registry.resource_type("User").expect("User")).with_paging(Paging::Index {
                start_index: 1,
                count: 100,
            });
        group.bench_with_input(BenchmarkId::new("unfiltered_page_of_100", n), &n, |b, _| {
            b.iter(|| {
                let page = rt.block_on(store.query(&scope, &all)).expect("query");
                assert_eq!(page.total_results, n);
            })
        });
        // 1,000 matches at 1,000,000 users; every user at 1,000.
        let prefix = if n > 1_000 { "user-0001" } else { "user-" };
        let page = query(&registry, &format!(r#"userName sw "{prefix}""#), 100);
        group.bench_with_input(BenchmarkId::new("filtered_page_of_100", n), &n, |b, _| {
            b.iter(|| {
                let page = rt.block_on(store.query(&scope, &page)).expect("query");
                assert_eq!(page.resources.len(), 100);
            })
        });
    }
    group.finish();
}

/// The default settings with PATCH answered as `response` says.
fn tenant(response: PatchResponse) -> TenantSettings {
    let mut settings = TenantSettings::default();
    settings.patch_response = response;
    settings
}

fn member_patch(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let load = r#"INSERT INTO scim_resources (tenant, type, seq, id, version, doc) VALUES ('bench', 'group', 1, 'big', 1,
            '{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "big", "displayName": "Everyone",
              "meta": {"resourceType": "Group", "created": "2026-11-23T12:00:00.000Z",
                       "lastModified": "2026-11-23T12:00:00.000Z", "version": "W/\"1\""}}');
        INSERT INTO scim_members (tenant, type, seq, value, member)
        SELECT 'bench', 'group', 1, 'member-' || lpad(i::text, 6, '0'),
            jsonb_build_object('value', 'member-' || lpad(i::text, 6, '0'), 'type', 'User')
        FROM generate_series(0, 99999) AS i;
        INSERT INTO scim_scopes (tenant, type, last_seq, n) VALUES ('bench', 'group', 1, 1)"#;
    let store = database(&rt, "scimkit_bench_group_100000", load);
    let mut group = c.benchmark_group("postgres_members");
    group.sample_size(20);
    for (name, response) in [
        ("patch_200", PatchResponse::Resource),
        ("patch_204", PatchResponse::NoContent),
    ] {
        let service = ScimService::builder(store.clone())
            .authenticator(BearerToken::for_tenant("k", "bench"))
            .tenant_defaults(tenant(response))
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

criterion_group!(benches, postgres, member_patch);
criterion_main!(benches);
