//! What auth-svc announces after a change has committed: `access.events`
//! (every access cache drops the user or the team) and `presence.events`
//! (the presence sockets' frames). Best effort: a lost access event is
//! bounded by the caches' max age, a lost frame by the client's next
//! refetch; the change itself is already durable, so neither fails the
//! request.

use majlis_events::{AccessEvent, PresenceEvent};
use majlis_redis::Redis;

pub async fn access(redis: &Redis, event: AccessEvent) {
    if let Err(e) = event.publish(redis).await {
        tracing::warn!(error = %e, ?event, "access change not announced; caches expire it");
    }
}

pub async fn presence(redis: &Redis, event: PresenceEvent) {
    if let Err(e) = event.publish(redis).await {
        tracing::warn!(error = %e, "presence event not published");
    }
}
