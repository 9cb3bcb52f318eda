//! Group-based roles, with Admin By Request's documented rules: a default role for users
//! in no mapped group, the first rule in list order for users in several, a new role for
//! everyone affected when memberships, group names or the order of the rules change — on
//! the in-memory and the SQLite store.

use crate::common;

use std::sync::Arc;

use http::StatusCode;
use scimkit::auth::BearerToken;
use scimkit::events::{Action, Change, MemoryEventLog};
use scimkit::roles::{MemoryRoleStore, RoleRules, Rule, RulesError};
use scimkit::service::{RoleChange, ScimService};
use scimkit::store::{MemoryStore, ResourceStore};
use serde_json::{json, Value};

const KEY: &str = "roles-test-token";

async fn call(
    svc: &ScimService,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    common::call_with(svc, KEY, Some("Okta SCIM Client 1.0.0"), method, uri, body).await
}

fn patch(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

/// The four roles of Admin By Request's guide, in its order.
fn guide_rules() -> RoleRules {
    RoleRules::new(vec![
        Rule::default_role("Default"),
        Rule::group("ServerSupport", "ServerSupport"),
        Rule::group("WindowsAdministrators", "WindowsAdministrators"),
        Rule::group("Data", "Data"),
    ])
    .unwrap()
}

struct World {
    svc: ScimService,
    roles: Arc<MemoryRoleStore>,
    log: Arc<MemoryEventLog>,
}

impl World {
    fn new(store: impl ResourceStore + 'static) -> World {
        let roles = Arc::new(MemoryRoleStore::new());
        let log = Arc::new(MemoryEventLog::new());
        roles.set_rules("acme", guide_rules());
        let svc = ScimService::builder(store)
            .authenticator(BearerToken::for_tenant(KEY, "acme"))
            .roles(Arc::clone(&roles))
            .events(Arc::clone(&log))
            .build()
            .unwrap();
        World { svc, roles, log }
    }

    async fn user(&self, name: &str) -> String {
        let (status, user) = call(
            &self.svc,
            "POST",
            "/scim/v2/Users",
            Some(json!({"userName": name})),
        )
        .await;
        assert_eq!(status, 201, "{user}");
        user["id"].as_str().unwrap().to_owned()
    }

    async fn group(&self, name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        let (status, group) = call(
            &self.svc,
            "POST",
            "/scim/v2/Groups",
            Some(json!({"displayName": name, "members": members})),
        )
        .await;
        assert_eq!(status, 201, "{group}");
        format!("/scim/v2/Groups/{}", group["id"].as_str().unwrap())
    }

    fn role(&self, id: &str) -> Option<String> {
        self.roles.role("acme", id)
    }

    /// The role changes the activity log shows, oldest first: (user, from, to).
    fn logged_role_changes(&self) -> Vec<(String, Option<String>, Option<String>)> {
        let mut out: Vec<_> = self
            .log
            .page(Some("acme"), None, 10_000)
            .entries
            .into_iter()
            .filter(|l| l.event.action == Action::RoleChanged)
            .map(|l| match &l.event.changes[..] {
                [Change::Role { from, to }] => {
                    (l.event.id.clone().unwrap(), from.clone(), to.clone())
                }
                other => panic!("{other:?}"),
            })
            .collect();
        out.reverse();
        out
    }
}

async fn guide_scenario(world: World) {
    let s = |x: &str| Some(x.to_owned());
    // As soon as a user is synchronised, it has the default role.
    let otto = world.user("otto.redding").await;
    let olivia = world.user("olivia.lim").await;
    let owen = world.user("owen.clive").await;
    let wanda = world.user("wanda.both").await;
    for id in [&otto, &olivia, &owen, &wanda] {
        assert_eq!(world.role(id), s("Default"));
    }
    // Groups pushed: Otto is in no mapped group, Olivia and Owen in Data, Wanda in Data and
    // WindowsAdministrators; ServerSupport is empty.
    let data = world.group("Data", &[&olivia, &owen, &wanda]).await;
    let windows = world.group("WindowsAdministrators", &[&wanda]).await;
    world.group("ServerSupport", &[]).await;
    world.group("Marketing", &[&otto]).await;
    assert_eq!(world.role(&otto), s("Default"), "no mapped group");
    assert_eq!(world.role(&olivia), s("Data"), "one mapped group");
    assert_eq!(world.role(&owen), s("Data"));
    assert_eq!(
        world.role(&wanda),
        s("WindowsAdministrators"),
        "two groups: the first rule"
    );

    // The rules reordered: Data above WindowsAdministrators.
    let mut rules = guide_rules();
    rules.move_rule(3, 1).unwrap();
    world.roles.set_rules("acme", rules);
    let changes = world.svc.recompute_roles("acme").await.unwrap();
    assert_eq!(
        changes,
        vec![RoleChange {
            user_id: wanda.clone(),
            display: s("wanda.both"),
            from: s("WindowsAdministrators"),
            to: s("Data"),
        }]
    );
    assert_eq!(world.role(&wanda), s("Data"));
    // And back.
    world.roles.set_rules("acme", guide_rules());
    assert_eq!(world.svc.recompute_roles("acme").await.unwrap().len(), 1);

    // Entra removes Olivia from Data by value: back to the default.
    let remove = patch(json!([{"op": "Remove", "path": "members", "value": [{"value": olivia}]}]));
    assert_eq!(call(&world.svc, "PATCH", &data, Some(remove)).await.0, 200);
    assert_eq!(world.role(&olivia), s("Default"));
    // Wanda leaves WindowsAdministrators: Data is left.
    let leave = patch(json!([{"op": "remove", "path": format!("members[value eq \"{wanda}\"]")}]));
    assert_eq!(
        call(&world.svc, "PATCH", &windows, Some(leave)).await.0,
        200
    );
    assert_eq!(world.role(&wanda), s("Data"));

    // A rename to a name no rule maps takes the role from every member; the old name
    // again gives it back. Names compare without case.
    let rename =
        |name: &str| patch(json!([{"op": "replace", "path": "displayName", "value": name}]));
    assert_eq!(
        call(&world.svc, "PATCH", &data, Some(rename("Data Team")))
            .await
            .0,
        200
    );
    assert_eq!(
        (world.role(&owen), world.role(&wanda)),
        (s("Default"), s("Default"))
    );
    assert_eq!(
        call(&world.svc, "PATCH", &data, Some(rename("DATA")))
            .await
            .0,
        200
    );
    assert_eq!(
        (world.role(&owen), world.role(&wanda)),
        (s("Data"), s("Data"))
    );

    // Okta replaces the group whole (PUT): Owen out, Otto in.
    let put = json!({"displayName": "Data", "members": [{"value": wanda}, {"value": otto}]});
    assert_eq!(call(&world.svc, "PUT", &data, Some(put)).await.0, 200);
    assert_eq!(
        (world.role(&owen), world.role(&otto)),
        (s("Default"), s("Data"))
    );

    // The group deleted: its members fall back to the default.
    assert_eq!(call(&world.svc, "DELETE", &data, None).await.0, 204);
    assert_eq!(
        (world.role(&otto), world.role(&wanda)),
        (s("Default"), s("Default"))
    );
    // A user deleted has no role.
    let uri = format!("/scim/v2/Users/{otto}");
    assert_eq!(call(&world.svc, "DELETE", &uri, None).await.0, 204);
    assert_eq!(world.role(&otto), None);

    // Every change is in the activity log, before → after, in order.
    let d = || s("Default");
    let expected = vec![
        (otto.clone(), None, d()),
        (olivia.clone(), None, d()),
        (owen.clone(), None, d()),
        (wanda.clone(), None, d()),
        (olivia.clone(), d(), s("Data")),
        (owen.clone(), d(), s("Data")),
        (wanda.clone(), d(), s("Data")),
        (wanda.clone(), s("Data"), s("WindowsAdministrators")),
        (wanda.clone(), s("WindowsAdministrators"), s("Data")),
        (wanda.clone(), s("Data"), s("WindowsAdministrators")),
        (olivia.clone(), s("Data"), d()),
        (wanda.clone(), s("WindowsAdministrators"), s("Data")),
        (owen.clone(), s("Data"), d()),
        (wanda.clone(), s("Data"), d()),
        (owen.clone(), d(), s("Data")),
        (wanda.clone(), d(), s("Data")),
        // A PUT's members: those added, then those removed.
        (otto.clone(), d(), s("Data")),
        (owen.clone(), s("Data"), d()),
        (wanda.clone(), s("Data"), d()),
        (otto.clone(), s("Data"), d()),
        (otto.clone(), d(), None),
    ];
    assert_eq!(world.logged_role_changes(), expected);
}

#[tokio::test]
async fn the_guides_rules_on_the_memory_store() {
    guide_scenario(World::new(MemoryStore::new())).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn the_guides_rules_on_the_sqlite_store() {
    let dir = std::env::temp_dir().join(format!("scimkit-roles-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    guide_scenario(World::new(
        scimkit::SqliteStore::open(dir.join("scim.db")).unwrap(),
    ))
    .await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_large_push_places_every_member_as_single_changes_do() {
    // Past 16 users the service reads the mapped groups once instead of asking per user;
    // both ways must agree.
    let world = World::new(MemoryStore::new());
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(world.user(&format!("user{i}")).await);
    }
    let data = world.group("Data", &[]).await;
    let windows = world.group("WindowsAdministrators", &[]).await;
    // Every third user is a Windows administrator, added one request at a time.
    for id in ids.iter().step_by(3) {
        let add = patch(json!([{"op": "add", "path": "members", "value": [{"value": id}]}]));
        assert_eq!(call(&world.svc, "PATCH", &windows, Some(add)).await.0, 200);
    }
    // Then all forty join Data in one request.
    let all: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let add = patch(json!([{"op": "add", "path": "members", "value": all}]));
    assert_eq!(call(&world.svc, "PATCH", &data, Some(add)).await.0, 200);
    for (i, id) in ids.iter().enumerate() {
        let expected = if i % 3 == 0 {
            "WindowsAdministrators"
        } else {
            "Data"
        };
        assert_eq!(world.role(id).as_deref(), Some(expected), "user{i}");
    }
    // And half of them leave in one request.
    let half: Vec<Value> = ids[..20].iter().map(|id| json!({"value": id})).collect();
    let remove = patch(json!([{"op": "remove", "path": "members", "value": half}]));
    assert_eq!(call(&world.svc, "PATCH", &data, Some(remove)).await.0, 200);
    for (i, id) in ids.iter().enumerate() {
        let expected = match (i % 3 == 0, i < 20) {
            (true, _) => "WindowsAdministrators",
            (false, true) => "Default",
            (false, false) => "Data",
        };
        assert_eq!(world.role(id).as_deref(), Some(expected), "user{i}");
    }
}

#[tokio::test]
async fn groups_and_dangling_members_get_no_role() {
    let world = World::new(MemoryStore::new());
    let user = world.user("u").await;
    let inner = world.group("Inner", &[]).await;
    let inner_id = inner.rsplit('/').next().unwrap().to_owned();
    let body = json!({"displayName": "Data", "members": [
        {"value": user}, {"value": inner_id, "type": "Group"}, {"value": "no-such-user"}
    ]});
    assert_eq!(
        call(&world.svc, "POST", "/scim/v2/Groups", Some(body))
            .await
            .0,
        201
    );
    assert_eq!(world.role(&user).as_deref(), Some("Data"));
    assert_eq!(world.role(&inner_id), None);
    assert_eq!(world.role("no-such-user"), None);
}

#[tokio::test]
async fn without_rules_nobody_has_a_role() {
    let world = World::new(MemoryStore::new());
    world.roles.set_rules("acme", RoleRules::empty());
    let id = world.user("u").await;
    world.group("Data", &[&id]).await;
    assert_eq!(world.role(&id), None);
    // Rules arrive: recomputing gives every user a role, and taking them away again
    // takes the roles.
    world.roles.set_rules("acme", guide_rules());
    assert_eq!(world.svc.recompute_roles("acme").await.unwrap().len(), 1);
    assert_eq!(world.role(&id).as_deref(), Some("Data"));
    world.roles.set_rules("acme", RoleRules::empty());
    world.svc.recompute_roles("acme").await.unwrap();
    assert_eq!(world.role(&id), None);
}

#[test]
fn rules_are_checked() {
    assert_eq!(
        RoleRules::new(vec![
            Rule::default_role("a"),
            Rule::group("G", "b").and_default()
        ]),
        Err(RulesError::TwoDefaults(0, 1))
    );
    assert_eq!(
        RoleRules::new(vec![Rule {
            group: None,
            role: "a".into(),
            default: false
        }]),
        Err(RulesError::NoGroup(0))
    );
    assert_eq!(
        RoleRules::new(vec![Rule::group(" ", "a")]),
        Err(RulesError::NoGroup(0))
    );
    assert_eq!(
        RoleRules::new(vec![Rule::group("G", "")]),
        Err(RulesError::NoRole(0))
    );
    let mut rules = guide_rules();
    assert_eq!(rules.move_rule(0, 4), Err(RulesError::NoSuchRule(4)));
    assert_eq!(
        rules.push(Rule::default_role("again")),
        Err(RulesError::TwoDefaults(0, 4))
    );
    assert_eq!(rules, guide_rules(), "a refused change changes nothing");
    // A rule that is a group's and the default: its role for members and for the rest.
    let both = RoleRules::new(vec![
        Rule::group("Staff", "member").and_default(),
        Rule::group("Admins", "admin"),
    ])
    .unwrap();
    assert_eq!(both.effective(["Admins"]), Some("admin"));
    assert_eq!(both.effective(["staff", "admins"]), Some("member"));
    assert_eq!(both.effective(Vec::<&str>::new()), Some("member"));
    assert_eq!(RoleRules::empty().effective(["Admins"]), None);
    let removed = rules.remove(0).unwrap();
    assert_eq!(
        (removed.role.as_str(), rules.default_role()),
        ("Default", None)
    );
    assert_eq!(rules.effective(["Unmapped"]), None, "no default: no role");
}
