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

/// Who hears of a change to a channel on the presence socket: the team for
/// a public channel, its members for a private one. `None` when that is no
/// one (a private channel everyone left).
pub fn audience_of(channel: &Channel, members: &[Uuid]) -> Option<Audience> {
    if channel.kind == ChannelType::Public.as_str() {
        Some(Audience::team_and_users(Some(channel.team_id), Vec::new()))
    } else if members.is_empty() {
        None
    } else {
        Some(Audience::users(members.to_vec()))
    }
}

async fn chat_event(
    redis: &Redis,
    chat_stream: &Retention,
    channel: Uuid,
    event: Result<ChatEvent, serde_json::Error>,
) {
    match event {
        Ok(event) => {
            if let Err(e) = event.publish(redis, chat_stream).await {
                tracing::error!(error = %e, %channel, kind = event.kind(), "chat event not published");
            }
        }
        Err(e) => tracing::error!(error = %e, %channel, "chat event not encoded"),
    }
}

/// `channel_updated` to the channel's chat sockets and presence audience.
pub async fn channel_updated(
    redis: &Redis,
    chat_stream: &Retention,
    channel: &Channel,
    audience: Option<Audience>,
) {
    chat_event(
        redis,
        chat_stream,
        channel.id,
        ChatEvent::channel_updated(channel.id, channel),
    )
    .await;
    if let Some(audience) = audience {
        presence_event(redis, PresenceEvent::channel_updated(channel, audience)).await;
    }
}

/// `channel_archived` to the channel's chat sockets (which stay open) and
/// presence audience.
pub async fn channel_archived(
    redis: &Redis,
    chat_stream: &Retention,
    channel: &Channel,
    audience: Option<Audience>,
) {
    chat_event(
        redis,
        chat_stream,
        channel.id,
        ChatEvent::channel_archived(channel.id, channel),
    )
    .await;
    if let Some(audience) = audience {
        presence_event(
            redis,
            PresenceEvent::channel_archived(channel.id, channel, audience),
        )
        .await;
    }
}

/// `user` left or was removed from `channel`: its chat sockets there close
/// with 4403, and it and the channel's remaining members get
/// `channel_member_removed`.
pub async fn member_removed(
    redis: &Redis,
    chat_stream: &Retention,
    channel: Uuid,
    user: Uuid,
    remaining: &[Uuid],
) {
    chat_event(
        redis,
        chat_stream,
        channel,
        Ok(ChatEvent::member_removed(channel, user)),
    )
    .await;
    let mut audience = Vec::with_capacity(remaining.len() + 1);
    audience.push(user);
    audience.extend(remaining.iter().filter(|u| **u != user));
    presence_event(
        redis,
        Ok(PresenceEvent::channel_member_removed(
            channel,
            user,
            Audience::users(audience),
        )),
    )
    .await;
}

/// `permissions_changed` to `user` (its channel role changed, or it left a
/// channel): its clients refetch their permissions.
pub async fn permissions_changed(redis: &Redis, user: Uuid) {
    presence_event(
        redis,
        Ok(PresenceEvent::permissions_changed(Audience::users([user]))),
    )
    .await;
}
