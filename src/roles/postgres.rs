//! Role rules and users' roles in PostgreSQL, read from the database on every call, so that
//! rules saved through one replica are what every replica applies.

use std::sync::Arc;

use async_trait::async_trait;
use deadpool_postgres::{Object, Pool};
use tokio_postgres::types::Json;

use super::{RoleRules, RoleStore, RoleStoreError, Rule};

/// A [`RoleStore`] in a PostgreSQL database (the tables `scim_role_rules` and
/// `scim_user_roles`, made by
/// [`PostgresStore::migrate`](crate::store::PostgresStore::migrate)).
#[derive(Clone)]
pub struct PostgresRoleStore {
    pool: Pool,
}

impl std::fmt::Debug for PostgresRoleStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresRoleStore").finish_non_exhaustive()
    }
}

fn failed(err: tokio_postgres::Error) -> RoleStoreError {
    match crate::pg::classify(&err) {
        crate::pg::Class::Internal | crate::pg::Class::Unstorable => {
            RoleStoreError::Internal(Box::new(err))
        }
        _ => RoleStoreError::Unavailable(Box::new(err)),
    }
}

impl PostgresRoleStore {
    /// A role store on `pool`, whose schema is up to date.
    pub fn new(pool: Pool) -> PostgresRoleStore {
        PostgresRoleStore { pool }
    }

    async fn client(&self) -> Result<Object, RoleStoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| RoleStoreError::Unavailable(Box::new(e)))
    }

    /// Sets a tenant's rules. Call
    /// [`ScimService::recompute_roles`](crate::service::ScimService::recompute_roles)
    /// afterwards to bring the users' roles up to date.
    pub async fn set_rules(&self, tenant: &str, rules: &RoleRules) -> Result<(), RoleStoreError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO scim_role_rules (tenant, rules) VALUES ($1, $2)
                 ON CONFLICT (tenant) DO UPDATE SET rules = excluded.rules",
                &[&tenant, &Json(rules.rules())],
            )
            .await
            .map_err(failed)?;
        Ok(())
    }

    /// A user's effective role.
    pub async fn role(
        &self,
        tenant: &str,
        user_id: &str,
    ) -> Result<Option<String>, RoleStoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT role FROM scim_user_roles WHERE tenant = $1 AND user_id = $2",
                &[&tenant, &user_id],
            )
            .await
            .map_err(failed)?;
        Ok(row.map(|r| r.get(0)))
    }
}

#[async_trait]
impl RoleStore for PostgresRoleStore {
    async fn rules(&self, tenant: &str) -> Result<Arc<RoleRules>, RoleStoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT rules FROM scim_role_rules WHERE tenant = $1",
                &[&tenant],
            )
            .await
            .map_err(failed)?;
        let Some(row) = row else {
            return Ok(Arc::default());
        };
        let Json(rules): Json<Vec<Rule>> = row.try_get(0).map_err(failed)?;
        let rules = RoleRules::new(rules).map_err(|e| RoleStoreError::Internal(Box::new(e)))?;
        Ok(Arc::new(rules))
    }

    async fn assign(
        &self,
        tenant: &str,
        user_id: &str,
        role: Option<&str>,
    ) -> Result<Option<String>, RoleStoreError> {
        let client = self.client().await?;
        let row = match role {
            // The role before, read in the statement that replaces it.
            Some(role) => {
                client
                    .query_opt(
                        "WITH old AS (
                         SELECT role FROM scim_user_roles
                         WHERE tenant = $1 AND user_id = $2 FOR UPDATE
                     ), new AS (
                         INSERT INTO scim_user_roles (tenant, user_id, role) VALUES ($1, $2, $3)
                         ON CONFLICT (tenant, user_id) DO UPDATE SET role = excluded.role
                     )
                     SELECT role FROM old",
                        &[&tenant, &user_id, &role],
                    )
                    .await
            }
            None => client
                .query_opt(
                    "DELETE FROM scim_user_roles WHERE tenant = $1 AND user_id = $2 RETURNING role",
                    &[&tenant, &user_id],
                )
                .await,
        };
        Ok(row.map_err(failed)?.map(|r| r.get(0)))
    }
}
