//! The same SCIM server as `examples/server.rs`, under actix-web.
//!
//! ```text
//! SCIM_API_KEY=secret cargo run --example actix
//! ```
//!
//! `SCIM_ADDR` (default `127.0.0.1:8080`) and `SCIM_API_KEY` (generated and printed once
//! when unset) work as for the axum server; the store is the in-memory one.
//!
//! actix-web speaks `http` 0.2, scimkit `http` 1: the glue copies method, URI and
//! headers across, reads the body up to the service's limit, and copies the answer back.

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use scimkit::auth::{BearerToken, PatchResponse};
use scimkit::service::ScimService;
use scimkit::store::MemoryStore;

async fn scim(
    service: web::Data<ScimService>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let response = match body.to_bytes_limited(service.max_body_bytes()).await {
        Ok(Ok(body)) => {
            let mut request = http::Request::builder()
                .method(req.method().as_str())
                .uri(req.uri().to_string());
            for (name, value) in req.headers() {
                request = request.header(name.as_str(), value.as_bytes());
            }
            match request.body(body) {
                Ok(request) => service.handle(request).await,
                Err(_) => return HttpResponse::BadRequest().finish(),
            }
        }
        Ok(Err(_)) => return HttpResponse::BadRequest().finish(),
        Err(_) => service.body_too_large(),
    };
    let mut out = HttpResponse::build(
        actix_web::http::StatusCode::from_u16(response.status().as_u16())
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
    );
    for (name, value) in response.headers() {
        out.append_header((name.as_str(), value.as_bytes()));
    }
    out.body(response.into_body())
}

fn generated_key() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("SCIM_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let (key, generated) = match std::env::var("SCIM_API_KEY") {
        Ok(key) if !key.is_empty() => (key, false),
        _ => (generated_key(), true),
    };
    let base_url = format!("http://{addr}/scim/v2");
    let service = ScimService::builder(MemoryStore::new())
        .authenticator(BearerToken::new(&key, "default"))
        .base_url(&base_url)
        .patch_response(PatchResponse::NoContent)
        .build();
    let data = web::Data::new(service);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(scim))
    })
    .bind(&addr)?;
    println!("SCIM base URL: {base_url}");
    if generated {
        println!("API key (shown once): {key}");
    }
    server.run().await
}
