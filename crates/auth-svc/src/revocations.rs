//! Token revocation, durable: PostgreSQL (`auth.revoked_tokens`) is the
//! source of truth, Redis a cache that every verifier reads in one round trip
//! (`TokenVerifier::check_revocation`) and trusts only while its ready marker exists.
//! A Redis restart loses the cache and the marker together; verifiers then
//! answer 503 (gateways 1013) instead of trusting an empty cache, and the
//! warmer here notices the missing marker and rebuilds the cache from
//! PostgreSQL.
//!
//! Per-user revocation (deactivation, "log out everywhere") works the same
//! way: "tokens of user U issued before T are invalid" is stored in
//! PostgreSQL (`auth.users.tokens_valid_after`, by the change's own
//! transaction), then written to the cache as U's cutoff
//! ([`Revocations::cut_off`]), and `rebuild` loads the cutoffs that may
//! still revoke a live token the way it loads the marks.

use crate::schema::{revoked_tokens, users};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use majlis_auth_token::{Claims, REVOCATIONS_READY_KEY, TokenVerifier, cutoff_secs};
use majlis_db::{Db, DbError};
use majlis_errors::ApiError;
use majlis_redis::{Redis, RedisError, redis};
use majlis_runtime::Shutdown;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use uuid::Uuid;

/// How often the warmer looks for a missing marker.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// How often expired rows are deleted, and at most how many at a time.
const CLEANUP_EVERY: Duration = Duration::from_secs(600);
const CLEANUP_BATCH: i64 = 10_000;
/// Rows read and marks written per round trip while rebuilding.
const REBUILD_BATCH: i64 = 1_000;
/// The rebuild-in-progress key (un-prefixed); it holds the rebuild's id.
const REBUILDING_KEY: &str = "auth:revocations:rebuilding";

#[derive(Clone, Debug)]
pub struct Revocations {
    db: Db,
    redis: Redis,
    tokens: TokenVerifier,
    /// How long a token lives: a cutoff older than this revokes nothing.
    token_ttl: Duration,
    /// Set when a revocation reached PostgreSQL but not the Redis cache: the
    /// cache is then incomplete, and the warmer drops the marker and rebuilds.
    stale: Arc<AtomicBool>,
}

#[derive(Insertable)]
#[diesel(table_name = revoked_tokens)]
struct NewRevokedToken {
    jti: Uuid,
    user_id: Uuid,
    expires_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum RevocationError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Redis(#[from] RedisError),
    #[error(transparent)]
    Token(#[from] majlis_auth_token::TokenError),
}

impl From<RevocationError> for ApiError {
    fn from(e: RevocationError) -> Self {
        match e {
            RevocationError::Db(e) => e.into(),
            RevocationError::Redis(e) => e.into(),
            RevocationError::Token(e) => e.into(),
        }
    }
}

impl Revocations {
    pub fn new(db: Db, redis: Redis, tokens: TokenVerifier, token_ttl: Duration) -> Self {
        Self {
            db,
            redis,
            tokens,
            token_ttl,
            stale: Arc::default(),
        }
    }

    /// When a cutoff at `before` (Unix seconds) revokes nothing any more:
    /// every token issued before it has expired (+60 s, as for the marks).
    fn cutoff_until(&self, before: i64) -> i64 {
        let ttl = i64::try_from(self.token_ttl.as_secs()).unwrap_or(i64::MAX / 4);
        before.saturating_add(ttl).saturating_add(60)
    }

    /// Caches `user`'s cutoff `at`, already stored in PostgreSQL, and
    /// announces it (the gateways close the user's sockets). A failed cache
    /// write is handled as in [`Self::revoke`]: the cache is declared stale
    /// and rebuilt from PostgreSQL.
    pub async fn cut_off(&self, user: Uuid, at: DateTime<Utc>) -> Result<(), RevocationError> {
        let before = cutoff_secs(at);
        if let Err(e) = self
            .tokens
            .cache_user_revocation(user, before, self.cutoff_until(before))
            .await
        {
            self.stale.store(true, Ordering::SeqCst);
            if self.drop_marker().await.is_ok() {
                tracing::warn!(error = %e, %user, "user cutoff not cached; cache marked cold");
                return Ok(());
            }
            return Err(e.into());
        }
        Ok(())
    }

    /// Revokes one token: stored in PostgreSQL first (so it survives
    /// anything Redis does), then marked in the cache and announced to the
    /// gateways. When the cache write fails, the cache is declared stale so
    /// that no verifier trusts it until it is rebuilt, and the caller gets
    /// the error (a retried logout is harmless).
    pub async fn revoke(&self, claims: &Claims) -> Result<(), RevocationError> {
        let row = NewRevokedToken {
            jti: claims.jti,
            user_id: claims.sub,
            expires_at: DateTime::from_timestamp(claims.exp, 0).unwrap_or(DateTime::<Utc>::MAX_UTC),
        };
        self.db
            .timed(async {
                let mut conn = self.db.conn().await?;
                diesel::insert_into(revoked_tokens::table)
                    .values(&row)
                    .on_conflict_do_nothing()
                    .execute(&mut conn)
                    .await?;
                Ok(())
            })
            .await?;
        if let Err(e) = self.tokens.cache_revocation(claims).await {
            self.stale.store(true, Ordering::SeqCst);
            if self.drop_marker().await.is_ok() {
                // No verifier trusts the cache now; the warmer rebuilds it.
                tracing::warn!(error = %e, "revocation not cached; cache marked cold");
                return Ok(());
            }
            return Err(e.into());
        }
        Ok(())
    }

    async fn drop_marker(&self) -> Result<(), RedisError> {
        let _: i64 = self
            .redis
            .run_idempotent(redis::cmd("DEL").arg(self.redis.key(REVOCATIONS_READY_KEY)))
            .await?;
        Ok(())
    }

    /// Keeps the Redis cache complete until shutdown: every [`CHECK_EVERY`],
    /// rebuild it when its marker is missing (Redis restarted, or a
    /// revocation could not be cached); every [`CLEANUP_EVERY`], delete
    /// rows whose tokens have expired.
    pub async fn keep_cache_warm(self, shutdown: Shutdown) {
        let mut ticks = tokio::time::interval(CHECK_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_cleanup: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                () = shutdown.wait() => return,
                _ = ticks.tick() => {}
            }
            if let Err(e) = self.ensure_warm().await {
                tracing::warn!(error = %e, "revocation cache not rebuilt; retrying");
            }
            if last_cleanup.is_none_or(|t| t.elapsed() >= CLEANUP_EVERY) {
                match self.delete_expired().await {
                    Ok(n) => {
                        last_cleanup = Some(tokio::time::Instant::now());
                        if n > 0 {
                            tracing::info!(deleted = n, "expired revocations deleted");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "expired revocations not deleted"),
                }
            }
        }
    }

    /// Rebuilds the cache when it is not known to be complete.
    pub async fn ensure_warm(&self) -> Result<(), RevocationError> {
        if self.stale.swap(false, Ordering::SeqCst)
            && let Err(e) = self.drop_marker().await
        {
            self.stale.store(true, Ordering::SeqCst);
            return Err(e.into());
        }
        let ready: bool = self
            .redis
            .run_idempotent(redis::cmd("EXISTS").arg(self.redis.key(REVOCATIONS_READY_KEY)))
            .await?;
        if !ready {
            self.rebuild().await?;
        }
        Ok(())
    }

    /// Writes every unexpired revocation into Redis, then sets the marker,
    /// but only if Redis did not restart meanwhile: the rebuild's id, set
    /// first, must still be there at the end (a restart would have lost it
    /// with the marks written before it). Concurrent rebuilds by several
    /// replicas are harmless: the marks are the same, and only a rebuild that
    /// saw its own id to the end sets the marker.
    async fn rebuild(&self) -> Result<(), RevocationError> {
        let started = std::time::Instant::now();
        let id = Uuid::new_v4().to_string();
        let rebuilding = self.redis.key(REBUILDING_KEY);
        let _: () = self
            .redis
            .run_idempotent(
                redis::cmd("SET")
                    .arg(&rebuilding)
                    .arg(&id)
                    .arg("EX")
                    .arg(300),
            )
            .await?;
        let mut after = Uuid::nil();
        let mut total = 0usize;
        loop {
            let page = self.page(after).await?;
            let Some(&(last, _, _)) = page.last() else {
                break;
            };
            let mut pipe = redis::pipe();
            for (jti, user, expires_at) in &page {
                pipe.add_command(TokenVerifier::revocation_mark(
                    &self.redis,
                    *jti,
                    *user,
                    expires_at.timestamp(),
                ))
                .ignore();
            }
            let () = self.redis.run_pipe_idempotent(&pipe).await?;
            total += page.len();
            after = last;
        }
        let mut after = Uuid::nil();
        let mut cutoffs = 0usize;
        loop {
            let page = self.cutoff_page(after).await?;
            let Some(&(last, _)) = page.last() else {
                break;
            };
            let mut pipe = redis::pipe();
            for (user, at) in &page {
                let before = cutoff_secs(*at);
                pipe.add_command(TokenVerifier::user_cutoff_mark(
                    &self.redis,
                    *user,
                    before,
                    self.cutoff_until(before),
                ))
                .ignore();
            }
            let () = self.redis.run_pipe_idempotent(&pipe).await?;
            cutoffs += page.len();
            after = last;
        }
        let set: i64 = self
            .redis
            .run_idempotent(
                redis::cmd("EVAL")
                    .arg(SET_MARKER_IF_STILL_REBUILDING)
                    .arg(2)
                    .arg(&rebuilding)
                    .arg(self.redis.key(REVOCATIONS_READY_KEY))
                    .arg(&id),
            )
            .await?;
        if set == 1 {
            tracing::info!(
                revocations = total,
                cutoffs,
                elapsed_ms = started.elapsed().as_millis(),
                "revocation cache rebuilt"
            );
        } else {
            tracing::warn!("Redis restarted during the revocation cache rebuild; rebuilding again");
        }
        Ok(())
    }

    /// One page of unexpired revocations after `after`, in `jti` order.
    async fn page(&self, after: Uuid) -> Result<Vec<(Uuid, Uuid, DateTime<Utc>)>, DbError> {
        // Marks outlive their token by 60 s; so do the rows rebuilt.
        let live_after = Utc::now() - chrono::Duration::seconds(60);
        self.db
            .timed(async {
                let mut conn = self.db.conn().await?;
                Ok(revoked_tokens::table
                    .filter(revoked_tokens::jti.gt(after))
                    .filter(revoked_tokens::expires_at.gt(live_after))
                    .order(revoked_tokens::jti.asc())
                    .limit(REBUILD_BATCH)
                    .select((
                        revoked_tokens::jti,
                        revoked_tokens::user_id,
                        revoked_tokens::expires_at,
                    ))
                    .load(&mut conn)
                    .await?)
            })
            .await
    }

    /// One page of the users (after `after`, in id order) whose cutoff may
    /// still revoke a live token.
    async fn cutoff_page(&self, after: Uuid) -> Result<Vec<(Uuid, DateTime<Utc>)>, DbError> {
        let window = chrono::Duration::from_std(self.token_ttl)
            .ok()
            .and_then(|ttl| ttl.checked_add(&chrono::Duration::seconds(60)))
            .unwrap_or(chrono::Duration::MAX);
        let live_after = Utc::now()
            .checked_sub_signed(window)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let rows: Vec<(Uuid, Option<DateTime<Utc>>)> = self
            .db
            .timed(async {
                let mut conn = self.db.conn().await?;
                Ok(users::table
                    .filter(users::id.gt(after))
                    .filter(users::tokens_valid_after.gt(live_after))
                    .order(users::id.asc())
                    .limit(REBUILD_BATCH)
                    .select((users::id, users::tokens_valid_after))
                    .load(&mut conn)
                    .await?)
            })
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, at)| Some((id, at?)))
            .collect())
    }

    /// Deletes up to [`CLEANUP_BATCH`] rows of long-expired tokens.
    async fn delete_expired(&self) -> Result<usize, DbError> {
        let before = Utc::now() - chrono::Duration::seconds(120);
        self.db
            .timed(async {
                let mut conn = self.db.conn().await?;
                // Batched so that a backlog never becomes one huge delete.
                Ok(diesel::sql_query(
                    "DELETE FROM auth.revoked_tokens WHERE jti IN \
                     (SELECT jti FROM auth.revoked_tokens WHERE expires_at < $1 LIMIT $2)",
                )
                .bind::<diesel::sql_types::Timestamptz, _>(before)
                .bind::<diesel::sql_types::BigInt, _>(CLEANUP_BATCH)
                .execute(&mut conn)
                .await?)
            })
            .await
    }
}

/// KEYS: the rebuilding key, the ready marker; ARGV: the rebuild's id.
/// Idempotent: setting the marker twice is setting it once.
const SET_MARKER_IF_STILL_REBUILDING: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[2], '1')
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
";
