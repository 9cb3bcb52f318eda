//! What the service tells the application after each write: the raw material of an
//! activity log, a webhook or a cache invalidation.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// `POST`: the resource was created.
    Created,
    /// `PUT`: the resource was replaced.
    Replaced,
    /// `PATCH`: the resource was modified.
    Patched,
    /// `DELETE`: the resource was deleted.
    Deleted,
    /// `DELETE` on a service that deactivates instead: `active` was set to `false`.
    Deactivated,
}

impl Action {
    /// The action's name, lower-case: `created`, `replaced`, `patched`, `deleted`,
    /// `deactivated`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Replaced => "replaced",
            Action::Patched => "patched",
            Action::Deleted => "deleted",
            Action::Deactivated => "deactivated",
        }
    }
}

/// One write the service made, reported once the store accepted it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Event {
    /// The tenant the request acted for.
    pub tenant: String,
    /// The resource type's name (`User`, `Group`, …).
    pub resource_type: String,
    /// The resource's id.
    pub id: String,
    /// What happened.
    pub action: Action,
    /// The resource's version afterwards (`None` after a delete).
    pub version: Option<String>,
    /// A name for people: `userName`, else `displayName`, when the service had the
    /// resource at hand.
    pub display: Option<String>,
    /// When the service handled the write.
    pub at: DateTime<Utc>,
}

/// Receives an [`Event`] after every successful write.
///
/// Events are reported only for writes the store accepted, in the order the service
/// finished them. The service awaits [`record`](EventSink::record) before it answers, so
/// a slow sink slows writes: hand long work to a queue.
#[async_trait]
pub trait EventSink: Send + Sync {
    /// Takes one event.
    async fn record(&self, event: Event);
}

/// Drops every event: the sink a service has until one is set.
pub(crate) struct Discard;

#[async_trait]
impl EventSink for Discard {
    async fn record(&self, _: Event) {}
}
