//! Lists: a query's filter and sort translated to SQL ([`crate::sql`]) when they can be,
//! paged in SQL with totals from the counts the triggers keep; otherwise the rows the
//! condition selects are checked, sorted and paged in memory.

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::{db, SqliteStore};
use crate::schema::{AttrKind, Attribute};
use crate::sql::{SqlParam, Translator};
use crate::store::split::page_start;
use crate::store::{paginate, Cursor, Document, Page, Paging, Query, Scope, SortOrder, StoreError};

/// A resource row being read: its sequence number, version and document.
pub(super) struct Row {
    pub(super) seq: i64,
    pub(super) version: i64,
    pub(super) doc: String,
}

impl Row {
    /// A row selected as `seq, version, doc`.
    pub(super) fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
        Ok(Row {
            seq: r.get(0)?,
            version: r.get(1)?,
            doc: r.get(2)?,
        })
    }

    /// Every row a `SELECT seq, version, doc …` statement returns, compiled once per
    /// connection.
    fn all(conn: &Connection, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, StoreError> {
        let mut stmt = conn.prepare_cached(sql).map_err(db)?;
        let rows = stmt
            .query_map(params_from_iter(params.iter()), Row::read)
            .map_err(db)?
            .collect::<Result<Vec<Row>, _>>()
            .map_err(db)?;
        Ok(rows)
    }
}

fn to_sql(param: &SqlParam) -> SqlValue {
    match param {
        SqlParam::Text(s) => SqlValue::Text(s.clone()),
        SqlParam::Integer(i) => SqlValue::Integer(*i),
        SqlParam::Real(r) => SqlValue::Real(*r),
    }
}

impl SqliteStore {
    /// A query SQL cannot answer exactly: the rows the condition selects, checked with the
    /// query's filter, sorted and paged here.
    fn query_in_memory(
        &self,
        scope: &Scope<'_>,
        query: &Query<'_>,
        cond: &str,
        params: &[SqlValue],
    ) -> Result<Page, StoreError> {
        let candidates = self.read(|conn| {
            let rows = Row::all(
                conn,
                &format!(
                    "SELECT r.seq, r.version, r.doc FROM resources AS r WHERE {cond} ORDER BY r.seq"
                ),
                params,
            )?;
            rows.into_iter()
                .map(|row| {
                    let seq = row.seq;
                    self.document(conn, scope, row).map(|d| (seq, d))
                })
                .collect::<Result<Vec<(i64, Document)>, StoreError>>()
        })?;
        let matched: Vec<(i64, Document)> = candidates
            .into_iter()
            .filter(|(_, d)| query.matches(d))
            .collect();
        let page = paginate(
            matched,
            query,
            |(seq, _)| *seq as u64,
            |(_, d)| d.value(),
            |_| true,
        )?;
        Ok(page.map(|(_, d)| d))
    }

    /// The page of a query.
    pub(super) fn page(&self, scope: &Scope<'_>, query: &Query<'_>) -> Result<Page, StoreError> {
        let ty = scope.resource_type.to_ascii_lowercase();
        let view = query.resource_type();
        let split = self.split_attribute(scope).map(str::to_owned);
        let elements = move |attr: &Attribute| -> Option<String> {
            (split.as_deref() == Some(attr.name.as_str())).then(|| {
                "(SELECT m.member AS value, 'object' AS type FROM members AS m WHERE m.seq = r.seq)"
                    .to_owned()
            })
        };
        let mut cond = String::from("r.tenant = ? AND r.type = ?");
        let mut params: Vec<SqlValue> = vec![
            SqlValue::Text(scope.tenant.to_owned()),
            SqlValue::Text(ty.clone()),
        ];
        let translator = Translator::new(&view, "r.doc").with_elements(&elements);
        let mut exact = true;
        if let Some(filter) = query.filter() {
            let sql = translator.filter(filter);
            cond.push_str(" AND ");
            cond.push_str(&sql.sql);
            params.extend(sql.params.iter().map(to_sql));
            exact = sql.exact;
        }
        let mut order = String::from("r.seq");
        let mut sorted_in_sql = true;
        if let Some(sort) = query.sort() {
            sorted_in_sql = false;
            if let Some((key, case_exact)) = translator.sort_key(sort.path()) {
                let dir = match sort.order() {
                    SortOrder::Ascending => "ASC",
                    SortOrder::Descending => "DESC",
                };
                order = if sort.kind() == Some(AttrKind::DateTime) {
                    // By instant, as the evaluator compares them, whatever the offset.
                    format!("scim_instant({key}) IS NULL {dir}, scim_instant({key}) {dir}, r.seq")
                } else if case_exact {
                    format!("({key}) IS NULL {dir}, {key} {dir}, r.seq")
                } else {
                    format!("({key}) IS NULL {dir}, scim_fold({key}) {dir}, {key} {dir}, r.seq")
                };
                sorted_in_sql = true;
            }
        }
        if !exact || !sorted_in_sql {
            return self.query_in_memory(scope, query, &cond, &params);
        }
        let sorted = query.sort().is_some();
        let count = query.paging().count();
        let (skip, after) = page_start(query)?;
        self.read(|conn| {
            let mut page_params = params.clone();
            let mut page_cond = cond.clone();
            if let Some(after) = after {
                page_cond.push_str(" AND r.seq > ?");
                page_params.push(SqlValue::Integer(after));
            }
            page_params.push(SqlValue::Integer(count as i64));
            page_params.push(SqlValue::Integer(i64::try_from(skip).unwrap_or(i64::MAX)));
            let rows = Row::all(
                conn,
                &format!(
                    "SELECT r.seq, r.version, r.doc FROM resources AS r WHERE {page_cond} ORDER BY {order} LIMIT ? OFFSET ?"
                ),
                &page_params,
            )?;
            let last_seq = rows.last().map(|r| r.seq);
            let returned = rows.len();
            // A first page that is not full holds every match (an IdP's lookup by
            // userName or externalId): no need to count them again.
            let total = if skip == 0 && after.is_none() && returned < count {
                returned
            } else if query.filter().is_none() {
                // Every resource of the scope: the count the triggers keep.
                let total: Option<i64> = conn
                    .prepare_cached("SELECT n FROM scope_counts WHERE tenant = ?1 AND type = ?2")
                    .map_err(db)?
                    .query_row(params![scope.tenant, ty], |r| r.get(0))
                    .optional()
                    .map_err(db)?;
                total.unwrap_or(0).max(0) as usize
            } else {
                let total: i64 = conn
                    .prepare_cached(&format!("SELECT count(*) FROM resources AS r WHERE {cond}"))
                    .map_err(db)?
                    .query_row(params_from_iter(params.iter()), |r| r.get(0))
                    .map_err(db)?;
                total as usize
            };
            if matches!(query.paging(), Paging::Cursor { .. }) && skip > total {
                return Err(StoreError::InvalidCursor);
            }
            let resources = rows
                .into_iter()
                .map(|r| self.document(conn, scope, r))
                .collect::<Result<Vec<Document>, _>>()?;
            let next_cursor = match query.paging() {
                Paging::Cursor { .. } if sorted && skip + returned < total => {
                    Some(Cursor::Offset(skip + returned))
                }
                Paging::Cursor { .. } if !sorted && returned == count && returned > 0 => {
                    // More rows after the last one returned?
                    let last = last_seq.unwrap_or(0);
                    let more: bool = conn
                        .prepare_cached(&format!(
                            "SELECT EXISTS (SELECT 1 FROM resources AS r WHERE {cond} AND r.seq > ?)"
                        ))
                        .map_err(db)?
                        .query_row(
                            params_from_iter(
                                params.iter().cloned().chain([SqlValue::Integer(last)]),
                            ),
                            |r| r.get(0),
                        )
                        .map_err(db)?;
                    more.then_some(Cursor::After(last as u64))
                }
                _ => None,
            };
            Ok(Page {
                resources,
                total_results: total,
                next_cursor: next_cursor.map(|c| c.to_string()),
            })
        })
    }
}
