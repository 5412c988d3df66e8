//! The contract's "Channels and messages" endpoints, with Part 2's browse,
//! properties, archive, channel roles and removal, and the caller's
//! permissions. Every decision is from current state (`crate::access`).

use crate::access::{self, Seen};
use crate::events;
use crate::model::{Channel, ChannelType, Message};
use crate::repo::{self, NewChannel, Page, Properties, RoleChange};
use crate::service::{Chat, Post};
use crate::users::{User, Users};
use actix_web::{HttpResponse, delete, get, patch, post, web};
use majlis_auth_token::AuthUser;
use majlis_authz::{ChannelRole, Permission, PermissionSet};
use majlis_errors::{ApiError, ApiResult, ErrorBody, Json};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The channel `id` as the caller sees it (404 when it may not).
async fn visible(chat: &Chat, id: Uuid, user: &AuthUser) -> Result<Seen, ApiError> {
    access::visible(&chat.db, &chat.access, id, user.claims.sub).await
}

/// As [`visible`], and the caller must be a member.
async fn member_of(chat: &Chat, id: Uuid, user: &AuthUser) -> Result<Seen, ApiError> {
    access::member_of(&chat.db, &chat.access, id, user.claims.sub).await
}

/// The members who hear of a change to a private channel (a public one's
/// audience is its team).
async fn audience(
    chat: &Chat,
    channel: &Channel,
) -> Result<Option<majlis_events::Audience>, ApiError> {
    let members = if channel.kind == ChannelType::Public.as_str() {
        Vec::new()
    } else {
        repo::member_ids(&chat.db, channel.id).await?
    };
    Ok(events::audience_of(channel, &members))
}

/// The channels the caller is a member of, in its current team.
#[utoipa::path(tag = "channels", responses((status = 200, body = [MyChannel]), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
#[get("")]
async fn list_channels(
    user: AuthUser,
    chat: web::Data<Chat>,
) -> ApiResult<web::Json<Vec<MyChannel>>> {
    let me = user.claims.sub;
    let Some(team) = access::of(&chat.access, me).await?.team() else {
        return Ok(web::Json(Vec::new()));
    };
    let (rows, mut unread) = tokio::try_join!(
        repo::channels_of(&chat.db, me, team),
        repo::unread_of_user(&chat.db, me, team),
    )?;
    Ok(web::Json(
        rows.iter()
            .map(|r| {
                // A channel joined between the two reads: nothing unread yet.
                let state = unread.remove(&r.id);
                MyChannel {
                    channel: Channel::from(r),
                    last_read_seq: state.map_or(r.last_seq, |s| s.last_read_seq),
                    unread_count: state.map_or(0, |s| s.unread_count),
                    mention_count: state.map_or(0, |s| s.mention_count),
                }
            })
            .collect(),
    ))
}

/// A channel of the caller's, with the caller's read state of it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MyChannel {
    #[serde(flatten)]
    pub channel: Channel,
    /// The caller's read cursor: the seq it has read up to.
    pub last_read_seq: i64,
    /// Messages above the cursor written by others (deleted ones not counted).
    pub unread_count: i64,
    /// Those of them that mention the caller.
    pub mention_count: i64,
}

/// A public channel the caller may join, with its member count.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BrowsedChannel {
    #[serde(flatten)]
    pub channel: Channel,
    pub member_count: i64,
}

/// The public channels of the caller's team that it is not a member of and
/// that are not archived, by name.
#[utoipa::path(tag = "channels", responses((status = 200, body = [BrowsedChannel]), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
#[get("/browse")]
async fn browse(
    user: AuthUser,
    chat: web::Data<Chat>,
) -> ApiResult<web::Json<Vec<BrowsedChannel>>> {
    let Some(team) = access::of(&chat.access, user.claims.sub).await?.team() else {
        return Ok(web::Json(Vec::new()));
    };
    let rows = repo::browse(&chat.db, team, user.claims.sub).await?;
    Ok(web::Json(
        rows.into_iter()
            .map(|r| BrowsedChannel {
                channel: Channel::from(&r.channel),
                member_count: r.member_count,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateChannel {
    /// Unique in the team.
    #[schema(schema_with = majlis_rules::slug_schema)]
    pub name: String,
    #[schema(schema_with = majlis_rules::display_name_schema)]
    pub display_name: String,
    #[serde(rename = "type")]
    pub kind: CreatableType,
}

/// What `POST /api/channels` makes; direct and group channels come from
/// `POST /api/channels/direct`.
#[derive(Clone, Copy, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CreatableType {
    Public,
    Private,
}

impl From<CreatableType> for ChannelType {
    fn from(t: CreatableType) -> Self {
        match t {
            CreatableType::Public => Self::Public,
            CreatableType::Private => Self::Private,
        }
    }
}

/// Creates a channel in the caller's team (a public one needs
/// `create_public_channel`, a private one `create_private_channel`); the
/// creator becomes its member and `channel_admin`.
#[utoipa::path(
    tag = "channels",
    request_body = CreateChannel,
    responses(
        (status = 201, body = Channel),
        (status = 403, body = ErrorBody, description = "forbidden: without the create permission of that type"),
        (status = 409, body = ErrorBody, description = "channel_exists"),
        (status = 422, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("")]
async fn create_channel(
    user: AuthUser,
    body: Json<CreateChannel>,
    chat: web::Data<Chat>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let access = access::of(&chat.access, user.claims.sub).await?;
    let needed = match body.kind {
        CreatableType::Public => Permission::CreatePublicChannel,
        CreatableType::Private => Permission::CreatePrivateChannel,
    };
    // The permission check comes first: anyone without it gets the
    // contract's `forbidden`, a teamless user included.
    let team = access
        .team()
        .filter(|t| access.in_team(*t).allows(needed))
        .ok_or_else(|| {
            ApiError::forbidden(
                "forbidden",
                format!(
                    "creating this channel needs the {} permission",
                    needed.as_str()
                ),
            )
        })?;
    let display_name = body.display_name.trim();
    majlis_rules::slug(&body.name)?;
    majlis_rules::display_name(display_name)?;
    let row = repo::create_channel(
        &chat.db,
        NewChannel {
            team_id: team,
            name: &body.name,
            display_name,
            kind: ChannelType::from(body.kind).as_str(),
            creator_id: user.claims.sub,
            audited: true,
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
    chat: web::Data<Chat>,
) -> ApiResult<web::Json<Channel>> {
    let seen = visible(&chat, id.into_inner(), &user).await?;
    Ok(web::Json(Channel::from(&seen.row)))
}

/// Most characters of a channel's `topic` and of its `purpose`.
pub const MAX_TOPIC_CHARS: usize = 250;

/// `null` (like leaving it out) keeps the value.
fn topic_schema() -> utoipa::openapi::schema::Object {
    majlis_rules::or_null(
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[^\\u0000]*$"))
            .max_length(Some(MAX_TOPIC_CHARS))
            .description(Some("At most 250 characters; empty clears it."))
            .build(),
    )
}

/// The properties to change; those left out keep their value.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdateChannel {
    #[schema(schema_with = majlis_rules::display_name_or_null_schema, required = false)]
    pub display_name: Option<String>,
    #[schema(schema_with = topic_schema, required = false)]
    pub topic: Option<String>,
    #[schema(schema_with = topic_schema, required = false)]
    pub purpose: Option<String>,
    #[schema(required = false)]
    pub read_only: Option<bool>,
}

fn at_most(field: &'static str, v: &str, max: usize) -> Result<(), ApiError> {
    majlis_rules::not_nul(field, v)?;
    if v.chars().count() > max {
        return Err(ApiError::invalid_field(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

impl UpdateChannel {
    fn validated(self) -> Result<Properties, ApiError> {
        let display_name = self.display_name.map(|d| d.trim().to_owned());
        if let Some(d) = &display_name {
            majlis_rules::display_name(d)?;
        }
        for (field, v) in [("topic", &self.topic), ("purpose", &self.purpose)] {
            if let Some(v) = v {
                at_most(field, v, MAX_TOPIC_CHARS)?;
            }
        }
        Ok(Properties {
            display_name,
            topic: self.topic,
            purpose: self.purpose,
            read_only: self.read_only,
        })
    }
}

/// Changes a channel's properties (`manage_channel_properties`); its
/// audience gets `channel_updated` on presence and chat sockets.
#[utoipa::path(
    tag = "channels",
    params(("id" = Uuid, Path)),
    request_body = UpdateChannel,
    responses(
        (status = 200, body = Channel),
        (status = 403, body = ErrorBody, description = "forbidden: without manage_channel_properties"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "channel_archived"),
        (status = 422, body = ErrorBody, description = "a field too long or invalid"),
    ),
    security(("bearer" = []))
)]
#[patch("/{id}")]
async fn update_channel(
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<UpdateChannel>,
    chat: web::Data<Chat>,
) -> ApiResult<web::Json<Channel>> {
    let seen = visible(&chat, id.into_inner(), &user).await?;
    seen.not_direct()?;
    seen.require(Permission::ManageChannelProperties)?;
    let props = body.into_inner().validated()?;
    seen.writable()?;
    let nothing = props.display_name.is_none()
        && props.topic.is_none()
        && props.purpose.is_none()
        && props.read_only.is_none();
    if nothing {
        return Ok(web::Json(Channel::from(&seen.row)));
    }
    let row = repo::update_properties(&chat.db, seen.row.id, user.claims.sub, &props)
        .await?
        // Archived (or deleted) since it was read.
        .ok_or_else(access::archived)?;
    let channel = Channel::from(&row);
    let audience = audience(&chat, &channel).await?;
    events::channel_updated(&chat.redis, &chat.chat_stream, &channel, audience).await;
    tracing::info!(channel_id = %row.id, "channel updated");
    Ok(web::Json(channel))
}

/// Archive or unarchive, as both endpoints do it.
async fn set_archived(
    user: &AuthUser,
    id: Uuid,
    chat: &Chat,
    archive: bool,
) -> ApiResult<web::Json<Channel>> {
    let seen = visible(chat, id, user).await?;
    seen.not_direct()?;
    seen.require(Permission::ArchiveChannel)?;
    if archive && seen.row.is_default() {
        return Err(ApiError::conflict(
            "default_channel",
            "town-square cannot be archived",
        ));
    }
    let Some(row) = repo::set_archived(&chat.db, seen.row.id, user.claims.sub, archive).await?
    else {
        // Already so: nothing changed, nothing to announce.
        return Ok(web::Json(Channel::from(&seen.row)));
    };
    let channel = Channel::from(&row);
    let audience = audience(chat, &channel).await?;
    if archive {
        events::channel_archived(&chat.redis, &chat.chat_stream, &channel, audience).await;
    } else {
        events::channel_updated(&chat.redis, &chat.chat_stream, &channel, audience).await;
    }
    tracing::info!(channel_id = %row.id, archive, "channel archive state changed");
    Ok(web::Json(channel))
}

/// Archives a channel (`archive_channel`): readable, not writable; its
/// sockets get `channel_archived` and stay open. Idempotent.
#[utoipa::path(
    tag = "channels",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = Channel),
        (status = 403, body = ErrorBody, description = "forbidden: without archive_channel"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "default_channel: town-square"),
    ),
    security(("bearer" = []))
)]
#[post("/{id}/archive")]
async fn archive_channel(
    user: AuthUser,
    id: web::Path<Uuid>,
    chat: web::Data<Chat>,
) -> ApiResult<web::Json<Channel>> {
    set_archived(&user, id.into_inner(), &chat, true).await
}

/// Unarchives a channel (`archive_channel`); its audience gets
/// `channel_updated`. Idempotent.
#[utoipa::path(
    tag = "channels",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = Channel),
        (status = 403, body = ErrorBody, description = "forbidden: without archive_channel"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "default_channel: town-square"),
    ),
    security(("bearer" = []))
)]
#[post("/{id}/unarchive")]
async fn unarchive_channel(
    user: AuthUser,
    id: web::Path<Uuid>,
    chat: web::Data<Chat>,
) -> ApiResult<web::Json<Channel>> {
    set_archived(&user, id.into_inner(), &chat, false).await
}

/// Joins a public channel of the caller's team (idempotent).
#[utoipa::path(
    tag = "channels",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = Channel),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "channel_archived"),
    ),
    security(("bearer" = []))
)]
#[post("/{id}/join")]
async fn join_channel(
    user: AuthUser,
    id: web::Path<Uuid>,
    chat: web::Data<Chat>,
) -> ApiResult<web::Json<Channel>> {
    let seen = visible(&chat, id.into_inner(), &user).await?;
    if !seen.is_member() {
        seen.writable()?;
        repo::add_member(&chat.db, seen.row.id, user.claims.sub).await?;
    }
    Ok(web::Json(Channel::from(&seen.row)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AddMember {
    pub user_id: Uuid,
}

/// Adds a teammate to a channel (`manage_channel_members`: a team admin,
/// or the channel's admins, its creator among them); the added user gets
/// `channel_member_added` on the presence socket.
#[utoipa::path(
    tag = "channels",
    params(("id" = Uuid, Path)),
    request_body = AddMember,
    responses(
        (status = 201, body = User),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "channel_archived"),
    ),
    security(("bearer" = []))
)]
#[post("/{id}/members")]
async fn add_member(
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<AddMember>,
    chat: web::Data<Chat>,
    users: web::Data<Users>,
) -> ApiResult<HttpResponse> {
    let seen = visible(&chat, id.into_inner(), &user).await?;
    seen.not_direct()?;
    seen.require(Permission::ManageChannelMembers)?;
    seen.writable()?;
    let target = body.into_inner().user_id;
    // In the channel's team now (auth-svc's current state), and active.
    let in_team = access::of(&chat.access, target).await?.team() == Some(seen.row.team_id);
    let found = if in_team {
        users.get(&[target]).await?.pop()
    } else {
        None
    };
    let Some(added) = found else {
        return Err(ApiError::not_found(
            "user_not_found",
            "no such user in this team",
        ));
    };
    if repo::add_member(&chat.db, seen.row.id, target).await? {
        events::channel_member_added(&chat.redis, &Channel::from(&seen.row), target).await;
    }
    Ok(HttpResponse::Created().json(added))
}

/// The channel's members: each user object with its `channel_role`
/// (additive to the contract's `[user]`).
#[utoipa::path(tag = "channels", params(("id" = Uuid, Path)), responses((status = 200, body = [ChannelMember]), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/{id}/members")]
async fn list_members(
    user: AuthUser,
    id: web::Path<Uuid>,
    chat: web::Data<Chat>,
    users: web::Data<Users>,
) -> ApiResult<web::Json<Vec<ChannelMember>>> {
    let seen = visible(&chat, id.into_inner(), &user).await?;
    let roles = repo::member_roles(&chat.db, seen.row.id).await?;
    let ids: Vec<Uuid> = roles.iter().map(|(u, _)| *u).collect();
    let mut found: std::collections::HashMap<String, User> = users
        .get(&ids)
        .await?
        .into_iter()
        .map(|u| (u.id.to_string(), u))
        .collect();
    // In the order they joined; a user auth-svc no longer knows is left out.
    Ok(web::Json(
        roles
            .into_iter()
            .filter_map(|(id, channel_role)| {
                found
                    .remove(&id.to_string())
                    .map(|user| ChannelMember { user, channel_role })
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SetMemberRole {
    pub role: ChannelRole,
}

/// A channel member: the user object and its role in the channel.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChannelMember {
    #[serde(flatten)]
    pub user: User,
    pub channel_role: ChannelRole,
}

fn not_a_member_user() -> ApiError {
    ApiError::not_found("user_not_found", "no such member in this channel")
}

/// Sets a member's channel role (`manage_channel_members`); the member gets
/// `permissions_changed`.
#[utoipa::path(
    tag = "channels",
    params(("id" = Uuid, Path), ("user_id" = Uuid, Path)),
    request_body = SetMemberRole,
    responses(
        (status = 200, body = ChannelMember),
        (status = 403, body = ErrorBody, description = "forbidden: without manage_channel_members"),
        (status = 404, body = ErrorBody, description = "channel_not_found, or user_not_found: not a member"),
        (status = 422, body = ErrorBody, description = "role is not channel_admin or channel_user"),
    ),
    security(("bearer" = []))
)]
#[patch("/{id}/members/{user_id}")]
async fn set_member_role(
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<SetMemberRole>,
    chat: web::Data<Chat>,
    users: web::Data<Users>,
) -> ApiResult<web::Json<ChannelMember>> {
    let (id, target) = path.into_inner();
    let seen = visible(&chat, id, &user).await?;
    seen.not_direct()?;
    seen.require(Permission::ManageChannelMembers)?;
    let role = body.into_inner().role;
    match repo::set_member_role(&chat.db, seen.row.id, target, role, user.claims.sub).await? {
        RoleChange::NotAMember => return Err(not_a_member_user()),
        RoleChange::Unchanged => {}
        RoleChange::Changed => {
            events::permissions_changed(&chat.redis, target).await;
            tracing::info!(channel_id = %seen.row.id, user_id = %target, role = role.as_str(), "channel role changed");
        }
    }
    let found = users.get(&[target]).await?.pop();
    let user = found.ok_or_else(not_a_member_user)?;
    Ok(web::Json(ChannelMember {
        user,
        channel_role: role,
    }))
}

/// Removes a member (`manage_channel_members`), or the caller leaves
/// (its own id). Its chat sockets on the channel close with 4403; it and
/// the remaining members get `channel_member_removed`.
#[utoipa::path(
    tag = "channels",
    params(("id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses(
        (status = 204),
        (status = 403, body = ErrorBody, description = "forbidden: removing another without manage_channel_members"),
        (status = 404, body = ErrorBody, description = "channel_not_found, or user_not_found: not a member"),
        (status = 409, body = ErrorBody, description = "default_channel: town-square cannot be left"),
    ),
    security(("bearer" = []))
)]
#[delete("/{id}/members/{user_id}")]
async fn remove_member(
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
    chat: web::Data<Chat>,
) -> ApiResult<HttpResponse> {
    let (id, target) = path.into_inner();
    let seen = visible(&chat, id, &user).await?;
    seen.not_direct()?;
    if target != user.claims.sub {
        seen.require(Permission::ManageChannelMembers)?;
    }
    if seen.row.is_default() {
        return Err(ApiError::conflict(
            "default_channel",
            "no one leaves town-square but by leaving the team",
        ));
    }
    if !repo::remove_member(&chat.db, seen.row.id, target, user.claims.sub).await? {
        return Err(not_a_member_user());
    }
    let remaining = repo::member_ids(&chat.db, seen.row.id).await?;
    events::member_removed(
        &chat.redis,
        &chat.chat_stream,
        seen.row.id,
        target,
        &remaining,
    )
    .await;
    events::permissions_changed(&chat.redis, target).await;
    tracing::info!(channel_id = %seen.row.id, user_id = %target, "channel member removed");
    Ok(HttpResponse::NoContent().finish())
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
    let seen = member_of(&chat, id.into_inner(), &user).await?;
    let page = chat.page(seen.row.id, page, limit).await?;
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
    /// Makes this a reply in the thread of that top-level message of the
    /// channel (a reply's id: 422; no such live message, or not an id: 404).
    #[schema(required = false, value_type = Option<String>, format = Uuid)]
    pub root_id: Option<String>,
}

/// Sends a message (members only), delivered to chat sockets like a socket send.
#[utoipa::path(
    tag = "messages",
    params(("id" = Uuid, Path)),
    request_body = SendMessage,
    responses(
        (status = 201, body = Message),
        (status = 403, body = ErrorBody, description = "not_a_member; read_only: without post_in_read_only in a read-only channel"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "channel_archived"),
        (status = 422, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/{id}/messages")]
async fn send_message(
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<SendMessage>,
    chat: web::Data<Chat>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let seen = member_of(&chat, id.into_inner(), &user).await?;
    access::may_post(&seen.row, || seen.grants())?;
    let root = crate::threads::root_id(body.root_id.as_deref())?;
    let mentions = chat
        .mentions(&seen.row, &body.content, async || Ok(seen.grants()))
        .await?;
    let stored = chat
        .post(Post {
            channel: seen.row.id,
            user: user.claims.sub,
            content: &body.content,
            client_id: body.client_id.as_deref(),
            root,
            mentions,
        })
        .await?;
    Ok(HttpResponse::Created()
        .content_type("application/json")
        .body(stored.json))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PermissionsQuery {
    /// Also list the caller's channel-scoped permissions in this channel.
    #[param(value_type = Option<Uuid>)]
    pub channel_id: Option<String>,
}

/// What the caller may do now: `{"team": [..], "channel": [..]}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MyPermissions {
    /// Team-scoped permissions in the caller's team (empty without one).
    pub team: PermissionSet,
    /// Channel-scoped permissions in `channel_id` (empty without it).
    pub channel: PermissionSet,
}

/// The caller's permissions, from its current roles and memberships (the
/// SPA shows or disables controls from them, and refetches them on
/// `permissions_changed`).
#[utoipa::path(
    tag = "permissions",
    params(PermissionsQuery),
    responses(
        (status = 200, body = MyPermissions),
        (status = 404, body = ErrorBody, description = "channel_not_found: a channel the caller may not see"),
        (status = 422, body = ErrorBody, description = "channel_id is not an id"),
    ),
    security(("bearer" = []))
)]
#[get("/permissions")]
async fn my_permissions(
    user: AuthUser,
    query: web::Query<PermissionsQuery>,
    chat: web::Data<Chat>,
) -> ApiResult<web::Json<MyPermissions>> {
    let channel = query
        .into_inner()
        .channel_id
        .map(|c| {
            c.parse::<Uuid>()
                .map_err(|_| ApiError::invalid_field("channel_id", "must be a channel id"))
        })
        .transpose()?;
    let grants = match channel {
        Some(id) => visible(&chat, id, &user).await?.grants(),
        None => {
            let access = access::of(&chat.access, user.claims.sub).await?;
            access
                .team()
                .map(|team| access.in_team(team))
                .unwrap_or_default()
        }
    };
    Ok(web::Json(MyPermissions {
        team: grants.team,
        channel: grants.channel,
    }))
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(
        utoipa_actix_web::scope("/api/channels")
            .service(list_channels)
            .service(create_channel)
            // Before `/{id}`, which would take "browse" for an id.
            .service(browse)
            .service(crate::direct::direct_channel)
            .service(crate::unread::mark_read)
            .service(get_channel)
            .service(update_channel)
            .service(archive_channel)
            .service(unarchive_channel)
            .service(join_channel)
            .service(add_member)
            .service(list_members)
            .service(set_member_role)
            .service(remove_member)
            .service(history)
            .service(send_message),
    )
    .service(utoipa_actix_web::scope("/api/users/me").service(my_permissions))
    // Messages by id: one scope (a second with the same prefix would never
    // be reached).
    .service(
        utoipa_actix_web::scope("/api/messages")
            .service(crate::edits::edit_message)
            .service(crate::edits::delete_message)
            .service(crate::threads::thread),
    );
}
