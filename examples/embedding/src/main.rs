//! The application: its SCIM endpoint at `http://127.0.0.1:3000/scim/v2`, on its own store.
//!
//! ```text
//! SCIM_TOKEN=a-long-random-token cargo run -p scimkit-example-embedding
//! ```

use scimkit::{BearerToken, ScimService};
use scimkit_example_embedding::{nested, AppStore};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let token = std::env::var("SCIM_TOKEN").map_err(|_| "set SCIM_TOKEN to the IdP's token")?;
    let addr = std::env::var("SCIM_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let scim = ScimService::builder(AppStore::new())
        .authenticator(BearerToken::new(&token))
        .build()?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("SCIM base URL: http://{addr}/scim/v2");
    axum::serve(listener, nested(scim)).await?;
    Ok(())
}
