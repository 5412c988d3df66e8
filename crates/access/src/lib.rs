//! A user's current access — its [`Principal`] (active, system admin, team
//! and team role) and its team's [`Scheme`] — asked of auth-svc, which owns
//! them, and cached until an `access.events` entry says it changed. Every
//! service that decides who may do what reads access here and evaluates it
//! with `majlis-authz`; none reads a role or a team from a token's claims.
//!
//! Freshness: an entry is dropped when `access.events` names its user or
//! its team (milliseconds after the change), and lives at most
//! `max_age` in any case (the bound when an event is lost, e.g. while Redis
//! restarts). A fetch that overlaps an invalidation is answered but not
//! stored, so a slow answer from before a change is never kept after it.
//! Users without a team are never cached: onboarding is about to change them.

pub mod wire;

use majlis_authz::{ChannelRole, Grants, Principal, Scheme};
use majlis_errors::ApiError;
use majlis_events::{AccessEvent, Entry, Event};
use majlis_proto::auth::v1 as pb;
use majlis_proto::auth::v1::auth_service_client::AuthServiceClient;
use majlis_redis::{Redis, streams};
use majlis_runtime::Shutdown;
use majlis_runtime::grpc::TracedChannel;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;
use uuid::Uuid;

/// What authorization needs to know of a user, as it is now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    pub principal: Principal,
    /// The scheme of the user's team (the default without a team).
    pub scheme: Scheme,
}

impl Access {
    /// The user's team, if it has one and is active.
    pub fn team(&self) -> Option<Uuid> {
        self.principal
            .team
            .filter(|_| self.principal.active)
            .map(|m| m.team)
    }

    /// What the user may do in `team` (team-scoped permissions only).
    pub fn in_team(&self, team: Uuid) -> Grants {
        majlis_authz::evaluate(&self.principal, &self.scheme, team, false, None)
    }

    /// What the user may do in a channel of `team` where its role is
    /// `role` (`None`: not a member).
    pub fn in_channel(&self, team: Uuid, role: Option<ChannelRole>) -> Grants {
        majlis_authz::evaluate(&self.principal, &self.scheme, team, true, role)
    }
}

/// Tuning; the defaults suit every service.
#[derive(Clone, Copy, Debug)]
pub struct CacheSettings {
    /// The longest an entry is used without an event saying it is current.
    pub max_age: Duration,
    /// The most users held; past it, expired entries go, then all.
    pub capacity: usize,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(2),
            capacity: 100_000,
        }
    }
}

struct Cached {
    access: Access,
    at: Instant,
}

struct Inner {
    client: AuthServiceClient<TracedChannel>,
    entries: Mutex<HashMap<Uuid, Cached>>,
    /// Bumped by every invalidation: a fetch that saw it change stores
    /// nothing.
    generation: AtomicU64,
    settings: CacheSettings,
}

/// The cache. Cheap to clone; one per process, fed by [`AccessCache::follow`].
#[derive(Clone)]
pub struct AccessCache {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AccessCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessCache")
            .field("entries", &self.entries().len())
            .finish_non_exhaustive()
    }
}

impl AccessCache {
    pub fn new(auth: TracedChannel, settings: CacheSettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                client: majlis_runtime::grpc::auth_client(auth),
                entries: Mutex::new(HashMap::new()),
                generation: AtomicU64::new(0),
                settings,
            }),
        }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<Uuid, Cached>> {
        match self.inner.entries.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The user's access; `None` for a user auth-svc does not know.
    pub async fn get(&self, user: Uuid) -> Result<Option<Access>, ApiError> {
        Ok(self.get_many(&[user]).await?.remove(&user))
    }

    /// Access of each known user (unknown ones are left out), with one call
    /// to auth-svc for those not cached.
    pub async fn get_many(&self, users: &[Uuid]) -> Result<HashMap<Uuid, Access>, ApiError> {
        let now = Instant::now();
        let max_age = self.inner.settings.max_age;
        let mut found = HashMap::with_capacity(users.len());
        let mut missing = Vec::new();
        {
            let entries = self.entries();
            for u in users {
                match entries.get(u) {
                    Some(c) if now.duration_since(c.at) < max_age => {
                        found.insert(*u, c.access);
                    }
                    _ if !missing.contains(u) => missing.push(*u),
                    _ => {}
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let generation = self.inner.generation.load(Ordering::Acquire);
        let fetched = self.fetch(&missing).await?;
        let mut entries = self.entries();
        // Compared under the lock that invalidations take too.
        let current = self.inner.generation.load(Ordering::Acquire) == generation;
        if current && entries.len() + fetched.len() > self.inner.settings.capacity {
            entries.retain(|_, c| now.duration_since(c.at) < max_age);
            if entries.len() + fetched.len() > self.inner.settings.capacity {
                entries.clear();
            }
        }
        for access in fetched {
            let user = access.principal.user;
            // A user without a team is one onboarding is about to change:
            // always asked afresh, so the request right after it joins a
            // team (the SPA's next one) never meets the old answer.
            if current && access.principal.team.is_some() {
                entries.insert(user, Cached { access, at: now });
            }
            found.insert(user, access);
        }
        Ok(found)
    }

    async fn fetch(&self, users: &[Uuid]) -> Result<Vec<Access>, ApiError> {
        let reply = self
            .inner
            .client
            .clone()
            .get_access(pb::GetAccessRequest {
                user_ids: users.iter().map(Uuid::to_string).collect(),
            })
            .await?
            .into_inner();
        Ok(reply
            .access
            .iter()
            .filter_map(|a| {
                let parsed = wire::access_from_pb(a);
                if parsed.is_none() {
                    tracing::warn!(user = %a.user_id, "unreadable access from auth-svc; treated as unknown");
                }
                parsed
            })
            .collect())
    }

    /// Drops what an `access.events` entry says changed.
    pub fn apply(&self, event: &AccessEvent) {
        let mut entries = self.entries();
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        match event {
            AccessEvent::AccessChanged { user, .. } => {
                entries.remove(user);
            }
            AccessEvent::SchemeChanged { team, .. } => {
                entries.retain(|_, c| c.access.principal.team.map(|m| m.team) != Some(*team));
            }
        }
    }

    /// Forgets everything (events may have been missed).
    pub fn clear(&self) {
        let mut entries = self.entries();
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// Follows `access.events` until shutdown, dropping what each entry
    /// names. Run once per process, beside the server.
    pub async fn follow(self, redis: Redis, shutdown: Shutdown) {
        // What was cached before the reader started may predate events it
        // will never see.
        self.clear();
        streams::tail(
            &redis,
            &[AccessEvent::TOPIC],
            shutdown.wait(),
            |_, mut entry: Entry| {
                if let Some(event) = majlis_events::decode_or_skip::<AccessEvent>(&mut entry) {
                    self.apply(&event);
                }
            },
        )
        .await;
    }

    /// How many users are cached (for tests and metrics).
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
