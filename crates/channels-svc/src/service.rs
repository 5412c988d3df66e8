//! Channel and message operations shared by the REST handlers and the gRPC
//! service, so a message sent over the socket and one sent over REST take the
//! same path: validate, store with the next seq, publish once.

use crate::commit::{CommitError, Committed, Committer, NewMessage};
use crate::model::{Message, MessageRow};
use crate::{events, repo};
use majlis_db::{Db, DbError};
use majlis_errors::ApiError;
use majlis_redis::Redis;
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct Chat {
    pub db: Db,
    pub redis: Redis,
    pub committer: Committer,
}

/// A stored message, its JSON (serialized once), and whether it was a retry.
pub struct Stored {
    pub message: Message,
    pub json: String,
    pub duplicate: bool,
}

pub const MAX_CONTENT_CHARS: usize = 16_000;
pub const MAX_CLIENT_ID_CHARS: usize = 128;

pub fn validate_content(content: &str) -> Result<(), ApiError> {
    let n = content.chars().count();
    if n == 0 || n > MAX_CONTENT_CHARS || content.trim().is_empty() {
        return Err(ApiError::invalid_field(
            "content",
            "must be 1 to 16000 characters and not only whitespace",
        ));
    }
    Ok(())
}

pub fn validate_client_id(client_id: Option<&str>) -> Result<(), ApiError> {
    match client_id {
        Some(c) if c.is_empty() || c.chars().count() > MAX_CLIENT_ID_CHARS => Err(
            ApiError::invalid_field("client_id", "must be 1 to 128 characters"),
        ),
        _ => Ok(()),
    }
}

pub fn validate_emoji(emoji: &str) -> Result<(), ApiError> {
    let n = emoji.chars().count();
    if (1..=64).contains(&n) && !emoji.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            "emoji",
            "must be 1 to 64 characters without spaces",
        ))
    }
}

fn commit_error(e: CommitError) -> ApiError {
    match e {
        CommitError::Db(db) => match &*db {
            DbError::Timeout(_) | DbError::Pool(_) | DbError::Connection(_) => {
                ApiError::unavailable("postgres", db)
            }
            DbError::Config(_) | DbError::Query(_) | DbError::Migration(_) => {
                ApiError::internal(db)
            }
        },
        CommitError::Overloaded | CommitError::Stopped => ApiError::unavailable("postgres", e),
        CommitError::Encode(_) => ApiError::internal(e),
    }
}

fn to_json(message: &Message) -> Result<String, ApiError> {
    serde_json::to_string(message).map_err(ApiError::internal)
}

impl Chat {
    /// Stores and publishes a message; the caller has checked membership.
    pub async fn post(
        &self,
        channel: Uuid,
        user: Uuid,
        content: &str,
        client_id: Option<&str>,
    ) -> Result<Stored, ApiError> {
        let trace = majlis_telemetry::propagation::current_fields();
        self.post_traced(channel, user, content, client_id, trace)
            .await
    }

    /// [`Chat::post`] on behalf of a sender whose trace context is `trace`
    /// (a send that arrived in a batch).
    pub async fn post_traced(
        &self,
        channel: Uuid,
        user: Uuid,
        content: &str,
        client_id: Option<&str>,
        trace: Vec<(String, String)>,
    ) -> Result<Stored, ApiError> {
        validate_content(content)?;
        validate_client_id(client_id)?;
        let committed = self
            .committer
            .submit(NewMessage {
                channel,
                user,
                content: content.to_owned(),
                client_id: client_id.map(str::to_owned),
                trace,
            })
            .await
            .map_err(commit_error)?;
        match committed {
            Committed::New { message, json } => Ok(Stored {
                message,
                json,
                duplicate: false,
            }),
            Committed::Duplicate(row) => {
                let message = self.with_reactions(vec![row]).await?.pop().ok_or_else(|| {
                    ApiError::internal(std::io::Error::other("stored message vanished"))
                })?;
                let json = to_json(&message)?;
                Ok(Stored {
                    message,
                    json,
                    duplicate: true,
                })
            }
            // The channel went away after the membership check.
            Committed::NoChannel => {
                Err(ApiError::not_found("channel_not_found", "no such channel"))
            }
        }
    }

    /// Attaches reactions to rows, keeping their order.
    pub async fn with_reactions(&self, rows: Vec<MessageRow>) -> Result<Vec<Message>, ApiError> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut reactions = repo::reactions_of(&self.db, &ids).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let rs = reactions.remove(&r.id).unwrap_or_default();
                Message::from_row(r, rs)
            })
            .collect())
    }

    /// Adds or removes a reaction and publishes it when something changed.
    /// 404 when the message is not in the channel.
    pub async fn react(
        &self,
        channel: Uuid,
        message: Uuid,
        user: Uuid,
        emoji: &str,
        add: bool,
    ) -> Result<bool, ApiError> {
        validate_emoji(emoji)?;
        let changed = repo::react(&self.db, channel, message, user, emoji, add)
            .await?
            .ok_or_else(|| {
                ApiError::not_found("message_not_found", "no such message in this channel")
            })?;
        if changed {
            events::reaction_changed(&self.redis, channel, message, user, emoji, add).await;
        }
        Ok(changed)
    }
}
