//! Threads (contract: "Threads, edit, delete"): a reply names its root (a
//! top-level message of the same channel, checked when it is sent); roots
//! count their live replies in the transaction that stores or deletes one
//! (`commit`, `repo::delete_message`), and each change is announced as
//! `thread_updated`. Here: `GET /api/messages/{id}/thread`.

use crate::access;
use crate::model::Message;
use crate::repo;
use crate::service::Chat;
use actix_web::{get, web};
use majlis_auth_token::AuthUser;
use majlis_errors::{ApiError, ApiResult, ErrorBody};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Read as text, so a bad value is a 422 naming its parameter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ThreadQuery {
    /// Replies with a higher seq (default 0: from the first).
    #[param(value_type = Option<i64>, minimum = 0)]
    pub after_seq: Option<String>,
    /// 1–200, default 50.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Thread {
    pub root: Message,
    /// Oldest first; deleted replies are tombstones.
    pub replies: Vec<Message>,
    /// More replies follow the last one.
    pub has_more: bool,
}

fn message_not_found() -> ApiError {
    ApiError::not_found("message_not_found", "no such thread")
}

/// A thread: its root and a page of replies (members of the channel).
#[utoipa::path(
    tag = "messages",
    params(("id" = Uuid, Path, description = "the root message's id"), ThreadQuery),
    responses(
        (status = 200, body = Thread),
        (status = 403, body = ErrorBody, description = "not_a_member"),
        (status = 404, body = ErrorBody, description = "message_not_found: no such root the caller may read (a reply is no root)"),
        (status = 422, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[get("/{id}/thread")]
pub(crate) async fn thread(
    user: AuthUser,
    id: web::Path<Uuid>,
    query: web::Query<ThreadQuery>,
    chat: web::Data<Chat>,
) -> ApiResult<web::Json<Thread>> {
    let q = query.into_inner();
    let after: i64 = match q.after_seq.as_deref() {
        None => 0,
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| ApiError::invalid_field("after_seq", "must be a seq (0 or more)"))?,
    };
    let limit: i64 = match q.limit.as_deref() {
        None => 50,
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| (1..=200).contains(n))
            .ok_or_else(|| ApiError::invalid_field("limit", "must be 1 to 200"))?,
    };
    let root = repo::message_by_id(&chat.db, id.into_inner())
        .await?
        .filter(|m| m.root_id.is_none())
        .ok_or_else(message_not_found)?;
    access::member_of(&chat.db, &chat.access, root.channel_id, user.claims.sub)
        .await
        .map_err(|e| {
            if e.code() == "channel_not_found" {
                message_not_found()
            } else {
                e
            }
        })?;
    let (replies, has_more) = repo::thread_page(&chat.db, root.id, after, limit).await?;
    let mut messages = chat
        .with_reactions(std::iter::once(root).chain(replies).collect())
        .await?;
    let root = messages.remove(0);
    Ok(web::Json(Thread {
        root,
        replies: messages,
        has_more,
    }))
}
