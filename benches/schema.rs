//! Validating, normalising and projecting a realistic Enterprise User (the RFC 7643 §8.3
//! example, about 2 KB of JSON), as a server does on every create, replace and read.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use scimkit::schema::{Projection, Registry, Write};
use scimkit::Compat;
use serde_json::Value;

fn user() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/rfc7643-enterprise-user.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("test data")).expect("JSON")
}

fn schema(c: &mut Criterion) {
    let registry = Registry::scim_default();
    let users = registry.resource_type("User").expect("built in");
    let input = user();
    let text = serde_json::to_string(&input).expect("JSON");
    let compat = Compat::lenient();
    let stored = users
        .normalize(input.clone(), Write::Create, &compat)
        .expect("valid")
        .resource;
    let mut group = c.benchmark_group("schema/enterprise_user");
    eprintln!("schema/enterprise_user: {} bytes of JSON", text.len());
    group.bench_function("normalize", |b| {
        b.iter_batched(
            || input.clone(),
            |input| {
                users
                    .normalize(input, Write::Create, &compat)
                    .expect("valid")
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("normalize_replace", |b| {
        b.iter_batched(
            || input.clone(),
            |input| {
                users
                    .normalize(input, Write::Replace(&stored), &compat)
                    .expect("valid")
            },
            BatchSize::SmallInput,
        )
    });
    let all = Projection::default();
    group.bench_function("project_default", |b| {
        b.iter_batched(
            || stored.clone(),
            |stored| users.project(stored, &all),
            BatchSize::SmallInput,
        )
    });
    let some =
        Projection::parse(Some("userName,name.givenName,emails.value"), None).expect("valid");
    group.bench_function("project_attributes", |b| {
        b.iter_batched(
            || stored.clone(),
            |stored| users.project(stored, &some),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("normalize_then_project", |b| {
        b.iter_batched(
            || input.clone(),
            |input| {
                let out = users
                    .normalize(input, Write::Create, &compat)
                    .expect("valid");
                users.project(out.resource, &all)
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("parse_normalize_project_serialize", |b| {
        b.iter(|| {
            let input: Value = serde_json::from_str(black_box(&text)).expect("JSON");
            let out = users
                .normalize(input, Write::Create, &compat)
                .expect("valid");
            serde_json::to_vec(&users.project(out.resource, &all)).expect("serialises")
        })
    });
    group.finish();
}

criterion_group!(benches, schema);
criterion_main!(benches);
