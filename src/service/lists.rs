//! Lists and searches: `GET /{type}`, `POST /{type}/.search` and the root `/.search`.

use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::{json, Value};

use super::resources::Ctx;
use super::respond::{json_response, number, parse_json, ListParams};
use super::{Call, ScimService};
use crate::error::{ScimError, ScimType};
use crate::eval::Matcher;
use crate::filter::{AttrPath, Filter};
use crate::resource::LIST_RESPONSE;
use crate::schema::{AttrKind, Attribute, Projection, ResourceTypeView};
use crate::store::{Paging, Query, SortOrder};

impl ScimService {
    /// The parts of a list request every resource type shares: the query without its
    /// matcher (compiled per type), and the projection.
    fn list_spec(&self, params: ListParams) -> Result<(Query, Projection), ScimError> {
        let limits = &self.inner.limits;
        let filter = match params
            .filter
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
        {
            Some(text) => Some(Filter::parse_with(text, &limits.filter)?),
            None => None,
        };
        let sort_by = match params
            .sort_by
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(text) => Some(text.parse::<AttrPath>().map_err(|e| {
                ScimError::bad_request(ScimType::InvalidValue, format!("sortBy: {e}"))
            })?),
            None => None,
        };
        let sort_order = match params.sort_order.as_deref().map(str::trim) {
            Some(o) if o.eq_ignore_ascii_case("descending") => SortOrder::Descending,
            Some(o) if o.is_empty() || o.eq_ignore_ascii_case("ascending") => SortOrder::Ascending,
            None => SortOrder::Ascending,
            Some(o) => {
                return Err(ScimError::bad_request(
                    ScimType::InvalidValue,
                    format!("sortOrder {o:?} is not ascending or descending"),
                ))
            }
        };
        // `count` is clamped to the maximum; below zero counts as zero.
        let count = number(params.count.as_deref(), "count")?.map_or(limits.default_count, |c| {
            c.clamp(0, limits.max_count as i64) as usize
        });
        let start_index = number(params.start_index.as_deref(), "startIndex")?
            .unwrap_or(1)
            .max(1) as usize;
        let paging = match params.cursor {
            Some(cursor) => Paging::Cursor {
                cursor: Some(cursor).filter(|c| !c.is_empty()),
                count,
            },
            None => Paging::Index { start_index, count },
        };
        let projection =
            Projection::parse(params.attributes.as_deref(), params.excluded.as_deref())?;
        let query = Query {
            filter,
            matcher: None,
            sort_by,
            sort_order,
            sort_case_exact: false,
            paging,
        };
        Ok((query, projection))
    }

    pub(super) async fn list(
        &self,
        ctx: &Ctx<'_, '_>,
        params: ListParams,
    ) -> Result<Response<Bytes>, ScimError> {
        let (mut query, projection) = self.list_spec(params)?;
        typed_query(&mut query, ctx.view)?;
        let page = self.inner.store.query(&ctx.scope, &query).await?;
        let resources: Vec<Value> = page
            .resources
            .into_iter()
            .map(|r| ctx.view.project(r, &projection))
            .collect();
        let start = match query.paging {
            Paging::Index { start_index, .. } => Some(start_index),
            Paging::Cursor { .. } => None,
        };
        Ok(json_response(
            StatusCode::OK,
            &list_body(page.total_results, start, resources, page.next_cursor),
        ))
    }

    /// `POST /.search` at the root: every resource type, in registry order, one index-paged
    /// list (RFC 7644 §3.4.3). Sorting applies within each type.
    pub(super) async fn search_all(
        &self,
        call: &Call<'_>,
        body: &Bytes,
    ) -> Result<Response<Bytes>, ScimError> {
        let (query, projection) = self.list_spec(ListParams::from_search(&parse_json(body)?)?)?;
        let Paging::Index { start_index, count } = query.paging else {
            return Err(ScimError::bad_request(
                ScimType::InvalidValue,
                "cursor paging is per resource type; search /{type}/.search instead",
            ));
        };
        // Enough of each type to fill the page wherever it falls.
        let needed = start_index - 1 + count;
        let mut total = 0;
        let mut resources = Vec::new();
        for view in self.inner.registry.resource_types() {
            let mut typed = query.clone();
            typed.paging = Paging::Index {
                start_index: 1,
                count: needed.saturating_sub(resources.len()),
            };
            typed_query(&mut typed, &view)?;
            let scope = self.scope(call, &view.resource_type().name);
            let page = self.inner.store.query(&scope, &typed).await?;
            total += page.total_results;
            resources.extend(
                page.resources
                    .into_iter()
                    .map(|r| view.project(r, &projection)),
            );
        }
        let page: Vec<Value> = resources
            .into_iter()
            .skip(start_index - 1)
            .take(count)
            .collect();
        Ok(json_response(
            StatusCode::OK,
            &list_body(total, Some(start_index), page, None),
        ))
    }
}

/// Completes a query with what depends on the resource type: the compiled filter, and
/// whether the sort attribute is case-exact.
pub(super) fn typed_query(query: &mut Query, view: &ResourceTypeView<'_>) -> Result<(), ScimError> {
    if let Some(filter) = &query.filter {
        query.matcher = Some(Matcher::new(filter, view)?);
    }
    query.sort_case_exact = query
        .sort_by
        .as_ref()
        .and_then(|path| view.resolve_path(path))
        .is_some_and(|r| {
            let target = match (r.sub_attribute, r.attribute.kind) {
                (None, AttrKind::Complex) => r.attribute.sub_attribute("value"),
                _ => Some(r.target()),
            };
            target.is_some_and(Attribute::compares_case_exact)
        });
    Ok(())
}

pub(super) fn list_body(
    total: usize,
    start_index: Option<usize>,
    resources: Vec<Value>,
    next_cursor: Option<String>,
) -> Value {
    let mut body = json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": resources.len(),
    });
    if let Some(start) = start_index {
        body["startIndex"] = json!(start);
    }
    if let Some(cursor) = next_cursor {
        body["nextCursor"] = json!(cursor);
    }
    body["Resources"] = Value::Array(resources);
    body
}
