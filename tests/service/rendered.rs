//! Reads and pages answered from renderings kept beside the stores' documents answer
//! exactly what reading, projecting and serialising does, for the in-memory and the
//! SQLite store: the same service over the same data through a store that hands out
//! documents of its own is the reference. A wrapper that changes documents is never
//! answered with a rendering of the documents it wraps.

use crate::common;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use common::{call, TOKEN};
use scimkit::auth::BearerToken;
use scimkit::patch::MemberChanges;
use scimkit::service::ScimService;
#[cfg(feature = "sqlite")]
use scimkit::store::SqliteStore;
use scimkit::store::{
    Document, MembersChanged, MemoryStore, Page, Query, ResourceStore, Scope, StoreError,
    WriteOptions,
};
use serde_json::{json, Value};

/// Passes every call to the store it wraps, but hands out documents of its own making, so
/// that nothing the service kept beside the wrapped store's documents is reused: the
/// service renders every time. With `decorate`, it also adds an attribute to every
/// document it reads, as a wrapper that changes documents would.
struct Fresh<S: ?Sized> {
    inner: Arc<S>,
    decorate: bool,
}

impl<S: ?Sized> Fresh<S> {
    fn plain(inner: Arc<S>) -> Fresh<S> {
        Fresh {
            inner,
            decorate: false,
        }
    }

    fn doc(&self, doc: Document) -> Document {
        let mut value = doc.into_value();
        if self.decorate {
            value["nickName"] = json!("from the wrapper");
        }
        Document::new(value)
    }
}

#[async_trait]
#[warn(clippy::missing_trait_methods)]
impl<S: ResourceStore + ?Sized> ResourceStore for Fresh<S> {
    async fn create(
        &self,
        scope: &Scope<'_>,
        resource: Value,
        options: WriteOptions,
    ) -> Result<Document, StoreError> {
        Ok(self.doc(self.inner.create(scope, resource, options).await?))
    }
    async fn get(&self, scope: &Scope<'_>, id: &str) -> Result<Document, StoreError> {
        Ok(self.doc(self.inner.get(scope, id).await?))
    }
    async fn replace(
        &self,
        scope: &Scope<'_>,
        id: &str,
        resource: Value,
        options: WriteOptions,
    ) -> Result<Document, StoreError> {
        Ok(self.doc(self.inner.replace(scope, id, resource, options).await?))
    }
    async fn delete(
        &self,
        scope: &Scope<'_>,
        id: &str,
        options: WriteOptions,
    ) -> Result<(), StoreError> {
        self.inner.delete(scope, id, options).await
    }
    async fn query(&self, scope: &Scope<'_>, query: &Query<'_>) -> Result<Page, StoreError> {
        Ok(self.inner.query(scope, query).await?.map(|d| self.doc(d)))
    }
    async fn change_members(
        &self,
        scope: &Scope<'_>,
        id: &str,
        changes: &MemberChanges,
        last_modified: &str,
        options: WriteOptions,
    ) -> Result<Option<MembersChanged>, StoreError> {
        self.inner
            .change_members(scope, id, changes, last_modified, options)
            .await
    }
}

fn service(store: impl ResourceStore + 'static) -> ScimService {
    ScimService::builder(store)
        .authenticator(BearerToken::for_tenant(TOKEN, "acme"))
        .base_url("https://app.example.com/scim/v2")
        .clock(|| Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap())
        .build()
        .unwrap()
}

/// The status, the body's bytes and the `ETag` of a request to `svc`.
async fn raw(
    svc: &ScimService,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
) -> (u16, String, Option<String>) {
    let (status, _, response) = call(svc, method, uri, None, headers).await;
    let etag = response
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        status.as_u16(),
        String::from_utf8(response.body().to_vec()).unwrap(),
        etag,
    )
}

#[cfg(feature = "sqlite")]
fn sqlite(name: &str) -> Arc<SqliteStore> {
    let dir = std::env::temp_dir().join(format!("scimkit-rendered-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Arc::new(SqliteStore::open(dir.join("scim.db")).unwrap())
}

#[tokio::test]
async fn memory_store_renderings_equal_plain_reads_through_every_write() {
    rendered_reads_and_pages_equal_the_plain_ones(Arc::new(MemoryStore::new())).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_store_renderings_equal_plain_reads_through_every_write() {
    rendered_reads_and_pages_equal_the_plain_ones(sqlite("reads")).await;
}

#[tokio::test]
async fn memory_store_renders_a_group_push() {
    a_group_push_shows_in_the_rendered_group(Arc::new(MemoryStore::new())).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_store_renders_a_group_push() {
    a_group_push_shows_in_the_rendered_group(sqlite("groups")).await;
}

async fn rendered_reads_and_pages_equal_the_plain_ones<S: ResourceStore + 'static>(store: Arc<S>) {
    let fast = service(store.clone());
    let plain = service(Fresh::plain(store));
    let mut ids = Vec::new();
    for i in 0..5 {
        let (status, body, _) = call(
            &fast,
            "POST",
            "/scim/v2/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": format!("user{i}@example.com"),
                "password": "t1meMa$heen",
                "emails": [{"value": format!("user{i}@example.com"), "primary": true}],
                "active": true
            })),
            &[],
        )
        .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    let user = format!("/scim/v2/Users/{}", ids[2]);
    let reads = [
        user.clone(),
        "/scim/v2/Users".to_owned(),
        "/scim/v2/Users?startIndex=2&count=2".to_owned(),
        "/scim/v2/Users?filter=userName%20sw%20%22user1%22".to_owned(),
        "/scim/v2/Users?count=2&cursor=".to_owned(),
        "/scim/v2/Users?count=0".to_owned(),
        format!("{user}?excludedAttributes=emails"),
        "/scim/v2/Users?attributes=userName".to_owned(),
    ];
    let compare = |when: &'static str| {
        let (fast, plain, reads) = (&fast, &plain, &reads);
        async move {
            for uri in reads {
                let f = raw(fast, "GET", uri, &[]).await;
                let p = raw(plain, "GET", uri, &[]).await;
                assert_eq!(f.0, p.0, "status of {uri} {when}");
                assert_eq!(f.2, p.2, "ETag of {uri} {when}");
                let (fj, pj): (Value, Value) = (
                    serde_json::from_str(&f.1).unwrap(),
                    serde_json::from_str(&p.1).unwrap(),
                );
                assert_eq!(fj, pj, "body of {uri} {when}");
                assert!(!f.1.contains("t1meMa$heen"), "{uri} shows the password");
            }
        }
    };
    compare("after the creates").await;
    // Read twice: the second comes from what the store kept.
    compare("read again").await;
    let (status, _, _) = call(
        &fast,
        "PATCH",
        &user,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title", "value": "Boss"}]
        })),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    compare("after a PATCH").await;
    let (_, body, _) = raw(&fast, "GET", &user, &[]).await;
    assert!(body.contains("\"Boss\""), "the PATCH shows: {body}");
    let (status, _, _) = call(
        &fast,
        "PUT",
        &user,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "user2@example.com", "displayName": "Two"
        })),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    compare("after a PUT").await;
    let (_, body, etag) = raw(&fast, "GET", &user, &[]).await;
    assert!(
        body.contains("\"Two\"") && !body.contains("Boss"),
        "the PUT shows: {body}"
    );
    // A matching If-None-Match: 304 with the tag, no body; a stale one: the resource.
    let etag = etag.expect("an ETag");
    let (status, body, tag) = raw(&fast, "GET", &user, &[("If-None-Match", &etag)]).await;
    assert_eq!(
        (status, body.as_str(), tag.as_deref()),
        (304, "", Some(etag.as_str()))
    );
    let (status, _, _) = raw(&fast, "GET", &user, &[("If-None-Match", "W/\"1\"")]).await;
    assert_eq!(status, 200);
    let (status, _, _) = call(
        &fast,
        "DELETE",
        &format!("/scim/v2/Users/{}", ids[0]),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 204);
    compare("after a DELETE").await;
    let (status, body, _) = raw(&fast, "GET", &format!("/scim/v2/Users/{}", ids[0]), &[]).await;
    assert_eq!(status, 404, "{body}");
}

async fn a_group_push_shows_in_the_rendered_group<S: ResourceStore + 'static>(store: Arc<S>) {
    let fast = service(store.clone());
    let plain = service(Fresh::plain(store));
    let (_, group, _) = call(
        &fast,
        "POST",
        "/scim/v2/Groups",
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Ops"})),
        &[],
    )
    .await;
    let uri = format!("/scim/v2/Groups/{}", group["id"].as_str().unwrap());
    let before = raw(&fast, "GET", &uri, &[]).await;
    // Okta's group push: members added by PATCH, which the memory store applies in place.
    let (status, _, _) = call(
        &fast,
        "PATCH",
        &uri,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": "u-1", "display": "One"}]}]
        })),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let after = raw(&fast, "GET", &uri, &[]).await;
    assert_ne!(before.2, after.2, "a new ETag");
    let members: Value = serde_json::from_str(&after.1).unwrap();
    assert_eq!(members["members"][0]["value"], "u-1", "{}", after.1);
    let reference = raw(&plain, "GET", &uri, &[]).await;
    assert_eq!(
        serde_json::from_str::<Value>(&after.1).unwrap(),
        serde_json::from_str::<Value>(&reference.1).unwrap()
    );
    let list = raw(&fast, "GET", "/scim/v2/Groups", &[]).await;
    assert!(
        list.1.contains("u-1"),
        "the page shows the member: {}",
        list.1
    );
}

/// A service whose schemas hide what another's show is never answered with the other's
/// rendering of a document they share; a service built again with the same schemas is
/// answered what the first was.
#[tokio::test]
async fn services_with_other_schemas_keep_renderings_apart() {
    use scimkit::schema::{Registry, Returned};
    let store = Arc::new(MemoryStore::new());
    let shows = service(Arc::clone(&store));
    let mut registry = Registry::empty();
    let mut user = scimkit::schema::user_schema();
    user.attributes
        .iter_mut()
        .find(|a| a.name == "title")
        .unwrap()
        .returned = Returned::Never;
    registry.add_schema(user).unwrap();
    registry
        .add_resource_type(scimkit::schema::ResourceType::new(
            "User",
            "/Users",
            scimkit::schema::USER,
        ))
        .unwrap();
    let hides = ScimService::builder(Arc::clone(&store))
        .authenticator(BearerToken::for_tenant(TOKEN, "acme"))
        .registry(registry)
        .build()
        .unwrap();
    let (status, created, _) = call(
        &shows,
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "bjensen", "title": "Tour Guide"})),
        &[],
    )
    .await;
    assert_eq!(status, 201);
    let uri = format!("/scim/v2/Users/{}", created["id"].as_str().unwrap());
    for _ in 0..2 {
        let (_, body, _) = raw(&shows, "GET", &uri, &[]).await;
        assert!(body.contains("Tour Guide"), "{body}");
        let (_, body, _) = raw(&hides, "GET", &uri, &[]).await;
        assert!(!body.contains("Tour Guide"), "{body}");
        let (_, body, _) = raw(&hides, "GET", "/scim/v2/Users", &[]).await;
        assert!(!body.contains("Tour Guide"), "{body}");
    }
    let again = service(store);
    let (_, body, _) = raw(&again, "GET", &uri, &[]).await;
    assert!(body.contains("Tour Guide"), "{body}");
}

/// A wrapper that changes the documents it reads is answered with its own documents, even
/// after the service rendered the wrapped store's documents for another service.
#[tokio::test]
async fn a_wrapper_that_changes_documents_is_never_answered_from_the_wrapped_renderings() {
    #[cfg_attr(not(feature = "sqlite"), allow(unused_mut))]
    let mut stores = vec![Arc::new(MemoryStore::new()) as Arc<dyn ResourceStore>];
    #[cfg(feature = "sqlite")]
    stores.push(sqlite("wrapper"));
    for store in stores {
        let direct = service(store.clone());
        let wrapped = service(Fresh {
            inner: store,
            decorate: true,
        });
        let (status, created, _) = call(
            &direct,
            "POST",
            "/scim/v2/Users",
            Some(json!({"userName": "bjensen"})),
            &[],
        )
        .await;
        assert_eq!(status, 201);
        let uri = format!("/scim/v2/Users/{}", created["id"].as_str().unwrap());
        for reads in 0..2 {
            let (_, body, _) = raw(&direct, "GET", &uri, &[]).await;
            assert!(!body.contains("from the wrapper"), "read {reads}: {body}");
            let (_, body, _) = raw(&wrapped, "GET", &uri, &[]).await;
            assert!(body.contains("from the wrapper"), "read {reads}: {body}");
            let (_, body, _) = raw(&wrapped, "GET", "/scim/v2/Users", &[]).await;
            assert!(body.contains("from the wrapper"), "page {reads}: {body}");
        }
    }
}
