//! The reference in-memory store passes the public conformance suite, keeps uniqueness
//! under concurrent writers, and answers identity-provider lookups from its indexes.

use std::sync::Arc;

use scimkit::schema::{UniqueValue, Uniqueness};
use scimkit::store::{conformance, MemoryStore, Query, ResourceStore, Scope, StoreError};
use scimkit::{ScimError, ScimType};
use serde_json::json;

#[tokio::test]
async fn passes_the_conformance_suite() {
    conformance::run(&MemoryStore::new(), "memory").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_creates_of_one_user_name_give_one_success() {
    let store = Arc::new(MemoryStore::new());
    let mut tasks = Vec::new();
    for i in 0..100 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let unique = [UniqueValue {
                path: "userName".into(),
                value: json!(if i % 2 == 0 { "BJensen" } else { "bjensen" }),
                case_exact: false,
                scope: Uniqueness::Server,
            }];
            store
                .create(
                    &Scope::new("t", "User"),
                    json!({"id": format!("u{i}"), "userName": "bjensen"}),
                    &unique,
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
            StoreError::Unavailable("disk full at /var/lib/secret".into()),
            503,
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
    let page = store
        .query(&Scope::new("nobody", "User"), &Query::default())
        .await
        .unwrap();
    assert_eq!(
        (page.total_results, page.resources.len(), page.next_cursor),
        (0, 0, None)
    );
}
