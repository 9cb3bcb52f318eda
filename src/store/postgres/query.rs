//! Reads: a resource by id, and pages — the query's filter and sort translated to SQL
//! ([`crate::sql`], PostgreSQL dialect) when they can be, paged in SQL, with the totals of
//! unfiltered pages from the scope's counter; otherwise the rows the condition selects
//! are checked, sorted and paged in memory.

use deadpool_postgres::Object;
use serde_json::Value;
use tokio_postgres::types::ToSql;

use super::{db, pool_failed, PostgresStore};
use crate::schema::{AttrKind, Attribute};
use crate::sql::{Dialect, SqlParam, Translator};
use crate::store::split::page_start;
use crate::store::{paginate, Cursor, Document, Page, Paging, Query, Scope, SortOrder, StoreError};

/// A resource row as read: its number in the scope, and its document with its members
/// put back.
struct Row {
    seq: i64,
    doc: Document,
}

/// What a page selects of each row: its number, the document, and its members (when the
/// type keeps them apart) in the order they were added.
fn columns(split: bool) -> &'static str {
    if split {
        "r.seq, r.doc, (SELECT jsonb_agg(m.member ORDER BY m.pos) FROM scim_members AS m \
         WHERE m.tenant = r.tenant AND m.type = r.type AND m.seq = r.seq) AS members"
    } else {
        "r.seq, r.doc, NULL::jsonb AS members"
    }
}

impl Row {
    fn read(
        row: &tokio_postgres::Row,
        attribute: Option<&str>,
    ) -> Result<Row, tokio_postgres::Error> {
        let seq: i64 = row.try_get(0)?;
        let mut doc: Value = row.try_get(1)?;
        let members: Option<Value> = row.try_get(2)?;
        if let (Some(attr), Some(members), Some(obj)) = (attribute, members, doc.as_object_mut()) {
            obj.insert(attr.to_owned(), members);
        }
        Ok(Row {
            seq,
            doc: Document::new(doc),
        })
    }
}

/// A statement's arguments: the scope's two, then the condition's (all text, as the
/// dialect binds them), then the page's.
#[derive(Clone)]
struct Args(Vec<Arg>);

#[derive(Clone)]
enum Arg {
    Text(String),
    Int(i64),
}

impl Args {
    fn new(tenant: &str, ty: &str) -> Args {
        Args(vec![Arg::Text(tenant.to_owned()), Arg::Text(ty.to_owned())])
    }

    fn text(&mut self, text: String) {
        self.0.push(Arg::Text(text));
    }

    /// Adds an integer; its placeholder's number.
    fn int(&mut self, n: i64) -> usize {
        self.0.push(Arg::Int(n));
        self.0.len()
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.0
            .iter()
            .map(|a| match a {
                Arg::Text(t) => t as &(dyn ToSql + Sync),
                Arg::Int(n) => n as &(dyn ToSql + Sync),
            })
            .collect()
    }
}

/// How many statements a connection keeps prepared before it forgets them all: filters
/// make statements of many shapes, and a client must not make a connection hold one for
/// each.
const KEPT_STATEMENTS: usize = 256;

/// Runs a read (prepared once per connection) on `client`.
async fn select(
    client: &Object,
    sql: &str,
    args: &Args,
) -> Result<Vec<tokio_postgres::Row>, StoreError> {
    if client.statement_cache.size() >= KEPT_STATEMENTS {
        client.statement_cache.clear();
    }
    let statement = client.prepare_cached(sql).await.map_err(db)?;
    client.query(&statement, &args.refs()).await.map_err(db)
}

impl PostgresStore {
    /// The resource with this id.
    pub(super) async fn read_one(
        &self,
        scope: &Scope<'_>,
        id: &str,
    ) -> Result<Document, StoreError> {
        let attribute = self.split_attribute(scope);
        let sql = format!(
            "SELECT {} FROM scim_resources AS r WHERE r.tenant = $1 AND r.type = $2 AND r.id = $3",
            columns(attribute.is_some())
        );
        let mut args = Args::new(scope.tenant, &scope.resource_type.to_ascii_lowercase());
        args.text(id.to_owned());
        let client = self.pool.get().await.map_err(pool_failed)?;
        let found = select(&client, &sql, &args).await?;
        let row = found.first().ok_or(StoreError::NotFound)?;
        Ok(Row::read(row, attribute).map_err(db)?.doc)
    }

    /// Every row a statement selects, as resources.
    async fn rows(
        client: &Object,
        sql: &str,
        args: &Args,
        attribute: Option<&str>,
    ) -> Result<Vec<Row>, StoreError> {
        select(client, sql, args)
            .await?
            .iter()
            .map(|r| Row::read(r, attribute))
            .collect::<Result<_, _>>()
            .map_err(db)
    }

    /// The page of a query.
    pub(super) async fn page(
        &self,
        scope: &Scope<'_>,
        query: &Query<'_>,
    ) -> Result<Page, StoreError> {
        let ty = scope.resource_type.to_ascii_lowercase();
        let view = query.resource_type();
        let attribute = self.split_attribute(scope);
        // Translated before any wait: the translator is not shared between threads.
        let (cond, mut args, exact, order, sorted_in_sql) = {
            let split = attribute.map(str::to_owned);
            let elements = move |attr: &Attribute| -> Option<String> {
                (split.as_deref() == Some(attr.name.as_str())).then(|| {
                    "(SELECT m.member AS value FROM scim_members AS m \
                     WHERE m.tenant = r.tenant AND m.type = r.type AND m.seq = r.seq)"
                        .to_owned()
                })
            };
            let mut args = Args::new(scope.tenant, &ty);
            let mut cond = String::from("r.tenant = $1 AND r.type = $2");
            let translator = Translator::new(&view, "r.doc")
                .dialect(Dialect::Postgres, 3)
                .with_elements(&elements);
            let mut exact = true;
            if let Some(filter) = query.filter() {
                let sql = translator.filter(filter);
                cond.push_str(" AND ");
                cond.push_str(&sql.sql);
                for param in sql.params {
                    match param {
                        SqlParam::Text(t) => args.text(t),
                        // The PostgreSQL dialect binds every value as text.
                        SqlParam::Integer(i) => args.text(i.to_string()),
                        SqlParam::Real(r) => args.text(r.to_string()),
                    }
                }
                exact = sql.exact;
            }
            // Filtered rows in insertion order, sorted after the filter: ordered by `seq`
            // itself, the planner may walk a whole scope in order hoping to meet matches
            // soon (it does so before it has statistics) instead of using the filter's index.
            let mut order = String::from(match query.filter() {
                Some(_) => "r.seq + 0",
                None => "r.seq",
            });
            let mut sorted_in_sql = true;
            if let Some(sort) = query.sort() {
                sorted_in_sql = false;
                if let Some((key, case_exact)) = translator.sort_key(sort.path()) {
                    let dir = match sort.order() {
                        SortOrder::Ascending => "ASC",
                        SortOrder::Descending => "DESC",
                    };
                    let text = format!("({key} #>> '{{}}')");
                    order = match sort.kind() {
                        // By instant, as the evaluator compares them, whatever the offset.
                        Some(AttrKind::DateTime) => format!(
                            "scim_instant({text}) IS NULL {dir}, scim_instant({text}) {dir}, r.seq"
                        ),
                        Some(AttrKind::String | AttrKind::Reference | AttrKind::Binary)
                            if case_exact =>
                        {
                            format!("{text} IS NULL {dir}, {text} COLLATE \"C\" {dir}, r.seq")
                        }
                        Some(AttrKind::String | AttrKind::Reference | AttrKind::Binary) => format!(
                            "{text} IS NULL {dir}, scim_fold({text}) COLLATE \"C\" {dir}, \
                             {text} COLLATE \"C\" {dir}, r.seq"
                        ),
                        // Numbers by value, false before true: as jsonb orders them.
                        _ => format!(
                            "{text} IS NULL {dir}, nullif({key}, 'null'::jsonb) {dir}, r.seq"
                        ),
                    };
                    sorted_in_sql = true;
                }
            }
            (cond, args, exact, order, sorted_in_sql)
        };
        let cols = columns(attribute.is_some());
        let client = self.pool.get().await.map_err(pool_failed)?;
        if !exact || !sorted_in_sql {
            let rows = Self::rows(
                &client,
                &format!("SELECT {cols} FROM scim_resources AS r WHERE {cond} ORDER BY r.seq"),
                &args,
                attribute,
            )
            .await?;
            let matched: Vec<Row> = rows.into_iter().filter(|r| query.matches(&r.doc)).collect();
            let page = paginate(
                matched,
                query,
                |r| r.seq as u64,
                |r| r.doc.value(),
                |_| true,
            )?;
            return Ok(page.map(|r| r.doc));
        }
        let sorted = query.sort().is_some();
        let count = query.paging().count();
        let (skip, after) = page_start(query)?;
        let cond_args = args.clone();
        let mut page_cond = cond.clone();
        if let Some(after) = after {
            let n = args.int(after);
            page_cond.push_str(&format!(" AND r.seq > ${n}"));
        }
        let limit = args.int(i64::try_from(count).unwrap_or(i64::MAX));
        let offset = args.int(i64::try_from(skip).unwrap_or(i64::MAX));
        let rows = Self::rows(
            &client,
            &format!(
                "SELECT {cols} FROM scim_resources AS r WHERE {page_cond} \
                 ORDER BY {order} LIMIT ${limit} OFFSET ${offset}"
            ),
            &args,
            attribute,
        )
        .await?;
        let last_seq = rows.last().map(|r| r.seq);
        let returned = rows.len();
        // A first page that is not full holds every match (an identity provider's lookup
        // by userName or externalId): no need to count them again.
        let total = if skip == 0 && after.is_none() && returned < count {
            returned
        } else if query.filter().is_none() {
            // Every resource of the scope: the count each write keeps.
            let counted = select(
                &client,
                "SELECT n FROM scim_scopes WHERE tenant = $1 AND type = $2",
                &Args::new(scope.tenant, &ty),
            )
            .await?;
            let n: i64 = counted.first().map_or(0, |r| r.get(0));
            n.max(0) as usize
        } else {
            let counted = select(
                &client,
                &format!("SELECT count(*) FROM scim_resources AS r WHERE {cond}"),
                &cond_args,
            )
            .await?;
            let n: i64 = counted.first().map_or(0, |r| r.get(0));
            n.max(0) as usize
        };
        if matches!(query.paging(), Paging::Cursor { .. }) && skip > total {
            return Err(StoreError::InvalidCursor);
        }
        let next_cursor = match query.paging() {
            Paging::Cursor { .. } if sorted && skip + returned < total => {
                Some(Cursor::Offset(skip + returned))
            }
            Paging::Cursor { .. } if !sorted && returned == count && returned > 0 => {
                // More rows after the last one returned?
                let last = last_seq.unwrap_or(0);
                let mut more_args = cond_args;
                let n = more_args.int(last);
                let found = select(
                    &client,
                    &format!(
                        "SELECT EXISTS (SELECT 1 FROM scim_resources AS r WHERE {cond} AND r.seq > ${n})"
                    ),
                    &more_args,
                )
                .await?;
                let more: bool = found.first().is_some_and(|r| r.get(0));
                more.then_some(Cursor::After(last as u64))
            }
            _ => None,
        };
        Ok(Page {
            resources: rows.into_iter().map(|r| r.doc).collect(),
            total_results: total,
            next_cursor: next_cursor.map(|c| c.to_string()),
        })
    }
}
