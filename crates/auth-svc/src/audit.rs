//! auth-svc's audit entries (`auth.audit`): appended by each change of
//! roles, memberships, schemes and accounts in the change's own
//! transaction, and listed by `majlis.audit.v1.AuditLog` for onboarding-svc,
//! which merges every owner's entries into the team's log.

use crate::schema::audit;
use chrono::{DateTime, SecondsFormat, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use majlis_db::Db;
use majlis_errors::{ApiError, ApiResult};
use majlis_proto::audit::v1 as pb;
use tonic::{Request, Response, Status};
use uuid::Uuid;

/// The contract's action names auth-svc records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    TeamRoleChanged,
    TeamMemberRemoved,
    SchemeUpdated,
    UserDeactivated,
    UserActivated,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TeamRoleChanged => "team_role_changed",
            Self::TeamMemberRemoved => "team_member_removed",
            Self::SchemeUpdated => "scheme_updated",
            Self::UserDeactivated => "user_deactivated",
            Self::UserActivated => "user_activated",
        }
    }

    /// What the entry's target is.
    fn target_type(self) -> &'static str {
        match self {
            Self::SchemeUpdated => "team",
            Self::TeamRoleChanged
            | Self::TeamMemberRemoved
            | Self::UserDeactivated
            | Self::UserActivated => "user",
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = audit)]
struct NewEntry<'a> {
    id: Uuid,
    team_id: Option<Uuid>,
    actor_id: Uuid,
    action: &'a str,
    target_type: &'a str,
    target_id: String,
    details: serde_json::Value,
}

/// Appends one entry on `conn`, inside the transaction of the change it
/// records, so the log holds exactly the changes that committed.
pub async fn append(
    conn: &mut AsyncPgConnection,
    team: Option<Uuid>,
    actor: Uuid,
    action: Action,
    target: Uuid,
    details: serde_json::Value,
) -> QueryResult<()> {
    diesel::insert_into(audit::table)
        .values(NewEntry {
            // UUIDv7: time-ordered, so one `before` cursor pages the merge of
            // every owner's entries.
            id: Uuid::now_v7(),
            team_id: team,
            actor_id: actor,
            action: action.as_str(),
            target_type: action.target_type(),
            target_id: target.to_string(),
            details,
        })
        .execute(conn)
        .await?;
    Ok(())
}

type Row = (
    Uuid,
    DateTime<Utc>,
    Uuid,
    String,
    String,
    String,
    serde_json::Value,
);

/// Most entries one page may hold (the proto's `limit` is 1-200).
const MAX_LIMIT: u32 = 200;

/// `majlis.audit.v1.AuditLog` over `auth.audit`.
#[derive(Clone, Debug)]
pub struct AuditGrpc {
    pub db: Db,
}

#[tonic::async_trait]
impl pb::audit_log_server::AuditLog for AuditGrpc {
    async fn list_audit(
        &self,
        request: Request<pb::ListAuditRequest>,
    ) -> Result<Response<pb::ListAuditResponse>, Status> {
        Ok(Response::new(
            list_audit(&self.db, request.into_inner()).await?,
        ))
    }
}

/// The server, with the same message limits as every majlis server.
pub fn server(db: Db) -> pb::audit_log_server::AuditLogServer<AuditGrpc> {
    pb::audit_log_server::AuditLogServer::new(AuditGrpc { db })
        .max_decoding_message_size(majlis_runtime::grpc::MAX_MESSAGE_BYTES)
        .max_encoding_message_size(majlis_runtime::grpc::MAX_MESSAGE_BYTES)
}

/// The team's entries with ids below `before`, newest first.
async fn list_audit(db: &Db, req: pb::ListAuditRequest) -> ApiResult<pb::ListAuditResponse> {
    let team: Uuid = req
        .team_id
        .parse()
        .map_err(|_| ApiError::invalid_field("team_id", "must be a uuid"))?;
    let before: Option<Uuid> = req
        .before
        .as_deref()
        .map(|b| {
            b.parse()
                .map_err(|_| ApiError::invalid_field("before", "must be an entry id"))
        })
        .transpose()?;
    if !(1..=MAX_LIMIT).contains(&req.limit) {
        return Err(ApiError::invalid_field("limit", "must be 1 to 200"));
    }
    let rows: Vec<Row> = db
        .timed(async {
            let mut conn = db.conn().await?;
            let mut query = audit::table.filter(audit::team_id.eq(team)).into_boxed();
            if let Some(before) = before {
                query = query.filter(audit::id.lt(before));
            }
            Ok(query
                .order(audit::id.desc())
                .limit(i64::from(req.limit))
                .select((
                    audit::id,
                    audit::at,
                    audit::actor_id,
                    audit::action,
                    audit::target_type,
                    audit::target_id,
                    audit::details,
                ))
                .load(&mut conn)
                .await?)
        })
        .await?;
    Ok(pb::ListAuditResponse {
        entries: rows
            .into_iter()
            .map(
                |(id, at, actor, action, target_type, target_id, details)| pb::AuditEntry {
                    id: id.to_string(),
                    at: at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                    actor_id: actor.to_string(),
                    action,
                    target_type,
                    target_id,
                    details_json: details.to_string(),
                },
            )
            .collect(),
    })
}
