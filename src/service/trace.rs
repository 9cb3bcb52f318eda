//! What the service tells `tracing` (feature `tracing`, on by default): a span for every
//! request with its method, tenant, resource type and status, an event when it is
//! answered (with its duration), and events for store faults and retried writes. No span
//! or event holds a secret, a query string or a body.
//!
//! The request's span and events are at `DEBUG`, as tower-http's are: a subscriber at
//! `INFO` pays nothing for them. Faults are `ERROR` (a `500`) and `WARN` (a `503`), with the
//! method and tenant in the event itself.

use std::future::Future;

use http::StatusCode;

use crate::error::ScimError;

/// The span of one request.
pub(super) struct Request {
    #[cfg(feature = "tracing")]
    span: tracing::Span,
    /// When it started, when the span is enabled.
    #[cfg(feature = "tracing")]
    started: Option<std::time::Instant>,
}

impl Request {
    /// The span of a request, entered by [`within`](Self::within).
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub(super) fn start(parts: &http::request::Parts) -> Request {
        #[cfg(feature = "tracing")]
        {
            let span = tracing::debug_span!(
                "scim",
                method = %parts.method,
                tenant = tracing::field::Empty,
                resource_type = tracing::field::Empty,
                status = tracing::field::Empty,
            );
            let started = (!span.is_disabled()).then(std::time::Instant::now);
            Request { span, started }
        }
        #[cfg(not(feature = "tracing"))]
        Request {}
    }

    /// `work`, in the request's span.
    #[cfg(feature = "tracing")]
    pub(super) fn within<F: Future>(&self, work: F) -> tracing::instrument::Instrumented<F> {
        use tracing::Instrument;
        work.instrument(self.span.clone())
    }

    /// `work`.
    #[cfg(not(feature = "tracing"))]
    pub(super) fn within<F: Future>(&self, work: F) -> F {
        work
    }

    /// A failure answered: the server's own (5xx) with what caused it.
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub(super) fn failed(&self, err: &ScimError, method: &http::Method, tenant: Option<&str>) {
        #[cfg(feature = "tracing")]
        if err.status().is_server_error() {
            let _entered = self.span.enter();
            fault(err, method.as_str(), tenant);
        }
    }

    /// The request answered with `status`.
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub(super) fn finish(&self, status: StatusCode) {
        #[cfg(feature = "tracing")]
        if let Some(started) = self.started {
            self.span.record("status", status.as_u16());
            let _entered = self.span.enter();
            let micros = started.elapsed().as_micros() as u64;
            tracing::debug!(status = status.as_u16(), micros, "answered");
        }
    }
}

/// The caller's tenant, once authenticated.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(super) fn record_tenant(tenant: &str) {
    #[cfg(feature = "tracing")]
    tracing::Span::current().record("tenant", tenant);
}

/// The resource type the request is for.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(super) fn record_resource_type(name: &str) {
    #[cfg(feature = "tracing")]
    tracing::Span::current().record("resource_type", name);
}

/// A write that lost a race with another write to the same resource, tried again.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(super) fn retry(attempt: usize) {
    #[cfg(feature = "tracing")]
    tracing::debug!(attempt, "the resource changed meanwhile; writing again");
}

/// The server's own failure (5xx) of a request or of a Bulk operation, with what caused
/// it: `ERROR` for a `500`, `WARN` for another (a store unavailable).
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(super) fn fault(err: &ScimError, method: &str, tenant: Option<&str>) {
    #[cfg(feature = "tracing")]
    {
        let cause = std::error::Error::source(err).map(|c| c.to_string());
        match err.status() {
            StatusCode::INTERNAL_SERVER_ERROR => {
                tracing::error!(method, tenant, error = %err, cause, "the request failed")
            }
            s if s.is_server_error() => tracing::warn!(
                method,
                tenant,
                error = %err,
                cause,
                "the request could not be served"
            ),
            _ => {}
        }
    }
}
