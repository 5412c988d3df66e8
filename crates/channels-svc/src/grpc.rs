//! `majlis.channels.v1.ChannelsService`: what the chat gateway and
//! onboarding-svc ask channels-svc. Each RPC fails with an `ApiError`, which
//! crosses as a typed status detail (a batch's failed send, as the same typed
//! error in its outcome).

use crate::events;
use crate::model::Channel;
use crate::repo::{self, NewChannel, Page};
use crate::service::Chat;
use majlis_errors::{ApiError, ApiResult, ErrorCode};
use majlis_proto::channels::v1 as pb;
use majlis_proto::errors::v1::Error as WireError;
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

    // Issue 15, being built: the interface is in place for its callers.
    async fn remove_from_team_channels(
        &self,
        _request: Request<pb::RemoveFromTeamChannelsRequest>,
    ) -> Result<Response<pb::RemoveFromTeamChannelsResponse>, Status> {
        Err(Status::unimplemented("RemoveFromTeamChannels"))
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
    Ok(
        match repo::channel_with_membership(&chat.db, channel, user).await? {
            Some((row, member)) => pb::CheckMembershipResponse {
                exists: true,
                is_member: member,
                team_id: row.team_id.to_string(),
                last_seq: row.last_seq,
            },
            None => pb::CheckMembershipResponse::default(),
        },
    )
}

async fn post_message(
    chat: &Chat,
    req: pb::PostMessageRequest,
) -> ApiResult<pb::PostMessageResponse> {
    let channel = parse_id("channel_id", &req.channel_id)?;
    let user = parse_id("user_id", &req.user_id)?;
    let stored = chat
        .post(channel, user, &req.content, req.client_id.as_deref())
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
    // All submitted before any is awaited, in order: they join the same
    // group commit, and a channel's seqs follow the request's order.
    let outcomes = futures_util::future::join_all(posts.into_iter().map(|batched| async move {
        let post = batched.post.unwrap_or_default();
        let stored = async {
            let channel = parse_id("channel_id", &post.channel_id)?;
            let user = parse_id("user_id", &post.user_id)?;
            chat.post_traced(
                channel,
                user,
                &post.content,
                post.client_id.as_deref(),
                batched.trace.into_iter().collect(),
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
    }))
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
