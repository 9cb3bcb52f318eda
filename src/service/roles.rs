//! Effective roles after writes: which users a write can move to another role, and what
//! their roles are now (see [`crate::roles`]).

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::resources::{display_of, Ctx};
use super::ScimService;
use crate::error::ScimError;
use crate::events::{Action, Change, Event};
use crate::filter::Filter;
use crate::patch::AttributeChange;
use crate::roles::RoleRules;
use crate::store::{Paging, Query, Scope, StoreError};

/// Up to this many users, each user's groups are asked of the store one mapped group at a
/// time; beyond, the mapped groups' members are read once.
const ONE_BY_ONE: usize = 16;

/// A page size for reading whole collections.
const PAGE: usize = 500;

/// A user whose effective role changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleChange {
    /// The user's id.
    pub user_id: String,
    /// The user's `userName`.
    pub display: Option<String>,
    /// The role before.
    pub from: Option<String>,
    /// The role after.
    pub to: Option<String>,
}

/// A JSON string literal for a filter.
fn literal(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

fn member_values(group: &Value) -> impl Iterator<Item = &str> {
    group
        .get("members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|m| m.get("type").and_then(Value::as_str) != Some("Group"))
        .filter_map(|m| m.get("value").and_then(Value::as_str))
}

impl ScimService {
    /// The roles a write may have changed, brought up to date; the users whose role
    /// changed.
    pub(super) async fn update_roles(
        &self,
        ctx: &Ctx<'_, '_>,
        action: Action,
        id: &str,
        resource: Option<&Value>,
        changes: &[AttributeChange],
    ) -> Result<Vec<RoleChange>, ScimError> {
        let Some(roles) = &self.inner.roles else {
            return Ok(Vec::new());
        };
        let tenant = ctx.scope.tenant;
        match (ctx.scope.resource_type, action) {
            ("User", Action::Created | Action::Deleted) => {
                // A new user's id is the service's own, so no group names it yet: the
                // default role. A deleted user has none.
                let role = match action {
                    Action::Created => {
                        let rules = roles.rules(tenant).await?;
                        if rules.is_empty() {
                            return Ok(Vec::new());
                        }
                        rules.default_role().map(str::to_owned)
                    }
                    _ => None,
                };
                let from = roles.assign(tenant, id, role.as_deref()).await?;
                Ok((from != role)
                    .then(|| RoleChange {
                        user_id: id.to_owned(),
                        display: resource.and_then(display_of),
                        from,
                        to: role,
                    })
                    .into_iter()
                    .collect())
            }
            ("Group", _) => {
                let rules = roles.rules(tenant).await?;
                if rules.is_empty() {
                    return Ok(Vec::new());
                }
                let Some(users) = self
                    .group_affects(ctx, &rules, action, id, resource, changes)
                    .await?
                else {
                    return Ok(Vec::new());
                };
                self.settle(tenant, &rules, users).await
            }
            _ => Ok(Vec::new()),
        }
    }

    /// The users whose role a write of a group may change; `None` when the group is not
    /// one the rules map, before or after.
    async fn group_affects(
        &self,
        ctx: &Ctx<'_, '_>,
        rules: &RoleRules,
        action: Action,
        id: &str,
        resource: Option<&Value>,
        changes: &[AttributeChange],
    ) -> Result<Option<Vec<String>>, ScimError> {
        let name_now = resource
            .and_then(|r| r.get("displayName"))
            .and_then(Value::as_str);
        let renamed_from = changes.iter().find_map(|c| match c {
            AttributeChange::Value {
                extension: None,
                name,
                before,
            } if name == "displayName" => Some(before.as_ref().and_then(Value::as_str)),
            _ => None,
        });
        let mapped = match (name_now, renamed_from) {
            (_, Some(before)) => {
                before.is_some_and(|n| rules.maps(n)) || name_now.is_some_and(|n| rules.maps(n))
            }
            (Some(name), None) => rules.maps(name),
            // A membership change answered without the group: ask the store its name.
            (None, None) => self.is_mapped_group(ctx, rules, id).await?,
        };
        if !mapped {
            return Ok(None);
        }
        let mut users: Vec<String> = Vec::new();
        let whole = matches!(action, Action::Created | Action::Deleted) || renamed_from.is_some();
        if whole {
            users.extend(
                resource
                    .into_iter()
                    .flat_map(member_values)
                    .map(str::to_owned),
            );
        }
        for change in changes {
            if let AttributeChange::Members { name, net, .. } = change {
                if name == "members" {
                    users.extend(net.added_values());
                    users.extend(net.removed_values());
                }
            }
        }
        let mut seen = HashSet::new();
        users.retain(|u| seen.insert(u.clone()));
        Ok(Some(users))
    }

    /// Whether the group `id` has a name the rules map.
    async fn is_mapped_group(
        &self,
        ctx: &Ctx<'_, '_>,
        rules: &RoleRules,
        id: &str,
    ) -> Result<bool, ScimError> {
        let names: Vec<String> = rules
            .groups()
            .map(|g| format!("displayName eq {}", literal(g)))
            .collect();
        let text = format!("id eq {} and ({})", literal(id), names.join(" or "));
        Ok(self.count(ctx.scope.tenant, "Group", &text).await? > 0)
    }

    /// How many resources of a type in the caller's tenant match a filter.
    async fn count(
        &self,
        tenant: &str,
        resource_type: &str,
        filter: &str,
    ) -> Result<usize, ScimError> {
        let Some(view) = self.inner.registry.resource_type(resource_type) else {
            return Ok(0);
        };
        let query = Query::new(view)
            .with_filter(filter.parse::<Filter>()?)?
            .with_paging(Paging::Index {
                start_index: 1,
                count: 0,
            });
        let scope = Scope::new(tenant, &view.resource_type().name);
        Ok(self.inner.store.query(&scope, &query).await?.total_results)
    }

    /// Every resource of a type in the caller's tenant matching a filter (all of them
    /// without one), a page at a time.
    async fn each(
        &self,
        tenant: &str,
        resource_type: &str,
        filter: Option<&str>,
        mut f: impl FnMut(&Value),
    ) -> Result<(), ScimError> {
        let Some(view) = self.inner.registry.resource_type(resource_type) else {
            return Ok(());
        };
        let mut query = Query::new(view).with_paging(Paging::Cursor {
            cursor: None,
            count: PAGE,
        });
        if let Some(filter) = filter {
            query = query.with_filter(filter.parse::<Filter>()?)?;
        }
        let scope = Scope::new(tenant, &view.resource_type().name);
        loop {
            let page = self.inner.store.query(&scope, &query).await?;
            page.resources.iter().for_each(|doc| f(doc));
            match page.next_cursor {
                Some(cursor) => query.set_paging(Paging::Cursor {
                    cursor: Some(cursor),
                    count: PAGE,
                }),
                None => return Ok(()),
            }
        }
    }

    /// Computes and assigns the effective role of each of `users` that is a user of the
    /// tenant; the users whose role changed.
    async fn settle(
        &self,
        tenant: &str,
        rules: &RoleRules,
        users: Vec<String>,
    ) -> Result<Vec<RoleChange>, ScimError> {
        let Some(roles) = &self.inner.roles else {
            return Ok(Vec::new());
        };
        let user_scope = Scope::new(tenant, "User");
        // The members of each mapped group, when there are many users to place.
        let mut members: Option<HashMap<String, HashSet<String>>> = None;
        if users.len() > ONE_BY_ONE {
            let mut sets: HashMap<String, HashSet<String>> = HashMap::new();
            for group in rules.groups() {
                let filter = format!("displayName eq {}", literal(group));
                let set = sets.entry(group.to_lowercase()).or_default();
                self.each(tenant, "Group", Some(&filter), |g| {
                    set.extend(member_values(g).map(str::to_owned));
                })
                .await?;
            }
            members = Some(sets);
        }
        let mut changed = Vec::new();
        for user in users {
            let display = match self.inner.store.get(&user_scope, &user).await {
                Ok(resource) => display_of(&resource),
                // A member that is not a user of the tenant (a nested group, a dangling
                // reference) has no role.
                Err(StoreError::NotFound) => continue,
                Err(e) => return Err(e.into()),
            };
            let role = match &members {
                Some(sets) => rules.effective_by(|g| {
                    sets.get(&g.to_lowercase())
                        .is_some_and(|s| s.contains(&user))
                }),
                None => {
                    let mut found = None;
                    for rule in rules.rules() {
                        let Some(group) = &rule.group else { continue };
                        let filter = format!(
                            "displayName eq {} and members[value eq {}]",
                            literal(group),
                            literal(&user)
                        );
                        if self.count(tenant, "Group", &filter).await? > 0 {
                            found = Some(rule.role.as_str());
                            break;
                        }
                    }
                    found.or_else(|| rules.default_role())
                }
            };
            let from = roles.assign(tenant, &user, role).await?;
            if from.as_deref() != role {
                changed.push(RoleChange {
                    user_id: user,
                    display,
                    from,
                    to: role.map(str::to_owned),
                });
            }
        }
        Ok(changed)
    }

    /// The activity log's entry for a role change, by `initiator`.
    pub(super) fn role_event(
        &self,
        tenant: &str,
        initiator: Option<String>,
        change: &RoleChange,
    ) -> Event {
        let mut event = Event::new(
            (self.inner.clock)(),
            Some(tenant.to_owned()),
            Action::RoleChanged,
        );
        event.initiator = initiator;
        event.resource_type = Some("User".into());
        event.id = Some(change.user_id.clone());
        event.display = change.display.clone();
        event.changes = vec![Change::Role {
            from: change.from.clone(),
            to: change.to.clone(),
        }];
        event
    }

    /// Brings every user's effective role in `tenant` up to date with the tenant's rules,
    /// as they are now in the [`RoleStore`](crate::roles::RoleStore): call it after the
    /// application changed them (added, removed or reordered a rule). Each change is
    /// assigned, reported to the activity log (with no initiator) and returned.
    pub async fn recompute_roles(&self, tenant: &str) -> Result<Vec<RoleChange>, ScimError> {
        let Some(roles) = &self.inner.roles else {
            return Ok(Vec::new());
        };
        let rules = roles.rules(tenant).await?;
        let mut users = Vec::new();
        self.each(tenant, "User", None, |u| {
            if let Some(id) = u.get("id").and_then(Value::as_str) {
                users.push(id.to_owned());
            }
        })
        .await?;
        let changes = match rules.is_empty() {
            // No rules: nobody has a role.
            true => {
                let mut changes = Vec::new();
                for user in users {
                    if let Some(from) = roles.assign(tenant, &user, None).await? {
                        changes.push(RoleChange {
                            user_id: user,
                            display: None,
                            from: Some(from),
                            to: None,
                        });
                    }
                }
                changes
            }
            false => self.settle(tenant, &rules, users).await?,
        };
        if let Some(sink) = &self.inner.events {
            for change in &changes {
                sink.record(self.role_event(tenant, None, change)).await;
            }
        }
        Ok(changes)
    }
}
