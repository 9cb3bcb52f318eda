//! The service in process, no network: GET by id, a `userName eq` lookup, create, PATCH and
//! a page of 100, on stores holding 1,000 and 100,000 users.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use http::Request;
use scimkit::auth::BearerToken;
use scimkit::service::ScimService;
use scimkit::store::MemoryStore;
use serde_json::Value;

const KEY: &str = "bench-key";

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
        .authenticator(BearerToken::new(KEY, "bench"))
        .base_url("https://app.example.com/scim/v2")
        .build();
    let mut middle = String::new();
    rt.block_on(async {
        for i in 0..users {
            let body = format!(
                r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"user-{i:06}@example.com","externalId":"ext-{i}","active":true,"name":{{"givenName":"Given{i}","familyName":"Family{i}"}},"emails":[{{"value":"user-{i:06}@example.com","type":"work","primary":true}}]}}"#
            );
            let response = service.handle(request("POST", "/scim/v2/Users", Some(body))).await;
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

criterion_group!(benches, service);
criterion_main!(benches);
