//! The contract's channel and message objects, and the rows they come from.

use crate::schema::{channels, messages};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
pub use majlis_objects::{Channel, ChannelType};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Debug, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = channels)]
pub struct ChannelRow {
    pub id: Uuid,
    pub team_id: Uuid,
    pub name: String,
    pub display_name: String,
    pub kind: String,
    pub creator_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_seq: i64,
    pub topic: String,
    pub purpose: String,
    pub read_only: bool,
    pub archived_at: Option<DateTime<Utc>>,
}

/// The channel every team starts with and no one may leave or archive.
pub const DEFAULT_CHANNEL: &str = "town-square";

impl ChannelRow {
    pub fn is_public(&self) -> bool {
        self.kind == ChannelType::Public.as_str()
    }

    pub fn is_default(&self) -> bool {
        self.name == DEFAULT_CHANNEL
    }
}

/// The contract's channel object of a row.
impl From<&ChannelRow> for Channel {
    fn from(r: &ChannelRow) -> Self {
        Self {
            id: r.id,
            team_id: r.team_id,
            name: r.name.clone(),
            display_name: r.display_name.clone(),
            kind: r.kind.clone(),
            creator_id: r.creator_id,
            created_at: r.created_at,
            last_seq: r.last_seq,
            topic: r.topic.clone(),
            purpose: r.purpose.clone(),
            read_only: r.read_only,
            archived_at: r.archived_at,
        }
    }
}

#[derive(Clone, Debug, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = messages)]
pub struct MessageRow {
    pub id: Uuid,
    pub channel_id: Uuid,
    pub seq: i64,
    pub user_id: Uuid,
    pub content: String,
    pub client_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub root_id: Option<Uuid>,
    pub reply_count: i32,
    pub last_reply_at: Option<DateTime<Utc>>,
    pub mentions: Vec<Uuid>,
}

/// The columns of a [`MessageRow`], in its order, for raw SQL.
pub const MESSAGE_COLUMNS: &str = "id, channel_id, seq, user_id, content, client_id, created_at, \
     edited_at, deleted_at, root_id, reply_count, last_reply_at, mentions";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Reaction {
    pub emoji: String,
    /// In the order the reactions were added.
    pub user_ids: Vec<Uuid>,
}

/// The contract's message object.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Message {
    pub id: Uuid,
    pub channel_id: Uuid,
    /// Per channel, from 1, without gaps.
    pub seq: i64,
    pub user_id: Uuid,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub client_id: Option<String>,
    pub reactions: Vec<Reaction>,
    /// When the content last changed; null if never.
    pub edited_at: Option<DateTime<Utc>>,
    /// A tombstone: the seq stays, the content is empty, no reactions.
    pub deleted: bool,
    /// The thread's root when this is a reply; null for a top-level message.
    pub root_id: Option<Uuid>,
    /// Live replies, on a root (0 otherwise).
    pub reply_count: i32,
    /// The newest reply's time, on a root with replies.
    pub last_reply_at: Option<DateTime<Utc>>,
    /// The users this message mentions (`@channel`, `@all` and `@here`
    /// expanded to the members they reached when it was sent); never the
    /// author. Empty on a tombstone.
    pub mentions: Vec<Uuid>,
}

impl Message {
    pub fn from_row(r: MessageRow, reactions: Vec<Reaction>) -> Self {
        let deleted = r.deleted_at.is_some();
        Self {
            id: r.id,
            channel_id: r.channel_id,
            seq: r.seq,
            user_id: r.user_id,
            // Emptied when deleted; never shown even if a row held some.
            content: if deleted { String::new() } else { r.content },
            created_at: r.created_at,
            client_id: r.client_id,
            reactions: if deleted { Vec::new() } else { reactions },
            edited_at: r.edited_at,
            deleted,
            root_id: r.root_id,
            reply_count: r.reply_count,
            last_reply_at: r.last_reply_at,
            mentions: if deleted { Vec::new() } else { r.mentions },
        }
    }
}
