//! What the service tells `tracing`: a span per request with its method, tenant, resource
//! type and status, the failures of the store as errors with their cause, and never a
//! secret, a query string or a body.

#![cfg(feature = "tracing")]

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use bytes::Bytes;
use scimkit::store::{Document, Page, Query, ResourceStore, Scope, StoreError, WriteOptions};
use scimkit::{async_trait, BearerToken, MemoryStore, ScimService};
use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

const SECRET: &str = "tracing-test-token-7d1e";

/// Every span's fields and every event's on one thread, as `name=value` lines.
#[derive(Clone)]
struct Captured {
    thread: ThreadId,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Captured {
    fn keep(&self, line: String) {
        if std::thread::current().id() == self.thread {
            self.lines.lock().unwrap().push(line);
        }
    }
}

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl<S: Subscriber> Layer<S> for Captured {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        let mut line = Line(format!("span {}", attrs.metadata().name()));
        attrs.record(&mut line);
        self.keep(line.0);
    }

    fn on_record(&self, _: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut line = Line("record".into());
        values.record(&mut line);
        self.keep(line.0);
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut line = Line(format!("event {}", event.metadata().level()));
        event.record(&mut line);
        self.keep(line.0);
    }
}

/// A store whose queries fail as a database that lost its disk would, and whose writes of
/// one user fail as a full disk would.
struct Broken(MemoryStore);

#[async_trait]
impl ResourceStore for Broken {
    async fn create(
        &self,
        s: &Scope<'_>,
        r: Value,
        o: WriteOptions,
    ) -> Result<Document, StoreError> {
        if r["userName"] == "disk-full" {
            return Err(StoreError::unavailable("no space left on device"));
        }
        self.0.create(s, r, o).await
    }
    async fn get(&self, s: &Scope<'_>, id: &str) -> Result<Document, StoreError> {
        self.0.get(s, id).await
    }
    async fn replace(
        &self,
        s: &Scope<'_>,
        id: &str,
        r: Value,
        o: WriteOptions,
    ) -> Result<Document, StoreError> {
        self.0.replace(s, id, r, o).await
    }
    async fn delete(&self, s: &Scope<'_>, id: &str, o: WriteOptions) -> Result<(), StoreError> {
        self.0.delete(s, id, o).await
    }
    async fn query(&self, _: &Scope<'_>, _: &Query<'_>) -> Result<Page, StoreError> {
        Err(StoreError::internal("disk I/O error on /var/lib/scim.db"))
    }
}

fn request(method: &str, uri: &str, body: &str) -> http::Request<Bytes> {
    http::Request::builder()
        .method(method)
        .uri(uri)
        .header("Authorization", format!("Bearer {SECRET}"))
        .body(Bytes::from(body.to_owned()))
        .unwrap()
}

#[test]
fn requests_are_spans_with_their_tenant_type_and_status_and_no_secret() {
    let captured = Captured {
        thread: std::thread::current().id(),
        lines: Arc::default(),
    };
    let subscriber = tracing_subscriber::registry().with(captured.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // The subscriber of every thread: one that only this thread has would leave the call
    // sites that other tests' threads reach first disabled. What they send is not kept.
    tracing::subscriber::set_global_default(subscriber).unwrap();
    tracing::callsite::rebuild_interest_cache();
    rt.block_on(async {
        let service = ScimService::builder(Broken(MemoryStore::new()))
            .authenticator(BearerToken::for_tenant(SECRET, "acme"))
            .build()
            .unwrap();
        let created = service
            .handle(request(
                "POST",
                "/scim/v2/Users",
                r#"{"userName": "body-only-value", "password": "p4ssw0rd-never-logged"}"#,
            ))
            .await;
        assert_eq!(created.status(), 201);
        let failed = service
            .handle(request(
                "GET",
                "/scim/v2/Users?filter=userName%20eq%20%22q%22",
                "",
            ))
            .await;
        assert_eq!(failed.status(), 500);
        let bulk = service
            .handle(request(
                "POST",
                "/scim/v2/Bulk",
                r#"{"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                        "Operations": [{"method": "POST", "bulkId": "b1", "path": "/Users",
                                        "data": {"userName": "disk-full"}}]}"#,
            ))
            .await;
        assert_eq!(bulk.status(), 200);
    });
    let lines = captured.lines.lock().unwrap().join("\n");
    for expected in [
        "span scim method=POST",
        "record tenant=\"acme\"",
        "record resource_type=\"User\"",
        "record status=201",
        "record status=500",
    ] {
        assert!(lines.contains(expected), "{expected} in:\n{lines}");
    }
    let error = lines
        .lines()
        .find(|l| l.starts_with("event ERROR"))
        .unwrap_or_else(|| panic!("a store fault is an error event:\n{lines}"));
    assert!(error.contains("disk I/O error"), "{error}");
    let bulk = lines
        .lines()
        .find(|l| l.contains("no space left on device"))
        .unwrap_or_else(|| panic!("a Bulk operation's store fault is logged:\n{lines}"));
    assert!(bulk.starts_with("event WARN"), "{bulk}");
    assert!(bulk.contains("method=\"POST\""), "{bulk}");
    assert!(bulk.contains("tenant=\"acme\""), "{bulk}");
    for secret in [
        SECRET,
        "p4ssw0rd-never-logged",
        "body-only-value",
        "filter=",
    ] {
        assert!(!lines.contains(secret), "{secret} in:\n{lines}");
    }
}
