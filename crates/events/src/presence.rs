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
        /// `frame` goes to the audience's sockets as it is.
        ChannelUpdated = "channel_updated" { audience: Audience = AUDIENCE } frame: Frame,
        /// `frame` goes to the audience's sockets as it is.
        ChannelArchived = "channel_archived" { audience: Audience = AUDIENCE } frame: Frame,
        /// `frame` goes to the audience's sockets as it is.
        ChannelMemberRemoved = "channel_member_removed" { audience: Audience = AUDIENCE } frame: Frame,
        /// The audience's effective permissions changed (a role, a
        /// membership, the scheme): clients refetch them.
        PermissionsChanged = "permissions_changed" { audience: Audience = AUDIENCE } frame: Frame,
        /// `user` left or was removed from `team`: its sockets get `frame`
        /// (`team_removed`), then an empty `presence_list`, and stop
        /// receiving the team's events.
        TeamRemoved = "team_removed" {
            user: Uuid = AUDIENCE_USERS,
            team: Uuid = "team",
        } frame: Frame,
        /// A user's read state of one channel moved (a message arrived, its
        /// cursor moved): `frame` (`unread`) goes to every socket of the
        /// user (the audience) as it is.
        Unread = "unread" { audience: Audience = AUDIENCE } frame: Frame,
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

    /// `channel` is the contract's channel object, as it is now.
    pub fn channel_updated(
        channel: &impl Serialize,
        audience: Audience,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self::ChannelUpdated {
            audience,
            frame: Frame::new(frame::channel_updated(channel)?),
        })
    }

    pub fn channel_archived(
        channel_id: Uuid,
        channel: &impl Serialize,
        audience: Audience,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self::ChannelArchived {
            audience,
            frame: Frame::new(frame::channel_archived(channel_id, channel)?),
        })
    }

    pub fn channel_member_removed(channel: Uuid, user: Uuid, audience: Audience) -> Self {
        Self::ChannelMemberRemoved {
            audience,
            frame: Frame::new(frame::channel_member_removed(channel, user)),
        }
    }

    pub fn permissions_changed(audience: Audience) -> Self {
        Self::PermissionsChanged {
            audience,
            frame: Frame::new(frame::permissions_changed()),
        }
    }

    pub fn team_removed(user: Uuid, team: Uuid) -> Self {
        Self::TeamRemoved {
            user,
            team,
            frame: Frame::new(frame::team_removed(team)),
        }
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

    /// `user`'s read state of a channel, for all of its sockets.
    pub fn unread(user: Uuid, state: &frame::Unread) -> Self {
        Self::Unread {
            audience: Audience::users([user]),
            frame: Frame::new(frame::unread(state)),
        }
    }

    /// Appends the event, with the current span's trace context.
    pub async fn publish(&self, redis: &Redis) -> Result<String, RedisError> {
        crate::publish(redis, self, topics::PRESENCE_EVENTS_MAX_LEN).await
    }

    /// The append, for pipelining many (`streams::publish_pipelined`).
    pub fn xadd(&self, redis: &Redis, trace: &[(String, String)]) -> majlis_redis::redis::Cmd {
        crate::xadd(redis, self, trace, topics::PRESENCE_EVENTS_MAX_LEN)
    }
}

/// Not a stream: the hash presence-gateway keeps of a team's present users
/// (user → `online`|`away`; absent = offline), un-prefixed. presence-gateway
/// alone writes it; channels-svc reads it to know who `@here` reaches and
/// whose sockets need `unread` events.
pub fn team_presence_key(team: Uuid) -> String {
    format!("presence:team:{team}")
}
