//! `majlis.channels.v1.ChannelsService`: what the chat gateway and
//! onboarding-svc ask channels-svc. Each RPC fails with an `ApiError`, which
//! crosses as a typed status detail (a batch's failed send, as the same typed
//! error in its outcome).

use crate::access;
use crate::events;
use crate::mentions::Mentioned;
use crate::model::{Channel, ChannelRow};
use crate::repo::{self, NewChannel, Page};
use crate::service::{Chat, Post};
use majlis_access::Access;
use majlis_authz::ChannelRole;
use majlis_errors::{ApiError, ApiResult, ErrorCode};
use majlis_proto::channels::v1 as pb;
use majlis_proto::errors::v1::Error as WireError;
use std::collections::HashMap;
use tonic::{Request, Response, Status};
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct ChannelsGrpc {
    pub chat: Chat,
}

/// Most sends one `PostMessages` call may carry: one group commit's worth.
pub const MAX_BATCHED_POSTS: usize = 512;

/// Most bytes of message JSON one `PostMessages` answer carries in repeats.
/// A new message's JSON is about its send's size, which the caller bounds
/// (the gateway cuts its batches at 1 MiB); a repeat answers with the stored
/// message, which may be far larger than the retry (a tiny send reusing the
/// `client_id` of a 16,000-character one). Past this, repeats are answered
/// `UNAVAILABLE`, which is safe to retry with the same `client_id` (they are
/// stored), so a batch's answer stays under the 4 MiB gRPC limit and one
/// sender's repeats cannot fail the others' answers.
pub const MAX_REPEATS_REPLY_BYTES: usize = majlis_runtime::grpc::MAX_MESSAGE_BYTES / 2;

/// A stored send as both send RPCs answer it.
fn stored_reply(s: crate::service::Stored) -> pb::PostMessageResponse {
    pb::PostMessageResponse {
        seq: s.message.seq,
        message_json: s.json,
        duplicate: s.duplicate,
    }
}

/// Keeps the repeats' message JSON in a `PostMessages` answer within
/// [`MAX_REPEATS_REPLY_BYTES`] (see there).
fn bound_repeats(mut outcomes: Vec<pb::PostOutcome>) -> Vec<pb::PostOutcome> {
    let mut bytes = 0usize;
    for o in &mut outcomes {
        let Some(pb::post_outcome::Outcome::Stored(stored)) = &o.outcome else {
            continue;
        };
        if !stored.duplicate {
            continue;
        }
        bytes += stored.message_json.len();
        if bytes > MAX_REPEATS_REPLY_BYTES {
            bytes -= stored.message_json.len();
            o.outcome = Some(pb::post_outcome::Outcome::Failed(WireError {
                status: tonic::Code::Unavailable as i32,
                code: ErrorCode::ServiceUnavailable as i32,
                message: "this batch's answer is full; retry with the same client_id".to_owned(),
                ..WireError::default()
            }));
        }
    }
    outcomes
}

fn parse_id(field: &'static str, v: &str) -> ApiResult<Uuid> {
    v.parse()
        .map_err(|_| ApiError::invalid_field(field, "must be a uuid"))
}

/// The RPCs as tonic calls them; each answers with its function below, whose
/// `ApiError` becomes a typed status.
#[tonic::async_trait]
impl pb::channels_service_server::ChannelsService for ChannelsGrpc {
    async fn check_membership(
        &self,
        request: Request<pb::CheckMembershipRequest>,
    ) -> Result<Response<pb::CheckMembershipResponse>, Status> {
        Ok(Response::new(
            check_membership(&self.chat, request.into_inner()).await?,
        ))
    }

    async fn post_message(
        &self,
        request: Request<pb::PostMessageRequest>,
    ) -> Result<Response<pb::PostMessageResponse>, Status> {
        Ok(Response::new(
            post_message(&self.chat, request.into_inner()).await?,
        ))
    }

    async fn post_messages(
        &self,
        request: Request<pb::PostMessagesRequest>,
    ) -> Result<Response<pb::PostMessagesResponse>, Status> {
        Ok(Response::new(
            post_messages(&self.chat, request.into_inner()).await?,
        ))
    }

    async fn list_messages(
        &self,
        request: Request<pb::ListMessagesRequest>,
    ) -> Result<Response<pb::ListMessagesResponse>, Status> {
        Ok(Response::new(
            list_messages(&self.chat, request.into_inner()).await?,
        ))
    }

    async fn react(
        &self,
        request: Request<pb::ReactRequest>,
    ) -> Result<Response<pb::ReactResponse>, Status> {
        Ok(Response::new(
            react(&self.chat, request.into_inner()).await?,
        ))
    }

    async fn edit_message(
        &self,
        request: Request<pb::EditMessageRequest>,
    ) -> Result<Response<pb::EditMessageResponse>, Status> {
        Ok(Response::new(
            edit_message(&self.chat, request.into_inner()).await?,
        ))
    }

    async fn delete_message(
        &self,
        request: Request<pb::DeleteMessageRequest>,
    ) -> Result<Response<pb::DeleteMessageResponse>, Status> {
        Ok(Response::new(
            delete_message(&self.chat, request.into_inner()).await?,
        ))
    }

    async fn create_channel(
        &self,
        request: Request<pb::CreateChannelRequest>,
    ) -> Result<Response<pb::CreateChannelResponse>, Status> {
        Ok(Response::new(
            create_channel(&self.chat, request.into_inner()).await?,
        ))
    }

    async fn delete_team_channels(
        &self,
        request: Request<pb::DeleteTeamChannelsRequest>,
    ) -> Result<Response<pb::DeleteTeamChannelsResponse>, Status> {
        Ok(Response::new(
            delete_team_channels(&self.chat, request.into_inner()).await?,
        ))
    }

    async fn join_channels(
        &self,
        request: Request<pb::JoinChannelsRequest>,
    ) -> Result<Response<pb::JoinChannelsResponse>, Status> {
        Ok(Response::new(
            join_channels(&self.chat, request.into_inner()).await?,
        ))
    }

    async fn remove_from_team_channels(
        &self,
        request: Request<pb::RemoveFromTeamChannelsRequest>,
    ) -> Result<Response<pb::RemoveFromTeamChannelsResponse>, Status> {
        Ok(Response::new(
            remove_from_team_channels(&self.chat, request.into_inner()).await?,
        ))
    }
}

async fn check_membership(
    chat: &Chat,
    req: pb::CheckMembershipRequest,
) -> ApiResult<pb::CheckMembershipResponse> {
    let user = parse_id("user_id", &req.user_id)?;
    // A malformed channel id names no channel: answer "does not exist".
    let Ok(channel) = req.channel_id.parse::<Uuid>() else {
        return Ok(pb::CheckMembershipResponse::default());
    };
    let Some((row, role)) = repo::channel_with_membership(&chat.db, channel, user).await? else {
        return Ok(pb::CheckMembershipResponse::default());
    };
    // A membership counts only while the user is active and still in the
    // channel's team (auth-svc's current state, not its token).
    let is_member =
        role.is_some() && access::of(&chat.access, user).await?.team() == Some(row.team_id);
    Ok(pb::CheckMembershipResponse {
        exists: true,
        is_member,
        team_id: row.team_id.to_string(),
        last_seq: row.last_seq,
    })
}

/// What the posts of one call need to be judged: their channels, and for
/// read-only ones the senders' channel roles and access (asked of the cache
/// once for the whole call, and only when a read-only channel is posted to).
struct PostRules {
    channels: HashMap<Uuid, ChannelRow>,
    roles: HashMap<(Uuid, Uuid), ChannelRole>,
    access: HashMap<Uuid, Access>,
}

impl PostRules {
    async fn load(chat: &Chat, posts: &[(Uuid, Uuid)]) -> ApiResult<Self> {
        let mut ids: Vec<Uuid> = posts.iter().map(|(c, _)| *c).collect();
        ids.sort_unstable();
        ids.dedup();
        let channels: HashMap<Uuid, ChannelRow> = repo::channels_by_ids(&chat.db, &ids)
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        let mut judged: Vec<(Uuid, Uuid)> = posts
            .iter()
            .filter(|(c, _)| channels.get(c).is_some_and(|r| r.read_only))
            .copied()
            .collect();
        judged.sort_unstable();
        judged.dedup();
        let mut users: Vec<Uuid> = judged.iter().map(|(_, u)| *u).collect();
        users.sort_unstable();
        users.dedup();
        let (roles, access) = if judged.is_empty() {
            (HashMap::new(), HashMap::new())
        } else {
            tokio::try_join!(
                async { Ok::<_, ApiError>(repo::roles_of(&chat.db, &judged).await?) },
                chat.access.get_many(&users),
            )?
        };
        Ok(Self {
            channels,
            roles,
            access,
        })
    }

    /// Whether `user` may post `content` in `channel` now (see
    /// [`access::may_post`]), and if so its root and mentions.
    async fn prepare(
        &self,
        chat: &Chat,
        channel: Uuid,
        user: Uuid,
        content: &str,
        root: Option<&str>,
    ) -> ApiResult<(Option<Uuid>, Mentioned)> {
        self.check(channel, user)?;
        let root = crate::threads::root_id(root)?;
        let row = self
            .channels
            .get(&channel)
            .ok_or_else(access::channel_not_found)?;
        let mentions = chat
            .mentions(row, content, async || {
                access::grants_in(chat, row, user).await
            })
            .await?;
        Ok((root, mentions))
    }

    /// Whether `user` may post in `channel` now (see [`access::may_post`]).
    fn check(&self, channel: Uuid, user: Uuid) -> ApiResult<()> {
        let row = self
            .channels
            .get(&channel)
            .ok_or_else(access::channel_not_found)?;
        access::may_post(row, || {
            let access = self
                .access
                .get(&user)
                .copied()
                .unwrap_or_else(|| access::nobody(user));
            access.in_channel(row.team_id, self.roles.get(&(channel, user)).copied())
        })
    }
}

async fn post_message(
    chat: &Chat,
    req: pb::PostMessageRequest,
) -> ApiResult<pb::PostMessageResponse> {
    let channel = parse_id("channel_id", &req.channel_id)?;
    let user = parse_id("user_id", &req.user_id)?;
    let rules = PostRules::load(chat, &[(channel, user)]).await?;
    let (root, mentions) = rules
        .prepare(chat, channel, user, &req.content, req.root_id.as_deref())
        .await?;
    let stored = chat
        .post(Post {
            channel,
            user,
            content: &req.content,
            client_id: req.client_id.as_deref(),
            root,
            mentions,
        })
        .await?;
    Ok(stored_reply(stored))
}

async fn post_messages(
    chat: &Chat,
    req: pb::PostMessagesRequest,
) -> ApiResult<pb::PostMessagesResponse> {
    let posts = req.posts;
    if posts.len() > MAX_BATCHED_POSTS {
        return Err(ApiError::invalid_field(
            "posts",
            format!("at most {MAX_BATCHED_POSTS} per call"),
        ));
    }
    // The channels' states (archived, read-only) and what the senders may
    // do there, read once for the whole call.
    let parsed: Vec<(Uuid, Uuid)> = posts
        .iter()
        .filter_map(|b| {
            let p = b.post.as_ref()?;
            Some((p.channel_id.parse().ok()?, p.user_id.parse().ok()?))
        })
        .collect();
    let rules = PostRules::load(chat, &parsed).await?;
    let rules = &rules;
    // Every send is judged first (the few with mentions need look-ups,
    // made side by side), so that none waits between submissions below.
    let judged = futures_util::future::join_all(posts.into_iter().map(|batched| async move {
        let post = batched.post.unwrap_or_default();
        let checked = async {
            let channel = parse_id("channel_id", &post.channel_id)?;
            let user = parse_id("user_id", &post.user_id)?;
            let (root, mentions) = rules
                .prepare(chat, channel, user, &post.content, post.root_id.as_deref())
                .await?;
            Ok::<_, ApiError>((channel, user, root, mentions))
        }
        .await;
        (post, batched.trace, checked)
    }))
    .await;
    // All submitted before any is awaited, in order: they join the same
    // group commit, and a channel's seqs follow the request's order.
    let outcomes = futures_util::future::join_all(judged.into_iter().map(
        |(post, trace, checked)| async move {
            let stored = async {
                let (channel, user, root, mentions) = checked?;
                chat.post_traced(
                    Post {
                        channel,
                        user,
                        content: &post.content,
                        client_id: post.client_id.as_deref(),
                        root,
                        mentions,
                    },
                    trace.into_iter().collect(),
                )
                .await
            }
            .await;
            pb::PostOutcome {
                outcome: Some(match stored {
                    Ok(s) => pb::post_outcome::Outcome::Stored(stored_reply(s)),
                    Err(e) => pb::post_outcome::Outcome::Failed(e.into()),
                }),
            }
        },
    ))
    .await;
    Ok(pb::PostMessagesResponse {
        outcomes: bound_repeats(outcomes),
    })
}

async fn list_messages(
    chat: &Chat,
    req: pb::ListMessagesRequest,
) -> ApiResult<pb::ListMessagesResponse> {
    let channel = parse_id("channel_id", &req.channel_id)?;
    let limit = i64::from(req.limit.clamp(1, 200));
    let page = chat
        .page(channel, Page::After(req.after_seq.max(0)), limit)
        .await?;
    let (seqs, messages_json) = page.messages.into_iter().unzip();
    Ok(pb::ListMessagesResponse {
        messages_json,
        seqs,
        has_more: page.has_more,
    })
}

/// A message id from a socket frame: anything but an id names no message.
fn message_id(raw: &str) -> ApiResult<Uuid> {
    raw.parse::<Uuid>()
        .map_err(|_| ApiError::not_found("message_not_found", "no such message"))
}

async fn edit_message(
    chat: &Chat,
    req: pb::EditMessageRequest,
) -> ApiResult<pb::EditMessageResponse> {
    let channel = parse_id("channel_id", &req.channel_id)?;
    let user = parse_id("user_id", &req.user_id)?;
    let message = message_id(&req.message_id)?;
    let (_, message_json) = chat
        .edit(message, user, &req.content, Some(channel))
        .await?;
    Ok(pb::EditMessageResponse { message_json })
}

async fn delete_message(
    chat: &Chat,
    req: pb::DeleteMessageRequest,
) -> ApiResult<pb::DeleteMessageResponse> {
    let channel = parse_id("channel_id", &req.channel_id)?;
    let user = parse_id("user_id", &req.user_id)?;
    let message = message_id(&req.message_id)?;
    let deleted = chat.delete(message, user, Some(channel)).await?;
    Ok(pb::DeleteMessageResponse {
        deleted: deleted == crate::edits::Deleted::Now,
    })
}

async fn react(chat: &Chat, req: pb::ReactRequest) -> ApiResult<pb::ReactResponse> {
    let channel = parse_id("channel_id", &req.channel_id)?;
    let user = parse_id("user_id", &req.user_id)?;
    let message = req
        .message_id
        .parse::<Uuid>()
        .map_err(|_| ApiError::not_found("message_not_found", "no such message"))?;
    let changed = chat
        .react(channel, message, user, &req.emoji, req.add)
        .await?;
    Ok(pb::ReactResponse { changed })
}

async fn create_channel(
    chat: &Chat,
    req: pb::CreateChannelRequest,
) -> ApiResult<pb::CreateChannelResponse> {
    let team = parse_id("team_id", &req.team_id)?;
    let creator = parse_id("creator_id", &req.creator_id)?;
    majlis_rules::slug(&req.name)?;
    majlis_rules::display_name(&req.display_name)?;
    if req.r#type != "public" && req.r#type != "private" {
        return Err(ApiError::invalid_field("type", "must be public or private"));
    }
    let db = &chat.db;
    let created = repo::create_channel(
        db,
        NewChannel {
            team_id: team,
            name: &req.name,
            display_name: &req.display_name,
            kind: &req.r#type,
            creator_id: creator,
            // The team's own channels, made with the team (whose creation
            // is onboarding's to audit).
            audited: false,
        },
    )
    .await?;
    let exists = || ApiError::conflict("channel_exists", "the channel exists");
    let (row, created) = match created {
        Some(row) => (row, true),
        None => {
            let row = repo::channel_by_name(db, team, &req.name)
                .await?
                .ok_or_else(exists)?;
            if row.creator_id != creator {
                return Err(exists());
            }
            (row, false)
        }
    };
    Ok(pb::CreateChannelResponse {
        channel_json: serde_json::to_string(&Channel::from(&row)).map_err(ApiError::internal)?,
        created,
    })
}

async fn delete_team_channels(
    chat: &Chat,
    req: pb::DeleteTeamChannelsRequest,
) -> ApiResult<pb::DeleteTeamChannelsResponse> {
    let team = parse_id("team_id", &req.team_id)?;
    let deleted = repo::delete_team_channels(&chat.db, team).await?;
    tracing::info!(%team, deleted, "team channels deleted");
    Ok(pb::DeleteTeamChannelsResponse {
        deleted: u32::try_from(deleted).unwrap_or(u32::MAX),
    })
}

async fn join_channels(
    chat: &Chat,
    req: pb::JoinChannelsRequest,
) -> ApiResult<pb::JoinChannelsResponse> {
    let team = parse_id("team_id", &req.team_id)?;
    let user = parse_id("user_id", &req.user_id)?;
    let db = &chat.db;
    let mut out = Vec::new();
    // A name that cannot be a channel's names none (and one holding a NUL
    // would be refused by PostgreSQL as an internal error).
    let names = req.names.iter().take(32);
    for name in names.filter(|n| majlis_rules::slug(n).is_ok()) {
        let Some(row) = repo::channel_by_name(db, team, name)
            .await?
            .filter(|r| r.is_public())
        else {
            continue;
        };
        let added = repo::add_member(db, row.id, user).await?;
        let channel = Channel::from(&row);
        if added {
            events::channel_member_added(&chat.redis, &channel, user).await;
        }
        out.push(serde_json::to_string(&channel).map_err(ApiError::internal)?);
    }
    Ok(pb::JoinChannelsResponse { channels_json: out })
}

async fn remove_from_team_channels(
    chat: &Chat,
    req: pb::RemoveFromTeamChannelsRequest,
) -> ApiResult<pb::RemoveFromTeamChannelsResponse> {
    let team = parse_id("team_id", &req.team_id)?;
    let user = parse_id("user_id", &req.user_id)?;
    let left = repo::remove_from_team_channels(&chat.db, team, user).await?;
    for channel in &left {
        let remaining = repo::member_ids(&chat.db, *channel).await?;
        events::member_removed(&chat.redis, &chat.chat_stream, *channel, user, &remaining).await;
    }
    if !left.is_empty() {
        events::permissions_changed(&chat.redis, user).await;
    }
    tracing::info!(%team, %user, channels = left.len(), "removed from the team's channels");
    Ok(pb::RemoveFromTeamChannelsResponse {
        channel_ids: left.iter().map(Uuid::to_string).collect(),
    })
}
