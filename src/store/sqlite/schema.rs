//! The database's tables, indexes and triggers, created when missing, and what every
//! connection needs: its settings and the functions the SQL of [`crate::sql`] calls.

use rusqlite::config::DbConfig;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::Connection;

use crate::sql::{fold, instant};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS resources (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (tenant, type, id)
);
CREATE TABLE IF NOT EXISTS unique_values (
    tenant TEXT NOT NULL,
    type TEXT NOT NULL,
    path TEXT NOT NULL,
    key TEXT NOT NULL,
    seq INTEGER NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    PRIMARY KEY (tenant, type, path, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS unique_values_seq ON unique_values (seq);
CREATE TABLE IF NOT EXISTS members (
    pos INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    value TEXT NOT NULL,
    member TEXT NOT NULL,
    UNIQUE (seq, value)
);
CREATE INDEX IF NOT EXISTS members_value ON members (value);
-- A scope's resources in insertion order (seq is the rowid): unfiltered pages walk it.
CREATE INDEX IF NOT EXISTS resources_scope ON resources (tenant, type);
CREATE INDEX IF NOT EXISTS resources_user_name
    ON resources (tenant, type, scim_fold(json_extract(doc, '$."userName"')));
CREATE INDEX IF NOT EXISTS resources_display_name
    ON resources (tenant, type, scim_fold(json_extract(doc, '$."displayName"')));
CREATE INDEX IF NOT EXISTS resources_external_id
    ON resources (tenant, type, json_extract(doc, '$."externalId"'));
CREATE INDEX IF NOT EXISTS resources_doc_id
    ON resources (tenant, type, json_extract(doc, '$."id"'));
-- How many resources each scope holds, for the totalResults of unfiltered pages: kept by
-- triggers, so in the transaction of every insert and delete.
CREATE TABLE IF NOT EXISTS scope_counts (
    tenant TEXT NOT NULL,
    type TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (tenant, type)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS resources_counted AFTER INSERT ON resources BEGIN
    INSERT INTO scope_counts (tenant, type, n) VALUES (new.tenant, new.type, 1)
        ON CONFLICT (tenant, type) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS resources_uncounted AFTER DELETE ON resources BEGIN
    UPDATE scope_counts SET n = n - 1 WHERE tenant = old.tenant AND type = old.type;
END;
"#;

/// Creates what is missing of the schema, in one transaction; a database made before the
/// scope counts existed gets them counted.
pub(super) fn create_schema(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let counted: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'scope_counts')",
        [],
        |r| r.get(0),
    )?;
    tx.execute_batch(SCHEMA)?;
    if !counted {
        tx.execute(
            "INSERT OR REPLACE INTO scope_counts (tenant, type, n)
             SELECT tenant, type, count(*) FROM resources GROUP BY tenant, type",
            [],
        )?;
    }
    tx.commit()
}

/// Settings and functions of a connection, writer or reader.
pub(super) fn setup(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // The bundled SQLite lets bound values steer its plans, so a cached statement bound
    // anew (every page's LIMIT and OFFSET) would be compiled again at its next step: one
    // plan whatever the values keeps the statement cache worth having.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("scim_fold", 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Text(t) => SqlValue::Text(fold(&String::from_utf8_lossy(t))),
            other => SqlValue::from(other),
        })
    })?;
    conn.create_scalar_function("scim_instant", 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Text(t) => match instant(&String::from_utf8_lossy(t)) {
                Some(i) => SqlValue::Text(i),
                None => SqlValue::Null,
            },
            _ => SqlValue::Null,
        })
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::params;

    /// Cached statements run again with other values are not compiled again.
    #[test]
    fn statements_are_not_compiled_again_for_new_values() {
        let mut conn = Connection::open_in_memory().unwrap();
        setup(&conn).unwrap();
        create_schema(&mut conn).unwrap();
        for i in 0..100 {
            conn.execute(
                "INSERT INTO resources (tenant, type, id, version, doc) VALUES ('acme', 'user', ?1, 1, ?2)",
                params![format!("u{i}"), format!(r#"{{"id": "u{i}", "userName": "n{i}"}}"#)],
            )
            .unwrap();
        }
        // A page as `query` asks for it: the page's bounds change from call to call.
        let sql = "SELECT r.seq FROM resources AS r WHERE r.tenant = ?1 AND r.type = ?2 \
                   AND scim_fold(json_extract(r.doc, '$.\"userName\"')) >= ?3 \
                   ORDER BY r.seq LIMIT ?4 OFFSET ?5";
        let mut stmt = conn.prepare(sql).unwrap();
        for (i, name) in ["n1", "n2", "n3"].into_iter().enumerate() {
            let rows: Vec<i64> = stmt
                .query_map(params!["acme", "user", name, 10 + i, i], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(rows.len(), 10 + i);
        }
        assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0);
    }
}
