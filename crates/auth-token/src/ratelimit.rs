//! The per-user request limit, enforced in Redis so that it holds across
//! replicas: GCRA (a token bucket kept as one timestamp per user) in one Lua
//! script on the shared multiplexed connection, where it is pipelined with the
//! revocation check of the same request.

use crate::TokenVerifier;
use majlis_redis::{RedisError, redis};
use majlis_runtime::ratelimit::UserRateLimit;
use std::sync::LazyLock;
use uuid::Uuid;

/// Refused: retry after this many seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RateLimited {
    pub retry_after_secs: u64,
}

/// KEYS[1]: the user's theoretical arrival time (microseconds, Redis's
/// clock, so replicas' clocks do not matter). ARGV: emission interval and
/// burst tolerance in microseconds. Answers 0 when the request is admitted
/// (and counts it), else the microseconds until it would be.
static GCRA: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait > 0 then return wait end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1)
return 0
",
    )
});

impl TokenVerifier {
    /// Takes one request from `user`'s budget. Not retried after a broken
    /// connection: a resent script would charge the request twice.
    pub(crate) async fn take_request(
        &self,
        user: Uuid,
        limit: UserRateLimit,
    ) -> Result<Result<(), RateLimited>, RedisError> {
        let redis = self.redis();
        let key = redis.key(&format!("ratelimit:user:{user}"));
        let (interval, tolerance) = limit.gcra_micros();
        let wait_micros: u64 = redis
            .on_shared(move |mut conn| async move {
                Ok(GCRA
                    .key(key)
                    .arg(interval)
                    .arg(tolerance)
                    .invoke_async(&mut conn)
                    .await?)
            })
            .await?;
        if wait_micros == 0 {
            Ok(Ok(()))
        } else {
            Ok(Err(RateLimited {
                retry_after_secs: wait_micros.div_ceil(1_000_000).max(1),
            }))
        }
    }
}
