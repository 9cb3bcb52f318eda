//! The service's work per request, as instructions: run under `valgrind --tool=callgrind`,
//! which counts instructions — the same count on every run of the same binary, however
//! busy the machine is — where timings on a shared virtual machine move by tens of percent.
//!
//! `MODE` (`get`, `lookup`, `page`, `projected`, `patch` or `post`) is the request repeated
//! `N` times after 1,000 users were created and every rendering read once (`projected` is
//! the page with `excludedAttributes`, rendered afresh). `benches/instructions.sh` runs
//! each mode at `N=0` and `N=2000` and prints the difference per request.

use bytes::Bytes;
use scimkit::{BearerToken, MemoryStore, ScimService};

fn request(method: &str, uri: &str, body: Option<String>) -> http::Request<Bytes> {
    http::Request::builder()
        .method(method)
        .uri(uri)
        .header("Authorization", "Bearer bench-key")
        .header("Content-Type", "application/scim+json")
        .body(body.map(Bytes::from).unwrap_or_default())
        .expect("a request")
}

fn user(name: &str) -> String {
    format!(
        r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"{name}@example.com","externalId":"ext-{name}","active":true,"name":{{"givenName":"Given","familyName":"Family"}},"emails":[{{"value":"{name}@example.com","type":"work","primary":true}}]}}"#
    )
}

fn main() {
    let mode = std::env::var("MODE").unwrap_or_else(|_| "get".into());
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let service = ScimService::builder(MemoryStore::new())
        .authenticator(BearerToken::new("bench-key"))
        .base_url("https://app.example.com/scim/v2")
        .build()
        .expect("a service");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let mut id = String::new();
        for i in 0..1000 {
            let response = service
                .handle(request("POST", "/scim/v2/Users", Some(user(&format!("user-{i:06}")))))
                .await;
            assert_eq!(response.status(), 201);
            if i == 500 {
                let created: serde_json::Value =
                    serde_json::from_slice(response.body()).expect("JSON");
                id = created["id"].as_str().expect("an id").to_owned();
            }
        }
        let one = format!("/scim/v2/Users/{id}");
        let page = "/scim/v2/Users?startIndex=101&count=100";
        let projected = "/scim/v2/Users?startIndex=101&count=100&excludedAttributes=x509Certificates";
        let lookup = "/scim/v2/Users?filter=userName%20eq%20%22user-000500%40example.com%22";
        // Every rendering made once, as a warm server has them.
        for uri in [one.as_str(), page] {
            assert_eq!(service.handle(request("GET", uri, None)).await.status(), 200);
        }
        for k in 0..n {
            let patch = format!(
                r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"replace","path":"active","value":{}}}]}}"#,
                k % 2 == 0
            );
            let response = match mode.as_str() {
                "get" => service.handle(request("GET", &one, None)).await,
                "lookup" => service.handle(request("GET", lookup, None)).await,
                "page" => service.handle(request("GET", page, None)).await,
                "projected" => service.handle(request("GET", projected, None)).await,
                "patch" => service.handle(request("PATCH", &one, Some(patch))).await,
                "post" => {
                    let body = user(&format!("new-{k}"));
                    service.handle(request("POST", "/scim/v2/Users", Some(body))).await
                }
                other => panic!("MODE={other}: not get, lookup, page, projected, patch or post"),
            };
            assert!(response.status().is_success(), "{}", response.status());
        }
    });
}
