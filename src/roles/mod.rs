//! Group-based roles: an ordered list of rules mapping an identity provider's group (by
//! its `displayName`) to a role of the application, with at most one default rule for
//! users in no mapped group.
//!
//! A user in several mapped groups gets the role of the first matching rule in list order;
//! reordering the rules changes who gets what. The service keeps every user's effective
//! role in a [`RoleStore`] up to date: after a user is created or deleted, after a group's
//! membership or name changes, and — when the application calls
//! [`ScimService::recompute_roles`](crate::service::ScimService::recompute_roles) — after
//! the rules change. Each change is reported to the store (the application's hook) and to
//! the activity log as before → after. Only direct membership counts; the group's name is
//! compared without case, as `displayName` is not case-exact.
//!
//! ```
//! use scimkit::roles::{RoleRules, Rule};
//!
//! let mut rules = RoleRules::new(vec![
//!     Rule::group("WindowsAdministrators", "windows-admin"),
//!     Rule::group("Data", "data"),
//!     Rule::default_role("viewer"),
//! ])?;
//! assert_eq!(rules.effective(["data", "WindowsAdministrators"]), Some("windows-admin"));
//! assert_eq!(rules.effective(["Data"]), Some("data"));
//! assert_eq!(rules.effective(["Unmapped"]), Some("viewer"));
//! assert_eq!(rules.effective(Vec::<&str>::new()), Some("viewer"));
//! // Move "Data" to the top: the user in both groups now gets its role.
//! rules.move_rule(1, 0)?;
//! assert_eq!(rules.effective(["data", "WindowsAdministrators"]), Some("data"));
//! # Ok::<(), scimkit::roles::RulesError>(())
//! ```

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use http::StatusCode;

use crate::error::ScimError;

#[cfg(feature = "postgres")]
mod postgres;

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::PostgresRoleStore;

/// One rule: members of `group` get `role`; a default rule's role goes to users in no
/// group any rule maps.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rule {
    /// The group's `displayName`, as the identity provider names it; `None` for a rule
    /// that is only the default.
    pub group: Option<String>,
    /// The application's role.
    pub role: String,
    /// Whether this rule's role is the default.
    pub default: bool,
}

impl Rule {
    /// Members of `group` get `role`.
    pub fn group(group: impl Into<String>, role: impl Into<String>) -> Rule {
        Rule {
            group: Some(group.into()),
            role: role.into(),
            default: false,
        }
    }

    /// Users in no mapped group get `role`.
    pub fn default_role(role: impl Into<String>) -> Rule {
        Rule {
            group: None,
            role: role.into(),
            default: true,
        }
    }

    /// This rule's role is also the default.
    pub fn and_default(mut self) -> Rule {
        self.default = true;
        self
    }

    fn maps(&self, group: &str) -> bool {
        self.group.as_deref().is_some_and(|g| same_name(g, group))
    }
}

/// Group names compare without case (`displayName` is not case-exact).
fn same_name(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

/// Why rules were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RulesError {
    /// A second rule claims to be the default.
    #[error("only one rule can be the default (rules {0} and {1})")]
    TwoDefaults(usize, usize),
    /// A rule with neither a group nor the default flag, or with an empty group name.
    #[error("rule {0} maps no group")]
    NoGroup(usize),
    /// A rule with an empty role.
    #[error("rule {0} has no role")]
    NoRole(usize),
    /// An index past the end of the list.
    #[error("there is no rule {0}")]
    NoSuchRule(usize),
}

/// The ordered rules of one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoleRules {
    rules: Vec<Rule>,
}

impl RoleRules {
    /// Rules in order; refused when two are the default or one maps nothing.
    pub fn new(rules: Vec<Rule>) -> Result<RoleRules, RulesError> {
        let mut default = None;
        for (i, rule) in rules.iter().enumerate() {
            if rule.role.trim().is_empty() {
                return Err(RulesError::NoRole(i));
            }
            let empty_group = rule.group.as_deref().is_some_and(|g| g.trim().is_empty());
            if empty_group || (rule.group.is_none() && !rule.default) {
                return Err(RulesError::NoGroup(i));
            }
            if rule.default {
                if let Some(first) = default {
                    return Err(RulesError::TwoDefaults(first, i));
                }
                default = Some(i);
            }
        }
        Ok(RoleRules { rules })
    }

    /// No rules: nobody has a role.
    pub fn empty() -> RoleRules {
        RoleRules::default()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Adds a rule at the end.
    pub fn push(&mut self, rule: Rule) -> Result<(), RulesError> {
        let mut rules = self.rules.clone();
        rules.push(rule);
        *self = RoleRules::new(rules)?;
        Ok(())
    }

    /// Removes the rule at `index`.
    pub fn remove(&mut self, index: usize) -> Result<Rule, RulesError> {
        if index >= self.rules.len() {
            return Err(RulesError::NoSuchRule(index));
        }
        Ok(self.rules.remove(index))
    }

    /// Moves the rule at `from` to `to`, shifting those between (the up and down arrows of
    /// a settings page).
    pub fn move_rule(&mut self, from: usize, to: usize) -> Result<(), RulesError> {
        let len = self.rules.len();
        for index in [from, to] {
            if index >= len {
                return Err(RulesError::NoSuchRule(index));
            }
        }
        let rule = self.rules.remove(from);
        self.rules.insert(to, rule);
        Ok(())
    }

    /// The default rule's role.
    pub fn default_role(&self) -> Option<&str> {
        self.rules
            .iter()
            .find(|r| r.default)
            .map(|r| r.role.as_str())
    }

    /// The groups the rules map, in rule order.
    pub fn groups(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().filter_map(|r| r.group.as_deref())
    }

    /// Whether a rule maps the group named `group`.
    pub fn maps(&self, group: &str) -> bool {
        self.rules.iter().any(|r| r.maps(group))
    }

    /// The role of a user in the groups named `groups`: the first rule, in order, that
    /// maps one of them; else the default; else none.
    pub fn effective<'g>(&self, groups: impl IntoIterator<Item = &'g str>) -> Option<&str> {
        let groups: Vec<&str> = groups.into_iter().collect();
        self.effective_by(|group| groups.iter().any(|g| same_name(g, group)))
    }

    /// The same, asking `member_of` whether the user is in each mapped group in turn
    /// (so that a store is asked only as far as the first match).
    pub fn effective_by(&self, mut member_of: impl FnMut(&str) -> bool) -> Option<&str> {
        self.rules
            .iter()
            .find(|r| r.group.as_deref().is_some_and(&mut member_of))
            .or_else(|| self.rules.iter().find(|r| r.default))
            .map(|r| r.role.as_str())
    }
}

/// Why a [`RoleStore`] could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RoleStoreError {
    /// The store cannot answer now but may soon (`503`: the identity provider retries).
    #[error("the role store is unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The store failed in a way retrying will not mend (`500`).
    #[error("the role store failed: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<RoleStoreError> for ScimError {
    /// `503` or `500`; what the store said stays out of the response, as the error's
    /// [`source`](std::error::Error::source).
    fn from(err: RoleStoreError) -> ScimError {
        match err {
            RoleStoreError::Unavailable(cause) => ScimError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "the roles are unavailable; try again later",
            )
            .with_cause(cause),
            RoleStoreError::Internal(cause) => ScimError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                "the roles could not be updated",
            )
            .with_cause(cause),
        }
    }
}

/// Where a tenant's rules and its users' effective roles live: the application's hook.
///
/// [`assign`](RoleStore::assign) is how the application learns of a new effective role;
/// it returns the role the user had, so that the change is reported as before → after.
#[async_trait]
pub trait RoleStore: Send + Sync {
    /// The tenant's rules (none: roles are not in use for the tenant).
    async fn rules(&self, tenant: &str) -> Result<Arc<RoleRules>, RoleStoreError>;

    /// Records a user's effective role (`None`: no role, or the user is gone); returns
    /// the one it had.
    async fn assign(
        &self,
        tenant: &str,
        user_id: &str,
        role: Option<&str>,
    ) -> Result<Option<String>, RoleStoreError>;
}

#[async_trait]
impl<R: RoleStore + ?Sized> RoleStore for Arc<R> {
    async fn rules(&self, tenant: &str) -> Result<Arc<RoleRules>, RoleStoreError> {
        (**self).rules(tenant).await
    }

    async fn assign(
        &self,
        tenant: &str,
        user_id: &str,
        role: Option<&str>,
    ) -> Result<Option<String>, RoleStoreError> {
        (**self).assign(tenant, user_id, role).await
    }
}

/// A [`RoleStore`] in memory.
#[derive(Debug, Default)]
pub struct MemoryRoleStore {
    rules: RwLock<HashMap<String, Arc<RoleRules>>>,
    roles: RwLock<HashMap<(String, String), String>>,
}

impl MemoryRoleStore {
    /// No rules and no roles.
    pub fn new() -> MemoryRoleStore {
        MemoryRoleStore::default()
    }

    /// Sets a tenant's rules. Call
    /// [`ScimService::recompute_roles`](crate::service::ScimService::recompute_roles)
    /// afterwards to bring the users' roles up to date.
    pub fn set_rules(&self, tenant: &str, rules: RoleRules) {
        self.rules
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(tenant.to_owned(), Arc::new(rules));
    }

    /// A user's effective role.
    pub fn role(&self, tenant: &str, user_id: &str) -> Option<String> {
        self.roles
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(tenant.to_owned(), user_id.to_owned()))
            .cloned()
    }
}

#[async_trait]
impl RoleStore for MemoryRoleStore {
    async fn rules(&self, tenant: &str) -> Result<Arc<RoleRules>, RoleStoreError> {
        Ok(self
            .rules
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(tenant)
            .cloned()
            .unwrap_or_default())
    }

    async fn assign(
        &self,
        tenant: &str,
        user_id: &str,
        role: Option<&str>,
    ) -> Result<Option<String>, RoleStoreError> {
        let mut roles = self
            .roles
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (tenant.to_owned(), user_id.to_owned());
        Ok(match role {
            Some(role) => roles.insert(key, role.to_owned()),
            None => roles.remove(&key),
        })
    }
}
