//! Arbitrary Bulk request bodies through the service, with the activity log and roles on:
//! never a panic or a 500; every operation answered has a status the RFC allows, at most
//! as many as were asked, and every resource a POST created is there afterwards unless a
//! later operation of the request deleted one.
#![no_main]

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use scimkit::auth::BearerToken;
use scimkit::events::MemoryEventLog;
use scimkit::roles::{MemoryRoleStore, RoleRules, Rule};
use scimkit::service::ScimService;
use scimkit::store::MemoryStore;
use serde_json::Value;

/// The in-memory stores never suspend: one poll finishes a request.
fn run<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("an in-memory request suspended"),
    }
}

fn request(method: &str, uri: &str, body: Bytes) -> http::Request<Bytes> {
    http::Request::builder()
        .method(method)
        .uri(uri)
        .header("Authorization", "Bearer fuzz-token")
        .body(body)
        .expect("a request")
}

fuzz_target!(|data: &[u8]| {
    let roles = Arc::new(MemoryRoleStore::new());
    roles.set_rules(
        "t",
        RoleRules::new(vec![Rule::group("G", "g"), Rule::default_role("d")]).expect("rules"),
    );
    let service = ScimService::builder(MemoryStore::new())
        .authenticator(BearerToken::for_tenant("fuzz-token", "t"))
        .events(Arc::new(MemoryEventLog::new()))
        .roles(roles)
        .build()
        .expect("a service");
    let response = run(service.handle(request(
        "POST",
        "/scim/v2/Bulk",
        Bytes::copy_from_slice(data),
    )));
    let status = response.status().as_u16();
    assert!(matches!(status, 200 | 400 | 413), "status {status}");
    let body: Value = serde_json::from_slice(response.body()).expect("a JSON answer");
    if status != 200 {
        return;
    }
    let asked = serde_json::from_slice::<Value>(data)
        .ok()
        .and_then(|v| {
            v.as_object()?
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
                .and_then(|(_, ops)| ops.as_array().map(Vec::len))
        })
        .expect("a 200 answers a request with Operations");
    let ops = body["Operations"].as_array().expect("Operations");
    assert!(ops.len() <= asked);
    let deleted = ops.iter().any(|o| o["status"] == "204");
    for op in ops {
        let status: u16 = op["status"]
            .as_str()
            .expect("a string status")
            .parse()
            .expect("a number");
        assert!(
            matches!(
                status,
                200 | 201 | 204 | 304 | 400 | 404 | 405 | 409 | 412 | 413
            ),
            "operation status {status}: {op}"
        );
        if status == 201 && !deleted {
            let location = op["location"]
                .as_str()
                .expect("a created resource's location");
            let path = location.trim_start_matches("http://localhost");
            let got = run(service.handle(request("GET", path, Bytes::new())));
            assert_eq!(got.status(), 200, "{location}");
        }
    }
});
