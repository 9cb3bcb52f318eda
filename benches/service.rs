//! The service in process, no network: GET by id, a `userName eq` lookup, create, PATCH and
//! a page of 100, on stores holding 1,000 and 100,000 users; and a Bulk request of 1,000
//! user creates, beside the same creates as 1,000 requests and with the activity log on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use http::Request;
use scimkit::auth::BearerToken;
use scimkit::events::MemoryEventLog;
use scimkit::service::ScimService;
use scimkit::store::MemoryStore;
use serde_json::Value;

const KEY: &str = "bench-key";

fn user_body(i: usize) -> String {
    format!(
        r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"user-{i:06}@example.com","externalId":"ext-{i}","active":true,"name":{{"givenName":"Given{i}","familyName":"Family{i}"}},"emails":[{{"value":"user-{i:06}@example.com","type":"work","primary":true}}]}}"#
    )
}

fn request(method: &str, uri: &str, body: Option<String>) -> Request<Bytes> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("Authorization", format!("Bearer {KEY}"))
        .header("Content-Type", "application/scim+json")
        .body(body.map(Bytes::from).unwrap_or_default())
        .expect("a request")
}

fn populated(rt: &tokio::runtime::Runtime, users: usize) -> (ScimService, String) {
    let service = ScimService::builder(MemoryStore::new())
        .authenticator(BearerToken::for_tenant(KEY, "bench"))
        .base_url("https://app.example.com/scim/v2")
        .build()
        .expect("a service");
    let mut middle = String::new();
    rt.block_on(async {
        for i in 0..users {
            let body = user_body(i);
            let response = service
                .handle(request("POST", "/scim/v2/Users", Some(body)))
                .await;
            assert_eq!(response.status(), 201);
            if i == users / 2 {
                let created: Value = serde_json::from_slice(response.body()).expect("JSON");
                middle = created["id"].as_str().expect("id").to_owned();
            }
        }
    });
    (service, middle)
}

fn service(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("service");
    for users in [1_000usize, 100_000] {
        let (service, id) = populated(&rt, users);
        let lookup = format!(
            "/scim/v2/Users?filter=userName%20eq%20%22user-{:06}%40example.com%22",
            users / 2
        );
        group.bench_with_input(BenchmarkId::new("get_by_id", users), &users, |b, _| {
            b.iter(|| {
                rt.block_on(service.handle(request("GET", &format!("/scim/v2/Users/{id}"), None)))
            })
        });
        group.bench_with_input(
            BenchmarkId::new("filter_user_name", users),
            &users,
            |b, _| b.iter(|| rt.block_on(service.handle(request("GET", &lookup, None)))),
        );
        group.bench_with_input(BenchmarkId::new("page_of_100", users), &users, |b, _| {
            b.iter(|| {
                rt.block_on(service.handle(request(
                    "GET",
                    "/scim/v2/Users?startIndex=101&count=100",
                    None,
                )))
            })
        });
        // The same page rendered afresh: what a page costs from a store that keeps no
        // renderings, or right after its resources changed.
        group.bench_with_input(
            BenchmarkId::new("page_of_100_not_rendered", users),
            &users,
            |b, _| {
                b.iter(|| {
                    rt.block_on(service.handle(request(
                        "GET",
                        "/scim/v2/Users?startIndex=101&count=100&excludedAttributes=x509Certificates",
                        None,
                    )))
                })
            },
        );
        let flip = AtomicU64::new(0);
        group.bench_with_input(BenchmarkId::new("patch_active", users), &users, |b, _| {
            b.iter(|| {
                let active = flip.fetch_add(1, Ordering::Relaxed) % 2 == 0;
                let body = format!(
                    r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"Replace","path":"active","value":{active}}}]}}"#
                );
                rt.block_on(service.handle(request("PATCH", &format!("/scim/v2/Users/{id}"), Some(body))))
            })
        });
        let next = AtomicU64::new(0);
        group.bench_with_input(BenchmarkId::new("create", users), &users, |b, _| {
            b.iter(|| {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let body = format!(
                    r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"new-{n}@example.com","active":true}}"#
                );
                rt.block_on(service.handle(request("POST", "/scim/v2/Users", Some(body))))
            })
        });
    }
    group.finish();
}

/// A fresh service over an empty store, with or without an activity log.
fn empty(logged: bool) -> ScimService {
    let builder = ScimService::builder(MemoryStore::new())
        .authenticator(BearerToken::for_tenant(KEY, "bench"))
        .base_url("https://app.example.com/scim/v2");
    match logged {
        true => builder.events(Arc::new(MemoryEventLog::new())).build(),
        false => builder.build(),
    }
    .expect("a service")
}

fn bulk(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let ops: Vec<String> = (0..1000)
        .map(|i| {
            format!(
                r#"{{"method":"POST","path":"/Users","bulkId":"u{i}","data":{}}}"#,
                user_body(i)
            )
        })
        .collect();
    let body = format!(
        r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[{}]}}"#,
        ops.join(",")
    );
    let mut group = c.benchmark_group("bulk");
    group.sample_size(20);
    for (name, logged) in [
        ("bulk_1000_creates", false),
        ("bulk_1000_creates_logged", true),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || empty(logged),
                |service| {
                    let response = rt.block_on(service.handle(request(
                        "POST",
                        "/scim/v2/Bulk",
                        Some(body.clone()),
                    )));
                    assert_eq!(response.status(), 200);
                    service
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.bench_function("posts_1000_creates", |b| {
        b.iter_batched(
            || empty(false),
            |service| {
                rt.block_on(async {
                    for i in 0..1000 {
                        let response = service
                            .handle(request("POST", "/scim/v2/Users", Some(user_body(i))))
                            .await;
                        assert_eq!(response.status(), 201);
                    }
                });
                service
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, service, bulk);
criterion_main!(benches);
