//! The PostgreSQL dialect of `scimkit::sql` against a real PostgreSQL server: for random
//! filters over random users, the translated condition selects exactly the users the
//! in-memory evaluator matches.
//!
//! The server is `postgres://postgres@127.0.0.1:5432/test` (trust authentication), or
//! `SCIMKIT_PG` when set. Without a server the test prints SKIPPED (where `cargo test`
//! shows it) and passes, unless `SCIMKIT_REQUIRE_PG` is set, as `.ci/run` does (it starts
//! the server first).

#![cfg(feature = "sql")]

use crate::generators;

use std::sync::OnceLock;

use generators::{filter, user};
use proptest::prelude::*;
use scimkit::eval::Matcher;
use scimkit::filter::Filter;
use scimkit::schema::{Registry, Write};
use scimkit::sql::{Dialect, SqlParam, Translator, POSTGRES_FUNCTIONS};
use scimkit::Compat;
use serde_json::{json, Value};

struct Pg {
    rt: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

/// One connection for the whole test, in a schema of its own.
fn pg() -> Option<&'static Pg> {
    static PG: OnceLock<Option<Pg>> = OnceLock::new();
    PG.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let url = std::env::var("SCIMKIT_PG")
            .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into());
        let connected = rt.block_on(tokio_postgres::connect(&url, tokio_postgres::NoTls));
        let (client, connection) = match connected {
            Ok(c) => c,
            Err(e) if std::env::var_os("SCIMKIT_REQUIRE_PG").is_none() => {
                skipped(&format!("PostgreSQL at {url} is not reachable ({e}): the dialect test is skipped"));
                return None;
            }
            Err(e) => panic!("PostgreSQL at {url} is required: {e}"),
        };
        rt.spawn(connection);
        // Earlier runs' schemas go first (a test process cannot drop its own at exit).
        rt.block_on(client.batch_execute(
            "DO $$ DECLARE s text; BEGIN
               FOR s IN SELECT nspname FROM pg_namespace WHERE nspname LIKE 'scimkit\\_test\\_%' LOOP
                 EXECUTE format('DROP SCHEMA %I CASCADE', s);
               END LOOP;
             END $$;",
        ))
        .unwrap();
        let schema = format!("scimkit_test_{}", std::process::id());
        rt.block_on(client.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; SET search_path TO {schema};
             {POSTGRES_FUNCTIONS}
             CREATE TABLE docs (id text PRIMARY KEY, doc jsonb NOT NULL);"
        )))
        .unwrap();
        Some(Pg { rt, client })
    })
    .as_ref()
}

fn params(params: &[SqlParam]) -> Vec<String> {
    params
        .iter()
        .map(|p| match p {
            SqlParam::Text(t) => t.clone(),
            other => panic!("the PostgreSQL dialect binds text only, not {other:?}"),
        })
        .collect()
}

#[test]
fn the_functions_compute_what_rust_computes() {
    let Some(pg) = pg() else { return };
    for text in [
        "2026-01-01T00:00:00Z",
        "2026-01-01T01:00:00+01:00",
        "2025-12-31T23:59:59.999999999Z",
        "2026-01-01T00:00:00.5z",
        "1969-07-20T20:17:40Z",
        "not a date",
        "2026-02-30T00:00:00Z",
    ] {
        let row = pg
            .rt
            .block_on(
                pg.client
                    .query_one("SELECT scim_instant($1::text)", &[&text]),
            )
            .unwrap();
        let got: Option<String> = row.get(0);
        assert_eq!(got, scimkit::sql::instant(text), "{text}");
    }
    for text in ["ÄRGER", "Straße", "ABC-def"] {
        let row = pg
            .rt
            .block_on(pg.client.query_one("SELECT scim_fold($1::text)", &[&text]))
            .unwrap();
        let got: String = row.get(0);
        assert_eq!(got, scimkit::sql::fold(text), "{text}");
    }
}

fn ids(values: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = values
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// For every filter the evaluator accepts, the PostgreSQL condition is exact and
    /// selects exactly the users the evaluator matches.
    #[test]
    fn postgres_selects_what_the_evaluator_matches(
        users in prop::collection::vec(user(), 1..12),
        filters in prop::collection::vec(filter(), 1..8),
    ) {
        let Some(pg) = pg() else { return Ok(()) };
        let registry = Registry::scim_default();
        let view = registry.resource_type("User").unwrap();
        pg.rt.block_on(pg.client.batch_execute("TRUNCATE docs")).unwrap();
        let mut stored = Vec::new();
        for (i, u) in users.into_iter().enumerate() {
            let meta = u["meta"].clone();
            let mut n = view.normalize(u, Write::Create, &Compat::lenient()).unwrap().resource;
            n["id"] = json!(format!("u{i}"));
            n["meta"] = meta;
            pg.rt
                .block_on(pg.client.execute("INSERT INTO docs (id, doc) VALUES ($1, $2)", &[&format!("u{i}"), &n]))
                .unwrap();
            stored.push(n);
        }
        for text in filters {
            let Ok(filter) = text.parse::<Filter>() else { continue };
            let Ok(matcher) = Matcher::new(&filter, &view) else { continue };
            let sql = Translator::new(&view, "r.doc").dialect(Dialect::Postgres, 1).filter(&filter);
            prop_assert!(sql.exact, "{} was not translated exactly: {}", text, sql.sql);
            let values = params(&sql.params);
            let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                values.iter().map(|v| v as &(dyn tokio_postgres::types::ToSql + Sync)).collect();
            let rows = pg
                .rt
                .block_on(pg.client.query(&format!("SELECT r.id FROM docs AS r WHERE {} ORDER BY r.id", sql.sql), &refs))
                .map_err(|e| TestCaseError::fail(format!("{text}\n{}\n{e:?}", sql.sql)))?;
            let got: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
            let expected: Vec<Value> = stored.iter().filter(|r| matcher.matches(r)).cloned().collect();
            prop_assert_eq!(got, ids(&expected), "{}\n{}", text, sql.sql);
        }
    }
}

/// Says that tests were skipped where `cargo test` shows it: straight on the standard
/// error, which the test harness does not capture (it captures `eprintln!`).
fn skipped(why: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
}
