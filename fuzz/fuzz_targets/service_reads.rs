//! Writes from arbitrary Bulk operations, each sent alone (a `bulkId:` an earlier one
//! created stands for its id), with every resource read and every list paged after each:
//! answers served from the renderings kept beside the store's documents equal those of the
//! same service rendering afresh (over a store that hands out documents of its own, over
//! the same data), byte for byte in meaning, status and ETag; never a panic or a 500.
#![no_main]

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use async_trait::async_trait;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use scimkit::auth::BearerToken;
use scimkit::patch::MemberChanges;
use scimkit::service::ScimService;
use scimkit::store::{
    Document, MembersChanged, MemoryStore, Page, Query, ResourceStore, Scope, StoreError,
    WriteOptions,
};
use serde_json::{json, Value};

/// The in-memory store never suspends: one poll finishes a request.
fn run<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("an in-memory request suspended"),
    }
}

/// The memory store, handing out documents of its own making: nothing kept beside the
/// memory store's documents is reused.
struct Fresh(Arc<MemoryStore>);

fn fresh(doc: Document) -> Document {
    Document::new(doc.into_value())
}

#[async_trait]
impl ResourceStore for Fresh {
    async fn create(
        &self,
        s: &Scope<'_>,
        r: Value,
        o: WriteOptions,
    ) -> Result<Document, StoreError> {
        self.0.create(s, r, o).await.map(fresh)
    }
    async fn get(&self, s: &Scope<'_>, id: &str) -> Result<Document, StoreError> {
        self.0.get(s, id).await.map(fresh)
    }
    async fn replace(
        &self,
        s: &Scope<'_>,
        id: &str,
        r: Value,
        o: WriteOptions,
    ) -> Result<Document, StoreError> {
        self.0.replace(s, id, r, o).await.map(fresh)
    }
    async fn delete(&self, s: &Scope<'_>, id: &str, o: WriteOptions) -> Result<(), StoreError> {
        self.0.delete(s, id, o).await
    }
    async fn query(&self, s: &Scope<'_>, q: &Query<'_>) -> Result<Page, StoreError> {
        Ok(self.0.query(s, q).await?.map(fresh))
    }
    async fn change_members(
        &self,
        s: &Scope<'_>,
        id: &str,
        c: &MemberChanges,
        at: &str,
        o: WriteOptions,
    ) -> Result<Option<MembersChanged>, StoreError> {
        self.0.change_members(s, id, c, at, o).await
    }
}

fn service(store: impl ResourceStore + 'static) -> ScimService {
    ScimService::builder(store)
        .authenticator(BearerToken::for_tenant("fuzz-token", "t"))
        .base_url("https://example.com/scim/v2")
        .build()
        .expect("a service")
}

/// Status, ETag and body (as JSON, `Null` when empty) of a request.
fn call(svc: &ScimService, method: &str, uri: &str, body: Bytes) -> (u16, Option<String>, Value) {
    let request = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("Authorization", "Bearer fuzz-token")
        .body(body)
        .expect("a request");
    let response = run(svc.handle(request));
    let status = response.status().as_u16();
    assert!(status < 500, "{method} {uri}: {status}");
    let etag = response
        .headers()
        .get("etag")
        .map(|t| t.to_str().expect("an ASCII ETag").to_owned());
    let body = match response.body().is_empty() {
        true => Value::Null,
        false => serde_json::from_slice(response.body()).expect("a JSON answer"),
    };
    (status, etag, body)
}

fuzz_target!(|data: &[u8]| {
    let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Some(Value::Array(ops)) = request
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
        .map(|(_, v)| v.clone())
    else {
        return;
    };
    let store = Arc::new(MemoryStore::new());
    let fast = service(Arc::clone(&store));
    let plain = service(Fresh(store));
    // bulkId → the id its POST created, put in place of `bulkId:…` in later operations.
    let mut created: Vec<(String, String)> = Vec::new();
    for op in ops.into_iter().take(16) {
        let mut text = op.to_string();
        for (bulk_id, id) in &created {
            text = text.replace(&format!("bulkId:{bulk_id}"), id);
        }
        let Ok(op) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [op]});
        let (_, _, answer) = call(
            &fast,
            "POST",
            "/scim/v2/Bulk",
            Bytes::from(bulk.to_string()),
        );
        if let Some(done) = answer["Operations"].get(0) {
            let id = done["location"].as_str().and_then(|l| l.rsplit('/').next());
            if let (Some(bulk_id), Some(id)) = (done["bulkId"].as_str(), id) {
                created.push((bulk_id.to_owned(), id.to_owned()));
            }
        }
        for endpoint in ["Users", "Groups"] {
            let list = format!("/scim/v2/{endpoint}?count=50");
            let page = call(&fast, "GET", &list, Bytes::new());
            assert_eq!(page, call(&plain, "GET", &list, Bytes::new()), "{list}");
            let ids: Vec<String> = page.2["Resources"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["id"].as_str().map(str::to_owned))
                .collect();
            for id in ids {
                let uri = format!("/scim/v2/{endpoint}/{id}");
                let one = call(&fast, "GET", &uri, Bytes::new());
                assert_eq!(one.0, 200, "{uri}");
                assert_eq!(one, call(&plain, "GET", &uri, Bytes::new()), "{uri}");
            }
        }
    }
});
