//! Redis for every majlis process: one bounded connection pool per process,
//! every call under a timeout (a down Redis is a fast 503, never a hang), and
//! every key under the deployment's prefix so environments and test runs can
//! share a server without seeing each other.

pub mod streams;

use deadpool_redis::{Pool, Runtime};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Duration;

pub use deadpool_redis::Connection;
pub use redis;

/// Whether a command may be sent a second time after its connection broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Retry {
    Never,
    Once,
}

/// What [`Redis::pooled`] sends.
#[derive(Clone, Copy)]
enum Work<'a> {
    Cmd(&'a redis::Cmd),
    Pipe(&'a redis::Pipeline),
}

/// A failure of the connection itself (closed, reset, unparseable stream),
/// as opposed to Redis answering with an error: the connection must go.
fn is_connection_error(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_unrecoverable_error()
}

#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    #[error("invalid Redis configuration: {0}")]
    Config(String),
    #[error("no Redis connection available: {0}")]
    Pool(#[from] deadpool_redis::PoolError),
    #[error("Redis command failed: {0}")]
    Command(#[from] redis::RedisError),
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the Redis call was cancelled: {0}")]
    Cancelled(String),
    /// Redis answers, but a cache it holds is not complete yet (after a
    /// restart, until its owner has rebuilt it): trusting it would be wrong.
    #[error("Redis is not ready: {0}")]
    NotReady(&'static str),
}

impl From<RedisError> for majlis_errors::ApiError {
    fn from(e: RedisError) -> Self {
        match e {
            RedisError::Config(_) => majlis_errors::ApiError::internal(e),
            RedisError::Pool(_)
            | RedisError::Command(_)
            | RedisError::Timeout(_)
            | RedisError::Cancelled(_)
            | RedisError::NotReady(_) => majlis_errors::ApiError::unavailable("redis", e),
        }
    }
}

#[derive(Clone, Debug)]
pub struct RedisSettings {
    pub url: SecretString,
    /// Prepended to every key and stream name, e.g. `majlis:`.
    pub prefix: String,
    pub pool_size: usize,
    /// Upper bound for getting a connection and for each command.
    pub timeout: Duration,
}

/// A cheap-to-clone handle: the pool plus the key prefix.
#[derive(Clone)]
pub struct Redis {
    pool: Pool,
    /// One multiplexed connection for small hot commands, made on first use.
    shared: Arc<tokio::sync::OnceCell<redis::aio::ConnectionManager>>,
    /// The runtime the shared connection lives and works on: the one that
    /// built this handle (a service's main runtime), never an HTTP worker's.
    home: Option<tokio::runtime::Handle>,
    client: redis::Client,
    prefix: Arc<str>,
    timeout: Duration,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl Redis {
    /// Builds the pool without connecting: a process may boot while Redis is
    /// down and report not-ready until it answers.
    pub fn new(settings: &RedisSettings) -> Result<Self, RedisError> {
        let url = settings.url.expose_secret();
        let client = redis::Client::open(url).map_err(|e| RedisError::Config(e.to_string()))?;
        let pool = deadpool_redis::Config::from_url(url)
            .builder()
            .map_err(|e| RedisError::Config(e.to_string()))?
            .max_size(settings.pool_size)
            .wait_timeout(Some(settings.timeout))
            .create_timeout(Some(settings.timeout))
            .recycle_timeout(Some(settings.timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| RedisError::Config(e.to_string()))?;
        Ok(Self {
            pool,
            shared: Arc::default(),
            home: tokio::runtime::Handle::try_current().ok(),
            client,
            prefix: settings.prefix.clone().into(),
            timeout: settings.timeout,
        })
    }

    /// The full key for `name` under this deployment's prefix.
    pub fn key(&self, name: &str) -> String {
        let mut k = String::with_capacity(self.prefix.len() + name.len());
        k.push_str(&self.prefix);
        k.push_str(name);
        k
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A pooled connection.
    pub async fn conn(&self) -> Result<Connection, RedisError> {
        Ok(self.pool.get().await?)
    }

    /// Runs `cmd` once on a pooled connection, under the timeout. For
    /// commands that must not be sent twice (`INCR`, `XADD`, scripts that
    /// count): a connection-level failure is a 503, never a retry, because
    /// the command may have run before the connection broke. The broken
    /// connection is not returned to the pool.
    pub async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, RedisError> {
        self.pooled(Retry::Never, Work::Cmd(cmd)).await
    }

    /// Runs an idempotent `cmd` (reads, `SET` of a fixed value, `DEL`,
    /// `EXPIRE`...) on a pooled connection, under the timeout; after a
    /// connection-level failure it is sent once more on a fresh connection.
    /// That is what makes the first request after a Redis restart succeed:
    /// every pooled connection is dead then, and the retry makes a new one.
    pub async fn run_idempotent<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
    ) -> Result<T, RedisError> {
        self.pooled(Retry::Once, Work::Cmd(cmd)).await
    }

    /// Runs `cmd` once on the process's one multiplexed connection, under
    /// the timeout. For small commands that arrive in bursts (the revocation
    /// check of every socket auth and request): they are pipelined on one
    /// socket instead of queueing for the pool's connections, which a
    /// reconnect storm of thousands of sockets used to exhaust (1013s).
    /// The connection reconnects by itself after Redis comes back.
    pub async fn run_shared<T: redis::FromRedisValue + Send + 'static>(
        &self,
        cmd: &redis::Cmd,
    ) -> Result<T, RedisError> {
        let cmd = cmd.clone();
        self.on_shared(move |mut conn| async move { Ok(cmd.query_async(&mut conn).await?) })
            .await
    }

    /// [`Self::run_shared`] for an idempotent `cmd` (or a read-only
    /// script): after a connection-level failure it is sent once more, on
    /// the connection the manager has remade. Without it the first request
    /// after a Redis restart answered 503.
    pub async fn run_shared_idempotent<T: redis::FromRedisValue + Send + 'static>(
        &self,
        cmd: &redis::Cmd,
    ) -> Result<T, RedisError> {
        let cmd = cmd.clone();
        self.on_shared_idempotent(move |mut conn| {
            let cmd = cmd.clone();
            async move { cmd.query_async(&mut conn).await }
        })
        .await
    }

    /// [`Self::on_shared`] for idempotent `work`, which may run twice: once
    /// more after a connection-level failure of the first run.
    pub async fn on_shared_idempotent<T, F, Fut>(&self, work: F) -> Result<T, RedisError>
    where
        T: Send + 'static,
        F: Fn(redis::aio::ConnectionManager) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = redis::RedisResult<T>> + Send + 'static,
    {
        self.on_shared(move |conn| async move {
            match work(conn.clone()).await {
                Err(e) if is_connection_error(&e) => {
                    tracing::debug!(error = %e, "shared Redis connection broken; retrying once");
                    Ok(work(conn).await?)
                }
                other => Ok(other?),
            }
        })
        .await
    }

    /// Runs `work` with the shared connection, on this handle's home runtime,
    /// under the timeout. Why the home runtime: the connection's driver task
    /// is spawned wherever the connection is made (or remade after a drop),
    /// and on an HTTP worker thread busy with a reconnect storm's thousands
    /// of handshakes it was starved: replies sat unread past the timeout and
    /// sockets were refused with 1013 although Redis had answered.
    pub async fn on_shared<T, F, Fut>(&self, work: F) -> Result<T, RedisError>
    where
        T: Send + 'static,
        F: FnOnce(redis::aio::ConnectionManager) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<T, RedisError>> + Send + 'static,
    {
        let this = self.clone();
        let job = async move {
            let conn = this.shared_conn().await?;
            work(conn).await
        };
        let fut = async {
            match &self.home {
                Some(home) => home
                    .spawn(job)
                    .await
                    .map_err(|e| RedisError::Cancelled(e.to_string()))?,
                None => job.await,
            }
        };
        tokio::time::timeout(self.timeout, fut)
            .await
            .map_err(|_| RedisError::Timeout(self.timeout))?
    }

    /// The shared multiplexed connection; made on first use. Use it through
    /// [`Self::on_shared`], which runs on the connection's home runtime.
    async fn shared_conn(&self) -> Result<redis::aio::ConnectionManager, RedisError> {
        let conn = self
            .shared
            .get_or_try_init(|| {
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(1);
                redis::aio::ConnectionManager::new_with_config(self.client.clone(), config)
            })
            .await?;
        Ok(conn.clone())
    }

    /// Runs a pipeline once on a pooled connection, under the timeout; like
    /// [`Self::run`], never resent.
    pub async fn run_pipe<T: redis::FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, RedisError> {
        self.pooled(Retry::Never, Work::Pipe(pipe)).await
    }

    /// Runs a pipeline of idempotent commands; like [`Self::run_idempotent`],
    /// resent once on a fresh connection after a connection-level failure.
    pub async fn run_pipe_idempotent<T: redis::FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, RedisError> {
        self.pooled(Retry::Once, Work::Pipe(pipe)).await
    }

    /// Checks a connection out, runs `work` on it, and keeps the connection
    /// out of the pool when it failed at the connection level (deadpool would
    /// otherwise hand the dead connection to the next caller). With
    /// [`Retry::Once`], such a failure is retried on a fresh connection,
    /// within the same overall timeout.
    async fn pooled<T: redis::FromRedisValue>(
        &self,
        retry: Retry,
        work: Work<'_>,
    ) -> Result<T, RedisError> {
        let fut = async {
            let mut attempt = 0;
            loop {
                attempt += 1;
                // The pool PINGs an idle connection before handing it out
                // and drops it when that fails, so a retry gets a live one.
                let mut conn = self.conn().await?;
                let result = match work {
                    Work::Cmd(cmd) => cmd.query_async(&mut *conn).await,
                    Work::Pipe(pipe) => pipe.query_async(&mut *conn).await,
                };
                match result {
                    Ok(v) => return Ok(v),
                    Err(e) if is_connection_error(&e) => {
                        // Dropped from the pool, not returned to it.
                        drop(Connection::take(conn));
                        if retry == Retry::Once && attempt == 1 {
                            tracing::debug!(error = %e, "Redis connection broken; retrying on a fresh one");
                            continue;
                        }
                        return Err(e.into());
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        tokio::time::timeout(self.timeout, fut)
            .await
            .map_err(|_| RedisError::Timeout(self.timeout))?
    }

    /// A readiness check (`PING`) for `Readiness::builder().check(..)`.
    pub fn readiness_check(
        &self,
    ) -> impl Fn() -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), RedisError>> + Send>,
    > + Send
    + Sync
    + 'static {
        let redis = self.clone();
        move || {
            let redis = redis.clone();
            Box::pin(async move { redis.ping().await })
        }
    }

    /// `PING`, for readiness checks.
    pub async fn ping(&self) -> Result<(), RedisError> {
        let pong: String = self.run_idempotent(&redis::cmd("PING")).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(RedisError::Config(format!(
                "unexpected PING reply {pong:?}"
            )))
        }
    }

    /// A connection of its own, outside the pool, for blocking reads
    /// (`XREAD BLOCK`) that would stall every other user of a shared one.
    /// `response_timeout` must exceed the longest block.
    pub async fn dedicated(
        &self,
        response_timeout: Duration,
    ) -> Result<redis::aio::MultiplexedConnection, RedisError> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(response_timeout));
        Ok(self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?)
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

impl RedisSettings {
    /// `MAJLIS_REDIS_URL` (required), `MAJLIS_REDIS_PREFIX` (`majlis:`),
    /// `MAJLIS_REDIS_POOL_SIZE` (16), `MAJLIS_REDIS_TIMEOUT_MS` (2000).
    pub fn from_env(
        src: &dyn majlis_runtime::env::Source,
    ) -> Result<Self, majlis_runtime::env::SettingsError> {
        use majlis_runtime::env;
        Ok(Self {
            url: env::secret(src, "MAJLIS_REDIS_URL")?,
            prefix: src
                .get("MAJLIS_REDIS_PREFIX")
                .unwrap_or_else(|| "majlis:".to_owned()),
            pool_size: env::parse(src, "MAJLIS_REDIS_POOL_SIZE", 16)?,
            timeout: env::millis(src, "MAJLIS_REDIS_TIMEOUT_MS", Duration::from_secs(2))?,
        })
    }
}
