//! The database: SQLite (default) or PostgreSQL, chosen by URL.
//!
//! Queries are written once with `$N` placeholders (SQLite accepts them) and
//! compiled for both pools through [`with_db!`]; only SQL that really differs
//! between dialects is branched.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolOptions;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::config::DatabaseUrl;

#[derive(Clone, Debug)]
pub enum Db {
    /// SQLite has one writer at a time; the lock queues our own writers in
    /// order instead of letting them spin in SQLite's busy handler.
    Sqlite(SqlitePool, Arc<Mutex<()>>),
    Postgres(PgPool),
}

/// Held while a SQLite write transaction runs; a no-op on PostgreSQL.
pub struct WriteGuard(#[allow(dead_code)] Option<OwnedMutexGuard<()>>);

/// Runs the same block against whichever pool `$db` holds. Inside the block
/// `$pool` is the concrete pool, so query types are checked per dialect.
#[macro_export]
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool, _) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

#[derive(Debug, thiserror::Error)]
pub enum DbInitError {
    #[error("cannot open database {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("cannot create the database directory {dir}: {source}")]
    Dir { dir: String, source: std::io::Error },
    #[error(
        "this database was written by a newer version of patchmon-server (migration {0} is unknown to this build); upgrade the server or restore a backup"
    )]
    NewerSchema(i64),
    #[error("database migration failed: {0}")]
    Migrate(sqlx::migrate::MigrateError),
}

/// Pool settings shared by both dialects.
fn pool_options<DB: sqlx::Database>(max_connections: u32) -> PoolOptions<DB> {
    PoolOptions::new()
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(15))
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Opens the pool (creating a SQLite file and its directory if needed).
    pub async fn connect(url: &DatabaseUrl, max_connections: u32) -> Result<Self, DbInitError> {
        let connect_err = |source| DbInitError::Connect {
            url: url.to_string(),
            source,
        };
        match url {
            DatabaseUrl::Sqlite(u) => {
                let opts = SqliteConnectOptions::from_str(u)
                    .map_err(connect_err)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    .pragma("cache_size", "-8000")
                    .pragma("temp_store", "memory");
                if let Some(parent) = opts.get_filename().parent()
                    && !parent.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(parent).map_err(|source| DbInitError::Dir {
                        dir: parent.display().to_string(),
                        source,
                    })?;
                }
                let pool = pool_options(max_connections)
                    .connect_with(opts)
                    .await
                    .map_err(connect_err)?;
                Ok(Self::Sqlite(pool, Arc::new(Mutex::new(()))))
            }
            DatabaseUrl::Postgres(u) => {
                let opts = PgConnectOptions::from_str(u).map_err(connect_err)?;
                let pool = pool_options(max_connections)
                    .connect_with(opts)
                    .await
                    .map_err(connect_err)?;
                Ok(Self::Postgres(pool))
            }
        }
    }

    /// Applies pending migrations; refuses a database from a newer build.
    pub async fn migrate(&self) -> Result<(), DbInitError> {
        let res = match self {
            Self::Sqlite(p, _) => SQLITE_MIGRATIONS.run(p).await,
            Self::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await,
        };
        res.map_err(|e| match e {
            sqlx::migrate::MigrateError::VersionMissing(v) => DbInitError::NewerSchema(v),
            other => DbInitError::Migrate(other),
        })
    }

    /// `BEGIN` for a transaction that will write: `BEGIN IMMEDIATE` on SQLite,
    /// so the write lock is taken up front and a read snapshot can never turn
    /// into a SQLITE_BUSY_SNAPSHOT failure at the first write.
    pub fn begin_write_sql(&self) -> &'static str {
        match self {
            Self::Sqlite(..) => "BEGIN IMMEDIATE",
            Self::Postgres(_) => "BEGIN",
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }

    pub fn dialect(&self) -> &'static str {
        match self {
            Self::Sqlite(..) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// Serialises hot write transactions on SQLite; call before `begin()`.
    pub async fn write_guard(&self) -> WriteGuard {
        match self {
            Self::Sqlite(_, lock) => WriteGuard(Some(lock.clone().lock_owned().await)),
            Self::Postgres(_) => WriteGuard(None),
        }
    }

    /// Cheap round trip for `/health`.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        with_db!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))
    }

    pub async fn close(&self) {
        with_db!(self, p => p.close().await)
    }
}
