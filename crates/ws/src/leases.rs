//! The per-user socket cap across replicas, for a gateway whose sockets live
//! nowhere else in Redis: each open socket holds a lease in a sorted set per
//! user (`{space}:{user}`: member → lease expiry, ms). One Lua script drops
//! expired leases, counts the rest and admits or refuses; each replica
//! renews its sockets' leases in one pipelined pass per third of a lease and
//! drops a lease when its socket closes. A replica that dies stops renewing,
//! so its users' slots come back within one lease.
//!
//! An idle socket costs one map entry here (its id and user): no timer or
//! task of its own; the renewal is one task per replica.

use majlis_redis::redis::{self, Script};
use majlis_redis::{Redis, RedisError};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::Duration;
use uuid::Uuid;

// KEYS: the user's lease set. ARGV: now (ms), the new lease's expiry (ms),
// the cap, the member, the lease (ms). 1 admitted, 0 refused.
static ADMIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1",
    )
});

/// Users renewed per pipelined round trip: a 20k-socket replica renews in a
/// few calls, each well inside the Redis timeout.
const RENEW_CHUNK: usize = 1_000;

/// One admitted socket's lease; hand it back to [`Leases::release`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    id: u64,
}

/// This replica's leases for one kind of socket.
pub struct Leases {
    redis: Redis,
    space: String,
    max: u32,
    lease: Duration,
    /// Unique to this process, so two replicas (or a restarted one, whose old
    /// leases may still be running out) never name the same lease.
    owner: String,
    next_id: AtomicU64,
    held: Mutex<HashMap<u64, Uuid>>,
}

impl std::fmt::Debug for Leases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leases")
            .field("space", &self.space)
            .field("max", &self.max)
            .field("held", &self.lock().len())
            .finish()
    }
}

/// Wall-clock ms: leases written by one replica are compared by another
/// (their clocks are NTP-synced; a lease is a minute, skew is milliseconds).
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2))
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

impl Leases {
    /// `space` names the sets (`chat:sockets` → `chat:sockets:{user}` under
    /// the deployment prefix); `max` sockets per user; leases last `lease`.
    pub fn new(redis: Redis, space: &str, max: u32, lease: Duration) -> Self {
        let nonce = Uuid::new_v4().simple().to_string();
        Self {
            redis,
            space: space.to_owned(),
            max,
            lease,
            owner: nonce[..12].to_owned(),
            next_id: AtomicU64::new(0),
            held: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Uuid>> {
        match self.held.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn key(&self, user: Uuid) -> String {
        self.redis.key(&format!("{}:{user}", self.space))
    }

    fn member(&self, id: u64) -> String {
        format!("{}:{id}", self.owner)
    }

    /// Leases held by this replica's open sockets.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes a slot for a new socket of `user`: `None` when the user already
    /// holds the most allowed, across every replica. On the process's shared
    /// connection, so a reconnect storm's admissions are pipelined. An
    /// admission that timed out may still land in Redis: nobody renews that
    /// lease, so it runs out within one lease.
    pub async fn admit(&self, user: Uuid) -> Result<Option<Lease>, RedisError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let now = now_ms();
        let mut inv = ADMIT.prepare_invoke();
        inv.key(self.key(user))
            .arg(now)
            .arg(now + ms(self.lease))
            .arg(self.max)
            .arg(self.member(id))
            .arg(ms(self.lease));
        let admitted: i64 = self
            .redis
            .on_shared(move |mut conn| async move { Ok(inv.invoke_async(&mut conn).await?) })
            .await?;
        if admitted == 1 {
            self.lock().insert(id, user);
            Ok(Some(Lease { id }))
        } else {
            Ok(None)
        }
    }

    /// Gives a closed socket's slot back. A failure is only logged: the
    /// lease is no longer renewed, so it runs out by itself.
    pub async fn release(&self, lease: Lease) {
        let Some(user) = self.lock().remove(&lease.id) else {
            return;
        };
        let cmd = redis::cmd("ZREM")
            .arg(self.key(user))
            .arg(self.member(lease.id))
            .to_owned();
        if let Err(e) = self.redis.run_shared::<i64>(&cmd).await {
            tracing::warn!(error = %e, "socket lease not released; it runs out by itself");
        }
    }

    /// Renews every lease this replica holds, a chunk of users per round
    /// trip. Returns how many leases were renewed.
    pub async fn renew(&self) -> Result<usize, RedisError> {
        let mut by_user: HashMap<Uuid, Vec<u64>> = HashMap::new();
        for (id, user) in self.lock().iter() {
            by_user.entry(*user).or_default().push(*id);
        }
        let users: Vec<(Uuid, Vec<u64>)> = by_user.into_iter().collect();
        let mut renewed = 0;
        for chunk in users.chunks(RENEW_CHUNK) {
            renewed += self.renew_users(chunk).await?;
        }
        Ok(renewed)
    }

    /// One round trip of [`Self::renew`], for leases seen held a moment ago.
    async fn renew_users(&self, users: &[(Uuid, Vec<u64>)]) -> Result<usize, RedisError> {
        let expiry = now_ms() + ms(self.lease);
        let mut renewed = 0;
        let mut pipe = redis::pipe();
        for (user, ids) in users {
            let key = self.key(*user);
            let zadd = pipe.cmd("ZADD").arg(&key);
            for id in ids {
                zadd.arg(expiry).arg(self.member(*id));
            }
            zadd.ignore();
            pipe.cmd("PEXPIRE").arg(&key).arg(ms(self.lease)).ignore();
            renewed += ids.len();
        }
        self.run_pipe(pipe).await?;
        // A plain ZADD, so a lease that ran out during a long Redis outage
        // comes back; but then a socket that closed meanwhile may have had
        // its release overtaken by this renewal: remove it again (ZREM is
        // idempotent), or it would hold a slot for a whole lease.
        let mut gone = redis::pipe();
        let mut any = false;
        {
            let held = self.lock();
            for (user, ids) in users {
                for id in ids.iter().filter(|id| !held.contains_key(id)) {
                    gone.cmd("ZREM")
                        .arg(self.key(*user))
                        .arg(self.member(*id))
                        .ignore();
                    any = true;
                }
            }
        }
        if any {
            self.run_pipe(gone).await?;
        }
        Ok(renewed)
    }

    async fn run_pipe(&self, pipe: redis::Pipeline) -> Result<(), RedisError> {
        self.redis
            .on_shared(move |mut conn| async move { Ok(pipe.query_async::<()>(&mut conn).await?) })
            .await
    }

    /// Renews this replica's leases every third of a lease until `stop`
    /// resolves. A failed pass is logged and retried at the next tick; two
    /// in a row still leave a third of the lease.
    pub async fn run(&self, stop: impl Future<Output = ()>) {
        let every = (self.lease / 3).max(Duration::from_millis(10));
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => return,
                _ = tick.tick() => {
                    if let Err(e) = self.renew().await {
                        tracing::warn!(error = %e, "socket leases not renewed; retrying");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use majlis_redis::RedisSettings;

    fn redis() -> Redis {
        Redis::new(&RedisSettings {
            url: majlis_testkit::redis_url().into(),
            prefix: majlis_testkit::redis_prefix(),
            pool_size: 4,
            timeout: Duration::from_secs(2),
        })
        .unwrap()
    }

    /// Two replicas of one gateway: the same Redis and prefix.
    fn replicas(max: u32, lease: Duration) -> (Leases, Leases) {
        let r = redis();
        (
            Leases::new(r.clone(), "test:sockets", max, lease),
            Leases::new(r, "test:sockets", max, lease),
        )
    }

    #[tokio::test]
    async fn a_user_gets_max_slots_across_replicas_and_another_user_is_unaffected() {
        let (a, b) = replicas(3, Duration::from_secs(60));
        let (user, other) = (Uuid::new_v4(), Uuid::new_v4());
        let first = a.admit(user).await.unwrap().expect("1st");
        b.admit(user).await.unwrap().expect("2nd");
        a.admit(user).await.unwrap().expect("3rd");
        assert_eq!(a.admit(user).await.unwrap(), None, "4th on replica a");
        assert_eq!(b.admit(user).await.unwrap(), None, "4th on replica b");
        assert!(b.admit(other).await.unwrap().is_some(), "another user");
        a.release(first).await;
        assert_eq!(a.len(), 1);
        assert!(b.admit(user).await.unwrap().is_some(), "a freed slot");
        assert_eq!(a.admit(user).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_dead_replicas_slots_come_back_after_one_lease_and_a_live_ones_do_not() {
        let lease = Duration::from_millis(600);
        let (live, dead) = replicas(2, lease);
        let user = Uuid::new_v4();
        live.admit(user).await.unwrap().expect("live's");
        dead.admit(user).await.unwrap().expect("dead's");
        drop(dead);
        let renewing = live.run(std::future::pending());
        let waited = tokio::time::timeout(Duration::from_secs(3), async {
            let mut refused = 0;
            loop {
                match live.admit(user).await.unwrap() {
                    Some(_) => return refused,
                    None => refused += 1,
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let refused = tokio::select! {
            r = waited => r.expect("the dead replica's slot never came back"),
            () = renewing => unreachable!(),
        };
        assert!(refused > 0, "refused while the dead lease ran");
        // The live replica renews: its two sockets keep their slots for
        // several leases.
        let renewing = live.run(std::future::pending());
        let held = async {
            for _ in 0..8 {
                tokio::time::sleep(lease / 2).await;
                assert_eq!(live.admit(user).await.unwrap(), None, "renewed leases hold");
            }
        };
        tokio::select! {
            () = held => {}
            () = renewing => unreachable!(),
        }
    }

    #[tokio::test]
    async fn a_release_overtaken_by_a_renewal_does_not_keep_the_slot() {
        let (a, _) = replicas(1, Duration::from_secs(60));
        let user = Uuid::new_v4();
        let lease = a.admit(user).await.unwrap().expect("admitted");
        // The renewal saw the socket held, then the socket closed and its
        // release reached Redis before the renewal did.
        let seen = vec![(user, vec![lease.id])];
        a.release(lease).await;
        a.renew_users(&seen).await.unwrap();
        assert!(a.admit(user).await.unwrap().is_some(), "the slot is free");
    }
}
