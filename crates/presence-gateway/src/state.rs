//! Presence state in Redis, shared by every replica. Each Lua script is one
//! atomic step, so two replicas never disagree on a user's status.
//!
//! Keys (under the deployment prefix):
//! - `presence:conns:{user}`: hash conn → `online`|`away`, one field per socket
//! - `presence:team:{team}`: hash user → folded status (online if any socket
//!   is online, else away); a user absent from it is offline
//! - `presence:pending`: zset `user|team` → when the offline grace ends
//! - `presence:inst:{id}:conns`: set `user|team|conn` of one replica's sockets
//! - `presence:inst:{id}:alive`: the replica's heartbeat (expires if it dies)
//! - `presence:instances`: the replicas that have registered
//!
//! A script returns the new folded status when it changed (for a
//! `presence_update`); offline is decided by the sweep once the grace ends,
//! or at once when the user leaves the team. Only a connect (or a team
//! move's) puts a user in a team's list: a close or a status change of a
//! socket that has not yet followed its user out of a team leaves the user
//! out of that team's list.

use futures_util::StreamExt;
use majlis_redis::redis::Script;
use majlis_redis::{Redis, RedisError, redis};
use std::collections::VecDeque;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::Duration;
use uuid::Uuid;

const FOLD: &str = r"
local function fold(conns)
  local folded = nil
  for _, v in ipairs(redis.call('HVALS', conns)) do
    if v == 'online' then return 'online' end
    folded = 'away'
  end
  return folded
end
local function settle(conns, team_hash, user)
  local folded = fold(conns)
  if folded == nil then return '' end
  local prev = redis.call('HGET', team_hash, user)
  redis.call('HSET', team_hash, user, folded)
  if prev == folded then return '' end
  return folded
end
";

/// What the connect script answers when the user already holds the most
/// sockets allowed (a status is `online`, `away` or empty).
const FULL: &str = "full";

// KEYS: conns, pending, team hash, instance set. ARGV: conn, status, user,
// team, the most sockets the user may hold (0: no cap, for a socket already
// counted that moves to a new team). The cap counts every replica's sockets
// (a dead replica's are reaped), so it holds however the edge spreads them.
static CONNECT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{FOLD}
local cap = tonumber(ARGV[5])
if cap > 0 and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0
   and redis.call('HLEN', KEYS[1]) >= cap then
  return '{FULL}'
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[3]..'|'..ARGV[4]..'|'..ARGV[1])
if ARGV[4] == '' then return '' end
redis.call('ZREM', KEYS[2], ARGV[3]..'|'..ARGV[4])
return settle(KEYS[1], KEYS[3], ARGV[3])"
    ))
});

// KEYS: conns, pending, team hash, instance set. ARGV: conn, user, team, grace deadline (ms).
static DISCONNECT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{FOLD}
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[2]..'|'..ARGV[3]..'|'..ARGV[1])
if ARGV[3] == '' then return '' end
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2]..'|'..ARGV[3])
  return ''
end
if redis.call('HEXISTS', KEYS[3], ARGV[2]) == 0 then return '' end
return settle(KEYS[1], KEYS[3], ARGV[2])"
    ))
});

// KEYS: conns, pending, team hash, instance set. ARGV: conn, user, team.
// The user left the team (removed, or moved to another): this socket's
// registration goes, and so does the user from the team's list at once,
// whatever its other sockets (a user has one team, so they all follow).
// Returns 1 when the user was listed (the team sees it go offline).
static LEAVE_TEAM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[2]..'|'..ARGV[3]..'|'..ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[2]..'|'..ARGV[3])
return redis.call('HDEL', KEYS[3], ARGV[2])",
    )
});

// KEYS: conns, team hash. ARGV: conn, status, user.
static SET_STATUS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{FOLD}
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return '' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 0 then return '' end
return settle(KEYS[1], KEYS[2], ARGV[3])"
    ))
});

// KEYS: pending. ARGV: now (ms), key prefix. Returns the `user|team` that went offline.
static SWEEP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1000)
local out = {}
for _, tag in ipairs(due) do
  redis.call('ZREM', KEYS[1], tag)
  local sep = string.find(tag, '|', 1, true)
  local user = string.sub(tag, 1, sep - 1)
  local team = string.sub(tag, sep + 1)
  if redis.call('HLEN', ARGV[2]..'presence:conns:'..user) == 0 then
    if redis.call('HDEL', ARGV[2]..'presence:team:'..team, user) == 1 then
      table.insert(out, tag)
    end
  end
end
return out",
    )
});

// KEYS: instance set, pending, instances, alive key. ARGV: prefix, grace deadline (ms), instance id.
// Returns `user|team|status` for users whose folded status changed.
static REAP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{FOLD}
if redis.call('EXISTS', KEYS[4]) == 1 then return {{}} end
local changes = {{}}
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local a = string.find(m, '|', 1, true)
  local b = string.find(m, '|', a + 1, true)
  local user = string.sub(m, 1, a - 1)
  local team = string.sub(m, a + 1, b - 1)
  local conn = string.sub(m, b + 1)
  local conns = ARGV[1]..'presence:conns:'..user
  redis.call('HDEL', conns, conn)
  if team ~= '' then
    if redis.call('HLEN', conns) == 0 then
      redis.call('ZADD', KEYS[2], ARGV[2], user..'|'..team)
    elseif redis.call('HEXISTS', ARGV[1]..'presence:team:'..team, user) == 1 then
      local s = settle(conns, ARGV[1]..'presence:team:'..team, user)
      if s ~= '' then table.insert(changes, user..'|'..team..'|'..s) end
    end
  end
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[3], ARGV[3])
return changes"
    ))
});

/// Presence state for one replica.
#[derive(Clone, Debug)]
pub struct PresenceState {
    redis: Redis,
    instance: String,
    unrecorded: Arc<Mutex<VecDeque<Unrecorded>>>,
}

/// A socket's close that could not be written to Redis (a timeout in a mass
/// disconnect, or Redis down). Without a retry its user would stay online
/// while this replica lives; the janitor records it later, with the offline
/// grace still counted from the real close.
#[derive(Clone, Debug)]
struct Unrecorded {
    conn: String,
    user: Uuid,
    team: Option<Uuid>,
    deadline_ms: i64,
}

/// Closes kept for a retry at most (~150 bytes each); past it the oldest is
/// dropped and logged, and its entry waits for this replica's restart.
const MAX_UNRECORDED: usize = 100_000;
/// Retries per janitor pass, and how many run at once on the shared
/// connection: enough to clear a 20k-socket storm in a few passes without
/// starting a new one.
const RETRY_BATCH: usize = 5_000;
const RETRY_CONCURRENCY: usize = 64;

/// The outcome of [`PresenceState::connect`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connected {
    /// Recorded; with the change to announce, if the user's status changed.
    Admitted(Option<Change>),
    /// The user already holds the most sockets allowed.
    Full,
}

/// A status change to announce to a team.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub user: Uuid,
    pub team: Uuid,
    pub status: String,
}

fn team_str(team: Option<Uuid>) -> String {
    team.map(|t| t.to_string()).unwrap_or_default()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// When an offline grace of `grace` starting now ends, in ms since the epoch.
fn grace_deadline(grace: Duration) -> i64 {
    now_ms() + i64::try_from(grace.as_millis()).unwrap_or(i64::MAX / 2)
}

impl PresenceState {
    pub fn new(redis: Redis, instance: String) -> Self {
        Self {
            redis,
            instance,
            unrecorded: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    fn unrecorded(&self) -> MutexGuard<'_, VecDeque<Unrecorded>> {
        match self.unrecorded.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn keep_for_retry(&self, close: Unrecorded) {
        let mut queue = self.unrecorded();
        if queue.len() >= MAX_UNRECORDED
            && let Some(dropped) = queue.pop_front()
        {
            tracing::error!(
                conn = %dropped.conn,
                user = %dropped.user,
                "too many unrecorded disconnects; this one stays until the replica restarts"
            );
        }
        queue.push_back(close);
    }

    /// Disconnects waiting for a retry.
    fn unrecorded_len(&self) -> usize {
        self.unrecorded().len()
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    fn conns_key(&self, user: Uuid) -> String {
        self.redis.key(&format!("presence:conns:{user}"))
    }

    fn team_key(&self, team: Option<Uuid>) -> String {
        match team {
            Some(t) => self.redis.key(&majlis_events::team_presence_key(t)),
            // A teamless socket's scripts touch a key no team reads.
            None => self.redis.key("presence:team:"),
        }
    }

    fn pending_key(&self) -> String {
        self.redis.key("presence:pending")
    }

    fn inst_conns_key(&self, instance: &str) -> String {
        self.redis.key(&format!("presence:inst:{instance}:conns"))
    }

    fn alive_key(&self, instance: &str) -> String {
        self.redis.key(&format!("presence:inst:{instance}:alive"))
    }

    fn instances_key(&self) -> String {
        self.redis.key("presence:instances")
    }

    async fn script<T: redis::FromRedisValue + Send + 'static>(
        &self,
        inv: redis::ScriptInvocation<'static>,
    ) -> Result<T, RedisError> {
        // The shared multiplexed connection, not the pool: a storm of
        // connects or disconnects is pipelined instead of queueing for 16
        // pooled connections past the timeout.
        self.redis
            .on_shared(move |mut conn| async move { Ok(inv.invoke_async(&mut conn).await?) })
            .await
    }

    fn change(user: Uuid, team: Option<Uuid>, status: String) -> Option<Change> {
        (!status.is_empty()).then_some(())?;
        Some(Change {
            user,
            team: team?,
            status,
        })
    }

    /// A socket opened (or moved to a new team). With `cap`, it is refused
    /// ([`Connected::Full`], nothing recorded) when the user already holds
    /// that many sockets on all replicas together.
    pub async fn connect(
        &self,
        conn: &str,
        user: Uuid,
        team: Option<Uuid>,
        status: &str,
        cap: Option<u32>,
    ) -> Result<Connected, RedisError> {
        let mut inv = CONNECT.prepare_invoke();
        inv.key(self.conns_key(user))
            .key(self.pending_key())
            .key(self.team_key(team))
            .key(self.inst_conns_key(&self.instance))
            .arg(conn)
            .arg(status)
            .arg(user.to_string())
            .arg(team_str(team))
            .arg(cap.unwrap_or(0));
        let s: String = self.script(inv).await?;
        if s == FULL {
            return Ok(Connected::Full);
        }
        Ok(Connected::Admitted(Self::change(user, team, s)))
    }

    /// A socket's registration in `team` ends (it moves to another team);
    /// the last one starts the offline grace.
    pub async fn disconnect(
        &self,
        conn: &str,
        user: Uuid,
        team: Option<Uuid>,
        grace: Duration,
    ) -> Result<Option<Change>, RedisError> {
        self.record_disconnect(conn, user, team, grace_deadline(grace))
            .await
    }

    /// The user left `team` (see `LEAVE_TEAM`): returns the offline change
    /// to announce, if the team listed the user.
    pub async fn leave_team(
        &self,
        conn: &str,
        user: Uuid,
        team: Uuid,
    ) -> Result<Option<Change>, RedisError> {
        let mut inv = LEAVE_TEAM.prepare_invoke();
        inv.key(self.conns_key(user))
            .key(self.pending_key())
            .key(self.team_key(Some(team)))
            .key(self.inst_conns_key(&self.instance))
            .arg(conn)
            .arg(user.to_string())
            .arg(team.to_string());
        let removed: i64 = self.script(inv).await?;
        Ok((removed == 1).then(|| Change {
            user,
            team,
            status: "offline".to_owned(),
        }))
    }

    /// A socket closed: [`PresenceState::disconnect`], and when Redis cannot
    /// be reached the close is kept and retried by
    /// [`PresenceState::retry_disconnects`] (the error is returned for the
    /// caller to log). Only for a close: its conn id is never used again, so
    /// a late retry cannot remove a live registration.
    pub async fn socket_closed(
        &self,
        conn: &str,
        user: Uuid,
        team: Option<Uuid>,
        grace: Duration,
    ) -> Result<Option<Change>, RedisError> {
        let deadline_ms = grace_deadline(grace);
        let result = self.record_disconnect(conn, user, team, deadline_ms).await;
        if result.is_err() {
            self.keep_for_retry(Unrecorded {
                conn: conn.to_owned(),
                user,
                team,
                deadline_ms,
            });
        }
        result
    }

    /// Records the closes that failed before. The disconnect script is safe
    /// to run twice (a timed-out call may have run after all), and a closed
    /// socket's conn id never comes back, so a retry never undoes a later
    /// reconnect. Returns the changes to announce;
    /// closes that fail again stay queued for the next pass.
    pub async fn retry_disconnects(&self) -> Vec<Change> {
        let batch: Vec<Unrecorded> = {
            let mut queue = self.unrecorded();
            let n = queue.len().min(RETRY_BATCH);
            queue.drain(..n).collect()
        };
        if batch.is_empty() {
            return Vec::new();
        }
        let tried = batch.len();
        let results: Vec<(Unrecorded, Result<Option<Change>, RedisError>)> =
            futures_util::stream::iter(batch)
                .map(|u| async move {
                    let r = self
                        .record_disconnect(&u.conn, u.user, u.team, u.deadline_ms)
                        .await;
                    (u, r)
                })
                .buffer_unordered(RETRY_CONCURRENCY)
                .collect()
                .await;
        let mut changes = Vec::new();
        let mut failed = 0;
        for (u, r) in results {
            match r {
                Ok(c) => changes.extend(c),
                Err(_) => {
                    failed += 1;
                    self.keep_for_retry(u);
                }
            }
        }
        tracing::info!(
            tried,
            recorded = tried - failed,
            waiting = self.unrecorded_len(),
            "retried unrecorded disconnects"
        );
        changes
    }

    async fn record_disconnect(
        &self,
        conn: &str,
        user: Uuid,
        team: Option<Uuid>,
        deadline: i64,
    ) -> Result<Option<Change>, RedisError> {
        let mut inv = DISCONNECT.prepare_invoke();
        inv.key(self.conns_key(user))
            .key(self.pending_key())
            .key(self.team_key(team))
            .key(self.inst_conns_key(&self.instance))
            .arg(conn)
            .arg(user.to_string())
            .arg(team_str(team))
            .arg(deadline);
        let s: String = self.script(inv).await?;
        Ok(Self::change(user, team, s))
    }

    pub async fn set_status(
        &self,
        conn: &str,
        user: Uuid,
        team: Option<Uuid>,
        status: &str,
    ) -> Result<Option<Change>, RedisError> {
        if team.is_none() {
            // No team, no audience; still record it for when one comes.
            let _: i64 = self
                .redis
                .run(
                    redis::cmd("HSET")
                        .arg(self.conns_key(user))
                        .arg(conn)
                        .arg(status),
                )
                .await?;
            return Ok(None);
        }
        let mut inv = SET_STATUS.prepare_invoke();
        inv.key(self.conns_key(user))
            .key(self.team_key(team))
            .arg(conn)
            .arg(status)
            .arg(user.to_string());
        let s: String = self.script(inv).await?;
        Ok(Self::change(user, team, s))
    }

    /// The team's present users and their status (absent = offline).
    pub async fn team_list(&self, team: Uuid) -> Result<Vec<(String, String)>, RedisError> {
        let mut list: Vec<(String, String)> = self
            .redis
            .run(redis::cmd("HGETALL").arg(self.team_key(Some(team))))
            .await?;
        list.sort();
        Ok(list)
    }

    /// Refreshes this replica's liveness.
    pub async fn heartbeat(&self, ttl: Duration) -> Result<(), RedisError> {
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(self.alive_key(&self.instance))
            .arg(1)
            .arg("PX")
            .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
            .ignore()
            .cmd("SADD")
            .arg(self.instances_key())
            .arg(&self.instance)
            .ignore();
        self.redis.run_pipe(&pipe).await
    }

    /// Users whose offline grace ended with no socket back: now offline.
    pub async fn sweep(&self) -> Result<Vec<Change>, RedisError> {
        let mut inv = SWEEP.prepare_invoke();
        inv.key(self.pending_key())
            .arg(now_ms())
            .arg(self.redis.prefix());
        let tags: Vec<String> = self.script(inv).await?;
        Ok(tags
            .iter()
            .filter_map(|t| {
                let (u, team) = t.split_once('|')?;
                Some(Change {
                    user: u.parse().ok()?,
                    team: team.parse().ok()?,
                    status: "offline".to_owned(),
                })
            })
            .collect())
    }

    /// Cleans up after every registered replica whose heartbeat lapsed: its
    /// sockets are removed and their users enter the offline grace.
    pub async fn reap_dead(&self, grace: Duration) -> Result<Vec<Change>, RedisError> {
        let instances: Vec<String> = self
            .redis
            .run(redis::cmd("SMEMBERS").arg(self.instances_key()))
            .await?;
        let deadline = grace_deadline(grace);
        let mut changes = Vec::new();
        for inst in instances.iter().filter(|i| **i != self.instance) {
            let mut inv = REAP.prepare_invoke();
            inv.key(self.inst_conns_key(inst))
                .key(self.pending_key())
                .key(self.instances_key())
                .key(self.alive_key(inst))
                .arg(self.redis.prefix())
                .arg(deadline)
                .arg(inst);
            let out: Vec<String> = self.script(inv).await?;
            if !out.is_empty() {
                tracing::warn!(instance = %inst, changed = out.len(), "reaped a dead presence replica");
            }
            for t in out {
                let mut parts = t.splitn(3, '|');
                if let (Some(u), Some(team), Some(s)) = (parts.next(), parts.next(), parts.next())
                    && let (Ok(user), Ok(team)) = (u.parse(), team.parse())
                {
                    changes.push(Change {
                        user,
                        team,
                        status: s.to_owned(),
                    });
                }
            }
        }
        Ok(changes)
    }

    /// At clean shutdown: this replica is gone (its sockets closed already).
    pub async fn deregister(&self) -> Result<(), RedisError> {
        let mut pipe = redis::pipe();
        pipe.cmd("DEL")
            .arg(self.alive_key(&self.instance))
            .ignore()
            .cmd("SREM")
            .arg(self.instances_key())
            .arg(&self.instance)
            .ignore();
        self.redis.run_pipe(&pipe).await
    }
}
