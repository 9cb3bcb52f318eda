//! What the PostgreSQL stores share: the schema as versioned migrations, run under an
//! advisory lock so that replicas starting together apply each once, and what a database
//! failure means to a client.

/// One step of the PostgreSQL schema. [`PostgresStore::MIGRATIONS`] lists them in order,
/// for an application that runs its own migration tool; otherwise
/// [`PostgresStore::migrate`] applies what is missing.
///
/// [`PostgresStore::MIGRATIONS`]: crate::store::PostgresStore::MIGRATIONS
/// [`PostgresStore::migrate`]: crate::store::PostgresStore::migrate
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// Its number: migrations apply in increasing order, each once.
    pub version: i64,
    /// What it does, in a few words.
    pub description: &'static str,
    /// Its SQL: several statements.
    pub sql: &'static str,
}

/// The advisory lock migrations take: any number that no other code of the database uses
/// for its own locks ("scimkit" in ASCII).
const MIGRATION_LOCK: i64 = 0x0073_6369_6d6b_6974;

pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "resources, unique values, members, scope counters, tenants and API keys",
        sql: concat!(
            include_str!("sql/postgres_functions.sql"),
            include_str!("pg/0001_directory.sql")
        ),
    },
    Migration {
        version: 2,
        description: "role rules, users' roles and the activity log",
        sql: include_str!("pg/0002_roles_and_activity.sql"),
    },
];

/// Applies the migrations `scimkit_migrations` does not list, in one transaction under an
/// advisory lock: replicas that start at once wait for the first and then find nothing to do.
pub(crate) async fn migrate(
    client: &mut tokio_postgres::Client,
) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS scimkit_migrations (
             version bigint PRIMARY KEY,
             description text NOT NULL,
             applied timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await?;
    let applied: Vec<i64> = tx
        .query("SELECT version FROM scimkit_migrations", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for migration in MIGRATIONS {
        if applied.contains(&migration.version) {
            continue;
        }
        tx.batch_execute(migration.sql).await?;
        tx.execute(
            "INSERT INTO scimkit_migrations (version, description) VALUES ($1, $2)",
            &[&migration.version, &migration.description],
        )
        .await?;
    }
    tx.commit().await
}

/// What a database failure means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// The transaction lost a race (serialization failure, deadlock): run it again.
    Retry,
    /// The database is out of reach, busy or short of something: may pass.
    Unavailable,
    /// A value PostgreSQL cannot keep (a NUL character in text or JSON, a value longer
    /// than an index entry may be).
    Unstorable,
    /// Anything else.
    Internal,
}

/// The class of a failure.
pub(crate) fn classify(err: &tokio_postgres::Error) -> Class {
    let Some(code) = err.code() else {
        // No answer from the server: the connection is gone or could not be made.
        let io = std::error::Error::source(err).is_some_and(|s| s.is::<std::io::Error>());
        return match err.is_closed() || io {
            true => Class::Unavailable,
            false => Class::Internal,
        };
    };
    match code.code() {
        "40001" | "40P01" => Class::Retry,
        // NUL in text (invalid byte sequence), NUL escapes in jsonb, a value too long for
        // an index (program limit exceeded).
        "22021" | "22P05" | "54000" => Class::Unstorable,
        // Connection exceptions, insufficient resources, operator intervention (a
        // shutdown, a cancelled or timed-out statement), a lock not available.
        c if c.starts_with("08") || c.starts_with("53") || c.starts_with("57") || c == "55P03" => {
            Class::Unavailable
        }
        _ => Class::Internal,
    }
}

/// The class of a pool's failure: the database's, or the pool's own (out of connections,
/// closed), which may pass.
pub(crate) fn classify_pool(err: &deadpool_postgres::PoolError) -> Class {
    match err {
        deadpool_postgres::PoolError::Backend(e) => classify(e),
        _ => Class::Unavailable,
    }
}

/// A pool of up to 16 connections to the database at `url` (a `postgres://` URL or
/// `key=value` settings).
pub(crate) fn pool(
    url: &str,
) -> Result<deadpool_postgres::Pool, Box<dyn std::error::Error + Send + Sync>> {
    let config: tokio_postgres::Config = url.parse()?;
    let manager = deadpool_postgres::Manager::from_config(
        config,
        tokio_postgres::NoTls,
        deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        },
    );
    Ok(deadpool_postgres::Pool::builder(manager)
        .max_size(16)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()?)
}
