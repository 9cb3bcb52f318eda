//! The yardstick of the HTTP benchmark (`benches/http/run.py`): a bare axum server that
//! answers SCIM-shaped requests with bytes captured from the real server, doing no SCIM
//! work. Comparing the two shows what scimkit costs over the web framework alone.
//!
//! ```text
//! BASELINE_DIR=responses SCIM_ADDR=127.0.0.1:18081 cargo run --release -p scimkit-benches --bin baseline
//! ```
//!
//! `BASELINE_DIR` holds `get.json`, `filter.json`, `page.json`, `create.json` and
//! `patch.json`; a request gets the file its shape names: `POST` → create (201),
//! `PATCH` → patch, `GET` with a `filter` → filter, `GET` with a `count` → page, any other
//! `GET` → get.

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::response::Response;
use axum::Router;
use bytes::Bytes;
use http::{header, Method, StatusCode};

struct Canned {
    get: Bytes,
    filter: Bytes,
    page: Bytes,
    create: Bytes,
    patch: Bytes,
}

async fn answer(State(canned): State<Arc<Canned>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    // Read the body, as the SCIM server does.
    let _ = to_bytes(body, 1024 * 1024).await;
    let query = parts.uri.query().unwrap_or("");
    let (status, bytes) = match parts.method {
        Method::POST => (StatusCode::CREATED, &canned.create),
        // The SCIM example answers PATCH with 204 and no body.
        Method::PATCH if canned.patch.is_empty() => (StatusCode::NO_CONTENT, &canned.patch),
        Method::PATCH => (StatusCode::OK, &canned.patch),
        _ if query.contains("filter=") => (StatusCode::OK, &canned.filter),
        _ if query.contains("count=") => (StatusCode::OK, &canned.page),
        _ => (StatusCode::OK, &canned.get),
    };
    let mut response = Response::new(Body::from(bytes.clone()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/scim+json"),
    );
    response
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::var("BASELINE_DIR").map_err(|_| "set BASELINE_DIR")?;
    let read = |name: &str| -> std::io::Result<Bytes> {
        std::fs::read(format!("{dir}/{name}.json")).map(Bytes::from)
    };
    let canned = Arc::new(Canned {
        get: read("get")?,
        filter: read("filter")?,
        page: read("page")?,
        create: read("create")?,
        patch: read("patch")?,
    });
    let addr = std::env::var("SCIM_ADDR").unwrap_or_else(|_| "127.0.0.1:18081".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("baseline on http://{addr}");
    axum::serve(listener, Router::new().fallback(answer).with_state(canned)).await?;
    Ok(())
}
