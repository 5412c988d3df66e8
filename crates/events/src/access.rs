//! `access.events`: what changed in who may do what, so that every cache of
//! access (`majlis-access`) drops it at once. The entries carry no data:
//! a reader refetches the current state from its owner.

use crate::codec::events;
use crate::topics;
use majlis_redis::{Redis, RedisError};
use uuid::Uuid;

events! {
    /// An event of `access.events`.
    pub enum AccessEvent on topics::ACCESS_EVENTS {
        /// The user's team, team role, system role or activity changed.
        AccessChanged = "access_changed" { user: Uuid = "user" } data: (),
        /// The team's permission scheme changed: every member's access.
        SchemeChanged = "scheme_changed" { team: Uuid = "team" } data: (),
    }
}

impl AccessEvent {
    pub fn access_changed(user: Uuid) -> Self {
        Self::AccessChanged { user, data: () }
    }

    pub fn scheme_changed(team: Uuid) -> Self {
        Self::SchemeChanged { team, data: () }
    }

    /// Appends the event, with the current span's trace context.
    pub async fn publish(&self, redis: &Redis) -> Result<String, RedisError> {
        crate::publish(redis, self, topics::ACCESS_EVENTS_MAX_LEN).await
    }
}
