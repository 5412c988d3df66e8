//! `presence.events`: the presence sockets' events, routed by audience.
//! Low volume: channels created or joined, status changes, team changes.

use crate::audience::Audience;
use crate::codec::events;
use crate::frame::{self, Frame};
use crate::topics;
use majlis_redis::{Redis, RedisError};
use serde::Serialize;
use uuid::Uuid;

/// Who an event is for, on the wire: a team, and users (comma-separated).
const AUDIENCE_TEAM: &str = "audience_team";
const AUDIENCE_USERS: &str = "audience_users";
const AUDIENCE: (&str, &str) = (AUDIENCE_TEAM, AUDIENCE_USERS);

events! {
    /// An event of `presence.events`.
    pub enum PresenceEvent on topics::PRESENCE_EVENTS {
        /// `frame` goes to the audience's sockets as it is.
        ChannelCreated = "channel_created" { audience: Audience = AUDIENCE } frame: Frame,
        /// `frame` goes to the audience's sockets as it is.
        ChannelMemberAdded = "channel_member_added" { audience: Audience = AUDIENCE } frame: Frame,
        /// A status change, for the other sockets of `team`: each gateway
        /// coalesces changes per socket into its own frames, so `frame` is
        /// not forwarded.
        PresenceUpdate = "presence_update" {
            team: Uuid = AUDIENCE_TEAM,
            user: Uuid = "user",
            status: String = "status",
        } frame: Frame,
        /// `user` joined `team`: their open presence sockets follow them.
        UserTeamChanged = "user_team_changed" {
            user: Uuid = AUDIENCE_USERS,
            team: Uuid = "team",
        } body: Frame,
    }
}

impl PresenceEvent {
    /// `channel` is the contract's channel object.
    pub fn channel_created(
        channel: &impl Serialize,
        audience: Audience,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self::ChannelCreated {
            audience,
            frame: Frame::new(frame::channel_created(channel)?),
        })
    }

    /// To the added user only.
    pub fn channel_member_added(
        channel: &impl Serialize,
        user: Uuid,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self::ChannelMemberAdded {
            audience: Audience::users([user]),
            frame: Frame::new(frame::channel_member_added(channel, user)?),
        })
    }

    pub fn presence_update(team: Uuid, user: Uuid, status: &str) -> Self {
        Self::PresenceUpdate {
            team,
            user,
            status: status.to_owned(),
            frame: Frame::new(frame::presence_update(&user.to_string(), status)),
        }
    }

    pub fn user_team_changed(user: Uuid, team: Uuid) -> Self {
        Self::UserTeamChanged {
            user,
            team,
            body: Frame::new(frame::user_team_changed(user, team)),
        }
    }

    /// Appends the event, with the current span's trace context.
    pub async fn publish(&self, redis: &Redis) -> Result<String, RedisError> {
        crate::publish(redis, self, topics::PRESENCE_EVENTS_MAX_LEN).await
    }
}
