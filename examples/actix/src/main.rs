//! scimkit's service under actix-web, on the in-memory store.
//!
//! ```text
//! SCIM_API_KEY=a-long-random-token cargo run -p scimkit-example-actix
//! ```
//!
//! `SCIM_ADDR` (default `127.0.0.1:8080`) and `SCIM_API_KEY` (generated and printed once
//! when unset) work as for the axum server. PATCH is answered as Entra ID's profile
//! answers it: `204` with the new `ETag`.
//!
//! actix-web speaks `http` 0.2 and reads bodies itself, so the adapter is the one place
//! with glue: it copies method, URI and headers across, reads at most the body the
//! request's endpoint takes, and copies the answer back.

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use scimkit::auth::{BearerToken, Idp, TenantSettings};
use scimkit::{MemoryStore, ScimError, ScimService, ScimType};

async fn scim(
    service: web::Data<ScimService>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let mut request = http::Request::builder()
        .method(req.method().as_str())
        .uri(req.uri().to_string());
    for (name, value) in req.headers() {
        request = request.header(name.as_str(), value.as_bytes());
    }
    let Ok(request) = request.body(()) else {
        return HttpResponse::BadRequest().finish();
    };
    let (parts, ()) = request.into_parts();
    let limit = service.body_limit(&parts);
    let response = match body.to_bytes_limited(limit).await {
        Ok(Ok(body)) => service.handle(http::Request::from_parts(parts, body)).await,
        Ok(Err(_)) => ScimError::bad_request(ScimType::InvalidSyntax, "the body could not be read")
            .to_response(),
        Err(_) => ScimError::payload_too_large(limit).to_response(),
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

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("SCIM_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let key = std::env::var("SCIM_API_KEY").ok().filter(|k| !k.is_empty());
    let generated = key.is_none();
    let key = key.unwrap_or_else(|| {
        format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        )
    });
    let base_url = format!("http://{addr}/scim/v2");
    let service = ScimService::builder(MemoryStore::new())
        .authenticator(BearerToken::new(&key))
        .base_url(&base_url)
        .tenant_defaults(TenantSettings::for_idp(Idp::Entra))
        .build()?;
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
    server.run().await?;
    Ok(())
}
