//! The events channels-svc publishes, each serialized once here into the exact
//! frame clients receive, so gateways forward bytes without re-encoding.
//!
//! A publish failure after the database commit is logged, not returned: the
//! message is stored (the database is the source of truth) and gateways fill
//! any seq gap from it, so live delivery heals on the next message.

use crate::model::Channel;
use majlis_redis::Redis;
use majlis_redis::streams::{Retention, publish_with};
use majlis_redis::topics::PRESENCE_EVENTS_MAX_LEN as PRESENCE_STREAM_MAX_LEN;
use majlis_redis::topics::{CHAT_EVENTS, PRESENCE_EVENTS};
use serde_json::json;
use uuid::Uuid;

/// The message frame, as JSON text.
pub fn message_frame(message_json: &str) -> String {
    format!("{{\"type\":\"message\",\"message\":{message_json}}}")
}

pub async fn reaction_changed(
    redis: &Redis,
    chat_stream: &Retention,
    channel: Uuid,
    message: Uuid,
    user: Uuid,
    emoji: &str,
    added: bool,
) {
    let kind = if added {
        "reaction_added"
    } else {
        "reaction_removed"
    };
    let frame =
        json!({"type": kind, "message_id": message, "user_id": user, "emoji": emoji}).to_string();
    let channel = channel.to_string();
    if let Err(e) = publish_with(
        redis,
        CHAT_EVENTS,
        kind,
        &frame,
        &[("channel", &channel)],
        chat_stream,
    )
    .await
    {
        tracing::error!(error = %e, %channel, "reaction stored but not published");
    }
}

/// Sends a presence-socket event to `team`'s sockets and to `users`' sockets
/// (each socket once).
async fn presence_event(
    redis: &Redis,
    kind: &str,
    frame: &str,
    team: Option<Uuid>,
    users: &[Uuid],
) {
    let team = team.map(|t| t.to_string());
    let users = users
        .iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut fields: Vec<(&str, &str)> = Vec::with_capacity(2);
    if let Some(t) = &team {
        fields.push(("audience_team", t));
    }
    if !users.is_empty() {
        fields.push(("audience_users", &users));
    }
    if let Err(e) = publish_with(
        redis,
        PRESENCE_EVENTS,
        kind,
        frame,
        &fields,
        PRESENCE_STREAM_MAX_LEN,
    )
    .await
    {
        tracing::error!(error = %e, kind, "presence event not published");
    }
}

/// `channel_created` to the channel's audience: the team for a public
/// channel, its members for a private one. The members are named for a public
/// channel too: a creator whose presence socket has not joined the team yet
/// (onboarding makes the channels before the team is set) still hears it.
pub async fn channel_created(redis: &Redis, channel: &Channel, members: &[Uuid]) {
    let frame = json!({"type": "channel_created", "channel": channel}).to_string();
    let team = (channel.kind == "public").then_some(channel.team_id);
    presence_event(redis, "channel_created", &frame, team, members).await;
}

/// `channel_member_added` to the added user.
pub async fn channel_member_added(redis: &Redis, channel: &Channel, user: Uuid) {
    let frame =
        json!({"type": "channel_member_added", "channel": channel, "user_id": user}).to_string();
    presence_event(redis, "channel_member_added", &frame, None, &[user]).await;
}
