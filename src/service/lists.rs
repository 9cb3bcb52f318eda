//! Lists and searches: `GET /{type}`, `POST /{type}/.search` and the root `/.search`.

use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::{json, Map, Value};

use super::resources::Ctx;
use super::respond::{json_bytes_response, json_response, number, parse_json, ListParams};
use super::{Call, ScimService};
use crate::error::{ScimError, ScimType};
use crate::filter::{AttrPath, Filter};
use crate::resource::LIST_RESPONSE;
use crate::schema::{Projection, ResourceTypeView};
use crate::store::{Paging, Query, Rendering, SortOrder};

/// A list request, for any resource type: the filter and sort as parsed, the page and
/// the projection.
pub(super) struct ListSpec {
    filter: Option<Filter>,
    sort: Option<(AttrPath, SortOrder)>,
    paging: Paging,
    projection: Projection,
}

impl ListSpec {
    /// The query of one resource type.
    fn query<'r>(
        view: ResourceTypeView<'r>,
        filter: Option<Filter>,
        sort: Option<(AttrPath, SortOrder)>,
        paging: Paging,
    ) -> Result<Query<'r>, ScimError> {
        let mut query = Query::new(view).with_paging(paging);
        if let Some(filter) = filter {
            query = query.with_filter(filter)?;
        }
        if let Some((path, order)) = sort {
            query = query.with_sort(path, order);
        }
        Ok(query)
    }
}

impl ScimService {
    /// What a list request asks, whatever the resource type.
    fn list_spec(&self, params: ListParams) -> Result<ListSpec, ScimError> {
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
        Ok(ListSpec {
            filter,
            sort: sort_by.map(|path| (path, sort_order)),
            paging,
            projection,
        })
    }

    pub(super) async fn list(
        &self,
        ctx: &Ctx<'_, '_>,
        params: ListParams,
    ) -> Result<Response<Bytes>, ScimError> {
        let ListSpec {
            filter,
            sort,
            paging,
            projection,
        } = self.list_spec(params)?;
        let start = match paging {
            Paging::Index { start_index, .. } => Some(start_index),
            Paging::Cursor { .. } => None,
        };
        let query = ListSpec::query(*ctx.view, filter, sort, paging)?;
        let page = self.inner.store.query(&ctx.scope, &query).await?;
        if projection.is_default() {
            // Each resource as kept beside its document, or rendered once and kept.
            let rendered: Vec<Rendering<'_>> = page
                .resources
                .iter()
                .map(|doc| self.rendered(ctx.view, doc))
                .collect();
            let body = list_bytes(page.total_results, start, &rendered, page.next_cursor);
            return Ok(json_bytes_response(StatusCode::OK, body));
        }
        let projector = ctx.view.projector(&projection);
        let resources: Vec<Value> = page
            .resources
            .into_iter()
            .map(|r| projector.project(r.into_value()))
            .collect();
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
        let spec = self.list_spec(ListParams::from_search(&parse_json(body)?)?)?;
        let Paging::Index { start_index, count } = spec.paging else {
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
            let paging = Paging::Index {
                start_index: 1,
                count: needed.saturating_sub(resources.len()),
            };
            let query = ListSpec::query(view, spec.filter.clone(), spec.sort.clone(), paging)?;
            let scope = self.scope(call, &view.resource_type().name);
            let page = self.inner.store.query(&scope, &query).await?;
            total += page.total_results;
            let projector = view.projector(&spec.projection);
            resources.extend(
                page.resources
                    .into_iter()
                    .map(|r| projector.project(r.into_value())),
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

pub(super) fn list_body(
    total: usize,
    start_index: Option<usize>,
    resources: Vec<Value>,
    next_cursor: Option<String>,
) -> Value {
    let mut body = list_head(total, start_index, resources.len(), next_cursor);
    body.insert("Resources".into(), Value::Array(resources));
    Value::Object(body)
}

/// A list response's members other than `Resources`.
fn list_head(
    total: usize,
    start_index: Option<usize>,
    items: usize,
    next_cursor: Option<String>,
) -> Map<String, Value> {
    let mut head = Map::new();
    head.insert("schemas".into(), json!([LIST_RESPONSE]));
    head.insert("totalResults".into(), json!(total));
    head.insert("itemsPerPage".into(), json!(items));
    if let Some(start) = start_index {
        head.insert("startIndex".into(), json!(start));
    }
    if let Some(cursor) = next_cursor {
        head.insert("nextCursor".into(), json!(cursor));
    }
    head
}

/// [`list_body`] with resources already serialised, joined without parsing them again.
pub(super) fn list_bytes(
    total: usize,
    start_index: Option<usize>,
    resources: &[Rendering<'_>],
    next_cursor: Option<String>,
) -> Bytes {
    let head = list_head(total, start_index, resources.len(), next_cursor);
    let mut out = serde_json::to_vec(&head).expect("JSON serialises");
    let size: usize = resources.iter().map(|r| r.as_bytes().len() + 1).sum();
    out.reserve(size + 16);
    // `{…}` becomes `{…,"Resources":[…]}`.
    out.pop();
    out.extend_from_slice(b",\"Resources\":[");
    for (i, resource) in resources.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(resource.as_bytes());
    }
    out.extend_from_slice(b"]}");
    Bytes::from(out)
}
