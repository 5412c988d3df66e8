//! Access tokens. auth-svc signs them; every service and both gateways verify
//! them here: signature, expiry, and revocation. PostgreSQL (auth-svc's
//! `auth.revoked_tokens`) is the source of truth for revocations; Redis holds
//! a cache of them (a logged-out token's id, until the token would have
//! expired anyway) that is trusted only while its "complete" marker exists,
//! because a restarted Redis has forgotten every revocation.

mod extract;
mod ratelimit;

pub use extract::{AuthUser, bearer_token};
pub use ratelimit::RateLimited;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use majlis_errors::ApiError;
use majlis_redis::{Redis, RedisError};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// The issuer every majlis token names.
pub const ISSUER: &str = "majlis-auth";
/// The marker key (un-prefixed) that exists only while the Redis revocation
/// cache holds every revocation in PostgreSQL. Redis loses it on a restart
/// (with the cache); auth-svc rebuilds the cache and then sets it again.
pub const REVOCATIONS_READY_KEY: &str = "auth:revocations:ready";
/// Shortest secret accepted: HS256 with less than 256 bits is guessable.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    SystemAdmin,
    SystemUser,
    TeamAdmin,
    TeamUser,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SystemAdmin => "system_admin",
            Self::SystemUser => "system_user",
            Self::TeamAdmin => "team_admin",
            Self::TeamUser => "team_user",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "system_admin" => Some(Self::SystemAdmin),
            "system_user" => Some(Self::SystemUser),
            "team_admin" => Some(Self::TeamAdmin),
            "team_user" => Some(Self::TeamUser),
            _ => None,
        }
    }
}

/// What a token says about its bearer at the time it was issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: Uuid,
    /// The token id, the handle for revocation.
    pub jti: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub team_id: Option<Uuid>,
    pub roles: Vec<Role>,
}

impl Claims {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("token invalid: {0}")]
    Invalid(String),
    #[error("token revoked")]
    Revoked,
    #[error(transparent)]
    Redis(#[from] RedisError),
    #[error("cannot sign token: {0}")]
    Signing(String),
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Expired => ApiError::unauthorized("token_expired", "the token has expired"),
            TokenError::Invalid(_) => {
                ApiError::unauthorized("invalid_token", "the token is invalid")
            }
            TokenError::Revoked => {
                ApiError::unauthorized("token_revoked", "the token has been revoked")
            }
            TokenError::Redis(e) => e.into(),
            TokenError::Signing(_) => ApiError::internal(e),
        }
    }
}

/// Signs and verifies tokens with one HS256 key, and checks revocation.
/// Cheap to clone.
#[derive(Clone)]
pub struct Tokens {
    inner: Arc<Inner>,
}

struct Inner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
    redis: Redis,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("ttl", &self.inner.ttl)
            .finish()
    }
}

impl Tokens {
    /// Fails on a secret shorter than [`MIN_SECRET_BYTES`]: better no boot than
    /// forgeable tokens.
    pub fn new(secret: &SecretString, ttl: Duration, redis: Redis) -> Result<Self, TokenError> {
        let bytes = secret.expose_secret().as_bytes();
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(TokenError::Signing(format!(
                "the JWT secret must be at least {MIN_SECRET_BYTES} bytes"
            )));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 5;
        Ok(Self {
            inner: Arc::new(Inner {
                encoding: EncodingKey::from_secret(bytes),
                decoding: DecodingKey::from_secret(bytes),
                validation,
                ttl,
                redis,
            }),
        })
    }

    pub fn ttl(&self) -> Duration {
        self.inner.ttl
    }

    /// A new token for `user_id` with the given team and roles.
    pub fn issue(
        &self,
        user_id: Uuid,
        team_id: Option<Uuid>,
        roles: Vec<Role>,
    ) -> Result<(String, Claims), TokenError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id,
            jti: Uuid::new_v4(),
            iat: now,
            exp: now + i64::try_from(self.inner.ttl.as_secs()).unwrap_or(i64::MAX / 2),
            iss: ISSUER.to_owned(),
            team_id,
            roles,
        };
        let token = self.sign(&claims)?;
        Ok((token, claims))
    }

    /// Signs arbitrary claims. Exposed so tests can make expired tokens.
    pub fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.inner.encoding)
            .map_err(|e| TokenError::Signing(e.to_string()))
    }

    /// Checks signature, issuer and expiry only (no Redis round trip).
    pub fn decode(&self, token: &str) -> Result<Claims, TokenError> {
        jsonwebtoken::decode::<Claims>(token, &self.inner.decoding, &self.inner.validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid(e.to_string()),
            })
    }

    /// Full verification: [`Self::decode`] plus the revocation check.
    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let claims = self.decode(token)?;
        self.check_revocation(&claims).await?;
        Ok(claims)
    }

    /// The un-prefixed key of a revoked token's mark.
    pub fn revoked_key(jti: Uuid) -> String {
        format!("auth:revoked:{jti}")
    }

    /// The un-prefixed key of a user's revocation cutoff: tokens of that user
    /// issued before the time it holds (unix seconds) are revoked. The seam
    /// for deactivation and "log out everywhere": nothing writes it yet, and
    /// [`Self::check_revocation`] already honours it.
    pub fn user_cutoff_key(user: Uuid) -> String {
        format!("auth:revoked_before:{user}")
    }

    /// Is this token revoked? One script on the shared multiplexed
    /// connection, so one round trip: a cold cache (no ready marker: Redis
    /// restarted and auth-svc has not rebuilt it yet) is an error (503 /
    /// 1013), never "not revoked"; then the token's own mark and its user's
    /// cutoff.
    pub async fn check_revocation(&self, claims: &Claims) -> Result<(), TokenError> {
        let redis = &self.inner.redis;
        let keys = [
            redis.key(REVOCATIONS_READY_KEY),
            redis.key(&Self::revoked_key(claims.jti)),
            redis.key(&Self::user_cutoff_key(claims.sub)),
        ];
        let iat = claims.iat;
        let verdict: String = redis
            .on_shared_idempotent(move |mut conn| {
                let mut inv = REVOCATION_CHECK.prepare_invoke();
                for k in &keys {
                    inv.key(k);
                }
                inv.arg(iat);
                async move { inv.invoke_async(&mut conn).await }
            })
            .await?;
        match verdict.as_str() {
            "ok" => Ok(()),
            "revoked" => Err(TokenError::Revoked),
            _ => Err(TokenError::Redis(RedisError::NotReady(
                "the revocation cache is being rebuilt",
            ))),
        }
    }

    /// Marks a token revoked in the Redis cache until it would have expired
    /// (+60 s, so clock skew cannot reopen a gap), and announces it on
    /// `auth.revocations` for the gateways. Only auth-svc calls this,
    /// after it has stored the revocation in PostgreSQL.
    pub async fn cache_revocation(&self, claims: &Claims) -> Result<(), TokenError> {
        let redis = &self.inner.redis;
        // SET of a fixed value: safe to resend after a broken connection.
        let _: () = redis
            .run_idempotent(&Self::revocation_mark(
                redis, claims.jti, claims.sub, claims.exp,
            ))
            .await?;
        majlis_events::AuthEvent::token_revoked(claims.jti, claims.sub, claims.exp)
            .publish(redis)
            .await?;
        Ok(())
    }

    /// The `SET` that marks `jti` revoked until `exp` + 60 s; also what
    /// auth-svc pipelines when it rebuilds the cache.
    pub fn revocation_mark(redis: &Redis, jti: Uuid, user: Uuid, exp: i64) -> redis::Cmd {
        let mut cmd = redis_cmd("SET");
        cmd.arg(redis.key(&Self::revoked_key(jti)))
            .arg(user.to_string())
            .arg("EXAT")
            .arg(exp.saturating_add(60));
        cmd
    }

    pub(crate) fn redis(&self) -> &Redis {
        &self.inner.redis
    }
}

/// KEYS: the ready marker, the token's mark, its user's cutoff; ARGV: the
/// token's `iat`. Answers `cold`, `revoked` or `ok`.
static REVOCATION_CHECK: std::sync::LazyLock<majlis_redis::redis::Script> =
    std::sync::LazyLock::new(|| {
        majlis_redis::redis::Script::new(
            r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 'cold' end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'revoked' end
local cutoff = redis.call('GET', KEYS[3])
if cutoff and tonumber(ARGV[1]) < tonumber(cutoff) then return 'revoked' end
return 'ok'
",
        )
    });

use majlis_redis::redis;

fn redis_cmd(name: &str) -> majlis_redis::redis::Cmd {
    majlis_redis::redis::cmd(name)
}
