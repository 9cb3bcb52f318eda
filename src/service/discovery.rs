//! `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas`, generated from the
//! registry and the limits so that they never say what the service does not do.

use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::Value;

use super::lists::list_body;
use super::respond::{json_response, not_found};
use super::ScimService;
use crate::error::ScimError;

impl ScimService {
    pub(super) fn config_response(&self, base: &str) -> Response<Bytes> {
        json_response(
            StatusCode::OK,
            &self.service_provider_config().to_json(Some(base)),
        )
    }

    pub(super) fn resource_types(
        &self,
        base: &str,
        rest: &[&str],
    ) -> Result<Response<Bytes>, ScimError> {
        let registry = &self.inner.registry;
        match rest {
            [] => {
                let all: Vec<Value> = registry
                    .resource_types()
                    .map(|rt| rt.resource_type().to_json(Some(base)))
                    .collect();
                Ok(json_response(
                    StatusCode::OK,
                    &list_body(all.len(), Some(1), all, None),
                ))
            }
            [name] => registry
                .resource_type(name)
                .map(|rt| json_response(StatusCode::OK, &rt.resource_type().to_json(Some(base))))
                .ok_or_else(|| not_found(format!("no resource type {name}"))),
            _ => Err(not_found("no such endpoint")),
        }
    }

    pub(super) fn schemas(&self, base: &str, rest: &[&str]) -> Result<Response<Bytes>, ScimError> {
        let registry = &self.inner.registry;
        match rest {
            [] => {
                let all: Vec<Value> = registry.schemas().map(|s| s.to_json(Some(base))).collect();
                Ok(json_response(
                    StatusCode::OK,
                    &list_body(all.len(), Some(1), all, None),
                ))
            }
            [urn] => registry
                .schema(urn)
                .map(|s| json_response(StatusCode::OK, &s.to_json(Some(base))))
                .ok_or_else(|| not_found(format!("no schema {urn}"))),
            _ => Err(not_found("no such endpoint")),
        }
    }
}
