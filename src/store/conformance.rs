//! A conformance suite for [`ResourceStore`] implementations (feature `conformance`, for a
//! store author's dev-dependencies): one test per rule.
//!
//! [`store_conformance_tests!`](crate::store_conformance_tests) writes a `#[tokio::test]`
//! for each rule, each on a store of its own making (the crate needs `tokio` with the
//! `macros` and `rt` features among its dev-dependencies):
//!
//! ```no_run
//! // In tests/conformance.rs of the crate that defines `MyStore`.
//! # use scimkit::store::MemoryStore as MyStore;
//! scimkit::store_conformance_tests!(MyStore::new());
//! ```
//!
//! Each rule is also a function of its own, run on a store and a tenant name
//! (`tenant_prefix` for the rules that use two tenants); [`RULES`] lists them by name.
//! Every rule works in tenants whose names start with the one it is given, so a store
//! shared with other tests is not disturbed (with a persistent store, use fresh names
//! or a fresh database per run).

use std::future::Future;
use std::pin::Pin;

use serde_json::{json, Value};

use super::{Document, Paging, Query, ResourceStore, Scope, SortOrder, StoreError, WriteOptions};
use crate::filter::Filter;
use crate::patch::{MemberChanges, MemberOp};
use crate::schema::{Registry, UniqueValue};

/// A rule's check: a store and the tenant name it works in.
pub type Check =
    for<'a> fn(&'a dyn ResourceStore, &'a str) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Every rule: its name (the function's) and its check.
pub const RULES: &[(&str, Check)] = &[
    ("create_and_get", |s, t| Box::pin(create_and_get(s, t))),
    ("writes_return_what_reads_return", |s, t| {
        Box::pin(writes_return_what_reads_return(s, t))
    }),
    ("uniqueness", |s, t| Box::pin(uniqueness(s, t))),
    ("uniqueness_is_per_tenant", |s, t| {
        Box::pin(uniqueness_is_per_tenant(s, t))
    }),
    ("tenants_are_isolated", |s, t| {
        Box::pin(tenants_are_isolated(s, t))
    }),
    ("versions_guard_writes", |s, t| {
        Box::pin(versions_guard_writes(s, t))
    }),
    ("filters_and_totals", |s, t| {
        Box::pin(filters_and_totals(s, t))
    }),
    ("index_paging", |s, t| Box::pin(index_paging(s, t))),
    ("cursor_paging", |s, t| Box::pin(cursor_paging(s, t))),
    ("cursors_survive_writes", |s, t| {
        Box::pin(cursors_survive_writes(s, t))
    }),
    ("sorting", |s, t| Box::pin(sorting(s, t))),
    ("sorted_cursor_paging", |s, t| {
        Box::pin(sorted_cursor_paging(s, t))
    }),
    ("member_changes", |s, t| Box::pin(member_changes(s, t))),
];

/// Runs every rule in turn, each in tenants named `{tenant_prefix}-{rule}`.
pub async fn run_all(store: &dyn ResourceStore, tenant_prefix: &str) {
    for (name, check) in RULES {
        check(store, &format!("{tenant_prefix}-{name}")).await;
    }
}

/// One `#[tokio::test]` per rule of the [conformance suite](crate::store::conformance),
/// each on the store `$store` makes (an expression evaluated in each test; it may
/// `.await`). An optional second argument names the tenants' prefix (default
/// `"conformance"`).
///
/// ```no_run
/// # use scimkit::store::MemoryStore;
/// mod memory_store {
///     # use super::*;
///     scimkit::store_conformance_tests!(MemoryStore::new());
/// }
/// ```
#[macro_export]
#[cfg_attr(docsrs, doc(cfg(feature = "conformance")))]
macro_rules! store_conformance_tests {
    ($store:expr) => {
        $crate::store_conformance_tests!($store, "conformance");
    };
    ($store:expr, $prefix:expr) => {
        $crate::store_conformance_tests!(@rules $store, $prefix;
            create_and_get, writes_return_what_reads_return, uniqueness,
            uniqueness_is_per_tenant, tenants_are_isolated, versions_guard_writes,
            filters_and_totals, index_paging, cursor_paging, cursors_survive_writes,
            sorting, sorted_cursor_paging, member_changes);
    };
    (@rules $store:expr, $prefix:expr; $($rule:ident),*) => {
        /// The rules this module tests, by name: a test of this crate holds them equal to
        /// `RULES`, so that neither list can lose one.
        #[doc(hidden)]
        #[allow(dead_code)]
        pub const SCIMKIT_CONFORMANCE_RULES: &[&str] = &[$(::std::stringify!($rule)),*];
        $(
            #[::tokio::test]
            async fn $rule() {
                let store = $store;
                let tenant = ::std::format!("{}-{}", $prefix, ::std::stringify!($rule));
                $crate::store::conformance::$rule(&store, &tenant).await;
            }
        )*
    };
}

fn user_name(value: &str) -> UniqueValue {
    UniqueValue::new("userName", Value::String(value.into()), false)
}

fn unique(names: &[&str]) -> WriteOptions {
    WriteOptions::new().with_unique(names.iter().map(|n| user_name(n)).collect())
}

fn user(id: &str, name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": id, "userName": name,
        "meta": {"resourceType": "User", "created": "2026-01-01T00:00:00.000Z",
                 "lastModified": "2026-01-01T00:00:00.000Z"}
    })
}

fn version(resource: &Value) -> String {
    resource["meta"]["version"]
        .as_str()
        .expect("the store sets meta.version")
        .to_owned()
}

fn ids(resources: &[Document]) -> Vec<String> {
    resources
        .iter()
        .map(|r| r["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// The query of every user, with `filter`, in `registry`.
fn users<'r>(registry: &'r Registry, filter: Option<&str>) -> Query<'r> {
    let query = Query::new(registry.resource_type("User").expect("User"));
    match filter {
        Some(text) => query
            .with_filter(text.parse::<Filter>().expect("a filter"))
            .expect("compiles"),
        None => query,
    }
}

/// Creates `names` in order as users `id-0`, `id-1`, … with `externalId`s `ext-0`, … and
/// `active` on the even ones.
async fn five_users(store: &dyn ResourceStore, scope: &Scope<'_>, names: &[&str]) {
    for (i, name) in names.iter().enumerate() {
        let mut resource = user(&format!("id-{i}"), name);
        resource["externalId"] = json!(format!("ext-{i}"));
        resource["active"] = json!(i % 2 == 0);
        store
            .create(scope, resource, unique(&[name]))
            .await
            .expect("create");
    }
}

/// Every resource of a query, a cursor page of `count` at a time, in the order visited.
async fn walk(
    store: &dyn ResourceStore,
    scope: &Scope<'_>,
    query: &Query<'_>,
    count: usize,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut query = query.clone();
    let mut cursor = None;
    loop {
        query.set_paging(Paging::Cursor { cursor, count });
        let page = store.query(scope, &query).await.expect("a cursor page");
        assert!(page.resources.len() <= count, "a page holds at most count");
        seen.extend(ids(&page.resources));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return seen,
        }
        assert!(seen.len() <= page.total_results, "cursor paging ends");
    }
}

/// A created resource is found by its id, with a version; an unknown id is `NotFound`;
/// an id is created once; resource types are separate; a deleted resource is gone.
pub async fn create_and_get(store: &dyn ResourceStore, tenant: &str) {
    let scope = Scope::new(tenant, "User");
    let created = store
        .create(&scope, user("u1", "bjensen"), unique(&["bjensen"]))
        .await
        .expect("create succeeds");
    assert_eq!(
        created["userName"], "bjensen",
        "create returns the resource"
    );
    let v1 = version(&created);
    let got = store
        .get(&scope, "u1")
        .await
        .expect("get finds the resource");
    assert_eq!(got, created, "get returns what create stored");
    assert!(
        matches!(store.get(&scope, "nope").await, Err(StoreError::NotFound)),
        "get of an unknown id is NotFound"
    );
    assert!(
        matches!(
            store.get(&Scope::new(tenant, "Group"), "u1").await,
            Err(StoreError::NotFound)
        ),
        "resource types are separate"
    );
    let again = store
        .create(&scope, user("u1", "other"), WriteOptions::new())
        .await;
    assert!(
        matches!(&again, Err(StoreError::Conflict(path)) if path == "id"),
        "an id is stored once: {again:?}"
    );
    let replaced = store
        .replace(
            &scope,
            "u1",
            user("u1", "babs"),
            unique(&["babs"]).with_if_match(&v1),
        )
        .await
        .expect("replace with the current version succeeds");
    assert_ne!(version(&replaced), v1, "a write changes the version");
    assert_eq!(
        store.get(&scope, "u1").await.expect("found")["userName"],
        "babs"
    );
    store
        .delete(&scope, "u1", WriteOptions::new())
        .await
        .expect("delete succeeds");
    assert!(
        matches!(store.get(&scope, "u1").await, Err(StoreError::NotFound)),
        "deleted"
    );
    assert!(
        matches!(
            store.delete(&scope, "u1", WriteOptions::new()).await,
            Err(StoreError::NotFound)
        ),
        "deleting twice is NotFound"
    );
    assert!(
        matches!(
            store
                .replace(&scope, "u1", user("u1", "x"), WriteOptions::new())
                .await,
            Err(StoreError::NotFound)
        ),
        "replacing a deleted resource is NotFound"
    );
}

/// What a write returns is what reads return until the next write: the same document,
/// version included; a document handed out earlier still shows the resource as it was
/// then; queries return the current documents.
pub async fn writes_return_what_reads_return(store: &dyn ResourceStore, tenant: &str) {
    let scope = Scope::new(tenant, "User");
    let registry = Registry::scim_default();
    let created = store
        .create(&scope, user("w", "wendy"), unique(&["wendy"]))
        .await
        .expect("create");
    let read = store.get(&scope, "w").await.expect("get");
    assert_eq!(read, created, "a read after a create");
    let mut changed = user("w", "wendy");
    changed["title"] = json!("Boss");
    let replaced = store
        .replace(&scope, "w", changed, unique(&["wendy"]))
        .await
        .expect("replace");
    assert_eq!(
        replaced["title"], "Boss",
        "replace returns the new resource"
    );
    assert_eq!(
        store.get(&scope, "w").await.expect("get"),
        replaced,
        "a read after a replace"
    );
    assert!(
        read.get("title").is_none(),
        "an earlier document is unchanged"
    );
    let page = store
        .query(&scope, &users(&registry, None))
        .await
        .expect("query");
    assert_eq!(
        page.resources,
        vec![replaced.clone()],
        "a query after a replace"
    );
    let lookup = store
        .query(&scope, &users(&registry, Some(r#"userName eq "WENDY""#)))
        .await
        .expect("lookup");
    assert_eq!(lookup.resources, vec![replaced], "a lookup after a replace");
}

/// Unique values conflict without case when not case-exact and with case when
/// case-exact, name the attribute that conflicts, are freed by replace and delete, and
/// stay with the resource that holds them.
pub async fn uniqueness(store: &dyn ResourceStore, tenant: &str) {
    let scope = Scope::new(tenant, "User");
    store
        .create(&scope, user("a", "BJensen"), unique(&["BJensen"]))
        .await
        .expect("first create");
    let clash = store
        .create(&scope, user("b", "bjensen"), unique(&["bjensen"]))
        .await;
    assert!(
        matches!(&clash, Err(StoreError::Conflict(path)) if path == "userName"),
        "userName is unique without case: {clash:?}"
    );
    assert!(
        matches!(store.get(&scope, "b").await, Err(StoreError::NotFound)),
        "a refused create stores nothing"
    );
    let exact = UniqueValue::new("badge", json!("AB"), true);
    let lower = UniqueValue::new("badge", json!("ab"), true);
    store
        .create(
            &scope,
            user("c", "c"),
            WriteOptions::new().with_unique(vec![exact]),
        )
        .await
        .expect("a case-exact value");
    store
        .create(
            &scope,
            user("d", "d"),
            WriteOptions::new().with_unique(vec![lower]),
        )
        .await
        .expect("a case-exact value differing in case is another value");
    store
        .replace(&scope, "a", user("a", "BJENSEN"), unique(&["BJENSEN"]))
        .await
        .expect("a resource keeps its own unique value");
    assert!(
        matches!(
            store
                .replace(&scope, "c", user("c", "bjensen"), unique(&["bjensen"]))
                .await,
            Err(StoreError::Conflict(_))
        ),
        "replace cannot take another resource's value"
    );
    assert_eq!(
        store.get(&scope, "c").await.expect("found")["userName"],
        "c",
        "a refused replace changes nothing"
    );
    store
        .replace(&scope, "a", user("a", "barbara"), unique(&["barbara"]))
        .await
        .expect("rename");
    store
        .create(&scope, user("b", "bjensen"), unique(&["bjensen"]))
        .await
        .expect("a value freed by replace can be taken");
    store
        .delete(&scope, "a", WriteOptions::new())
        .await
        .expect("delete");
    store
        .create(&scope, user("e", "Barbara"), unique(&["Barbara"]))
        .await
        .expect("a value freed by delete can be taken");
}

/// Uniqueness, `server` or `global`, holds within a tenant and a resource type: the same
/// value may be held in another tenant, and by a resource of another type.
pub async fn uniqueness_is_per_tenant(store: &dyn ResourceStore, tenant: &str) {
    let one = format!("{tenant}-1");
    let two = format!("{tenant}-2");
    let email = || {
        WriteOptions::new().with_unique(vec![UniqueValue::new(
            "emails",
            json!("bjensen@example.com"),
            false,
        )])
    };
    store
        .create(&Scope::new(&one, "User"), user("a", "a"), email())
        .await
        .expect("tenant 1");
    store
        .create(&Scope::new(&two, "User"), user("a", "a"), email())
        .await
        .expect("the same value in another tenant");
    store
        .create(&Scope::new(&one, "Group"), user("g", "g"), email())
        .await
        .expect("the same value in another resource type");
    assert!(
        matches!(
            store
                .create(&Scope::new(&one, "User"), user("b", "b"), email())
                .await,
            Err(StoreError::Conflict(_))
        ),
        "the same value twice in one tenant"
    );
}

/// The same ids and unique values live side by side in two tenants, and neither sees,
/// changes or deletes the other's resources.
pub async fn tenants_are_isolated(store: &dyn ResourceStore, tenant_prefix: &str) {
    let registry = Registry::scim_default();
    let one = format!("{tenant_prefix}-1");
    let two = format!("{tenant_prefix}-2");
    let (a, b) = (Scope::new(&one, "User"), Scope::new(&two, "User"));
    store
        .create(&a, user("same-id", "same-name"), unique(&["same-name"]))
        .await
        .expect("tenant 1");
    store
        .create(&b, user("same-id", "same-name"), unique(&["same-name"]))
        .await
        .expect("tenant 2");
    store
        .create(&a, user("only-in-1", "x"), unique(&["x"]))
        .await
        .expect("tenant 1");
    assert!(
        matches!(store.get(&b, "only-in-1").await, Err(StoreError::NotFound)),
        "get crosses no tenant"
    );
    assert!(
        matches!(
            store.delete(&b, "only-in-1", WriteOptions::new()).await,
            Err(StoreError::NotFound)
        ),
        "delete crosses no tenant"
    );
    assert!(
        matches!(
            store
                .replace(&b, "only-in-1", user("only-in-1", "y"), WriteOptions::new())
                .await,
            Err(StoreError::NotFound)
        ),
        "replace crosses no tenant"
    );
    let page = store
        .query(&b, &users(&registry, None))
        .await
        .expect("query");
    assert_eq!(page.total_results, 1, "query crosses no tenant");
    let page = store
        .query(&b, &users(&registry, Some(r#"userName eq "x""#)))
        .await
        .expect("query");
    assert_eq!(page.total_results, 0, "an indexed lookup crosses no tenant");
}

/// `if_match` must match for replace and delete; a refused write changes nothing and
/// names the current version.
pub async fn versions_guard_writes(store: &dyn ResourceStore, tenant: &str) {
    let scope = Scope::new(tenant, "User");
    let created = store
        .create(&scope, user("u", "u"), WriteOptions::new())
        .await
        .expect("create");
    let v1 = version(&created);
    let v2 = version(
        &store
            .replace(
                &scope,
                "u",
                user("u", "u2"),
                WriteOptions::new().with_if_match(&v1),
            )
            .await
            .expect("current version"),
    );
    let stale = store
        .replace(
            &scope,
            "u",
            user("u", "u3"),
            WriteOptions::new().with_if_match(&v1),
        )
        .await;
    assert!(
        matches!(&stale, Err(StoreError::PreconditionFailed { current }) if *current == v2),
        "a stale version fails and names the current one: {stale:?}"
    );
    assert_eq!(
        store.get(&scope, "u").await.expect("found")["userName"],
        "u2",
        "a failed write changes nothing"
    );
    assert!(
        matches!(
            store
                .delete(&scope, "u", WriteOptions::new().with_if_match(&v1))
                .await,
            Err(StoreError::PreconditionFailed { .. })
        ),
        "delete checks the version"
    );
    store
        .delete(&scope, "u", WriteOptions::new().with_if_match(&v2))
        .await
        .expect("delete with the current version");
}

/// Filters select what the evaluator matches, lookups by `id`, `userName` and
/// `externalId` included, with `totalResults` counting every match.
pub async fn filters_and_totals(store: &dyn ResourceStore, tenant: &str) {
    let scope = Scope::new(tenant, "User");
    let registry = Registry::scim_default();
    five_users(store, &scope, &["carol", "alice", "Bob", "dave", "erin"]).await;
    let all = store
        .query(&scope, &users(&registry, None))
        .await
        .expect("query");
    assert_eq!(all.total_results, 5);
    assert_eq!(
        ids(&all.resources),
        ["id-0", "id-1", "id-2", "id-3", "id-4"],
        "unsorted results come in insertion order"
    );
    for (filter, expected) in [
        (r#"userName eq "BOB""#, vec!["id-2"]),
        (r#"externalId eq "ext-3""#, vec!["id-3"]),
        (r#"externalId eq "EXT-3""#, vec![]),
        (r#"id eq "id-4""#, vec!["id-4"]),
        (r#"userName co "a""#, vec!["id-0", "id-1", "id-3"]),
        ("active eq true", vec!["id-0", "id-2", "id-4"]),
        (r#"userName eq "nobody""#, vec![]),
        (r#"not (userName sw "a") and active eq false"#, vec!["id-3"]),
    ] {
        let page = store
            .query(&scope, &users(&registry, Some(filter)))
            .await
            .expect("query");
        assert_eq!(ids(&page.resources), expected, "{filter}");
        assert_eq!(page.total_results, expected.len(), "{filter}: totalResults");
    }
}

/// Index paging: from a 1-based index, at most `count`, a short last page, nothing past
/// the end, only the total for `count` 0.
pub async fn index_paging(store: &dyn ResourceStore, tenant: &str) {
    let scope = Scope::new(tenant, "User");
    let registry = Registry::scim_default();
    five_users(store, &scope, &["carol", "alice", "Bob", "dave", "erin"]).await;
    let page = |start_index, count| {
        users(&registry, None).with_paging(Paging::Index { start_index, count })
    };
    let p = store.query(&scope, &page(2, 2)).await.expect("query");
    assert_eq!(
        (ids(&p.resources), p.total_results),
        (vec!["id-1".into(), "id-2".into()], 5),
        "index paging"
    );
    let p = store.query(&scope, &page(5, 10)).await.expect("query");
    assert_eq!(ids(&p.resources), ["id-4"], "the last page is short");
    let p = store.query(&scope, &page(9, 10)).await.expect("query");
    assert!(
        p.resources.is_empty() && p.total_results == 5,
        "past the end: no resources, the total"
    );
    let p = store.query(&scope, &page(1, 0)).await.expect("query");
    assert!(
        p.resources.is_empty() && p.total_results == 5,
        "count 0: only the total"
    );
    let filtered = users(&registry, Some("active eq true")).with_paging(Paging::Index {
        start_index: 2,
        count: 1,
    });
    let p = store.query(&scope, &filtered).await.expect("query");
    assert_eq!(
        (ids(&p.resources), p.total_results),
        (vec!["id-2".into()], 3),
        "a filtered page counts every match"
    );
}

/// Cursor paging (RFC 9865) visits every resource once; a cursor the store did not give
/// out is `InvalidCursor`, also where there is nothing to page through.
pub async fn cursor_paging(store: &dyn ResourceStore, tenant: &str) {
    let scope = Scope::new(tenant, "User");
    let registry = Registry::scim_default();
    five_users(store, &scope, &["carol", "alice", "Bob", "dave", "erin"]).await;
    for count in [1, 2, 5, 10] {
        assert_eq!(
            walk(store, &scope, &users(&registry, None), count).await,
            ["id-0", "id-1", "id-2", "id-3", "id-4"],
            "cursor pages of {count}"
        );
    }
    assert_eq!(
        walk(
            store,
            &scope,
            &users(&registry, Some(r#"userName co "a""#)),
            2
        )
        .await,
        ["id-0", "id-1", "id-3"],
        "cursor pages of a filter"
    );
    let bad = users(&registry, None).with_paging(Paging::Cursor {
        cursor: Some("not-a-cursor".into()),
        count: 2,
    });
    assert!(
        matches!(
            store.query(&scope, &bad).await,
            Err(StoreError::InvalidCursor)
        ),
        "an unknown cursor"
    );
    let empty = Scope::new(tenant, "Nothing");
    assert!(
        matches!(
            store.query(&empty, &bad).await,
            Err(StoreError::InvalidCursor)
        ),
        "an unknown cursor, where there is nothing to page through"
    );
}

/// A cursor of unsorted results survives writes between pages: every resource that
/// exists from the first page to the last is visited exactly once, whatever was created
/// or deleted meanwhile — the resource the cursor names included.
pub async fn cursors_survive_writes(store: &dyn ResourceStore, tenant: &str) {
    let scope = Scope::new(tenant, "User");
    let registry = Registry::scim_default();
    five_users(store, &scope, &["carol", "alice", "Bob", "dave", "erin"]).await;
    let query = users(&registry, None).with_paging(Paging::Cursor {
        cursor: None,
        count: 2,
    });
    let first = store.query(&scope, &query).await.expect("first page");
    let mut seen = ids(&first.resources);
    assert_eq!(seen, ["id-0", "id-1"]);
    // The resource the cursor names (the last of the first page) and one not yet seen
    // go; two arrive.
    for id in ["id-1", "id-3"] {
        store
            .delete(&scope, id, WriteOptions::new())
            .await
            .expect("delete");
    }
    for (id, name) in [("id-5", "frank"), ("id-6", "grace")] {
        store
            .create(&scope, user(id, name), unique(&[name]))
            .await
            .expect("create");
    }
    let mut cursor = first.next_cursor;
    while let Some(c) = cursor {
        let mut next = query.clone();
        next.set_paging(Paging::Cursor {
            cursor: Some(c),
            count: 2,
        });
        let page = store.query(&scope, &next).await.expect("a later page");
        seen.extend(ids(&page.resources));
        cursor = page.next_cursor;
        assert!(seen.len() <= 10, "cursor paging ends");
    }
    for id in ["id-0", "id-2", "id-4"] {
        assert_eq!(
            seen.iter().filter(|s| *s == id).count(),
            1,
            "{id}, there throughout, is visited once: {seen:?}"
        );
    }
    assert!(
        !seen.contains(&"id-3".to_owned()),
        "a deleted resource is not visited"
    );
}

/// Sorting as [`Sort::compare`](crate::store::Sort::compare) orders: strings without case
/// unless case-exact, dateTimes by instant, multi-valued attributes by their primary
/// value, resources without a value last (first when descending), ties in insertion order.
pub async fn sorting(store: &dyn ResourceStore, tenant: &str) {
    let scope = Scope::new(tenant, "User");
    let registry = Registry::scim_default();
    let people = [
        ("s0", "carol", "2026-03-01T10:00:00Z", Some("c@x.org")),
        ("s1", "alice", "2026-03-01T11:30:00+02:00", Some("b@x.org")),
        ("s2", "Bob", "2026-03-01T09:45:00.5Z", None),
        ("s3", "dave", "2026-03-01T10:00:00.000001Z", Some("a@x.org")),
    ];
    for (id, name, modified, email) in people {
        let mut resource = user(id, name);
        resource["meta"]["lastModified"] = json!(modified);
        if let Some(email) = email {
            resource["emails"] = json!([
                {"value": "zz@x.org", "type": "home"},
                {"value": email, "type": "work", "primary": true}
            ]);
        }
        store
            .create(&scope, resource, unique(&[name]))
            .await
            .expect("create");
    }
    let sorted =
        |path: &str, order| users(&registry, None).with_sort(path.parse().expect("a path"), order);
    for (path, order, expected) in [
        ("userName", SortOrder::Ascending, ["s1", "s2", "s0", "s3"]),
        ("userName", SortOrder::Descending, ["s3", "s0", "s2", "s1"]),
        // 09:30Z (alice), 09:45:00.5Z, 10:00Z, 10:00:00.000001Z.
        (
            "meta.lastModified",
            SortOrder::Ascending,
            ["s1", "s2", "s0", "s3"],
        ),
        ("emails", SortOrder::Ascending, ["s3", "s1", "s0", "s2"]),
        (
            "emails.value",
            SortOrder::Descending,
            ["s2", "s0", "s1", "s3"],
        ),
        ("title", SortOrder::Ascending, ["s0", "s1", "s2", "s3"]),
    ] {
        let page = store
            .query(&scope, &sorted(path, order))
            .await
            .expect("sorted");
        assert_eq!(ids(&page.resources), expected, "sortBy={path} {order:?}");
    }
    let page = store
        .query(
            &scope,
            &sorted("userName", SortOrder::Ascending).with_paging(Paging::Index {
                start_index: 2,
                count: 2,
            }),
        )
        .await
        .expect("a sorted page");
    assert_eq!(
        ids(&page.resources),
        ["s2", "s0"],
        "a page of sorted results"
    );
}

/// Cursor paging of sorted results visits them in order, each once.
pub async fn sorted_cursor_paging(store: &dyn ResourceStore, tenant: &str) {
    let scope = Scope::new(tenant, "User");
    let registry = Registry::scim_default();
    five_users(store, &scope, &["carol", "alice", "Bob", "dave", "erin"]).await;
    let query = users(&registry, None)
        .with_sort("userName".parse().expect("a path"), SortOrder::Descending);
    assert_eq!(
        walk(store, &scope, &query, 2).await,
        ["id-4", "id-3", "id-0", "id-2", "id-1"],
        "sorted cursor pages"
    );
    let filtered = users(&registry, Some("active eq true"))
        .with_sort("userName".parse().expect("a path"), SortOrder::Ascending);
    assert_eq!(
        walk(store, &scope, &filtered, 1).await,
        ["id-2", "id-0", "id-4"],
        "sorted cursor pages of a filter"
    );
}

/// A store that takes member changes applies them as [`MemberChanges::apply`] does: a new
/// version and `meta.lastModified` when the group changed, neither when not, the version
/// checked, `NotFound` for an unknown id, and reads afterwards showing the new members. A
/// store that declines (`Ok(None)`) passes.
pub async fn member_changes(store: &dyn ResourceStore, tenant: &str) {
    let scope = Scope::new(tenant, "Group");
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1",
        "displayName": "Ops", "members": [{"value": "a"}, {"value": "b", "display": "B"}],
        "meta": {"resourceType": "Group", "lastModified": "2026-01-01T00:00:00.000Z"}
    });
    let created = store
        .create(&scope, group.clone(), WriteOptions::new())
        .await
        .expect("create succeeds");
    let v1 = version(&created);
    let changes = MemberChanges {
        attribute: "members".into(),
        ops: vec![
            MemberOp::Add(vec![
                json!({"value": "c"}),
                json!({"value": "a", "display": "A"}),
            ]),
            MemberOp::Remove(vec!["b".into(), "zz".into()]),
        ],
    };
    let later = "2026-02-02T00:00:00.000Z";
    let Some(done) = store
        .change_members(
            &scope,
            "g1",
            &changes,
            later,
            WriteOptions::new().with_if_match(&v1),
        )
        .await
        .expect("member changes succeed")
    else {
        return;
    };
    let v2 = done.version;
    assert_ne!(v1, v2, "a change gives a new version");
    let got = store.get(&scope, "g1").await.expect("the group is there");
    let mut expected = group;
    let net = changes.apply(&mut expected);
    assert_eq!(
        (done.net.added_values(), done.net.removed_values()),
        (net.added_values(), net.removed_values()),
        "the members reported added and removed"
    );
    let mut members: Vec<Value> = got["members"].as_array().cloned().unwrap_or_default();
    members.sort_by(|x, y| x["value"].as_str().cmp(&y["value"].as_str()));
    assert_eq!(
        members,
        expected["members"].as_array().cloned().unwrap_or_default(),
        "members after the changes"
    );
    assert_eq!(version(&got), v2, "the version returned is the stored one");
    assert_eq!(got["meta"]["lastModified"], later, "lastModified set");
    assert!(
        created
            .get("members")
            .is_some_and(|m| m.as_array().map(Vec::len) == Some(2)),
        "the document created is unchanged"
    );
    let none = MemberChanges {
        attribute: "members".into(),
        ops: vec![
            MemberOp::Add(vec![json!({"value": "a"})]),
            MemberOp::Remove(vec!["zz".into()]),
        ],
    };
    let same = store
        .change_members(
            &scope,
            "g1",
            &none,
            "2026-03-03T00:00:00.000Z",
            WriteOptions::new(),
        )
        .await
        .expect("no-op changes succeed");
    assert_eq!(
        same.as_ref().map(|s| (s.version.as_str(), s.net.changed())),
        Some((v2.as_str(), false)),
        "no change keeps the version"
    );
    assert_eq!(
        store.get(&scope, "g1").await.expect("still there")["meta"]["lastModified"],
        later,
        "no change keeps lastModified"
    );
    assert!(
        matches!(
            store
                .change_members(
                    &scope,
                    "g1",
                    &changes,
                    later,
                    WriteOptions::new().with_if_match(&v1)
                )
                .await,
            Err(StoreError::PreconditionFailed { .. })
        ),
        "a stale version is refused"
    );
    assert!(
        matches!(
            store
                .change_members(&scope, "nope", &changes, later, WriteOptions::new())
                .await,
            Err(StoreError::NotFound)
        ),
        "an unknown group is NotFound"
    );
    let empty = MemberChanges {
        attribute: "members".into(),
        ops: vec![MemberOp::Remove(vec!["a".into(), "c".into()])],
    };
    store
        .change_members(&scope, "g1", &empty, later, WriteOptions::new())
        .await
        .expect("removing every member succeeds");
    let got = store.get(&scope, "g1").await.expect("still there");
    assert!(
        got.get("members").is_none(),
        "an emptied list is absent: {got:?}"
    );
}
