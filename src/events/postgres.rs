//! The activity log in PostgreSQL: every replica records into it and pages from it, so the
//! log survives restarts and shows what every replica did.

use async_trait::async_trait;
use deadpool_postgres::Pool;
use tokio_postgres::types::Json;

use super::{Event, EventSink, LogPage, Logged};
use crate::store::StoreError;

/// An activity log in a PostgreSQL database (the tables `scim_activity` and
/// `scim_activity_heads`, made by
/// [`PostgresStore::migrate`](crate::store::PostgresStore::migrate)): each tenant's events
/// numbered in the tenant, the newest `capacity` kept, paged newest first as
/// [`MemoryEventLog`](super::MemoryEventLog) pages them.
#[derive(Clone)]
pub struct PostgresEventLog {
    pool: Pool,
    capacity: i64,
}

impl std::fmt::Debug for PostgresEventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresEventLog")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// The key of a tenant's log: `''` for requests refused before they named one.
fn key(tenant: Option<&str>) -> &str {
    tenant.unwrap_or("")
}

fn failed(err: tokio_postgres::Error) -> StoreError {
    match crate::pg::classify(&err) {
        crate::pg::Class::Internal | crate::pg::Class::Unstorable => StoreError::internal(err),
        _ => StoreError::unavailable(err),
    }
}

impl PostgresEventLog {
    /// A log on `pool` keeping the newest 10,000 events of each tenant.
    pub fn new(pool: Pool) -> PostgresEventLog {
        PostgresEventLog::with_capacity(pool, 10_000)
    }

    /// A log keeping the newest `capacity` events of each tenant (at least one).
    pub fn with_capacity(pool: Pool, capacity: usize) -> PostgresEventLog {
        PostgresEventLog {
            pool,
            capacity: i64::try_from(capacity.max(1)).unwrap_or(i64::MAX),
        }
    }

    /// Up to `count` events of `tenant` (`None`: requests refused before they were
    /// authenticated), newest first, older than `before` when given (a page's
    /// [`next`](LogPage::next)).
    pub async fn page(
        &self,
        tenant: Option<&str>,
        before: Option<u64>,
        count: usize,
    ) -> Result<LogPage, StoreError> {
        let client = self.pool.get().await.map_err(StoreError::unavailable)?;
        let tenant = key(tenant);
        let before = before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
        let limit = i64::try_from(count).unwrap_or(i64::MAX);
        let rows = client
            .query(
                "SELECT seq, event FROM scim_activity WHERE tenant = $1 AND seq < $2
                 ORDER BY seq DESC LIMIT $3",
                &[&tenant, &before, &limit],
            )
            .await
            .map_err(failed)?;
        let span = client
            .query_one(
                "SELECT count(*), min(seq) FROM scim_activity WHERE tenant = $1",
                &[&tenant],
            )
            .await
            .map_err(failed)?;
        let total: i64 = span.get(0);
        let oldest: Option<i64> = span.get(1);
        let entries = rows
            .iter()
            .map(|r| {
                let seq: i64 = r.get(0);
                let Json(event): Json<Event> = r.try_get(1).map_err(StoreError::internal)?;
                Ok(Logged {
                    seq: seq as u64,
                    event,
                })
            })
            .collect::<Result<Vec<Logged>, StoreError>>()?;
        let next = match entries.last() {
            Some(last) if oldest.is_some_and(|o| (o as u64) < last.seq) => Some(last.seq),
            _ => None,
        };
        Ok(LogPage {
            entries,
            total: total as usize,
            next,
        })
    }

    async fn append(&self, event: &Event) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let tenant = key(event.tenant.as_deref());
        let seq: i64 = tx
            .query_one(
                "INSERT INTO scim_activity_heads (tenant, last_seq) VALUES ($1, 1)
                 ON CONFLICT (tenant) DO UPDATE SET last_seq = scim_activity_heads.last_seq + 1
                 RETURNING last_seq",
                &[&tenant],
            )
            .await?
            .get(0);
        tx.execute(
            "INSERT INTO scim_activity (tenant, seq, event) VALUES ($1, $2, $3)",
            &[&tenant, &seq, &Json(event)],
        )
        .await?;
        // What falls out of the kept window goes in the same transaction.
        tx.execute(
            "DELETE FROM scim_activity WHERE tenant = $1 AND seq <= $2",
            &[&tenant, &(seq - self.capacity)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl EventSink for PostgresEventLog {
    /// Appends the event; a failure to (the database out of reach) is logged as a
    /// `tracing` error event and the event is lost.
    async fn record(&self, event: Event) {
        if let Err(err) = self.append(&event).await {
            #[cfg(feature = "tracing")]
            tracing::error!(error = %err, tenant = event.tenant.as_deref().unwrap_or(""), "an activity event was not recorded");
            #[cfg(not(feature = "tracing"))]
            let _ = err;
        }
    }
}
