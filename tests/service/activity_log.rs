//! The provisioning activity log: Okta's create → update → deactivate → group push, with
//! group-based roles, recorded entry by entry; failures with their status; paging.

use crate::common;

use std::sync::Arc;

use bytes::Bytes;
use chrono::{TimeZone, Utc};
use http::StatusCode;
use scimkit::auth::{Idp, KeyStore, MemoryKeyStore, TenantSettings};
use scimkit::events::{Action, Change, Event, EventSink, MemoryEventLog};
use scimkit::roles::{MemoryRoleStore, RoleRules, Rule};
use scimkit::service::ScimService;
use scimkit::store::MemoryStore;
use serde_json::{json, Value};

const OKTA: &str = "Okta SCIM Client 1.0.0";

fn patch(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

async fn call(
    svc: &ScimService,
    key: &str,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    common::call_with(svc, key, Some(OKTA), method, uri, body).await
}

/// An entry as the test compares it: action, type, display, version, changes, failure.
type Entry = (
    Action,
    Option<String>,
    Option<String>,
    Option<String>,
    Vec<Change>,
    Option<(u16, Option<&'static str>)>,
);

fn entry(event: &Event) -> Entry {
    (
        event.action,
        event.resource_type.clone(),
        event.display.clone(),
        event.version.clone(),
        event.changes.clone(),
        event
            .failure
            .as_ref()
            .map(|f| (f.status, f.scim_type.map(|t| t.as_str()))),
    )
}

fn value(attribute: &str, from: Option<Value>, to: Option<Value>) -> Change {
    Change::Value {
        attribute: attribute.into(),
        from,
        to,
    }
}

fn attribute(attribute: &str) -> Change {
    Change::Attribute {
        attribute: attribute.into(),
    }
}

fn role(from: Option<&str>, to: Option<&str>) -> Change {
    Change::Role {
        from: from.map(str::to_owned),
        to: to.map(str::to_owned),
    }
}

#[tokio::test]
async fn okta_lifecycle_and_group_push_make_exactly_these_entries() {
    let keys = Arc::new(MemoryKeyStore::new());
    let log = Arc::new(MemoryEventLog::new());
    let roles = Arc::new(MemoryRoleStore::new());
    let svc = ScimService::builder(MemoryStore::new())
        .authenticator(Arc::clone(&keys))
        .events(Arc::clone(&log))
        .roles(Arc::clone(&roles))
        .base_url("https://app.example.com/scim/v2")
        .clock(|| Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap())
        .build()
        .unwrap();
    keys.enable("acme", TenantSettings::for_idp(Idp::Okta))
        .await
        .unwrap();
    let key = keys.generate("acme").await.unwrap();
    let key = key.secret();
    roles.set_rules(
        "acme",
        RoleRules::new(vec![
            Rule::group("Engineering", "engineer"),
            Rule::default_role("viewer"),
        ])
        .unwrap(),
    );

    // Create, and the spec test's second create of the same user.
    let (status, user) = call(
        &svc,
        key,
        "POST",
        "/scim/v2/Users",
        Some(common::data("idp/okta-create-user.json")),
    )
    .await;
    assert_eq!(status, 201);
    let uid = user["id"].as_str().unwrap().to_owned();
    let uri = format!("/scim/v2/Users/{uid}");
    let (status, _) = call(
        &svc,
        key,
        "POST",
        "/scim/v2/Users",
        Some(common::data("idp/okta-create-user.json")),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Profile update: the whole user PUT back with a new family name and email.
    let mut put = common::data("idp/okta-create-user.json");
    put["id"] = json!(uid);
    put["name"]["familyName"] = json!("Renamed");
    put["emails"][0]["value"] = json!("renamed@okta.local");
    assert_eq!(call(&svc, key, "PUT", &uri, Some(put)).await.0, 200);
    // Deactivation.
    let deactivate = patch(json!([{"op": "replace", "value": {"active": false}}]));
    assert_eq!(
        call(&svc, key, "PATCH", &uri, Some(deactivate)).await.0,
        200
    );
    // Group push: the group, then its member, then the group goes.
    let create = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering", "members": []});
    let (status, group) = call(&svc, key, "POST", "/scim/v2/Groups", Some(create)).await;
    assert_eq!(status, 201);
    let guri = format!("/scim/v2/Groups/{}", group["id"].as_str().unwrap());
    let add = patch(
        json!([{"op": "add", "path": "members", "value": [{"value": uid, "display": "test.user@okta.local"}]}]),
    );
    assert_eq!(call(&svc, key, "PATCH", &guri, Some(add)).await.0, 200);
    assert_eq!(roles.role("acme", &uid).as_deref(), Some("engineer"));
    assert_eq!(call(&svc, key, "DELETE", &guri, None).await.0, 204);

    let page = log.page(Some("acme"), None, 100);
    let mut events: Vec<&Event> = page.entries.iter().map(|l| &l.event).collect();
    events.reverse(); // oldest first
    for event in &events {
        assert_eq!(event.tenant.as_deref(), Some("acme"));
        assert_eq!(event.initiator.as_deref(), Some(OKTA));
        assert_eq!(
            event.at,
            Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
        );
        assert!(
            !format!("{event:?}").contains("1mz050nq"),
            "the password is in {event:?}"
        );
    }
    let s = |x: &str| Some(x.to_owned());
    let user_name = || s("test.user@okta.local");
    let found: Vec<Entry> = events.iter().map(|e| entry(e)).collect();
    let expected: Vec<Entry> = vec![
        (
            Action::Created,
            s("User"),
            user_name(),
            s("W/\"1\""),
            vec![
                value("active", None, Some(json!(true))),
                value("displayName", None, Some(json!("Test User"))),
                attribute("emails"),
                attribute("externalId"),
                attribute("locale"),
                attribute("name"),
                value("userName", None, Some(json!("test.user@okta.local"))),
            ],
            None,
        ),
        (
            Action::RoleChanged,
            s("User"),
            user_name(),
            None,
            vec![role(None, Some("viewer"))],
            None,
        ),
        (
            Action::Rejected,
            None,
            None,
            None,
            vec![],
            Some((409, Some("uniqueness"))),
        ),
        (
            Action::Replaced,
            s("User"),
            user_name(),
            s("W/\"2\""),
            vec![attribute("emails"), attribute("name")],
            None,
        ),
        (
            Action::Patched,
            s("User"),
            user_name(),
            s("W/\"3\""),
            vec![value("active", Some(json!(true)), Some(json!(false)))],
            None,
        ),
        (
            Action::Created,
            s("Group"),
            s("Engineering"),
            s("W/\"1\""),
            vec![value("displayName", None, Some(json!("Engineering")))],
            None,
        ),
        (
            Action::Patched,
            s("Group"),
            s("Engineering"),
            s("W/\"2\""),
            vec![Change::Members {
                attribute: "members".into(),
                added: vec![uid.clone()],
                removed: vec![],
            }],
            None,
        ),
        (
            Action::RoleChanged,
            s("User"),
            user_name(),
            None,
            vec![role(Some("viewer"), Some("engineer"))],
            None,
        ),
        (
            Action::Deleted,
            s("Group"),
            s("Engineering"),
            None,
            vec![],
            None,
        ),
        (
            Action::RoleChanged,
            s("User"),
            user_name(),
            None,
            vec![role(Some("engineer"), Some("viewer"))],
            None,
        ),
    ];
    assert_eq!(found, expected);
    // Each entry reads as a line of an activity page.
    assert_eq!(
        events[4].to_string(),
        format!("2026-12-01T09:00:00.000Z acme patched User {uid} (test.user@okta.local) by {OKTA}: active: true → false")
    );
    assert_eq!(
        events[2].to_string(),
        format!("2026-12-01T09:00:00.000Z acme rejected by {OKTA}: POST /scim/v2/Users → 409 uniqueness userName is already taken")
    );
}

#[tokio::test]
async fn failures_are_logged_under_their_tenant_or_none() {
    let keys = Arc::new(MemoryKeyStore::new());
    let log = Arc::new(MemoryEventLog::new());
    let svc = ScimService::builder(MemoryStore::new())
        .authenticator(Arc::clone(&keys))
        .events(Arc::clone(&log))
        .tenant_in_path(true)
        .build()
        .unwrap();
    keys.enable("acme", TenantSettings::default())
        .await
        .unwrap();
    let key = keys.generate("acme").await.unwrap();
    // A bad key, even on acme's URL, names no tenant: a path names any tenant anyone
    // likes, and the log keeps nothing for tenants nobody authenticated as. A bad filter
    // and malformed JSON carry their scimType.
    call(&svc, "scim_wrong", "GET", "/scim/v2/acme/Users", None).await;
    call(
        &svc,
        key.secret(),
        "GET",
        "/scim/v2/acme/Users?filter=userName%20eq",
        None,
    )
    .await;
    let request = http::Request::post("/scim/v2/acme/Users")
        .header("Authorization", format!("Bearer {}", key.secret()))
        .body(Bytes::from_static(b"{\"userName\": "))
        .unwrap();
    assert_eq!(svc.handle(request).await.status(), 400);
    // acme's key on another tenant's URL is acme's to see.
    call(&svc, key.secret(), "GET", "/scim/v2/globex/Users", None).await;
    call(&svc, "scim_wrong", "GET", "/elsewhere", None).await;
    let failures: Vec<(u16, Option<&str>, String)> = log
        .page(Some("acme"), None, 10)
        .entries
        .iter()
        .rev()
        .map(|l| {
            let f = l.event.failure.as_ref().unwrap();
            (f.status, f.scim_type.map(|t| t.as_str()), f.path.clone())
        })
        .collect();
    assert_eq!(
        failures,
        [
            (400, Some("invalidFilter"), "/scim/v2/acme/Users".to_owned()),
            (400, Some("invalidSyntax"), "/scim/v2/acme/Users".to_owned()),
            (401, None, "/scim/v2/globex/Users".to_owned()),
        ]
    );
    let orphans: Vec<(u16, String)> = log
        .page(None, None, 10)
        .entries
        .iter()
        .rev()
        .map(|l| {
            let f = l.event.failure.as_ref().unwrap();
            (f.status, f.path.clone())
        })
        .collect();
    assert_eq!(
        orphans,
        [
            (401, "/scim/v2/acme/Users".to_owned()),
            // Without a valid key, nothing is learnt of what a path names.
            (401, "/elsewhere".to_owned())
        ]
    );
    assert_eq!(log.page(Some("globex"), None, 10).total, 0);
    assert!(!format!("{:?}", log.page(Some("acme"), None, 10)).contains(key.secret()));
}

#[tokio::test]
async fn the_memory_log_pages_newest_first_and_keeps_the_newest() {
    let log = MemoryEventLog::with_capacity(5);
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    for i in 0..8 {
        let mut event = Event::new(at, Some("acme".into()), Action::Created);
        event.id = Some(format!("u{i}"));
        log.record(event).await;
        log.record(Event::new(at, Some("globex".into()), Action::Deleted))
            .await;
    }
    let ids = |page: &scimkit::events::LogPage| -> Vec<String> {
        page.entries
            .iter()
            .map(|l| l.event.id.clone().unwrap())
            .collect()
    };
    let first = log.page(Some("acme"), None, 2);
    assert_eq!(
        (ids(&first), first.total),
        (vec!["u7".to_owned(), "u6".to_owned()], 5)
    );
    let second = log.page(Some("acme"), first.next, 2);
    assert_eq!(ids(&second), ["u5", "u4"]);
    let last = log.page(Some("acme"), second.next, 2);
    assert_eq!((ids(&last), last.next), (vec!["u3".to_owned()], None));
    assert_eq!(log.page(Some("globex"), None, 100).total, 5);
    assert_eq!(log.page(Some("nobody"), None, 100).total, 0);
}
