//! Login throttling in Redis: failed attempts are counted per account and per
//! client address in a fixed window; past the limit, logins are refused with
//! 429 and `Retry-After` before the password is even checked. Counting the
//! account whether or not it exists keeps the answers identical for both.

use crate::settings::LoginLimits;
use majlis_errors::ApiError;
use majlis_redis::{Redis, redis};

#[derive(Clone, Debug)]
pub struct LoginThrottle {
    redis: Redis,
    limits: LoginLimits,
}

impl LoginThrottle {
    pub fn new(redis: Redis, limits: LoginLimits) -> Self {
        Self { redis, limits }
    }

    fn keys(&self, account: &str, address: &str) -> (String, String) {
        (
            self.redis
                .key(&format!("auth:login_fail:acct:{}", account.to_lowercase())),
            self.redis.key(&format!("auth:login_fail:addr:{address}")),
        )
    }

    /// Refuses with 429 when either counter is at its limit.
    pub async fn check(&self, account: &str, address: &str) -> Result<(), ApiError> {
        let (acct, addr) = self.keys(account, address);
        let mut pipe = redis::pipe();
        pipe.cmd("GET").arg(&acct).cmd("TTL").arg(&acct);
        pipe.cmd("GET").arg(&addr).cmd("TTL").arg(&addr);
        let (acct_n, acct_ttl, addr_n, addr_ttl): (Option<u32>, i64, Option<u32>, i64) =
            self.redis.run_pipe(&pipe).await?;
        let over = |n: Option<u32>, max: u32| n.is_some_and(|n| n >= max);
        let retry = if over(acct_n, self.limits.max_failures_per_account) {
            Some(acct_ttl)
        } else if over(addr_n, self.limits.max_failures_per_address) {
            Some(addr_ttl)
        } else {
            None
        };
        match retry {
            Some(ttl) => {
                tracing::warn!(account, address, "login throttled");
                Err(ApiError::RateLimited {
                    code: "too_many_login_attempts",
                    retry_after_secs: u64::try_from(ttl.max(1)).unwrap_or(1),
                })
            }
            None => Ok(()),
        }
    }

    /// Counts one failure against the account and the address.
    pub async fn record_failure(&self, account: &str, address: &str) -> Result<(), ApiError> {
        let (acct, addr) = self.keys(account, address);
        let window = self.limits.window.as_secs().max(1);
        let mut pipe = redis::pipe();
        for key in [&acct, &addr] {
            pipe.cmd("INCR").arg(key).ignore();
            // NX: the window starts at the first failure and is not extended.
            pipe.cmd("EXPIRE").arg(key).arg(window).arg("NX").ignore();
        }
        let () = self.redis.run_pipe(&pipe).await?;
        Ok(())
    }

    /// A successful login forgives the account's failures (not the address's).
    pub async fn clear(&self, account: &str) -> Result<(), ApiError> {
        let (acct, _) = self.keys(account, "");
        let _: i64 = self.redis.run(redis::cmd("DEL").arg(acct)).await?;
        Ok(())
    }
}
