//! `majlis.audit.v1.AuditLog` on channels-svc: its own entries
//! (`channels.audit`, written by the statements that make each change), for
//! onboarding-svc to merge with the other owners' into a team's audit log.

use crate::repo;
use majlis_db::Db;
use majlis_errors::{ApiError, ApiResult};
use majlis_proto::audit::v1 as pb;
use majlis_proto::audit::v1::audit_log_server::{AuditLog, AuditLogServer};
use majlis_runtime::grpc::MAX_MESSAGE_BYTES;
use tonic::{Request, Response, Status};
use uuid::Uuid;

/// Most entries one page holds (the contract's `limit` bound).
pub const MAX_LIMIT: u32 = 200;

#[derive(Clone, Debug)]
pub struct AuditGrpc {
    pub db: Db,
}

/// The server, with the message limits every majlis server has.
pub fn server(db: Db) -> AuditLogServer<AuditGrpc> {
    AuditLogServer::new(AuditGrpc { db })
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

#[tonic::async_trait]
impl AuditLog for AuditGrpc {
    async fn list_audit(
        &self,
        request: Request<pb::ListAuditRequest>,
    ) -> Result<Response<pb::ListAuditResponse>, Status> {
        Ok(Response::new(
            list_audit(&self.db, request.into_inner()).await?,
        ))
    }
}

async fn list_audit(db: &Db, req: pb::ListAuditRequest) -> ApiResult<pb::ListAuditResponse> {
    let team: Uuid = req
        .team_id
        .parse()
        .map_err(|_| ApiError::invalid_field("team_id", "must be a uuid"))?;
    let before = req
        .before
        .as_deref()
        .map(|b| {
            b.parse::<Uuid>()
                .map_err(|_| ApiError::invalid_field("before", "must be an entry id"))
        })
        .transpose()?;
    // Clamped like ListMessages: the merging caller may ask one past a page.
    let limit = i64::from(req.limit.clamp(1, MAX_LIMIT));
    let rows = repo::list_audit(db, team, before, limit).await?;
    Ok(pb::ListAuditResponse {
        entries: rows
            .into_iter()
            .map(|r| pb::AuditEntry {
                id: r.id.to_string(),
                at: r.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                actor_id: r.actor_id.to_string(),
                action: r.action,
                target_type: r.target_type,
                target_id: r.target_id,
                details_json: r.details.to_string(),
            })
            .collect(),
    })
}
