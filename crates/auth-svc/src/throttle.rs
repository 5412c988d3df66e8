//! Throttles in Redis, so they hold across replicas, each checked before any
//! password is hashed.
//!
//! Logins: every attempt is counted per account and per client address in a
//! fixed window, by one script that first refuses (429 with the window's
//! remaining time) when either counter is at its limit: check and count are
//! one atomic step, so parallel guesses cannot all pass the check before any
//! failure is counted. A successful login gives its attempt back (the
//! account's counter is cleared, the address's decremented). The account is
//! the user's id when the login names one (username and email share one
//! budget), else the normalised login string, so unknown accounts are
//! throttled the same way and the answers stay identical.
//!
//! Registrations: counted per client address in a fixed window.

use crate::settings::{LoginLimits, RegisterLimits};
use majlis_errors::ApiError;
use majlis_redis::{Redis, redis};
use uuid::Uuid;

/// Whose budget a login attempt spends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Account<'a> {
    User(Uuid),
    /// A login that names no user, normalised (trimmed, lowercase).
    Unknown(&'a str),
}

#[derive(Clone, Debug)]
pub struct LoginThrottle {
    redis: Redis,
    limits: LoginLimits,
}

/// KEYS: counters; ARGV: each counter's limit, then the window in seconds.
/// Refuses with the remaining window of the first counter at its limit;
/// else counts one attempt on every counter and answers 0. Not idempotent:
/// run once, never resent.
const RESERVE: &str = r"
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i]) then
    local ttl = redis.call('TTL', key)
    if ttl < 1 then ttl = 1 end
    return ttl
  end
end
local window = ARGV[#KEYS + 1]
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 or redis.call('TTL', key) < 0 then
    redis.call('EXPIRE', key, window)
  end
end
return 0
";

/// KEYS: the account's counter, the address's. A success clears the
/// account's failures and gives the address its attempt back.
const GIVE_BACK: &str = r"
redis.call('DEL', KEYS[1])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
return 0
";

fn too_many(code: &'static str, ttl: i64) -> ApiError {
    ApiError::RateLimited {
        code,
        retry_after_secs: u64::try_from(ttl.max(1)).unwrap_or(1),
    }
}

impl LoginThrottle {
    pub fn new(redis: Redis, limits: LoginLimits) -> Self {
        Self { redis, limits }
    }

    fn keys(&self, account: &Account<'_>, address: &str) -> (String, String) {
        let account = match account {
            Account::User(id) => format!("auth:login_fail:user:{id}"),
            Account::Unknown(login) => format!("auth:login_fail:acct:{login}"),
        };
        (
            self.redis.key(&account),
            self.redis.key(&format!("auth:login_fail:addr:{address}")),
        )
    }

    /// Counts one attempt against the account and the address, or refuses
    /// with 429 `too_many_login_attempts` when either is at its limit.
    pub async fn reserve(&self, account: &Account<'_>, address: &str) -> Result<(), ApiError> {
        let (acct, addr) = self.keys(account, address);
        let ttl: i64 = self
            .redis
            .run(
                redis::cmd("EVAL")
                    .arg(RESERVE)
                    .arg(2)
                    .arg(&acct)
                    .arg(&addr)
                    .arg(self.limits.max_failures_per_account)
                    .arg(self.limits.max_failures_per_address)
                    .arg(self.limits.window.as_secs().max(1)),
            )
            .await?;
        if ttl > 0 {
            tracing::warn!(?account, address, "login throttled");
            return Err(too_many("too_many_login_attempts", ttl));
        }
        Ok(())
    }

    /// A successful login is not charged: see [`GIVE_BACK`].
    pub async fn give_back(&self, account: &Account<'_>, address: &str) -> Result<(), ApiError> {
        let (acct, addr) = self.keys(account, address);
        let _: i64 = self
            .redis
            .run(
                redis::cmd("EVAL")
                    .arg(GIVE_BACK)
                    .arg(2)
                    .arg(&acct)
                    .arg(&addr),
            )
            .await?;
        Ok(())
    }
}

#[derive(Clone, Debug)]
pub struct RegisterThrottle {
    redis: Redis,
    limits: RegisterLimits,
}

impl RegisterThrottle {
    pub fn new(redis: Redis, limits: RegisterLimits) -> Self {
        Self { redis, limits }
    }

    /// Counts one registration from `address`, or refuses with 429
    /// `too_many_registrations` past the limit.
    pub async fn reserve(&self, address: &str) -> Result<(), ApiError> {
        let key = self.redis.key(&format!("auth:register:addr:{address}"));
        let ttl: i64 = self
            .redis
            .run(
                redis::cmd("EVAL")
                    .arg(RESERVE)
                    .arg(1)
                    .arg(&key)
                    .arg(self.limits.max_per_address)
                    .arg(self.limits.window.as_secs().max(1)),
            )
            .await?;
        if ttl > 0 {
            tracing::warn!(address, "registration throttled");
            return Err(too_many("too_many_registrations", ttl));
        }
        Ok(())
    }
}
