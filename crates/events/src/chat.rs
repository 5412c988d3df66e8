//! `chat.events`: every chat event of every channel, routed by `channel`.
//! The busiest stream: a message's frame is serialized once, by the producer,
//! and every gateway replica forwards those bytes to every subscriber.

use crate::codec::events;
use crate::frame::{self, Frame};
use crate::topics;
use majlis_redis::streams::Retention;
use majlis_redis::{Redis, RedisError, redis};
use uuid::Uuid;

events! {
    /// An event of `chat.events`. Each `frame` is the client frame of the
    /// same `type` (contract: "Chat socket").
    pub enum ChatEvent on topics::CHAT_EVENTS {
        /// A stored message; `seq` orders the channel, and a gateway fills a
        /// gap in it from the database.
        Message = "message" { channel: Uuid = "channel", seq: i64 = "seq" } frame: Frame,
        ReactionAdded = "reaction_added" { channel: Uuid = "channel" } frame: Frame,
        ReactionRemoved = "reaction_removed" { channel: Uuid = "channel" } frame: Frame,
        /// `{"type":"message_edited","message"}`: the message as it is now.
        MessageEdited = "message_edited" { channel: Uuid = "channel" } frame: Frame,
        /// `{"type":"message_deleted","message_id"}`: now a tombstone.
        MessageDeleted = "message_deleted" { channel: Uuid = "channel" } frame: Frame,
        /// A root's replies changed: `{"type":"thread_updated","root_id",
        /// "reply_count","last_reply_at"}`.
        ThreadUpdated = "thread_updated" { channel: Uuid = "channel" } frame: Frame,
        /// Not sent back to `user`, who is typing.
        TypingStart = "typing_start" { channel: Uuid = "channel", user: Uuid = "user" } frame: Frame,
        TypingStop = "typing_stop" { channel: Uuid = "channel", user: Uuid = "user" } frame: Frame,
        /// The channel's properties changed: `{"type":"channel_updated","channel"}`.
        ChannelUpdated = "channel_updated" { channel: Uuid = "channel" } frame: Frame,
        /// Archived (sockets stay open, readable, not writable):
        /// `{"type":"channel_archived","channel_id","channel"}`.
        ChannelArchived = "channel_archived" { channel: Uuid = "channel" } frame: Frame,
        /// `user` may no longer read the channel: the gateways close its
        /// sockets there with 4403. Not forwarded.
        MemberRemoved = "member_removed" { channel: Uuid = "channel", user: Uuid = "user" } data: (),
    }
}

impl ChatEvent {
    /// `message_json` is the message as channels-svc serialized it.
    pub fn message(channel: Uuid, seq: i64, message_json: &str) -> Self {
        Self::Message {
            channel,
            seq,
            frame: Frame::new(frame::message(message_json)),
        }
    }

    pub fn reaction(channel: Uuid, message: Uuid, user: Uuid, emoji: &str, added: bool) -> Self {
        if added {
            let frame = Frame::new(frame::reaction("reaction_added", message, user, emoji));
            Self::ReactionAdded { channel, frame }
        } else {
            let frame = Frame::new(frame::reaction("reaction_removed", message, user, emoji));
            Self::ReactionRemoved { channel, frame }
        }
    }

    /// `message_json` is the edited message as channels-svc serialized it.
    pub fn message_edited(channel: Uuid, message_json: &str) -> Self {
        Self::MessageEdited {
            channel,
            frame: Frame::new(frame::message_edited(message_json)),
        }
    }

    pub fn message_deleted(channel: Uuid, message: Uuid) -> Self {
        Self::MessageDeleted {
            channel,
            frame: Frame::new(frame::message_deleted(message)),
        }
    }

    pub fn thread_updated(
        channel: Uuid,
        root: Uuid,
        reply_count: i32,
        last_reply_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Self {
        Self::ThreadUpdated {
            channel,
            frame: Frame::new(frame::thread_updated(root, reply_count, last_reply_at)),
        }
    }

    pub fn typing(channel: Uuid, user: Uuid, started: bool) -> Self {
        if started {
            let frame = Frame::new(frame::typing("typing_start", user));
            Self::TypingStart {
                channel,
                user,
                frame,
            }
        } else {
            let frame = Frame::new(frame::typing("typing_stop", user));
            Self::TypingStop {
                channel,
                user,
                frame,
            }
        }
    }

    /// `channel` is the contract's channel object, as it is now.
    pub fn channel_updated(
        channel_id: Uuid,
        channel: &impl serde::Serialize,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self::ChannelUpdated {
            channel: channel_id,
            frame: Frame::new(frame::channel_updated(channel)?),
        })
    }

    /// `channel` is the contract's channel object, with `archived_at`.
    pub fn channel_archived(
        channel_id: Uuid,
        channel: &impl serde::Serialize,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self::ChannelArchived {
            channel: channel_id,
            frame: Frame::new(frame::channel_archived(channel_id, channel)?),
        })
    }

    pub fn member_removed(channel: Uuid, user: Uuid) -> Self {
        Self::MemberRemoved {
            channel,
            user,
            data: (),
        }
    }

    /// The channel whose subscribers get the event.
    pub fn channel(&self) -> Uuid {
        match self {
            Self::Message { channel, .. }
            | Self::ReactionAdded { channel, .. }
            | Self::ReactionRemoved { channel, .. }
            | Self::MessageEdited { channel, .. }
            | Self::MessageDeleted { channel, .. }
            | Self::ThreadUpdated { channel, .. }
            | Self::TypingStart { channel, .. }
            | Self::TypingStop { channel, .. }
            | Self::ChannelUpdated { channel, .. }
            | Self::ChannelArchived { channel, .. }
            | Self::MemberRemoved { channel, .. } => *channel,
        }
    }

    /// The trimming of `chat.events`: about `max_bytes`, and never more than
    /// [`topics::CHAT_EVENTS_MAX_LEN`] entries. One per process, shared by
    /// every append it makes.
    pub fn retention(max_bytes: usize) -> Retention {
        Retention::new(max_bytes, topics::CHAT_EVENTS_MAX_LEN)
    }

    /// Appends the event, with the current span's trace context.
    pub async fn publish(
        &self,
        redis: &Redis,
        retention: &Retention,
    ) -> Result<String, RedisError> {
        crate::publish(redis, self, retention).await
    }

    /// The append, for pipelining many (`streams::publish_pipelined`), with
    /// `trace` taken in the span of the request that caused it.
    pub fn xadd(
        &self,
        redis: &Redis,
        trace: &[(String, String)],
        retention: &Retention,
    ) -> redis::Cmd {
        crate::xadd(redis, self, trace, retention)
    }
}
