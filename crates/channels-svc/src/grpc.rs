//! `majlis.channels.v1.ChannelsService`: what the chat gateway (and later
//! onboarding-svc) asks channels-svc.

use crate::repo::{self, Page};
use crate::service::Chat;
use majlis_errors::{ApiError, to_status};
use majlis_proto::channels::v1 as pb;
use tonic::{Request, Response, Status};
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct ChannelsGrpc {
    pub chat: Chat,
}

fn parse_id(field: &'static str, v: &str) -> Result<Uuid, Status> {
    v.parse()
        .map_err(|_| to_status(ApiError::invalid_field(field, "must be a uuid")))
}

#[tonic::async_trait]
impl pb::channels_service_server::ChannelsService for ChannelsGrpc {
    async fn check_membership(
        &self,
        request: Request<pb::CheckMembershipRequest>,
    ) -> Result<Response<pb::CheckMembershipResponse>, Status> {
        let req = request.into_inner();
        let user = parse_id("user_id", &req.user_id)?;
        // A malformed channel id names no channel: answer "does not exist".
        let Ok(channel) = req.channel_id.parse::<Uuid>() else {
            return Ok(Response::new(pb::CheckMembershipResponse::default()));
        };
        let found = repo::channel_with_membership(&self.chat.db, channel, user)
            .await
            .map_err(|e| to_status(e.into()))?;
        Ok(Response::new(match found {
            Some((row, member)) => pb::CheckMembershipResponse {
                exists: true,
                is_member: member,
                team_id: row.team_id.to_string(),
                last_seq: row.last_seq,
            },
            None => pb::CheckMembershipResponse::default(),
        }))
    }

    async fn post_message(
        &self,
        request: Request<pb::PostMessageRequest>,
    ) -> Result<Response<pb::PostMessageResponse>, Status> {
        let req = request.into_inner();
        let channel = parse_id("channel_id", &req.channel_id)?;
        let user = parse_id("user_id", &req.user_id)?;
        let stored = self
            .chat
            .post(channel, user, &req.content, req.client_id.as_deref())
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::PostMessageResponse {
            seq: stored.message.seq,
            message_json: stored.json,
            duplicate: stored.duplicate,
        }))
    }

    async fn list_messages(
        &self,
        request: Request<pb::ListMessagesRequest>,
    ) -> Result<Response<pb::ListMessagesResponse>, Status> {
        let req = request.into_inner();
        let channel = parse_id("channel_id", &req.channel_id)?;
        let limit = i64::from(req.limit.clamp(1, 200));
        let (rows, has_more) = repo::messages_page(
            &self.chat.db,
            channel,
            Page::After(req.after_seq.max(0)),
            limit,
        )
        .await
        .map_err(|e| to_status(e.into()))?;
        let messages = self.chat.with_reactions(rows).await.map_err(to_status)?;
        let mut out = pb::ListMessagesResponse {
            has_more,
            ..Default::default()
        };
        for m in &messages {
            out.seqs.push(m.seq);
            out.messages_json
                .push(serde_json::to_string(m).map_err(|e| to_status(ApiError::internal(e)))?);
        }
        Ok(Response::new(out))
    }

    async fn react(
        &self,
        request: Request<pb::ReactRequest>,
    ) -> Result<Response<pb::ReactResponse>, Status> {
        let req = request.into_inner();
        let channel = parse_id("channel_id", &req.channel_id)?;
        let user = parse_id("user_id", &req.user_id)?;
        let message = req
            .message_id
            .parse::<Uuid>()
            .map_err(|_| to_status(ApiError::not_found("message_not_found", "no such message")))?;
        let changed = self
            .chat
            .react(channel, message, user, &req.emoji, req.add)
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::ReactResponse { changed }))
    }
}
