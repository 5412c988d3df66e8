//! Editing and deleting messages (contract: "Threads, edit, delete"), for
//! the REST handlers and the chat socket's frames alike: who may (the
//! author, or a holder of `edit_others_posts` / `delete_others_posts`, in a
//! channel it is a member of, not archived), the change, and the live
//! event (`message_edited` / `message_deleted`). A deletion keeps the
//! message's seq as a tombstone; one by someone other than the author is
//! audited (`message_deleted_by_moderator`). The REST endpoints are here;
//! the socket's frames arrive through the gRPC service.

use crate::access::{self, Seen};
use crate::model::{Message, MessageRow};
use crate::repo;
use crate::service::Chat;
use actix_web::{HttpResponse, delete, patch, web};
use majlis_auth_token::AuthUser;
use majlis_authz::Permission;
use majlis_errors::{ApiError, ApiResult, ErrorBody, Json};
use majlis_events::ChatEvent;
use serde::Deserialize;
use uuid::Uuid;

fn message_not_found() -> ApiError {
    ApiError::not_found("message_not_found", "no such message")
}

/// What a deletion did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deleted {
    Now,
    /// It was a tombstone already: nothing changed, nothing announced.
    Already,
}

impl Chat {
    /// The message `id` and its channel as `user` sees them. A message the
    /// caller may not see, or one outside `channel` (a socket names its
    /// channel), is 404 `message_not_found`, as one that does not exist.
    async fn message_for(
        &self,
        id: Uuid,
        user: Uuid,
        channel: Option<Uuid>,
    ) -> Result<(MessageRow, Seen), ApiError> {
        let row = repo::message_by_id(&self.db, id)
            .await?
            .filter(|m| channel.is_none_or(|c| c == m.channel_id))
            .ok_or_else(message_not_found)?;
        let seen = access::member_of(&self.db, &self.access, row.channel_id, user)
            .await
            .map_err(|e| {
                if e.code() == "channel_not_found" {
                    message_not_found()
                } else {
                    e
                }
            })?;
        Ok((row, seen))
    }

    /// The author, or a holder of `others`, may change the message.
    fn may_change(
        seen: &Seen,
        row: &MessageRow,
        user: Uuid,
        others: Permission,
    ) -> Result<(), ApiError> {
        if row.user_id == user {
            Ok(())
        } else {
            seen.require(others)
        }
    }

    /// Replaces a message's content; the message as it is now, and its JSON
    /// (as every socket on the channel gets it in `message_edited`).
    pub async fn edit(
        &self,
        id: Uuid,
        user: Uuid,
        content: &str,
        channel: Option<Uuid>,
    ) -> Result<(Message, String), ApiError> {
        majlis_rules::content(content)?;
        let (row, seen) = self.message_for(id, user, channel).await?;
        seen.writable()?;
        if row.deleted_at.is_some() {
            return Err(message_not_found());
        }
        Self::may_change(&seen, &row, user, Permission::EditOthersPosts)?;
        let edited = repo::edit_message(&self.db, id, content)
            .await?
            .ok_or_else(message_not_found)?;
        let message = self
            .with_reactions(vec![edited])
            .await?
            .pop()
            .ok_or_else(message_not_found)?;
        let json = serde_json::to_string(&message).map_err(ApiError::internal)?;
        let event = ChatEvent::message_edited(message.channel_id, &json);
        if let Err(e) = event.publish(&self.redis, &self.chat_stream).await {
            // Stored; history shows the edit to anyone who reloads.
            tracing::error!(error = %e, message = %id, "edit stored but not published");
        }
        Ok((message, json))
    }

    /// Makes a message a tombstone. Deleting one that is deleted already
    /// is allowed to whoever may delete it, and changes nothing.
    pub async fn delete(
        &self,
        id: Uuid,
        user: Uuid,
        channel: Option<Uuid>,
    ) -> Result<Deleted, ApiError> {
        let (row, seen) = self.message_for(id, user, channel).await?;
        seen.writable()?;
        Self::may_change(&seen, &row, user, Permission::DeleteOthersPosts)?;
        let details = serde_json::json!({"channel_id": row.channel_id, "author_id": row.user_id});
        let audit = (row.user_id != user).then(|| majlis_audit::NewEntry {
            team: Some(seen.row.team_id),
            actor: user,
            action: "message_deleted_by_moderator",
            target_type: "message",
            target_id: id.to_string(),
            details,
        });
        let thread = match repo::delete_message(&self.db, id, audit).await? {
            repo::Tombstoned::Already => return Ok(Deleted::Already),
            repo::Tombstoned::Now(thread) => thread,
        };
        tracing::info!(message = %id, channel = %row.channel_id, actor = %user, "message deleted");
        // An unread message may have gone: its channel's counts moved.
        self.unread.touch(row.channel_id);
        let events = std::iter::once(ChatEvent::message_deleted(row.channel_id, id))
            .chain(thread.map(|t| t.event()));
        for event in events {
            if let Err(e) = event.publish(&self.redis, &self.chat_stream).await {
                tracing::error!(error = %e, message = %id, "deletion stored but not published");
            }
        }
        Ok(Deleted::Now)
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct EditMessage {
    #[schema(schema_with = majlis_rules::content_schema)]
    pub content: String,
}

/// Edits a message (its author, or `edit_others_posts`): 200 the message
/// with `edited_at`; everyone on the channel gets `message_edited`.
#[utoipa::path(
    tag = "messages",
    params(("id" = Uuid, Path, description = "message id")),
    request_body = EditMessage,
    responses(
        (status = 200, body = Message),
        (status = 403, body = ErrorBody, description = "forbidden (another's message), not_a_member"),
        (status = 404, body = ErrorBody, description = "message_not_found (also deleted, or not visible)"),
        (status = 409, body = ErrorBody, description = "channel_archived"),
        (status = 422, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[patch("/{id}")]
pub(crate) async fn edit_message(
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<EditMessage>,
    chat: web::Data<Chat>,
) -> ApiResult<HttpResponse> {
    let (_, json) = chat
        .edit(
            id.into_inner(),
            user.claims.sub,
            &body.into_inner().content,
            None,
        )
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(json))
}

/// Deletes a message (its author, or `delete_others_posts`): 204; history
/// keeps its seq with `deleted: true`; everyone on the channel gets
/// `message_deleted`.
#[utoipa::path(
    tag = "messages",
    params(("id" = Uuid, Path, description = "message id")),
    responses(
        (status = 204, description = "deleted (or already so)"),
        (status = 403, body = ErrorBody, description = "forbidden (another's message), not_a_member"),
        (status = 404, body = ErrorBody, description = "message_not_found"),
        (status = 409, body = ErrorBody, description = "channel_archived"),
    ),
    security(("bearer" = []))
)]
#[delete("/{id}")]
pub(crate) async fn delete_message(
    user: AuthUser,
    id: web::Path<Uuid>,
    chat: web::Data<Chat>,
) -> ApiResult<HttpResponse> {
    chat.delete(id.into_inner(), user.claims.sub, None).await?;
    Ok(HttpResponse::NoContent().finish())
}
