//! The SCIM server: scimkit's service mounted in an axum application on `127.0.0.1:8080`,
//! with what an application's "SCIM settings" page stands on.
//!
//! ```text
//! cargo run --example server
//! ```
//!
//! On first start it creates the tenant `default`, prints its SCIM URL and an API key once,
//! and keeps the key's digest (never the key) in the database. Every request's activity is
//! printed as a line and kept for the admin endpoints; `RUST_LOG` sets what the service
//! logs (`info` by default: faults; `scimkit=debug`: every request).
//!
//! Environment:
//! - `SCIM_ADDR`: the address to listen on (default `127.0.0.1:8080`; a host name such as
//!   `localhost:8090` works too).
//! - `SCIM_DB`: the SQLite database file (default `scim.db` in the working directory) for
//!   the directory and the tenant's keys; `:memory:` keeps both in memory.
//! - `SCIM_DATABASE_URL`: a PostgreSQL database (`postgres://user@host/db`) for everything
//!   — the directory, the keys, the role rules and users' roles, the activity log — in
//!   place of `SCIM_DB`. Several servers on the same URL behave as one: start as many
//!   replicas as you like behind a load balancer.
//! - `SCIM_API_KEY`: a key of your own (16 characters or more) to be the tenant's only key,
//!   for scripts and tests; nothing is generated then.
//! - `SCIM_IDP`: the identity provider the tenant provisions from (`entra`, `okta`,
//!   `jumpcloud`, `onelogin`, `ping`, `google`, `other`; default `other`). Entra ID's
//!   profile answers PATCH with `204`, the others with the resource.
//! - `SCIM_DEPROVISION=deactivate`: `DELETE` of a user deactivates it instead of removing it
//!   (`delete`, the default, removes it).
//! - `SCIM_ROLES`: group-based roles, `Group=role` pairs in order, `*=role` for the default
//!   (`SCIM_ROLES='Admins=admin,Engineering=engineer,*=viewer'`).
//! - `SCIM_LOG=off`: do not print the activity lines.
//! - `SCIM_ADMIN_TOKEN`: enables the admin endpoints, for requests with this bearer token:
//!   `POST /admin/key` rotates the tenant's key (the new one is in the answer, once),
//!   `GET /admin/activity?count=&before=` pages the activity log, `PUT /admin/roles`
//!   replaces the rules (a JSON body, whatever its `Content-Type`:
//!   `[{"group": "Admins", "role": "admin"}, {"role": "viewer", "default": true}]`) and
//!   answers the roles that changed, `GET /admin/roles/{user id}` tells a user's role.

use std::process::ExitCode;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};

use scimkit::auth::{
    Deprovision, Idp, KeyError, KeyStore, MemoryKeyStore, PostgresKeyStore, SqliteKeyStore,
};
use scimkit::events::{Event, EventSink, LogPage, MemoryEventLog, PostgresEventLog};
use scimkit::roles::{MemoryRoleStore, PostgresRoleStore, RoleRules, RoleStore, Rule};
use scimkit::store::PostgresStore;
use scimkit::{MemoryStore, ResourceStore, ScimService, SqliteStore, TenantSettings};

const TENANT: &str = "default";

/// A SCIM server allocates and frees small JSON values all day: mimalloc does that faster
/// than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Clone)]
struct App {
    service: ScimService,
    keys: Arc<dyn KeyStore>,
    kept: Kept,
    admin: Option<String>,
}

/// Where the activity log and the roles are kept: in this process, or in PostgreSQL for
/// every replica.
#[derive(Clone)]
enum Kept {
    Here {
        log: Arc<MemoryEventLog>,
        roles: Arc<MemoryRoleStore>,
    },
    Postgres {
        log: Arc<PostgresEventLog>,
        roles: Arc<PostgresRoleStore>,
    },
}

impl Kept {
    fn log(&self) -> Arc<dyn EventSink> {
        match self {
            Kept::Here { log, .. } => log.clone(),
            Kept::Postgres { log, .. } => log.clone(),
        }
    }

    fn roles(&self) -> Arc<dyn RoleStore> {
        match self {
            Kept::Here { roles, .. } => roles.clone(),
            Kept::Postgres { roles, .. } => roles.clone(),
        }
    }

    async fn page(&self, before: Option<u64>, count: usize) -> Result<LogPage, String> {
        match self {
            Kept::Here { log, .. } => Ok(log.page(Some(TENANT), before, count)),
            Kept::Postgres { log, .. } => log
                .page(Some(TENANT), before, count)
                .await
                .map_err(|e| e.to_string()),
        }
    }

    async fn set_rules(&self, rules: RoleRules) -> Result<(), String> {
        match self {
            Kept::Here { roles, .. } => {
                roles.set_rules(TENANT, rules);
                Ok(())
            }
            Kept::Postgres { roles, .. } => roles
                .set_rules(TENANT, &rules)
                .await
                .map_err(|e| e.to_string()),
        }
    }

    async fn role(&self, user: &str) -> Result<Option<String>, String> {
        match self {
            Kept::Here { roles, .. } => Ok(roles.role(TENANT, user)),
            Kept::Postgres { roles, .. } => {
                roles.role(TENANT, user).await.map_err(|e| e.to_string())
            }
        }
    }
}

/// The activity log: kept for `/admin/activity`, and printed unless `SCIM_LOG=off`.
struct Activity {
    log: Arc<dyn EventSink>,
    print: bool,
}

#[scimkit::async_trait]
impl EventSink for Activity {
    async fn record(&self, event: Event) {
        if self.print {
            println!("{event}");
        }
        self.log.record(event).await;
    }
}

/// `Group=role,…,*=role` as rules.
fn parse_roles(text: &str) -> Result<RoleRules, String> {
    let mut rules = Vec::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (group, role) = pair
            .split_once('=')
            .ok_or_else(|| format!("{pair:?} is not Group=role"))?;
        rules.push(match group.trim() {
            "*" => Rule::default_role(role.trim()),
            group => Rule::group(group, role.trim()),
        });
    }
    RoleRules::new(rules).map_err(|e| e.to_string())
}

fn admin_allowed(app: &App, headers: &HeaderMap) -> bool {
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match (&app.admin, given) {
        (Some(token), Some(given)) => {
            use subtle::ConstantTimeEq;
            bool::from(token.as_bytes().ct_eq(given.as_bytes()))
        }
        _ => false,
    }
}

async fn rotate_key(State(app): State<App>, headers: HeaderMap) -> Response {
    if !admin_allowed(&app, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match app.keys.rotate(TENANT).await {
        Ok(key) => Json(json!({"id": key.id(), "key": key.secret()})).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

#[derive(serde::Deserialize)]
struct Page {
    count: Option<usize>,
    before: Option<u64>,
}

async fn activity(
    State(app): State<App>,
    headers: HeaderMap,
    Query(page): Query<Page>,
) -> Response {
    if !admin_allowed(&app, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let page = match app
        .kept
        .page(page.before, page.count.unwrap_or(50).min(1000))
        .await
    {
        Ok(page) => page,
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, e).into_response(),
    };
    let entries: Vec<Value> = page
        .entries
        .iter()
        .map(|l| json!({"seq": l.seq, "line": l.event.to_string()}))
        .collect();
    Json(json!({"total": page.total, "next": page.next, "entries": entries})).into_response()
}

#[derive(serde::Deserialize)]
struct RuleBody {
    group: Option<String>,
    role: String,
    #[serde(default)]
    default: bool,
}

/// `PUT /admin/roles`: the body is read as JSON whatever its `Content-Type` says.
async fn set_roles(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    if !admin_allowed(&app, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let body: Vec<RuleBody> = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(e) => {
            let detail = format!("the body must be a JSON list of rules: {e}");
            return (StatusCode::BAD_REQUEST, detail).into_response();
        }
    };
    let rules = body.into_iter().map(|r| Rule {
        group: r.group,
        role: r.role,
        default: r.default,
    });
    let rules = match RoleRules::new(rules.collect()) {
        Ok(rules) => rules,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    if let Err(e) = app.kept.set_rules(rules).await {
        return (StatusCode::SERVICE_UNAVAILABLE, e).into_response();
    }
    match app.service.recompute_roles(TENANT).await {
        Ok(changes) => {
            let changes: Vec<Value> = changes
                .iter()
                .map(|c| json!({"user": c.user_id, "userName": c.display, "from": c.from, "to": c.to}))
                .collect();
            Json(Value::Array(changes)).into_response()
        }
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

async fn role_of(State(app): State<App>, headers: HeaderMap, Path(user): Path<String>) -> Response {
    if !admin_allowed(&app, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match app.kept.role(&user).await {
        Ok(role) => Json(json!({"user": user, "role": role})).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e).into_response(),
    }
}

/// The tenant's settings from the environment.
fn settings() -> Result<TenantSettings, String> {
    let idp = match std::env::var("SCIM_IDP") {
        Ok(name) => name.parse::<Idp>().map_err(|_| {
            let known: Vec<&str> = Idp::ALL.iter().map(|i| i.as_str()).collect();
            format!(
                "SCIM_IDP={name}: not an identity provider (one of {})",
                known.join(", ")
            )
        })?,
        Err(_) => Idp::Other,
    };
    let mut settings = TenantSettings::for_idp(idp);
    settings.deprovision = match std::env::var("SCIM_DEPROVISION").as_deref() {
        Err(_) | Ok("delete") => Deprovision::Delete,
        Ok("deactivate") => Deprovision::Deactivate,
        Ok(other) => {
            return Err(format!(
                "SCIM_DEPROVISION={other}: not `delete` or `deactivate`"
            ))
        }
    };
    Ok(settings)
}

/// The stores `SCIM_DATABASE_URL` or `SCIM_DB` name, and what they are, for messages.
async fn open_stores() -> Result<(Arc<dyn ResourceStore>, Arc<dyn KeyStore>, Kept, String), String>
{
    if let Ok(url) = std::env::var("SCIM_DATABASE_URL") {
        let store = PostgresStore::connect(&url)
            .await
            .map_err(|e| format!("SCIM_DATABASE_URL: {e}"))?;
        let pool = store.pool().clone();
        let kept = Kept::Postgres {
            log: Arc::new(PostgresEventLog::new(pool.clone())),
            roles: Arc::new(PostgresRoleStore::new(pool.clone())),
        };
        let keys = Arc::new(PostgresKeyStore::new(pool));
        return Ok((
            Arc::new(store),
            keys,
            kept,
            "PostgreSQL (SCIM_DATABASE_URL)".into(),
        ));
    }
    let kept = Kept::Here {
        log: Arc::new(MemoryEventLog::new()),
        roles: Arc::new(MemoryRoleStore::new()),
    };
    let db = std::env::var("SCIM_DB").unwrap_or_else(|_| "scim.db".into());
    if db == ":memory:" {
        let keys = Arc::new(MemoryKeyStore::new());
        return Ok((
            Arc::new(MemoryStore::new()),
            keys,
            kept,
            format!("SCIM_DB={db}"),
        ));
    }
    let store = SqliteStore::open(&db).map_err(|e| format!("SCIM_DB={db}: {e}"))?;
    let keys = SqliteKeyStore::open(&db).map_err(|e| format!("SCIM_DB={db}: {e}"))?;
    Ok((
        Arc::new(store),
        Arc::new(keys),
        kept,
        format!("SCIM_DB={db}"),
    ))
}

/// Creates the tenant on first start; returns the key to print, when one was made.
async fn set_up_tenant(
    keys: &dyn KeyStore,
    settings: TenantSettings,
) -> Result<Option<String>, KeyError> {
    let first_start = keys.settings(TENANT).await?.is_none();
    keys.enable(TENANT, settings).await?;
    match std::env::var("SCIM_API_KEY") {
        Ok(own) if !own.is_empty() => {
            // The configured key is the tenant's only key.
            let kept = keys.add(TENANT, &own).await?;
            for key in keys.keys(TENANT).await? {
                if key.id != kept.id {
                    keys.revoke(TENANT, &key.id).await?;
                }
            }
            Ok(None)
        }
        _ if first_start => Ok(Some(keys.generate(TENANT).await?.secret().to_owned())),
        _ => Ok(None),
    }
}

async fn run() -> Result<(), String> {
    let addr = std::env::var("SCIM_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let settings = settings()?;
    let rules = match std::env::var("SCIM_ROLES") {
        Ok(text) => Some(parse_roles(&text).map_err(|e| format!("SCIM_ROLES: {e}"))?),
        Err(_) => None,
    };
    let (store, keys, kept, db) = open_stores().await?;
    let new_key = set_up_tenant(keys.as_ref(), settings)
        .await
        .map_err(|e| format!("setting up the tenant in {db}: {e}"))?;
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("SCIM_ADDR={addr}: {e}"))?;
    let base_url = format!("http://{addr}/scim/v2");
    let service = ScimService::builder(store)
        .authenticator(Arc::clone(&keys))
        .base_url(&base_url)
        .events(Activity {
            log: kept.log(),
            print: std::env::var("SCIM_LOG").as_deref() != Ok("off"),
        })
        .roles(kept.roles())
        .build()
        .map_err(|e| e.to_string())?;
    let app = App {
        service: service.clone(),
        keys,
        kept: kept.clone(),
        admin: std::env::var("SCIM_ADMIN_TOKEN")
            .ok()
            .filter(|t| !t.is_empty()),
    };
    let router = Router::new()
        .route("/admin/key", post(rotate_key))
        .route("/admin/activity", get(activity))
        .route("/admin/roles", put(set_roles))
        .route("/admin/roles/{user}", get(role_of))
        .with_state(app)
        // The whole of the SCIM endpoint: one line.
        .nest_service("/scim/v2", service.clone());
    println!("SCIM base URL: {base_url}");
    println!("Store: {db}");
    match new_key {
        Some(key) => println!("API key (shown once): {key}"),
        None => println!("API key: the one given at first start, or in SCIM_API_KEY"),
    }
    if let Some(rules) = rules {
        // Rules from the environment replace the kept ones: bring the roles up to date.
        kept.set_rules(rules)
            .await
            .map_err(|e| format!("SCIM_ROLES: {e}"))?;
        service
            .recompute_roles(TENANT)
            .await
            .map_err(|e| format!("SCIM_ROLES: {e}"))?;
    }
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scim server: {e}");
            ExitCode::FAILURE
        }
    }
}
