//! PATCH on realistic resources: IdP bodies on the RFC 7643 §8.3 enterprise user (2.6 KB)
//! and on groups, and the large-group case (1,000 removals and 1,000 additions on a
//! 100,000-member group).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use scimkit::patch::PatchRequest;
use scimkit::schema::Registry;
use scimkit::Compat;
use serde_json::{json, Value};

fn user() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/rfc7643-enterprise-user.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("test data")).expect("JSON")
}

fn body(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

fn group(members: usize) -> Value {
    let members: Vec<Value> = (0..members)
        .map(|i| json!({"value": format!("user-{i:06}")}))
        .collect();
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g",
           "displayName": "Everyone", "members": members})
}

fn patch(c: &mut Criterion) {
    let registry = Registry::scim_default();
    let users = registry.resource_type("User").expect("built in");
    let groups = registry.resource_type("Group").expect("built in");
    let compat = Compat::lenient();
    let user = user();

    let cases = [
        (
            "replace_active",
            body(json!([{"op": "Replace", "path": "active", "value": "False"}])),
        ),
        (
            "replace_work_email",
            body(
                json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"}]),
            ),
        ),
        (
            "replace_family_name",
            body(json!([{"op": "replace", "path": "name.familyName", "value": "Smith"}])),
        ),
        (
            "okta_no_path_deactivate",
            body(json!([{"op": "replace", "value": {"active": false}}])),
        ),
        (
            "entra_manager",
            body(
                json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "26118915"}]),
            ),
        ),
    ];
    let mut g = c.benchmark_group("patch/user");
    for (name, text) in &cases {
        let request = PatchRequest::from_json(text.clone(), &compat).expect("valid");
        g.bench_function(format!("{name}/apply"), |b| {
            b.iter(|| users.patch(&user, &request, &compat).expect("applies"))
        });
        // A server's way: the resource read from its store is its own to change.
        g.bench_function(format!("{name}/apply_owned"), |b| {
            b.iter_batched(
                || user.clone(),
                |user| users.patch_owned(user, &request, &compat).expect("applies"),
                BatchSize::SmallInput,
            )
        });
        g.bench_function(format!("{name}/parse_and_apply_owned"), |b| {
            b.iter_batched(
                || (text.clone(), user.clone()),
                |(text, user)| {
                    let request = PatchRequest::from_json(text, &compat).expect("valid");
                    users.patch_owned(user, &request, &compat).expect("applies")
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();

    let mut g = c.benchmark_group("patch/group");
    let small = group(100);
    let add = PatchRequest::from_json(
        body(json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "new-member"}]}])),
        &compat,
    )
    .expect("valid");
    g.bench_function("entra_add_member_100", |b| {
        b.iter(|| groups.patch(&small, &add, &compat).expect("applies"))
    });
    let large = group(100_000);
    let mut ops: Vec<Value> = (0..1000)
        .map(|i| json!({"op": "remove", "path": format!("members[value eq \"user-{:06}\"]", i * 100)}))
        .collect();
    ops.extend((0..1000).map(
        |i| json!({"op": "add", "path": "members", "value": [{"value": format!("new-{i}")}]}),
    ));
    let churn = PatchRequest::from_json(body(Value::Array(ops)), &compat).expect("valid");
    g.sample_size(10);
    g.bench_function("churn_1000_of_100000", |b| {
        b.iter(|| groups.patch(&large, &churn, &compat).expect("applies"))
    });
    g.bench_function("churn_1000_of_100000_owned", |b| {
        b.iter_batched(
            || large.clone(),
            |large| groups.patch_owned(large, &churn, &compat).expect("applies"),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("clone_100000_member_group", |b| b.iter(|| large.clone()));
    g.finish();
}

criterion_group!(benches, patch);
criterion_main!(benches);
