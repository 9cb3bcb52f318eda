//! The provisioning activity log: what the service tells the application after each
//! request that changed something or failed — the raw material of a "SCIM activity" page,
//! a webhook or a cache invalidation.
//!
//! Every successful create, replace, patch and delete is an [`Event`] with the time, the
//! tenant, the resource, the initiator (the identity provider, from its `User-Agent`) and
//! the [`Change`]s: which attributes changed, with before → after for `active`, `userName`
//! and `displayName`, the members added and removed, and effective roles
//! ([`crate::roles`]). Failed requests are events too, with their status and `scimType`
//! ([`Failure`]); no event holds a credential or a request body.
//!
//! [`MemoryEventLog`] keeps the newest events of each tenant and pages through them:
//!
//! ```
//! use std::sync::Arc;
//! use bytes::Bytes;
//! use scimkit::auth::BearerToken;
//! use scimkit::events::{Action, Change, MemoryEventLog};
//! use scimkit::service::ScimService;
//! use scimkit::store::MemoryStore;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let log = Arc::new(MemoryEventLog::new());
//! let service = ScimService::builder(MemoryStore::new())
//!     .authenticator(BearerToken::for_tenant("token", "acme"))
//!     .events(Arc::clone(&log))
//!     .build()
//!     .unwrap();
//! let request = http::Request::post("/scim/v2/Users")
//!     .header("Authorization", "Bearer token")
//!     .header("User-Agent", "Okta SCIM Client 1.0.0")
//!     .body(Bytes::from(r#"{"userName": "bjensen", "active": true}"#))
//!     .unwrap();
//! assert_eq!(service.handle(request).await.status(), 201);
//!
//! let page = log.page(Some("acme"), None, 10);
//! let event = &page.entries[0].event;
//! assert_eq!(event.action, Action::Created);
//! assert_eq!(event.initiator.as_deref(), Some("Okta SCIM Client 1.0.0"));
//! assert!(event.changes.contains(&Change::Value {
//!     attribute: "userName".into(),
//!     from: None,
//!     to: Some("bjensen".into()),
//! }));
//! # });
//! ```

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ScimType;

#[cfg(feature = "postgres")]
mod postgres;

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::PostgresEventLog;

/// What a request did. In JSON, its [`as_str`](Action::as_str) name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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
    /// `DELETE` for a tenant that deactivates instead: `active` was set to `false`.
    Deactivated,
    /// A user's effective role changed because a group, its membership or the rules did.
    RoleChanged,
    /// The request failed: see [`Event::failure`].
    Rejected,
}

impl Action {
    /// The action's name, lower-case: `created`, `replaced`, `patched`, `deleted`,
    /// `deactivated`, `roleChanged`, `rejected`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Replaced => "replaced",
            Action::Patched => "patched",
            Action::Deleted => "deleted",
            Action::Deactivated => "deactivated",
            Action::RoleChanged => "roleChanged",
            Action::Rejected => "rejected",
        }
    }
}

/// One change a write made. In JSON, an object whose `kind` names the variant
/// (`attribute`, `value`, `members`, `role`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Change {
    /// An attribute changed; its values are not recorded (they may be personal data). The
    /// canonical name, URN-qualified for an extension's attribute.
    Attribute {
        /// The attribute.
        attribute: String,
    },
    /// `active`, `userName` or `displayName` changed: before → after, `None` for absent.
    Value {
        /// The attribute.
        attribute: String,
        /// The value before.
        from: Option<Value>,
        /// The value after.
        to: Option<Value>,
    },
    /// Members joined or left (a group's `members`), by `value`, in sorted order.
    Members {
        /// The attribute (`members`).
        attribute: String,
        /// The values added.
        added: Vec<String>,
        /// The values removed.
        removed: Vec<String>,
    },
    /// The user's effective role: before → after, `None` for no role.
    Role {
        /// The role before.
        from: Option<String>,
        /// The role after.
        to: Option<String>,
    },
}

/// Why a request failed, as its client was told — never with its credentials or body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Failure {
    /// The HTTP status.
    pub status: u16,
    /// The SCIM error type, when there is one.
    pub scim_type: Option<ScimType>,
    /// The error's detail.
    pub detail: String,
    /// The request's method (for a Bulk operation, the operation's).
    pub method: String,
    /// The request's path without its query (for a Bulk operation, the operation's).
    pub path: String,
}

/// One thing the service did, or refused to do. It serialises to JSON (camelCase names)
/// and back, for logs kept in a database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Event {
    /// When the service handled it.
    pub at: DateTime<Utc>,
    /// The tenant the caller authenticated as; `None` for a request refused before that
    /// (a `401`, or a path outside the service), whatever tenant its path names.
    pub tenant: Option<String>,
    /// Who sent the request: its `User-Agent` (`Okta SCIM Client 1.0.0`), when it had
    /// one; `None` for changes the application started (new role rules).
    pub initiator: Option<String>,
    /// What happened.
    pub action: Action,
    /// The resource type's name (`User`, `Group`, …), when the request named one.
    pub resource_type: Option<String>,
    /// The resource's id, when known.
    pub id: Option<String>,
    /// A name for people: the resource's `userName`, else its `displayName`.
    pub display: Option<String>,
    /// The resource's version afterwards (`None` after a delete or a failure).
    pub version: Option<String>,
    /// What changed.
    pub changes: Vec<Change>,
    /// Why the request failed, for [`Action::Rejected`].
    pub failure: Option<Failure>,
}

impl Event {
    /// An event with no resource, changes or failure yet.
    pub fn new(at: DateTime<Utc>, tenant: Option<String>, action: Action) -> Event {
        Event {
            at,
            tenant,
            initiator: None,
            action,
            resource_type: None,
            id: None,
            display: None,
            version: None,
            changes: Vec::new(),
            failure: None,
        }
    }
}

fn value_text(value: &Option<Value>) -> String {
    match value {
        None => "(none)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Attribute { attribute } => write!(f, "{attribute}"),
            Change::Value {
                attribute,
                from,
                to,
            } => write!(f, "{attribute}: {} → {}", value_text(from), value_text(to)),
            Change::Members {
                attribute,
                added,
                removed,
            } => write!(f, "{attribute}: +{} −{}", added.len(), removed.len()),
            Change::Role { from, to } => write!(
                f,
                "role: {} → {}",
                from.as_deref().unwrap_or("(none)"),
                to.as_deref().unwrap_or("(none)")
            ),
        }
    }
}

/// One line for people: time, tenant, action, resource, initiator, changes or failure.
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.at.to_rfc3339_opts(SecondsFormat::Millis, true),
            self.tenant.as_deref().unwrap_or("-"),
            self.action.as_str()
        )?;
        if let Some(ty) = &self.resource_type {
            write!(f, " {ty}")?;
        }
        if let Some(id) = &self.id {
            write!(f, " {id}")?;
        }
        if let Some(display) = &self.display {
            write!(f, " ({display})")?;
        }
        if let Some(initiator) = &self.initiator {
            write!(f, " by {initiator}")?;
        }
        if let Some(failure) = &self.failure {
            write!(
                f,
                ": {} {} → {}",
                failure.method, failure.path, failure.status
            )?;
            if let Some(t) = failure.scim_type {
                write!(f, " {}", t.as_str())?;
            }
            write!(f, " {}", failure.detail)?;
        }
        for (i, change) in self.changes.iter().enumerate() {
            write!(f, "{}{change}", if i == 0 { ": " } else { "; " })?;
        }
        Ok(())
    }
}

/// Receives every [`Event`].
///
/// Events come in the order the service finished the requests. The service awaits
/// [`record`](EventSink::record) before it answers, so a slow sink slows requests: hand
/// long work to a queue.
#[async_trait]
pub trait EventSink: Send + Sync {
    /// Takes one event.
    async fn record(&self, event: Event);
}

#[async_trait]
impl<S: EventSink + ?Sized> EventSink for Arc<S> {
    async fn record(&self, event: Event) {
        (**self).record(event).await
    }
}

/// An event as a log keeps it: with its sequence number, which pages by.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    /// Its place in the log: later events have larger numbers.
    pub seq: u64,
    /// The event.
    pub event: Event,
}

/// A page of a tenant's log, newest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogPage {
    /// The events of the page.
    pub entries: Vec<Logged>,
    /// How many events the log holds for the tenant.
    pub total: usize,
    /// Pass as `before` for the next (older) page; `None` on the last page.
    pub next: Option<u64>,
}

/// An activity log in memory: the newest `capacity` events of each tenant (and of
/// requests refused before they were authenticated), paged newest first.
pub struct MemoryEventLog {
    capacity: usize,
    inner: Mutex<LogInner>,
}

#[derive(Default)]
struct LogInner {
    next_seq: u64,
    tenants: HashMap<Option<String>, VecDeque<Logged>>,
}

impl Default for MemoryEventLog {
    fn default() -> MemoryEventLog {
        MemoryEventLog::with_capacity(10_000)
    }
}

impl fmt::Debug for MemoryEventLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryEventLog")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl MemoryEventLog {
    /// A log keeping the newest 10,000 events of each tenant.
    pub fn new() -> MemoryEventLog {
        MemoryEventLog::default()
    }

    /// A log keeping the newest `capacity` events of each tenant (at least one).
    pub fn with_capacity(capacity: usize) -> MemoryEventLog {
        MemoryEventLog {
            capacity: capacity.max(1),
            inner: Mutex::new(LogInner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LogInner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Up to `count` events of `tenant` (`None`: requests refused before they were
    /// authenticated), newest first, older than `before` when given (a page's
    /// [`next`](LogPage::next)).
    pub fn page(&self, tenant: Option<&str>, before: Option<u64>, count: usize) -> LogPage {
        let inner = self.lock();
        let Some(log) = inner.tenants.get(&tenant.map(str::to_owned)) else {
            return LogPage::default();
        };
        // Sequence numbers grow from front to back.
        let end = before.map_or(log.len(), |b| log.partition_point(|e| e.seq < b));
        let entries: Vec<Logged> = log.range(..end).rev().take(count).cloned().collect();
        let next = match entries.last() {
            Some(last) if log.front().is_some_and(|oldest| oldest.seq < last.seq) => Some(last.seq),
            _ => None,
        };
        LogPage {
            entries,
            total: log.len(),
            next,
        }
    }
}

#[async_trait]
impl EventSink for MemoryEventLog {
    async fn record(&self, event: Event) {
        let mut inner = self.lock();
        inner.next_seq += 1;
        let seq = inner.next_seq;
        let log = match inner.tenants.contains_key(&event.tenant) {
            true => inner.tenants.get_mut(&event.tenant).expect("present"),
            false => inner.tenants.entry(event.tenant.clone()).or_default(),
        };
        // The oldest entry goes, and is dropped once the lock is released.
        let _evicted = (log.len() == self.capacity)
            .then(|| log.pop_front())
            .flatten();
        log.push_back(Logged { seq, event });
        drop(inner);
    }
}
