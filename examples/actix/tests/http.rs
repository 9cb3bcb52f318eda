//! The actix-web adapter over real HTTP on loopback: a user's life as Entra ID drives it,
//! and a body too large to read.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

const KEY: &str = "http-test-key-0123456789";

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

fn start() -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_actix"))
        .env("SCIM_ADDR", &addr)
        .env("SCIM_API_KEY", KEY)
        .stdout(Stdio::piped())
        .spawn()
        .expect("cargo test builds the example");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("the base URL line").unwrap();
    assert_eq!(first, format!("SCIM base URL: http://{addr}/scim/v2"));
    std::thread::spawn(move || for _ in lines.by_ref() {});
    Server { child, addr }
}

/// One HTTP/1.1 request; the status and the JSON body (`Null` when there is none).
fn request(
    server: &Server,
    method: &str,
    path: &str,
    body: &str,
    key: Option<&str>,
) -> (u16, Value) {
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let auth = key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    // A server may refuse a huge body before reading all of it.
    let _ = write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.addr,
        body.len()
    );
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let (head, body) = response.split_once("\r\n\r\n").expect("a whole response");
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
fn serves_scim_over_http() {
    let server = start();
    let (status, body) = request(&server, "GET", "/scim/v2/Users", "", None);
    assert_eq!((status, body["status"].clone()), (401, json!("401")));
    let user =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen"});
    let (status, created) = request(
        &server,
        "POST",
        "/scim/v2/Users",
        &user.to_string(),
        Some(KEY),
    );
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        created["meta"]["location"],
        format!("http://{}/scim/v2/Users/{id}", server.addr)
    );
    let path = format!("/scim/v2/Users/{id}");
    let deactivate = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    let (status, patched) = request(&server, "PATCH", &path, &deactivate.to_string(), Some(KEY));
    // The example answers PATCH as Entra ID's profile does: 204 and the new ETag.
    assert_eq!((status, patched), (204, Value::Null));
    let (status, got) = request(&server, "GET", &path, "", Some(KEY));
    assert_eq!((status, got["active"].clone()), (200, json!(false)));
    assert_eq!(request(&server, "DELETE", &path, "", Some(KEY)).0, 204);
    assert_eq!(request(&server, "GET", &path, "", Some(KEY)).0, 404);
    // A body over the limit (1 MiB) is refused with a SCIM error, not read whole.
    let huge = format!("{{\"userName\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let (status, err) = request(&server, "POST", "/scim/v2/Users", &huge, Some(KEY));
    assert_eq!((status, err["status"].clone()), (413, json!("413")));
}
