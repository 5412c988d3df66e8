//! PostgreSQL access: one bounded pool per process, connections handed out
//! under a timeout (a down database is a fast 503, never a hang), the error
//! classification every repository uses, and the embedded migrations.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use majlis_errors::ApiError;
use secrecy::{ExposeSecret, SecretString};
use std::future::Future;
use std::time::Duration;

pub use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

/// Every migration in the repository's `migrations/`, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

pub type PgConn = Object<AsyncPgConnection>;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid database configuration: {0}")]
    Config(String),
    #[error("no database connection within {0:?}")]
    Timeout(Duration),
    #[error("cannot get a database connection: {0}")]
    Pool(String),
    #[error("database connection lost: {0}")]
    Connection(DieselError),
    #[error("query failed: {0}")]
    Query(DieselError),
    #[error("migration failed: {0}")]
    Migration(String),
}

impl From<DieselError> for DbError {
    fn from(e: DieselError) -> Self {
        if is_connection_error(&e) {
            Self::Connection(e)
        } else {
            Self::Query(e)
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Timeout(_) | DbError::Pool(_) | DbError::Connection(_) => {
                ApiError::unavailable("postgres", e)
            }
            DbError::Config(_) | DbError::Query(_) | DbError::Migration(_) => ApiError::internal(e),
        }
    }
}

fn is_connection_error(e: &DieselError) -> bool {
    match e {
        DieselError::DatabaseError(kind, _) => matches!(
            kind,
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand
        ),
        DieselError::BrokenTransactionManager => true,
        _ => false,
    }
}

/// True when `e` is a unique-constraint violation on `constraint`.
pub fn is_unique_violation(e: &DbError, constraint: &str) -> bool {
    match e {
        DbError::Query(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)) => {
            info.constraint_name() == Some(constraint)
        }
        _ => false,
    }
}

#[derive(Clone, Debug)]
pub struct DbSettings {
    pub url: SecretString,
    pub pool_size: usize,
    /// Upper bound for getting a connection and for one unit of work.
    pub timeout: Duration,
}

/// A cheap-to-clone handle on the pool.
#[derive(Clone)]
pub struct Db {
    pool: Pool<AsyncPgConnection>,
    timeout: Duration,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Db {
    /// Builds the pool without connecting, so a process can boot while the
    /// database is down and report not-ready until it answers.
    pub fn new(settings: &DbSettings) -> Result<Self, DbError> {
        let manager =
            AsyncDieselConnectionManager::<AsyncPgConnection>::new(settings.url.expose_secret());
        let pool = Pool::builder(manager)
            .max_size(settings.pool_size)
            .build()
            .map_err(|e| DbError::Config(e.to_string()))?;
        Ok(Self {
            pool,
            timeout: settings.timeout,
        })
    }

    /// A pooled connection, or a timeout/unavailable error.
    pub async fn conn(&self) -> Result<PgConn, DbError> {
        match tokio::time::timeout(self.timeout, self.pool.get()).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(DbError::Pool(e.to_string())),
            Err(_) => Err(DbError::Timeout(self.timeout)),
        }
    }

    /// Runs one unit of database work under the timeout.
    pub async fn timed<T, F>(&self, work: F) -> Result<T, DbError>
    where
        F: Future<Output = Result<T, DbError>>,
    {
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| DbError::Timeout(self.timeout))?
    }

    /// A readiness check (`SELECT 1`) for `Readiness::builder().check(..)`.
    pub fn readiness_check(
        &self,
    ) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = Result<(), DbError>> + Send>>
    + Send
    + Sync
    + 'static {
        let db = self.clone();
        move || {
            let db = db.clone();
            Box::pin(async move { db.ping().await })
        }
    }

    /// `SELECT 1`, for readiness checks.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.timed(async {
            let mut conn = self.conn().await?;
            diesel::sql_query("SELECT 1").execute(&mut conn).await?;
            Ok(())
        })
        .await
    }
}

/// Applies every pending migration; returns the versions applied.
pub async fn run_migrations(url: &SecretString) -> Result<Vec<String>, DbError> {
    let conn = AsyncPgConnection::establish(url.expose_secret())
        .await
        .map_err(|e| DbError::Pool(e.to_string()))?;
    // The harness drives the async connection with blocking calls; keep them
    // off the async workers (and legal on a current-thread runtime).
    tokio::task::spawn_blocking(move || {
        let mut harness = diesel_async::AsyncMigrationHarness::new(conn);
        harness
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect())
            .map_err(|e| DbError::Migration(e.to_string()))
    })
    .await
    .map_err(|e| DbError::Migration(e.to_string()))?
}

impl DbSettings {
    /// `MAJLIS_DATABASE_URL` (required), `MAJLIS_DATABASE_POOL_SIZE` (16),
    /// `MAJLIS_DATABASE_TIMEOUT_MS` (3000).
    pub fn from_env(
        src: &dyn majlis_runtime::env::Source,
    ) -> Result<Self, majlis_runtime::env::SettingsError> {
        use majlis_runtime::env;
        Ok(Self {
            url: env::secret(src, "MAJLIS_DATABASE_URL")?,
            pool_size: env::parse(src, "MAJLIS_DATABASE_POOL_SIZE", 16)?,
            timeout: env::millis(src, "MAJLIS_DATABASE_TIMEOUT_MS", Duration::from_secs(3))?,
        })
    }
}
