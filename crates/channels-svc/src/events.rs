//! The events channels-svc publishes (defined in `majlis-events`, which
//! serializes each once into the exact frame clients receive).
//!
//! A publish failure after the database commit is logged, not returned: the
//! message is stored (the database is the source of truth) and gateways fill
//! any seq gap from it, so live delivery heals on the next message.

use crate::model::{Channel, ChannelType};
use majlis_events::{Audience, ChatEvent, Event, PresenceEvent};
use majlis_redis::Redis;
use majlis_redis::streams::Retention;
use uuid::Uuid;

pub async fn reaction_changed(
    redis: &Redis,
    chat_stream: &Retention,
    channel: Uuid,
    message: Uuid,
    user: Uuid,
    emoji: &str,
    added: bool,
) {
    let event = ChatEvent::reaction(channel, message, user, emoji, added);
    if let Err(e) = event.publish(redis, chat_stream).await {
        tracing::error!(error = %e, %channel, "reaction stored but not published");
    }
}

async fn presence_event(redis: &Redis, event: Result<PresenceEvent, serde_json::Error>) {
    match event {
        Ok(event) => {
            if let Err(e) = event.publish(redis).await {
                tracing::error!(error = %e, kind = event.kind(), "presence event not published");
            }
        }
        Err(e) => tracing::error!(error = %e, "presence event not encoded"),
    }
}

/// `channel_created` to the channel's audience: the team for a public
/// channel, its members for a private one. The members are named for a public
/// channel too: a creator whose presence socket has not joined the team yet
/// (onboarding makes the channels before the team is set) still hears it.
pub async fn channel_created(redis: &Redis, channel: &Channel, members: &[Uuid]) {
    let team = (channel.kind == ChannelType::Public.as_str()).then_some(channel.team_id);
    let audience = Audience::team_and_users(team, members);
    presence_event(redis, PresenceEvent::channel_created(channel, audience)).await;
}

/// `channel_member_added` to the added user.
pub async fn channel_member_added(redis: &Redis, channel: &Channel, user: Uuid) {
    presence_event(redis, PresenceEvent::channel_member_added(channel, user)).await;
}
