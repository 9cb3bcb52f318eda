//! The activity log in PostgreSQL: every replica records into it and pages from it, so the
//! log survives restarts and shows what every replica did.

use async_trait::async_trait;
use deadpool_postgres::Pool;
use tokio_postgres::types::Json;

use super::{Event, EventSink, LogPage, Logged};
use crate::store::StoreError;

/// An activity log in a PostgreSQL database (the table `scim_activity`, made by
/// [`PostgresStore::migrate`](crate::store::PostgresStore::migrate)): events numbered in
/// the order they were recorded, each tenant's newest `capacity` kept (trimmed every
/// hundredth event, so a tenant may briefly hold up to a hundred more), paged newest first
/// as [`MemoryEventLog`](super::MemoryEventLog) pages them.
///
/// It is a log, not a feed: recording waits for no disk flush and a failure to record is
/// logged and dropped, so a crash or an outage may lose the last events; the writes they
/// describe are not lost.
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
        // The oldest event of the kept window (older ones await their trimming).
        let floor: i64 = client
            .query_opt(
                "SELECT seq FROM scim_activity WHERE tenant = $1 ORDER BY seq DESC OFFSET ($2::bigint - 1) LIMIT 1",
                &[&tenant, &self.capacity],
            )
            .await
            .map_err(failed)?
            .map_or(0, |r| r.get(0));
        let rows = client
            .query(
                "SELECT seq, event FROM scim_activity WHERE tenant = $1 AND seq >= $2 AND seq < $3
                 ORDER BY seq DESC LIMIT $4",
                &[&tenant, &floor, &before, &limit],
            )
            .await
            .map_err(failed)?;
        let span = client
            .query_one(
                "SELECT count(*), min(seq) FROM scim_activity WHERE tenant = $1 AND seq >= $2",
                &[&tenant, &floor],
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
        // The log is kept as well as the database can without making every request wait
        // for its disk: a crash may lose the last events recorded, never a write.
        tx.batch_execute("SET LOCAL synchronous_commit TO off")
            .await?;
        let tenant = key(event.tenant.as_deref());
        let seq: i64 = tx
            .query_one(
                "INSERT INTO scim_activity (tenant, event) VALUES ($1, $2) RETURNING seq",
                &[&tenant, &Json(event)],
            )
            .await?
            .get(0);
        // What falls out of the kept window goes now and then: one event in a hundred
        // deletes what is older than the tenant's newest `capacity`.
        if seq % 100 == 0 {
            tx.execute(
                "DELETE FROM scim_activity WHERE tenant = $1 AND seq < (
                     SELECT seq FROM scim_activity WHERE tenant = $1
                     ORDER BY seq DESC OFFSET ($2::bigint - 1) LIMIT 1)",
                &[&tenant, &self.capacity],
            )
            .await?;
        }
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
