//! Three example servers on one PostgreSQL database (`SCIM_DATABASE_URL`), over real HTTP
//! on loopback, behave as one server: a userName raced for through all three is created
//! once, concurrent membership changes through all three all land, a stale `If-Match` is
//! refused whichever replica wrote the newer version, a key rotated through one fails on
//! the others at once, and writes acknowledged by a replica killed with SIGKILL are found
//! through the others.
//!
//! The server is `host=127.0.0.1 port=5432 user=postgres dbname=test`, or `SCIMKIT_PG`
//! when set (key=value settings); the test works in a schema of its own. Without a server
//! it prints SKIPPED (where `cargo test` shows it) and passes, unless `SCIMKIT_REQUIRE_PG`
//! is set, as `.ci/run` does.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use scimkit::store::tokio_postgres::{self, NoTls};
use serde_json::{json, Value};

const KEY: &str = "replica-test-key-0123456789";
const ADMIN: &str = "replica-admin-token-0123456789";

struct Replica {
    child: Child,
    addr: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn example_binary() -> std::path::PathBuf {
    let mut dir = std::env::current_exe().expect("test binary path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples")
        .join(format!("server{}", std::env::consts::EXE_SUFFIX))
}

/// The settings of a database in a schema of this process's own (made afresh), or `None`
/// when no server answers and none is required.
fn database() -> Option<String> {
    let settings = std::env::var("SCIMKIT_PG")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into());
    let schema = format!("scimkit_replicas_{}", std::process::id());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let made = rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(&settings, NoTls).await?;
        tokio::spawn(connection);
        client
            .batch_execute(&format!(
                "DO $$ DECLARE s text; BEGIN
                   FOR s IN SELECT nspname FROM pg_namespace WHERE nspname LIKE 'scimkit\\_replicas\\_%' LOOP
                     EXECUTE format('DROP SCHEMA %I CASCADE', s);
                   END LOOP;
                 END $$;
                 CREATE SCHEMA {schema};"
            ))
            .await
    });
    match made {
        Ok(()) => Some(format!("{settings} options='-c search_path={schema}'")),
        Err(e) if std::env::var_os("SCIMKIT_REQUIRE_PG").is_none() => {
            skipped(&format!(
                "PostgreSQL at {settings} is not reachable ({e}): the replicas test is skipped"
            ));
            None
        }
        Err(e) => panic!("PostgreSQL at {settings} is required: {e}"),
    }
}

/// Starts a replica on a free port; waits until it listens.
fn replica(url: &str) -> Replica {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(example_binary())
        .env("SCIM_ADDR", &addr)
        .env("SCIM_DATABASE_URL", url)
        .env("SCIM_API_KEY", KEY)
        .env("SCIM_ADMIN_TOKEN", ADMIN)
        .env("SCIM_LOG", "off")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the example server was built by cargo test");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines
        .next()
        .expect("the server prints its base URL")
        .unwrap();
    assert_eq!(first, format!("SCIM base URL: http://{addr}/scim/v2"));
    std::thread::spawn(move || for _ in lines.by_ref() {});
    Replica { child, addr }
}

/// One HTTP/1.1 request; `None` when the connection fails or the answer is cut off.
fn try_send(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Option<(u16, Value)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    write!(stream, "{head}\r\n{body}").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

fn send(
    replica: &Replica,
    method: &str,
    path: &str,
    body: Option<&Value>,
    key: &str,
) -> (u16, Value) {
    let auth = format!("Bearer {key}");
    try_send(
        &replica.addr,
        method,
        path,
        body,
        &[("Authorization", &auth)],
    )
    .expect("the replica answers")
}

#[test]
fn three_replicas_on_one_database_behave_as_one_server() {
    let Some(url) = database() else { return };
    // All three start at once: the migrations run once, under their lock.
    let starting: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || replica(&url))
        })
        .collect();
    let replicas: Vec<Arc<Replica>> = starting
        .into_iter()
        .map(|s| Arc::new(s.join().unwrap()))
        .collect();

    // 100 creates of one userName, spread over the three: one 201, 99 409s.
    let racers: Vec<_> = (0..100)
        .map(|i| {
            let replica = Arc::clone(&replicas[i % 3]);
            std::thread::spawn(move || {
                let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "race@example.com"});
                send(&replica, "POST", "/scim/v2/Users", Some(&user), KEY)
            })
        })
        .collect();
    let mut statuses: Vec<u16> = racers.into_iter().map(|r| r.join().unwrap().0).collect();
    statuses.sort();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        99,
        "{statuses:?}"
    );

    // 50 membership PATCHes of one group through all three: every member lands.
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering"});
    let (status, group) = send(&replicas[0], "POST", "/scim/v2/Groups", Some(&group), KEY);
    assert_eq!(status, 201, "{group}");
    let group_path = format!("/scim/v2/Groups/{}", group["id"].as_str().unwrap());
    let patchers: Vec<_> = (0..50)
        .map(|i| {
            let replica = Arc::clone(&replicas[i % 3]);
            let path = group_path.clone();
            std::thread::spawn(move || {
                let patch = json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "add", "path": "members", "value": [{"value": format!("member-{i}")}]}]
                });
                send(&replica, "PATCH", &path, Some(&patch), KEY).0
            })
        })
        .collect();
    for p in patchers {
        let status = p.join().unwrap();
        assert!(status == 200 || status == 204, "{status}");
    }
    let (_, group) = send(&replicas[1], "GET", &group_path, None, KEY);
    let mut members: Vec<&str> = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    members.sort();
    assert_eq!(members.len(), 50, "{members:?}");

    // A stale If-Match is refused on another replica.
    let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "etag@example.com"});
    let (_, created) = send(&replicas[0], "POST", "/scim/v2/Users", Some(&user), KEY);
    let path = format!("/scim/v2/Users/{}", created["id"].as_str().unwrap());
    let v1 = created["meta"]["version"].as_str().unwrap().to_owned();
    let auth = format!("Bearer {KEY}");
    let replace = |replica: &Replica, name: &str| {
        let body =
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name});
        try_send(
            &replica.addr,
            "PUT",
            &path,
            Some(&body),
            &[("Authorization", &auth), ("If-Match", &v1)],
        )
        .unwrap()
    };
    assert_eq!(replace(&replicas[1], "etag2@example.com").0, 200);
    assert_eq!(replace(&replicas[2], "etag3@example.com").0, 412);

    // A key rotated through one replica fails on the others at once.
    let (status, rotated) = try_send(
        &replicas[0].addr,
        "POST",
        "/admin/key",
        None,
        &[("Authorization", &format!("Bearer {ADMIN}"))],
    )
    .unwrap();
    assert_eq!(status, 200, "{rotated}");
    let new_key = rotated["key"].as_str().unwrap().to_owned();
    for replica in &replicas[1..] {
        assert_eq!(
            send(replica, "GET", "/scim/v2/Users?count=1", None, KEY).0,
            401
        );
        assert_eq!(
            send(replica, "GET", "/scim/v2/Users?count=1", None, &new_key).0,
            200
        );
    }

    // The activity log is the database's: what replica 1 did, replica 3 shows.
    let (status, activity) = try_send(
        &replicas[2].addr,
        "GET",
        "/admin/activity?count=500",
        None,
        &[("Authorization", &format!("Bearer {ADMIN}"))],
    )
    .unwrap();
    assert_eq!(status, 200, "{activity}");
    let lines: Vec<&str> = activity["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_str().unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("race@example.com") && l.contains("created")),
        "{lines:#?}"
    );

    // Writes acknowledged by a replica killed with SIGKILL are found through another.
    let victim = Arc::try_unwrap(replicas.into_iter().next().unwrap())
        .ok()
        .unwrap();
    let survivor = replica(&url);
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let addr = victim.addr.clone();
            let key = KEY.to_owned();
            std::thread::spawn(move || {
                let auth = format!("Bearer {key}");
                let mut acknowledged = Vec::new();
                for i in 0.. {
                    let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("w{w}-{i}@example.com")});
                    match try_send(&addr, "POST", "/scim/v2/Users", Some(&user), &[("Authorization", &auth)]) {
                        Some((201, body)) => acknowledged.push((body["id"].as_str().unwrap().to_owned(), user["userName"].clone())),
                        _ => break,
                    }
                }
                acknowledged
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(700));
    let mut victim = victim;
    victim.child.kill().unwrap(); // SIGKILL
    victim.child.wait().unwrap();
    let acknowledged: Vec<(String, Value)> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    assert!(
        acknowledged.len() > 20,
        "writes were made: {}",
        acknowledged.len()
    );
    for (id, user_name) in &acknowledged {
        let (status, body) = send(&survivor, "GET", &format!("/scim/v2/Users/{id}"), None, KEY);
        assert_eq!(
            (status, &body["userName"]),
            (200, user_name),
            "acknowledged {id} was lost"
        );
    }
}

/// Says that tests were skipped where `cargo test` shows it: straight on the standard
/// error, which the test harness does not capture (it captures `eprintln!`).
fn skipped(why: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
}
