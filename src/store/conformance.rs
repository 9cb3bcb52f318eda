//! A conformance suite for [`ResourceStore`] implementations.
//!
//! Run it from your store's own tests; it panics with a message naming the broken rule:
//!
//! ```no_run
//! # async fn example() {
//! let store = scimkit::store::MemoryStore::new();
//! scimkit::store::conformance::run(&store, "conformance").await;
//! # }
//! ```
//!
//! Every check works in tenants whose names start with `tenant_prefix`, so a store shared
//! with other tests is not disturbed (use a fresh prefix per run for a persistent store).

use bytes::Bytes;
use serde_json::{json, Value};

use super::{Paging, Query, Renderer, ResourceStore, Scope, SortOrder, StoreError};
use crate::eval::{Matcher, TypeMap};
use crate::filter::Filter;
use crate::patch::{MemberChanges, MemberOp};
use crate::schema::UniqueValue;

fn user_name(value: &str) -> UniqueValue {
    UniqueValue {
        path: "userName".into(),
        value: Value::String(value.into()),
        case_exact: false,
    }
}

fn user(id: &str, name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": id, "userName": name})
}

fn query(filter: &str) -> Query {
    let parsed: Filter = filter.parse().expect("a valid filter");
    Query {
        matcher: Some(Matcher::new(&parsed, &TypeMap::scim_core()).expect("compiles")),
        filter: Some(parsed),
        ..Query::default()
    }
}

fn version(resource: &Value) -> String {
    resource["meta"]["version"]
        .as_str()
        .expect("the store sets meta.version")
        .to_owned()
}

/// Runs every check against `store`.
pub async fn run(store: &dyn ResourceStore, tenant_prefix: &str) {
    create_and_get(store, &format!("{tenant_prefix}-create")).await;
    uniqueness(store, &format!("{tenant_prefix}-unique")).await;
    tenants_are_isolated(store, tenant_prefix).await;
    versions_guard_writes(store, &format!("{tenant_prefix}-versions")).await;
    queries(store, &format!("{tenant_prefix}-query")).await;
    member_changes(store, &format!("{tenant_prefix}-members")).await;
    renderings(store, &format!("{tenant_prefix}-rendered")).await;
}

/// A rendered read, the rendering of a plain read, and the version read.
async fn renders(
    store: &dyn ResourceStore,
    scope: &Scope<'_>,
    renderer: &Renderer<'_>,
    id: &str,
) -> (Option<super::Rendered>, Bytes, String) {
    let stored = store.get(scope, id).await.expect("the resource is there");
    let got = store
        .get_rendered(scope, id, renderer)
        .await
        .expect("a rendered read succeeds");
    (got, renderer.render(&stored), version(&stored))
}

/// A store that keeps renderings answers what rendering the resource as it is now gives:
/// after every kind of write, for each renderer key, for reads and pages, and `NotFound`
/// for an unknown id. A store that keeps none (`Ok(None)`) passes.
pub async fn renderings(store: &dyn ResourceStore, tenant: &str) {
    // Two ways of rendering, told apart by their keys.
    let plain = |r: &Value| Bytes::from(serde_json::to_vec(r).expect("serialises"));
    let tagged = |r: &Value| Bytes::from(format!("[\"tagged\",{r}]"));
    let renderers = [
        Renderer::new(1 << 60, &plain),
        Renderer::new(1 << 61, &tagged),
    ];
    let users = Scope::new(tenant, "User");
    let groups = Scope::new(tenant, "Group");
    let mut created = Vec::new();
    for (id, name) in [("r1", "ann"), ("r2", "bob"), ("r3", "cid")] {
        created.push(
            store
                .create(&users, user(id, name), &[user_name(name)])
                .await
                .expect("create succeeds"),
        );
    }
    for when in ["created", "read again"] {
        for renderer in &renderers {
            let (got, expected, v) = renders(store, &users, renderer, "r1").await;
            let Some(got) = got else { return };
            assert_eq!(got.json, expected, "rendering when {when}");
            assert_eq!(
                got.version.as_deref(),
                Some(v.as_str()),
                "version when {when}"
            );
        }
    }
    let v1 = version(&created[0]);
    let mut changed = user("r1", "ann");
    changed["title"] = json!("Boss");
    store
        .replace(&users, "r1", changed, &[user_name("ann")], Some(&v1))
        .await
        .expect("replace succeeds");
    for renderer in &renderers {
        let (got, expected, v) = renders(store, &users, renderer, "r1").await;
        let got = got.expect("still rendered");
        assert_eq!(got.json, expected, "rendering after a replace");
        assert!(
            String::from_utf8_lossy(&got.json).contains("Boss"),
            "the new title"
        );
        assert_eq!(
            got.version.as_deref(),
            Some(v.as_str()),
            "version after a replace"
        );
    }
    // Pages: each resource as rendered, in the order of `query`.
    for q in [
        Query::default(),
        query("userName sw \"b\" or userName eq \"ann\""),
        Query {
            paging: Paging::Cursor {
                cursor: None,
                count: 2,
            },
            ..Query::default()
        },
    ] {
        for renderer in &renderers {
            let page = store.query(&users, &q).await.expect("query succeeds");
            let got = store
                .query_rendered(&users, &q, renderer)
                .await
                .expect("a rendered query succeeds")
                .expect("a store that renders reads renders pages");
            let expected: Vec<Bytes> = page.resources.iter().map(|r| renderer.render(r)).collect();
            assert_eq!(got.resources, expected, "the page's renderings");
            assert_eq!(got.total_results, page.total_results, "totalResults");
            assert_eq!(got.next_cursor, page.next_cursor, "nextCursor");
        }
    }
    store
        .delete(&users, "r2", None)
        .await
        .expect("delete succeeds");
    assert!(
        matches!(
            store.get_rendered(&users, "r2", &renderers[0]).await,
            Err(StoreError::NotFound)
        ),
        "a deleted resource is not found"
    );
    // Member changes pushed down leave no stale rendering.
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "rg",
        "displayName": "Ops", "members": [{"value": "r1"}],
        "meta": {"resourceType": "Group"}
    });
    store
        .create(&groups, group, &[])
        .await
        .expect("create succeeds");
    let before = store
        .get_rendered(&groups, "rg", &renderers[0])
        .await
        .expect("succeeds")
        .expect("rendered");
    let changes = MemberChanges {
        attribute: "members".into(),
        ops: vec![MemberOp::Add(vec![json!({"value": "r3"})])],
    };
    store
        .change_members(&groups, "rg", &changes, "2026-03-03T00:00:00.000Z", None)
        .await
        .expect("member changes succeed");
    let stored = store.get(&groups, "rg").await.expect("the group is there");
    let after = store
        .get_rendered(&groups, "rg", &renderers[0])
        .await
        .expect("succeeds")
        .expect("rendered");
    assert_eq!(
        after.json,
        renderers[0].render(&stored),
        "rendering after member changes"
    );
    assert_ne!(after.json, before.json, "the new member shows");
}

/// A store that takes member changes applies them as [`MemberChanges::apply`] does: a new
/// version and `meta.lastModified` when the group changed, neither when not, the version
/// checked, `NotFound` for an unknown id. A store that declines (`Ok(None)`) passes.
pub async fn member_changes(store: &dyn ResourceStore, tenant: &str) {
    let scope = Scope::new(tenant, "Group");
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1",
        "displayName": "Ops", "members": [{"value": "a"}, {"value": "b", "display": "B"}],
        "meta": {"resourceType": "Group", "lastModified": "2026-01-01T00:00:00.000Z"}
    });
    let created = store
        .create(&scope, group.clone(), &[])
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
        .change_members(&scope, "g1", &changes, later, Some(&v1))
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
    let none = MemberChanges {
        attribute: "members".into(),
        ops: vec![
            MemberOp::Add(vec![json!({"value": "a"})]),
            MemberOp::Remove(vec!["zz".into()]),
        ],
    };
    let same = store
        .change_members(&scope, "g1", &none, "2026-03-03T00:00:00.000Z", None)
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
                .change_members(&scope, "g1", &changes, later, Some(&v1))
                .await,
            Err(StoreError::PreconditionFailed { .. })
        ),
        "a stale version is refused"
    );
    assert!(
        matches!(
            store
                .change_members(&scope, "nope", &changes, later, None)
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
        .change_members(&scope, "g1", &empty, later, None)
        .await
        .expect("removing every member succeeds");
    let got = store.get(&scope, "g1").await.expect("still there");
    assert!(
        got.get("members").is_none(),
        "an emptied list is absent: {got}"
    );
}

/// Created resources come back as stored, with a version; unknown ids are `NotFound`;
/// an id is taken once.
pub async fn create_and_get(store: &dyn ResourceStore, tenant: &str) {
    let scope = Scope::new(tenant, "User");
    let created = store
        .create(&scope, user("u1", "bjensen"), &[user_name("bjensen")])
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
    assert!(
        matches!(
            store.create(&scope, user("u1", "other"), &[]).await,
            Err(StoreError::Conflict(_))
        ),
        "an id is stored once"
    );
    let replaced = store
        .replace(
            &scope,
            "u1",
            user("u1", "babs"),
            &[user_name("babs")],
            Some(&v1),
        )
        .await
        .expect("replace with the current version succeeds");
    assert_ne!(version(&replaced), v1, "a write changes the version");
    assert_eq!(
        store.get(&scope, "u1").await.expect("found")["userName"],
        "babs"
    );
    store
        .delete(&scope, "u1", None)
        .await
        .expect("delete succeeds");
    assert!(
        matches!(store.get(&scope, "u1").await, Err(StoreError::NotFound)),
        "deleted"
    );
    assert!(
        matches!(
            store.delete(&scope, "u1", None).await,
            Err(StoreError::NotFound)
        ),
        "deleting twice is NotFound"
    );
    assert!(
        matches!(
            store
                .replace(&scope, "u1", user("u1", "x"), &[], None)
                .await,
            Err(StoreError::NotFound)
        ),
        "replacing a deleted resource is NotFound"
    );
}

/// Unique values conflict without case when not case-exact, are freed by replace and
/// delete, and may stay with the resource that holds them.
pub async fn uniqueness(store: &dyn ResourceStore, tenant: &str) {
    let scope = Scope::new(tenant, "User");
    store
        .create(&scope, user("a", "BJensen"), &[user_name("BJensen")])
        .await
        .expect("first create");
    let clash = store
        .create(&scope, user("b", "bjensen"), &[user_name("bjensen")])
        .await;
    assert!(
        matches!(&clash, Err(StoreError::Conflict(path)) if path == "userName"),
        "userName is unique without case: {clash:?}"
    );
    let exact = UniqueValue {
        path: "badge".into(),
        value: json!("AB"),
        case_exact: true,
    };
    let lower = UniqueValue {
        value: json!("ab"),
        ..exact.clone()
    };
    store
        .create(&scope, user("c", "c"), &[exact])
        .await
        .expect("case-exact value");
    store
        .create(&scope, user("d", "d"), &[lower])
        .await
        .expect("a case-exact value differing in case is another value");
    // Keeping one's own value is no conflict; taking another's is.
    store
        .replace(
            &scope,
            "a",
            user("a", "BJENSEN"),
            &[user_name("BJENSEN")],
            None,
        )
        .await
        .expect("a resource keeps its own unique value");
    assert!(
        matches!(
            store
                .replace(
                    &scope,
                    "c",
                    user("c", "bjensen"),
                    &[user_name("bjensen")],
                    None
                )
                .await,
            Err(StoreError::Conflict(_))
        ),
        "replace cannot take another resource's value"
    );
    // Freed by replace, then by delete.
    store
        .replace(
            &scope,
            "a",
            user("a", "barbara"),
            &[user_name("barbara")],
            None,
        )
        .await
        .expect("rename");
    store
        .create(&scope, user("b", "bjensen"), &[user_name("bjensen")])
        .await
        .expect("a value freed by replace can be taken");
    store.delete(&scope, "a", None).await.expect("delete");
    store
        .create(&scope, user("e", "Barbara"), &[user_name("Barbara")])
        .await
        .expect("a value freed by delete can be taken");
}

/// The same ids and unique values live side by side in two tenants, and neither sees
/// the other's resources.
pub async fn tenants_are_isolated(store: &dyn ResourceStore, tenant_prefix: &str) {
    let one = format!("{tenant_prefix}-tenant-1");
    let two = format!("{tenant_prefix}-tenant-2");
    let (a, b) = (Scope::new(&one, "User"), Scope::new(&two, "User"));
    store
        .create(&a, user("same-id", "same-name"), &[user_name("same-name")])
        .await
        .expect("tenant 1");
    store
        .create(&b, user("same-id", "same-name"), &[user_name("same-name")])
        .await
        .expect("tenant 2");
    store
        .create(&a, user("only-in-1", "x"), &[user_name("x")])
        .await
        .expect("tenant 1");
    assert!(
        matches!(store.get(&b, "only-in-1").await, Err(StoreError::NotFound)),
        "get crosses no tenant"
    );
    assert!(
        matches!(
            store.delete(&b, "only-in-1", None).await,
            Err(StoreError::NotFound)
        ),
        "delete crosses no tenant"
    );
    let page = store.query(&b, &Query::default()).await.expect("query");
    assert_eq!(page.total_results, 1, "query crosses no tenant");
    let page = store
        .query(&b, &query(r#"userName eq "x""#))
        .await
        .expect("query");
    assert_eq!(page.total_results, 0, "an indexed lookup crosses no tenant");
}

/// `expected_version` must match for replace and delete.
pub async fn versions_guard_writes(store: &dyn ResourceStore, tenant: &str) {
    let scope = Scope::new(tenant, "User");
    let created = store
        .create(&scope, user("u", "u"), &[])
        .await
        .expect("create");
    let v1 = version(&created);
    let v2 = version(
        &store
            .replace(&scope, "u", user("u", "u2"), &[], Some(&v1))
            .await
            .expect("current version"),
    );
    let stale = store
        .replace(&scope, "u", user("u", "u3"), &[], Some(&v1))
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
            store.delete(&scope, "u", Some(&v1)).await,
            Err(StoreError::PreconditionFailed { .. })
        ),
        "delete checks the version"
    );
    store
        .delete(&scope, "u", Some(&v2))
        .await
        .expect("delete with the current version");
}

/// Filters, totals, index and cursor paging, and sorting.
pub async fn queries(store: &dyn ResourceStore, tenant: &str) {
    let scope = Scope::new(tenant, "User");
    let names = ["carol", "alice", "Bob", "dave", "erin"];
    for (i, name) in names.iter().enumerate() {
        let mut resource = user(&format!("id-{i}"), name);
        resource["externalId"] = json!(format!("ext-{i}"));
        resource["active"] = json!(i % 2 == 0);
        store
            .create(&scope, resource, &[user_name(name)])
            .await
            .expect("create");
    }
    let ids = |page: &super::Page| -> Vec<String> {
        page.resources
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let all = store.query(&scope, &Query::default()).await.expect("query");
    assert_eq!(all.total_results, 5);
    assert_eq!(
        ids(&all),
        ["id-0", "id-1", "id-2", "id-3", "id-4"],
        "unsorted results come in a stable order"
    );
    for (filter, expected) in [
        (r#"userName eq "BOB""#, vec!["id-2"]),
        (r#"externalId eq "ext-3""#, vec!["id-3"]),
        (r#"externalId eq "EXT-3""#, vec![]),
        (r#"id eq "id-4""#, vec!["id-4"]),
        (r#"userName co "a""#, vec!["id-0", "id-1", "id-3"]),
        ("active eq true", vec!["id-0", "id-2", "id-4"]),
        (r#"userName eq "nobody""#, vec![]),
    ] {
        let page = store.query(&scope, &query(filter)).await.expect("query");
        assert_eq!(ids(&page), expected, "{filter}");
        assert_eq!(page.total_results, expected.len(), "{filter}: totalResults");
    }
    let page = |start_index, count| Query {
        paging: Paging::Index { start_index, count },
        ..Query::default()
    };
    let p = store.query(&scope, &page(2, 2)).await.expect("query");
    assert_eq!(
        (ids(&p), p.total_results),
        (vec!["id-1".into(), "id-2".into()], 5),
        "index paging"
    );
    let p = store.query(&scope, &page(5, 10)).await.expect("query");
    assert_eq!(ids(&p), ["id-4"], "the last page is short");
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

    // Cursor paging visits every resource once.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let q = Query {
            paging: Paging::Cursor {
                cursor: cursor.clone(),
                count: 2,
            },
            ..Query::default()
        };
        let p = store.query(&scope, &q).await.expect("cursor page");
        seen.extend(ids(&p));
        match p.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(seen.len() <= 5, "cursor paging ends");
    }
    assert_eq!(
        seen,
        ["id-0", "id-1", "id-2", "id-3", "id-4"],
        "cursor paging"
    );
    let bad = Query {
        paging: Paging::Cursor {
            cursor: Some("not-a-cursor".into()),
            count: 2,
        },
        ..Query::default()
    };
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

    let sorted = |order| Query {
        sort_by: Some("userName".parse().expect("a path")),
        sort_order: order,
        ..Query::default()
    };
    let asc = store
        .query(&scope, &sorted(SortOrder::Ascending))
        .await
        .expect("sorted");
    let names: Vec<&str> = asc
        .resources
        .iter()
        .map(|r| r["userName"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        ["alice", "Bob", "carol", "dave", "erin"],
        "sorted without case"
    );
    let desc = store
        .query(&scope, &sorted(SortOrder::Descending))
        .await
        .expect("sorted");
    assert_eq!(
        desc.resources.first().map(|r| &r["userName"]),
        Some(&json!("erin")),
        "descending"
    );
}
