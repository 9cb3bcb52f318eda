//! The reference in-memory store passes the public conformance suite, keeps uniqueness
//! under concurrent writers, and answers identity-provider lookups from its indexes.

use std::sync::Arc;

use scimkit::schema::{Registry, UniqueValue};
use scimkit::store::{MemoryStore, Paging, Query, ResourceStore, Scope, StoreError, WriteOptions};
use scimkit::{ScimError, ScimType};
use serde_json::json;

mod conformance {
    use scimkit::store::MemoryStore;

    scimkit::store_conformance_tests!(MemoryStore::new());
}

/// Every rule of the suite, also as the list a store author can run by name; the macro's
/// tests and the list name the same rules.
#[tokio::test]
async fn every_rule_of_the_list_passes() {
    let listed: Vec<&str> = scimkit::store::conformance::RULES
        .iter()
        .map(|(name, _)| *name)
        .collect();
    assert_eq!(listed, conformance::SCIMKIT_CONFORMANCE_RULES);
    let store = MemoryStore::new();
    scimkit::store::conformance::run_all(&store, "listed").await;
}

fn unique(name: &str) -> WriteOptions {
    WriteOptions::new().with_unique(vec![UniqueValue::new("userName", json!(name), false)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_creates_of_one_user_name_give_one_success() {
    let store = Arc::new(MemoryStore::new());
    let mut tasks = Vec::new();
    for i in 0..100 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            store
                .create(
                    &Scope::new("t", "User"),
                    json!({"id": format!("u{i}"), "userName": "bjensen"}),
                    unique(if i % 2 == 0 { "BJensen" } else { "bjensen" }),
                )
                .await
        }));
    }
    let mut created = 0;
    let mut conflicts = 0;
    for task in tasks {
        match task.await.expect("no panic") {
            Ok(_) => created += 1,
            Err(StoreError::Conflict(path)) => {
                assert_eq!(path, "userName");
                conflicts += 1;
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!((created, conflicts), (1, 99));
}

#[tokio::test]
async fn store_errors_become_scim_errors() {
    let cases = [
        (StoreError::NotFound, 404, None),
        (
            StoreError::Conflict("userName".into()),
            409,
            Some(ScimType::Uniqueness),
        ),
        (
            StoreError::PreconditionFailed {
                current: "W/\"2\"".into(),
            },
            412,
            None,
        ),
        (
            StoreError::InvalidCursor,
            400,
            Some(ScimType::InvalidCursor),
        ),
        (
            StoreError::unavailable("disk full at /var/lib/secret"),
            503,
            None,
        ),
        (
            StoreError::internal("bad JSON in row 7 of /var/lib/secret"),
            500,
            None,
        ),
    ];
    for (err, status, scim_type) in cases {
        let scim = ScimError::from(err);
        assert_eq!(
            (scim.status().as_u16(), scim.scim_type()),
            (status, scim_type)
        );
        assert!(
            !scim.detail().contains("/var/lib"),
            "internal detail stays out of responses"
        );
    }
}

#[tokio::test]
async fn an_unsorted_query_of_an_empty_scope_is_an_empty_page() {
    let store = MemoryStore::new();
    let registry = Registry::scim_default();
    let everyone = Query::new(registry.resource_type("User").unwrap());
    let page = store
        .query(&Scope::new("nobody", "User"), &everyone)
        .await
        .unwrap();
    assert_eq!(
        (page.total_results, page.resources.len(), page.next_cursor),
        (0, 0, None)
    );
}

/// The ids of a page by index.
async fn page_ids(
    store: &MemoryStore,
    scope: &Scope<'_>,
    start: usize,
    count: usize,
) -> Vec<String> {
    let registry = Registry::scim_default();
    let query = Query::new(registry.resource_type("User").unwrap()).with_paging(Paging::Index {
        start_index: start,
        count,
    });
    let page = store.query(scope, &query).await.unwrap();
    page.resources
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn index_pages_stay_in_insertion_order_across_deletes() {
    let store = MemoryStore::new();
    let scope = Scope::new("t", "User");
    for i in 0..50 {
        let name = format!("user{i}");
        store
            .create(
                &scope,
                json!({"id": format!("u{i}"), "userName": name}),
                unique(&name),
            )
            .await
            .unwrap();
    }
    for gone in ["u0", "u17", "u18", "u49"] {
        store
            .delete(&scope, gone, WriteOptions::new())
            .await
            .unwrap();
    }
    let expected: Vec<String> = (0..50)
        .filter(|i| ![0, 17, 18, 49].contains(i))
        .map(|i| format!("u{i}"))
        .collect();
    assert_eq!(page_ids(&store, &scope, 1, 100).await, expected);
    assert_eq!(page_ids(&store, &scope, 16, 3).await, ["u16", "u19", "u20"]);
    assert_eq!(page_ids(&store, &scope, 46, 10).await, ["u48"]);
    assert!(page_ids(&store, &scope, 47, 10).await.is_empty());
    assert!(page_ids(&store, &scope, usize::MAX, usize::MAX)
        .await
        .is_empty());
    // A new user goes last, and a deleted id can be created again.
    store
        .create(
            &scope,
            json!({"id": "u0", "userName": "again"}),
            unique("again"),
        )
        .await
        .unwrap();
    assert_eq!(page_ids(&store, &scope, 46, 10).await, ["u48", "u0"]);
    let registry = Registry::scim_default();
    let everyone = Query::new(registry.resource_type("User").unwrap());
    assert_eq!(
        store.query(&scope, &everyone).await.unwrap().total_results,
        47
    );
}

#[tokio::test]
async fn a_replace_moves_the_indexes_only_when_the_indexed_values_change() {
    let store = MemoryStore::new();
    let scope = Scope::new("t", "User");
    let registry = Registry::scim_default();
    let lookup = |filter: &str| {
        Query::new(registry.resource_type("User").unwrap())
            .with_filter(filter.parse().unwrap())
            .unwrap()
    };
    store
        .create(
            &scope,
            json!({"id": "u1", "userName": "ann", "externalId": "e1"}),
            unique("ann"),
        )
        .await
        .unwrap();
    // The same indexed values, another title.
    store
        .replace(
            &scope,
            "u1",
            json!({"id": "u1", "userName": "ann", "externalId": "e1", "title": "Boss"}),
            unique("ann"),
        )
        .await
        .unwrap();
    let found = store
        .query(&scope, &lookup("externalId eq \"e1\""))
        .await
        .unwrap();
    assert_eq!(found.resources[0]["title"], "Boss");
    let found = store
        .query(&scope, &lookup("userName eq \"ANN\""))
        .await
        .unwrap();
    assert_eq!(found.total_results, 1);
    // New userName and externalId: the old ones are free and find nothing.
    store
        .replace(
            &scope,
            "u1",
            json!({"id": "u1", "userName": "bob", "externalId": "e2"}),
            unique("bob"),
        )
        .await
        .unwrap();
    for (filter, total) in [
        ("externalId eq \"e1\"", 0),
        ("externalId eq \"e2\"", 1),
        ("userName eq \"ann\"", 0),
        ("userName eq \"bob\"", 1),
    ] {
        let found = store.query(&scope, &lookup(filter)).await.unwrap();
        assert_eq!(found.total_results, total, "{filter}");
    }
    store
        .create(
            &scope,
            json!({"id": "u2", "userName": "ann"}),
            unique("ann"),
        )
        .await
        .expect("ann is free again");
}
