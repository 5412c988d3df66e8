//! The contract's "Channels and messages" endpoints.

use crate::events;
use crate::model::{Channel, ChannelRow, ChannelType, Message};
use crate::repo::{self, NewChannel, Page};
use crate::service::Chat;
use crate::users::{User, Users};
use actix_web::{HttpResponse, get, post, web};
use majlis_auth_token::{AuthUser, Role};
use majlis_db::Db;
use majlis_errors::{ApiError, ApiResult, ErrorBody, Json};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

fn team_of(user: &AuthUser) -> Result<Uuid, ApiError> {
    user.claims
        .team_id
        .ok_or_else(|| ApiError::forbidden("no_team", "join or create a team first"))
}

/// The channel if the caller may see it: a public channel of their team, or a
/// private one they belong to. Anything else is 404, never 403, so private
/// channels do not leak their existence.
async fn visible(db: &Db, id: Uuid, user: &AuthUser) -> Result<(ChannelRow, bool), ApiError> {
    let not_found = || ApiError::not_found("channel_not_found", "no such channel");
    let (row, member) = repo::channel_with_membership(db, id, user.claims.sub)
        .await?
        .ok_or_else(not_found)?;
    if Some(row.team_id) != user.claims.team_id || (!row.is_public() && !member) {
        return Err(not_found());
    }
    Ok((row, member))
}

/// As [`visible`], and the caller must be a member.
async fn member_of(db: &Db, id: Uuid, user: &AuthUser) -> Result<ChannelRow, ApiError> {
    let (row, member) = visible(db, id, user).await?;
    if !member {
        return Err(ApiError::forbidden(
            "not_a_member",
            "join the channel to read or post messages",
        ));
    }
    Ok(row)
}

/// The channels the caller is a member of.
#[utoipa::path(tag = "channels", responses((status = 200, body = [Channel]), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
#[get("")]
async fn list_channels(user: AuthUser, db: web::Data<Db>) -> ApiResult<web::Json<Vec<Channel>>> {
    let Some(team) = user.claims.team_id else {
        return Ok(web::Json(Vec::new()));
    };
    let rows = repo::channels_of(&db, user.claims.sub, team).await?;
    Ok(web::Json(rows.iter().map(Channel::from).collect()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateChannel {
    /// Unique in the team.
    #[schema(schema_with = majlis_rules::slug_schema)]
    pub name: String,
    #[schema(schema_with = majlis_rules::display_name_schema)]
    pub display_name: String,
    #[serde(rename = "type")]
    pub kind: ChannelType,
}

/// Creates a channel in the caller's team (team_admin or system_admin).
#[utoipa::path(
    tag = "channels",
    request_body = CreateChannel,
    responses(
        (status = 201, body = Channel),
        (status = 403, body = ErrorBody, description = "forbidden: not a team_admin or system_admin"),
        (status = 409, body = ErrorBody, description = "channel_exists"),
        (status = 422, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("")]
async fn create_channel(
    user: AuthUser,
    body: Json<CreateChannel>,
    db: web::Data<Db>,
    chat: web::Data<Chat>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    // The role check comes first: anyone but an admin gets the contract's
    // `forbidden`, a teamless user included.
    if !(user.claims.has_role(Role::TeamAdmin) || user.claims.has_role(Role::SystemAdmin)) {
        return Err(ApiError::forbidden(
            "forbidden",
            "only team admins can create channels",
        ));
    }
    let team = team_of(&user)?;
    let display_name = body.display_name.trim();
    majlis_rules::slug(&body.name)?;
    majlis_rules::display_name(display_name)?;
    let row = repo::create_channel(
        &db,
        NewChannel {
            team_id: team,
            name: &body.name,
            display_name,
            kind: body.kind.as_str(),
            creator_id: user.claims.sub,
        },
    )
    .await?
    .ok_or_else(|| {
        ApiError::conflict(
            "channel_exists",
            "a channel with that name exists in the team",
        )
    })?;
    let channel = Channel::from(&row);
    events::channel_created(&chat.redis, &channel, &[user.claims.sub]).await;
    tracing::info!(channel_id = %row.id, "channel created");
    Ok(HttpResponse::Created().json(channel))
}

/// A channel the caller can see.
#[utoipa::path(tag = "channels", params(("id" = Uuid, Path)), responses((status = 200, body = Channel), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/{id}")]
async fn get_channel(
    user: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<Channel>> {
    let (row, _) = visible(&db, id.into_inner(), &user).await?;
    Ok(web::Json(Channel::from(&row)))
}

/// Joins a public channel of the caller's team (idempotent).
#[utoipa::path(tag = "channels", params(("id" = Uuid, Path)), responses((status = 200, body = Channel), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[post("/{id}/join")]
async fn join_channel(
    user: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<Channel>> {
    let (row, member) = visible(&db, id.into_inner(), &user).await?;
    if !member {
        repo::add_member(&db, row.id, user.claims.sub).await?;
    }
    Ok(web::Json(Channel::from(&row)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AddMember {
    pub user_id: Uuid,
}

/// Adds a teammate to a channel (team_admin or the channel's creator); the
/// added user gets `channel_member_added` on the presence socket.
#[utoipa::path(
    tag = "channels",
    params(("id" = Uuid, Path)),
    request_body = AddMember,
    responses((status = 201, body = User), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/{id}/members")]
async fn add_member(
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<AddMember>,
    db: web::Data<Db>,
    chat: web::Data<Chat>,
    users: web::Data<Users>,
) -> ApiResult<HttpResponse> {
    let (row, _) = visible(&db, id.into_inner(), &user).await?;
    let allowed = user.claims.has_role(Role::TeamAdmin)
        || user.claims.has_role(Role::SystemAdmin)
        || row.creator_id == user.claims.sub;
    if !allowed {
        return Err(ApiError::forbidden(
            "forbidden",
            "only team admins and the channel's creator can add members",
        ));
    }
    let target = body.into_inner().user_id;
    let found = users.get(&[target]).await?.pop();
    let Some(added) = found.filter(|u| u.team_id == Some(row.team_id)) else {
        return Err(ApiError::not_found(
            "user_not_found",
            "no such user in this team",
        ));
    };
    if repo::add_member(&db, row.id, target).await? {
        events::channel_member_added(&chat.redis, &Channel::from(&row), target).await;
    }
    Ok(HttpResponse::Created().json(added))
}

/// The channel's members.
#[utoipa::path(tag = "channels", params(("id" = Uuid, Path)), responses((status = 200, body = [User]), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/{id}/members")]
async fn list_members(
    user: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
    users: web::Data<Users>,
) -> ApiResult<web::Json<Vec<User>>> {
    let (row, _) = visible(&db, id.into_inner(), &user).await?;
    let ids = repo::member_ids(&db, row.id).await?;
    Ok(web::Json(users.get(&ids).await?))
}

/// Read as text and parsed here, so an unparseable value is a 422 naming its
/// parameter (the query extractor's own error cannot say which one failed).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct HistoryQuery {
    /// The first `limit` messages above this seq (with `before_seq` too:
    /// those below it).
    #[param(value_type = Option<i64>, minimum = 0)]
    pub after_seq: Option<String>,
    /// The `limit` messages just below this seq; without either, the newest.
    #[param(value_type = Option<i64>, minimum = 1)]
    pub before_seq: Option<String>,
    /// Default 50.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
}

fn int_param(field: &'static str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
    value
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::invalid_field(field, "must be an integer"))
        })
        .transpose()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct History {
    /// Ascending seq.
    pub messages: Vec<Message>,
    /// More exist in the direction read. A page holds at most `limit`
    /// messages and at most about 1 MiB of them (always at least one), so it
    /// may hold fewer than `limit` with `has_more`.
    pub has_more: bool,
}

/// A page of history (members only).
#[utoipa::path(
    tag = "messages",
    params(("id" = Uuid, Path), HistoryQuery),
    responses((status = 200, body = History), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/{id}/messages")]
async fn history(
    user: AuthUser,
    id: web::Path<Uuid>,
    query: web::Query<HistoryQuery>,
    db: web::Data<Db>,
    chat: web::Data<Chat>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let limit = int_param("limit", q.limit.as_deref())?.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "must be 1 to 200"));
    }
    let after_seq = int_param("after_seq", q.after_seq.as_deref())?;
    let before_seq = int_param("before_seq", q.before_seq.as_deref())?;
    if after_seq.is_some_and(|a| a < 0) {
        return Err(ApiError::invalid_field("after_seq", "must be ≥ 0"));
    }
    if before_seq.is_some_and(|b| b < 1) {
        return Err(ApiError::invalid_field("before_seq", "must be ≥ 1"));
    }
    let page = match (after_seq, before_seq) {
        // Both: the window between them, read upwards (an extension: the
        // contract names one or the other).
        (Some(a), Some(b)) => Page::Between(a, b),
        (Some(a), None) => Page::After(a),
        (None, b) => Page::Before(b),
    };
    let row = member_of(&db, id.into_inner(), &user).await?;
    let page = chat.page(row.id, page, limit).await?;
    // The messages are JSON already (serialized once, and measured for the
    // page's byte bound): the body is `History` written around them.
    let mut body = String::with_capacity(
        32 + page
            .messages
            .iter()
            .map(|(_, m)| m.len() + 1)
            .sum::<usize>(),
    );
    body.push_str("{\"messages\":[");
    for (i, (_, json)) in page.messages.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(json);
    }
    body.push_str("],\"has_more\":");
    body.push_str(if page.has_more { "true" } else { "false" });
    body.push('}');
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SendMessage {
    #[schema(schema_with = majlis_rules::content_schema)]
    pub content: String,
    /// The sender's id for this send; a retry with the same id returns the stored message.
    #[schema(schema_with = majlis_rules::client_id_or_null_schema, required = false)]
    pub client_id: Option<String>,
}

/// Sends a message (members only), delivered to chat sockets like a socket send.
#[utoipa::path(
    tag = "messages",
    params(("id" = Uuid, Path)),
    request_body = SendMessage,
    responses((status = 201, body = Message), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/{id}/messages")]
async fn send_message(
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<SendMessage>,
    db: web::Data<Db>,
    chat: web::Data<Chat>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let row = member_of(&db, id.into_inner(), &user).await?;
    let stored = chat
        .post(
            row.id,
            user.claims.sub,
            &body.content,
            body.client_id.as_deref(),
        )
        .await?;
    Ok(HttpResponse::Created()
        .content_type("application/json")
        .body(stored.json))
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(
        utoipa_actix_web::scope("/api/channels")
            .service(list_channels)
            .service(create_channel)
            .service(get_channel)
            .service(join_channel)
            .service(add_member)
            .service(list_members)
            .service(history)
            .service(send_message),
    );
}
