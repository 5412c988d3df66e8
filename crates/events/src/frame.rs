//! The client frames events carry, each built here and nowhere else. An
//! entry's `data` is the frame exactly as clients receive it, serialized once
//! by the producer; gateways hand the same bytes to every socket without
//! parsing or re-encoding them (what keeps a fan-out cheap).
//!
//! The builders use `serde_json::json!`, whose objects order their keys
//! alphabetically: the bytes are pinned by this crate's wire tests, since
//! replicas of two versions share the streams during a rolling upgrade.

use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

/// A serialized JSON body as an entry's `data` carries it: for the events
/// clients see, the exact frame they receive. Only this crate builds one (or
/// takes one from a stream entry), so every frame of a kind has one shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame(String);

impl Frame {
    pub(crate) fn new(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, without copying it (into a gateway's shared frame).
    pub fn into_string(self) -> String {
        self.0
    }
}

impl From<Frame> for String {
    fn from(f: Frame) -> Self {
        f.0
    }
}

/// `{"type":"message","message":…}` around the message JSON as channels-svc
/// serialized it (not parsed again): what the stream carries, and what a
/// gateway's replay and gap fill send for messages read from the database.
pub fn message(message_json: &str) -> String {
    format!("{{\"type\":\"message\",\"message\":{message_json}}}")
}

/// `presence_update`: on the stream, and what the presence socket sends for
/// a single change.
pub fn presence_update(user_id: &str, status: &str) -> String {
    json!({"type": "presence_update", "user_id": user_id, "status": status}).to_string()
}

/// `{"type":"message_edited","message":…}` around the message JSON as
/// channels-svc serialized it.
pub(crate) fn message_edited(message_json: &str) -> String {
    format!("{{\"type\":\"message_edited\",\"message\":{message_json}}}")
}

pub(crate) fn message_deleted(message: Uuid) -> String {
    json!({"type": "message_deleted", "message_id": message}).to_string()
}

pub(crate) fn thread_updated(
    root: Uuid,
    reply_count: i32,
    last_reply_at: Option<chrono::DateTime<chrono::Utc>>,
) -> String {
    json!({"type": "thread_updated", "root_id": root, "reply_count": reply_count, "last_reply_at": last_reply_at})
        .to_string()
}

pub(crate) fn reaction(kind: &str, message: Uuid, user: Uuid, emoji: &str) -> String {
    json!({"type": kind, "message_id": message, "user_id": user, "emoji": emoji}).to_string()
}

pub(crate) fn typing(kind: &str, user: Uuid) -> String {
    json!({"type": kind, "user_id": user}).to_string()
}

/// `channel` is the contract's channel object (channels-svc's model, or the
/// same object as onboarding-svc received it over gRPC).
pub(crate) fn channel_created(channel: &impl Serialize) -> Result<String, serde_json::Error> {
    let channel = serde_json::to_value(channel)?;
    Ok(json!({"type": "channel_created", "channel": channel}).to_string())
}

pub(crate) fn channel_member_added(
    channel: &impl Serialize,
    user: Uuid,
) -> Result<String, serde_json::Error> {
    let channel = serde_json::to_value(channel)?;
    Ok(json!({"type": "channel_member_added", "channel": channel, "user_id": user}).to_string())
}

/// `user_team_changed`'s body: not a client frame (presence sockets re-list
/// the team instead), and no consumer reads it; kept as it always was.
pub(crate) fn user_team_changed(user: Uuid, team: Uuid) -> String {
    json!({"user_id": user, "team_id": team}).to_string()
}

/// `channel` is the contract's channel object, as it is now.
pub(crate) fn channel_updated(channel: &impl Serialize) -> Result<String, serde_json::Error> {
    let channel = serde_json::to_value(channel)?;
    Ok(json!({"type": "channel_updated", "channel": channel}).to_string())
}

/// The presence socket's `{channel_id}` and, for the chat socket's readers,
/// the archived channel itself (additive).
pub(crate) fn channel_archived(
    channel_id: Uuid,
    channel: &impl Serialize,
) -> Result<String, serde_json::Error> {
    let channel = serde_json::to_value(channel)?;
    Ok(
        json!({"type": "channel_archived", "channel_id": channel_id, "channel": channel})
            .to_string(),
    )
}

pub(crate) fn channel_member_removed(channel: Uuid, user: Uuid) -> String {
    json!({"type": "channel_member_removed", "channel_id": channel, "user_id": user}).to_string()
}

pub(crate) fn permissions_changed() -> String {
    json!({"type": "permissions_changed"}).to_string()
}

pub(crate) fn team_removed(team: Uuid) -> String {
    json!({"type": "team_removed", "team_id": team}).to_string()
}

/// A user's read state of one channel: the `unread` frame's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Unread {
    pub channel_id: Uuid,
    /// The channel's newest seq.
    pub last_seq: i64,
    /// The user's read cursor.
    pub last_read_seq: i64,
    /// Messages above the cursor written by others (tombstones not counted).
    pub unread_count: i64,
    /// Those of them that mention the user.
    pub mention_count: i64,
}

pub fn unread(u: &Unread) -> String {
    json!({
        "type": "unread",
        "channel_id": u.channel_id,
        "last_seq": u.last_seq,
        "last_read_seq": u.last_read_seq,
        "unread_count": u.unread_count,
        "mention_count": u.mention_count,
    })
    .to_string()
}
