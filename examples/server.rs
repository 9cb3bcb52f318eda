//! The SCIM server: scimkit's service under axum, on `127.0.0.1:8080` by default.
//!
//! ```text
//! cargo run --example server
//! ```
//!
//! Environment:
//! - `SCIM_ADDR`: the address to listen on (default `127.0.0.1:8080`).
//! - `SCIM_API_KEY`: the bearer token identity providers must send; when unset, one is
//!   generated and printed once at start-up.
//! - `SCIM_DB`: the SQLite database file (default `scim.db` in the working directory), so
//!   that the directory survives restarts; `:memory:` selects the in-memory store, which
//!   lives as long as the process.
//!
//! The glue is the `scim` handler: read the body, hand the request to the service, and
//! return its response.

use std::net::SocketAddr;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::response::Response;
use axum::Router;
use std::sync::Arc;

use scimkit::auth::{BearerToken, PatchResponse};
use scimkit::service::ScimService;
use scimkit::store::{MemoryStore, ResourceStore, SqliteStore};

async fn scim(State(service): State<ScimService>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    // Read no more than the service takes: a larger body is refused unread.
    let Ok(body) = to_bytes(body, service.max_body_bytes()).await else {
        return service.body_too_large().map(Body::from);
    };
    let response = service.handle(http::Request::from_parts(parts, body)).await;
    response.map(Body::from)
}

fn generated_key() -> String {
    // Two random (v4) UUIDs: 244 bits from the operating system's CSPRNG.
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::var("SCIM_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:8080".into())
        .parse()?;
    let db = std::env::var("SCIM_DB").unwrap_or_else(|_| "scim.db".into());
    let store: Arc<dyn ResourceStore> = if db == ":memory:" {
        Arc::new(MemoryStore::new())
    } else {
        Arc::new(SqliteStore::open(&db).map_err(|e| format!("SCIM_DB={db}: {e}"))?)
    };
    let (key, generated) = match std::env::var("SCIM_API_KEY") {
        Ok(key) if !key.is_empty() => (key, false),
        _ => (generated_key(), true),
    };
    let base_url = format!("http://{addr}/scim/v2");
    let service = ScimService::builder(store)
        .authenticator(BearerToken::new(&key, "default"))
        .base_url(&base_url)
        // 204 after PATCH: a membership change of a large group answers in microseconds
        // instead of sending the whole group back (RFC 7644 §3.5.2 allows either answer).
        .patch_response(PatchResponse::NoContent)
        .build();
    let app = Router::new().fallback(scim).with_state(service);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("SCIM base URL: {base_url}");
    println!("Store: {db}");
    if generated {
        println!("API key (shown once): {key}");
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
