//! The example server (`cargo run --example server`, under axum) over real HTTP on
//! loopback: a user's life as Entra ID drives it, Okta's group push, a body too large to
//! read, writes that survive SIGKILL, and the first start a newcomer sees.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

const KEY: &str = "http-test-key-0123456789";

struct Server {
    child: Child,
    addr: String,
    /// The directory of its database, removed with it.
    dir: Option<std::path::PathBuf>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
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

/// Starts an example server on a free port with a fresh SQLite database.
fn start(name: &str) -> Server {
    let dir = std::env::temp_dir().join(format!(
        "scimkit-http-{name}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut server = spawn(name, &dir.join("scim.db").to_string_lossy());
    server.dir = Some(dir);
    server
}

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Starts an example server on a free port with the store `db`.
fn spawn(name: &str, db: &str) -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(example_binary(name))
        .env("SCIM_ADDR", &addr)
        .env("SCIM_API_KEY", KEY)
        .env("SCIM_DB", db)
        // Entra ID's profile: PATCH answered with 204.
        .env("SCIM_IDP", "entra")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the example server was built by cargo test");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines
        .next()
        .expect("the server prints its base URL")
        .unwrap();
    assert_eq!(first, format!("SCIM base URL: http://{addr}/scim/v2"));
    // Keep reading what it prints, so that it never writes to a closed pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    Server {
        child,
        addr,
        dir: None,
    }
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
    if !body.is_empty() && path.starts_with("/scim") {
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/scim+json"),
            "{head}"
        );
    }
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn the_example_serves_scim_over_http() {
    let server = start("server");
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
    // Entra ID's profile answers PATCH with 204 and the new ETag.
    assert_eq!((status, patched), (204, Value::Null));
    let (_, got) = request(
        &server,
        "GET",
        &format!("/scim/v2/Users/{id}"),
        None,
        Some(KEY),
    );
    assert_eq!(got["active"], json!(false));
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
    let (status, _) = request(&server, "PATCH", &gpath, Some(&add), Some(KEY));
    assert_eq!(status, 204);
    let (_, got) = request(&server, "GET", &gpath, None, Some(KEY));
    assert_eq!(got["members"][0]["value"], json!(mid));
    let check = format!("{gpath}?excludedAttributes=members");
    let (status, got) = request(&server, "GET", &check, None, Some(KEY));
    assert_eq!((status, got.get("members")), (200, None));
    // A body over the limit (1 MiB) is refused with a SCIM error, not read whole.
    let huge = format!("{{\"userName\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let (status, err) = raw(&server, "POST", "/scim/v2/Users", huge, Some(KEY));
    assert_eq!((status, err["status"].clone()), (413, json!("413")));
}

/// A server killed with SIGKILL in the middle of a stream of writes loses none it
/// acknowledged: each is there after a restart on the same database file.
#[test]
fn acknowledged_writes_survive_sigkill() {
    let mut server = start("server");
    let dir = server.dir.take().unwrap();
    let db = dir.join("scim.db").to_string_lossy().into_owned();
    let addr = server.addr.clone();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                for i in 0.. {
                    let user = json!({"userName": format!("w{w}-{i}@example.com")});
                    let Some((status, body)) = try_request(&addr, "POST", "/scim/v2/Users", &user)
                    else {
                        break;
                    };
                    if status != 201 {
                        break;
                    }
                    acknowledged.push((
                        body["id"].as_str().unwrap().to_owned(),
                        user["userName"].clone(),
                    ));
                }
                acknowledged
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(700));
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    let acknowledged: Vec<(String, Value)> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    assert!(
        acknowledged.len() > 20,
        "writes were made: {}",
        acknowledged.len()
    );
    eprintln!("{} writes acknowledged before SIGKILL", acknowledged.len());
    let mut restarted = spawn("server", &db);
    restarted.dir = Some(dir);
    for (id, user_name) in &acknowledged {
        let (status, body) = request(
            &restarted,
            "GET",
            &format!("/scim/v2/Users/{id}"),
            None,
            Some(KEY),
        );
        assert_eq!(
            (status, &body["userName"]),
            (200, user_name),
            "acknowledged {id} was lost"
        );
    }
    let (_, list) = request(&restarted, "GET", "/scim/v2/Users?count=0", None, Some(KEY));
    assert!(list["totalResults"].as_u64().unwrap() >= acknowledged.len() as u64);
}

/// A request that may meet a dead server: `None` when the connection fails or the answer
/// is cut off.
fn try_request(addr: &str, method: &str, path: &str, body: &Value) -> Option<(u16, Value)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let body = body.to_string();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {KEY}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let body = serde_json::from_str(body).ok()?;
    Some((status, body))
}

/// Starts the axum example without `SCIM_API_KEY` on `db`: its printed lines, until the
/// key line.
fn start_without_key(db: &std::path::Path, extra: &[(&str, &str)]) -> (Server, Vec<String>) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut command = Command::new(example_binary("server"));
    command
        .env("SCIM_ADDR", &addr)
        .env("SCIM_DB", db)
        .env_remove("SCIM_API_KEY")
        .stdout(Stdio::piped());
    for (k, v) in extra {
        command.env(k, v);
    }
    let mut child = command
        .spawn()
        .expect("the example server was built by cargo test");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let printed: Vec<String> = lines.by_ref().take(3).map(Result::unwrap).collect();
    std::thread::spawn(move || for _ in lines.by_ref() {});
    (
        Server {
            child,
            addr,
            dir: None,
        },
        printed,
    )
}

/// The main job as a newcomer meets it: a default tenant made at first start, its key
/// printed once and kept as a digest, the same key after a restart, a rotation through the
/// admin endpoint, group-based roles from the environment, and Bulk.
#[test]
fn the_example_makes_a_tenant_once_and_keeps_only_digests() {
    let dir = std::env::temp_dir().join(format!("scimkit-first-start-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("scim.db");
    let roles = [
        ("SCIM_ROLES", "Admins=admin,*=viewer"),
        ("SCIM_ADMIN_TOKEN", "admin-token-for-tests"),
    ];
    let (server, printed) = start_without_key(&db, &roles);
    let key = printed[2]
        .strip_prefix("API key (shown once): ")
        .unwrap_or_else(|| panic!("{printed:?}"))
        .to_owned();
    // Bulk over HTTP: a user and a group that refers to it.
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"displayName": "Admins", "members": [{"value": "bulkId:u"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"userName": "first@example.com"}}
    ]});
    let (status, body) = request(&server, "POST", "/scim/v2/Bulk", Some(&bulk), Some(&key));
    assert_eq!(status, 200, "{body}");
    let uid = body["Operations"][0]["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    // The admin endpoints: the user's role, the activity log.
    let (status, role) = request(
        &server,
        "GET",
        &format!("/admin/roles/{uid}"),
        None,
        Some("admin-token-for-tests"),
    );
    assert_eq!((status, role["role"].clone()), (200, json!("admin")));
    assert_eq!(
        request(
            &server,
            "GET",
            &format!("/admin/roles/{uid}"),
            None,
            Some(&key)
        )
        .0,
        401
    );
    let (_, log) = request(
        &server,
        "GET",
        "/admin/activity?count=2",
        None,
        Some("admin-token-for-tests"),
    );
    let newest = log["entries"][0]["line"].as_str().unwrap();
    assert!(
        newest.contains("roleChanged") && newest.contains("viewer → admin"),
        "{newest}"
    );
    drop(server);
    // A restart prints no key, and the first still works.
    let (server, printed) = start_without_key(&db, &roles);
    assert_eq!(
        printed[2],
        "API key: the one given at first start, or in SCIM_API_KEY"
    );
    assert_eq!(
        request(&server, "GET", "/scim/v2/Users", None, Some(&key)).0,
        200
    );
    // Rotation: the new key works at once, the old one fails at once.
    let (status, rotated) = request(
        &server,
        "POST",
        "/admin/key",
        None,
        Some("admin-token-for-tests"),
    );
    assert_eq!(status, 200);
    let new_key = rotated["key"].as_str().unwrap().to_owned();
    assert_eq!(
        request(&server, "GET", "/scim/v2/Users", None, Some(&key)).0,
        401
    );
    assert_eq!(
        request(&server, "GET", "/scim/v2/Users", None, Some(&new_key)).0,
        200
    );
    drop(server);
    // The database never held either key.
    let mut bytes = Vec::new();
    for file in ["scim.db", "scim.db-wal"] {
        bytes.extend(std::fs::read(dir.join(file)).unwrap_or_default());
    }
    for secret in [&key, &new_key] {
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Settings the example cannot use stop it at start with a message naming the setting.
#[test]
fn a_bad_setting_is_named_at_start() {
    for (name, value, says) in [
        (
            "SCIM_IDP",
            "azure",
            "SCIM_IDP=azure: not an identity provider (one of entra,",
        ),
        (
            "SCIM_DEPROVISION",
            "soft",
            "SCIM_DEPROVISION=soft: not `delete` or `deactivate`",
        ),
        (
            "SCIM_ADDR",
            "no-such-host.invalid:8090",
            "SCIM_ADDR=no-such-host.invalid:8090: ",
        ),
        (
            "SCIM_ROLES",
            "Admins",
            "SCIM_ROLES: \"Admins\" is not Group=role",
        ),
    ] {
        let output = Command::new(example_binary("server"))
            .env("SCIM_ADDR", "127.0.0.1:0")
            .env("SCIM_DB", ":memory:")
            .env("SCIM_API_KEY", KEY)
            .env(name, value)
            .output()
            .expect("the example server was built by cargo test");
        assert!(!output.status.success(), "{name}={value} started");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{name}={value}: {stderr}");
    }
}

/// `SCIM_ADDR` may name the host, and `PUT /admin/roles` reads its JSON whatever the
/// `Content-Type` (curl's `-d` sends `application/x-www-form-urlencoded`).
#[test]
fn a_host_name_address_and_roles_without_a_content_type() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("localhost:{port}");
    let mut child = Command::new(example_binary("server"))
        .env("SCIM_ADDR", &addr)
        .env("SCIM_DB", ":memory:")
        .env("SCIM_API_KEY", KEY)
        .env("SCIM_ADMIN_TOKEN", "admin-token-for-tests")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the example server was built by cargo test");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("the base URL line").unwrap();
    assert_eq!(first, format!("SCIM base URL: http://{addr}/scim/v2"));
    std::thread::spawn(move || for _ in lines.by_ref() {});
    let server = Server {
        child,
        addr,
        dir: None,
    };
    let (status, _) = request(&server, "GET", "/scim/v2/Users", None, Some(KEY));
    assert_eq!(status, 200);
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    let body = r#"[{"group": "Admins", "role": "admin"}, {"role": "viewer", "default": true}]"#;
    write!(
        stream,
        "PUT /admin/roles HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer admin-token-for-tests\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.addr,
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}
