//! The example servers (`cargo run --example server` under axum, `--example actix` under
//! actix-web) over real HTTP on loopback: a user's life as Entra ID drives it, Okta's group
//! push, and bodies too large to read, through each adapter and a socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

const KEY: &str = "http-test-key";

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `target/<profile>/examples/<name>`, which `cargo test` builds with the tests.
fn example_binary(name: &str) -> std::path::PathBuf {
    let mut dir = std::env::current_exe().expect("test binary path");
    dir.pop(); // deps
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

fn start(name: &str) -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(example_binary(name))
        .env("SCIM_ADDR", &addr)
        .env("SCIM_API_KEY", KEY)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the example server was built by cargo test");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines
        .next()
        .expect("the server prints its base URL")
        .unwrap();
    assert_eq!(first, format!("SCIM base URL: http://{addr}/scim/v2"));
    Server { child, addr }
}

/// One HTTP/1.1 request; the status and the JSON body.
fn request(
    server: &Server,
    method: &str,
    path: &str,
    body: Option<&Value>,
    key: Option<&str>,
) -> (u16, Value) {
    raw(
        server,
        method,
        path,
        body.map(Value::to_string).unwrap_or_default(),
        key,
    )
}

/// One HTTP/1.1 request with a body of any text.
fn raw(server: &Server, method: &str, path: &str, body: String, key: Option<&str>) -> (u16, Value) {
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let auth = key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.addr,
        body.len()
    )
    .unwrap_or(()); // A server may refuse a huge body before reading all of it.
    let mut response = String::new();
    // After refusing a huge body a server may reset the connection once it has answered:
    // what arrived before that is the answer.
    let _ = stream.read_to_string(&mut response);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .expect("a complete response");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    if !body.is_empty() {
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/scim+json"),
            "{head}"
        );
    }
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn the_axum_example_serves_scim_over_http() {
    serves_scim_over_http("server");
}

#[test]
fn the_actix_example_serves_scim_over_http() {
    serves_scim_over_http("actix");
}

fn serves_scim_over_http(name: &str) {
    let server = start(name);
    let (status, body) = request(&server, "GET", "/scim/v2/Users", None, None);
    assert_eq!((status, body["status"].clone()), (401, json!("401")));
    let (status, body) = request(
        &server,
        "GET",
        "/scim/v2/Users?filter=userName%20eq%20%22bjensen%22",
        None,
        Some(KEY),
    );
    assert_eq!((status, body["totalResults"].clone()), (200, json!(0)));
    let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen", "active": true});
    let (status, created) = request(&server, "POST", "/scim/v2/Users", Some(&user), Some(KEY));
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        created["meta"]["location"],
        format!("http://{}/scim/v2/Users/{id}", server.addr)
    );
    let deactivate = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    let (status, patched) = request(
        &server,
        "PATCH",
        &format!("/scim/v2/Users/{id}"),
        Some(&deactivate),
        Some(KEY),
    );
    assert_eq!((status, patched["active"].clone()), (200, json!(false)));
    let (status, _) = request(
        &server,
        "DELETE",
        &format!("/scim/v2/Users/{id}"),
        None,
        Some(KEY),
    );
    assert_eq!(status, 204);
    let (status, _) = request(
        &server,
        "GET",
        &format!("/scim/v2/Users/{id}"),
        None,
        Some(KEY),
    );
    assert_eq!(status, 404);
    let (status, spc) = request(
        &server,
        "GET",
        "/scim/v2/ServiceProviderConfig",
        None,
        Some(KEY),
    );
    assert_eq!(
        (status, spc["patch"]["supported"].clone()),
        (200, json!(true))
    );
    // Okta's group push.
    let (_, member) = request(
        &server,
        "POST",
        "/scim/v2/Users",
        Some(&json!({"userName": "okta.member@example.com"})),
        Some(KEY),
    );
    let mid = member["id"].as_str().unwrap();
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Test SCIMv2", "members": []});
    let (status, group) = request(&server, "POST", "/scim/v2/Groups", Some(&group), Some(KEY));
    assert_eq!(status, 201, "{group}");
    let gpath = format!("/scim/v2/Groups/{}", group["id"].as_str().unwrap());
    let add = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": mid, "display": "okta.member@example.com"}]}]});
    let (status, patched) = request(&server, "PATCH", &gpath, Some(&add), Some(KEY));
    assert_eq!(
        (status, patched["members"][0]["value"].clone()),
        (200, json!(mid))
    );
    let check = format!("{gpath}?excludedAttributes=members");
    let (status, got) = request(&server, "GET", &check, None, Some(KEY));
    assert_eq!((status, got.get("members")), (200, None));
    // A body over the limit (1 MiB) is refused with a SCIM error, not read whole.
    let huge = format!("{{\"userName\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let (status, err) = raw(&server, "POST", "/scim/v2/Users", huge, Some(KEY));
    assert_eq!((status, err["status"].clone()), (413, json!("413")));
}
